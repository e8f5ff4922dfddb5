// Airflow habits that do not parse: commands orch does not have yet, and Airflow 2 forms whose
// Airflow 3 shape orch follows. A usage error that names the form to use beats "Unknown argument".

/** Airflow 3 top-level commands orch does not have (yet). Commands other parts of orch add
 *  (backfill, variables, connections, api-server, triggerer, dag-processor) are not listed. */
export const AIRFLOW_ONLY_COMMANDS: readonly string[] = [
  "pools", "jobs", "kerberos", "celery", "plugins", "providers", "rotate-fernet-key", "sync-perm", "roles", "assets", "fab-db", "edge",
];

interface Airflow2Form {
  /** argv starts with these words (any order of flags after them). */
  words: readonly string[];
  /** Any of these flags present marks the Airflow 2 form; empty: the words alone do. */
  flags: readonly string[];
  say: string;
}

const AIRFLOW2_FORMS: readonly Airflow2Form[] = [
  { words: ["dags", "list-runs"], flags: ["-d", "--dag-id"], say: 'Airflow 3 takes the DAG id as an argument: "orch dags list-runs DAG_ID" (-d/--dag-id was Airflow 2\'s form)' },
  { words: ["dags", "backfill"], flags: [], say: 'Airflow 3 moved backfills to their own command: "orch backfill create --dag-id DAG_ID --from-date START --to-date END" ("dags backfill -s -e" was Airflow 2\'s form)' },
  { words: ["dags", "trigger"], flags: ["-e", "--exec-date"], say: 'Airflow 3 names the date --logical-date: "orch dags trigger DAG_ID -l 2024-01-01" (-e/--exec-date was Airflow 2\'s form)' },
  { words: ["db", "init"], flags: [], say: 'Airflow 3 creates and upgrades the database with "orch db migrate" ("db init" was Airflow 2\'s form)' },
  { words: ["db", "upgrade"], flags: [], say: 'Airflow 3 upgrades the database with "orch db migrate" ("db upgrade" was Airflow 2\'s form)' },
  { words: ["webserver"], flags: [], say: 'Airflow 3 has no "webserver" (it became "api-server"); "orch standalone" runs every component in one process' },
  { words: ["tasks", "run"], flags: [], say: '"tasks run" is how Airflow\'s executors start a task; to run one by hand use "orch tasks test DAG_ID TASK_ID DATE", or "orch dags test DAG_ID DATE" for the whole DAG' },
];

/** What to tell a user whose command line did not parse, or null when no habit explains it. */
export function airflowHint(argv: readonly string[]): string | null {
  const words = argv.filter((a) => !a.startsWith("-"));
  const first = words[0];
  if (first && AIRFLOW_ONLY_COMMANDS.includes(first)) return `orch has no "${first}" command yet (it is an Airflow command); \`orch --help\` lists the commands orch has`;
  for (const f of AIRFLOW2_FORMS) {
    if (!f.words.every((w, i) => words[i] === w)) continue;
    if (f.flags.length === 0 || argv.some((a) => f.flags.includes(a) || f.flags.some((fl) => a.startsWith(`${fl}=`)))) return f.say;
  }
  return null;
}

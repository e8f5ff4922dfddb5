// Real runs of real DAG files: write files into a temp ORCH_HOME, run the built CLI, read the store.
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, afterEach, before } from "node:test";
import { openStore } from "../../src/store/index.ts";
import { runOrch, type CliResult } from "./cli.ts";
import { tempHome, type TempHome } from "./home.ts";
import { assertNoLeakedProcesses } from "./leaks.ts";
import { freshPgDatabase, type FreshDatabase } from "./pg.ts";
import { exited, killHard, startScheduler, type SchedulerProcess } from "./scheduler-process.ts";

export interface RunStates {
  cli: CliResult;
  runState: string | undefined;
  runId: string | undefined;
  /** task_id -> state (null as "none"). */
  states: Record<string, string | null>;
  tries: Record<string, number>;
  reasons: Record<string, string | null>;
}

export async function writeDag(dagsFolder: string, name: string, source: string): Promise<string> {
  const p = join(dagsFolder, name);
  await writeFile(p, source);
  return p;
}

/** The latest run of a DAG; the store is the home's SQLite file unless `url` names another. */
export async function latestRunStates(home: string, dagId: string, url?: string): Promise<Omit<RunStates, "cli">> {
  const store = await openStore(url ?? `sqlite:///${join(home, "orch.db")}`);
  try {
    const run = await store.db.selectFrom("dag_run").selectAll().where("dag_id", "=", dagId).orderBy("id", "desc").executeTakeFirst();
    const tis = run ? await store.db.selectFrom("task_instance").selectAll().where("dag_id", "=", dagId).where("run_id", "=", run.run_id).execute() : [];
    return {
      runState: run?.state,
      runId: run?.run_id,
      states: Object.fromEntries(tis.map((t) => [t.task_id, t.state])),
      tries: Object.fromEntries(tis.map((t) => [t.task_id, t.try_number])),
      reasons: Object.fromEntries(tis.map((t) => [t.task_id, t.state_reason])),
    };
  } finally {
    await store.close();
  }
}

/** `orch dags test DAG_ID` on the home, then the run's states from the store. */
export async function dagsTest(home: string, dagId: string, extra: string[] = [], env: Record<string, string> = {}): Promise<RunStates> {
  const cli = await runOrch(["dags", "test", dagId, ...extra], { home, env, timeoutMs: 120_000 });
  return { cli, ...(await latestRunStates(home, dagId, env.ORCH_DATABASE_URL)) };
}

export async function migrateHome(home: string, env: Record<string, string> = {}): Promise<void> {
  const r = await runOrch(["db", "migrate"], { home, env });
  if (r.code !== 0) throw new Error(`db migrate failed: ${r.stderr}`);
}

export interface SchedulerSuite {
  /** The file's ORCH_HOME, migrated once before the first test. */
  readonly home: string;
  /** Its dags folder. */
  readonly dags: string;
  /** The environment every process of the suite gets (ORCH_DATABASE_URL on PostgreSQL, plus `env`). */
  readonly env: Record<string, string>;
  /** The PostgreSQL database (only with `postgres`). */
  readonly db: FreshDatabase;
  /** Starts `orch scheduler` in the home with the suite's environment (plus `env`); stopped after the test. */
  start(args?: string[], env?: Record<string, string>): SchedulerProcess;
  /** Has a process the test started itself stopped after the test like the schedulers. */
  track<P extends SchedulerProcess>(p: P): P;
}

/**
 * The setup of a suite that runs real `orch scheduler` children, registered on the enclosing
 * `describe`: a temp home migrated in `before` (a fresh PostgreSQL database with `postgres`),
 * every child started through `start`/`track` stopped in `afterEach` (SIGTERM and a wait for its
 * exit, or SIGKILL with `stop: "SIGKILL"`), and in `after` a check that nothing of the home is
 * still running, then the home (and database) removed.
 */
export function schedulerSuite(opts: { stop?: "SIGTERM" | "SIGKILL"; postgres?: string; env?: Record<string, string> } = {}): SchedulerSuite {
  let h: TempHome | undefined;
  let db: FreshDatabase | undefined;
  let env: Record<string, string> = {};
  const running: SchedulerProcess[] = [];
  const ready = <T>(v: T | undefined, what: string): T => {
    if (v === undefined) throw new Error(`schedulerSuite: ${what} is set in before(); use it inside a test or hook`);
    return v;
  };
  before(async () => {
    h = await tempHome();
    if (opts.postgres !== undefined) db = await freshPgDatabase(opts.postgres);
    env = { ...(db ? { ORCH_DATABASE_URL: db.url } : {}), ...opts.env };
    await migrateHome(h.home, env);
  });
  afterEach(async () => {
    for (const p of running.splice(0)) {
      if (opts.stop === "SIGKILL") await killHard(p);
      else if (p.exitCode === null && p.signalCode === null) {
        p.kill("SIGTERM");
        await exited(p);
      }
    }
  });
  after(async () => {
    if (!h) return;
    await assertNoLeakedProcesses(h.home);
    await db?.drop();
    await h.cleanup();
  });
  const suite: SchedulerSuite = {
    get home() {
      return ready(h, "home").home;
    },
    get dags() {
      return ready(h, "home").dags;
    },
    get env() {
      return env;
    },
    get db() {
      return ready(db, "db (schedulerSuite({ postgres }))");
    },
    start: (args = [], extra = {}) => suite.track(startScheduler(suite.home, args, { ...env, ...extra })),
    track(p) {
      running.push(p);
      return p;
    },
  };
  return suite;
}

// Real runs of real DAG files: write files into a temp ORCH_HOME, run the built CLI, read the store.
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { openStore } from "../../src/store/index.ts";
import { runOrch, type CliResult } from "./cli.ts";

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

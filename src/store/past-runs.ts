// What depends_on_past asks of the store (Airflow's DagRun.get_previous_dagrun /
// get_previous_scheduled_dagrun and PrevDagrunDep's queries): the run before a run by logical date,
// and that run's task instance states for some tasks.
import type { Db } from "./open.ts";

export interface PreviousRun {
  id: number;
  run_id: string;
  logical_date: string;
}

/** The run of the same DAG with the latest logical date before `run`'s; with `excludeManual`
 *  (a catchup DAG: get_previous_scheduled_dagrun) manual runs are passed over. */
export async function getPreviousDagRun(db: Db, run: { dag_id: string; logical_date: string | null }, opts: { excludeManual: boolean }): Promise<PreviousRun | null> {
  if (run.logical_date === null) return null;
  let q = db
    .selectFrom("dag_run")
    .select(["id", "run_id", "logical_date"])
    .where("dag_id", "=", run.dag_id)
    .where("logical_date", "is not", null)
    .where("logical_date", "<", run.logical_date);
  if (opts.excludeManual) q = q.where("run_type", "!=", "manual");
  const row = await q.orderBy("logical_date", "desc").limit(1).executeTakeFirst();
  return row ? { id: row.id, run_id: row.run_id, logical_date: row.logical_date as string } : null;
}

/** task_id -> states of its instances in the run (several for a mapped task). */
export async function listTaskStatesInRun(db: Db, dagId: string, runId: string, taskIds: readonly string[]): Promise<Map<string, (string | null)[]>> {
  const out = new Map<string, (string | null)[]>();
  if (taskIds.length === 0) return out;
  const rows = await db.selectFrom("task_instance").select(["task_id", "state"]).where("dag_id", "=", dagId).where("run_id", "=", runId).where("task_id", "in", taskIds).execute();
  for (const r of rows) {
    const list = out.get(r.task_id) ?? [];
    list.push(r.state);
    out.set(r.task_id, list);
  }
  return out;
}

/** Whether the task has an instance in any run with an earlier logical date (ignore_first_depends_on_past). */
export async function hasEarlierTaskInstance(db: Db, dagId: string, taskId: string, logicalDate: string): Promise<boolean> {
  const row = await db
    .selectFrom("task_instance")
    .innerJoin("dag_run", (j) => j.onRef("dag_run.dag_id", "=", "task_instance.dag_id").onRef("dag_run.run_id", "=", "task_instance.run_id"))
    .select("task_instance.id")
    .where("task_instance.dag_id", "=", dagId)
    .where("task_instance.task_id", "=", taskId)
    .where("dag_run.logical_date", "<", logicalDate)
    .limit(1)
    .executeTakeFirst();
  return row !== undefined;
}

/** The run's place in its backfill (1 = the first run the backfill made), or null. */
export async function getBackfillSortOrdinal(db: Db, backfillId: number, dagRunId: number): Promise<number | null> {
  const row = await db.selectFrom("backfill_dag_run").select("sort_ordinal").where("backfill_id", "=", backfillId).where("dag_run_id", "=", dagRunId).executeTakeFirst();
  return row?.sort_ordinal ?? null;
}

// Deleting a DAG run or a whole DAG's records: `orch dags test` replacing the run at its logical
// date (as Airflow's dag.test() does), `orch dags delete` and `DELETE /api/v2/dags/{dag_id}`
// (Airflow's delete_dag), `DELETE /api/v2/dags/{dag_id}/dagRuns/{dag_run_id}`. A backfill keeps
// its record of a deleted run's date, with the run unlinked.
import type { Dialect } from "./dialect.ts";
import type { Db } from "./open.ts";
import { deleteTaskInstanceNotes } from "./task-instance-notes.ts";
import { finishTry } from "./task-instances.ts";

/** Deletes one run with its task instances, their tries and XComs. Returns whether it existed. */
export async function deleteDagRun(db: Db, dagRunId: number): Promise<boolean> {
  const run = await db.selectFrom("dag_run").select(["dag_id", "run_id"]).where("id", "=", dagRunId).executeTakeFirst();
  if (!run) return false;
  await db.deleteFrom("xcom").where("dag_run_id", "=", dagRunId).execute();
  await db.deleteFrom("task_instance_history").where("dag_id", "=", run.dag_id).where("run_id", "=", run.run_id).execute();
  await db.deleteFrom("task_instance").where("dag_id", "=", run.dag_id).where("run_id", "=", run.run_id).execute();
  await deleteTaskInstanceNotes(db, run.dag_id, run.run_id);
  await db.updateTable("backfill_dag_run").set({ dag_run_id: null }).where("dag_run_id", "=", dagRunId).execute();
  await db.deleteFrom("dag_run").where("id", "=", dagRunId).execute();
  return true;
}

/** The run of a DAG at a logical date, if one exists. */
export async function findDagRunAtLogicalDate(db: Db, dagId: string, logicalDate: string): Promise<{ id: number; run_id: string; state: string } | undefined> {
  return db.selectFrom("dag_run").select(["id", "run_id", "state"]).where("dag_id", "=", dagId).where("logical_date", "=", logicalDate).executeTakeFirst();
}

export interface DeletedCounts {
  dag_runs: number;
  task_instances: number;
}

/** Airflow's delete_dag: every record of the DAG (runs, task instances, tries, XComs, the DAG and
 *  its serialization). The file is untouched: the processor brings the DAG back while it exists. */
export async function deleteDagRecords(db: Db, dagId: string): Promise<DeletedCounts> {
  const runs = await db.selectFrom("dag_run").select("id").where("dag_id", "=", dagId).execute();
  const tis = await db.selectFrom("task_instance").select((eb) => eb.fn.countAll<number>().as("n")).where("dag_id", "=", dagId).executeTakeFirst();
  await db.deleteFrom("xcom").where("dag_id", "=", dagId).execute();
  await db.deleteFrom("task_instance_history").where("dag_id", "=", dagId).execute();
  await db.deleteFrom("task_instance").where("dag_id", "=", dagId).execute();
  await deleteTaskInstanceNotes(db, dagId);
  if (runs.length) await db.updateTable("backfill_dag_run").set({ dag_run_id: null }).where("dag_run_id", "in", runs.map((r) => r.id)).execute();
  await db.deleteFrom("dag_run").where("dag_id", "=", dagId).execute();
  await db.deleteFrom("dag_schedule_asset_reference").where("dag_id", "=", dagId).execute();
  await db.deleteFrom("asset_dag_run_queue").where("target_dag_id", "=", dagId).execute();
  await db.deleteFrom("serialized_dag").where("dag_id", "=", dagId).execute();
  await db.deleteFrom("dag").where("dag_id", "=", dagId).execute();
  return { dag_runs: runs.length, task_instances: Number(tis?.n ?? 0) };
}

/** Marks a run failed and its unfinished task instances failed with `reason`, in one transaction
 *  (an interrupted `orch dags test`). Returns the task ids it failed. */
export async function failDagRunAndTasks(db: Db, dialect: Dialect, dagRunId: number, reason: string): Promise<string[]> {
  const run = await db.selectFrom("dag_run").select(["dag_id", "run_id", "note"]).where("id", "=", dagRunId).executeTakeFirst();
  if (!run) return [];
  const now = new Date().toISOString();
  const open = await db
    .selectFrom("task_instance")
    .selectAll()
    .where("dag_id", "=", run.dag_id)
    .where("run_id", "=", run.run_id)
    .where("state", "in", ["scheduled", "queued", "running", "up_for_retry", "up_for_reschedule", "deferred", "restarting"])
    .execute();
  // A running try gets its history row and duration; the rest never started this try.
  for (const ti of open.filter((t) => t.state === "running")) await finishTry(db, dialect, ti, { state: "failed", reason });
  const waiting = open.filter((t) => t.state !== "running").map((t) => t.id);
  if (waiting.length) {
    await db
      .updateTable("task_instance")
      .set({ state: "failed", state_reason: reason, end_date: now, updated_at: now, next_retry_at: null })
      .where("id", "in", waiting)
      .execute();
  }
  await db
    .updateTable("dag_run")
    .set({ state: "failed", end_date: now, note: run.note ? `${run.note}\n${reason}` : reason })
    .where("id", "=", dagRunId)
    .where("state", "in", ["queued", "running"])
    .execute();
  return open.map((t) => t.task_id);
}

// SQL for the edits a person makes through the API or CLI (not the scheduler's transitions):
// pausing a DAG, a run's note and forced state. Deleting a run or a DAG with all it owns is
// deletions.ts (one set of deletes for the CLI and the API).
import type { Db } from "./open.ts";
import { nowIso } from "./schema.ts";

export async function setDagPaused(db: Db, dagId: string, paused: boolean): Promise<boolean> {
  const r = await db.updateTable("dag").set({ is_paused: paused ? 1 : 0 }).where("dag_id", "=", dagId).executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}

export async function isDagPaused(db: Db, dagId: string): Promise<boolean> {
  const row = await db.selectFrom("dag").select("is_paused").where("dag_id", "=", dagId).executeTakeFirst();
  return row?.is_paused === 1;
}

export async function setDagRunNote(db: Db, id: number, note: string | null): Promise<void> {
  await db.updateTable("dag_run").set({ note }).where("id", "=", id).execute();
}

/** Forces a run's state (Airflow's "mark run as"): queued clears start and end, the end states set end_date. */
export async function setDagRunState(db: Db, id: number, state: "queued" | "success" | "failed"): Promise<void> {
  const now = nowIso();
  await db
    .updateTable("dag_run")
    .set(state === "queued" ? { state, start_date: null, end_date: null, queued_at: now } : { state, end_date: now, last_scheduling_decision: now })
    .where("id", "=", id)
    .execute();
}

export async function countRunningTaskInstances(db: Db, dagId: string): Promise<number> {
  const r = await db
    .selectFrom("task_instance")
    .select((eb) => eb.fn.countAll<number>().as("n"))
    .where("dag_id", "=", dagId)
    .where("state", "in", ["running", "queued"])
    .executeTakeFirst();
  return Number(r?.n ?? 0);
}

/** A finished run whose task instances a person changed goes back to running, so the scheduler
 *  decides its state again. */
export async function reopenFinishedRun(db: Db, dagId: string, runId: string): Promise<void> {
  await db.updateTable("dag_run").set({ state: "running", end_date: null }).where("dag_id", "=", dagId).where("run_id", "=", runId).where("state", "in", ["success", "failed"]).execute();
}

// SQL for task_instance_note: a person's note on a task instance (Airflow's TaskInstanceNote), set
// through the REST API's PATCH of a task instance and shown with it. Deleting a run or a DAG
// deletes its notes (run-edits.ts, deletions.ts call these).
import type { Db } from "./open.ts";
import { nowIso } from "./schema.ts";

export interface TaskInstanceKey {
  dag_id: string;
  run_id: string;
  task_id: string;
  map_index: number;
}

/** Sets (or, with null, removes) the note of one task instance. */
export async function setTaskInstanceNote(db: Db, ti: TaskInstanceKey, content: string | null, userId: string | null): Promise<void> {
  const key = { dag_id: ti.dag_id, run_id: ti.run_id, task_id: ti.task_id, map_index: ti.map_index };
  if (content === null) {
    await db.deleteFrom("task_instance_note").where("dag_id", "=", key.dag_id).where("run_id", "=", key.run_id).where("task_id", "=", key.task_id).where("map_index", "=", key.map_index).execute();
    return;
  }
  const now = nowIso();
  await db
    .insertInto("task_instance_note")
    .values({ ...key, content, user_id: userId, created_at: now, updated_at: now })
    .onConflict((oc) => oc.columns(["dag_id", "run_id", "task_id", "map_index"]).doUpdateSet({ content, user_id: userId, updated_at: now }))
    .execute();
}

export async function getTaskInstanceNote(db: Db, ti: TaskInstanceKey): Promise<string | null> {
  const r = await db
    .selectFrom("task_instance_note")
    .select("content")
    .where("dag_id", "=", ti.dag_id)
    .where("run_id", "=", ti.run_id)
    .where("task_id", "=", ti.task_id)
    .where("map_index", "=", ti.map_index)
    .executeTakeFirst();
  return r?.content ?? null;
}

/** Deletes the notes of one run's task instances, or (without runId) of a whole DAG's. */
export async function deleteTaskInstanceNotes(db: Db, dagId: string, runId?: string): Promise<void> {
  let q = db.deleteFrom("task_instance_note").where("dag_id", "=", dagId);
  if (runId !== undefined) q = q.where("run_id", "=", runId);
  await q.execute();
}

// SQL for xcom. Values are JSON text; the size cap is enforced before they get here (the worker).
import { hotQuery } from "./hot-query.ts";
import type { Db } from "./open.ts";
import { nowIso } from "./schema.ts";

/** The XCom key under which a branch or short-circuit records what it skipped (Airflow's name). */
export const SKIPMIXIN_KEY = "skipmixin_key";

export interface XcomEntry {
  task_id: string;
  map_index: number;
  key: string;
  value: unknown;
}

export interface XcomRef {
  dagRunId: number;
  dagId: string;
  runId: string;
}

/** Replaces the task's XComs under these keys. */
export async function setXcoms(db: Db, run: XcomRef, taskId: string, mapIndex: number, entries: readonly { key: string; value: unknown }[]): Promise<void> {
  for (const e of entries) {
    await db
      .deleteFrom("xcom")
      .where("dag_run_id", "=", run.dagRunId)
      .where("task_id", "=", taskId)
      .where("map_index", "=", mapIndex)
      .where("key", "=", e.key)
      .execute();
    await db
      .insertInto("xcom")
      .values({
        dag_run_id: run.dagRunId,
        task_id: taskId,
        map_index: mapIndex,
        key: e.key,
        dag_id: run.dagId,
        run_id: run.runId,
        value: JSON.stringify(e.value),
        timestamp: nowIso(),
      })
      .execute();
  }
}

/** A try starts with none of its earlier tries' XComs (Airflow clears them at task start). */
export async function clearTaskXcoms(db: Db, dagRunId: number, taskId: string, mapIndex: number): Promise<void> {
  await clearQuery(db, { dagRunId, taskId, mapIndex });
}
const clearQuery = hotQuery<{ dagRunId: number; taskId: string; mapIndex: number }>((db, p) =>
  db.deleteFrom("xcom").where("dag_run_id", "=", p.v("dagRunId")).where("task_id", "=", p.v("taskId")).where("map_index", "=", p.v("mapIndex")),
);

export async function listRunXcoms(db: Db, dagRunId: number): Promise<XcomEntry[]> {
  const rows = await db.selectFrom("xcom").select(["task_id", "map_index", "key", "value"]).where("dag_run_id", "=", dagRunId).execute();
  return rows.map((r) => ({ task_id: r.task_id, map_index: r.map_index, key: r.key, value: JSON.parse(r.value) as unknown }));
}

/** The run's XComs of these tasks under this key (omitted: any), as a task's xcom_pull asks. */
export async function pullXcoms(db: Db, dagRunId: number, filter: { taskIds?: readonly string[]; key?: string }): Promise<XcomEntry[]> {
  if (filter.taskIds && filter.taskIds.length === 0) return [];
  let q = db.selectFrom("xcom").select(["task_id", "map_index", "key", "value"]).where("dag_run_id", "=", dagRunId);
  if (filter.taskIds) q = q.where("task_id", "in", [...filter.taskIds]);
  if (filter.key !== undefined) q = q.where("key", "=", filter.key);
  const rows = await q.orderBy("task_id").orderBy("map_index").execute();
  return rows.map((r) => ({ task_id: r.task_id, map_index: r.map_index, key: r.key, value: JSON.parse(r.value) as unknown }));
}

/** The skipmixin XComs (branch and short-circuit decisions) of some tasks of a run. */
export async function listSkipDecisions(db: Db, dagRunId: number, taskIds: readonly string[]): Promise<{ task_id: string; value: string }[]> {
  if (taskIds.length === 0) return [];
  return db.selectFrom("xcom").select(["task_id", "value"]).where("dag_run_id", "=", dagRunId).where("key", "=", SKIPMIXIN_KEY).where("task_id", "in", taskIds).execute();
}

// SQL for xcom. Values are JSON text; the size cap is enforced before they get here (the worker).
import type { OnConflictBuilder } from "kysely";
import { hotQuery } from "./hot-query.ts";
import type { Db } from "./open.ts";
import { nowIso, type Database } from "./schema.ts";

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

/**
 * Replaces the task's XComs under these keys: one upsert on the primary key for all of them (a
 * key given twice keeps its last value, as writing them in turn would). One statement instead of
 * a delete and an insert per key: on PostgreSQL each is a round trip inside the try's outcome
 * transaction, which a chain's next task waits for.
 */
export async function setXcoms(db: Db, run: XcomRef, taskId: string, mapIndex: number, entries: readonly { key: string; value: unknown }[]): Promise<void> {
  const { keys, values } = xcomColumns(entries);
  const params = { dagRunId: run.dagRunId, taskId, mapIndex, dagId: run.dagId, runId: run.runId, timestamp: nowIso() };
  // In slices, so that a task pushing thousands of keys stays under the dialects' parameter limits.
  for (let i = 0; i < keys.length; i += UPSERT_SLICE) {
    const slice = { keys: keys.slice(i, i + UPSERT_SLICE), values: values.slice(i, i + UPSERT_SLICE) };
    await upsertQuery(db, { ...params, ...slice }, String(slice.keys.length));
  }
}
const UPSERT_SLICE = 200;
const upsertQuery = hotQuery<{ dagRunId: number; taskId: string; mapIndex: number; dagId: string; runId: string; timestamp: string; keys: string[]; values: string[] }>((db, p, variant) => {
  const n = Number(variant);
  const keys = p.list("keys", n);
  const values = p.list("values", n);
  return db
    .insertInto("xcom")
    .values(
      keys.map((key, i) => ({
        dag_run_id: p.v("dagRunId"),
        task_id: p.v("taskId"),
        map_index: p.v("mapIndex"),
        key,
        dag_id: p.v("dagId"),
        run_id: p.v("runId"),
        value: values[i]!,
        timestamp: p.v("timestamp"),
      })),
    )
    .onConflict(onXcomConflict);
});

/** An XCom pushed again under its key takes the new value. */
export function onXcomConflict(oc: OnConflictBuilder<Database, "xcom">) {
  return oc.columns(["dag_run_id", "task_id", "map_index", "key"]).doUpdateSet((eb) => ({
    dag_id: eb.ref("excluded.dag_id"),
    run_id: eb.ref("excluded.run_id"),
    value: eb.ref("excluded.value"),
    timestamp: eb.ref("excluded.timestamp"),
  }));
}

/** The entries a try pushed, one per key (the last push wins), values as the column holds them. */
export function xcomColumns(entries: readonly { key: string; value: unknown }[]): { keys: string[]; values: string[] } {
  const byKey = new Map<string, unknown>();
  for (const e of entries) byKey.set(e.key, e.value);
  return { keys: [...byKey.keys()], values: [...byKey.values()].map((v) => JSON.stringify(v)) };
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

// SQL for mapped task instances (dynamic task mapping): a task's placeholder instance
// (map_index -1) becomes map_index 0 and gains siblings 1..n-1 when the task expands; a shorter
// re-expansion marks the surplus `removed`. Also the XCom reads that give the lengths.
import type { Db } from "./open.ts";
import { newTaskInstanceRow } from "./dag-runs.ts";
import { nowIso } from "./schema.ts";

export interface MappedInstance {
  id: number;
  map_index: number;
  state: string | null;
}

export interface MapSeed {
  dag_id: string;
  run_id: string;
  task_id: string;
  retries: number;
  priority_weight: number;
  operator: string;
}

/** The task's instances in a run, by map index. */
export async function listMappedInstances(db: Db, run: { dag_id: string; run_id: string }, taskId: string): Promise<MappedInstance[]> {
  return db
    .selectFrom("task_instance")
    .select(["id", "map_index", "state"])
    .where("dag_id", "=", run.dag_id)
    .where("run_id", "=", run.run_id)
    .where("task_id", "=", taskId)
    .orderBy("map_index")
    .execute();
}

/** An unmapped task's XCom under `key`, JSON-parsed; `found: false` when it pushed none. */
export async function readTaskXcom(db: Db, dagRunId: number, taskId: string, key: string): Promise<{ found: false } | { found: true; value: unknown }> {
  const row = await db
    .selectFrom("xcom")
    .select("value")
    .where("dag_run_id", "=", dagRunId)
    .where("task_id", "=", taskId)
    .where("map_index", "=", -1)
    .where("key", "=", key)
    .executeTakeFirst();
  return row ? { found: true, value: JSON.parse(row.value) as unknown } : { found: false };
}

/** How many instances of a mapped task pushed an XCom under `key` (its output list's length). */
export async function countMappedXcoms(db: Db, dagRunId: number, taskId: string, key: string): Promise<number> {
  const r = await db
    .selectFrom("xcom")
    .select((eb) => eb.fn.countAll<number>().as("n"))
    .where("dag_run_id", "=", dagRunId)
    .where("task_id", "=", taskId)
    .where("map_index", ">=", 0)
    .where("key", "=", key)
    .executeTakeFirstOrThrow();
  return Number(r.n);
}

/**
 * Expands a task to `length` instances, all `scheduled` (or, with `initial` null, not yet
 * scheduled: each then waits on its own upstream instances): the placeholder (map_index -1) becomes
 * index 0, missing indexes below `length` are inserted, cleared or removed ones are scheduled, and indexes
 * at or above `length` (left by a longer earlier expansion) become `removed`. Returns the ids
 * scheduled, by map index.
 */
export async function expandTaskInstances(db: Db, seed: MapSeed, existing: readonly MappedInstance[], length: number, initial: "scheduled" | null = "scheduled"): Promise<Map<number, number>> {
  const now = nowIso();
  const scheduledDttm = initial === "scheduled" ? now : null;
  const scheduled = new Map<number, number>();
  const have = new Set(existing.filter((e) => e.map_index >= 0).map((e) => e.map_index));
  for (const e of existing) {
    if (e.map_index === -1) {
      await db
        .updateTable("task_instance")
        .set({ map_index: 0, state: initial, state_reason: null, scheduled_dttm: scheduledDttm, updated_at: now })
        .where("id", "=", e.id)
        .execute();
      have.add(0);
      if (initial !== null) scheduled.set(0, e.id);
    } else if (e.map_index >= length) {
      await db
        .updateTable("task_instance")
        .set({ state: "removed", state_reason: `map_index ${e.map_index} is beyond this expansion's ${length} element(s)`, end_date: now, updated_at: now })
        .where("id", "=", e.id)
        .execute();
      // Its results from the longer expansion must not reach a downstream (a reduce reads every
      // map index's XCom).
      await db.deleteFrom("xcom").where("dag_id", "=", seed.dag_id).where("run_id", "=", seed.run_id).where("task_id", "=", seed.task_id).where("map_index", "=", e.map_index).execute();
    } else if ((e.state === null && initial !== null) || e.state === "removed") {
      await db
        .updateTable("task_instance")
        .set({ state: initial, state_reason: null, scheduled_dttm: scheduledDttm, end_date: null, updated_at: now })
        .where("id", "=", e.id)
        .execute();
      if (initial !== null) scheduled.set(e.map_index, e.id);
    }
  }
  const missing: number[] = [];
  for (let i = 0; i < length; i++) if (!have.has(i)) missing.push(i);
  // Chunked: SQLite caps bound parameters per statement.
  for (let i = 0; i < missing.length; i += 40) {
    const rows = await db
      .insertInto("task_instance")
      .values(
        missing.slice(i, i + 40).map((mapIndex) =>
          newTaskInstanceRow({ dag_id: seed.dag_id, run_id: seed.run_id, task_id: seed.task_id, map_index: mapIndex, retries: seed.retries, priority_weight: seed.priority_weight, operator: seed.operator, state: initial, scheduled_dttm: scheduledDttm, now }),
        ),
      )
      .returning(["id", "map_index"])
      .execute();
    if (initial !== null) for (const r of rows) scheduled.set(r.map_index, r.id);
  }
  return scheduled;
}

/** A task that cannot expand (no list to map over, or too long a one) fails without a try; an
 *  empty list skips it. Only an instance not yet run moves. */
export async function settleUnexpandedTask(db: Db, ids: readonly number[], state: "failed" | "skipped", reason: string): Promise<void> {
  if (ids.length === 0) return;
  const now = nowIso();
  await db
    .updateTable("task_instance")
    .set({ state, state_reason: reason, end_date: now, updated_at: now })
    .where("id", "in", [...ids])
    .where((eb) => eb.or([eb("state", "is", null), eb("state", "in", ["up_for_retry", "removed"])]))
    .execute();
}

/** A mapped instance's name, rendered from its task's map_index_template by the try. */
export async function recordRenderedMapIndex(db: Db, id: number, value: string): Promise<void> {
  await db.updateTable("task_instance").set({ rendered_map_index: value }).where("id", "=", id).execute();
}

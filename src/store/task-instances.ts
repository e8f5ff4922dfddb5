// SQL for task_instance and task_instance_history. Each exported write is one step of Airflow's
// state machine and runs inside the caller's transaction, so a transition is all-or-nothing.
import type { Kysely } from "kysely";
import type { Dialect } from "./dialect.ts";
import type { Db } from "./open.ts";
import type { Database, TaskInstanceRow } from "./schema.ts";
import { nowIso } from "./schema.ts";

export type TaskInstanceState =
  | "scheduled"
  | "queued"
  | "running"
  | "success"
  | "failed"
  | "skipped"
  | "upstream_failed"
  | "up_for_retry"
  | "up_for_reschedule"
  | "deferred"
  | "removed"
  | "restarting";

/** States after which a try never runs again unless cleared (Airflow's State.finished). */
export const FINISHED_STATES: readonly string[] = ["success", "failed", "skipped", "upstream_failed", "removed"];
/** States in which a task instance holds or waits for an executor slot. */
export const ACTIVE_STATES: readonly string[] = ["queued", "running"];

export async function listTaskInstances(db: Db, dagId: string, runId: string): Promise<TaskInstanceRow[]> {
  return db
    .selectFrom("task_instance")
    .selectAll()
    .where("dag_id", "=", dagId)
    .where("run_id", "=", runId)
    .orderBy("id")
    .execute();
}

export async function getTaskInstance(db: Db, dagId: string, runId: string, taskId: string, mapIndex = -1): Promise<TaskInstanceRow | undefined> {
  return db
    .selectFrom("task_instance")
    .selectAll()
    .where("dag_id", "=", dagId)
    .where("run_id", "=", runId)
    .where("task_id", "=", taskId)
    .where("map_index", "=", mapIndex)
    .executeTakeFirst();
}

export async function getTaskInstanceById(db: Db, id: number): Promise<TaskInstanceRow | undefined> {
  return db.selectFrom("task_instance").selectAll().where("id", "=", id).executeTakeFirst();
}

/** Sets `state` on the given task instances that are still in one of `from` (a guard against
 *  racing writers); returns how many changed. */
export async function setTaskInstanceState(
  db: Db,
  ids: readonly number[],
  state: TaskInstanceState | null,
  opts: { from?: readonly (string | null)[]; reason?: string | null; finished?: boolean } = {},
): Promise<number> {
  if (ids.length === 0) return 0;
  const now = nowIso();
  let q = db
    .updateTable("task_instance")
    .set({
      state,
      updated_at: now,
      ...(opts.reason !== undefined ? { state_reason: opts.reason } : {}),
      ...(state === "scheduled" ? { scheduled_dttm: now } : {}),
      ...(opts.finished ? { end_date: now } : {}),
    })
    .where("id", "in", ids);
  if (opts.from) {
    const from = opts.from;
    const named = from.filter((s): s is string => s !== null);
    q = q.where((eb) => {
      const ors = [];
      if (named.length) ors.push(eb("state", "in", named));
      if (from.includes(null)) ors.push(eb("state", "is", null));
      return eb.or(ors);
    });
  }
  const r = await q.executeTakeFirst();
  return Number(r.numUpdatedRows);
}

/**
 * Claims up to `limit` scheduled task instances of running DAG runs for an executor: marks them
 * queued and returns them, in one transaction. Highest priority_weight first, then oldest.
 * PostgreSQL: `FOR UPDATE SKIP LOCKED`, so two schedulers never claim the same row and neither
 * waits on the other; SQLite: the caller's BEGIN IMMEDIATE already excludes other writers.
 * `max_active_tasks` per DAG is counted inside the same transaction.
 */
export async function claimScheduledTaskInstances(
  trx: Kysely<Database>,
  dialect: Dialect,
  opts: { limit: number; maxActiveTasks: (dagId: string) => number },
): Promise<TaskInstanceRow[]> {
  if (opts.limit <= 0) return [];
  let q = trx
    .selectFrom("task_instance as ti")
    .innerJoin("dag_run as dr", (j) => j.onRef("dr.dag_id", "=", "ti.dag_id").onRef("dr.run_id", "=", "ti.run_id"))
    .selectAll("ti")
    .where("ti.state", "=", "scheduled")
    .where("dr.state", "=", "running")
    .orderBy("ti.priority_weight", "desc")
    .orderBy("ti.scheduled_dttm")
    .orderBy("ti.id")
    .limit(opts.limit * 4);
  if (dialect.supportsSkipLocked) q = q.forUpdate("ti").skipLocked();
  const candidates = await q.execute();
  if (candidates.length === 0) return [];

  const dagIds = [...new Set(candidates.map((c) => c.dag_id))];
  const activeRows = await trx
    .selectFrom("task_instance")
    .select(["dag_id", (eb) => eb.fn.countAll<number>().as("n")])
    .where("dag_id", "in", dagIds)
    .where("state", "in", ACTIVE_STATES as string[])
    .groupBy("dag_id")
    .execute();
  const active = new Map(activeRows.map((r) => [r.dag_id, Number(r.n)]));

  const picked: TaskInstanceRow[] = [];
  for (const c of candidates) {
    if (picked.length >= opts.limit) break;
    const n = active.get(c.dag_id) ?? 0;
    if (n >= opts.maxActiveTasks(c.dag_id)) continue;
    active.set(c.dag_id, n + 1);
    picked.push(c);
  }
  if (picked.length === 0) return [];
  const now = nowIso();
  await trx
    .updateTable("task_instance")
    .set({ state: "queued", queued_dttm: now, updated_at: now })
    .where("id", "in", picked.map((p) => p.id))
    .execute();
  return picked.map((p) => ({ ...p, state: "queued", queued_dttm: now }));
}

/** queued → running: a new try begins. Returns the try number, or null if the row moved on. */
export async function startTry(db: Db, id: number, who: { hostname: string; pid: number }): Promise<number | null> {
  const now = nowIso();
  const row = await db
    .updateTable("task_instance")
    .set((eb) => ({
      state: "running",
      try_number: eb("try_number", "+", 1),
      start_date: now,
      end_date: null,
      duration: null,
      hostname: who.hostname,
      pid: who.pid,
      next_retry_at: null,
      state_reason: null,
      updated_at: now,
    }))
    .where("id", "=", id)
    .where("state", "=", "queued")
    .returning("try_number")
    .executeTakeFirst();
  return row ? row.try_number : null;
}

export interface TryOutcome {
  state: "success" | "failed" | "skipped" | "up_for_retry";
  reason?: string | null;
  nextRetryAt?: string | null;
}

/** running → an end state, and the try's history row, in the caller's transaction. */
export async function finishTry(db: Db, ti: TaskInstanceRow, outcome: TryOutcome): Promise<void> {
  const now = nowIso();
  const duration = ti.start_date ? (Date.parse(now) - Date.parse(ti.start_date)) / 1000 : null;
  await db
    .updateTable("task_instance")
    .set({
      state: outcome.state,
      end_date: now,
      duration,
      state_reason: outcome.reason ?? null,
      next_retry_at: outcome.nextRetryAt ?? null,
      updated_at: now,
    })
    .where("id", "=", ti.id)
    .execute();
  await recordTryHistory(db, { ...ti, state: outcome.state, end_date: now, duration, state_reason: outcome.reason ?? null });
}

export async function recordTryHistory(db: Db, ti: TaskInstanceRow): Promise<void> {
  if (ti.try_number < 1) return;
  await db
    .insertInto("task_instance_history")
    .values({
      task_instance_id: ti.id,
      dag_id: ti.dag_id,
      run_id: ti.run_id,
      task_id: ti.task_id,
      map_index: ti.map_index,
      try_number: ti.try_number,
      max_tries: ti.max_tries,
      state: ti.state,
      start_date: ti.start_date,
      end_date: ti.end_date,
      duration: ti.duration,
      hostname: ti.hostname,
      pid: ti.pid,
      operator: ti.operator,
      state_reason: ti.state_reason,
    })
    .onConflict((oc) =>
      oc.columns(["dag_id", "run_id", "task_id", "map_index", "try_number"]).doUpdateSet({
        state: ti.state,
        end_date: ti.end_date,
        duration: ti.duration,
        state_reason: ti.state_reason,
      }),
    )
    .execute();
}

/** Task instances in `running`/`queued`: after a crash these may have no worker behind them. */
export async function listUnfinishedClaims(db: Db): Promise<TaskInstanceRow[]> {
  return db.selectFrom("task_instance").selectAll().where("state", "in", ["running", "queued"]).execute();
}

/** Earliest retry time among up_for_retry task instances of active runs (the scheduler's timer). */
export async function earliestRetryAt(db: Db): Promise<string | null> {
  const r = await db
    .selectFrom("task_instance")
    .select((eb) => eb.fn.min<string>("next_retry_at").as("t"))
    .where("state", "=", "up_for_retry")
    .executeTakeFirst();
  return r?.t ?? null;
}

/** Clears task instances for a re-run (Airflow's clear): state none, and max_tries moved to
 *  try_number + retries so a cleared task gets its full retries again. */
export async function clearTaskInstances(db: Db, items: readonly { id: number; retries: number }[]): Promise<number> {
  const now = nowIso();
  let n = 0;
  for (const it of items) {
    const r = await db
      .updateTable("task_instance")
      .set((eb) => ({
        state: null,
        end_date: null,
        start_date: null,
        duration: null,
        next_retry_at: null,
        state_reason: null,
        updated_at: now,
        max_tries: eb("try_number", "+", it.retries),
      }))
      .where("id", "=", it.id)
      .executeTakeFirst();
    n += Number(r.numUpdatedRows);
  }
  return n;
}

// SQL for `backfill` and `backfill_dag_run` (Airflow 3's models/backfill.py), and the bulk run
// creation a backfill needs. Deciding which dates to run is src/scheduler/backfill.ts's job.
//
// Glossary:
//   active backfill - completed_at is null; a DAG has at most one (checked inside the creating
//                     transaction, with the DAG's row locked on PostgreSQL).
//   sort ordinal    - a backfill's dates numbered from 1 in the order they should run (newest
//                     first with --run-backwards); the scheduler starts queued runs in that order.
//   exception reason- why a date got no run: "in flight" or "already exists" (Airflow's words).
import type { Kysely } from "kysely";
import type { Dialect } from "./dialect.ts";
import type { Db } from "./open.ts";
import type { Database, DagRunRow } from "./schema.ts";
import { nowIso } from "./schema.ts";
import type { NewRun, TaskSeed } from "./dag-runs.ts";

export type ReprocessBehavior = "none" | "failed" | "completed";
export const REPROCESS_BEHAVIORS: readonly ReprocessBehavior[] = ["none", "failed", "completed"];

export interface BackfillRow {
  id: number;
  dag_id: string;
  from_date: string;
  to_date: string;
  dag_run_conf: string;
  is_paused: number;
  reprocess_behavior: string;
  max_active_runs: number;
  created_at: string;
  completed_at: string | null;
  updated_at: string;
}

export interface BackfillDagRunEntry {
  logical_date: string;
  sort_ordinal: number;
  exception_reason: string | null;
  dag_run_id: number | null;
  run_id: string | null;
  state: string | null;
  start_date: string | null;
  end_date: string | null;
}

/** Locks the DAG's row until the transaction ends, so two creators of a backfill for one DAG
 *  take turns (SQLite's BEGIN IMMEDIATE already serialises all writers). */
export async function lockDagForBackfill(trx: Kysely<Database>, dialect: Dialect, dagId: string): Promise<void> {
  if (dialect.needsImmediateWriteTransactions) return;
  await trx.selectFrom("dag").select("dag_id").where("dag_id", "=", dagId).forUpdate().execute();
}

export async function countActiveBackfills(db: Db, dagId: string): Promise<number> {
  const r = await db
    .selectFrom("backfill")
    .select((eb) => eb.fn.countAll<number>().as("n"))
    .where("dag_id", "=", dagId)
    .where("completed_at", "is", null)
    .executeTakeFirst();
  return Number(r?.n ?? 0);
}

export async function insertBackfill(
  db: Db,
  b: { dag_id: string; from_date: string; to_date: string; dag_run_conf: Record<string, unknown> | null; reprocess_behavior: ReprocessBehavior; max_active_runs: number },
): Promise<BackfillRow> {
  const now = nowIso();
  return db
    .insertInto("backfill")
    .values({
      dag_id: b.dag_id,
      from_date: b.from_date,
      to_date: b.to_date,
      dag_run_conf: JSON.stringify(b.dag_run_conf ?? {}),
      is_paused: 0,
      reprocess_behavior: b.reprocess_behavior,
      max_active_runs: b.max_active_runs,
      created_at: now,
      completed_at: null,
      updated_at: now,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function getBackfill(db: Db, id: number): Promise<BackfillRow | undefined> {
  return db.selectFrom("backfill").selectAll().where("id", "=", id).executeTakeFirst();
}

export async function listBackfills(db: Db, filter: { dagId?: string; active?: boolean } = {}): Promise<BackfillRow[]> {
  let q = db.selectFrom("backfill").selectAll();
  if (filter.dagId) q = q.where("dag_id", "=", filter.dagId);
  if (filter.active) q = q.where("completed_at", "is", null);
  return q.orderBy("id", "desc").execute();
}

/** The runs of a DAG whose logical dates lie in [from, to]: the existing runs a backfill meets. */
export async function listRunsInRange(db: Db, dagId: string, fromIso: string, toIso: string): Promise<DagRunRow[]> {
  return db
    .selectFrom("dag_run")
    .selectAll()
    .where("dag_id", "=", dagId)
    .where("logical_date", ">=", fromIso)
    .where("logical_date", "<=", toIso)
    .execute();
}

// SQLite allows 32,766 bound parameters per statement; 200 rows of ~25 columns stays far below.
const CHUNK = 200;

/**
 * Inserts the backfill's new runs (queued) with their task instances, in the caller's
 * transaction, a few statements per 200 rows rather than three per run: 3,650 daily runs take one
 * transaction of ~40 statements. Returns the new runs' ids by run_id.
 */
export async function insertBackfillRuns(trx: Kysely<Database>, runs: readonly NewRun[], tasks: readonly TaskSeed[]): Promise<Map<string, number>> {
  const now = nowIso();
  const ids = new Map<string, number>();
  for (let i = 0; i < runs.length; i += CHUNK) {
    const rows = await trx
      .insertInto("dag_run")
      .values(
        runs.slice(i, i + CHUNK).map((r) => ({
          dag_id: r.dag_id,
          run_id: r.run_id,
          logical_date: r.logical_date,
          data_interval_start: r.data_interval_start,
          data_interval_end: r.data_interval_end,
          run_after: r.run_after,
          queued_at: now,
          start_date: null,
          end_date: null,
          state: "queued",
          run_type: r.run_type,
          conf: JSON.stringify(r.conf ?? {}),
          triggered_by: r.triggered_by,
          last_scheduling_decision: null,
          backfill_id: r.backfill_id ?? null,
          note: null,
        })),
      )
      .returning(["id", "run_id"])
      .execute();
    for (const r of rows) ids.set(r.run_id, r.id);
  }
  const tis = runs.flatMap((r) =>
    tasks.map((t) => ({
      dag_id: r.dag_id,
      run_id: r.run_id,
      task_id: t.task_id,
      map_index: -1,
      try_number: 0,
      max_tries: t.retries,
      state: null,
      queue: "default",
      pool: "default_pool",
      priority_weight: t.priority_weight,
      operator: t.operator,
      updated_at: now,
    })),
  );
  for (let i = 0; i < tis.length; i += CHUNK) await trx.insertInto("task_instance").values(tis.slice(i, i + CHUNK)).execute();
  return ids;
}

export async function insertBackfillDagRuns(
  trx: Kysely<Database>,
  rows: readonly { backfill_id: number; dag_run_id: number | null; logical_date: string; sort_ordinal: number; exception_reason: string | null }[],
): Promise<void> {
  for (let i = 0; i < rows.length; i += CHUNK) await trx.insertInto("backfill_dag_run").values(rows.slice(i, i + CHUNK)).execute();
}

/** Airflow's _handle_clear_run: the finished run is cleared (its task instances back to none with
 *  their retries renewed), queued again, and becomes part of the backfill. Guarded by the state
 *  it was read in, so a run that changed meanwhile is left alone; returns whether it was taken. */
export async function requeueRunForBackfill(
  trx: Kysely<Database>,
  run: { id: number; dag_id: string; run_id: string; state: string },
  backfillId: number,
  conf: Record<string, unknown> | null,
  retries: ReadonlyMap<string, number>,
): Promise<boolean> {
  const now = nowIso();
  const r = await trx
    .updateTable("dag_run")
    .set((eb) => ({
      state: "queued",
      queued_at: now,
      start_date: null,
      end_date: null,
      run_type: "backfill",
      triggered_by: "backfill",
      backfill_id: backfillId,
      clear_number: eb("clear_number", "+", 1),
      ...(conf ? { conf: JSON.stringify(conf) } : {}),
    }))
    .where("id", "=", run.id)
    .where("state", "=", run.state)
    .executeTakeFirst();
  if (Number(r.numUpdatedRows) === 0) return false;
  const tis = await trx.selectFrom("task_instance").select(["id", "task_id"]).where("dag_id", "=", run.dag_id).where("run_id", "=", run.run_id).execute();
  for (const ti of tis) {
    await trx
      .updateTable("task_instance")
      .set((eb) => ({
        state: null,
        start_date: null,
        end_date: null,
        duration: null,
        next_retry_at: null,
        state_reason: null,
        updated_at: now,
        max_tries: eb("try_number", "+", retries.get(ti.task_id) ?? 0),
      }))
      .where("id", "=", ti.id)
      .execute();
  }
  return true;
}

/** A backfill's dates in sort order, with their runs' current state. */
export async function listBackfillDagRuns(db: Db, backfillId: number): Promise<BackfillDagRunEntry[]> {
  return db
    .selectFrom("backfill_dag_run as b")
    .leftJoin("dag_run as r", "r.id", "b.dag_run_id")
    .select(["b.logical_date", "b.sort_ordinal", "b.exception_reason", "b.dag_run_id", "r.run_id", "r.state", "r.start_date", "r.end_date"])
    .where("b.backfill_id", "=", backfillId)
    .orderBy("b.sort_ordinal")
    .execute();
}

export interface BackfillProgress {
  total: number;
  queued: number;
  running: number;
  success: number;
  failed: number;
  skipped: number;
}

/** Counts of the backfill's runs by state; `skipped` are dates with an exception reason. */
export async function backfillProgress(db: Db, backfillId: number): Promise<BackfillProgress> {
  const rows = await db
    .selectFrom("backfill_dag_run as b")
    .leftJoin("dag_run as r", "r.id", "b.dag_run_id")
    .select(["r.state", (eb) => eb.fn.countAll<number>().as("n")])
    .where("b.backfill_id", "=", backfillId)
    .groupBy("r.state")
    .execute();
  const p: BackfillProgress = { total: 0, queued: 0, running: 0, success: 0, failed: 0, skipped: 0 };
  for (const r of rows) {
    const n = Number(r.n);
    if (r.state === null) {
      p.skipped += n;
      continue;
    }
    p.total += n;
    if (r.state === "queued" || r.state === "running" || r.state === "success" || r.state === "failed") p[r.state] += n;
  }
  return p;
}

export async function setBackfillPaused(db: Db, id: number, paused: boolean): Promise<boolean> {
  const r = await db.updateTable("backfill").set({ is_paused: paused ? 1 : 0, updated_at: nowIso() }).where("id", "=", id).executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}

/** Airflow's cancel_backfill: paused and completed at once, so no new run starts; its queued runs
 *  end failed; running ones finish on their own. Returns how many queued runs were failed. */
export async function cancelBackfillRuns(trx: Kysely<Database>, id: number): Promise<number> {
  const now = nowIso();
  await trx.updateTable("backfill").set({ is_paused: 1, completed_at: now, updated_at: now }).where("id", "=", id).execute();
  const r = await trx
    .updateTable("dag_run")
    .set({ state: "failed", end_date: now, last_scheduling_decision: now })
    .where("backfill_id", "=", id)
    .where("state", "=", "queued")
    .executeTakeFirst();
  return Number(r.numUpdatedRows);
}

/** The backfills not yet completed, with what the scheduler's gate needs (a small table: one
 *  active backfill per DAG at most). */
export async function listActiveBackfills(db: Db): Promise<{ id: number; max_active_runs: number; is_paused: number }[]> {
  return db.selectFrom("backfill").select(["id", "max_active_runs", "is_paused"]).where("completed_at", "is", null).execute();
}

/** Marks complete each active backfill (of `among`, when given) none of whose runs is queued or
 *  running (Airflow's SchedulerJobRunner._mark_backfills_complete); returns their ids. */
export async function completeFinishedBackfills(db: Db, among?: readonly number[]): Promise<number[]> {
  if (among && among.length === 0) return [];
  let q = db.selectFrom("backfill as b").select("b.id");
  if (among) q = q.where("b.id", "in", [...among]);
  const done = await q
    .where("b.completed_at", "is", null)
    .where((eb) =>
      eb.not(
        eb.exists(
          eb
            .selectFrom("dag_run as r")
            .select("r.id")
            .whereRef("r.backfill_id", "=", "b.id")
            .where("r.state", "in", ["queued", "running"]),
        ),
      ),
    )
    .execute();
  if (done.length === 0) return [];
  const ids = done.map((d) => d.id);
  const now = nowIso();
  await db.updateTable("backfill").set({ completed_at: now, updated_at: now }).where("id", "in", ids).where("completed_at", "is", null).execute();
  return ids;
}

/** The next queued runs of a backfill in sort order: which ones the scheduler starts. */
export async function nextQueuedBackfillRunIds(db: Db, backfillId: number, limit: number): Promise<number[]> {
  if (limit <= 0) return [];
  // Each entry's run state is a primary-key lookup (a correlated subquery), never a join the
  // planner may reorder: right after a backfill's runs are inserted PostgreSQL's statistics still
  // say the tables are empty, and the join was planned as a nested loop that rescanned every entry
  // for each queued run (2-4 s a step over 3,650 queued runs, until autovacuum analyzed the
  // tables; 5 ms this way).
  const rows = await db
    .selectFrom("backfill_dag_run as b")
    .select("b.dag_run_id")
    .where("b.backfill_id", "=", backfillId)
    // (A run re-queued by a later backfill belongs to that one.)
    .where((eb) =>
      eb(
        eb.selectFrom("dag_run as r").select("r.id").whereRef("r.id", "=", "b.dag_run_id").where("r.state", "=", "queued").where("r.backfill_id", "=", backfillId),
        "is not",
        null,
      ),
    )
    .orderBy("b.sort_ordinal")
    .limit(limit)
    .execute();
  return rows.map((r) => r.dag_run_id!);
}

/** The rows of nextQueuedBackfillRunIds, in sort order. */
export async function nextQueuedBackfillRuns(db: Db, backfillId: number, limit: number): Promise<DagRunRow[]> {
  const ids = await nextQueuedBackfillRunIds(db, backfillId, limit);
  if (ids.length === 0) return [];
  const rows = await db.selectFrom("dag_run").selectAll().where("id", "in", ids).execute();
  const byId = new Map(rows.map((r) => [r.id, r]));
  return ids.flatMap((id) => byId.get(id) ?? []);
}

/** A unique-key violation from either driver (pg's SQLSTATE 23505, better-sqlite3's code): on
 *  PostgreSQL another process may create a run for one of the backfill's dates between our read
 *  and our insert. */
export function isUniqueViolation(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  return code === "23505" || code === "SQLITE_CONSTRAINT_UNIQUE" || code === "SQLITE_CONSTRAINT_PRIMARYKEY";
}

// SQL for task_instance and task_instance_history. Each exported write is one step of Airflow's
// state machine and runs inside the caller's transaction, so a transition is all-or-nothing.
import { sql, type Kysely, type OnConflictBuilder, type QueryCreator } from "kysely";
import type { Dialect } from "./dialect.ts";
import { lockDags } from "./locks.ts";
import type { Db } from "./open.ts";
import type { Database, TaskInstanceRow, TaskInstanceTable } from "./schema.ts";
import { nowIso } from "./schema.ts";
import { hotQuery, type Slots } from "./hot-query.ts";
import { onXcomConflict, xcomColumns } from "./xcom.ts";

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

function stateIn(from: readonly (string | null)[]) {
  const named = from.filter((s): s is string => s !== null);
  return (eb: import("kysely").ExpressionBuilder<Database, "task_instance">) => {
    const ors = [];
    if (named.length) ors.push(eb("state", "in", named));
    if (from.includes(null)) ors.push(eb("state", "is", null));
    return eb.or(ors);
  };
}

/** Not yet run or waiting for a retry: what the scheduler may move on. */
// up_for_reschedule: a reschedule-mode sensor waiting for its next poke (Ready To Reschedule dep).
const UNDECIDED: readonly (string | null)[] = [null, "up_for_retry", "up_for_reschedule"];

/**
 * none/up_for_retry → scheduled: its dependencies are met. Whether it moved is not reported: the
 * evaluation read the row in its own transaction (under the run's lock on PostgreSQL), and on
 * PostgreSQL the update shares a round trip with the statement after it (pipelined).
 */
export async function scheduleTaskInstance(db: Db, id: number): Promise<void> {
  await scheduleQuery(db, { id, now: nowIso() });
}
const scheduleQuery = hotQuery<{ id: number; now: string }>(
  (db, p) =>
    db
      .updateTable("task_instance")
      .set({ state: "scheduled", state_reason: null, scheduled_dttm: p.v("now"), updated_at: p.v("now") })
      .where("id", "=", p.v("id"))
      .where(stateIn(UNDECIDED)),
  { pipelined: true },
);

/** none/up_for_retry → skipped or upstream_failed: its trigger rule can never pass (or removed: a
 *  mapped instance beyond what its shrunk upstream now gives). */
export async function decideTaskInstance(db: Db, id: number, state: "skipped" | "upstream_failed" | "removed", reason: string | null): Promise<boolean> {
  const now = nowIso();
  const r = await db
    .updateTable("task_instance")
    .set({ state, state_reason: reason, end_date: now, updated_at: now })
    .where("id", "=", id)
    .where(stateIn(UNDECIDED))
    .executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}

/** A branch or short-circuit decided these tasks of its run do not run. */
export async function skipTaskInstancesOfRun(db: Db, run: { dag_id: string; run_id: string }, taskIds: readonly string[], reason: string): Promise<number> {
  if (taskIds.length === 0) return 0;
  const now = nowIso();
  const r = await db
    .updateTable("task_instance")
    .set({ state: "skipped", state_reason: reason, end_date: now, updated_at: now })
    .where("dag_id", "=", run.dag_id)
    .where("run_id", "=", run.run_id)
    .where("task_id", "in", taskIds)
    .where(stateIn([null, "scheduled", "up_for_retry"]))
    .executeTakeFirst();
  return Number(r.numUpdatedRows);
}

/** Why a task still waits (for the API and status page); the state does not change. */
export async function noteWaitingReason(db: Db, id: number, reason: string | null): Promise<void> {
  await db.updateTable("task_instance").set({ state_reason: reason }).where("id", "=", id).execute();
}

/** queued → none: the claim cannot be run (its DAG or run is gone); the reason says why. */
export async function releaseClaim(db: Db, id: number, reason: string): Promise<boolean> {
  const r = await db
    .updateTable("task_instance")
    .set({ state: null, state_reason: reason, queued_by_job_id: null, updated_at: nowIso() })
    .where("id", "=", id)
    .where("state", "=", "queued")
    .executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}

/** queued → failed: a claim whose try the store refused to start (a constraint, a trigger): it ends
 *  with `reason` instead of being retried for ever. Returns whether the row was still queued. */
export async function failUnstartedTry(db: Db, id: number, reason: string): Promise<boolean> {
  const now = nowIso();
  const r = await db
    .updateTable("task_instance")
    .set({ state: "failed", state_reason: reason, end_date: now, queued_by_job_id: null, updated_at: now })
    .where("id", "=", id)
    .where("state", "=", "queued")
    .executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}

/** queued → scheduled: a claim whose job died before the try started; someone else takes it. */
export async function requeueClaim(db: Db, id: number, jobId: number | null): Promise<boolean> {
  const now = nowIso();
  let q = db
    .updateTable("task_instance")
    .set({ state: "scheduled", scheduled_dttm: now, queued_by_job_id: null, updated_at: now })
    .where("id", "=", id)
    .where("state", "=", "queued");
  q = jobId === null ? q.where("queued_by_job_id", "is", null) : q.where("queued_by_job_id", "=", jobId);
  const r = await q.executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}

export interface ClaimOptions {
  limit: number;
  /** The job claiming (its heartbeat vouches for the tries). */
  jobId: number | null;
  /** max_active_tasks of a DAG whose dag row says none ([core] max_active_tasks_per_dag). */
  defaultMaxActiveTasks: number;
  /** Claim only task instances of these runs (dag_run.id): `orch dags test` runs its own run only. */
  onlyRunIds?: readonly number[];
  /** A hand-off's claim of one try for the worker a finished try freed: asked about the try picked,
   *  it names who runs it (its worker reserved), and the try starts in the claim's own statement
   *  (scheduled -> running, queued_dttm stamped as a claim stamps it), one statement fewer per
   *  hop; undefined (no worker, its DAG or run gone): the try is only claimed, as without this. */
  startWith?: (picked: TaskInstanceRow) => Promise<{ hostname: string; pid: number } | undefined>;
}

type Candidate = TaskInstanceRow & { cap: number; active?: number };
/** The claim's candidates (variant: how many run ids narrow it, -1 for none; whether to lock rows;
 *  the window; whether the claim counts the slots again under a per-DAG lock, PostgreSQL's case,
 *  where the candidates' own count would be unused: leaving it out saved ~0.3 ms of planning and
 *  execution per claim; the dialect's name). */
const candidatesQuery = hotQuery<{ max: number; runIds: readonly number[] }, Candidate>((db, p, variant) => {
  const [runs, skipLocked, window, recount, dialect] = variant.split(" ");
  type Eb = import("kysely").ExpressionBuilder<Database & { ti: TaskInstanceTable }, "ti">;
  const activeOf = (eb: Eb) =>
    eb
      .selectFrom("task_instance as a")
      .select((e) => e.fn.countAll<number>().as("n"))
      .whereRef("a.dag_id", "=", "ti.dag_id")
      .where("a.state", "in", ACTIVE_STATES as string[]);
  const capOf = (eb: Eb) => eb.fn.coalesce(eb.selectFrom("dag as d").select("d.max_active_tasks").whereRef("d.dag_id", "=", "ti.dag_id"), eb.val(p.v("max")));
  // `+ 0` keeps the planner on the task_instance state index: filtering on dag_run.id's own index
  // would read every task instance of the named runs (1,000 for a 1,000-task fan-out) per claim.
  const ofRuns = Number(runs) >= 0 ? p.list("runIds", Number(runs)) : undefined;
  const runningRun = (eb: Eb) => {
    let r = eb
      .selectFrom("dag_run as dr")
      .select(sql.lit(1).as("one"))
      .whereRef("dr.dag_id", "=", "ti.dag_id")
      .whereRef("dr.run_id", "=", "ti.run_id")
      .where("dr.state", "=", "running");
    if (ofRuns) r = r.where(sql<number>`dr.id + 0`, "in", ofRuns);
    // OFFSET 0 keeps PostgreSQL from turning the EXISTS into a join (it then drove the claim from
    // dag_run, 100 running runs, and sorted their candidates: 16-19 ms per claim). SQLite runs an
    // EXISTS per row anyway, and takes no OFFSET without a LIMIT.
    return dialect === "postgres" ? r.offset(sql.lit(0)) : r;
  };
  // The run and the DAG are looked up per candidate (an EXISTS, a scalar subquery), not joined:
  // then nothing stands between the claim index's order and the limit, and both planners walk the
  // index and stop at the window. PostgreSQL hash-joined dag and dag_run, which loses the order,
  // so it filtered every scheduled row (the correlated count included) and sorted them all:
  // 2.4-3.8 ms per claim with 700-998 scheduled rows of a fan-out, quadratic over the fan-out.
  let q = db
    .selectFrom("task_instance as ti")
    .selectAll("ti")
    .select((eb) => (recount === "true" ? [capOf(eb).as("cap")] : [capOf(eb).as("cap"), activeOf(eb).as("active")]))
    .where("ti.state", "=", "scheduled")
    .where((eb) => eb.exists(runningRun(eb)))
    // Only DAGs with a free slot: a correlated count on the (state, dag_id) index, evaluated for the
    // few rows the claim index walks before the limit.
    .where((eb) => eb(activeOf(eb), "<", capOf(eb)))
    .orderBy("ti.priority_weight", "desc")
    .orderBy("ti.scheduled_dttm")
    .orderBy("ti.id")
    // A literal, not a parameter: SQLite ran this statement 4-6x slower (120 µs instead of 20-30
    // on a 1,000-task chain) with `limit ?`. The window takes few values (4 × the free slots).
    .limit(sql.lit(Number(window)));
  if (skipLocked === "true") q = q.modifyEnd(sql`for update of ti skip locked`);
  return q as unknown as import("kysely").Compilable<Candidate>;
});

/**
 * Claims up to `limit` scheduled task instances of running DAG runs for an executor: marks them
 * queued, stamps the claiming job, and returns them, in one transaction. Highest priority_weight
 * first, then oldest.
 *
 * `max_active_tasks` is counted in the SQL: candidates come only from DAGs with a free slot, so a
 * DAG at its cap never fills the candidate window and starves the others (it did when the window
 * was the top `limit × 4` rows regardless of DAG). Then, per DAG, the slots are counted again under
 * a per-DAG lock (src/store/locks.ts) so that two claimers on PostgreSQL cannot both take the last
 * slot. PostgreSQL: `FOR UPDATE OF ti SKIP LOCKED`, so two schedulers never claim the same row;
 * SQLite: the caller's BEGIN IMMEDIATE already excludes other writers.
 */
export async function claimScheduledTaskInstances(trx: Kysely<Database>, dialect: Dialect, opts: ClaimOptions): Promise<ClaimedTaskInstances> {
  if (opts.limit <= 0) return claimed([], false);
  if (opts.onlyRunIds && opts.onlyRunIds.length === 0) return claimed([], false);
  const runs = opts.onlyRunIds ? opts.onlyRunIds.length : -1;
  const candidates = (
    await candidatesQuery(trx, { max: opts.defaultMaxActiveTasks, runIds: opts.onlyRunIds ?? [] }, `${runs} ${dialect.supportsSkipLocked} ${opts.limit * 4} ${dialect.supportsAdvisoryLocks} ${dialect.name}`)
  ).rows;
  if (candidates.length === 0) return claimed([], false);

  const counts = new Map(candidates.map((c) => [c.dag_id, Number(c.active ?? 0)]));
  if (dialect.supportsAdvisoryLocks) {
    // Counted again after the per-DAG lock: another claimer's commit in between is now visible.
    // (SQLite's BEGIN IMMEDIATE already made the first count final.)
    const dagIds = [...counts.keys()];
    await lockDags(trx, dialect, "max_active_tasks", dagIds);
    const activeRows = await trx
      .selectFrom("task_instance")
      .select(["dag_id", (eb) => eb.fn.countAll<number>().as("n")])
      .where("dag_id", "in", dagIds)
      .where("state", "in", ACTIVE_STATES as string[])
      .groupBy("dag_id")
      .execute();
    for (const id of dagIds) counts.set(id, 0);
    for (const r of activeRows) counts.set(r.dag_id, Number(r.n));
  }

  const picked: TaskInstanceRow[] = [];
  for (const { cap, active: _active, ...c } of candidates) {
    if (picked.length >= opts.limit) break;
    const n = counts.get(c.dag_id) ?? 0;
    if (n >= Number(cap)) continue;
    counts.set(c.dag_id, n + 1);
    picked.push(c as TaskInstanceRow);
  }
  if (picked.length === 0) return claimed([], false);
  const more = picked.length === opts.limit && candidates.length > picked.length;
  const who = opts.startWith && picked.length === 1 ? await opts.startWith(picked[0]!) : undefined;
  const now = nowIso();
  if (who) {
    const p = picked[0]!;
    // The candidate was read in this transaction (SQLite's BEGIN IMMEDIATE; FOR UPDATE on
    // PostgreSQL): it is still scheduled, so the start cannot miss.
    const r = await claimAndStartQuery(trx, { id: p.id, now, hostname: who.hostname, pid: who.pid, jobId: opts.jobId });
    const tryNumber = r.rows[0]?.try_number ?? null;
    return { ...claimed([{ ...p, state: "queued", queued_dttm: now, queued_by_job_id: opts.jobId }], more), startedTryNumber: tryNumber };
  }
  await queueQuery(trx, { ids: picked.map((p) => p.id), now, jobId: opts.jobId }, String(picked.length));
  return claimed(
    picked.map((p) => ({ ...p, state: "queued", queued_dttm: now, queued_by_job_id: opts.jobId })),
    more,
  );
}

/** A claim's rows, and whether it left runnable ones behind: it took all it asked for and its
 *  candidate window held more (a hint for claiming ahead, not a count). */
export interface ClaimedTaskInstances {
  /** As claimed (queued by this job), also when started (see startedTryNumber). */
  claimed: TaskInstanceRow[];
  more: boolean;
  /** With startWith: the try number the one claimed try started at (running), or null if its
   *  row had moved on; absent when it was only claimed. */
  startedTryNumber?: number | null;
}
function claimed(rows: TaskInstanceRow[], more: boolean): ClaimedTaskInstances {
  return { claimed: rows, more };
}

/** queued → scheduled for claims this job made and will not start (claimed ahead, given back):
 *  their scheduled_dttm is kept, so they keep their place among equal priorities. */
export async function unclaim(db: Db, ids: readonly number[], jobId: number | null): Promise<number> {
  if (ids.length === 0) return 0;
  let q = db
    .updateTable("task_instance")
    .set({ state: "scheduled", queued_by_job_id: null, updated_at: nowIso() })
    .where("id", "in", [...ids])
    .where("state", "=", "queued");
  q = jobId === null ? q.where("queued_by_job_id", "is", null) : q.where("queued_by_job_id", "=", jobId);
  return Number((await q.executeTakeFirst()).numUpdatedRows);
}

const queueQuery = hotQuery<{ ids: number[]; now: string; jobId: number | null }>((db, p, n) =>
  db
    .updateTable("task_instance")
    .set({ state: "queued", queued_dttm: p.v("now"), updated_at: p.v("now"), queued_by_job_id: p.v("jobId") })
    .where("id", "in", p.list("ids", Number(n))),
);

/** queued → running: a new try begins. Returns the try number, or null if the row moved on. */
export async function startTry(db: Db, id: number, who: { hostname: string; pid: number; jobId: number | null }): Promise<number | null> {
  const r = await startQuery(db, { id, now: nowIso(), ...who });
  const row = r.rows[0];
  return row ? row.try_number : null;
}
type StartParams = { id: number; now: string; hostname: string; pid: number; jobId: number | null };
const startQuery = hotQuery<StartParams, { try_number: number }>((db, p) => startUpdate(db, p, p.v("id")));
/** scheduled -> running at once, stamped as a claim then a start would stamp it (claimScheduledTaskInstances' startWith). */
const claimAndStartQuery = hotQuery<StartParams, { try_number: number }>((db, p) =>
  db
    .updateTable("task_instance")
    .set((eb) => ({ ...startColumns(eb, p), queued_dttm: p.v("now") }))
    .where("id", "=", p.v("id"))
    .where("state", "=", "scheduled")
    .returning("try_number"),
);
/** queued -> running of the row `id` (a slot: the caller's parameter names it). */
function startUpdate(db: Pick<QueryCreator<Database>, "updateTable">, p: Slots<Omit<StartParams, "id">>, id: number) {
  return db
    .updateTable("task_instance")
    .set((eb) => startColumns(eb, p))
    .where("id", "=", id)
    .where("state", "=", "queued")
    .returning("try_number");
}

/** What a try's start writes (startUpdate, claimAndStartQuery). */
function startColumns(eb: import("kysely").ExpressionBuilder<Database, "task_instance">, p: Slots<Omit<StartParams, "id">>) {
  return {
    state: "running",
    // A try resuming after deferral (next_method set) or a reschedule is the same try.
    try_number: eb.case().when("next_method", "is", null).then(eb("try_number", "+", 1)).else(eb.ref("try_number")).end(),
    start_date: p.v("now"),
    end_date: null,
    duration: null,
    hostname: p.v("hostname"),
    pid: p.v("pid"),
    queued_by_job_id: p.v("jobId"),
    next_retry_at: null,
    state_reason: null,
    updated_at: p.v("now"),
  } as const;
}

export interface TryOutcome {
  state: "success" | "failed" | "skipped" | "up_for_retry";
  reason?: string | null;
  nextRetryAt?: string | null;
}

/**
 * running → an end state, and the try's history row, in the caller's transaction. Guarded: it
 * writes only when the row is still `running` at the try number `ti` holds (checked by the UPDATE
 * itself, so a clear or a recovery committed in between is never overwritten). Returns whether it
 * wrote; the caller writes nothing else of the try when it did not.
 */
export async function finishTry(db: Db, dialect: Dialect, ti: TaskInstanceRow, outcome: TryOutcome): Promise<boolean> {
  const now = nowIso();
  const duration = ti.start_date ? (Date.parse(now) - Date.parse(ti.start_date)) / 1000 : null;
  const params = { id: ti.id, tryNumber: ti.try_number, state: outcome.state, now, duration, reason: outcome.reason ?? null, nextRetryAt: outcome.nextRetryAt ?? null };
  // One statement where the dialect allows (the round trip saved is inside the outcome transaction
  // a chain's next task waits for); SQLite's statements cost no round trip.
  if (dialect.supportsDataModifyingCtes) return Number((await finishWithHistoryQuery(db, params)).numAffectedRows ?? 0) > 0;
  const r = await finishQuery(db, params);
  if (Number(r.numAffectedRows ?? 0) === 0) return false;
  await recordTryHistory(db, { ...ti, state: outcome.state, end_date: now, duration, state_reason: outcome.reason ?? null });
  return true;
}
type FinishParams = { id: number; tryNumber: number; state: string; now: string; duration: number | null; reason: string | null; nextRetryAt: string | null };
const finishQuery = hotQuery<FinishParams>((db, p) => finishUpdate(db, p));
/** The update and the history row its returned row becomes (under the task instance's id, not interrupted). */
const finishWithHistoryQuery = hotQuery<FinishParams>((db, p) =>
  db
    .with("u", (qb) => finishUpdate(qb, p).returning(["id", ...TRY_COLUMNS]))
    .insertInto("task_instance_history")
    .columns(["task_instance_id", ...TRY_COLUMNS, "interrupted"])
    .expression((eb) => eb.selectFrom("u").select(["id", ...TRY_COLUMNS]).select(sql<number>`0`.as("interrupted")))
    .onConflict(onHistoryConflict),
);

/**
 * A successful try's end and the start of the next try, in one statement (PostgreSQL's
 * data-modifying CTEs; no transaction around it, so none of its round trips): the finish and its
 * history row as finishTry writes them, the try's XComs (only if the finish wrote), and the next
 * task instance queued -> running as startTry moves it. The two task instances are independent:
 * the next try starts even when the finished one's row had moved on (a clear, a recovery), as it
 * would in the outcome's transaction. On the hot path of a busy worker: where a PostgreSQL
 * backfill's hop took 5 round trips (begin, finish, XComs, start, commit), it takes one. Without
 * a next try, the success and its XComs in one statement (in the outcome's transaction).
 */
export async function finishSuccessAndStart(
  db: Db,
  ti: TaskInstanceRow,
  xcoms: { dagRunId: number; entries: readonly { key: string; value: unknown }[] },
  next: { id: number; hostname: string; pid: number; jobId: number | null } | undefined,
): Promise<{ finished: boolean; tryNumber: number | null }> {
  const now = nowIso();
  const duration = ti.start_date ? (Date.parse(now) - Date.parse(ti.start_date)) / 1000 : null;
  const { keys, values } = xcomColumns(xcoms.entries);
  const r = await finishAndStartQuery(db, {
    id: ti.id, tryNumber: ti.try_number, state: "success", now, duration, reason: null, nextRetryAt: null,
    dagRunId: xcoms.dagRunId, keys, values,
    // No next try: an id no row has (ids start at 1), so the start writes nothing.
    nextId: next?.id ?? 0, hostname: next?.hostname ?? "", pid: next?.pid ?? 0, jobId: next?.jobId ?? null,
  });
  const row = r.rows[0];
  return { finished: Number(row?.finished ?? 0) > 0, tryNumber: row?.started ?? null };
}
type FinishAndStartParams = FinishParams & { dagRunId: number; keys: string[]; values: string[]; nextId: number; hostname: string; pid: number; jobId: number | null };
const finishAndStartQuery = hotQuery<FinishAndStartParams, { finished: number | string; started: number | null }>((db, p) =>
  db
    .with("u", (qb) => finishUpdate(qb, p).returning(["id", ...TRY_COLUMNS]))
    .with("h", (qb) =>
      qb
        .insertInto("task_instance_history")
        .columns(["task_instance_id", ...TRY_COLUMNS, "interrupted"])
        .expression((eb) => eb.selectFrom("u").select(["id", ...TRY_COLUMNS]).select(sql<number>`0`.as("interrupted")))
        .onConflict(onHistoryConflict),
    )
    // One row per key from u's row, if there is one (unnest's arrays zip in a select list).
    .with("x", (qb) =>
      qb
        .insertInto("xcom")
        .columns(["dag_run_id", "task_id", "map_index", "key", "dag_id", "run_id", "value", "timestamp"])
        .expression((eb) =>
          eb
            .selectFrom("u")
            .select((e) => [
              sql<number>`${p.v("dagRunId")}::int4`.as("dag_run_id"),
              "u.task_id",
              "u.map_index",
              sql<string>`unnest(${p.v("keys")}::text[])`.as("key"),
              "u.dag_id",
              "u.run_id",
              sql<string>`unnest(${p.v("values")}::text[])`.as("value"),
              e.val(p.v("now")).as("timestamp"),
            ]),
        )
        .onConflict(onXcomConflict),
    )
    .with("s", (qb) => startUpdate(qb, p, p.v("nextId")))
    .selectNoFrom((eb) => [eb.selectFrom("u").select(eb.fn.countAll().as("n")).as("finished"), eb.selectFrom("s").select("try_number").as("started")]),
);

function finishUpdate(db: Pick<QueryCreator<Database>, "updateTable">, p: Slots<FinishParams>) {
  return db
    .updateTable("task_instance")
    .set({
      state: p.v("state"),
      end_date: p.v("now"),
      duration: p.v("duration"),
      state_reason: p.v("reason"),
      next_retry_at: p.v("nextRetryAt"),
      // The try is over: a retry starts from the task's beginning, not a deferred method.
      next_method: null,
      next_kwargs: null,
      updated_at: p.v("now"),
    })
    .where("id", "=", p.v("id"))
    .where("state", "=", "running")
    .where("try_number", "=", p.v("tryNumber"));
}

/**
 * restarting → none: the try that was running when the task instance was cleared has ended (it
 * was terminated); its outcome is discarded and the scheduler runs the task again as a new try.
 */
export async function finishRestartedTry(db: Db, ti: TaskInstanceRow, reason: string): Promise<boolean> {
  const now = nowIso();
  const duration = ti.start_date ? (Date.parse(now) - Date.parse(ti.start_date)) / 1000 : null;
  const r = await db
    .updateTable("task_instance")
    .set({ state: null, start_date: null, end_date: null, duration: null, state_reason: reason, queued_by_job_id: null, updated_at: now })
    .where("id", "=", ti.id)
    .where("state", "=", "restarting")
    .where("try_number", "=", ti.try_number)
    .executeTakeFirst();
  if (Number(r.numUpdatedRows) === 0) return false;
  await recordTryHistory(db, { ...ti, state: "restarting", end_date: now, duration, state_reason: reason });
  return true;
}

/**
 * A try lost with its scheduler (the job's heartbeat stopped, or its process is gone): recorded as
 * interrupted, and the task instance goes back to `scheduled` for a new try without spending one of
 * its retries (max_tries moves up by one). Guarded on state and try number like finishTry.
 */
export async function interruptTry(db: Db, ti: TaskInstanceRow, reason: string): Promise<boolean> {
  const now = nowIso();
  const r = await db
    .updateTable("task_instance")
    .set((eb) => ({
      state: "scheduled",
      scheduled_dttm: now,
      end_date: now,
      state_reason: reason,
      queued_by_job_id: null,
      max_tries: eb("max_tries", "+", 1),
      updated_at: now,
    }))
    .where("id", "=", ti.id)
    .where("state", "=", "running")
    .where("try_number", "=", ti.try_number)
    .executeTakeFirst();
  if (Number(r.numUpdatedRows) === 0) return false;
  const duration = ti.start_date ? (Date.parse(now) - Date.parse(ti.start_date)) / 1000 : null;
  await recordTryHistory(db, { ...ti, state: "up_for_retry", end_date: now, duration, state_reason: reason }, { interrupted: true });
  return true;
}

/** How many of this task instance's tries were interrupted (bounded by [scheduler] max_interrupted_tries). */
export async function countInterruptedTries(db: Db, tiId: number): Promise<number> {
  const r = await db
    .selectFrom("task_instance_history")
    .select((eb) => eb.fn.countAll<number>().as("n"))
    .where("task_instance_id", "=", tiId)
    .where("interrupted", "=", 1)
    .executeTakeFirstOrThrow();
  return Number(r.n);
}

/** Which of these task instances were cleared while their try ran (state `restarting`). */
export async function listRestarting(db: Db, ids: readonly number[]): Promise<{ id: number; try_number: number }[]> {
  if (ids.length === 0) return [];
  return db.selectFrom("task_instance").select(["id", "try_number"]).where("id", "in", ids).where("state", "=", "restarting").execute();
}

/** Unfinished claims (queued, running, restarting) whose job is not running: it was declared dead,
 *  or it ended without finishing them. */
export async function listOrphanedClaims(db: Db): Promise<TaskInstanceRow[]> {
  return db
    .selectFrom("task_instance as ti")
    .leftJoin("job as j", "j.id", "ti.queued_by_job_id")
    .selectAll("ti")
    .where("ti.state", "in", ["queued", "running", "restarting"])
    .where("ti.queued_by_job_id", "is not", null)
    .where((eb) => eb.or([eb("j.id", "is", null), eb("j.state", "<>", "running")]))
    .execute();
}

export async function recordTryHistory(db: Db, ti: TaskInstanceRow, opts: { interrupted?: boolean } = {}): Promise<void> {
  if (ti.try_number < 1) return;
  await historyQuery(db, { ...ti, interrupted: opts.interrupted ? 1 : 0 });
}
const historyQuery = hotQuery<TaskInstanceRow & { interrupted: number }>((db, p) => {
  const v = p.v;
  return db
    .insertInto("task_instance_history")
    .values({
      task_instance_id: v("id"),
      dag_id: v("dag_id"),
      run_id: v("run_id"),
      task_id: v("task_id"),
      map_index: v("map_index"),
      try_number: v("try_number"),
      max_tries: v("max_tries"),
      state: v("state"),
      start_date: v("start_date"),
      end_date: v("end_date"),
      duration: v("duration"),
      hostname: v("hostname"),
      pid: v("pid"),
      operator: v("operator"),
      state_reason: v("state_reason"),
      interrupted: v("interrupted"),
    })
    .onConflict(onHistoryConflict);
});

/** The task instance's columns a history row copies (besides its id, as task_instance_id). */
const TRY_COLUMNS = ["dag_id", "run_id", "task_id", "map_index", "try_number", "max_tries", "state", "start_date", "end_date", "duration", "hostname", "pid", "operator", "state_reason"] as const;

/** A try's history row written again (a try ended after a recovery recorded it) takes the new end. */
function onHistoryConflict(oc: OnConflictBuilder<Database, "task_instance_history">) {
  return oc.columns(["dag_id", "run_id", "task_id", "map_index", "try_number"]).doUpdateSet((eb) => ({
    state: eb.ref("excluded.state"),
    end_date: eb.ref("excluded.end_date"),
    duration: eb.ref("excluded.duration"),
    state_reason: eb.ref("excluded.state_reason"),
    interrupted: eb.ref("excluded.interrupted"),
  }));
}

/** Unfinished claims that name no job (made before claims carried one): judged by host and pid. */
export async function listClaimsWithoutJob(db: Db): Promise<TaskInstanceRow[]> {
  return db.selectFrom("task_instance").selectAll().where("state", "in", ["running", "queued", "restarting"]).where("queued_by_job_id", "is", null).execute();
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
 *  try_number + retries so a cleared task gets its full retries again. A running one becomes
 *  `restarting` instead: its scheduler terminates the try, discards its outcome and runs it anew. */
export async function clearTaskInstances(db: Db, items: readonly { id: number; retries: number }[]): Promise<number> {
  const now = nowIso();
  let n = 0;
  for (const it of items) {
    const r = await db
      .updateTable("task_instance")
      .set((eb) => ({
        state: eb.case().when("state", "in", ["running", "restarting"]).then(sql.lit("restarting")).else(null).end(),
        end_date: null,
        start_date: eb.case().when("state", "in", ["running", "restarting"]).then(eb.ref("start_date")).else(null).end(),
        duration: null,
        next_retry_at: null,
        // A cleared deferred task starts over: no trigger, no method to resume in.
        next_method: null,
        next_kwargs: null,
        trigger_id: null,
        trigger_timeout: null,
        state_reason: eb.case().when("state", "in", ["running", "restarting"]).then(sql.lit("cleared while running: the running try is being terminated")).else(null).end(),
        updated_at: now,
        max_tries: eb("try_number", "+", it.retries),
      }))
      .where("id", "=", it.id)
      .executeTakeFirst();
    n += Number(r.numUpdatedRows);
  }
  return n;
}

/** What the scheduler's evaluation needs of a task instance. */
export interface TaskInstanceBrief {
  id: number;
  task_id: string;
  map_index: number;
  state: string | null;
  next_retry_at: string | null;
  state_reason: string | null;
}

/** A run's task instances (or only `taskIds` of them), in brief. */
export async function listRunTaskBriefs(db: Db, run: { dag_id: string; run_id: string }, taskIds?: readonly string[]): Promise<TaskInstanceBrief[]> {
  return (await briefsQuery(db, { dagId: run.dag_id, runId: run.run_id, taskIds: taskIds ?? [] }, String(taskIds ? taskIds.length : -1))).rows;
}
/** Variant: how many task ids narrow it (-1: the whole run). */
const briefsQuery = hotQuery<{ dagId: string; runId: string; taskIds: readonly string[] }, TaskInstanceBrief>((db, p, n) => {
  let q = db
    .selectFrom("task_instance")
    .select(["id", "task_id", "map_index", "state", "next_retry_at", "state_reason"])
    .where("dag_id", "=", p.v("dagId"))
    .where("run_id", "=", p.v("runId"));
  if (Number(n) >= 0) q = q.where("task_id", "in", p.list("taskIds", Number(n)));
  return q;
});

/**
 * listRunTaskBriefs of some tasks, and the run's state read in the same statement (a round trip
 * less per hand-off on PostgreSQL than reading it first). undefined state: no row matched, so the
 * run's state was not read.
 */
export async function listRunTaskBriefsWithRunState(
  db: Db,
  run: { id: number; dag_id: string; run_id: string },
  taskIds: readonly string[],
): Promise<{ rows: TaskInstanceBrief[]; runState: string | undefined }> {
  const rows = (await briefsWithRunStateQuery(db, { dagRunId: run.id, dagId: run.dag_id, runId: run.run_id, taskIds }, String(taskIds.length))).rows;
  const runState = rows[0]?.run_state;
  return { rows: rows.map(({ run_state: _, ...b }) => b), runState: runState ?? undefined };
}
const briefsWithRunStateQuery = hotQuery<{ dagRunId: number; dagId: string; runId: string; taskIds: readonly string[] }, TaskInstanceBrief & { run_state: string | null }>((db, p, n) =>
  db
    .selectFrom("task_instance")
    .select(["id", "task_id", "map_index", "state", "next_retry_at", "state_reason"])
    .select((eb) => eb.selectFrom("dag_run").select("dag_run.state").where("dag_run.id", "=", p.v("dagRunId")).as("run_state"))
    .where("dag_id", "=", p.v("dagId"))
    .where("run_id", "=", p.v("runId"))
    .where("task_id", "in", p.list("taskIds", Number(n))),
);

/**
 * How many of these tasks' instances in a run are in each state: one aggregate, for a task with many
 * upstreams (a fan-in's readiness check reads one row per state, not one per upstream). The task
 * ids travel as one JSON array (SQLite's json_each, PostgreSQL's = any of a text array), so the
 * statement's text, its compilation and its prepared form are the same whatever the count.
 */
export async function countRunTaskStates(db: Db, dialect: Dialect, run: { dag_id: string; run_id: string }, taskIds: readonly string[]): Promise<{ state: string | null; n: number }[]> {
  const rows = await db
    .selectFrom("task_instance")
    .select(["state", (eb) => eb.fn.countAll<number>().as("n")])
    .where("dag_id", "=", run.dag_id)
    .where("run_id", "=", run.run_id)
    .where(dialect.inList("task_id", taskIds, "text"))
    .groupBy("state")
    .execute();
  return rows.map((r) => ({ state: r.state, n: Number(r.n) }));
}

/** The set of states a run's task instances are in: one aggregate, not a row per task. */
export async function distinctRunStates(db: Db, run: { dag_id: string; run_id: string }): Promise<(string | null)[]> {
  const rows = await db.selectFrom("task_instance").select("state").distinct().where("dag_id", "=", run.dag_id).where("run_id", "=", run.run_id).execute();
  return rows.map((r) => r.state);
}

/** A person sets task instances' state (Airflow's set_task_instance_state, "mark success/failed"):
 *  final, with a reason saying who. A running try's own outcome is then discarded by finishTry's
 *  guard (its state is no longer `running`). */
export async function markTaskInstancesByUser(db: Db, ids: readonly number[], state: "success" | "failed" | "skipped", reason: string): Promise<number> {
  if (ids.length === 0) return 0;
  const now = nowIso();
  const r = await db
    .updateTable("task_instance")
    .set({ state, state_reason: reason, end_date: now, updated_at: now, next_retry_at: null })
    .where("id", "in", [...ids])
    .executeTakeFirst();
  return Number(r.numUpdatedRows);
}

/** Stores a try's templated fields as rendered (already masked; Airflow's rendered_task_instance_fields,
 *  kept here on the task instance: the latest try's values, as Airflow keeps one row per instance). */
export async function setRenderedFields(db: Db, tiId: number, fields: Record<string, unknown>): Promise<void> {
  await db.updateTable("task_instance").set({ rendered_fields: JSON.stringify(fields) }).where("id", "=", tiId).execute();
}

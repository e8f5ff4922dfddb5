// SQL for dag_run (and the task instances a new run starts with). Deciding what to create and when
// is the scheduler's job; these functions only read and write.
import { hotQuery } from "./hot-query.ts";
import type { Kysely } from "kysely";
import { OrchError } from "../errors.ts";
import type { Dialect } from "./dialect.ts";
import { lockDags } from "./locks.ts";
import type { Db } from "./open.ts";
import type { Database, DagRunRow } from "./schema.ts";
import { nowIso } from "./schema.ts";

export type RunType = "scheduled" | "manual" | "backfill" | "asset_triggered";
export type DagRunState = "queued" | "running" | "success" | "failed";
export const DAG_RUN_STATES: readonly DagRunState[] = ["queued", "running", "success", "failed"];

/** What a new run needs to know about each task (from the serialized DAG). */
export interface TaskSeed {
  task_id: string;
  retries: number;
  priority_weight: number;
  operator: string;
}

export interface NewRun {
  dag_id: string;
  run_id: string;
  run_type: RunType;
  logical_date: string | null;
  data_interval_start: string | null;
  data_interval_end: string | null;
  run_after: string;
  conf: Record<string, unknown>;
  triggered_by: string;
  backfill_id?: number | null;
  state?: DagRunState;
}

/** Python's datetime.isoformat() of a UTC instant, as Airflow writes it into run ids. */
export function pyIsoformat(iso: string): string {
  const d = new Date(iso);
  const base = d.toISOString().slice(0, 19);
  const ms = d.getUTCMilliseconds();
  return `${base}${ms ? `.${String(ms * 1000).padStart(6, "0")}` : ""}+00:00`;
}

/** Airflow's DagRun.generate_run_id: `manual__2024-01-01T00:00:00+00:00`. */
export function generateRunId(runType: RunType, logicalDate: string | null, runAfter: string): string {
  if (logicalDate) return `${runType}__${pyIsoformat(logicalDate)}`;
  return `${runType}__${pyIsoformat(runAfter)}_${Math.random().toString(36).slice(2, 10)}`;
}

/** Inserts the run and one task instance per task, in one transaction. */
export async function createDagRun(trx: Kysely<Database>, run: NewRun, tasks: readonly TaskSeed[]): Promise<DagRunRow> {
  const clash = await trx
    .selectFrom("dag_run")
    .select(["run_id", "logical_date"])
    .where("dag_id", "=", run.dag_id)
    .where((eb) =>
      run.logical_date === null
        ? eb("run_id", "=", run.run_id)
        : eb.or([eb("run_id", "=", run.run_id), eb("logical_date", "=", run.logical_date)]),
    )
    .executeTakeFirst();
  if (clash) {
    throw new OrchError(
      "ORCH_ALREADY_EXISTS",
      clash.run_id === run.run_id
        ? `DAG run ${run.run_id} of ${run.dag_id} already exists`
        : `DAG ${run.dag_id} already has a run with logical date ${run.logical_date} (${clash.run_id})`,
      { dag_id: run.dag_id, run_id: run.run_id },
    );
  }
  const now = nowIso();
  const row = await trx
    .insertInto("dag_run")
    .values({
      dag_id: run.dag_id,
      run_id: run.run_id,
      logical_date: run.logical_date,
      data_interval_start: run.data_interval_start,
      data_interval_end: run.data_interval_end,
      run_after: run.run_after,
      queued_at: now,
      start_date: null,
      end_date: null,
      state: run.state ?? "queued",
      run_type: run.run_type,
      conf: JSON.stringify(run.conf ?? {}),
      triggered_by: run.triggered_by,
      last_scheduling_decision: null,
      backfill_id: run.backfill_id ?? null,
      note: null,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
  // Chunked: SQLite caps bound parameters per statement.
  for (let i = 0; i < tasks.length; i += 50) {
    await trx
      .insertInto("task_instance")
      .values(
        tasks.slice(i, i + 50).map((t) =>
          newTaskInstanceRow({ dag_id: run.dag_id, run_id: run.run_id, task_id: t.task_id, map_index: -1, retries: t.retries, priority_weight: t.priority_weight, operator: t.operator, state: null, scheduled_dttm: null, now }),
        ),
      )
      .execute();
  }
  return row;
}

export async function getDagRun(db: Db, dagId: string, runId: string): Promise<DagRunRow | undefined> {
  return db.selectFrom("dag_run").selectAll().where("dag_id", "=", dagId).where("run_id", "=", runId).executeTakeFirst();
}

/** A run's state alone (a run's other columns do not change while it runs; its state may). */
export async function getDagRunState(db: Db, id: number): Promise<string | undefined> {
  return (await stateQuery(db, { id })).rows[0]?.state;
}
const stateQuery = hotQuery<{ id: number }, { state: string }>((db, p) => db.selectFrom("dag_run").select("state").where("id", "=", p.v("id")));

export async function getDagRunById(db: Db, id: number): Promise<DagRunRow | undefined> {
  return db.selectFrom("dag_run").selectAll().where("id", "=", id).executeTakeFirst();
}

export async function listDagRuns(
  db: Db,
  filter: { dagId?: string; state?: string; startDate?: string; endDate?: string; limit?: number } = {},
): Promise<DagRunRow[]> {
  let q = db.selectFrom("dag_run").selectAll();
  if (filter.dagId) q = q.where("dag_id", "=", filter.dagId);
  if (filter.state) q = q.where("state", "=", filter.state);
  if (filter.startDate) q = q.where("logical_date", ">=", filter.startDate);
  if (filter.endDate) q = q.where("logical_date", "<=", filter.endDate);
  return q.orderBy("run_after", "desc").orderBy("id", "desc").limit(filter.limit ?? 1000).execute();
}

/** Runs the scheduler must look after: queued and running. */
export async function listActiveDagRuns(db: Db): Promise<DagRunRow[]> {
  return db.selectFrom("dag_run").selectAll().where("state", "in", ["queued", "running"]).orderBy("run_after").orderBy("id").execute();
}

/** What a scheduler step lists: running runs and queued runs not of a backfill, leaving out the
 *  runs of paused DAGs except a backfill's (which go on while their DAG is paused, as in Airflow 3).
 *  A backfill's queued runs are left to its gate, which reads only the next few it may start
 *  (nextQueuedBackfillRuns): a 10-year daily backfill keeps 3,650 runs queued, and listing them
 *  every step cost 20-75 ms a step on either store. One statement: the paused DAGs were a second
 *  one a step. */
export async function listRunsToSchedule(db: Db): Promise<DagRunRow[]> {
  return db
    .selectFrom("dag_run")
    .selectAll("dag_run")
    .where((eb) => eb.or([eb("dag_run.state", "=", "running"), eb.and([eb("dag_run.state", "=", "queued"), eb("dag_run.backfill_id", "is", null)])]))
    .where((eb) =>
      eb.or([
        eb("dag_run.backfill_id", "is not", null),
        eb.not(eb.exists(eb.selectFrom("dag").select("dag.dag_id").whereRef("dag.dag_id", "=", "dag_run.dag_id").where("dag.is_paused", "=", 1))),
      ]),
    )
    .orderBy("dag_run.run_after")
    .orderBy("dag_run.id")
    .execute();
}

export async function countActiveRuns(db: Db, dagId: string): Promise<{ queued: number; running: number }> {
  const rows = await db
    .selectFrom("dag_run")
    .select(["state", (eb) => eb.fn.countAll<number>().as("n")])
    .where("dag_id", "=", dagId)
    .where("state", "in", ["queued", "running"])
    // Backfill runs count against their backfill's max_active_runs, not the DAG's (Airflow 3's exclude_backfill).
    .where("backfill_id", "is", null)
    .groupBy("state")
    .execute();
  const get = (s: string) => Number(rows.find((r) => r.state === s)?.n ?? 0);
  return { queued: get("queued"), running: get("running") };
}

export async function markDagRunRunning(db: Db, id: number): Promise<void> {
  await db
    .updateTable("dag_run")
    .set({ state: "running", start_date: nowIso() })
    .where("id", "=", id)
    .where("state", "=", "queued")
    .execute();
}

/** Ends a run still queued or running; false when it had already ended (another evaluation, in
 *  another transaction, got there first: under READ COMMITTED this UPDATE waits for its commit and
 *  then finds the row ended). */
export async function finishDagRun(db: Db, id: number, state: "success" | "failed"): Promise<boolean> {
  const r = await db
    .updateTable("dag_run")
    .set({ state, end_date: nowIso(), last_scheduling_decision: nowIso() })
    .where("id", "=", id)
    .where("state", "in", ["queued", "running"])
    .executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}

/** Puts a finished run back to queued (tasks were cleared), as Airflow does on clear. */
export async function requeueDagRun(db: Db, id: number): Promise<void> {
  await db
    .updateTable("dag_run")
    .set((eb) => ({ state: "queued", end_date: null, start_date: null, clear_number: eb("clear_number", "+", 1) }))
    .where("id", "=", id)
    .execute();
}

/** The latest scheduled run: where the timetable continues from (backfills and manual runs do not move it). */
export async function lastAutomatedRun(db: Db, dagId: string): Promise<DagRunRow | undefined> {
  return db
    .selectFrom("dag_run")
    .selectAll()
    .where("dag_id", "=", dagId)
    .where("run_type", "=", "scheduled")
    .where("logical_date", "is not", null)
    .orderBy("logical_date", "desc")
    .limit(1)
    .executeTakeFirst();
}

/** A run by logical date (Airflow's LOGICAL_DATE_OR_RUN_ID, `tasks test`). */
export async function getDagRunByLogicalDate(db: Db, dagId: string, logicalDate: string): Promise<DagRunRow | undefined> {
  return db.selectFrom("dag_run").selectAll().where("dag_id", "=", dagId).where("logical_date", "=", logicalDate).executeTakeFirst();
}

export type ScheduledRunResult =
  | { kind: "created"; run: DagRunRow }
  /** max_active_runs reached: no run created; a finished run wakes the scheduler. */
  | { kind: "at_limit" }
  /** Another run (a manual one, say) holds the logical date. */
  | { kind: "taken"; runId: string };

/**
 * Creates a scheduled run when the DAG is below max_active_runs and the logical date is free: the
 * count, the clash check and the insert in one transaction, serialised per DAG on PostgreSQL, so two
 * schedulers cannot both create the run that exceeds the limit.
 */
export async function createScheduledRun(
  trx: Kysely<Database>,
  dialect: Dialect,
  run: NewRun,
  tasks: readonly TaskSeed[],
  maxActiveRuns: number,
): Promise<ScheduledRunResult> {
  await lockDags(trx, dialect, "max_active_runs", [run.dag_id]);
  const active = await countActiveRuns(trx, run.dag_id);
  if (active.queued + active.running >= maxActiveRuns) return { kind: "at_limit" };
  if (run.logical_date !== null) {
    const taken = await getDagRunByLogicalDate(trx, run.dag_id, run.logical_date);
    if (taken) return { kind: "taken", runId: taken.run_id };
  }
  return { kind: "created", run: await createDagRun(trx, run, tasks) };
}

/**
 * queued → running when the DAG has fewer than `maxActiveRuns` running runs (null: no limit, for
 * `dags test`). Count and write in the caller's transaction, serialised per DAG on PostgreSQL.
 * Returns whether the run is running now.
 */
export async function startDagRunWithinLimit(trx: Kysely<Database>, dialect: Dialect, run: DagRunRow, maxActiveRuns: number | null): Promise<boolean> {
  if (maxActiveRuns !== null) {
    await lockDags(trx, dialect, "max_active_runs", [run.dag_id]);
    const active = await countActiveRuns(trx, run.dag_id);
    if (active.running >= maxActiveRuns) return false;
  }
  const r = await trx
    .updateTable("dag_run")
    .set({ state: "running", start_date: nowIso() })
    .where("id", "=", run.id)
    .where("state", "=", "queued")
    .executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}

/** The row of a task instance not yet tried: the one place its many columns start out. */
export function newTaskInstanceRow(o: {
  dag_id: string;
  run_id: string;
  task_id: string;
  map_index: number;
  retries: number;
  priority_weight: number;
  operator: string;
  state: "scheduled" | null;
  scheduled_dttm: string | null;
  now: string;
}) {
  return {
    dag_id: o.dag_id,
    run_id: o.run_id,
    task_id: o.task_id,
    map_index: o.map_index,
    try_number: 0,
    max_tries: o.retries,
    state: o.state,
    start_date: null,
    end_date: null,
    duration: null,
    hostname: null,
    pid: null,
    queue: "default",
    pool: "default_pool",
    priority_weight: o.priority_weight,
    operator: o.operator,
    scheduled_dttm: o.scheduled_dttm,
    queued_dttm: null,
    next_retry_at: null,
    next_method: null,
    next_kwargs: null,
    trigger_id: null,
    trigger_timeout: null,
    state_reason: null,
    rendered_fields: null,
    updated_at: o.now,
  };
}

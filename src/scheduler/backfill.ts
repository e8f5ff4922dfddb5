// Backfills (Airflow 3's models/backfill.py): a backfill is a record the scheduler works through.
// Creating one queues a run for each date of the DAG's timetable in [from, to] whose data
// interval has ended, in one transaction; the scheduler then starts those runs in sort order,
// at most the backfill's own max_active_runs at a time, apart from the DAG's max_active_runs and
// even while the DAG is paused (as Airflow 3 does).
//
// A date that already has a run of this DAG is decided by that run (Airflow's
// _get_dag_run_no_create_reason):
//   queued/running                    -> skipped, "in flight"
//   finished, reprocess "none"        -> skipped, "already exists"
//   success,  reprocess "failed"      -> skipped, "already exists"
//   failed,   reprocess "failed"      -> cleared and re-queued as part of the backfill
//   finished, reprocess "completed"   -> cleared and re-queued as part of the backfill
import { OrchError } from "../errors.ts";
import { createTimetable, iterateDagRunInfos } from "../timetables/index.ts";
import type { DagRunInfo } from "../timetables/types.ts";
import {
  cancelBackfillRuns,
  completeFinishedBackfills,
  countActiveBackfills,
  getBackfill,
  insertBackfill,
  insertBackfillDagRuns,
  insertBackfillRuns,
  isUniqueViolation,
  listActiveBackfills,
  listRunsInRange,
  lockDagForBackfill,
  nextQueuedBackfillRuns,
  requeueRunForBackfill,
  type BackfillRow,
  type ReprocessBehavior,
} from "../store/backfills.ts";
import { generateRunId, pyIsoformat, type NewRun } from "../store/dag-runs.ts";
import type { Db, Store } from "../store/index.ts";
import type { DagRunRow } from "../store/schema.ts";
import { nowIso } from "../store/schema.ts";
import type { SchedulableDag } from "./dag-bag.ts";
import { resolveParams, taskSeeds } from "./run-creation.ts";

export const DEFAULT_BACKFILL_MAX_ACTIVE_RUNS = 10;

export interface BackfillRequest {
  fromDate: Date;
  toDate: Date;
  reprocessBehavior?: ReprocessBehavior;
  maxActiveRuns?: number;
  runBackwards?: boolean;
  /** Conf for every run; null/undefined leaves a re-queued run's conf as it was (new runs get {}). */
  dagRunConf?: Record<string, unknown> | null;
  now?: Date;
}

export type SkipReason = "in flight" | "already exists";

export type DateDecision =
  | { action: "create" }
  | { action: "clear"; run: DagRunRow }
  | { action: "skip"; reason: SkipReason; run: DagRunRow };

export interface PlannedDate {
  info: DagRunInfo;
  logicalDate: string;
  sortOrdinal: number;
  decision: DateDecision;
}

/** What the latest run of a date means for a backfill with this reprocess behaviour. */
export function decideDate(existing: Pick<DagRunRow, "state"> | undefined, behavior: ReprocessBehavior): { action: "create" } | { action: "clear" } | { action: "skip"; reason: SkipReason } {
  if (!existing) return { action: "create" };
  if (existing.state !== "success" && existing.state !== "failed") return { action: "skip", reason: "in flight" };
  if (behavior === "none") return { action: "skip", reason: "already exists" };
  if (behavior === "failed" && existing.state !== "failed") return { action: "skip", reason: "already exists" };
  return { action: "clear" };
}

/** Airflow's _validate_backfill_params and the schedule check; throws the refusal. */
export function validateBackfill(d: SchedulableDag, req: BackfillRequest): void {
  const dagId = d.dag.dag_id;
  if (!createTimetable(d.dag.timetable).periodic) {
    throw new OrchError("ORCH_BACKFILL_NON_PERIODIC", `${dagId} has a non-periodic schedule that does not support backfills`, { dag_id: dagId });
  }
  if (req.fromDate > req.toDate) {
    throw new OrchError("ORCH_BACKFILL_INVALID_DATES", `from_date (${pyIsoformat(req.fromDate.toISOString())}) must not be after to_date (${pyIsoformat(req.toDate.toISOString())}).`, { flag: "--from-date" });
  }
  const now = req.now ?? new Date();
  if (req.fromDate >= now && req.toDate >= now) {
    throw new OrchError("ORCH_BACKFILL_INVALID_DATES", "Backfill cannot be executed for future dates.", { flag: "--from-date" });
  }
  const max = req.maxActiveRuns ?? DEFAULT_BACKFILL_MAX_ACTIVE_RUNS;
  if (!Number.isInteger(max) || max < 1) {
    throw new OrchError("ORCH_USAGE", `--max-active-runs must be a positive whole number, got ${max}`, { flag: "--max-active-runs" });
  }
  // Airflow's _validate_backfill_params: runs of a depends_on_past DAG wait on the run before them,
  // so newest-first cannot work, and skipping the completed runs would leave gaps to wait on.
  if (d.dag.tasks.some((t) => t.depends_on_past)) {
    if (req.runBackwards) {
      throw new OrchError("ORCH_BACKFILL_INVALID_DIRECTION", "Backfill cannot be run in reverse when the Dag has tasks where depends_on_past=True.", { flag: "--run-backwards", dag_id: dagId });
    }
    if ((req.reprocessBehavior ?? "none") === "none") {
      throw new OrchError(
        "ORCH_BACKFILL_INVALID_REPROCESS",
        "Dag has tasks for which depends_on_past=True. You must set reprocess behavior to reprocess completed or reprocess failed.",
        { flag: "--reprocess-behavior", dag_id: dagId },
      );
    }
  }
  if (req.dagRunConf) resolveParams(d, req.dagRunConf);
}

/** The dates to attempt, in run order: the timetable's runs with logical date in [from, to]
 *  (both included, within the DAG's start/end dates) whose data interval has ended. */
export function backfillCandidates(d: SchedulableDag, req: BackfillRequest): DagRunInfo[] {
  const now = req.now ?? new Date();
  const timetable = createTimetable(d.dag.timetable);
  const restriction = {
    earliest: d.dag.start_date ? new Date(d.dag.start_date) : null,
    latest: d.dag.end_date ? new Date(d.dag.end_date) : null,
    catchup: true,
  };
  const out: DagRunInfo[] = [];
  for (const info of iterateDagRunInfos(timetable, { start: req.fromDate, end: req.toDate, restriction })) {
    if (info.logicalDate > req.toDate) break;
    if (info.dataInterval.end < now) out.push(info);
  }
  return req.runBackwards ? out.reverse() : out;
}

function plan(infos: readonly DagRunInfo[], existing: readonly DagRunRow[], behavior: ReprocessBehavior): PlannedDate[] {
  const byDate = new Map(existing.map((r) => [r.logical_date, r]));
  return infos.map((info, i) => {
    const logicalDate = info.logicalDate.toISOString();
    const run = byDate.get(logicalDate);
    const dec = decideDate(run, behavior);
    const decision: DateDecision = dec.action === "create" ? { action: "create" } : dec.action === "clear" ? { action: "clear", run: run! } : { action: "skip", reason: dec.reason, run: run! };
    return { info, logicalDate, sortOrdinal: i + 1, decision };
  });
}

function rangeOf(infos: readonly DagRunInfo[]): [string, string] {
  const times = infos.map((i) => i.logicalDate.getTime());
  return [new Date(Math.min(...times)).toISOString(), new Date(Math.max(...times)).toISOString()];
}

/** `backfill create --dry-run`: what a backfill would do, date by date; writes nothing. */
export async function planBackfill(db: Db, d: SchedulableDag, req: BackfillRequest): Promise<PlannedDate[]> {
  validateBackfill(d, req);
  const infos = backfillCandidates(d, req);
  if (infos.length === 0) return [];
  const [lo, hi] = rangeOf(infos);
  return plan(infos, await listRunsInRange(db, d.dag.dag_id, lo, hi), req.reprocessBehavior ?? "none");
}

export interface CreatedBackfill {
  backfill: BackfillRow;
  dates: PlannedDate[];
  created: number;
  requeued: number;
  skipped: number;
}

/** Airflow's _create_backfill, in one transaction: the backfill row, its new queued runs with
 *  their task instances, the re-queued runs and a backfill_dag_run row for every date. */
export async function createBackfill(store: Store, d: SchedulableDag, req: BackfillRequest): Promise<CreatedBackfill> {
  const dagId = d.dag.dag_id;
  const behavior = req.reprocessBehavior ?? "none";
  validateBackfill(d, req);
  const infos = backfillCandidates(d, req);
  const conf = req.dagRunConf ?? null;
  let created: CreatedBackfill;
  try {
    created = await createInTransaction(store, d, req, infos, behavior, conf);
  } catch (e) {
    if (!isUniqueViolation(e)) throw e;
    throw new OrchError("ORCH_ALREADY_EXISTS", `a run of ${dagId} for one of the backfill's dates was created while the backfill was being made; nothing was created, try again`, { dag_id: dagId });
  }
  // The scheduler's next steps plan their reads of these runs by statistics that know they exist.
  // The backfill is made either way: statistics refreshed later by autovacuum only cost speed.
  const analyze = created.created > 0 ? store.dialect.analyzeQuery(["dag_run", "backfill_dag_run", "task_instance"]) : undefined;
  if (analyze) await analyze.execute(store.db).catch(() => {});
  return created;
}

async function createInTransaction(
  store: Store,
  d: SchedulableDag,
  req: BackfillRequest,
  infos: readonly DagRunInfo[],
  behavior: ReprocessBehavior,
  conf: Record<string, unknown> | null,
): Promise<CreatedBackfill> {
  const dagId = d.dag.dag_id;
  return store.writeTransaction(async (trx) => {
    await lockDagForBackfill(trx, store.dialect, dagId);
    if ((await countActiveBackfills(trx, dagId)) > 0) {
      throw new OrchError("ORCH_BACKFILL_ALREADY_RUNNING", `Another backfill is running for Dag ${dagId}. There can be only one running backfill per Dag.`, { dag_id: dagId });
    }
    if (infos.length === 0) throw new OrchError("ORCH_BACKFILL_NO_RUNS", `No runs to create for Dag ${dagId}`, { dag_id: dagId });
    const backfill = await insertBackfill(trx, {
      dag_id: dagId,
      from_date: req.fromDate.toISOString(),
      to_date: req.toDate.toISOString(),
      dag_run_conf: conf,
      reprocess_behavior: behavior,
      max_active_runs: req.maxActiveRuns ?? DEFAULT_BACKFILL_MAX_ACTIVE_RUNS,
    });
    const [lo, hi] = rangeOf(infos);
    const dates = plan(infos, await listRunsInRange(trx, dagId, lo, hi), behavior);
    const fresh: NewRun[] = [];
    for (const p of dates) {
      if (p.decision.action !== "create") continue;
      fresh.push({
        dag_id: dagId,
        run_id: generateRunId("backfill", p.logicalDate, p.info.runAfter.toISOString()),
        run_type: "backfill",
        logical_date: p.logicalDate,
        data_interval_start: p.info.dataInterval.start.toISOString(),
        data_interval_end: p.info.dataInterval.end.toISOString(),
        run_after: p.info.runAfter.toISOString(),
        conf: conf ?? {},
        triggered_by: "backfill",
        backfill_id: backfill.id,
      });
    }
    const ids = await insertBackfillRuns(trx, fresh, taskSeeds(d));
    const retries = new Map(d.dag.tasks.map((t) => [t.task_id, t.retries]));
    const links: Parameters<typeof insertBackfillDagRuns>[1][number][] = [];
    let requeued = 0;
    for (const p of dates) {
      const base = { backfill_id: backfill.id, logical_date: p.logicalDate, sort_ordinal: p.sortOrdinal };
      if (p.decision.action === "create") {
        links.push({ ...base, dag_run_id: ids.get(generateRunId("backfill", p.logicalDate, p.info.runAfter.toISOString()))!, exception_reason: null });
      } else if (p.decision.action === "clear") {
        // The run changed state since it was read (it cannot here: the transaction holds the
        // write lock on SQLite); Airflow records a run it cannot lock as in flight.
        const taken = await requeueRunForBackfill(trx, p.decision.run, backfill.id, conf, retries);
        if (taken) requeued++;
        links.push({ ...base, dag_run_id: taken ? p.decision.run.id : null, exception_reason: taken ? null : "in flight" });
      } else links.push({ ...base, dag_run_id: null, exception_reason: p.decision.reason });
    }
    await insertBackfillDagRuns(trx, links);
    // Every date skipped: nothing for the scheduler to do, so the backfill is complete now.
    if (fresh.length + requeued === 0) {
      const now = nowIso();
      await trx.updateTable("backfill").set({ completed_at: now, updated_at: now }).where("id", "=", backfill.id).execute();
      backfill.completed_at = now;
    }
    return { backfill, dates, created: fresh.length, requeued, skipped: dates.length - fresh.length - requeued };
  });
}

/** Cancels a backfill: no new runs, queued ones end failed, running ones finish. */
export async function cancelBackfill(store: Store, id: number): Promise<{ backfill: BackfillRow; failedQueued: number }> {
  return store.writeTransaction(async (trx) => {
    const b = await getBackfill(trx, id);
    if (!b) throw backfillNotFound(id);
    if (b.completed_at) throw new OrchError("ORCH_USAGE", `Backfill ${id} is already completed (at ${b.completed_at}); nothing to cancel`, { backfill_id: id });
    const failedQueued = await cancelBackfillRuns(trx, id);
    return { backfill: (await getBackfill(trx, id))!, failedQueued };
  });
}

export function backfillNotFound(id: number): OrchError {
  return new OrchError("ORCH_NOT_FOUND", `Backfill ${id} does not exist; \`orch backfill list\` lists them`, { backfill_id: id });
}

/** Which queued runs the scheduler may start in this step (Airflow's _start_queued_dagruns):
 *  running runs are counted per (DAG, backfill), so backfill runs count against their backfill's
 *  max_active_runs only and other runs against the DAG's. A backfill's queued runs start in sort
 *  order, none while it is paused. */
export interface RunGate {
  admit(run: DagRunRow, dagMaxActiveRuns: number): boolean;
  /** The backfills' queued runs it admits that were not among the step's runs (the step lists
   *  no backfill's queued runs: listRunsToSchedule), in sort order. */
  readonly backfillRuns: readonly DagRunRow[];
}

/** Loads the gate for one scheduler step over its active runs; first marks finished backfills
 *  complete (Airflow's _mark_backfills_complete). A backfill below its max_active_runs has its
 *  next queued runs read (as many as it has free slots); one whose slots are all taken costs no
 *  read, so a step costs the same with 10 or 3,650 runs waiting. */
export async function loadRunGate(db: Db, runs: readonly DagRunRow[]): Promise<RunGate> {
  const running = new Map<string, number>();
  const runningPerBackfill = new Map<number, number>();
  for (const r of runs) {
    if (r.backfill_id !== null) {
      if (r.state === "running") runningPerBackfill.set(r.backfill_id, (runningPerBackfill.get(r.backfill_id) ?? 0) + 1);
    } else if (r.state === "running") running.set(r.dag_id, (running.get(r.dag_id) ?? 0) + 1);
  }
  // One small read a step while backfills exist. Only a backfill with no run among the active
  // ones can have finished; the exact check (which also covers runs this scheduler does not look
  // after, as under `dags test`) runs for those alone.
  const active = await listActiveBackfills(db);
  const withActiveRuns = new Set(runs.map((r) => r.backfill_id));
  await completeFinishedBackfills(db, active.map((b) => b.id).filter((id) => !withActiveRuns.has(id)));
  const admitted = new Set<number>();
  const listed = new Set(runs.map((r) => r.id));
  const backfillRuns: DagRunRow[] = [];
  for (const b of active) {
    if (b.is_paused) continue;
    for (const r of await nextQueuedBackfillRuns(db, b.id, b.max_active_runs - (runningPerBackfill.get(b.id) ?? 0))) {
      admitted.add(r.id);
      if (!listed.has(r.id)) backfillRuns.push(r);
    }
  }
  return {
    backfillRuns,
    admit(run, dagMaxActiveRuns) {
      if (run.backfill_id !== null) return admitted.has(run.id);
      const n = running.get(run.dag_id) ?? 0;
      if (n >= dagMaxActiveRuns) return false;
      running.set(run.dag_id, n + 1);
      return true;
    },
  };
}

// Creating DAG runs: scheduled ones when a DAG's timetable says one is due, manual ones on request.
// Params are validated before a run exists, so an invalid conf never leaves a half-made run.
import { OrchError } from "../errors.ts";
import { validateParams } from "../params/validate.ts";
import { createDagRun, createScheduledRun, generateRunId, lastAutomatedRun, type RunType } from "../store/dag-runs.ts";
import { refreshPlannerStatistics } from "../store/planner-statistics.ts";
import { recordNextDagRun } from "../store/dags.ts";
import type { Store } from "../store/index.ts";
import type { DagRunRow } from "../store/schema.ts";
import { createTimetable } from "../timetables/index.ts";
import type { DagRunInfo } from "../timetables/types.ts";
import type { SchedulableDag } from "./dag-bag.ts";

export function taskSeeds(d: SchedulableDag) {
  return d.dag.tasks.map((t) => ({ task_id: t.task_id, retries: t.retries, priority_weight: t.priority_weight, operator: t.operator }));
}

/** Validates conf against the DAG's params; returns the merged params or throws naming each field. */
export function resolveParams(d: SchedulableDag, conf: Record<string, unknown>): Record<string, unknown> {
  const r = validateParams(d.dag.params, conf);
  if (!r.ok) {
    const detail = r.errors.map((e) => `${e.field}: ${e.message} (${e.rule})`).join("; ");
    throw new OrchError("ORCH_PARAMS_INVALID", `invalid params for DAG ${d.dag.dag_id}: ${detail}`, { dag_id: d.dag.dag_id, errors: r.errors });
  }
  return r.values;
}

export interface TriggerRequest {
  conf?: Record<string, unknown>;
  logicalDate?: Date | null;
  runId?: string;
  runType?: RunType;
  triggeredBy?: string;
  now?: Date;
  /** The run's data interval as given (REST's data_interval_start/end); else the timetable's inferred one. */
  dataInterval?: { start: Date; end: Date };
}

/** Airflow's trigger_dag: a manual run, queued for the scheduler. */
export async function triggerDagRun(store: Store, d: SchedulableDag, req: TriggerRequest = {}): Promise<DagRunRow> {
  const conf = req.conf ?? {};
  resolveParams(d, conf);
  const now = req.now ?? new Date();
  const logical = req.logicalDate === undefined ? now : req.logicalDate;
  const timetable = createTimetable(d.dag.timetable);
  const interval = req.dataInterval ?? timetable.inferManualDataInterval(logical ?? now);
  const runType = req.runType ?? "manual";
  const logicalIso = logical ? logical.toISOString() : null;
  const runAfter = (logical ?? now).toISOString();
  const runId = req.runId ?? generateRunId(runType, logicalIso, runAfter);
  const run = await store.writeTransaction((trx) =>
    createDagRun(
      trx,
      {
        dag_id: d.dag.dag_id,
        run_id: runId,
        run_type: runType,
        logical_date: logicalIso,
        data_interval_start: interval.start.toISOString(),
        data_interval_end: interval.end.toISOString(),
        run_after: runAfter,
        conf,
        triggered_by: req.triggeredBy ?? "cli",
      },
      taskSeeds(d),
    ),
  );
  await refreshPlannerStatistics(store, d.tasks.size);
  return run;
}

export interface ScheduleResult {
  created: DagRunRow[];
  /** When this DAG next needs a look (its next run's run_after), or null for "on an event". */
  wakeAt: Date | null;
}

// Logical dates whose "taken by another run" was already said, so a pass that meets one again
// stays quiet (the scheduler looks every time run creation is due).
const reportedTaken = new Set<string>();

/**
 * Creates the scheduled runs that are due for one DAG, as many as catchup and max_active_runs
 * allow, and records the next one on the dag row (dag.next_dagrun*).
 *
 * A logical date already held by another run (a manual run on a scheduled date) is stepped over as
 * Airflow does: the timetable continues from that date's interval, so later runs are still created
 * and the timer is set for the next one. (It used to stop there for good.)
 */
export async function createDueScheduledRuns(store: Store, d: SchedulableDag, now: Date, log: (m: string) => void = () => {}): Promise<ScheduleResult> {
  const result = await createDue(store, d, now, log);
  if (result.created.length) await refreshPlannerStatistics(store, result.created.length * d.tasks.size);
  return result;
}

async function createDue(store: Store, d: SchedulableDag, now: Date, log: (m: string) => void): Promise<ScheduleResult> {
  const timetable = createTimetable(d.dag.timetable);
  const created: DagRunRow[] = [];
  if (!timetable.canBeScheduled) return { created, wakeAt: null };
  const restriction = {
    earliest: d.dag.start_date ? new Date(d.dag.start_date) : null,
    latest: d.dag.end_date ? new Date(d.dag.end_date) : null,
    catchup: d.dag.catchup,
  };
  const dagId = d.dag.dag_id;
  const last = await lastAutomatedRun(store.db, dagId);
  let lastInterval =
    last && last.data_interval_start && last.data_interval_end
      ? { start: new Date(last.data_interval_start), end: new Date(last.data_interval_end) }
      : null;
  for (;;) {
    const info: DagRunInfo | null = timetable.nextDagRunInfo({ lastAutomatedDataInterval: lastInterval, restriction, now });
    await recordNextDagRun(
      store.db,
      dagId,
      info
        ? {
            logicalDate: info.logicalDate.toISOString(),
            dataIntervalStart: info.dataInterval.start.toISOString(),
            dataIntervalEnd: info.dataInterval.end.toISOString(),
            runAfter: info.runAfter.toISOString(),
          }
        : null,
    );
    if (!info) return { created, wakeAt: null };
    if (info.runAfter > now) return { created, wakeAt: info.runAfter };
    const logicalIso = info.logicalDate.toISOString();
    const r = await store.writeTransaction((trx) =>
      createScheduledRun(
        trx,
        store.dialect,
        {
          dag_id: dagId,
          run_id: generateRunId("scheduled", logicalIso, info.runAfter.toISOString()),
          run_type: "scheduled",
          logical_date: logicalIso,
          data_interval_start: info.dataInterval.start.toISOString(),
          data_interval_end: info.dataInterval.end.toISOString(),
          run_after: info.runAfter.toISOString(),
          conf: {},
          triggered_by: "timetable",
        },
        taskSeeds(d),
        d.dag.max_active_runs,
      ),
    );
    // A finished run frees a slot and wakes the scheduler, so no timer is needed here.
    if (r.kind === "at_limit") return { created, wakeAt: null };
    if (r.kind === "taken") {
      const key = `${dagId}\u0000${logicalIso}`;
      if (!reportedTaken.has(key)) {
        reportedTaken.add(key);
        log(`${dagId}: logical date ${logicalIso} is taken by ${r.runId}; no scheduled run for it, the timetable goes on from the next date`);
      }
    } else created.push(r.run);
    lastInterval = info.dataInterval;
  }
}

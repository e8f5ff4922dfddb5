// Creating DAG runs: scheduled ones when a DAG's timetable says one is due, manual ones on request.
// Params are validated before a run exists, so an invalid conf never leaves a half-made run.
import { OrchError } from "../errors.ts";
import { validateParams } from "../params/validate.ts";
import { createDagRun, countActiveRuns, generateRunId, lastAutomatedRun, type RunType } from "../store/dag-runs.ts";
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
}

/** Airflow's trigger_dag: a manual run, queued for the scheduler. */
export async function triggerDagRun(store: Store, d: SchedulableDag, req: TriggerRequest = {}): Promise<DagRunRow> {
  const conf = req.conf ?? {};
  resolveParams(d, conf);
  const now = req.now ?? new Date();
  const logical = req.logicalDate === undefined ? now : req.logicalDate;
  const timetable = createTimetable(d.dag.timetable);
  const interval = timetable.inferManualDataInterval(logical ?? now);
  const runType = req.runType ?? "manual";
  const logicalIso = logical ? logical.toISOString() : null;
  const runAfter = (logical ?? now).toISOString();
  const runId = req.runId ?? generateRunId(runType, logicalIso, runAfter);
  return store.writeTransaction((trx) =>
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
}

export interface ScheduleResult {
  created: DagRunRow[];
  /** When this DAG next needs a look (its next run's run_after), or null for "on an event". */
  wakeAt: Date | null;
}

/**
 * Creates the scheduled runs that are due for one DAG, as many as catchup and max_active_runs
 * allow, and records the next one on the dag row (dag.next_dagrun*).
 */
export async function createDueScheduledRuns(store: Store, d: SchedulableDag, now: Date): Promise<ScheduleResult> {
  const timetable = createTimetable(d.dag.timetable);
  const created: DagRunRow[] = [];
  if (!timetable.canBeScheduled) return { created, wakeAt: null };
  const restriction = {
    earliest: d.dag.start_date ? new Date(d.dag.start_date) : null,
    latest: d.dag.end_date ? new Date(d.dag.end_date) : null,
    catchup: d.dag.catchup,
  };
  const dagId = d.dag.dag_id;
  for (;;) {
    const last = await lastAutomatedRun(store.db, dagId);
    const lastInterval =
      last && last.data_interval_start && last.data_interval_end
        ? { start: new Date(last.data_interval_start), end: new Date(last.data_interval_end) }
        : null;
    const info: DagRunInfo | null = timetable.nextDagRunInfo({ lastAutomatedDataInterval: lastInterval, restriction, now });
    await store.db
      .updateTable("dag")
      .set({
        next_dagrun: info ? info.logicalDate.toISOString() : null,
        next_dagrun_data_interval_start: info ? info.dataInterval.start.toISOString() : null,
        next_dagrun_data_interval_end: info ? info.dataInterval.end.toISOString() : null,
        next_dagrun_create_after: info ? info.runAfter.toISOString() : null,
      })
      .where("dag_id", "=", dagId)
      .execute();
    if (!info) return { created, wakeAt: null };
    if (info.runAfter > now) return { created, wakeAt: info.runAfter };
    const active = await countActiveRuns(store.db, dagId);
    // A finished run frees a slot and wakes the scheduler, so no timer is needed here.
    if (active.queued + active.running >= d.dag.max_active_runs) return { created, wakeAt: null };
    const logicalIso = info.logicalDate.toISOString();
    const existing = await store.db
      .selectFrom("dag_run")
      .select("run_id")
      .where("dag_id", "=", dagId)
      .where("logical_date", "=", logicalIso)
      .executeTakeFirst();
    if (existing) {
      // A manual run already holds this logical date; Airflow's unique key forbids a second run.
      // Skipping it keeps the timetable moving instead of retrying forever.
      process.stderr.write(`scheduler: ${dagId}: logical date ${logicalIso} is taken by ${existing.run_id}; not creating a scheduled run for it\n`);
      return { created, wakeAt: null };
    }
    const row = await store.writeTransaction((trx) =>
      createDagRun(
        trx,
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
      ),
    );
    created.push(row);
  }
}

// Deferral (Airflow's BaseTrigger / TaskDeferred model): a task calls `ctx.defer({ trigger, method,
// kwargs, timeout })`; its try leaves the executor, the triggerer awaits the trigger, and the task
// resumes in `method` (one of the task's `methods`) with the trigger's event. Triggers here are
// plain data ({ classpath, kwargs }) naming one of the triggerer's built-ins, so they can be stored
// and re-armed after a restart.
import { durationSeconds } from "./schedule.ts";
import type { Duration } from "./timetable-spec.ts";

const DEFER = Symbol.for("orch.signal.defer");

/** A trigger as stored in the `trigger` table: which built-in, with what arguments. */
export interface TriggerSpec {
  classpath: TriggerClasspath;
  kwargs: Record<string, unknown>;
}

export type TriggerClasspath = "orch.triggers.DateTimeTrigger" | "orch.triggers.FileTrigger" | "orch.triggers.ExternalTaskTrigger" | "orch.triggers.HttpTrigger" | "orch.triggers.AssetEventTrigger" | "orch.triggers.DagRunTrigger";

const isoOf = (d: Date | string, field: string): string => {
  const t = typeof d === "string" ? new Date(d) : d;
  if (!(t instanceof Date) || Number.isNaN(t.getTime())) throw new TypeError(`${field} must be a Date or an ISO-8601 string, got ${JSON.stringify(d)}`);
  return t.toISOString();
};

/** Fires at `moment` (Airflow's DateTimeTrigger); the event is { moment }. */
export function DateTimeTrigger(moment: Date | string): TriggerSpec {
  return { classpath: "orch.triggers.DateTimeTrigger", kwargs: { moment: isoOf(moment, "DateTimeTrigger moment") } };
}

/** Fires `delta` from now (Airflow's TimeDeltaTrigger, which is a DateTimeTrigger underneath). */
export function TimeDeltaTrigger(delta: number | Duration): TriggerSpec {
  return DateTimeTrigger(new Date(Date.now() + durationSeconds(delta, "TimeDeltaTrigger delta") * 1000));
}

/** Fires when a file matching `filepath` (a path or a glob) exists: fs.watch plus a slow poll. */
export function FileTrigger(o: { filepath: string; poke_interval?: number }): TriggerSpec {
  if (typeof o?.filepath !== "string" || o.filepath === "") throw new TypeError("FileTrigger needs a filepath");
  return { classpath: "orch.triggers.FileTrigger", kwargs: { filepath: o.filepath, poke_interval: o.poke_interval ?? 5 } };
}

/** Fires when a URL answers 2xx (event { status, body }); other answers are retried. */
export function HttpTrigger(o: { url: string; method?: string; headers?: Record<string, string>; poke_interval?: number }): TriggerSpec {
  if (typeof o?.url !== "string") throw new TypeError("HttpTrigger needs a url");
  return { classpath: "orch.triggers.HttpTrigger", kwargs: { url: o.url, method: o.method ?? "GET", headers: o.headers ?? {}, poke_interval: o.poke_interval ?? 5 } };
}

/** Fires when every named task (or, without task ids, the run) of another DAG at these logical
 *  dates is in `allowed_states` (event { status: "success" }), or any is in `failed_states`
 *  ({ status: "failed" }) or `skipped_states` ({ status: "skipped" }). */
export function ExternalTaskTrigger(o: {
  external_dag_id: string;
  external_task_ids?: string[] | null;
  logical_dates: string[];
  allowed_states?: string[];
  failed_states?: string[];
  skipped_states?: string[];
  poke_interval?: number;
}): TriggerSpec {
  return {
    classpath: "orch.triggers.ExternalTaskTrigger",
    kwargs: {
      external_dag_id: o.external_dag_id,
      external_task_ids: o.external_task_ids ?? null,
      logical_dates: o.logical_dates,
      allowed_states: o.allowed_states ?? ["success"],
      failed_states: o.failed_states ?? [],
      skipped_states: o.skipped_states ?? [],
      poke_interval: o.poke_interval ?? 2,
    },
  };
}

/** Fires when the run of `dag_id` reaches one of `states` (event { run_id, state }). */
export function DagRunTrigger(o: { dag_id: string; run_id: string; states: string[]; poke_interval?: number }): TriggerSpec {
  return { classpath: "orch.triggers.DagRunTrigger", kwargs: { dag_id: o.dag_id, run_id: o.run_id, states: o.states, poke_interval: o.poke_interval ?? 2 } };
}

/** Fires on the asset's next event after the trigger was created (event { uri, extra, timestamp }). */
export function AssetEventTrigger(o: { uri: string; poke_interval?: number }): TriggerSpec {
  return { classpath: "orch.triggers.AssetEventTrigger", kwargs: { uri: o.uri, after_id: null, poke_interval: o.poke_interval ?? 2 } };
}

export interface DeferOptions {
  trigger: TriggerSpec;
  /** The task's method to resume in (a key of the task's `methods`); default "execute_complete". */
  method?: string;
  /** Passed to the method beside the event. */
  kwargs?: Record<string, unknown>;
  /** Fail the task when the trigger has not fired after this long (seconds or a duration). */
  timeout?: number | Duration;
}

/** Thrown by ctx.defer: the worker turns it into a `deferred` outcome. */
export class TaskDeferred extends Error {
  readonly [DEFER] = true;
  constructor(readonly defer: { trigger: TriggerSpec; method: string; kwargs: Record<string, unknown>; timeoutSeconds: number | null }) {
    super(`deferred to ${defer.trigger.classpath}`);
    this.name = "TaskDeferred";
  }
}

export function isDeferSignal(e: unknown): e is TaskDeferred {
  return typeof e === "object" && e !== null && (e as Record<symbol, unknown>)[DEFER] === true;
}

/** What ctx.defer does: checks its options, then throws TaskDeferred. */
export function deferTask(o: DeferOptions): never {
  if (!o || typeof o.trigger?.classpath !== "string") throw new TypeError("ctx.defer needs { trigger } made by a trigger such as TimeDeltaTrigger({ seconds: 30 })");
  throw new TaskDeferred({
    trigger: o.trigger,
    method: o.method ?? "execute_complete",
    kwargs: o.kwargs ?? {},
    timeoutSeconds: o.timeout === undefined ? null : durationSeconds(o.timeout, "defer timeout"),
  });
}

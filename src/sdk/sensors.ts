// Sensors (Airflow's BaseSensorOperator): a task that pokes until a condition holds. Modes:
// `poke` holds its executor slot and sleeps between pokes; `reschedule` ends each poke as
// up_for_reschedule (the slot is freed, the try number stays); `deferrable: true` waits in the
// triggerer instead: on the built-in sensors' own trigger, or for a custom sensor on a timer until
// its next poke. A sensor is a TaskFlow task whose function is the poke loop below.
import { existsSync, readdirSync } from "node:fs";
import { basename, dirname } from "node:path";
import type { TaskContext } from "./context.ts";
import { currentRuntime } from "./runtime.ts";
import { durationSeconds } from "./schedule.ts";
import { AirflowFailException, AirflowSkipException } from "./signals.ts";
import { task } from "./tasks.ts";
import type { Duration } from "./timetable-spec.ts";
import { DateTimeTrigger, ExternalTaskTrigger, FileTrigger, HttpTrigger, type TriggerSpec } from "./triggers.ts";
import type { BaseTaskOptions, TaskFn } from "./types.ts";

const RESCHEDULE = Symbol.for("orch.signal.reschedule");

/** Thrown by a reschedule-mode poke that found nothing: the worker reports up_for_reschedule. */
export class RescheduleSignal extends Error {
  readonly [RESCHEDULE] = true;
  constructor(
    readonly rescheduleAt: Date,
    readonly kwargs: Record<string, unknown>,
  ) {
    super(`rescheduled to ${rescheduleAt.toISOString()}`);
    this.name = "AirflowRescheduleException";
  }
}

export function isRescheduleSignal(e: unknown): e is RescheduleSignal {
  return typeof e === "object" && e !== null && (e as Record<symbol, unknown>)[RESCHEDULE] === true;
}

/** Raised when a sensor times out; never retried (Airflow's AirflowSensorTimeout). */
export class AirflowSensorTimeout extends AirflowFailException {
  constructor(message: string) {
    super(message);
    this.name = "AirflowSensorTimeout";
  }
}

export type PokeResult = boolean | { done: boolean; xcom_value?: unknown };

export interface SensorOptions extends BaseTaskOptions {
  /** Seconds (or a duration) between pokes; default 60. */
  poke_interval?: number | Duration;
  /** Fail (or skip, with soft_fail) after this long since the first poke; default 7 days. */
  timeout?: number | Duration;
  mode?: "poke" | "reschedule";
  /** Double the interval after each poke (capped by max_wait, else by timeout). */
  exponential_backoff?: boolean;
  max_wait?: number | Duration;
  /** Skip instead of failing on timeout. */
  soft_fail?: boolean;
  /** Wait in the triggerer between pokes (on the sensor's trigger when it has one). */
  deferrable?: boolean;
}

interface SensorSpec {
  poke(ctx: TaskContext): Promise<PokeResult>;
  /** The trigger that fires when the condition may hold (deferrable built-ins). */
  trigger?(ctx: TaskContext): Promise<TriggerSpec>;
  /** What the trigger's event means: done, failed (throws), or poke again. */
  onEvent?(event: unknown, ctx: TaskContext): Promise<PokeResult>;
}

const done = (r: PokeResult): { done: boolean; xcom_value?: unknown } => (typeof r === "boolean" ? { done: r } : { done: Boolean(r?.done), xcom_value: r?.xcom_value });

function makeSensor(opts: SensorOptions, spec: SensorSpec): TaskFn<[], unknown> {
  const pokeInterval = durationSeconds(opts.poke_interval ?? 60, "poke_interval");
  const timeout = durationSeconds(opts.timeout ?? 7 * 86400, "timeout");
  const maxWait = opts.max_wait === undefined ? null : durationSeconds(opts.max_wait, "max_wait");
  const mode = opts.mode ?? "poke";
  if (mode !== "poke" && mode !== "reschedule") throw new TypeError(`sensor "${opts.task_id}": mode must be "poke" or "reschedule", got ${JSON.stringify(mode)}`);
  const interval = (n: number) => (opts.exponential_backoff ? Math.min(pokeInterval * 2 ** n, maxWait ?? timeout) : pokeInterval);

  const timedOut = (startedAt: number): never => {
    const elapsed = (Date.now() - startedAt) / 1000;
    const message = `Sensor has timed out; run duration of ${elapsed.toFixed(1)} seconds exceeds the specified timeout of ${timeout}.`;
    if (opts.soft_fail) throw new AirflowSkipException(message);
    throw new AirflowSensorTimeout(message);
  };

  /** Pokes from poke number `n` on; between pokes waits as the mode says. */
  async function loop(ctx: TaskContext, startedAt: number, n: number): Promise<unknown> {
    for (;; n++) {
      const r = done(await spec.poke(ctx));
      if (r.done) return r.xcom_value;
      if (Date.now() - startedAt >= timeout * 1000) timedOut(startedAt);
      const wait = Math.min(interval(n), Math.max(0, timeout - (Date.now() - startedAt) / 1000));
      const kwargs = { started_at: startedAt, n: n + 1 };
      if (opts.deferrable) ctx.defer({ trigger: DateTimeTrigger(new Date(Date.now() + wait * 1000)), method: "__poke__", kwargs });
      if (mode === "reschedule") throw new RescheduleSignal(new Date(Date.now() + wait * 1000), kwargs);
      ctx.log.info(`Poke returned false; next poke in ${wait} s`);
      await new Promise((r2) => setTimeout(r2, wait * 1000));
    }
  }

  const resumeAt = (kw: Record<string, unknown>) => ({ startedAt: Number(kw.started_at ?? Date.now()), n: Number(kw.n ?? 0) });
  const deferOnTrigger = async (ctx: TaskContext, startedAt: number): Promise<never> => {
    const left = timeout - (Date.now() - startedAt) / 1000;
    if (left <= 0) timedOut(startedAt);
    return ctx.defer({ trigger: await spec.trigger!(ctx), method: "__event__", kwargs: { started_at: startedAt }, timeout: left });
  };
  const { poke_interval: _p, timeout: _t, mode: _m, exponential_backoff: _e, max_wait: _w, soft_fail: _s, deferrable: _d, ...base } = opts;
  return task(
    {
      ...base,
      methods: {
        __reschedule__: (_ev, ctx, kw) => loop(ctx, resumeAt(kw).startedAt, resumeAt(kw).n),
        __poke__: (_ev, ctx, kw) => loop(ctx, resumeAt(kw).startedAt, resumeAt(kw).n),
        __event__: async (event, ctx, kw) => {
          const startedAt = resumeAt(kw).startedAt;
          const r = done(spec.onEvent ? await spec.onEvent(event, ctx) : true);
          if (r.done) return r.xcom_value;
          return deferOnTrigger(ctx, startedAt);
        },
      },
    },
    async (ctx: TaskContext) => {
      const startedAt = Date.now();
      if (opts.deferrable && spec.trigger) {
        // Airflow's deferrable sensors check once before deferring: no trigger for what is true now.
        const r = done(await spec.poke(ctx));
        if (r.done) return r.xcom_value;
        return deferOnTrigger(ctx, startedAt);
      }
      return loop(ctx, startedAt, 0);
    },
  ) as unknown as TaskFn<[], unknown>;
}

/** `task.sensor({ task_id, poke_interval, mode }, async (ctx) => done)`: a custom sensor. Returns
 *  the task (call it to add it to the DAG, as any TaskFlow task). */
export function sensor(opts: SensorOptions, fn: (ctx: TaskContext) => PokeResult | Promise<PokeResult>): TaskFn<[], unknown> {
  return makeSensor(opts, { poke: async (ctx) => fn(ctx) });
}

const call = (f: TaskFn<[], unknown>) => f();

/** Waits until data_interval_end (or the logical date) + delta (Airflow's TimeDeltaSensor). */
export function timeDeltaSensor(o: SensorOptions & { delta: number | Duration }) {
  const { delta, ...rest } = o;
  const secs = durationSeconds(delta, "delta");
  const target = (ctx: TaskContext) => new Date((ctx.data_interval_end ?? ctx.logical_date ?? new Date()).getTime() + secs * 1000);
  return call(
    makeSensor({ poke_interval: 5, ...rest }, {
      poke: async (ctx) => Date.now() >= target(ctx).getTime(),
      trigger: async (ctx) => DateTimeTrigger(target(ctx)),
    }),
  );
}

/** Waits until target_time (a Date, an ISO string, or a function of the context). */
export function dateTimeSensor(o: SensorOptions & { target_time: Date | string | ((ctx: TaskContext) => Date | string) }) {
  const { target_time, ...rest } = o;
  const target = (ctx: TaskContext) => new Date(typeof target_time === "function" ? target_time(ctx) : target_time);
  return call(
    makeSensor({ poke_interval: 5, ...rest }, {
      poke: async (ctx) => Date.now() >= target(ctx).getTime(),
      trigger: async (ctx) => DateTimeTrigger(target(ctx)),
    }),
  );
}

function fileExists(pattern: string): boolean {
  const name = basename(pattern);
  if (!/[*?[]/.test(name)) return existsSync(pattern);
  const re = new RegExp(`^${name.replace(/[.+^${}()|\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".")}$`);
  try {
    return readdirSync(dirname(pattern)).some((f) => re.test(f));
  } catch {
    return false;
  }
}

/** Waits until a file (or a glob in the file name) exists (Airflow's FileSensor). */
export function fileSensor(o: SensorOptions & { filepath: string }) {
  const { filepath, ...rest } = o;
  return call(
    makeSensor({ poke_interval: 5, ...rest }, {
      poke: async () => fileExists(filepath),
      trigger: async () => FileTrigger({ filepath, poke_interval: 30 }),
    }),
  );
}

/** Waits until a URL answers 2xx and response_check (if any) accepts the body (Airflow's
 *  HttpSensor; `endpoint` is joined to the http_conn_id connection's host). */
export function httpSensor(o: SensorOptions & { url?: string; endpoint?: string; http_conn_id?: string; method?: string; headers?: Record<string, string>; response_check?: (body: string) => boolean | Promise<boolean> }) {
  const { url, endpoint, http_conn_id, method, headers, response_check, ...rest } = o;
  const target = async (ctx: TaskContext) => {
    if (url) return url;
    const c = await ctx.conn.get(http_conn_id ?? "http_default");
    const host = c.host?.includes("://") ? c.host : `http://${c.host}${c.port ? `:${c.port}` : ""}`;
    return `${host.replace(/\/$/, "")}/${(endpoint ?? "").replace(/^\//, "")}`;
  };
  const check = async (body: string) => (response_check ? Boolean(await response_check(body)) : true);
  return call(
    makeSensor({ poke_interval: 5, ...rest }, {
      poke: async (ctx) => {
        try {
          const r = await fetch(await target(ctx), { method: method ?? "GET", headers });
          const body = await r.text();
          return r.ok && (await check(body));
        } catch {
          return false;
        }
      },
      trigger: async (ctx) => HttpTrigger({ url: await target(ctx), method, headers, poke_interval: durationSeconds(rest.poke_interval ?? 5, "poke_interval") }),
      onEvent: async (event) => check(String((event as { body?: string }).body ?? "")),
    }),
  );
}

export interface ExternalTaskSensorOptions extends SensorOptions {
  external_dag_id: string;
  external_task_id?: string | null;
  external_task_ids?: string[] | null;
  /** The other DAG's logical date is this one's minus the delta. */
  execution_delta?: number | Duration;
  /** Or a function from this run's logical date to the other's (one date or several). */
  execution_date_fn?: (logicalDate: Date, ctx: TaskContext) => Date | Date[];
  allowed_states?: string[];
  failed_states?: string[];
  skipped_states?: string[];
}

/** Waits for another DAG's task(s), or its whole run, at the matching logical date (Airflow's
 *  ExternalTaskSensor): done in allowed_states, failed in failed_states, skipped in skipped_states. */
export function externalTaskSensor(o: ExternalTaskSensorOptions) {
  const { external_dag_id, external_task_id, external_task_ids, execution_delta, execution_date_fn, allowed_states, failed_states, skipped_states, ...rest } = o;
  if (execution_delta !== undefined && execution_date_fn) throw new TypeError(`externalTaskSensor "${o.task_id}": give execution_delta or execution_date_fn, not both`);
  const taskIds = external_task_ids ?? (external_task_id ? [external_task_id] : null);
  const allowed = allowed_states ?? ["success"];
  const failed = failed_states ?? [];
  const skipped = skipped_states ?? [];
  const deltaMs = execution_delta === undefined ? 0 : durationSeconds(execution_delta, "execution_delta") * 1000;
  const dates = (ctx: TaskContext): string[] => {
    const mine = ctx.logical_date ?? ctx.dag_run.run_after ?? new Date();
    if (execution_date_fn) {
      const d = execution_date_fn(mine, ctx);
      return (Array.isArray(d) ? d : [d]).map((x) => new Date(x).toISOString());
    }
    return [new Date(mine.getTime() - deltaMs).toISOString()];
  };
  const verdict = (states: string[]): PokeResult => {
    const what = `${external_dag_id}${taskIds ? `.${taskIds.join(",")}` : ""}`;
    if (failed.length && states.some((s) => failed.includes(s))) throw new AirflowFailException(`The external ${taskIds ? "task(s)" : "DAG run"} ${what} failed (states: ${states.join(", ")})`);
    if (skipped.length && states.some((s) => skipped.includes(s))) throw new AirflowSkipException(`The external ${taskIds ? "task(s)" : "DAG run"} ${what} was skipped (states: ${states.join(", ")})`);
    return states.length > 0 && states.every((s) => allowed.includes(s));
  };
  return call(
    makeSensor({ poke_interval: 5, ...rest }, {
      poke: async (ctx) => {
        const rt = currentRuntime("externalTaskSensor");
        if (!rt.getExternalStates) throw new Error("this worker cannot read other DAGs' states");
        const ds = dates(ctx);
        ctx.log.info(`Poking for ${external_dag_id}${taskIds ? `.${taskIds.join(",")}` : ""} on ${ds.join(", ")} ...`);
        return verdict(await rt.getExternalStates(external_dag_id, taskIds, ds));
      },
      trigger: async (ctx) => ExternalTaskTrigger({ external_dag_id, external_task_ids: taskIds, logical_dates: dates(ctx), allowed_states: allowed, failed_states: failed, skipped_states: skipped, poke_interval: durationSeconds(rest.poke_interval ?? 5, "poke_interval") }),
      onEvent: async (event) => verdict((event as { states?: string[] }).states ?? []),
    }),
  );
}

task.sensor = sensor;

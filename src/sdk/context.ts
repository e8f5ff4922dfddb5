import type { DeferOptions } from "./triggers.ts";

// The context a task receives (types only: the worker builds the object). Names are Airflow's
// template context (airflow/sdk/definitions/context.py): what `{{ ds }}` reads in a template is
// `ctx.ds` in code.

/** A connection as the task sees it (password in clear; the task log masks it). */
export interface ConnectionInfo {
  conn_id: string;
  conn_type: string;
  host: string | null;
  schema: string | null;
  login: string | null;
  password: string | null;
  port: number | null;
  /** JSON text, as Airflow stores it. */
  extra: string | null;
}

export interface DagRunInfo {
  dag_id: string;
  run_id: string;
  /** "scheduled" | "manual" | "backfill" | "asset_triggered" */
  run_type: string;
  conf: Record<string, unknown>;
  logical_date: Date | null;
  data_interval_start: Date | null;
  data_interval_end: Date | null;
  start_date: Date | null;
  /** When the run became due (Airflow 3's dag_run.run_after). */
  run_after: Date | null;
}

export interface TaskInstanceHandle {
  task_id: string;
  dag_id: string;
  run_id: string;
  try_number: number;
  map_index: number;
  /** Pushes an extra XCom under `key` (the return value is pushed as "return_value"). */
  xcom_push(key: string, value: unknown): void;
  /** Asks the scheduler for the XComs (a request over the worker's channel, so it is awaited).
   *  One task id gives its value (every map index's, as a list, for a mapped task); a list gives
   *  an array in the same order; none: this task. Default key "return_value". Sees this try's
   *  own pushes. In templates, `{{ ti.xcom_pull('t') }}` needs no await. */
  xcom_pull(task_ids?: string | string[] | null, key?: string): Promise<unknown>;
}

/** Each read asks the scheduler (awaited); the same as the SDK's Variable.get. */
export interface VariableAccessor {
  /** undefined (or default_var) when the variable does not exist. */
  get(key: string, default_var?: string): Promise<string | undefined>;
  /** The variable parsed as JSON; default_var (or undefined) when it does not exist. */
  json(key: string, default_var?: unknown): Promise<unknown>;
}

export interface ConnectionAccessor {
  /** Throws when the connection does not exist. The same as the SDK's Connection.get. */
  get(conn_id: string): Promise<ConnectionInfo & { extra_dejson: Record<string, unknown> }>;
}

/** Airflow's macros (airflow/sdk/execution_time/macros). Formats are strftime's. */
export interface Macros {
  /** ds_add("2024-01-31", 1) = "2024-02-01" */
  ds_add(ds: string, days: number): string;
  /** ds_format("2024-01-31", "%Y-%m-%d", "%Y%m") = "202401" */
  ds_format(ds: string, input_format: string, output_format: string): string;
}

/** One outlet of the running task: what its asset event will carry (Airflow's
 *  OutletEventAccessor). Set `extra` before the task returns. */
export interface OutletEventAccessor {
  extra: Record<string, unknown>;
}

/** An asset event as a run sees it (ctx.triggering_asset_events). */
export interface AssetEventInfo {
  asset: { name: string; uri: string };
  extra: Record<string, unknown>;
  timestamp: Date;
  source_dag_id: string | null;
  source_task_id: string | null;
  source_run_id: string | null;
  source_map_index: number | null;
}

export interface TaskLogger {
  debug(...args: unknown[]): void;
  info(...args: unknown[]): void;
  warning(...args: unknown[]): void;
  error(...args: unknown[]): void;
}

/**
 * Param values of the run (defaults with the run's conf merged over them and validated).
 * Values are the JSON the user triggered with; annotate `ctx: TaskContext<{ limit: number }>`
 * for stricter types. The loose default lets `ctx.params.limit` flow into a typed task argument.
 */
// `any` on purpose: JSON params are untyped unless the author narrows them.
export type ParamValues = Record<string, any>;

export interface TaskContext<P extends ParamValues = ParamValues> {
  /** The logical date as YYYY-MM-DD (data interval start for interval timetables). */
  ds: string;
  ds_nodash: string;
  /** The logical date as ISO-8601 with offset, e.g. 2024-01-01T00:00:00+00:00. */
  ts: string;
  ts_nodash: string;
  logical_date: Date | null;
  data_interval_start: Date | null;
  data_interval_end: Date | null;
  run_id: string;
  dag_run: DagRunInfo;
  params: P;
  ti: TaskInstanceHandle;
  /** Alias of ti, as Airflow's context has both. */
  task_instance: TaskInstanceHandle;
  var: VariableAccessor;
  conn: ConnectionAccessor;
  macros: Macros;
  log: TaskLogger;
  /** The task's outlets by URI (an Asset as key works too, being its URI in JS):
   *  `ctx.outlet_events[report.uri].extra = { rows: 10 }`. Recorded when the task succeeds. */
  outlet_events: Record<string, OutletEventAccessor>;
  /** In an asset-triggered run, the events that triggered it, by asset URI; otherwise empty. */
  triggering_asset_events: Record<string, AssetEventInfo[]>;
  /** Ends this part of the try: the triggerer waits on `trigger`, then the task resumes in
   *  `method` (one of the task's `methods`) with the event, in the same try. Never returns. */
  defer(o: DeferOptions): never;
}

/** What a failure callback receives: the context plus the error. */
export interface CallbackContext extends TaskContext {
  exception?: unknown;
}

export type TaskCallback = (ctx: CallbackContext) => void | Promise<void>;

export interface TaskCallbacks {
  on_execute_callback?: TaskCallback;
  on_success_callback?: TaskCallback;
  on_failure_callback?: TaskCallback;
  on_retry_callback?: TaskCallback;
}

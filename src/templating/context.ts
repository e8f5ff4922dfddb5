// The task context (Airflow 3's RuntimeTaskInstance.get_template_context in task-sdk
// execution_time/task_runner.py) built from plain data: no store access. Templates render
// synchronously, so var/conn/xcom_pull here read the values the worker fetched for the template
// before rendering it (references.ts); xcom_push calls a sink.
//
// As in Airflow 3, the keys derived from the logical date (ds, ds_nodash, ts, ts_nodash,
// ts_nodash_with_tz) exist only when the run has a logical date; a manual run created without one
// has none of them (a template using {{ ds }} then fails naming 'ds'), and code should use
// dag_run.logical_date ?? dag_run.run_after, as Airflow's docs advise.

import { OrchError } from "../errors.ts";
import { buildMacros, type Macros } from "./macros.ts";
import { isoformat, strftime, utc } from "./python-datetime.ts";
import { setTemplateView, wrap } from "./strict.ts";

/** How a read value is handed out: as is in code, as a strict view in templates. */
type Present = (value: unknown, path: string) => unknown;
const asIs: Present = (value) => value;

import type { ConnectionInfo, DagRunInfo, TaskInstanceHandle } from "../sdk/context.ts";

export type { ConnectionInfo };

export interface XComEntry {
  task_id: string;
  key: string;
  value: unknown;
  map_index?: number;
}

export interface TemplateContextInput {
  dag_id: string;
  run_id: string;
  run_type: string;
  logical_date: Date | null;
  data_interval_start: Date | null;
  data_interval_end: Date | null;
  /** When the run became due (Airflow 3's dag_run.run_after); defaults to logical_date or start_date. */
  run_after?: Date | null;
  start_date: Date | null;
  conf: Record<string, unknown>;
  params: Record<string, unknown>;
  task_id: string;
  try_number: number;
  map_index: number;
  xcoms: readonly XComEntry[];
  variables: Readonly<Record<string, string>>;
  connections: Readonly<Record<string, ConnectionInfo>>;
  /** Receives ti.xcom_push(key, value); the worker forwards it over its message channel. */
  push: (key: string, value: unknown) => void;
  /** Clock for macros.datetime.now(); defaults to the real one. */
  now?: () => Date;
}

/** The SDK's dag_run, as templates see it. */
export type DagRunContext = DagRunInfo;

/** The SDK's ti; templates may also pass a readonly list or null as task_ids. */
export interface TaskInstanceContext extends Omit<TaskInstanceHandle, "xcom_pull"> {
  xcom_pull(task_ids?: string | readonly string[] | null, key?: string): unknown;
}

/** var.value.<key> / var.json.<key> in templates; `get` as Airflow's VariableAccessor.get. */
export type VariableView = Record<string, unknown> & { get(key: string, defaultValue?: unknown): unknown };

export interface VariableAccessor {
  value: VariableView;
  /** Callable in code (var.json("k", default)) and a view in templates (var.json.k.field). */
  json: VariableView & ((key: string, defaultValue?: unknown) => unknown);
  get(key: string, defaultValue?: string): string | undefined;
}

export type ConnectionView = ConnectionInfo & { extra_dejson: Record<string, unknown> };

export interface ConnectionAccessor {
  /** Throws ORCH_NOT_FOUND when missing, unless a default is given. */
  get(connId: string, defaultConn?: unknown): ConnectionView;
  [connId: string]: unknown;
}

export interface TemplateContext {
  ds?: string;
  ds_nodash?: string;
  ts?: string;
  ts_nodash?: string;
  ts_nodash_with_tz?: string;
  logical_date: Date | null;
  data_interval_start: Date | null;
  data_interval_end: Date | null;
  run_id: string;
  task_instance_key_str: string;
  dag_run: DagRunContext;
  params: Record<string, unknown>;
  ti: TaskInstanceContext;
  task_instance: TaskInstanceContext;
  var: VariableAccessor;
  conn: ConnectionAccessor;
  macros: Macros;
}

const RETURN_VALUE = "return_value";

/** Jinja keyword arguments arrive from nunjucks as a trailing `{ ..., __keywords: true }`. */
function keywords(args: unknown[]): Record<string, unknown> {
  const last = args[args.length - 1];
  if (last && typeof last === "object" && (last as { __keywords?: unknown }).__keywords === true) {
    args.pop();
    return last as Record<string, unknown>;
  }
  return {};
}

/** RuntimeTaskInstance.xcom_pull without map_indexes, over the entries at hand: every map index's
 *  value per task, in map-index order; a missing task contributes None; one task id with one value
 *  gives the value; null task ids mean the task itself. */
export function pickXcoms(entries: readonly XComEntry[], ownTaskId: string, taskIds: string | readonly string[] | null, key: string = RETURN_VALUE): unknown {
  const single = taskIds === null || typeof taskIds === "string";
  const ids = taskIds === null ? [ownTaskId] : typeof taskIds === "string" ? [taskIds] : [...taskIds];
  const out: unknown[] = [];
  for (const id of ids) {
    const found = entries.filter((e) => e.task_id === id && e.key === key).sort((a, b) => (a.map_index ?? -1) - (b.map_index ?? -1));
    if (found.length === 0) out.push(null);
    else out.push(...found.map((e) => e.value));
  }
  return single && out.length === 1 ? out[0] : out;
}

function buildTi(input: TemplateContextInput): TaskInstanceContext {
  const entries: XComEntry[] = [...input.xcoms];
  return {
    task_id: input.task_id,
    dag_id: input.dag_id,
    run_id: input.run_id,
    try_number: input.try_number,
    map_index: input.map_index,
    xcom_push(...args: unknown[]): void {
      const kw = keywords(args);
      const key = String(kw.key ?? args[0]);
      const value = "value" in kw ? kw.value : args[1];
      input.push(key, value);
      // Airflow writes through at once, so a pull later in the same try sees the push.
      entries.push({ task_id: input.task_id, key, value, map_index: input.map_index });
    },
    xcom_pull(...args: unknown[]): unknown {
      const kw = keywords(args);
      return pickXcoms(entries, input.task_id, (kw.task_ids ?? args[0] ?? null) as string | readonly string[] | null, String(kw.key ?? args[1] ?? RETURN_VALUE));
    },
  };
}

const notFound = (what: string, id: string): OrchError =>
  new OrchError("ORCH_NOT_FOUND", `${what} "${id}" does not exist`, { [what === "Variable" ? "key" : "conn_id"]: id });

function variableView(variables: Readonly<Record<string, string>>, parse: boolean, target: object, present: Present): VariableView {
  const read = (key: string): unknown => {
    if (!Object.hasOwn(variables, key)) throw notFound("Variable", key);
    return parse ? present(JSON.parse(variables[key]!), `var.json.${key}`) : variables[key];
  };
  const get = (key: string, defaultValue: unknown = null): unknown => (Object.hasOwn(variables, key) ? read(key) : defaultValue);
  return new Proxy(target, {
    get: (_t, key) => (typeof key === "symbol" ? undefined : key === "get" ? get : read(key)),
    has: (_t, key) => typeof key === "string" && Object.hasOwn(variables, key),
    ownKeys: () => [],
  }) as VariableView;
}

function buildVar(variables: Readonly<Record<string, string>>, present: Present = asIs): VariableAccessor {
  // Callable only in code: nunjucks would treat a callable `var.json` as a method and lose its
  // attributes, so the template form (present !== asIs) is a plain view, as Airflow's is.
  const json = variableView(variables, true, present === asIs ? () => undefined : {}, present);
  const callableJson = (present !== asIs ? json : new Proxy(json as object, {
    apply: (_t, _this, args: unknown[]) => (json.get as (k: string, d?: unknown) => unknown)(String(args[0]), args[1] ?? null),
  })) as VariableAccessor["json"];
  return {
    value: variableView(variables, false, {}, present),
    json: callableJson,
    get: (key, defaultValue) => (Object.hasOwn(variables, key) ? variables[key] : defaultValue),
  };
}

function buildConn(connections: Readonly<Record<string, ConnectionInfo>>, present: Present = asIs): ConnectionAccessor {
  const view = (id: string): ConnectionView => {
    const c = connections[id]!;
    const full = { ...c, extra_dejson: c.extra ? (JSON.parse(c.extra) as Record<string, unknown>) : {} };
    return present(full, `conn.${id}`) as ConnectionView;
  };
  const get = (...args: unknown[]): ConnectionView => {
    const id = String(args[0]);
    if (Object.hasOwn(connections, id)) return view(id);
    if (args.length > 1) return args[1] as ConnectionView;
    throw notFound("Connection", id);
  };
  return new Proxy({} as ConnectionAccessor, {
    get: (_t, key) => {
      if (typeof key === "symbol") return undefined;
      if (key === "get") return get;
      if (!Object.hasOwn(connections, key)) throw notFound("Connection", key);
      return view(key);
    },
  });
}

export function buildTemplateContext(input: TemplateContextInput): TemplateContext {
  const ti = buildTi(input);
  const dagRun: DagRunContext = {
    dag_id: input.dag_id,
    run_id: input.run_id,
    run_type: input.run_type,
    conf: input.conf,
    logical_date: input.logical_date,
    data_interval_start: input.data_interval_start,
    data_interval_end: input.data_interval_end,
    start_date: input.start_date,
    run_after: input.run_after ?? input.logical_date ?? input.start_date,
  };
  const ctx: TemplateContext = {
    logical_date: input.logical_date,
    data_interval_start: input.data_interval_start,
    data_interval_end: input.data_interval_end,
    run_id: input.run_id,
    task_instance_key_str: `${input.dag_id}__${input.task_id}__${input.run_id}`,
    dag_run: dagRun,
    params: input.params,
    ti,
    task_instance: ti,
    var: buildVar(input.variables),
    conn: buildConn(input.connections),
    macros: buildMacros(input.now),
  };
  setTemplateView(ctx.var, buildVar(input.variables, wrap));
  setTemplateView(ctx.conn, buildConn(input.connections, wrap));
  if (input.logical_date) {
    const t = utc(input.logical_date);
    ctx.ds = strftime(t, "%Y-%m-%d");
    ctx.ds_nodash = ctx.ds.replace(/-/g, "");
    ctx.ts = isoformat(t);
    ctx.ts_nodash = strftime(t, "%Y%m%dT%H%M%S");
    ctx.ts_nodash_with_tz = ctx.ts.replace(/[-:]/g, "");
    ctx.task_instance_key_str = `${input.dag_id}__${input.task_id}__${ctx.ds_nodash}`;
  }
  return ctx;
}

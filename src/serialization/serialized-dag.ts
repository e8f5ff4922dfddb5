// The serialized DAG: the JSON document stored in `serialized_dag.data`. It is the contract
// between the DAG processor (which writes it after importing a DAG file in a child process) and
// the engine (scheduler, executor, API), which reads only this and never runs DAG code.
//
// Glossary:
//   fileloc           - absolute path of the DAG file (source, not the compiled output).
//   relative_fileloc  - fileloc relative to the dags folder.
//   XComArg marker    - `{ "__xcomarg": { task_id, key } }`: a TaskFlow argument that is another
//                       task's output; it may sit anywhere inside op_args (arrays, objects).
//   expand_input      - a mapped task's expanded arguments: `{ kind: "product" | "zip", args }`
//                       (each arg a literal list or an XComArg marker) or `{ kind: "kwargs",
//                       source }`; absent for a task that is not mapped.
//   task group        - `task_group` on the DAG: the root group (group_id null) with its children
//                       in order, each a task id or a nested group (Airflow's TaskGroupSerialization);
//                       `task_group_id` on a task names the group it is directly in.
//   mapped task group - a group with `expand_input` (groupFn.expand(...)): each task inside carries
//                       `mapped_task_group_id` and the group's expand_input as its own, so it is
//                       expanded like a mapped task; inside the group, instance i of a task depends
//                       only on instance i of its upstreams in the same group.
//   setup / teardown  - is_setup / is_teardown; a teardown's trigger rule is all_done_setup_success.
//   durations         - seconds as numbers (Airflow serializes timedelta the same way).
//   dates             - ISO-8601 UTC strings with milliseconds, or null.
//
// Stability: fields may be added; none is renamed or removed without bumping `format_version`.
import type { AssetRef, TimetableSpec } from "../sdk/timetable-spec.ts";
import type { TriggerRuleName } from "../sdk/trigger-rule.ts";

export type { AssetRef, TimetableSpec } from "../sdk/timetable-spec.ts";

export const SERIALIZED_DAG_FORMAT_VERSION = 1;

export { TRIGGER_RULES, type TriggerRuleName } from "../sdk/trigger-rule.ts";

export type TaskKind = "task" | "branch" | "short_circuit" | "bash" | "empty";

/** A JSON Schema object as Airflow's Param carries it (type, minimum, enum, format, ...). */
export type JsonSchema = Record<string, unknown>;

export interface SerializedParam {
  /** null when the param has no default (a required param). */
  default: unknown;
  schema: JsonSchema;
  description: string | null;
}

/** A reference to an upstream task's XCom, as it appears inside serialized op_args. */
export interface XComArgMarker {
  __xcomarg: { task_id: string; key: string };
}

/** JSON data in which any value may be an XComArg marker. Values that are not JSON (functions,
 *  class instances) are replaced by `{ "__repr": "<description>" }`: the worker uses the live
 *  arguments from the DAG module, the serialized form is for edges, display and the API. */
export type SerializedArg =
  | null
  | boolean
  | number
  | string
  | XComArgMarker
  | { __repr: string }
  | SerializedArg[]
  | { [key: string]: SerializedArg };

interface SerializedTaskBase {
  task_id: string;
  kind: TaskKind;
  /** Airflow's operator name for task_instance.operator and display: "@task", "@task.branch",
   *  "@task.short_circuit", "BashOperator", "EmptyOperator". */
  operator: string;
  upstream_task_ids: string[];
  downstream_task_ids: string[];
  trigger_rule: TriggerRuleName;
  retries: number;
  retry_delay_seconds: number;
  retry_exponential_backoff: boolean;
  max_retry_delay_seconds: number | null;
  execution_timeout_seconds: number | null;
  priority_weight: number;
  owner: string;
  outlets: AssetRef[];
  doc_md: string | null;
  // Absent in DAGs serialized before task groups, setup/teardown and depends_on_past existed: read as null/false.
  task_group_id?: string | null;
  is_setup?: boolean;
  is_teardown?: boolean;
  /** A teardown whose failure fails the run (teardowns are left out of the run's state otherwise). */
  on_failure_fail_dagrun?: boolean;
  depends_on_past?: boolean;
  wait_for_downstream?: boolean;
  wait_for_past_depends_before_skipping?: boolean;
  ignore_first_depends_on_past?: boolean;
  has_on_execute_callback: boolean;
  has_on_success_callback: boolean;
  has_on_failure_callback: boolean;
  has_on_retry_callback: boolean;
  /** Set for a mapped task: one task instance per element, map_index 0..n-1. */
  expand_input?: SerializedExpandInput;
  /** Set for a task inside a mapped task group (its expand_input is then the group's). */
  mapped_task_group_id?: string;
  /** A mapped task's fixed arguments (partial), XComArgs as markers. */
  partial_kwargs?: Record<string, SerializedArg>;
  map_index_template?: string | null;
}

/** What a mapped task expands over; lengths are known at run time (XComArg markers) or now (lists). */
export type SerializedExpandInput =
  | { kind: "product" | "zip"; args: Record<string, SerializedArg> }
  | { kind: "kwargs"; source: SerializedArg };

/** TaskFlow `task()`, `task.branch()`, `task.short_circuit()`: a callable with arguments. */
export interface SerializedCallableTask extends SerializedTaskBase {
  kind: "task" | "branch" | "short_circuit";
  /** The arguments the task was called with, XComArgs as markers. */
  op_args: SerializedArg[];
  /** A returned plain object is also pushed key by key as separate XComs (Airflow's multiple_outputs). */
  multiple_outputs: boolean;
}

export interface SerializedBashTask extends SerializedTaskBase {
  kind: "bash";
  /** The command template; null when `command` is a function of the context (command_is_callable). */
  bash_command: string | null;
  command_is_callable: boolean;
  /** Environment templates; null means inherit the worker's environment. */
  env: Record<string, string> | null;
  /** true: env is added to the inherited environment instead of replacing it. */
  append_env: boolean;
  cwd: string | null;
  /** Exit codes that make the task skipped instead of failed (Airflow's default: [99]). */
  skip_on_exit_code: number[];
  multiple_outputs: false;
}

export interface SerializedEmptyTask extends SerializedTaskBase {
  kind: "empty";
  multiple_outputs: false;
}

export type SerializedTask = SerializedCallableTask | SerializedBashTask | SerializedEmptyTask;

/** A task group and what it holds, as written (Airflow's serialized TaskGroup, simplified). */
export interface SerializedTaskGroup {
  /** Full id ("outer.inner"); null for the DAG's root group. */
  group_id: string | null;
  /** The id as written in taskGroup({ group_id }); null for the root group. */
  label: string | null;
  tooltip: string;
  prefix_group_id: boolean;
  /** Set for a mapped task group: what every task inside is mapped over. */
  expand_input?: SerializedExpandInput;
  children: ({ type: "task"; task_id: string } | ({ type: "group" } & SerializedTaskGroup))[];
}

export interface SerializedDag {
  format_version: typeof SERIALIZED_DAG_FORMAT_VERSION;
  dag_id: string;
  fileloc: string;
  relative_fileloc: string;
  timetable: TimetableSpec;
  /** A short text for listings: "@daily", "0 6 * * *", "None", "@once", "Asset", "6:00:00". */
  timetable_summary: string;
  start_date: string | null;
  end_date: string | null;
  /** IANA zone the DAG's dates and cron expressions are read in; default "UTC". */
  timezone: string;
  catchup: boolean;
  params: Record<string, SerializedParam>;
  max_active_runs: number;
  max_active_tasks: number;
  /** How many consecutive failed runs pause the DAG; 0 never (Airflow's default). */
  max_consecutive_failed_dag_runs: number;
  dagrun_timeout_seconds: number | null;
  tags: string[];
  /** The task owners, distinct, joined by ", " (Airflow's DagModel.owners). */
  owner: string;
  description: string | null;
  doc_md: string | null;
  is_paused_upon_creation: boolean | null;
  has_on_success_callback: boolean;
  has_on_failure_callback: boolean;
  /** Tasks in definition order. */
  tasks: SerializedTask[];
  /** The task groups; absent in DAGs serialized before task groups existed. */
  task_group?: SerializedTaskGroup;
}

export function isXComArgMarker(v: unknown): v is XComArgMarker {
  if (typeof v !== "object" || v === null || Array.isArray(v)) return false;
  const inner = (v as { __xcomarg?: unknown }).__xcomarg;
  return typeof inner === "object" && inner !== null && typeof (inner as { task_id?: unknown }).task_id === "string";
}

/** Every XComArg marker inside a serialized argument, depth first. */
export function collectXComArgMarkers(arg: SerializedArg, out: XComArgMarker[] = []): XComArgMarker[] {
  if (isXComArgMarker(arg)) out.push(arg);
  else if (Array.isArray(arg)) for (const a of arg) collectXComArgMarkers(a, out);
  else if (typeof arg === "object" && arg !== null) for (const a of Object.values(arg)) collectXComArgMarkers(a as SerializedArg, out);
  return out;
}

// SDK DAG object -> SerializedDag (plain JSON), plus the checks that need more than the SDK
// (param defaults against their own schemas).
import { isGroupArg, isTaskGroup, isXComArg, type Dag, type Task, type TaskGroup } from "../sdk/index.ts";
import type { TaskMapping } from "../sdk/types.ts";
import { checkParamValue } from "../params/validate.ts";
import {
  SERIALIZED_DAG_FORMAT_VERSION,
  type SerializedArg,
  type SerializedDag,
  type SerializedExpandInput,
  type SerializedParam,
  type SerializedTask,
  type SerializedTaskGroup,
} from "../serialization/serialized-dag.ts";

const OPERATOR_NAMES: Record<Task["kind"], string> = {
  task: "@task",
  branch: "@task.branch",
  short_circuit: "@task.short_circuit",
  bash: "BashOperator",
  empty: "EmptyOperator",
};

export function serializeArg(v: unknown, seen: Set<unknown> = new Set()): SerializedArg {
  if (isXComArg(v)) return { __xcomarg: { task_id: v.task.task_id, key: v.key } };
  if (isGroupArg(v)) return { __repr: `argument "${v.key}" of mapped task group ${v.group_id}` };
  if (v === null || typeof v === "string" || typeof v === "boolean") return v;
  if (typeof v === "number") return Number.isFinite(v) ? v : { __repr: String(v) };
  if (v === undefined) return null;
  if (typeof v === "function") return { __repr: `function ${v.name || "(anonymous)"}` };
  if (typeof v !== "object") return { __repr: String(v) };
  if (seen.has(v)) return { __repr: "[circular]" };
  seen.add(v);
  try {
    if (Array.isArray(v)) return v.map((x) => serializeArg(x, seen));
    if (v instanceof Date) return v.toISOString();
    const proto = Object.getPrototypeOf(v);
    if (proto !== Object.prototype && proto !== null) return { __repr: `${proto?.constructor?.name ?? "object"}` };
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, serializeArg(x, seen)]));
  } finally {
    seen.delete(v);
  }
}

function serializeExpandInput(e: TaskMapping["expand"]): SerializedExpandInput {
  return e.kind === "kwargs" ? { kind: "kwargs", source: serializeArg(e.source) } : { kind: e.kind, args: serializeArg(e.args) as Record<string, SerializedArg> };
}

function serializeTask(t: Task): SerializedTask {
  // A task in a mapped task group is expanded over the group's input (it cannot be mapped itself).
  const group = t.mapped_task_group;
  const base = {
    task_id: t.task_id,
    operator: OPERATOR_NAMES[t.kind],
    upstream_task_ids: [...t.upstream_task_ids].sort(),
    downstream_task_ids: [...t.downstream_task_ids].sort(),
    trigger_rule: t.trigger_rule,
    retries: t.retries,
    retry_delay_seconds: t.retry_delay_seconds,
    retry_exponential_backoff: t.retry_exponential_backoff,
    max_retry_delay_seconds: t.max_retry_delay_seconds,
    execution_timeout_seconds: t.execution_timeout_seconds,
    priority_weight: t.priority_weight,
    owner: t.owner,
    outlets: t.outlets,
    doc_md: t.doc_md,
    task_group_id: t.task_group_id,
    is_setup: t.is_setup,
    is_teardown: t.is_teardown,
    on_failure_fail_dagrun: t.on_failure_fail_dagrun,
    depends_on_past: t.depends_on_past,
    wait_for_downstream: t.wait_for_downstream,
    wait_for_past_depends_before_skipping: t.wait_for_past_depends_before_skipping,
    ignore_first_depends_on_past: t.ignore_first_depends_on_past,
    has_on_execute_callback: Boolean(t.callbacks.on_execute_callback),
    has_on_success_callback: Boolean(t.callbacks.on_success_callback),
    has_on_failure_callback: Boolean(t.callbacks.on_failure_callback),
    has_on_retry_callback: Boolean(t.callbacks.on_retry_callback),
    ...(t.mapping
      ? {
          expand_input: serializeExpandInput(t.mapping.expand),
          partial_kwargs: serializeArg(t.kind === "bash" ? {} : t.mapping.partial) as Record<string, SerializedArg>,
        }
      : {}),
    ...(group?.mapping ? { expand_input: serializeExpandInput(group.mapping.expand), mapped_task_group_id: group.group_id as string } : {}),
    ...(t.map_index_template ? { map_index_template: t.map_index_template } : {}),
  };
  switch (t.kind) {
    case "task":
    case "branch":
    case "short_circuit":
      return { ...base, kind: t.kind, op_args: t.args.map((a) => serializeArg(a)), multiple_outputs: t.multiple_outputs };
    case "bash":
      return {
        ...base,
        kind: "bash",
        bash_command: typeof t.command === "string" ? t.command : null,
        command_is_callable: typeof t.command === "function",
        env: t.env,
        append_env: t.append_env,
        cwd: t.cwd,
        skip_on_exit_code: t.skip_on_exit_code,
        multiple_outputs: false,
      };
    case "empty":
      return { ...base, kind: "empty", multiple_outputs: false };
    default: {
      const never: never = t;
      throw new Error(`unknown task kind ${JSON.stringify(never)}`);
    }
  }
}

function serializeTaskGroup(g: TaskGroup<unknown>): SerializedTaskGroup {
  return {
    group_id: g.group_id,
    label: g.label,
    tooltip: g.tooltip,
    prefix_group_id: g.prefix_group_id,
    ...(g.mapping ? { expand_input: serializeExpandInput(g.mapping.expand) } : {}),
    children: g.children.map((c) => (isTaskGroup(c) ? { type: "group" as const, ...serializeTaskGroup(c) } : { type: "task" as const, task_id: c.task_id })),
  };
}

export function serializeDag(d: Dag, where: { fileloc: string; relative_fileloc: string }): SerializedDag {
  const params: Record<string, SerializedParam> = {};
  for (const [k, p] of Object.entries(d.params)) {
    params[k] = { default: p.default === undefined ? null : serializeArg(p.default), schema: p.schema, description: p.description };
  }
  const tasks = [...d.tasks.values()].map(serializeTask);
  return {
    format_version: SERIALIZED_DAG_FORMAT_VERSION,
    dag_id: d.dag_id,
    fileloc: where.fileloc,
    relative_fileloc: where.relative_fileloc,
    timetable: d.timetable,
    timetable_summary: d.timetable_summary,
    start_date: d.start_date?.toISOString() ?? null,
    end_date: d.end_date?.toISOString() ?? null,
    timezone: d.timezone,
    catchup: d.catchup,
    params,
    max_active_runs: d.max_active_runs,
    max_active_tasks: d.max_active_tasks,
    max_consecutive_failed_dag_runs: d.max_consecutive_failed_dag_runs,
    dagrun_timeout_seconds: d.dagrun_timeout_seconds,
    tags: d.tags,
    owner: [...new Set(tasks.map((t) => t.owner))].join(", ") || "airflow",
    description: d.description,
    doc_md: d.doc_md,
    is_paused_upon_creation: d.is_paused_upon_creation,
    has_on_success_callback: Boolean(d.on_success_callback),
    has_on_failure_callback: Boolean(d.on_failure_callback),
    tasks,
    task_group: serializeTaskGroup(d.task_group),
  };
}

/** Problems only visible after serialization: a param default that breaks its own schema. */
export function checkSerializedDag(s: SerializedDag): string[] {
  const problems: string[] = [];
  for (const [name, p] of Object.entries(s.params)) {
    if (p.default === null) continue; // no default: the run's conf must give it
    for (const e of checkParamValue(name, p, p.default)) {
      problems.push(`DAG "${s.dag_id}": the default of ${e.message.replace(/^param /, "param ")}`);
    }
  }
  return problems;
}

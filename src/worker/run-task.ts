// Runs one task of a loaded DAG module with its context: the part of the worker that knows the
// task kinds. Returns the outcome; never throws.
import { coerceError, isOrchError } from "../errors.ts";
import type { CallableTask, BashTask, Dag, Task } from "../sdk/types.ts";
import type { TaskContext } from "../sdk/context.ts";
import { resolveXComArgs } from "../sdk/tasks.ts";
import { isSkipSignal, isFailSignal } from "../sdk/signals.ts";
import { isDeferSignal } from "../sdk/triggers.ts";
import { isRescheduleSignal } from "../sdk/sensors.ts";
import { renderFields, renderTemplate } from "../templating/index.ts";
import { runBash } from "./bash-runner.ts";
import type { TaskContextParts } from "./context.ts";
import type { RunTaskRequest, TaskOutcome } from "./protocol.ts";
import { checkXcomValue } from "./xcom-value.ts";
import { expandedArguments, mappedArguments, mappingRefs, xcomArgValue } from "./mapped-args.ts";

export interface RunTaskDeps {
  request: RunTaskRequest;
  dag: Dag;
  /** What TaskFlow functions receive as their last argument. */
  ctx: TaskContext;
  /** Template contexts and XCom reads (worker/context.ts). */
  parts: Pick<TaskContextParts, "templateContextFor" | "pullXcoms" | "recordRenderedFields">;
  /** XComs pushed by ti.xcom_push during the try. */
  pushed: { key: string; value: unknown }[];
  signal: AbortSignal;
  /** A bash command's process group started or is gone (protocol.ts `subprocess`). */
  onGroup?(pgid: number, running: boolean): void;
  log(line: string, level?: "INFO" | "WARNING" | "ERROR", source?: string): void;
}

/** The task's arguments with their XComArgs replaced by the upstream values, fetched in one read
 *  (a first pass over the arguments only collects which ones). A mapped task gets one object:
 *  its partial arguments and this instance's expanded values (mapped-args.ts). */
async function resolveArgs(task: Task, d: RunTaskDeps): Promise<unknown[]> {
  const refs: { taskId: string; key: string }[] = [];
  const args = task.kind === "task" || task.kind === "branch" || task.kind === "short_circuit" ? task.args : [];
  resolveXComArgs(args, (taskId, key) => void refs.push({ taskId, key }));
  if (task.mapping) refs.push(...mappingRefs(task.mapping));
  // A task in a mapped task group: the group's arguments are this instance's elements of the
  // lists the group expands over.
  const group = task.mapped_task_group?.mapping ? task.mapped_task_group : null;
  if (group?.mapping) refs.push(...mappingRefs(group.mapping));
  if (refs.length === 0 && !task.mapping && !group) return args as unknown[];
  const entries = refs.length ? await d.parts.pullXcoms(refs) : [];
  const mapIndex = d.request.mapIndex;
  const pull = (taskId: string, key: string) => xcomArgValue(d.dag, entries, taskId, key, { task, mapIndex });
  if (task.mapping) return [mappedArguments(task, mapIndex, pull)];
  let groupArgs: Record<string, unknown> | undefined;
  const groupArg = (_groupId: string, key: string) => {
    if (!group?.mapping || mapIndex < 0) throw new Error(`task ${task.task_id} takes argument "${key}" of a mapped task group but runs as no instance of one (map_index ${mapIndex})`);
    groupArgs ??= expandedArguments(`task group ${group.group_id}`, group.mapping, mapIndex, (taskId, key) => xcomArgValue(d.dag, entries, taskId, key));
    return groupArgs[key];
  };
  return resolveXComArgs(args, pull, groupArg) as unknown[];
}

/** Every string in a templated field (a string, or arrays and plain objects of them). */
function templateStrings(v: unknown, out: string[] = []): string[] {
  if (typeof v === "string") out.push(v);
  else if (Array.isArray(v)) for (const x of v) templateStrings(x, out);
  else if (v !== null && typeof v === "object" && Object.getPrototypeOf(v) === Object.prototype) for (const x of Object.values(v)) templateStrings(x, out);
  return out;
}

/** A resumed try (after deferral) calls the method the task deferred to, with the event. */
async function callOrResume(task: CallableTask, d: RunTaskDeps): Promise<unknown> {
  const method = d.request.nextMethod;
  if (!method) return task.callable(...(await resolveArgs(task, d)), d.ctx);
  const { event, ...kwargs } = d.request.nextKwargs ?? {};
  if (method === "__fail__") throw new Error(String((d.request.nextKwargs ?? {}).error ?? "the trigger failed"));
  const fn = task.methods?.[method];
  if (typeof fn !== "function") {
    throw new Error(`task ${task.task_id} deferred to method "${method}", which it does not define; its methods: ${Object.keys(task.methods ?? {}).join(", ") || "none"}`);
  }
  d.log(`Resuming after deferral in ${method}`);
  return fn(event, d.ctx, kwargs);
}

async function runCallable(task: CallableTask, d: RunTaskDeps): Promise<TaskOutcome> {
  const result = await callOrResume(task, d);
  const xcoms: { key: string; value: unknown }[] = [...d.pushed];
  if (task.kind === "branch") {
    const follow = result === null || result === undefined ? [] : typeof result === "string" ? [result] : [...(result as string[])];
    for (const id of follow) {
      if (typeof id !== "string") throw new Error(`branch task ${task.task_id} returned ${JSON.stringify(result)}; expected a task id or a list of task ids`);
      if (!isDownstream(d.dag, task, id)) {
        throw new Error(`branch task ${task.task_id} chose "${id}", which is not downstream of it; downstream: ${[...task.downstream_task_ids].join(", ") || "none"}`);
      }
    }
    if (result !== undefined) xcoms.push({ key: "return_value", value: result });
    return { state: "success", xcoms: checked(task, xcoms, d), decision: { kind: "branch", follow } };
  }
  if (task.kind === "short_circuit") {
    const proceed = Boolean(result);
    d.log(proceed ? "Condition result is truthy: proceeding with downstream tasks" : "Condition result is falsy: skipping downstream tasks");
    if (result !== undefined) xcoms.push({ key: "return_value", value: result });
    return { state: "success", xcoms: checked(task, xcoms, d), decision: { kind: "short_circuit", proceed } };
  }
  if (result !== undefined) {
    xcoms.push({ key: "return_value", value: result });
    if (task.multiple_outputs) {
      if (typeof result !== "object" || result === null || Array.isArray(result)) {
        throw new Error(`task ${task.task_id} has multiple_outputs but returned ${Array.isArray(result) ? "an array" : typeof result}; it must return a plain object`);
      }
      for (const [k, v] of Object.entries(result as Record<string, unknown>)) xcoms.push({ key: k, value: v });
    }
  }
  return { state: "success", xcoms: checked(task, xcoms, d) };
}

function isDownstream(dag: Dag, task: Task, id: string): boolean {
  const seen = new Set<string>();
  const stack = [...task.downstream_task_ids];
  while (stack.length) {
    const t = stack.pop()!;
    if (t === id) return true;
    if (seen.has(t)) continue;
    seen.add(t);
    stack.push(...(dag.tasks.get(t)?.downstream_task_ids ?? []));
  }
  return false;
}

function checked(task: Task, xcoms: { key: string; value: unknown }[], d: RunTaskDeps) {
  for (const x of xcoms) checkXcomValue(task.task_id, x.key, x.value, d.request.maxXcomBytes);
  return xcoms;
}

async function runBashTask(declared: BashTask, d: RunTaskDeps): Promise<TaskOutcome> {
  // A mapped bash task: this instance's command and env replace the partial ones.
  let task = declared;
  if (declared.mapping) {
    const own = (await resolveArgs(declared, d))[0] as { command?: BashTask["command"]; env?: Record<string, string> | null };
    task = { ...declared, command: own.command ?? declared.command, env: own.env ?? declared.env };
  }
  const templates = templateStrings([typeof task.command === "string" ? task.command : null, task.env ?? null, task.cwd ?? null]);
  const templateContext = await d.parts.templateContextFor(templates);
  const command = typeof task.command === "function" ? await task.command(d.ctx) : renderTemplate(task.command, templateContext);
  if (typeof command !== "string" || command.trim() === "") {
    throw new Error(`bash task ${task.task_id}: the command is empty after rendering`);
  }
  const env = task.env ? (renderFields(task.env, templateContext) as Record<string, string>) : undefined;
  const cwd = task.cwd ? (renderTemplate(task.cwd, templateContext) as string) : undefined;
  // BashOperator's template_fields, recorded before the command runs (Airflow's RTIF). They are
  // for people looking at the try: a parent that cannot record them does not stop the command.
  try {
    await d.parts.recordRenderedFields({ bash_command: command, env: env ?? null, cwd: cwd ?? null });
  } catch (e) {
    d.log(`the rendered fields were not recorded: ${(e as Error)?.message ?? String(e)}`, "WARNING");
  }
  const ctxEnv = airflowCtxEnv(d.request);
  d.log(`Running command: ${command}`);
  const r = await runBash({
    command,
    env: env ? { ...env, ...ctxEnv } : { ...(process.env as Record<string, string>), ...ctxEnv },
    appendEnv: task.append_env,
    cwd,
    skipOnExitCode: task.skip_on_exit_code,
    killGraceMs: d.request.killGraceMs,
    signal: d.signal,
    onLine: (line, stream) => d.log(line, "INFO", stream),
    onGroup: d.onGroup,
  });
  switch (r.outcome) {
    case "success": {
      const xcoms = [...d.pushed, { key: "return_value", value: r.lastLine }];
      return { state: "success", xcoms: checked(task, xcoms, d) };
    }
    case "skipped":
      return { state: "skipped", reason: r.message };
    case "failed":
    case "timeout":
    case "aborted":
      return { state: "failed", error: { message: r.message, retryable: true } };
  }
}

/** Airflow's AIRFLOW_CTX_* variables, so scripts know which run they serve. */
function airflowCtxEnv(r: RunTaskRequest): Record<string, string> {
  return {
    AIRFLOW_CTX_DAG_ID: r.dagId,
    AIRFLOW_CTX_TASK_ID: r.taskId,
    AIRFLOW_CTX_DAG_RUN_ID: r.runId,
    AIRFLOW_CTX_TRY_NUMBER: String(r.tryNumber),
    ...(r.dagRun.logical_date ? { AIRFLOW_CTX_LOGICAL_DATE: r.dagRun.logical_date } : {}),
  };
}

/** A task in a mapped task group: the group's arguments at this instance's map index. */
async function groupArguments(task: Task, d: RunTaskDeps): Promise<Record<string, unknown>> {
  const m = task.mapped_task_group!.mapping!;
  const refs = mappingRefs(m);
  const entries = refs.length ? await d.parts.pullXcoms(refs) : [];
  return expandedArguments(`task group ${task.mapped_task_group!.group_id}`, m, d.request.mapIndex, (taskId, key) => xcomArgValue(d.dag, entries, taskId, key));
}

export async function runTask(task: Task, d: RunTaskDeps): Promise<TaskOutcome> {
  const outcome = await runTaskOnce(task, d);
  if (!(task.mapping || task.mapped_task_group?.mapping) || !task.map_index_template || d.request.mapIndex < 0) return outcome;
  return { ...outcome, rendered_map_index: await renderMapIndex(task, task.map_index_template, d) };
}

/** Airflow's _render_map_index: the template sees the context and this instance's arguments as
 *  `task` (`"{{ task.x }}"`; in a mapped task group, the group's arguments). A template that fails
 *  to render leaves a message, not a failed try. */
async function renderMapIndex(task: Task, template: string, d: RunTaskDeps): Promise<string> {
  try {
    const [args] = task.mapping ? await resolveArgs(task, d) : [await groupArguments(task, d)];
    const context = await d.parts.templateContextFor([template]);
    return renderTemplate(template, { ...context, task: args });
  } catch (e) {
    d.log(`map_index_template of ${task.task_id} did not render: ${(e as Error).message}`, "WARNING");
    return String(d.request.mapIndex);
  }
}

async function runTaskOnce(task: Task, d: RunTaskDeps): Promise<TaskOutcome> {
  try {
    switch (task.kind) {
      case "task":
      case "branch":
      case "short_circuit":
        return await runCallable(task, d);
      case "bash":
        return await runBashTask(task, d);
      case "empty":
        return { state: "success", xcoms: [] };
    }
  } catch (e) {
    if (isRescheduleSignal(e)) {
      d.log(`Poke found nothing; rescheduling to ${e.rescheduleAt.toISOString()}`);
      return { state: "up_for_reschedule", rescheduleAt: e.rescheduleAt.toISOString(), kwargs: e.kwargs };
    }
    if (isDeferSignal(e)) {
      const { trigger, method, kwargs, timeoutSeconds } = e.defer;
      d.log(`Pausing task as DEFERRED. dag_id=${d.request.dagId}, task_id=${d.request.taskId}, run_id=${d.request.runId}; trigger ${trigger.classpath}`);
      return { state: "deferred", trigger: { classpath: trigger.classpath, kwargs: trigger.kwargs }, method, kwargs, timeoutSeconds, xcoms: checked(task, [...d.pushed], d) };
    }
    if (isSkipSignal(e)) return { state: "skipped", reason: (e as Error).message || "the task asked to be skipped" };
    const err = coerceError(e);
    // Retrying cannot fix a value that is not JSON or too large, a bad template, or an explicit fail.
    const retryable = !(isFailSignal(e) || isOrchError(err, "ORCH_XCOM_NOT_JSON") || isOrchError(err, "ORCH_XCOM_TOO_LARGE"));
    return { state: "failed", error: { message: `${err.name === "Error" ? "" : `${err.name}: `}${err.message}`, stack: err.stack, retryable } };
  }
}

// Task kinds (TaskFlow task, branch, short_circuit, bash, empty), XComArgs and edges.
import { TASKFN_BRAND, TASKGROUP_BRAND, TASK_BRAND, XCOMARG_BRAND, hasBrand } from "./brand.ts";
import { checkInMappedGroup, isGroupArg, isPlainObject, mappedGroupOf } from "./group-args.ts";
import type { TaskContext } from "./context.ts";
import { currentDag, type DagUnderConstruction } from "./current.ts";
import { DagDefinitionError } from "./errors.ts";
import { assetProblemOf, assetRef, durationSeconds } from "./schedule.ts";
import type { Duration } from "./timetable-spec.ts";
import { TRIGGER_RULES, isTriggerRule } from "./trigger-rule.ts";
import type {
  BaseTaskOptions,
  BashOptions,
  BashPartial,
  BashTask,
  CallArgs,
  CallableTask,
  Dependable,
  EmptyOptions,
  EmptyTask,
  ExpandInput,
  MappedXComArg,
  Task,
  TaskMapping,
  TaskFlowOptions,
  TaskFn,
  TaskGroup,
  TaskKind,
  TeardownOptions,
  XComArg,
} from "./types.ts";

/** Airflow's KEY_REGEX for dag and task ids. */
export const ID_PATTERN = /^[a-zA-Z0-9_.-]+$/;
const MAX_ID_LENGTH = 250;

export function checkId(id: unknown, what: "dag_id" | "task_id", dag_id?: string): string {
  if (typeof id !== "string" || !ID_PATTERN.test(id) || id.length > MAX_ID_LENGTH) {
    throw new DagDefinitionError(
      `${what} ${JSON.stringify(id)}${dag_id ? ` in DAG "${dag_id}"` : ""} is invalid: use letters, digits, "_", "." and "-" (at most ${MAX_ID_LENGTH})`,
      { dag_id, field: what },
    );
  }
  return id;
}

export function isTask(v: unknown): v is Task {
  return hasBrand(v, TASK_BRAND);
}

export function isXComArg(v: unknown): v is XComArg<unknown> {
  return hasBrand(v, XCOMARG_BRAND);
}

/** The tasks an edge leaves from (side "up": a group's leaves) or reaches (side "down": a group's roots). */
function tasksOf(next: Dependable | readonly Dependable[], where: string, side: "up" | "down"): Task[] {
  const items = Array.isArray(next) ? (next as readonly Dependable[]) : [next as Dependable];
  return items.flatMap((n) => {
    if (isTask(n)) return [n];
    if (isXComArg(n)) return [n.task];
    if (hasBrand(n, TASKGROUP_BRAND)) {
      const g = n as TaskGroup<unknown>;
      return side === "up" ? g.leaves() : g.roots();
    }
    if (hasBrand(n, TASKFN_BRAND)) {
      throw new DagDefinitionError(`${where}: got the task function "${(n as unknown as TaskFn<[], unknown>).task_id}" itself; call it first, e.g. ${(n as unknown as TaskFn<[], unknown>).task_id}()`);
    }
    throw new DagDefinitionError(`${where}: expected a task or a task's output, got ${typeof n === "function" ? "a function" : JSON.stringify(n)}`);
  });
}

function addEdge(from: Task, to: Task): void {
  if (from.dag_id !== to.dag_id) {
    throw new DagDefinitionError(`cannot set "${to.task_id}" (DAG "${to.dag_id}") downstream of "${from.task_id}" (DAG "${from.dag_id}"): tasks are in different DAGs`, {
      dag_id: from.dag_id,
    });
  }
  if (from === to) throw new DagDefinitionError(`task "${from.task_id}" in DAG "${from.dag_id}" cannot depend on itself (cycle: ${from.task_id} -> ${from.task_id})`, { dag_id: from.dag_id });
  from.downstream_task_ids.add(to.task_id);
  to.upstream_task_ids.add(from.task_id);
}

/** Edges from every task `up` ends at to every task `down` starts at (groups: leaves to roots). */
export function connect(up: Dependable | readonly Dependable[], down: Dependable | readonly Dependable[], where: string): void {
  for (const from of tasksOf(up, where, "up")) for (const to of tasksOf(down, where, "down")) addEdge(from, to);
}

function thenFrom(task: () => Task) {
  return function then<N extends Dependable | readonly Dependable[]>(next: N): N {
    const from = task();
    connect(from, next, `${from.task_id}.then()`);
    return next;
  };
}

type MutableTask = { -readonly [K in keyof Task]: Task[K] };

function markSetup(t: Task): void {
  if (t.is_teardown) throw new DagDefinitionError(`cannot mark task "${t.task_id}" in DAG "${t.dag_id}" as setup; it is already a teardown`, { dag_id: t.dag_id, field: "setup" });
  (t as MutableTask).is_setup = true;
}

/** Airflow's as_teardown: trigger rule all_done_setup_success; each setup is marked and set upstream. */
function markTeardown(t: Task, opts: TeardownOptions = {}): void {
  if (t.is_setup) throw new DagDefinitionError(`cannot mark task "${t.task_id}" in DAG "${t.dag_id}" as teardown; it is already a setup`, { dag_id: t.dag_id, field: "teardown" });
  if (typeof opts !== "object" || opts === null) throw new DagDefinitionError(`task "${t.task_id}" in DAG "${t.dag_id}": asTeardown() takes options such as { setups: create_cluster }`, { dag_id: t.dag_id, field: "teardown" });
  const m = t as MutableTask;
  m.is_teardown = true;
  m.trigger_rule = "all_done_setup_success";
  if (opts.on_failure_fail_dagrun !== undefined) m.on_failure_fail_dagrun = Boolean(opts.on_failure_fail_dagrun);
  if (opts.setups !== undefined) {
    const setups = tasksOf(opts.setups as Dependable | readonly Dependable[], `task "${t.task_id}".asTeardown({ setups })`, "up");
    for (const s of setups) {
      markSetup(s);
      addEdge(s, t);
    }
  }
}

function makeXComArg<T>(task: () => Task, key: string): XComArg<T> {
  return {
    [XCOMARG_BRAND]: true,
    get task() {
      return task();
    },
    key,
    then: thenFrom(task),
    get: <K extends string>(k: K) => makeXComArg<T extends Record<K, infer V> ? V : unknown>(task, k),
    asSetup() {
      markSetup(task());
      return this;
    },
    asTeardown(opts?: TeardownOptions) {
      markTeardown(task(), opts);
      return this;
    },
  };
}

/** chain(a, [b, c], d): a -> b, a -> c, b -> d, c -> d. Two adjacent lists pair up element-wise
 *  and must be the same length (Airflow's chain). */
export function chain(...items: (Dependable | readonly Dependable[])[]): void {
  for (let i = 0; i + 1 < items.length; i++) {
    const up = items[i];
    const down = items[i + 1];
    if (Array.isArray(up) && Array.isArray(down)) {
      if (up.length !== down.length) {
        throw new DagDefinitionError(`chain(): adjacent lists must have the same length, got ${up.length} and ${down.length}`);
      }
      up.forEach((u: Dependable, j: number) => {
        connect(u, down[j] as Dependable, "chain()");
      });
    } else {
      connect(up, down, "chain()");
    }
  }
}

function seconds(v: number | Duration | undefined, field: string, task_id: string, dag_id: string): number | null {
  if (v === undefined || v === null) return null;
  try {
    return durationSeconds(v, field);
  } catch (e) {
    throw new DagDefinitionError(`task "${task_id}" in DAG "${dag_id}": ${(e as Error).message}`, { dag_id, field });
  }
}

/** A task's outlets, each URI checked here so the import error names the DAG and the task. */
function checkedOutlets(outlets: BaseTaskOptions["outlets"], task_id: string, dag_id: string) {
  if (outlets === undefined) return [];
  if (!Array.isArray(outlets)) throw new DagDefinitionError(`task "${task_id}" in DAG "${dag_id}": outlets must be a list of Assets`, { dag_id, field: "outlets" });
  return outlets.map((a) => {
    if (typeof a !== "object" || a === null || typeof a.uri !== "string") {
      throw new DagDefinitionError(`task "${task_id}" in DAG "${dag_id}": outlets must hold Assets, got ${JSON.stringify(a)}`, { dag_id, field: "outlets" });
    }
    const problem = assetProblemOf(a);
    if (problem) throw new DagDefinitionError(`task "${task_id}" in DAG "${dag_id}": outlet has an invalid asset URI ${JSON.stringify(a.uri)}: ${problem}`, { dag_id, field: "outlets" });
    return assetRef(a);
  });
}

function nonNegativeInt(v: unknown, field: string, task_id: string, dag_id: string): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < 0) {
    throw new DagDefinitionError(`task "${task_id}" in DAG "${dag_id}": ${field} must be a non-negative integer, got ${JSON.stringify(v)}`, { dag_id, field });
  }
  return v;
}

/** asSetup() / asTeardown(), shared by every task kind (they return the task itself). */
const ROLE_METHODS = {
  asSetup<T extends Task>(this: T): T {
    markSetup(this);
    return this;
  },
  asTeardown<T extends Task>(this: T, o?: TeardownOptions): T {
    markTeardown(this, o);
    return this;
  },
};

type Base = Omit<CallableTask, "kind" | "callable" | "args" | "multiple_outputs" | "methods" | "output" | "then" | "mapping" | "asSetup" | "asTeardown"> & typeof ROLE_METHODS;

/** The DAG's default_args under the current task group's (which include its enclosing groups'). */
function defaultArgsOf(d: DagUnderConstruction) {
  return { ...d.default_args, ...d.group.default_args };
}

/** A task's id inside the current group: "group.label" when the group prefixes its children. */
function groupedId(d: DagUnderConstruction, label: string): string {
  return d.group.childId(label);
}

function resolveBase(label: string, opts: BaseTaskOptions, d: DagUnderConstruction): Base {
  const da = defaultArgsOf(d);
  const dag_id = d.dag_id;
  const task_id = groupedId(d, label);
  const wait_for_downstream = Boolean(opts.wait_for_downstream ?? da.wait_for_downstream ?? false);
  const trigger_rule = opts.trigger_rule ?? da.trigger_rule ?? "all_success";
  if (!isTriggerRule(trigger_rule)) {
    throw new DagDefinitionError(
      `task "${task_id}" in DAG "${dag_id}": unknown trigger_rule ${JSON.stringify(trigger_rule)}; expected one of ${TRIGGER_RULES.join(", ")}`,
      { dag_id, field: "trigger_rule" },
    );
  }
  const priority_weight = opts.priority_weight ?? da.priority_weight ?? 1;
  if (typeof priority_weight !== "number" || !Number.isInteger(priority_weight)) {
    throw new DagDefinitionError(`task "${task_id}" in DAG "${dag_id}": priority_weight must be an integer`, { dag_id, field: "priority_weight" });
  }
  return {
    [TASK_BRAND]: true,
    task_id,
    dag_id,
    trigger_rule,
    retries: nonNegativeInt(opts.retries ?? da.retries ?? 0, "retries", task_id, dag_id),
    retry_delay_seconds: seconds(opts.retry_delay ?? da.retry_delay ?? 300, "retry_delay", task_id, dag_id) ?? 300,
    retry_exponential_backoff: Boolean(opts.retry_exponential_backoff ?? da.retry_exponential_backoff ?? false),
    max_retry_delay_seconds: seconds(opts.max_retry_delay ?? da.max_retry_delay, "max_retry_delay", task_id, dag_id),
    execution_timeout_seconds: seconds(opts.execution_timeout ?? da.execution_timeout, "execution_timeout", task_id, dag_id),
    priority_weight,
    owner: opts.owner ?? da.owner ?? "airflow",
    outlets: checkedOutlets(opts.outlets, task_id, dag_id),
    doc_md: opts.doc_md ?? null,
    map_index_template: opts.map_index_template ?? null,
    callbacks: {
      on_execute_callback: opts.on_execute_callback ?? da.on_execute_callback,
      on_success_callback: opts.on_success_callback ?? da.on_success_callback,
      on_failure_callback: opts.on_failure_callback ?? da.on_failure_callback,
      on_retry_callback: opts.on_retry_callback ?? da.on_retry_callback,
    },
    upstream_task_ids: new Set<string>(),
    downstream_task_ids: new Set<string>(),
    task_group_id: d.group.group_id,
    mapped_task_group: mappedGroupOf(d.group),
    // Airflow's BaseOperator: wait_for_downstream implies depends_on_past.
    depends_on_past: wait_for_downstream || Boolean(opts.depends_on_past ?? da.depends_on_past ?? false),
    wait_for_downstream,
    wait_for_past_depends_before_skipping: Boolean(opts.wait_for_past_depends_before_skipping ?? da.wait_for_past_depends_before_skipping ?? false),
    ignore_first_depends_on_past: Boolean(opts.ignore_first_depends_on_past ?? da.ignore_first_depends_on_past ?? false),
    is_setup: false,
    is_teardown: false,
    on_failure_fail_dagrun: false,
    ...ROLE_METHODS,
  };
}

function register<T extends Task>(d: DagUnderConstruction, t: T): T {
  if (d.tasks.has(t.task_id)) {
    throw new DagDefinitionError(`duplicate task_id "${t.task_id}" in DAG "${d.dag_id}": each task needs its own task_id`, { dag_id: d.dag_id, field: "task_id" });
  }
  if (d.groupIds.has(t.task_id)) {
    throw new DagDefinitionError(`task_id "${t.task_id}" in DAG "${d.dag_id}" is already the id of a task group`, { dag_id: d.dag_id, field: "task_id" });
  }
  d.tasks.set(t.task_id, t);
  (d.group.children as Task[]).push(t);
  return t;
}

/** Airflow's get_unique_task_id: the label as written if its id is free in the current group, else
 *  "label__N" with N one more than the highest suffix taken. */
function uniqueLabel(d: DagUnderConstruction, label: string): string {
  if (!d.tasks.has(groupedId(d, label))) return label;
  const core = label.replace(/__\d+$/, "");
  let highest = 0;
  const escaped = groupedId(d, core).replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const pattern = new RegExp(`^${escaped}__(\\d+)$`);
  for (const id of d.tasks.keys()) {
    const m = pattern.exec(id);
    if (m) highest = Math.max(highest, Number(m[1]));
  }
  return `${core}__${highest + 1}`;
}

/** Every XComArg inside a value (arrays and plain objects are searched). */
export function findXComArgs(v: unknown, out: XComArg<unknown>[] = []): XComArg<unknown>[] {
  if (isXComArg(v)) out.push(v);
  else if (isGroupArg(v)) return out;
  else if (Array.isArray(v)) for (const x of v) findXComArgs(x, out);
  else if (isPlainObject(v)) for (const x of Object.values(v)) findXComArgs(x, out);
  return out;
}


/** The worker's half of TaskFlow: replaces each XComArg in `v` (deeply) by `pull(task_id, key)`,
 *  and each mapped task group argument by `groupArg(group_id, key)` (left as is without one). */
export function resolveXComArgs(v: unknown, pull: (task_id: string, key: string) => unknown, groupArg?: (group_id: string, key: string) => unknown): unknown {
  if (isXComArg(v)) return pull(v.task.task_id, v.key);
  if (isGroupArg(v)) return groupArg ? groupArg(v.group_id, v.key) : v;
  if (Array.isArray(v)) return v.map((x) => resolveXComArgs(x, pull, groupArg));
  if (isPlainObject(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, resolveXComArgs(x, pull, groupArg)]));
  return v;
}

function makeTaskFn<A extends unknown[], R>(kind: "task" | "branch" | "short_circuit", opts: TaskFlowOptions, fn: (...args: never[]) => unknown): TaskFn<A, R> {
  if (typeof opts !== "object" || opts === null) throw new DagDefinitionError(`task(): the first argument must be options such as { task_id: "extract" }`);
  const baseId = checkId(opts.task_id, "task_id");
  if (typeof fn !== "function") throw new DagDefinitionError(`task "${baseId}": the second argument must be the task's function`, { field: "task_id" });
  // The same TaskFlow function called twice in one DAG (or group) gets ids "x", "x__1", ...
  // (Airflow's get_unique_task_id); a different definition reusing an id is a duplicate.
  const mine = new WeakSet<Task>();
  const add = (args: unknown[], mapping: TaskMapping | null): CallableTask => {
    const d = currentDag(`task "${baseId}"`);
    checkInMappedGroup(d, baseId, kind, mapping !== null, [args, mapping?.partial ?? null]);
    const taken = d.tasks.get(groupedId(d, baseId));
    const task_id = taken && mine.has(taken) ? uniqueLabel(d, baseId) : baseId;
    let self: CallableTask;
    const output = makeXComArg<unknown>(() => self, "return_value");
    self = register(d, {
      ...resolveBase(task_id, opts, d),
      kind,
      callable: fn as (...args: unknown[]) => unknown,
      args,
      multiple_outputs: Boolean(opts.multiple_outputs),
      methods: { ...(opts.methods ?? {}) },
      mapping,
      output,
      then: thenFrom(() => self),
    });
    mine.add(self);
    for (const x of findXComArgs([args, mapping?.partial ?? null, mapping ? expandSources(mapping.expand) : null])) addEdge(x.task, self);
    return self;
  };
  const call = (...args: unknown[]): XComArg<R> => add(args, null).output as XComArg<R>;
  const mapped = (partial: Record<string, unknown>) => ({
    expand: (m: Record<string, unknown>) => mappedOutput(add([], { partial, expand: { kind: "product", args: checkExpandArgs(`task "${baseId}"`, m) } })),
    expand_kwargs: (source: unknown) => mappedOutput(add([], { partial, expand: { kind: "kwargs", source: checkKwargsSource(`task "${baseId}"`, source) } })),
  });
  return Object.assign(call, {
    [TASKFN_BRAND]: true as const,
    task_id: baseId,
    ...mapped({}),
    partial: (fixed: Record<string, unknown>) => {
      if (!isPlainObject(fixed)) throw new DagDefinitionError(`task "${baseId}": partial() takes an object of fixed arguments, e.g. partial({ y: 1 })`, { field: "partial" });
      return mapped({ ...fixed });
    },
  }) as unknown as TaskFn<A, R>;
}

/** The lists a mapped task expands over (for edges and checks). */
export function expandSources(e: ExpandInput): unknown[] {
  return e.kind === "kwargs" ? [e.source] : Object.values(e.args);
}

/** `where` names the culprit: `task "double"` or `task group "per_file"`. */
export function checkExpandArgs(where: string, m: unknown): Record<string, unknown> {
  if (!isPlainObject(m) || Object.keys(m).length === 0) {
    throw new DagDefinitionError(`${where}: expand() takes an object of lists, e.g. expand({ x: [1, 2, 3] }) or expand({ x: upstream() })`, { field: "expand" });
  }
  for (const [k, v] of Object.entries(m)) {
    if (!Array.isArray(v) && !isXComArg(v)) {
      throw new DagDefinitionError(`${where}: expand() argument "${k}" must be a list or an upstream task's output, got ${JSON.stringify(v) ?? typeof v}`, { field: "expand" });
    }
  }
  return { ...m };
}

export function checkKwargsSource(where: string, source: unknown): unknown {
  if (isXComArg(source)) return source;
  if (!Array.isArray(source) || !source.every(isPlainObject)) {
    throw new DagDefinitionError(`${where}: expand_kwargs() takes a list of argument objects or an upstream task's output`, { field: "expand_kwargs" });
  }
  return [...source];
}

/** A mapped task's output, with `.zip()` to pair its expanded lists instead of crossing them. */
function mappedOutput<R>(t: Task): MappedXComArg<R> {
  const out = makeXComArg<R[]>(() => t, "return_value");
  const zip = (): MappedXComArg<R> => {
    const m = t.mapping!;
    if (m.expand.kind !== "product") throw new DagDefinitionError(`task "${t.task_id}": zip() pairs the lists of expand(); expand_kwargs() has none`, { dag_id: t.dag_id, field: "expand" });
    m.expand = { kind: "zip", args: m.expand.args };
    return mapped;
  };
  const mapped: MappedXComArg<R> = Object.assign(out, { zip });
  return mapped;
}

export type BranchResult = string | readonly string[] | null | undefined | void;

interface TaskFactory {
  /** A sensor: `task.sensor({ task_id, poke_interval, mode }, async (ctx) => done)` (sensors.ts). */
  sensor: typeof import("./sensors.ts").sensor;
  /** A TaskFlow task: its return value is its XCom. The function gets the values it is called
   *  with, then the context: `task({ task_id: "x" }, async (ctx) => ...)`, or with upstream
   *  values `task({ task_id: "y" }, async (n: number, ctx: TaskContext) => ...)`. */
  <R>(opts: TaskFlowOptions, fn: (ctx: TaskContext) => R): TaskFn<[], Awaited<R>>;
  <A extends unknown[], R>(opts: TaskFlowOptions, fn: (...args: A) => R): TaskFn<CallArgs<A>, Awaited<R>>;
  /** Returns the task id(s) to follow; the other direct downstream tasks are skipped. */
  branch: {
    <R extends BranchResult | Promise<BranchResult>>(opts: TaskFlowOptions, fn: (ctx: TaskContext) => R): TaskFn<[], Awaited<R>>;
    <A extends unknown[], R extends BranchResult | Promise<BranchResult>>(opts: TaskFlowOptions, fn: (...args: A) => R): TaskFn<CallArgs<A>, Awaited<R>>;
  };
  /** A falsy return value skips every downstream task (Airflow's ShortCircuitOperator). */
  short_circuit: {
    <R>(opts: TaskFlowOptions, fn: (ctx: TaskContext) => R): TaskFn<[], Awaited<R>>;
    <A extends unknown[], R>(opts: TaskFlowOptions, fn: (...args: A) => R): TaskFn<CallArgs<A>, Awaited<R>>;
  };
}

export const task: TaskFactory = Object.assign(
  (opts: TaskFlowOptions, fn: (...args: never[]) => unknown) => makeTaskFn("task", opts, fn),
  {
    branch: (opts: TaskFlowOptions, fn: (...args: never[]) => unknown) => makeTaskFn("branch", opts, fn),
    short_circuit: (opts: TaskFlowOptions, fn: (...args: never[]) => unknown) => makeTaskFn("short_circuit", opts, fn),
    // Filled in by sensors.ts, which builds on task() (an import here would be circular).
    sensor: undefined as unknown as TaskFactory["sensor"],
  },
) as TaskFactory;

/** Runs a shell command (Airflow's BashOperator); the last line of stdout is its XCom. */
export function bash(opts: BashOptions): BashTask {
  return addBash(opts, null);
}

function addBash(opts: BashOptions, mapping: TaskMapping | null): BashTask {
  const task_id = checkId(opts?.task_id, "task_id");
  const d = currentDag(`bash task "${task_id}"`);
  checkInMappedGroup(d, task_id, "bash", mapping !== null, null);
  const commandMapped = mapping !== null && (mapping.expand.kind === "kwargs" || "command" in mapping.expand.args);
  if (!commandMapped && typeof opts.command !== "string" && typeof opts.command !== "function") {
    throw new DagDefinitionError(`task "${task_id}" in DAG "${d.dag_id}": command must be a string template or a function of the context`, { dag_id: d.dag_id, field: "command" });
  }
  const skip = opts.skip_on_exit_code === undefined ? [99] : opts.skip_on_exit_code === null ? [] : typeof opts.skip_on_exit_code === "number" ? [opts.skip_on_exit_code] : [...opts.skip_on_exit_code];
  let self: BashTask;
  self = register(d, {
    ...resolveBase(task_id, opts, d),
    kind: "bash",
    command: opts.command ?? "",
    env: opts.env ? { ...opts.env } : null,
    append_env: Boolean(opts.append_env),
    cwd: opts.cwd ?? null,
    skip_on_exit_code: skip,
    mapping,
    output: makeXComArg<string>(() => self, "return_value"),
    then: thenFrom(() => self),
  });
  if (mapping) for (const x of findXComArgs(expandSources(mapping.expand))) addEdge(x.task, self);
  return self;
}

const BASH_EXPANDABLE = new Set(["command", "env"]);

/** `bash.partial({ task_id, ... }).expand({ command: [...] })`: a mapped bash task. */
bash.partial = function partial(fixed: Omit<BashOptions, "command"> & { command?: BashOptions["command"] }): BashPartial {
  const make = (expand: ExpandInput) => mappedOutput<string>(addBash({ command: "", ...fixed } as BashOptions, { partial: { ...fixed }, expand }));
  return {
    expand(m) {
      const args = checkExpandArgs(`task "${fixed?.task_id}"`, m);
      for (const k of Object.keys(args)) {
        if (!BASH_EXPANDABLE.has(k)) throw new DagDefinitionError(`bash task "${fixed.task_id}": only command and env can be expanded, not "${k}"`, { field: "expand" });
      }
      return make({ kind: "product", args });
    },
    expand_kwargs(source) {
      return make({ kind: "kwargs", source: checkKwargsSource(`task "${fixed?.task_id}"`, source) });
    },
  };
};

/** A task that does nothing (Airflow's EmptyOperator): a join or fork point in the graph. */
export function empty(opts: EmptyOptions): EmptyTask {
  const task_id = checkId(opts?.task_id, "task_id");
  const d = currentDag(`empty task "${task_id}"`);
  checkInMappedGroup(d, task_id, "empty", false, null);
  let self: EmptyTask;
  self = register(d, {
    ...resolveBase(task_id, opts, d),
    kind: "empty",
    mapping: null,
    output: makeXComArg<unknown>(() => self, "return_value"),
    then: thenFrom(() => self),
  });
  return self;
}

export type { TaskKind };

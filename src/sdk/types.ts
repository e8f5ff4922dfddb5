// The SDK's in-memory objects: what a DAG file builds and what the worker runs.
//
// Runtime contract for the worker (src/worker):
// - CallableTask (kind "task" | "branch" | "short_circuit"): call
//   `task.callable(...resolveXComArgs(task.args, pull), ctx)`: the task's arguments with every
//   XComArg replaced by the pulled value, then the context as one extra, last argument.
//   "branch" returns the task id(s) to follow (string | string[] | null); "short_circuit" returns
//   a value whose truthiness decides whether downstream tasks run.
// - BashTask: render `command` (a template string, or call it with ctx), env, cwd; run it.
// - EmptyTask: nothing to run; the scheduler marks it success.
// - callbacks: `task.callbacks.on_*_callback?.(ctx)`.
import type { DAG_BRAND, GROUPARG_BRAND, TASK_BRAND, TASKFN_BRAND, TASKGROUP_BRAND, XCOMARG_BRAND } from "./brand.ts";
import type { TaskCallback, TaskCallbacks, TaskContext } from "./context.ts";
import type { ParamSpec } from "./param.ts";
import type { Asset, Schedule } from "./schedule.ts";
import type { AssetRef, Duration, TimetableSpec } from "./timetable-spec.ts";
import type { TriggerRuleName } from "./trigger-rule.ts";

/** Something an edge can start or end at: a task, a task's output, or a task group (its roots
 *  when downstream of the edge, its leaves when upstream). */
export type Dependable = Task | XComArg<unknown> | TaskGroup<unknown>;

export interface Chainable {
  /** Adds edges from this task to `next` (one or a list) and returns `next`, so calls chain:
   *  `a.then(b).then([c, d])`. Airflow's `a >> b`. */
  then<N extends Dependable | readonly Dependable[]>(next: N): N;
}

/** A task's XCom (its return value by default), usable as another task's argument. */
export interface XComArg<T> extends Chainable {
  readonly [XCOMARG_BRAND]: true;
  readonly task: Task;
  readonly key: string;
  /** Phantom: carries T for type inference only. */
  readonly __value?: () => T;
  /** One key of a multiple_outputs result (Airflow's `output["key"]`). */
  get<K extends string>(key: K): XComArg<T extends Record<K, infer V> ? V : unknown>;
  /** Marks the task a setup task (see Task.asSetup). */
  asSetup(): this;
  /** Marks the task a teardown task (see Task.asTeardown). */
  asTeardown(opts?: TeardownOptions): this;
}

/** `t.asTeardown({ setups, on_failure_fail_dagrun })`. */
export interface TeardownOptions {
  /** The setup task(s) this teardown tears down: each is marked a setup and set upstream of it. */
  setups?: Task | XComArg<unknown> | readonly (Task | XComArg<unknown>)[];
  /** Let this teardown's failure fail the DAG run (teardowns are ignored for the run's state otherwise). */
  on_failure_fail_dagrun?: boolean;
}

/** Options every task takes that decide whether it waits on the previous DAG run (Airflow's
 *  depends_on_past family); also accepted in default_args. */
export interface PastDependsOptions {
  /** Run only when this task succeeded or was skipped in the previous run (by logical date). */
  depends_on_past?: boolean;
  /** Also wait until the tasks directly downstream of this task in the previous run succeeded or
   *  were skipped; implies depends_on_past. */
  wait_for_downstream?: boolean;
  /** A task that should be skipped waits for its past depends first instead of skipping at once. */
  wait_for_past_depends_before_skipping?: boolean;
  /** A previous run that has no instance of this task (the task is new) does not hold it back. */
  ignore_first_depends_on_past?: boolean;
}

/** One argument of a mapped task group inside its body (Airflow's MappedArgument): passed to a
 *  task in the group, it is that instance's element of the list the group expands over. */
export interface GroupArg<T> {
  readonly [GROUPARG_BRAND]: true;
  /** The mapped group it belongs to (its full id). */
  readonly group_id: string;
  /** The argument's name in expand() / expand_kwargs(). */
  readonly key: string;
  /** Phantom: carries T for type inference only. */
  readonly __value?: () => T;
}

/** A value, or an upstream task's output (or a mapped task group's argument) that will be that
 *  value at run time. */
export type ArgInput<T> = T | XComArg<T> | GroupArg<T>;

export type TaskKind = "task" | "branch" | "short_circuit" | "bash" | "empty";

/** Options every task takes (Airflow's BaseOperator arguments). */
export interface BaseTaskOptions extends TaskCallbacks, PastDependsOptions {
  task_id: string;
  trigger_rule?: TriggerRuleName;
  retries?: number;
  /** Seconds, or a duration such as { minutes: 5 }. Default 300 s. */
  retry_delay?: number | Duration;
  retry_exponential_backoff?: boolean;
  max_retry_delay?: number | Duration;
  execution_timeout?: number | Duration;
  priority_weight?: number;
  owner?: string;
  /** Assets this task updates when it succeeds. */
  outlets?: readonly (Asset | AssetRef)[];
  doc_md?: string;
  /** A mapped task instance's name (rendered_map_index), a template rendered when the instance
   *  finishes; its mapped arguments are `task.<name>`: `"file {{ task.path }}"`. */
  map_index_template?: string;
}

export interface TaskFlowOptions extends BaseTaskOptions {
  /** Push each key of a returned object as its own XCom, too. */
  multiple_outputs?: boolean;
  /** Where a deferred try resumes: `ctx.defer({ trigger, method: "done" })` calls
   *  `methods.done(event, ctx, kwargs)` once the trigger fires; its return value is the XCom. */
  methods?: Record<string, ResumeMethod>;
}

// The event is whatever the trigger fired with; `any` so an author can destructure it.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type ResumeMethod = (event: any, ctx: TaskContext, kwargs: Record<string, unknown>) => unknown;

export type BashCommand = string | ((ctx: TaskContext) => string | Promise<string>);

export interface BashOptions extends BaseTaskOptions {
  /** A template (`echo {{ ds }}`) or a function of the context returning the command. */
  command: BashCommand;
  /** Environment for the command (values are templates). Replaces the inherited one unless append_env. */
  env?: Record<string, string>;
  append_env?: boolean;
  cwd?: string;
  /** Exit codes that mark the task skipped instead of failed. Default 99. */
  skip_on_exit_code?: number | readonly number[] | null;
}

export type EmptyOptions = BaseTaskOptions;

/** The keys default_args accepts (applied to every task unless the task says otherwise). */
export interface DefaultArgs extends TaskCallbacks, PastDependsOptions {
  owner?: string;
  retries?: number;
  retry_delay?: number | Duration;
  retry_exponential_backoff?: boolean;
  max_retry_delay?: number | Duration;
  execution_timeout?: number | Duration;
  trigger_rule?: TriggerRuleName;
  priority_weight?: number;
}

/** A mapped task's expanded arguments (Airflow's expand input). product: one instance per
 *  combination of the lists, the last argument varying fastest; zip: the i-th elements together,
 *  as long as the shortest list; kwargs: one instance per object of a list. Each list is a literal
 *  or an upstream's output (an XComArg that is a list at run time). */
export type ExpandInput =
  | { kind: "product" | "zip"; args: Readonly<Record<string, unknown>> }
  | { kind: "kwargs"; source: unknown };

export interface TaskMapping {
  /** Mutable until the DAG is serialized: `.zip()` turns a product into a zip. */
  expand: ExpandInput;
  /** The fixed arguments (`partial`): for TaskFlow, keys of the function's object argument; for
   *  bash, the options (`command`, `env` may be expanded instead). */
  partial: Readonly<Record<string, unknown>>;
}

interface TaskBase extends Chainable {
  readonly [TASK_BRAND]: true;
  readonly task_id: string;
  readonly kind: TaskKind;
  readonly dag_id: string;
  readonly trigger_rule: TriggerRuleName;
  readonly retries: number;
  readonly retry_delay_seconds: number;
  readonly retry_exponential_backoff: boolean;
  readonly max_retry_delay_seconds: number | null;
  readonly execution_timeout_seconds: number | null;
  readonly priority_weight: number;
  readonly owner: string;
  readonly outlets: AssetRef[];
  readonly doc_md: string | null;
  readonly callbacks: TaskCallbacks;
  readonly upstream_task_ids: Set<string>;
  readonly downstream_task_ids: Set<string>;
  /** Set for a mapped task (`fn.expand(...)`): one task instance per element at run time. */
  readonly mapping: TaskMapping | null;
  readonly map_index_template: string | null;
  /** This task's return-value XCom. */
  readonly output: XComArg<unknown>;
  /** The full id of the task group the task was created in; null at the DAG's top level. */
  readonly task_group_id: string | null;
  /** The mapped task group the task is in (directly or in a group inside it), else null: the task
   *  then has one instance per element of the group's expansion. */
  readonly mapped_task_group: TaskGroup<unknown> | null;
  readonly depends_on_past: boolean;
  readonly wait_for_downstream: boolean;
  readonly wait_for_past_depends_before_skipping: boolean;
  readonly ignore_first_depends_on_past: boolean;
  /** Set by asSetup() / asTeardown(). */
  readonly is_setup: boolean;
  readonly is_teardown: boolean;
  readonly on_failure_fail_dagrun: boolean;
  /** Marks this task a setup task: a work task downstream of it (directly or not) runs only if it
   *  succeeded, and clearing that work task clears it too. Returns the task. */
  asSetup(): this;
  /** Marks this task a teardown task: trigger rule all_done_setup_success (it runs once its
   *  upstream is done, whatever the states, if at least one of its setups succeeded), and it does
   *  not decide the run's state unless on_failure_fail_dagrun. Returns the task. */
  asTeardown(opts?: TeardownOptions): this;
}

export interface CallableTask extends TaskBase {
  readonly kind: "task" | "branch" | "short_circuit";
  /** The author's function; called with the resolved args, then ctx. */
  readonly callable: (...args: unknown[]) => unknown;
  /** The arguments as written, XComArg references still in them (also nested in arrays/objects). */
  readonly args: readonly unknown[];
  readonly multiple_outputs: boolean;
  readonly methods: Record<string, ResumeMethod>;
}

export interface BashTask extends TaskBase {
  readonly kind: "bash";
  readonly command: BashCommand;
  readonly env: Record<string, string> | null;
  readonly append_env: boolean;
  readonly cwd: string | null;
  readonly skip_on_exit_code: number[];
  /** The last line of stdout, pushed as the task's XCom. */
  readonly output: XComArg<string>;
}

export interface EmptyTask extends TaskBase {
  readonly kind: "empty";
}

export type Task = CallableTask | BashTask | EmptyTask;

/** Drops a trailing TaskContext parameter: it is passed by the worker, not by the caller. */
export type CallArgs<A extends unknown[]> = A extends [...infer H, infer L] ? ([L] extends [TaskContext] ? H : A) : A;

/** A mapped task's output: the list of its instances' results in map-index order. Passed to a
 *  task it is that list (a reduce); expanded over again, it maps index by index. */
export interface MappedXComArg<R> extends XComArg<R[]> {
  /** Pairs the expanded lists element by element (Airflow's zip) instead of their cross product. */
  zip(): MappedXComArg<R>;
}

/** The object parameter of a task function that can be mapped: `async ({ x, y }: { x: number; y: string }) => ...`. */
export type MapParam<A extends unknown[]> = A extends [infer P, ...unknown[]] ? (P extends object ? P : never) : never;

/** Each key: a list of values of that parameter's type, or an upstream output that is such a list. */
export type ExpandArgs<P> = { [K in keyof P]?: readonly P[K][] | XComArg<readonly P[K][]> };

/** A list of (partial) argument objects, literal or an upstream output. */
export type ExpandKwargs<P> = readonly Partial<P>[] | XComArg<readonly Partial<P>[]>;

/** `fn.partial({ ... })`: the fixed arguments of a mapped task; expand the others. */
export interface PartialTask<P, R> {
  expand(args: ExpandArgs<P>): MappedXComArg<R>;
  expand_kwargs(source: ExpandKwargs<P>): MappedXComArg<R>;
}

/** What `task(opts, fn)` returns: call it (with values or other tasks' outputs) to add the task. */
export interface TaskFn<A extends unknown[], R> {
  (...args: { [K in keyof A]: ArgInput<A[K]> }): XComArg<R>;
  /** A mapped task: one instance per element (several keys: their cross product). The function
   *  takes one object argument, e.g. `({ x }: { x: number }) => x * 2`. */
  expand(args: ExpandArgs<MapParam<A>>): MappedXComArg<R>;
  /** A mapped task with one instance per argument object. */
  expand_kwargs(source: ExpandKwargs<MapParam<A>>): MappedXComArg<R>;
  partial(fixed: { [K in keyof MapParam<A>]?: ArgInput<MapParam<A>[K]> }): PartialTask<MapParam<A>, R>;
  readonly [TASKFN_BRAND]: true;
  readonly task_id: string;
}

/** The arguments of a mapped bash task that may be expanded. */
export interface BashExpandArgs {
  command?: readonly string[] | XComArg<readonly string[]>;
  env?: readonly Record<string, string>[] | XComArg<readonly Record<string, string>[]>;
}

/** `bash.partial({ task_id, ... })`: a bash task whose command or env is expanded. */
export interface BashPartial {
  expand(args: BashExpandArgs): MappedXComArg<string>;
  expand_kwargs(source: readonly BashExpandKwargs[] | XComArg<readonly BashExpandKwargs[]>): MappedXComArg<string>;
}

export interface BashExpandKwargs {
  command?: string;
  env?: Record<string, string>;
}

export type DagCallback = (ctx: TaskContext) => void | Promise<void>;

/** `taskGroup({ group_id, ... }, () => ...)`. */
export interface TaskGroupOptions {
  group_id: string;
  tooltip?: string;
  /** Applied to the tasks inside (over the DAG's and any enclosing group's default_args). */
  default_args?: DefaultArgs;
  /** Prefix the ids of the tasks inside with "group_id." (default true). */
  prefix_group_id?: boolean;
}

/** A group of tasks (Airflow's TaskGroup): an edge to it reaches its roots, an edge from it
 *  leaves from its leaves. */
export interface TaskGroup<R = unknown> extends Chainable {
  readonly [TASKGROUP_BRAND]: true;
  /** The full id: the enclosing groups' ids and this label, joined by "." when they prefix; null for the root group. */
  readonly group_id: string | null;
  /** The id as written in taskGroup({ group_id }). */
  readonly label: string | null;
  readonly tooltip: string;
  readonly prefix_group_id: boolean;
  /** default_args merged over the enclosing groups'; the DAG's come under these. */
  readonly default_args: DefaultArgs;
  readonly parent: TaskGroup<unknown> | null;
  /** Tasks and groups created directly inside, in order. */
  readonly children: (Task | TaskGroup<unknown>)[];
  /** What the body returned. */
  readonly result: R;
  /** Set for a mapped task group (`group.expand(...)`): what every task inside is mapped over. */
  readonly mapping: TaskMapping | null;
  /** The id a task or group labelled `label` gets inside this group. */
  childId(label: string): string;
  /** Tasks inside (at any depth), in creation order. */
  tasks(): Task[];
  /** Tasks inside with no upstream inside the group: what an edge into the group reaches. */
  roots(): Task[];
  /** Tasks inside with no downstream inside the group, teardowns looked through to the work
   *  they follow (Airflow's get_leaves): what an edge out of the group leaves from. */
  leaves(): Task[];
}

/** What a value written for an argument stands for at run time (an output's or a group
 *  argument's value). */
export type ArgValue<X> = X extends XComArg<infer T> ? T : X extends GroupArg<infer T> ? T : X;

/** The parameter of a task group function's body: each key a value, an upstream output, or (in a
 *  mapped group) the group's argument: `({ path }: GroupArgs<{ path: string }>) => ...`. */
export type GroupArgs<P> = { [K in keyof P]: ArgInput<P[K]> };

/** expand() of a task group function: for each key the body can take as a group argument, a list
 *  of its values or an upstream output that is such a list. A key the body takes only as a plain
 *  value (not GroupArgs) cannot be expanded: its type is never. */
export type GroupExpandArgs<B> = {
  [K in keyof B]?: GroupArg<ArgValue<B[K]>> extends B[K] ? readonly ArgValue<B[K]>[] | XComArg<readonly ArgValue<B[K]>[]> : never;
};

/** expand_kwargs() of a task group function: a list of argument objects, literal or an upstream output. */
export type GroupExpandKwargs<B> = readonly { [K in keyof B]?: ArgValue<B[K]> }[] | XComArg<readonly { [K in keyof B]?: ArgValue<B[K]> }[]>;

/** A mapped group's result seen from outside it: an output of a task inside is the list of its
 *  instances' values in map-index order (a reduce), in objects and tuples too. */
export type Reduced<R> = R extends XComArg<infer T>
  ? XComArg<T[]>
  : R extends Task | TaskGroup<unknown>
    ? R
    : R extends readonly unknown[]
      ? { [K in keyof R]: Reduced<R[K]> }
      : R extends Record<string, unknown>
        ? { [K in keyof R]: Reduced<R[K]> }
        : R;

/** `groupFn.partial({ ... })`: the group's fixed arguments; expand the others. */
export interface TaskGroupPartial<B, R> {
  /** A mapped task group: every task inside gets one instance per element (several keys: their
   *  cross product); instance i of a task runs when instance i of its upstream inside finishes. */
  expand(args: GroupExpandArgs<B>): TaskGroup<Reduced<R>>;
  /** A mapped task group with one instance per argument object. */
  expand_kwargs(source: GroupExpandKwargs<B>): TaskGroup<Reduced<R>>;
}

/** What `taskGroup(opts, (args) => ...)` returns: call it with the arguments to add the group, or
 *  map it with expand / partial().expand / expand_kwargs (Airflow's @task_group function). */
export interface TaskGroupFn<B, R> extends TaskGroupPartial<B, R> {
  (args: B): TaskGroup<R>;
  partial(fixed: { [K in keyof B]?: B[K] }): TaskGroupPartial<B, R>;
  /** The group id as written. */
  readonly group_id: string;
}

export interface DagOptions<P> {
  dag_id: string;
  /** Cron string or preset, "@once", null (manual only, the default), a duration ({ hours: 6 }),
   *  a timetable object, or Assets. */
  schedule?: Schedule;
  /** "2024-01-01" (read in the DAG's timezone), an ISO string with offset, or a Date. */
  start_date?: string | Date;
  end_date?: string | Date;
  /** Default false. */
  catchup?: boolean;
  /** IANA timezone; default "UTC". */
  timezone?: string;
  params?: P;
  default_args?: DefaultArgs;
  max_active_runs?: number;
  max_active_tasks?: number;
  max_consecutive_failed_dag_runs?: number;
  dagrun_timeout?: number | Duration;
  tags?: readonly string[];
  description?: string;
  doc_md?: string;
  is_paused_upon_creation?: boolean;
  on_success_callback?: DagCallback;
  on_failure_callback?: DagCallback;
}

export interface Dag {
  readonly [DAG_BRAND]: true;
  readonly dag_id: string;
  readonly timetable: TimetableSpec;
  readonly timetable_summary: string;
  readonly start_date: Date | null;
  readonly end_date: Date | null;
  readonly timezone: string;
  readonly catchup: boolean;
  readonly params: Record<string, ParamSpec>;
  readonly max_active_runs: number;
  readonly max_active_tasks: number;
  readonly max_consecutive_failed_dag_runs: number;
  readonly dagrun_timeout_seconds: number | null;
  readonly tags: string[];
  readonly description: string | null;
  readonly doc_md: string | null;
  readonly is_paused_upon_creation: boolean | null;
  readonly on_success_callback: DagCallback | null;
  readonly on_failure_callback: DagCallback | null;
  /** Tasks in definition order. */
  readonly tasks: Map<string, Task>;
  /** The root task group (group_id null): every task and group, nested as written. */
  readonly task_group: TaskGroup<unknown>;
  /** "file:line:column" of the dag() call, when the stack showed it. */
  readonly defined_at: string | null;
}

export type { TaskCallback };

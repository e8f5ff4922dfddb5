// Task groups (Airflow's TaskGroup, airflow/sdk/definitions/taskgroup.py): `taskGroup(opts, body)`
// runs body at once; the tasks and groups it creates belong to the group.
//
// Glossary:
//   label     - the id as written: taskGroup({ group_id: "load" }).
//   group_id  - the full id: "extract.load" inside a group "extract" that prefixes its children.
//   child id  - what a task labelled "t" is called inside: "extract.load.t" when the group
//               prefixes (prefix_group_id, the default), plain "t" when it does not.
//   roots     - tasks inside with no upstream inside the group: an edge into the group reaches them.
//   leaves    - tasks inside with no downstream inside the group (teardowns looked through to the
//               work they tear down): an edge out of the group leaves from them.
//   group function - `taskGroup(opts, (args) => ...)`: a body that takes arguments is not run at
//               once; the function it returns adds the group when called, or maps it with expand
//               (Airflow's @task_group).
//   mapped group - `groupFn.expand({ x: [...] })` (Airflow's MappedTaskGroup): every task inside has
//               one instance per element; the body gets a GroupArg per expanded key, which a task
//               inside resolves to its instance's element.
import { TASKGROUP_BRAND, hasBrand } from "./brand.ts";
import { currentDag, type DagUnderConstruction } from "./current.ts";
import { DagDefinitionError } from "./errors.ts";
import { isPlainObject, makeGroupArg, mappedGroupOf } from "./group-args.ts";
import { checkExpandArgs, checkKwargsSource, connect, expandSources, findXComArgs } from "./tasks.ts";
import type { DefaultArgs, Dependable, Task, TaskGroup, TaskGroupFn, TaskGroupOptions, TaskMapping } from "./types.ts";

export const DEFAULT_ARG_KEYS = new Set([
  "owner", "retries", "retry_delay", "retry_exponential_backoff", "max_retry_delay", "execution_timeout", "trigger_rule",
  "priority_weight", "on_execute_callback", "on_success_callback", "on_failure_callback", "on_retry_callback",
  "depends_on_past", "wait_for_downstream", "wait_for_past_depends_before_skipping", "ignore_first_depends_on_past",
]);

const GROUP_OPTION_KEYS = new Set(["group_id", "tooltip", "default_args", "prefix_group_id"]);
/** Airflow's GROUP_KEY_REGEX: no "." (it separates the levels of a full id). */
const GROUP_KEY = /^[\w-]+$/;

/** Throws naming `where` when default_args has a key no task takes. */
export function checkDefaultArgs(default_args: unknown, where: string, dag_id: string): DefaultArgs {
  if (default_args === undefined) return {};
  if (typeof default_args !== "object" || default_args === null || Array.isArray(default_args)) {
    throw new DagDefinitionError(`${where}: default_args must be an object such as { retries: 2 }`, { dag_id, field: "default_args" });
  }
  const unknown = Object.keys(default_args).filter((k) => !DEFAULT_ARG_KEYS.has(k));
  if (unknown.length) {
    throw new DagDefinitionError(`${where}: unknown default_args key ${unknown.map((k) => `"${k}"`).join(", ")}; accepted: ${[...DEFAULT_ARG_KEYS].join(", ")}`, {
      dag_id,
      field: "default_args",
    });
  }
  return default_args as DefaultArgs;
}

export function isTaskGroup(v: unknown): v is TaskGroup<unknown> {
  return hasBrand(v, TASKGROUP_BRAND);
}

interface GroupSpec<R> {
  label: string | null;
  tooltip: string;
  prefix_group_id: boolean;
  default_args: DefaultArgs;
  parent: TaskGroup<unknown> | null;
  result?: R;
  mapping?: TaskMapping | null;
}

function makeGroup<R>(spec: GroupSpec<R>): TaskGroup<R> & { result: R } {
  const { label, parent } = spec;
  // Airflow's TaskGroup.group_id: the parent's child id when the parent prefixes, else the label.
  const group_id = label === null ? null : parent && parent.prefix_group_id && parent.group_id !== null ? parent.childId(label) : label;
  const children: (Task | TaskGroup<unknown>)[] = [];
  const g: TaskGroup<R> & { result: R } = {
    [TASKGROUP_BRAND]: true,
    group_id,
    label,
    tooltip: spec.tooltip,
    prefix_group_id: spec.prefix_group_id,
    default_args: spec.default_args,
    parent,
    children,
    result: spec.result as R,
    mapping: spec.mapping ?? null,
    childId(childLabel: string): string {
      return g.prefix_group_id && g.group_id !== null ? `${g.group_id}.${childLabel}` : childLabel;
    },
    tasks(): Task[] {
      const out: Task[] = [];
      for (const c of children) {
        if (isTaskGroup(c)) out.push(...c.tasks());
        else out.push(c);
      }
      return out;
    },
    roots(): Task[] {
      const tasks = g.tasks();
      const ids = new Set(tasks.map((t) => t.task_id));
      return tasks.filter((t) => ![...t.upstream_task_ids].some((u) => ids.has(u)));
    },
    leaves(): Task[] {
      return groupLeaves(g.tasks());
    },
    then<N extends Dependable | readonly Dependable[]>(next: N): N {
      connect(g, next, `task group "${g.group_id}".then()`);
      return next;
    },
  };
  return g;
}

/** Airflow's TaskGroup.get_leaves: a teardown at the end of the group is looked through to the
 *  work upstream of it, so `group.then(x)` makes x wait for the work, not for the cleanup. */
function groupLeaves(tasks: Task[]): Task[] {
  const byId = new Map(tasks.map((t) => [t.task_id, t]));
  const out: Task[] = [];
  const seen = new Set<string>();
  const add = (t: Task) => {
    if (!seen.has(t.task_id)) {
      seen.add(t.task_id);
      out.push(t);
    }
  };
  const hasNonTeardownDownstream = (t: Task, exclude: string) =>
    [...t.downstream_task_ids].some((d) => d !== exclude && byId.has(d) && !byId.get(d)!.is_teardown);
  const throughTeardown = (t: Task, visiting: Set<string>): void => {
    if (visiting.has(t.task_id)) return;
    visiting.add(t.task_id);
    for (const uid of t.upstream_task_ids) {
      const u = byId.get(uid);
      if (!u) continue; // not in the group
      if (u.is_teardown) throughTeardown(u, visiting);
      else if (t.is_teardown && u.is_setup) continue; // not along the setup-to-teardown edge
      else if (!hasNonTeardownDownstream(u, t.task_id)) add(u);
    }
  };
  for (const t of tasks) {
    if ([...t.downstream_task_ids].some((d) => byId.has(d))) continue;
    if (!t.is_teardown) add(t);
    else throughTeardown(t, new Set());
  }
  return out;
}

/** The DAG's root group (group_id null): what dag() starts its body in. */
export function rootTaskGroup(): TaskGroup<unknown> {
  return makeGroup<unknown>({ label: null, tooltip: "", prefix_group_id: true, default_args: {}, parent: null });
}

/** Runs `body` with `group` as the current group of `d` (tasks it creates land in the group). */
export function inTaskGroup<T>(d: DagUnderConstruction, group: TaskGroup<unknown>, body: () => T): T {
  const previous = d.group;
  d.group = group;
  try {
    return body();
  } finally {
    d.group = previous;
  }
}

/** Creates a group in the current DAG (or group) and adds it to its parent; the body is not run.
 *  `suffix`: a taken id gets "__1", "__2", ... (a group function called twice, as Airflow's
 *  add_suffix_on_collision) instead of failing. */
export function createTaskGroup(
  opts: TaskGroupOptions,
  d: DagUnderConstruction = currentDag("taskGroup()"),
  extra: { mapping?: TaskMapping | null; suffix?: boolean } = {},
): TaskGroup<unknown> {
  if (typeof opts !== "object" || opts === null) throw new DagDefinitionError(`taskGroup(): the first argument must be options such as { group_id: "extract" }`, { dag_id: d.dag_id });
  const label = opts.group_id;
  if (typeof label !== "string" || !GROUP_KEY.test(label) || label.length > 200) {
    throw new DagDefinitionError(
      `task group id ${JSON.stringify(label)} in DAG "${d.dag_id}" is invalid: use letters, digits, "_" and "-" (no "."; at most 200)`,
      { dag_id: d.dag_id, field: "group_id" },
    );
  }
  const unknown = Object.keys(opts).filter((k) => !GROUP_OPTION_KEYS.has(k));
  if (unknown.length) {
    throw new DagDefinitionError(`task group "${label}" in DAG "${d.dag_id}": unknown option ${unknown.map((k) => `"${k}"`).join(", ")}; accepted: ${[...GROUP_OPTION_KEYS].join(", ")}`, {
      dag_id: d.dag_id,
      field: unknown[0],
    });
  }
  if (opts.tooltip !== undefined && typeof opts.tooltip !== "string") throw new DagDefinitionError(`task group "${label}" in DAG "${d.dag_id}": tooltip must be a string`, { dag_id: d.dag_id, field: "tooltip" });
  if (opts.prefix_group_id !== undefined && typeof opts.prefix_group_id !== "boolean") {
    throw new DagDefinitionError(`task group "${label}" in DAG "${d.dag_id}": prefix_group_id must be true or false`, { dag_id: d.dag_id, field: "prefix_group_id" });
  }
  const own = checkDefaultArgs(opts.default_args, `task group "${label}" in DAG "${d.dag_id}"`, d.dag_id);
  const parent = d.group;
  const outer = mappedGroupOf(parent);
  if (extra.mapping && outer) {
    throw new DagDefinitionError(`task group "${label}" in DAG "${d.dag_id}": a mapped task group inside mapped task group "${outer.group_id}" is not supported`, { dag_id: d.dag_id, field: "expand" });
  }
  const taken = (l: string) => {
    const id = parent.prefix_group_id && parent.group_id !== null ? parent.childId(l) : l;
    return d.groupIds.has(id) || d.tasks.has(id);
  };
  let finalLabel = label;
  if (extra.suffix) for (let n = 1; taken(finalLabel); n++) finalLabel = `${label}__${n}`;
  const g = makeGroup<unknown>({
    mapping: extra.mapping ?? null,
    label: finalLabel,
    tooltip: opts.tooltip ?? "",
    prefix_group_id: opts.prefix_group_id ?? true,
    // Airflow's TaskGroup: the parent group's default_args under the group's own.
    default_args: { ...parent.default_args, ...own },
    parent,
  });
  const id = g.group_id as string;
  if (d.groupIds.has(id) || d.tasks.has(id)) {
    throw new DagDefinitionError(`task group id "${id}" in DAG "${d.dag_id}" has already been added to the DAG (by a group or a task)`, { dag_id: d.dag_id, field: "group_id" });
  }
  d.groupIds.add(id);
  (parent.children as (Task | TaskGroup<unknown>)[]).push(g);
  return g;
}

/**
 * A task group: `body` runs at once and the tasks (and groups) it creates belong to it. Their ids
 * are "group_id.task_id" unless `prefix_group_id: false`; the group's `default_args` apply to them
 * over the DAG's. Edges work on the group: `a.then(group).then(b)` sets every root of the group
 * downstream of `a` and `b` downstream of every leaf. The body's return value is `group.result`.
 */
export function taskGroup<R>(opts: TaskGroupOptions, body: () => R): TaskGroup<R>;
/**
 * A task group function (Airflow's @task_group): a body that takes one object of arguments is run
 * each time the returned function is called, `perFile({ path: "a.csv" })`, or once as a mapped
 * task group: `perFile.expand({ path: ["a.csv", "b.csv"] })`, `perFile.partial({ mode }).expand(...)`,
 * `perFile.expand_kwargs([...])`. In a mapped group every task has one instance per element, and
 * instance i of a task inside waits only for instance i of its upstream inside (not for all of
 * them); the body's `path` is a GroupArg, which a task inside receives as its instance's element.
 * Seen from outside, an output of a task inside is the list of its instances' values.
 */
export function taskGroup<B extends object, R>(opts: TaskGroupOptions, body: (args: B) => R): TaskGroupFn<B, R>;
export function taskGroup<R>(opts: TaskGroupOptions, body: (...args: never[]) => R): TaskGroup<R> | TaskGroupFn<object, R> {
  // A body that declares a parameter takes the group's arguments (Airflow's decorated function).
  if (typeof body === "function" && body.length > 0) return groupFunction(opts, body as unknown as (args: Record<string, unknown>) => R);
  const d = currentDag(`taskGroup(${JSON.stringify(opts?.group_id)})`);
  const g = createTaskGroup(opts, d) as TaskGroup<unknown> & { result: unknown };
  if (typeof body !== "function") throw new DagDefinitionError(`task group "${g.group_id}" in DAG "${d.dag_id}": the second argument must be a function that creates the group's tasks`, { dag_id: d.dag_id });
  const result = inTaskGroup(d, g, body);
  if (result instanceof Promise) {
    throw new DagDefinitionError(`task group "${g.group_id}" in DAG "${d.dag_id}": the body must be synchronous (it returned a Promise); create tasks directly in it`, { dag_id: d.dag_id });
  }
  g.result = result;
  return g as TaskGroup<R>;
}

function groupFunction<R>(opts: TaskGroupOptions, body: (args: Record<string, unknown>) => R): TaskGroupFn<object, R> {
  const label = String(opts?.group_id);
  const add = (mapping: TaskMapping | null, args: (g: TaskGroup<unknown>) => Record<string, unknown>): TaskGroup<unknown> => {
    const d = currentDag(`task group "${label}"`);
    const g = createTaskGroup(opts, d, { mapping, suffix: true }) as TaskGroup<unknown> & { result: unknown };
    const result = inTaskGroup(d, g, () => body(args(g)));
    if (result instanceof Promise) {
      throw new DagDefinitionError(`task group "${g.group_id}" in DAG "${d.dag_id}": the body must be synchronous (it returned a Promise); create tasks directly in it`, { dag_id: d.dag_id });
    }
    g.result = result;
    // Airflow's MappedTaskGroup.__exit__: the group's roots wait for the outputs it expands over.
    if (mapping) for (const x of findXComArgs(expandSources(mapping.expand))) connect(x, g, `task group "${g.group_id}".expand()`);
    return g;
  };
  const mapped = (partial: Record<string, unknown>) => ({
    expand(m: Record<string, unknown>) {
      const argsOf = checkExpandArgs(`task group "${label}"`, m);
      const clash = Object.keys(argsOf).filter((k) => k in partial);
      if (clash.length) throw new DagDefinitionError(`task group "${label}": ${clash.map((k) => `"${k}"`).join(", ")} given to both partial() and expand()`, { field: "expand" });
      return add({ partial, expand: { kind: "product", args: argsOf } }, (g) => ({
        ...partial,
        ...Object.fromEntries(Object.keys(argsOf).map((k) => [k, makeGroupArg(g.group_id as string, k)])),
      }));
    },
    expand_kwargs(source: unknown) {
      const checked = checkKwargsSource(`task group "${label}"`, source);
      // The keys come from each element at run time: every key the body reads that partial() did
      // not fix is a group argument (Airflow takes them from the function's signature).
      return add({ partial, expand: { kind: "kwargs", source: checked } }, (g) =>
        new Proxy({ ...partial }, {
          get: (target, key) => (typeof key !== "string" || key in target ? Reflect.get(target, key) : makeGroupArg(g.group_id as string, key)),
        }),
      );
    },
  });
  const call = (args: Record<string, unknown>) => {
    if (!isPlainObject(args)) throw new DagDefinitionError(`task group "${label}": call it with one object of arguments, e.g. ${label}({ path: "a.csv" })`, { field: "group_id" });
    return add(null, () => args);
  };
  return Object.assign(call, {
    group_id: label,
    ...mapped({}),
    partial(fixed: Record<string, unknown>) {
      if (!isPlainObject(fixed)) throw new DagDefinitionError(`task group "${label}": partial() takes an object of fixed arguments, e.g. partial({ mode: "fast" })`, { field: "partial" });
      return mapped({ ...fixed });
    },
  }) as unknown as TaskGroupFn<object, R>;
}

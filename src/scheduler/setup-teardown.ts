// Setup and teardown tasks in the serialized graph (Airflow's abstractoperator.py helpers,
// DagRun._tis_for_dagrun_state and DAG.partial_subset): which setups a work task depends on,
// which tasks decide the run's state, and what a clear pulls in.
//
// Glossary:
//   setup / teardown  - tasks marked with asSetup() / asTeardown(); the rest are "work".
//   relevant setups   - of a work task's upstream setups (at any depth), those that have no teardown
//                       or whose teardown is downstream of the task (Airflow's
//                       get_upstreams_only_setups): the setups whose resources the task uses.
//   effective leaves  - the tasks that decide the run's state: leaves, with teardowns left out
//                       (and looked through) unless on_failure_fail_dagrun.
import type { SerializedDag, SerializedTask } from "../serialization/serialized-dag.ts";

interface Graph {
  tasks: Map<string, SerializedTask>;
}

function flatRelatives(g: Graph, id: string, upstream: boolean): Set<string> {
  const out = new Set<string>();
  const next = (t: SerializedTask | undefined) => (upstream ? t?.upstream_task_ids : t?.downstream_task_ids) ?? [];
  const stack = [...next(g.tasks.get(id))];
  while (stack.length) {
    const x = stack.pop() as string;
    if (out.has(x)) continue;
    out.add(x);
    stack.push(...next(g.tasks.get(x)));
  }
  return out;
}

const isSetup = (t: SerializedTask | undefined): boolean => Boolean(t?.is_setup);
const isTeardown = (t: SerializedTask | undefined): boolean => Boolean(t?.is_teardown);

/** Airflow's get_upstreams_only_setups_and_teardowns: the relevant setups upstream of `id` and
 *  their teardowns (other than `id`). */
export function upstreamSetupsAndTeardowns(g: Graph, id: string): string[] {
  const downstreamTeardowns = new Set([...flatRelatives(g, id, false)].filter((x) => isTeardown(g.tasks.get(x))));
  const out: string[] = [];
  for (const u of flatRelatives(g, id, true)) {
    const s = g.tasks.get(u);
    if (!s || !s.is_setup) continue;
    const teardowns = s.downstream_task_ids.filter((x) => isTeardown(g.tasks.get(x)));
    if (teardowns.length === 0 || s.downstream_task_ids.some((x) => downstreamTeardowns.has(x))) {
      out.push(u);
      for (const t of teardowns) if (t !== id) out.push(t);
    }
  }
  return out;
}

const setupCache = new WeakMap<object, Map<string, string[]>>();

/** The relevant setups of a work task (none for a teardown: it cannot have indirect setups).
 *  Cached per DAG object: the scheduler asks for every candidate of every step. */
export function relevantSetups(g: Graph, id: string): string[] {
  let perDag = setupCache.get(g);
  if (!perDag) setupCache.set(g, (perDag = new Map()));
  let out = perDag.get(id);
  if (!out) {
    const t = g.tasks.get(id);
    // A DAG without setups (most) has none to find: walking every task's upstream was quadratic
    // over a chain (0.1 s of scheduler CPU over a chain of 1,000, once per task).
    out = !t || t.is_teardown || !hasSetupsCached(g) ? [] : upstreamSetupsAndTeardowns(g, id).filter((x) => isSetup(g.tasks.get(x)));
    perDag.set(id, out);
  }
  return out;
}

const hasSetupsCache = new WeakMap<object, boolean>();
function hasSetupsCached(g: Graph): boolean {
  let v = hasSetupsCache.get(g);
  if (v === undefined) hasSetupsCache.set(g, (v = hasSetups(g)));
  return v;
}

/** Whether any task of the DAG is a setup (most DAGs have none, and then nothing is looked up). */
export function hasSetups(g: Graph): boolean {
  for (const t of g.tasks.values()) if (t.is_setup) return true;
  return false;
}

/** Airflow's _tis_for_dagrun_state: leaves, except teardowns (and the work a teardown follows
 *  counts as a leaf) unless the teardown has on_failure_fail_dagrun. */
export function effectiveLeaves(dag: SerializedDag): string[] {
  const byId = new Map(dag.tasks.map((t) => [t.task_id, t]));
  const ignorable = (t: SerializedTask | undefined) => isTeardown(t) && !t?.on_failure_fail_dagrun;
  const leaves = dag.tasks
    .filter((t) => t.downstream_task_ids.every((x) => ignorable(byId.get(x))) && !ignorable(t))
    .map((t) => t.task_id);
  // A DAG of nothing but teardowns: its plain leaves.
  return leaves.length ? leaves : dag.tasks.filter((t) => t.downstream_task_ids.length === 0).map((t) => t.task_id);
}

/** What clearing `matched` also clears (Airflow's DAG.partial_subset): a work task's relevant
 *  setups and their teardowns; a setup's teardowns; with upstream, each upstream setup's teardowns;
 *  with downstream, the setups and teardowns of each work task reached downstream. */
export function clearAlsoIncludes(g: Graph, matched: ReadonlySet<string>, opts: { includeUpstream?: boolean; includeDownstream?: boolean }): Set<string> {
  const also = new Set<string>();
  for (const id of matched) {
    const t = g.tasks.get(id);
    if (!t) continue;
    if (opts.includeDownstream) {
      for (const rel of flatRelatives(g, id, false)) {
        also.add(rel);
        const r = g.tasks.get(rel);
        if (!matched.has(rel) && !isSetup(r) && !isTeardown(r)) for (const x of upstreamSetupsAndTeardowns(g, rel)) also.add(x);
      }
    }
    if (opts.includeUpstream) {
      // get_upstreams_follow_setups: every upstream and each upstream setup's teardowns.
      for (const u of flatRelatives(g, id, true)) {
        also.add(u);
        const s = g.tasks.get(u);
        if (s?.is_setup) for (const x of s.downstream_task_ids) if (x !== id && isTeardown(g.tasks.get(x))) also.add(x);
      }
    } else if (!t.is_setup && !t.is_teardown) {
      for (const x of upstreamSetupsAndTeardowns(g, id)) also.add(x);
    }
    if (t.is_setup && !opts.includeDownstream) for (const x of t.downstream_task_ids) if (isTeardown(g.tasks.get(x))) also.add(x);
  }
  return also;
}

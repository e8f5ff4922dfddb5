// The scheduler's view of DAGs: serialized DAGs read from the store (never DAG code: the scheduler
// does not import user files), cached by dag_hash, with the graph facts it asks for often.
import type { SerializedDag, SerializedTask } from "../serialization/serialized-dag.ts";
import { getSerializedDagHash, getSerializedDagRow } from "../store/dags.ts";
import type { Db } from "../store/index.ts";
import { effectiveLeaves } from "./setup-teardown.ts";

export interface SchedulableDag {
  dag: SerializedDag;
  dagHash: string;
  fileloc: string;
  tasks: Map<string, SerializedTask>;
  /** Tasks no other task depends on, teardowns left out unless on_failure_fail_dagrun
   *  (setup-teardown.ts effectiveLeaves): they decide the run's state. */
  leaves: string[];
}

export interface DagBag {
  get(db: Db, dagId: string): Promise<SchedulableDag | undefined>;
  /** Forget everything (DAG files changed). */
  invalidate(): void;
}

export function createDagBag(): DagBag {
  const cache = new Map<string, SchedulableDag>();
  // DAGs whose hash was checked in this scheduling step.
  let checked = new Set<string>();
  return {
    async get(db, dagId) {
      const cached = cache.get(dagId);
      // Within one scheduling step, a DAG's hash is checked once.
      if (cached && checked.has(dagId)) return cached;
      const hash = await getSerializedDagHash(db, dagId);
      if (hash === undefined) {
        cache.delete(dagId);
        return undefined;
      }
      checked.add(dagId);
      if (cached && cached.dagHash === hash) return cached;
      const row = await getSerializedDagRow(db, dagId);
      if (!row) {
        cache.delete(dagId);
        return undefined;
      }
      const dag = JSON.parse(row.data) as SerializedDag;
      const entry = toSchedulable(dag, row.dag_hash, row.fileloc);
      cache.set(dagId, entry);
      return entry;
    },
    invalidate() {
      checked = new Set();
    },
  };
}

export function toSchedulable(dag: SerializedDag, dagHash: string, fileloc: string): SchedulableDag {
  const tasks = new Map(dag.tasks.map((t) => [t.task_id, t]));
  const leaves = effectiveLeaves(dag);
  return { dag, dagHash, fileloc, tasks, leaves };
}

/** Every task downstream of `taskId`, transitively (Airflow's get_flat_relative_ids). */
export function allDownstream(d: SchedulableDag, taskId: string): Set<string> {
  const out = new Set<string>();
  const stack = [...(d.tasks.get(taskId)?.downstream_task_ids ?? [])];
  while (stack.length) {
    const id = stack.pop()!;
    if (out.has(id)) continue;
    out.add(id);
    stack.push(...(d.tasks.get(id)?.downstream_task_ids ?? []));
  }
  return out;
}

/** What an evaluation asks of a task's direct upstream, worked out once per DAG version. Asked
 *  each time an upstream finishes, so that a fan-in's readiness check does not walk all its
 *  upstreams in the scheduler either: a fan-in of 998 was walked five times per finishing upstream. */
export interface UpstreamFacts {
  /** The upstream branch and short-circuit tasks, in upstream order (Not Previously Skipped). */
  flowParents: readonly string[];
  /** Some upstream is a mapped task. */
  mappedUpstream: boolean;
  ids: ReadonlySet<string>;
}

const upstreamFactsCache = new WeakMap<SchedulableDag, Map<string, UpstreamFacts>>();
const NO_UPSTREAM: UpstreamFacts = { flowParents: [], mappedUpstream: false, ids: new Set() };

export function upstreamFacts(d: SchedulableDag, taskId: string): UpstreamFacts {
  let perTask = upstreamFactsCache.get(d);
  if (!perTask) upstreamFactsCache.set(d, (perTask = new Map()));
  let facts = perTask.get(taskId);
  if (!facts) {
    const ups = d.tasks.get(taskId)?.upstream_task_ids ?? [];
    facts = ups.length === 0
      ? NO_UPSTREAM
      : {
          flowParents: ups.filter((u) => {
            const kind = d.tasks.get(u)?.kind;
            return kind === "branch" || kind === "short_circuit";
          }),
          mappedUpstream: ups.some((u) => Boolean(d.tasks.get(u)?.expand_input)),
          ids: new Set(ups),
        };
    perTask.set(taskId, facts);
  }
  return facts;
}

// Dynamic task mapping in the scheduler (Airflow's expand_mapped_task and
// _revise_map_indexes_if_mapped): when a mapped task's upstream tasks are done and its trigger
// rule passes, the lengths of what it maps over are read (a literal list from the serialized DAG,
// an upstream's output from its XCom) and it gets one instance per element, map_index 0..n-1.
//
//   product - lengths multiplied (expand with several keys: their cross product)
//   zip     - the shortest length (.zip())
//   kwargs  - the list's length (expand_kwargs)
//
// A task in a mapped task group carries the group's expand input as its own and expands the same
// way; one with an upstream inside the group gets its instances unscheduled, each released when
// that upstream's instance at its index is done (evaluate-run.ts, run-states.ts relevant).
//
// An empty list skips the task; more than [core] max_map_length instances, or an upstream output
// that is no list, fails it with the reason. A re-expansion (after a clear) with a shorter list
// marks the surplus instances `removed`.
import type { Kysely } from "kysely";
import { isXComArgMarker, type SerializedArg, type SerializedTask } from "../serialization/serialized-dag.ts";
import { countMappedXcoms, expandTaskInstances, listMappedInstances, readTaskXcom, settleUnexpandedTask, type MappedInstance } from "../store/mapped.ts";
import type { Database, DagRunRow } from "../store/schema.ts";
import type { SchedulableDag } from "./dag-bag.ts";

type Length = { ok: true; length: number } | { ok: false; reason: string };

function describe(v: unknown): string {
  return v === null ? "null" : Array.isArray(v) ? "a list" : typeof v;
}

/** The length of one list a task maps over. */
async function sourceLength(trx: Kysely<Database>, run: DagRunRow, d: SchedulableDag, task: SerializedTask, name: string, src: SerializedArg): Promise<Length> {
  if (Array.isArray(src)) return { ok: true, length: src.length };
  if (!isXComArgMarker(src)) return { ok: false, reason: `task ${task.task_id} cannot expand "${name}": it is neither a list nor an upstream task's output` };
  const { task_id, key } = src.__xcomarg;
  if (d.tasks.get(task_id)?.expand_input) return { ok: true, length: await countMappedXcoms(trx, run.id, task_id, key) };
  const x = await readTaskXcom(trx, run.id, task_id, key);
  if (!x.found) return { ok: false, reason: `task ${task.task_id} cannot expand "${name}": upstream task ${task_id} pushed no XCom "${key}" (it must return a list)` };
  if (!Array.isArray(x.value)) return { ok: false, reason: `task ${task.task_id} cannot expand "${name}": upstream task ${task_id}'s XCom "${key}" is ${describe(x.value)}, not a list` };
  return { ok: true, length: x.value.length };
}

/** How many instances the task expands to now. */
export async function mappedLength(trx: Kysely<Database>, run: DagRunRow, d: SchedulableDag, task: SerializedTask): Promise<Length> {
  const e = task.expand_input!;
  if (e.kind === "kwargs") return sourceLength(trx, run, d, task, "expand_kwargs", e.source);
  let total = e.kind === "zip" ? Infinity : 1;
  for (const [name, src] of Object.entries(e.args)) {
    const r = await sourceLength(trx, run, d, task, name, src);
    if (!r.ok) return r;
    total = e.kind === "zip" ? Math.min(total, r.length) : total * r.length;
  }
  return { ok: true, length: total === Infinity ? 0 : total };
}

export interface Expansion {
  /** The task's instances after expanding, by map index. */
  instances: MappedInstance[];
  scheduled: number;
  /** The task was skipped or failed instead of expanding: that can cascade downstream. */
  settled: boolean;
}

/** Expands `task` in `run` (its trigger rule has passed). `initial` null: the instances are made
 *  but not scheduled (a task in a mapped task group with an upstream inside the group: instance i
 *  waits for that upstream's instance i). */
export async function expandMappedTask(trx: Kysely<Database>, run: DagRunRow, d: SchedulableDag, task: SerializedTask, maxMapLength: number, initial: "scheduled" | null = "scheduled"): Promise<Expansion> {
  const existing = await listMappedInstances(trx, run, task.task_id);
  const len = await mappedLength(trx, run, d, task);
  const settle = async (state: "failed" | "skipped", reason: string): Promise<Expansion> => {
    // The first instance carries the outcome; any others (a re-expansion) are removed.
    const [first, ...rest] = existing;
    if (rest.length) await expandTaskInstances(trx, seedOf(run, task), rest, 0);
    if (first) await settleUnexpandedTask(trx, [first.id], state, reason);
    return { instances: await listMappedInstances(trx, run, task.task_id), scheduled: 0, settled: true };
  };
  if (!len.ok) return settle("failed", len.reason);
  if (len.length === 0) return settle("skipped", `task ${task.task_id} is mapped over an empty list: nothing to run`);
  if (len.length > maxMapLength) {
    return settle("failed", `task ${task.task_id} would expand to ${len.length} task instances, more than [core] max_map_length (${maxMapLength})`);
  }
  const scheduled = await expandTaskInstances(trx, seedOf(run, task), existing, len.length, initial);
  return { instances: await listMappedInstances(trx, run, task.task_id), scheduled: scheduled.size, settled: false };
}

function seedOf(run: DagRunRow, task: SerializedTask) {
  return { dag_id: run.dag_id, run_id: run.run_id, task_id: task.task_id, retries: task.retries, priority_weight: task.priority_weight, operator: task.operator };
}

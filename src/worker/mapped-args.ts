// A mapped task instance's own arguments: the element (or combination of elements) at its
// map_index of the lists the task expands over, over its fixed (partial) arguments. Airflow's
// DictOfListsExpandInput / ListOfDictsExpandInput resolve.
//
// Order of a cross product: the last key varies fastest, as in Airflow: expand({ x: [1, 2],
// y: ["a", "b"] }) gives (1,a), (1,b), (2,a), (2,b) for map_index 0..3.
import { isXComArg, resolveXComArgs } from "../sdk/tasks.ts";
import type { Dag, Task, TaskMapping } from "../sdk/types.ts";
import type { XcomValue } from "./protocol.ts";

/** The value an XComArg stands for: an unmapped task's XCom, or a mapped task's XComs as a list
 *  in map-index order (what a downstream of a mapped task receives). For an instance of a task in
 *  a mapped task group, an upstream in the same group gives only its own map index's value
 *  (Airflow's get_relevant_upstream_map_indexes: the common mapped group, not further mapped). */
export function xcomArgValue(dag: Dag, entries: readonly XcomValue[], taskId: string, key: string, consumer?: { task: Task; mapIndex: number }): unknown {
  const producer = dag.tasks.get(taskId);
  const group = producer?.mapped_task_group?.group_id;
  if (group !== undefined && consumer && consumer.mapIndex >= 0 && consumer.task.mapped_task_group?.group_id === group) {
    return entries.find((e) => e.task_id === taskId && e.key === key && e.map_index === consumer.mapIndex)?.value ?? null;
  }
  if (producer?.mapping || producer?.mapped_task_group) {
    return entries.filter((e) => e.task_id === taskId && e.key === key && e.map_index >= 0).sort((a, b) => a.map_index - b.map_index).map((e) => e.value);
  }
  return entries.find((e) => e.task_id === taskId && e.key === key && e.map_index === -1)?.value ?? null;
}

/** The XComArgs a mapped task's partial and expanded arguments refer to. */
export function mappingRefs(m: TaskMapping): { taskId: string; key: string }[] {
  const refs: { taskId: string; key: string }[] = [];
  const sources = m.expand.kind === "kwargs" ? [m.expand.source] : Object.values(m.expand.args);
  resolveXComArgs([m.partial, sources], (taskId, key) => void refs.push({ taskId, key }));
  return refs;
}

function asList(owner: string, name: string, v: unknown): unknown[] {
  if (!Array.isArray(v)) throw new Error(`${owner}: "${name}" is ${v === null ? "null" : typeof v} at run time, not a list`);
  return v;
}

/** The arguments of instance `mapIndex`: partial ones, then this instance's expanded values. */
export function mappedArguments(task: Task, mapIndex: number, pull: (taskId: string, key: string) => unknown): Record<string, unknown> {
  return expandedArguments(`mapped task ${task.task_id}`, task.mapping!, mapIndex, pull);
}

/** The same for any mapping (a mapped task's, or a mapped task group's); `owner` names it in errors. */
export function expandedArguments(owner: string, m: TaskMapping, mapIndex: number, pull: (taskId: string, key: string) => unknown): Record<string, unknown> {
  const resolve = (v: unknown) => (isXComArg(v) ? pull(v.task.task_id, v.key) : resolveXComArgs(v, pull));
  const fixed = resolveXComArgs(m.partial, pull) as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  if (m.expand.kind === "kwargs") {
    const list = asList(owner, "expand_kwargs", resolve(m.expand.source));
    const el = list[mapIndex];
    if (el === undefined) throw new Error(`${owner}: no element at map_index ${mapIndex} (the list has ${list.length})`);
    if (typeof el !== "object" || el === null || Array.isArray(el)) throw new Error(`${owner}: expand_kwargs element ${mapIndex} is not an object of arguments`);
    Object.assign(out, el);
  } else {
    const keys = Object.keys(m.expand.args);
    const lists = keys.map((k) => asList(owner, k, resolve(m.expand.kind === "kwargs" ? undefined : m.expand.args[k])));
    let i = mapIndex;
    for (let j = keys.length - 1; j >= 0; j--) {
      const n = lists[j].length;
      if (m.expand.kind === "zip" ? mapIndex >= n : n === 0) throw new Error(`${owner}: no element at map_index ${mapIndex} of "${keys[j]}" (it has ${n})`);
      out[keys[j]] = m.expand.kind === "zip" ? lists[j][mapIndex] : lists[j][i % n];
      i = Math.floor(i / n);
    }
  }
  return { ...fixed, ...out };
}

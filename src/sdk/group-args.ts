// Mapped task group arguments (Airflow's MappedArgument) and the rules for tasks inside a mapped
// group. Imports no other SDK module but brands, errors and types: tasks.ts and task-group.ts
// both build on it.
//
// Glossary:
//   group argument - GroupArg: what a mapped group's body receives for an expanded key; a task
//                    inside resolves it at run time to its instance's element.
//   mapped group   - the innermost enclosing group with a mapping (groups nest; mapped ones do not).
import { GROUPARG_BRAND, XCOMARG_BRAND, hasBrand } from "./brand.ts";
import type { DagUnderConstruction } from "./current.ts";
import { DagDefinitionError } from "./errors.ts";
import type { GroupArg, TaskGroup, TaskKind } from "./types.ts";

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== "object" || v === null) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

export function makeGroupArg(group_id: string, key: string): GroupArg<unknown> {
  return { [GROUPARG_BRAND]: true, group_id, key };
}

export function isGroupArg(v: unknown): v is GroupArg<unknown> {
  return hasBrand(v, GROUPARG_BRAND);
}

/** The innermost mapped task group `g` is (or is inside), or null. */
export function mappedGroupOf(g: TaskGroup<unknown> | null): TaskGroup<unknown> | null {
  for (let x = g; x; x = x.parent) if (x.mapping) return x;
  return null;
}

/** Every group argument inside a value (arrays and plain objects are searched). */
function findGroupArgs(v: unknown, out: GroupArg<unknown>[] = []): GroupArg<unknown>[] {
  if (isGroupArg(v)) out.push(v);
  else if (hasBrand(v, XCOMARG_BRAND)) return out;
  else if (Array.isArray(v)) for (const x of v) findGroupArgs(x, out);
  else if (isPlainObject(v)) for (const x of Object.values(v)) findGroupArgs(x, out);
  return out;
}

/** A task created in a mapped task group is mapped by the group: it may not be mapped itself
 *  (nor be a branch, whose skips are per task, not per instance), and the group arguments it takes
 *  must be its own group's. */
export function checkInMappedGroup(d: DagUnderConstruction, task_id: string, kind: TaskKind, mapped: boolean, args: unknown): void {
  const group = mappedGroupOf(d.group);
  const where = `task "${d.group.childId(task_id)}" in DAG "${d.dag_id}"`;
  for (const a of findGroupArgs(args)) {
    if (a.group_id !== group?.group_id) {
      throw new DagDefinitionError(`${where} takes argument "${a.key}" of mapped task group "${a.group_id}" but is not inside that group; only its tasks can take it`, { dag_id: d.dag_id, field: "expand" });
    }
  }
  if (!group) return;
  if (mapped) {
    throw new DagDefinitionError(`${where}: a task inside mapped task group "${group.group_id}" cannot be mapped itself (expand inside a mapped group is not supported); it already runs once per element of the group`, { dag_id: d.dag_id, field: "expand" });
  }
  if (kind === "branch" || kind === "short_circuit") {
    throw new DagDefinitionError(`${where}: a ${kind} task inside mapped task group "${group.group_id}" is not supported`, { dag_id: d.dag_id, field: "task_group" });
  }
}

// The DAG whose body is running: task() and friends add their tasks to it. A body runs
// synchronously inside dag(), so one slot suffices (nested dag() calls stack).
import { DagDefinitionError } from "./errors.ts";
import type { DefaultArgs, Task, TaskGroup } from "./types.ts";

export interface DagUnderConstruction {
  dag_id: string;
  default_args: DefaultArgs;
  tasks: Map<string, Task>;
  /** The group tasks are being created in (the root group outside any taskGroup() body). */
  group: TaskGroup<unknown>;
  /** Full ids of the groups made so far: a group id is unique in its DAG. */
  groupIds: Set<string>;
}

const stack: DagUnderConstruction[] = [];

export function currentDag(what: string): DagUnderConstruction {
  const d = stack[stack.length - 1];
  if (!d) throw new DagDefinitionError(`${what} was created outside a dag() body; create tasks inside dag({ ... }, () => { ... })`);
  return d;
}

export function withDag<T>(d: DagUnderConstruction, fn: () => T): T {
  stack.push(d);
  try {
    return fn();
  } finally {
    stack.pop();
  }
}

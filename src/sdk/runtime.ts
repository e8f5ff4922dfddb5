// Reads a running task makes: the context's `var`, `conn` and `ti.xcom_pull`, sensors' pokes, and
// (through sdk/secrets.ts's reader) `Variable.get` and `Connection.get`. The worker running the
// task installs a TaskRuntime under `globalThis[Symbol.for("orch.task-runtime")]`; each read is a
// request to the scheduler, answered from the store, so the SDK imports nothing of orch's internals.
import type { ConnectionInfo } from "./context.ts";

/** What a worker provides while a task runs. */
export interface TaskRuntime {
  getVariable(key: string): Promise<string | null>;
  getConnection(connId: string): Promise<ConnectionInfo | null>;
  /** The external task sensor's poke: states of another DAG's tasks or runs. */
  getExternalStates?(dagId: string, taskIds: string[] | null, logicalDates: string[]): Promise<string[]>;
  /** TriggerDagRun: a run of another DAG, created by the scheduler. */
  triggerDagRun?(r: { dagId: string; conf: Record<string, unknown>; logicalDate: string | null; runId: string | null; resetDagRun: boolean }): Promise<{ runId: string; logicalDate: string | null }>;
  getDagRunState?(dagId: string, runId: string): Promise<string | null>;
  /** Renders the templates in a value (strings, arrays and plain objects of them). */
  renderTemplates?<T>(value: T): Promise<T>;
}

export const TASK_RUNTIME_KEY: unique symbol = Symbol.for("orch.task-runtime") as never;

function runtime(what: string): TaskRuntime {
  const rt = (globalThis as Record<symbol, unknown>)[TASK_RUNTIME_KEY] as TaskRuntime | undefined;
  if (!rt) throw new Error(`${what} can only be called while a task runs (in the task's function, not at the DAG file's top level)`);
  return rt;
}

/** The runtime of the running task (for SDK parts that read through it, such as sensors). */
export function currentRuntime(what: string): TaskRuntime {
  return runtime(what);
}


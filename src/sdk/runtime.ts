// Reads a running task makes: Airflow's `Variable.get` and `Connection.get` (airflow.sdk), and the
// context's `var`, `conn` and `ti.xcom_pull`. The worker running the task installs a TaskRuntime
// under `globalThis[Symbol.for("orch.task-runtime")]`; each read is a request to the scheduler,
// answered from the store, so the SDK itself imports nothing of orch's internals.
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

/** The runtime of the running task (for SDK parts that read through it, such as sensors). */
export function currentRuntime(what: string): TaskRuntime {
  return runtime(what);
}

export const TASK_RUNTIME_KEY: unique symbol = Symbol.for("orch.task-runtime") as never;

function runtime(what: string): TaskRuntime {
  const rt = (globalThis as Record<symbol, unknown>)[TASK_RUNTIME_KEY] as TaskRuntime | undefined;
  if (!rt) throw new Error(`${what} can only be called while a task runs (in the task's function, not at the DAG file's top level)`);
  return rt;
}

/** A connection with its extra parsed, as Airflow's Connection.extra_dejson. */
export type Connection = ConnectionInfo & { extra_dejson: Record<string, unknown> };

export interface VariableGetOptions<T> {
  /** Returned when the variable does not exist (instead of throwing). */
  default?: T;
  /** Parse the value as JSON (Airflow's deserialize_json). */
  deserialize_json?: boolean;
}

async function getVariable(key: string, options: VariableGetOptions<unknown> = {}): Promise<unknown> {
  const raw = await runtime("Variable.get").getVariable(String(key));
  if (raw === null) {
    if ("default" in options) return options.default;
    throw new Error(`Variable "${key}" does not exist`);
  }
  if (!options.deserialize_json) return raw;
  try {
    return JSON.parse(raw) as unknown;
  } catch (e) {
    throw new Error(`Variable "${key}" is not JSON: ${(e as Error).message}`);
  }
}

/** Airflow's `Variable.get(key, default, deserialize_json)`; throws when missing and no default. */
export const Variable = {
  get: getVariable as {
    (key: string, options?: VariableGetOptions<string> & { deserialize_json?: false }): Promise<string>;
    <T = unknown>(key: string, options: VariableGetOptions<T> & { deserialize_json: true }): Promise<unknown>;
  },
};

/** The connection with extra_dejson; throws when it does not exist. */
export async function getConnection(connId: string): Promise<Connection> {
  const c = await runtime("Connection.get").getConnection(String(connId));
  if (c === null) throw new Error(`The conn_id \`${connId}\` isn't defined`);
  let extra: Record<string, unknown> = {};
  if (c.extra) {
    try {
      extra = JSON.parse(c.extra) as Record<string, unknown>;
    } catch {
      // Airflow's extra_dejson: an extra that is not JSON reads as {} (it logs the error).
    }
  }
  return { ...c, extra_dejson: extra };
}

/** Airflow's `Connection.get(conn_id)`. */
export const Connection = { get: getConnection };

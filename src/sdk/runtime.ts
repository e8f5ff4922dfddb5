// Reads a running task makes: the context's `var`, `conn` and `ti.xcom_pull`, and (through
// sdk/secrets.ts's reader) `Variable.get` and `Connection.get`. Each read is a request to the
// scheduler, answered from the store, so the SDK itself imports nothing of orch's internals.
import type { ConnectionInfo } from "./context.ts";

/** What a worker provides while a task runs. */
export interface TaskRuntime {
  getVariable(key: string): Promise<string | null>;
  getConnection(connId: string): Promise<ConnectionInfo | null>;
}


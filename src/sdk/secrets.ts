// Variable.get and Connection.get for task code (Airflow's airflow.sdk Variable / Connection):
//
//   const bucket = await Variable.get("bucket");
//   const cfg = await Variable.get("etl_config", { deserialize_json: true });
//   const wh = await Connection.get("warehouse");        // throws when it does not exist
//
// The SDK imports nothing of orch's internals, so the values come from a reader that the worker
// installs for the task it runs (today the snapshot its run-task message carries; later a request
// over the worker channel). It is kept under a global symbol so that a DAG bundling its own SDK
// copy reads the same reader as the worker's.
import type { ConnectionInfo } from "./context.ts";

export interface SecretsReader {
  getVariable(key: string): Promise<string | undefined>;
  getConnection(connId: string): Promise<ConnectionInfo | undefined>;
}

const READER_KEY = Symbol.for("orch.sdk.secrets-reader");
const g = globalThis as Record<symbol, unknown>;

/** Installs where Variable.get and Connection.get read from (the worker calls this per task). */
export function setSecretsReader(reader: SecretsReader | undefined): void {
  g[READER_KEY] = reader;
}

function reader(what: string): SecretsReader {
  const r = g[READER_KEY] as SecretsReader | undefined;
  if (!r) throw new Error(`${what} can only be called while a task runs (inside a task function), not while the DAG file is parsed`);
  return r;
}

/** Thrown when a variable or connection does not exist and no default was given. */
export class SecretNotFoundError extends Error {
  readonly code = "ORCH_NOT_FOUND";
  constructor(
    readonly kind: "Variable" | "Connection",
    readonly id: string,
  ) {
    // Airflow's own wording, which users search for.
    super(kind === "Variable" ? `Variable ${id} does not exist` : `The conn_id \`${id}\` isn't defined`);
    this.name = kind === "Variable" ? "VariableNotFound" : "ConnectionNotFound";
  }
}

export interface VariableGetOptions<D> {
  /** Returned when the variable does not exist (Airflow's default_var). */
  default?: D;
  /** Parse the value as JSON. */
  deserialize_json?: boolean;
}

/** Variable.get's shapes: text, text or a default, or parsed JSON (typed by the caller). */
export interface VariableApi {
  get(key: string): Promise<string>;
  get<D>(key: string, options: { default: D; deserialize_json?: false }): Promise<string | D>;
  get<T = unknown>(key: string, options: { deserialize_json: true; default?: T }): Promise<T>;
  get(key: string, options?: VariableGetOptions<unknown>): Promise<unknown>;
}

export const Variable: VariableApi = {
  /** The variable's value (the environment first, then the store); throws when missing and no default. */
  async get(key: string, options: VariableGetOptions<unknown> = {}): Promise<unknown> {
    const v = await reader("Variable.get").getVariable(key);
    if (v === undefined) {
      if ("default" in options) return options.default;
      throw new SecretNotFoundError("Variable", key);
    }
    if (!options.deserialize_json) return v;
    try {
      return JSON.parse(v) as unknown;
    } catch (e) {
      throw new Error(`Variable ${key} is not valid JSON: ${(e as Error).message}`);
    }
  },
} as VariableApi;

export interface ConnectionHandle extends ConnectionInfo {
  /** extra parsed as JSON ({} when empty). */
  extra_dejson: Record<string, unknown>;
}

export const Connection = {
  /** The connection (the environment first, then the store); throws when it does not exist. */
  async get(connId: string): Promise<ConnectionHandle> {
    const c = await reader("Connection.get").getConnection(connId);
    if (!c) throw new SecretNotFoundError("Connection", connId);
    let extra_dejson: Record<string, unknown> = {};
    if (c.extra) {
      try {
        extra_dejson = JSON.parse(c.extra) as Record<string, unknown>;
      } catch {
        extra_dejson = {};
      }
    }
    return { ...c, extra_dejson };
  },
};

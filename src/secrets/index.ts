// Where variables and connections come from: Airflow's secrets search path with its two default
// backends, the environment first (ORCH_VAR_<KEY> / AIRFLOW_VAR_<KEY>, ORCH_CONN_<ID> /
// AIRFLOW_CONN_<ID>), then the metastore. Everything that reads a variable or connection for a
// task (the run-task snapshot, the worker's on-demand reads, templates, hooks) goes through
// getVariable / getConnection, so an env-provided value behaves exactly like a stored one.
//
// Glossary:
//   source   - "env" (an environment variable; read-only) or "metastore" (the store's tables).
//   masked   - shown as "***": connection passwords, connection extras under sensitive keys and
//              variables whose names look sensitive (the masker's own rule, Airflow's
//              sensitive_var_conn_names); `--show-secrets` or `get` of one value shows them.
import { MASK, shouldMaskKey } from "../logging/secrets-masker.ts";
import type { ConnectionInfo } from "../sdk/context.ts";
import { getConnectionRecord, listConnectionRecords } from "../store/connections.ts";
import type { Store } from "../store/index.ts";
import { getVariableRow, listVariableRows } from "../store/variables.ts";
import { parseConnectionJson, parseConnectionUri } from "./connection-uri.ts";

export type { ConnectionInfo };
export { parseConnectionUri, parseConnectionJson, connectionToUri, connectionFromObject, redactUri, normalizeConnType } from "./connection-uri.ts";

export type SecretSource = "env" | "metastore";

const VAR_PREFIXES = ["ORCH_VAR_", "AIRFLOW_VAR_"];
const CONN_PREFIXES = ["ORCH_CONN_", "AIRFLOW_CONN_"];

type Env = Readonly<Record<string, string | undefined>>;

/** A variable from the environment: ORCH_VAR_<KEY> wins over AIRFLOW_VAR_<KEY> (keys upper-cased, as Airflow's). */
export function envVariable(key: string, env: Env = process.env): string | undefined {
  for (const p of VAR_PREFIXES) {
    const v = env[p + key.toUpperCase()];
    if (v !== undefined) return v;
  }
  return undefined;
}

/** A connection from the environment, as a URI or Airflow's JSON form (text starting with "{"). */
export function envConnection(connId: string, env: Env = process.env): ConnectionInfo | undefined {
  for (const p of CONN_PREFIXES) {
    const name = p + connId.toUpperCase();
    const v = env[name];
    if (v === undefined) continue;
    return v.trim().startsWith("{") ? parseConnectionJson(connId, v, name) : parseConnectionUri(connId, v.trim(), name);
  }
  return undefined;
}

/** Airflow's Variable.get search path: the environment, then the metastore. */
export async function getVariable(store: Store, key: string): Promise<string | undefined> {
  const fromEnv = envVariable(key);
  if (fromEnv !== undefined) return fromEnv;
  const stored = await getVariableRow(store.db, key);
  return stored ? (stored.val ?? "") : undefined;
}

/** Airflow's Connection.get_connection_from_secrets: the environment, then the metastore. */
export async function getConnection(store: Store, connId: string): Promise<ConnectionInfo | undefined> {
  const fromEnv = envConnection(connId);
  if (fromEnv) return fromEnv;
  const r = await getConnectionRecord(store.db, connId);
  if (!r) return undefined;
  const { description: _d, ...info } = r;
  return info;
}

export interface ListedVariable {
  key: string;
  val: string;
  description: string | null;
  source: SecretSource;
}

export interface ListedConnection extends ConnectionInfo {
  description: string | null;
  source: SecretSource;
}

/** Ids named by env variables with one of the prefixes, lower-cased (env names carry no case). */
function envIds(prefixes: readonly string[], env: Env): Map<string, string> {
  const out = new Map<string, string>();
  // Later prefixes first so that ORCH_ overrides AIRFLOW_ for the same id.
  for (const p of [...prefixes].reverse()) {
    for (const [name, v] of Object.entries(env)) if (name.startsWith(p) && name.length > p.length && v !== undefined) out.set(name.slice(p.length).toLowerCase(), name);
  }
  return out;
}

/** Every variable a task can read; an env variable hides a stored one of the same key (any case). */
export async function listVariables(store: Store, env: Env = process.env): Promise<ListedVariable[]> {
  const fromEnv = envIds(VAR_PREFIXES, env);
  const out: ListedVariable[] = (await listVariableRows(store.db))
    .filter((v) => !fromEnv.has(v.key.toLowerCase()))
    .map((v) => ({ key: v.key, val: v.val ?? "", description: v.description, source: "metastore" as const }));
  for (const [key, name] of fromEnv) out.push({ key, val: env[name]!, description: `from $${name}`, source: "env" });
  return out.sort((a, b) => a.key.localeCompare(b.key));
}

/** Every connection a task can read; an env connection hides a stored one of the same id. A
 *  malformed env connection throws, naming its variable. */
export async function listConnections(store: Store, env: Env = process.env): Promise<ListedConnection[]> {
  const fromEnv = envIds(CONN_PREFIXES, env);
  const out: ListedConnection[] = (await listConnectionRecords(store.db))
    .filter((c) => !fromEnv.has(c.conn_id.toLowerCase()))
    .map((c) => ({ ...c, source: "metastore" as const }));
  for (const [id] of fromEnv) out.push({ ...envConnection(id, env)!, description: null, source: "env" });
  return out.sort((a, b) => a.conn_id.localeCompare(b.conn_id));
}

/** What a try is handed when it starts: every variable and connection by key, env ones under
 *  their lower-cased key and also under any stored key they hide. Two reads per try. */
export async function loadSecretsSnapshot(store: Store, env: Env = process.env): Promise<{ variables: Record<string, string>; connections: Record<string, ConnectionInfo> }> {
  const [vars, conns] = await Promise.all([listVariableRows(store.db), listConnectionRecords(store.db)]);
  const variables: Record<string, string> = {};
  for (const v of vars) variables[v.key] = envVariable(v.key, env) ?? v.val ?? "";
  for (const [key, name] of envIds(VAR_PREFIXES, env)) variables[key] = env[name]!;
  const connections: Record<string, ConnectionInfo> = {};
  const fromEnv = envIds(CONN_PREFIXES, env);
  for (const c of conns) {
    const { description: _d, ...info } = c;
    connections[c.conn_id] = info;
  }
  for (const [id] of fromEnv) {
    try {
      const c = envConnection(id, env)!;
      connections[id] = c;
      // An env connection hides a stored one of the same id in any case.
      for (const stored of conns) if (stored.conn_id.toLowerCase() === id) connections[stored.conn_id] = { ...c, conn_id: stored.conn_id };
    } catch {
      // A malformed env connection must not fail every task; reading it by id reports the error.
    }
  }
  return { variables, connections };
}

/** A variable's value for a listing: masked when its key looks sensitive. */
export function displayVariableValue(key: string, val: string, showSecrets = false): string {
  return !showSecrets && shouldMaskKey(key) ? MASK : val;
}

/** A connection's extra for a listing: values under sensitive keys masked, at any depth. */
export function maskExtra(extra: string | null): string | null {
  if (!extra) return extra;
  let doc: unknown;
  try {
    doc = JSON.parse(extra);
  } catch {
    return extra;
  }
  const walk = (v: unknown, name?: string): unknown => {
    if (Array.isArray(v)) return v.map((x) => walk(x, name));
    if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x, k)]));
    if (name !== undefined && shouldMaskKey(name) && v !== null && v !== "") return MASK;
    return v;
  };
  return JSON.stringify(walk(doc));
}

/** A connection for a listing: the password and sensitive extras masked unless showSecrets. */
export function displayConnection<T extends ConnectionInfo>(c: T, showSecrets = false): T {
  if (showSecrets) return c;
  return { ...c, password: c.password === null || c.password === "" ? c.password : MASK, extra: maskExtra(c.extra) };
}

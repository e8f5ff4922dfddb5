// Where a task's Variable.get and Connection.get are answered from. This minimal version reads the
// metastore only; the secrets layer (environment variables ORCH_VAR_* / ORCH_CONN_* and Airflow's
// spellings, then the metastore) replaces this file with the same two functions.
import type { ConnectionInfo } from "../sdk/context.ts";
import type { Store } from "../store/index.ts";

export type { ConnectionInfo };

/** The variable's value, or undefined when it does not exist. */
export async function getVariable(store: Store, key: string): Promise<string | undefined> {
  const row = await store.db.selectFrom("variable").select("val").where("key", "=", key).executeTakeFirst();
  return row ? (row.val ?? "") : undefined;
}

/** The connection, or undefined when it does not exist. */
export async function getConnection(store: Store, connId: string): Promise<ConnectionInfo | undefined> {
  const c = await store.db.selectFrom("connection").selectAll().where("conn_id", "=", connId).executeTakeFirst();
  if (!c) return undefined;
  return { conn_id: c.conn_id, conn_type: c.conn_type, host: c.host, schema: c.schema, login: c.login, password: c.password, port: c.port, extra: c.extra };
}

// SQL for `connection` (Airflow's Connection model), for the CLI, the secrets reader and the REST API alike. Passwords are stored as given (see
// docs/connections.md for why orch does not encrypt them at rest).
import type { ConnectionInfo } from "../sdk/context.ts";
import type { Db } from "./open.ts";

export interface ConnectionRecord extends ConnectionInfo {
  description: string | null;
}

type Row = {
  conn_id: string;
  conn_type: string;
  description: string | null;
  host: string | null;
  schema: string | null;
  login: string | null;
  password: string | null;
  port: number | null;
  extra: string | null;
};

const COLUMNS = ["conn_id", "conn_type", "description", "host", "schema", "login", "password", "port", "extra"] as const;

function toRecord(r: Row): ConnectionRecord {
  return { conn_id: r.conn_id, conn_type: r.conn_type, description: r.description, host: r.host, schema: r.schema, login: r.login, password: r.password, port: r.port, extra: r.extra };
}

export async function getConnectionRecord(db: Db, connId: string): Promise<ConnectionRecord | undefined> {
  const r = await db.selectFrom("connection").select(COLUMNS).where("conn_id", "=", connId).executeTakeFirst();
  return r ? toRecord(r) : undefined;
}

export async function listConnectionRecords(db: Db): Promise<ConnectionRecord[]> {
  return (await db.selectFrom("connection").select(COLUMNS).orderBy("conn_id").execute()).map(toRecord);
}

/** Inserts a new connection; returns false (and writes nothing) when the id is taken. */
export async function insertConnection(db: Db, c: ConnectionRecord): Promise<boolean> {
  const r = await db
    .insertInto("connection")
    .values({ ...c, is_encrypted: 0, is_extra_encrypted: 0 })
    .onConflict((oc) => oc.column("conn_id").doNothing())
    .executeTakeFirst();
  return Number(r.numInsertedOrUpdatedRows ?? 0) > 0;
}

/** Replaces an existing connection's fields, or inserts it. */
export async function upsertConnection(db: Db, c: ConnectionRecord): Promise<void> {
  const { conn_id, ...fields } = c;
  const r = await db.updateTable("connection").set({ ...fields, is_encrypted: 0, is_extra_encrypted: 0 }).where("conn_id", "=", conn_id).executeTakeFirst();
  if (Number(r.numUpdatedRows) === 0) await db.insertInto("connection").values({ ...c, is_encrypted: 0, is_extra_encrypted: 0 }).execute();
}

/** Changes the given fields of an existing connection; false when there is none. */
export async function updateConnection(db: Db, connId: string, set: Partial<ConnectionFields>): Promise<boolean> {
  if (Object.keys(set).length === 0) return (await getConnectionRecord(db, connId)) !== undefined;
  const r = await db.updateTable("connection").set(set).where("conn_id", "=", connId).executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}

/** Returns whether a row was deleted. */
export async function deleteConnection(db: Db, connId: string): Promise<boolean> {
  const r = await db.deleteFrom("connection").where("conn_id", "=", connId).executeTakeFirst();
  return Number(r.numDeletedRows) > 0;
}

export type ConnectionFields = Omit<ConnectionRecord, "conn_id">;

/** One page of the REST listing: ids matching a LIKE pattern (any case), in the order asked, then by id. */
export async function listConnectionsPage(db: Db, f: { idPattern?: string }, page: { limit: number; offset: number }, order: { column: "conn_id" | "conn_type" | "host" | "id"; desc: boolean }[]): Promise<{ rows: ConnectionRecord[]; total: number }> {
  let q = db.selectFrom("connection").select(COLUMNS);
  if (f.idPattern) q = q.where((eb) => eb(eb.fn("lower", ["conn_id"]), "like", f.idPattern!.toLowerCase()));
  const n = await q.clearSelect().select((eb) => eb.fn.countAll<number>().as("n")).executeTakeFirst();
  for (const o of order) q = q.orderBy(o.column, o.desc ? "desc" : "asc");
  const rows = await q.orderBy("id").limit(page.limit).offset(page.offset).execute();
  return { rows: rows.map(toRecord), total: Number(n?.n ?? 0) };
}

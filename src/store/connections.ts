// SQL for the connection table.
import type { Selectable } from "kysely";
import type { Db } from "./open.ts";
import type { ConnectionTable } from "./schema.ts";

export type ConnectionRow = Selectable<ConnectionTable>;

export interface ConnectionFields {
  conn_type: string;
  description: string | null;
  host: string | null;
  schema: string | null;
  login: string | null;
  password: string | null;
  port: number | null;
  extra: string | null;
}

export async function listConnectionsPage(db: Db, f: { idPattern?: string }, page: { limit: number; offset: number }, order: { column: "conn_id" | "conn_type" | "host" | "id"; desc: boolean }[]) {
  let q = db.selectFrom("connection").selectAll();
  if (f.idPattern) q = q.where((eb) => eb(eb.fn("lower", ["conn_id"]), "like", f.idPattern!.toLowerCase()));
  const n = await q.clearSelect().select((eb) => eb.fn.countAll<number>().as("n")).executeTakeFirst();
  for (const o of order) q = q.orderBy(o.column, o.desc ? "desc" : "asc");
  const rows = await q.orderBy("id").limit(page.limit).offset(page.offset).execute();
  return { rows, total: Number(n?.n ?? 0) };
}

export async function getConnectionRow(db: Db, connId: string): Promise<ConnectionRow | undefined> {
  return db.selectFrom("connection").selectAll().where("conn_id", "=", connId).executeTakeFirst();
}

export async function insertConnection(db: Db, connId: string, f: ConnectionFields): Promise<boolean> {
  const r = await db
    .insertInto("connection")
    .values({ conn_id: connId, ...f, is_encrypted: 0, is_extra_encrypted: 0 })
    .onConflict((oc) => oc.column("conn_id").doNothing())
    .executeTakeFirst();
  return Number(r.numInsertedOrUpdatedRows ?? 0) > 0;
}

export async function updateConnection(db: Db, connId: string, set: Partial<ConnectionFields>): Promise<boolean> {
  if (Object.keys(set).length === 0) return (await getConnectionRow(db, connId)) !== undefined;
  const r = await db.updateTable("connection").set(set).where("conn_id", "=", connId).executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}

export async function deleteConnection(db: Db, connId: string): Promise<boolean> {
  const r = await db.deleteFrom("connection").where("conn_id", "=", connId).executeTakeFirst();
  return Number(r.numDeletedRows) > 0;
}

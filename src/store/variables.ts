// SQL for `variable` (Airflow's Variable model). Values are text; JSON is the caller's concern.
import type { Db } from "./open.ts";

export interface VariableRecord {
  key: string;
  val: string;
  description: string | null;
}

export async function getVariableRecord(db: Db, key: string): Promise<VariableRecord | undefined> {
  const r = await db.selectFrom("variable").select(["key", "val", "description"]).where("key", "=", key).executeTakeFirst();
  return r ? { key: r.key, val: r.val ?? "", description: r.description } : undefined;
}

export async function listVariableRecords(db: Db): Promise<VariableRecord[]> {
  const rows = await db.selectFrom("variable").select(["key", "val", "description"]).orderBy("key").execute();
  return rows.map((r) => ({ key: r.key, val: r.val ?? "", description: r.description }));
}

/** Inserts or replaces (Airflow's Variable.set); a description left undefined keeps the old one. */
export async function setVariableRecord(db: Db, v: { key: string; val: string; description?: string | null }): Promise<void> {
  const updated = await db
    .updateTable("variable")
    .set(v.description === undefined ? { val: v.val, is_encrypted: 0 } : { val: v.val, description: v.description, is_encrypted: 0 })
    .where("key", "=", v.key)
    .executeTakeFirst();
  if (Number(updated.numUpdatedRows) > 0) return;
  await db.insertInto("variable").values({ key: v.key, val: v.val, description: v.description ?? null, is_encrypted: 0 }).execute();
}

/** Returns whether a row was deleted. */
export async function deleteVariableRecord(db: Db, key: string): Promise<boolean> {
  const r = await db.deleteFrom("variable").where("key", "=", key).executeTakeFirst();
  return Number(r.numDeletedRows) > 0;
}

// The REST API's paged listing and row-level edits (src/api/routes).
export interface VariableRow {
  id: number;
  key: string;
  val: string | null;
  description: string | null;
  is_encrypted: number;
}

export async function listVariablesPage(db: Db, f: { keyPattern?: string }, page: { limit: number; offset: number }, order: { column: "key" | "id"; desc: boolean }[]) {
  let q = db.selectFrom("variable").selectAll();
  if (f.keyPattern) q = q.where((eb) => eb(eb.fn("lower", ["key"]), "like", f.keyPattern!.toLowerCase()));
  const n = await q.clearSelect().select((eb) => eb.fn.countAll<number>().as("n")).executeTakeFirst();
  for (const o of order) q = q.orderBy(o.column, o.desc ? "desc" : "asc");
  const rows = await q.orderBy("id").limit(page.limit).offset(page.offset).execute();
  return { rows: rows as VariableRow[], total: Number(n?.n ?? 0) };
}

export async function getVariableRow(db: Db, key: string): Promise<VariableRow | undefined> {
  return db.selectFrom("variable").selectAll().where("key", "=", key).executeTakeFirst();
}

/** Inserts a variable; false when the key exists (nothing changes then). */
export async function insertVariable(db: Db, v: { key: string; val: string; description: string | null }): Promise<boolean> {
  const r = await db
    .insertInto("variable")
    .values({ key: v.key, val: v.val, description: v.description, is_encrypted: 0 })
    .onConflict((oc) => oc.column("key").doNothing())
    .executeTakeFirst();
  return Number(r.numInsertedOrUpdatedRows ?? 0) > 0;
}

export async function updateVariable(db: Db, key: string, set: { val?: string; description?: string | null }): Promise<boolean> {
  if (Object.keys(set).length === 0) return (await getVariableRow(db, key)) !== undefined;
  const r = await db.updateTable("variable").set(set).where("key", "=", key).executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}

export async function deleteVariable(db: Db, key: string): Promise<boolean> {
  const r = await db.deleteFrom("variable").where("key", "=", key).executeTakeFirst();
  return Number(r.numDeletedRows) > 0;
}

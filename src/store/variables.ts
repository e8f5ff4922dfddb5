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

// SQL for `variable` (Airflow's Variable model), for the CLI, the secrets reader and the REST API
// alike. Values are text; JSON is the caller's concern.
import type { Selectable } from "kysely";
import type { Db } from "./open.ts";
import type { VariableTable } from "./schema.ts";

export type VariableRow = Selectable<VariableTable>;

export async function getVariableRow(db: Db, key: string): Promise<VariableRow | undefined> {
  return db.selectFrom("variable").selectAll().where("key", "=", key).executeTakeFirst();
}

/** Every stored variable, by key. */
export async function listVariableRows(db: Db): Promise<VariableRow[]> {
  return db.selectFrom("variable").selectAll().orderBy("key").execute();
}

/** One page of the REST listing: keys matching a LIKE pattern (any case), in the order asked, then by id. */
export async function listVariablesPage(db: Db, f: { keyPattern?: string }, page: { limit: number; offset: number }, order: { column: "key" | "id"; desc: boolean }[]) {
  let q = db.selectFrom("variable").selectAll();
  if (f.keyPattern) q = q.where((eb) => eb(eb.fn("lower", ["key"]), "like", f.keyPattern!.toLowerCase()));
  const n = await q.clearSelect().select((eb) => eb.fn.countAll<number>().as("n")).executeTakeFirst();
  for (const o of order) q = q.orderBy(o.column, o.desc ? "desc" : "asc");
  const rows = await q.orderBy("id").limit(page.limit).offset(page.offset).execute();
  return { rows, total: Number(n?.n ?? 0) };
}

/** Inserts or replaces (Airflow's Variable.set); a description left undefined keeps the old one. */
export async function setVariable(db: Db, v: { key: string; val: string; description?: string | null }): Promise<void> {
  const updated = await db
    .updateTable("variable")
    .set(v.description === undefined ? { val: v.val, is_encrypted: 0 } : { val: v.val, description: v.description, is_encrypted: 0 })
    .where("key", "=", v.key)
    .executeTakeFirst();
  if (Number(updated.numUpdatedRows) > 0) return;
  await db.insertInto("variable").values({ key: v.key, val: v.val, description: v.description ?? null, is_encrypted: 0 }).execute();
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

/** Changes the given fields of an existing variable; false when there is none. */
export async function updateVariable(db: Db, key: string, set: { val?: string; description?: string | null }): Promise<boolean> {
  if (Object.keys(set).length === 0) return (await getVariableRow(db, key)) !== undefined;
  const r = await db.updateTable("variable").set(set).where("key", "=", key).executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}

/** Returns whether a row was deleted. */
export async function deleteVariable(db: Db, key: string): Promise<boolean> {
  const r = await db.deleteFrom("variable").where("key", "=", key).executeTakeFirst();
  return Number(r.numDeletedRows) > 0;
}

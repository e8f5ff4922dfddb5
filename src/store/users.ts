// SQL for the user table (the API's simple auth manager). Only password hashes are stored; how a
// hash is made and checked is the caller's business (src/api/auth/passwords.ts).
import type { Db } from "./open.ts";
import { nowIso } from "./schema.ts";

export interface UserRow {
  id: number;
  username: string;
  password_hash: string;
  role: string;
  created_at: string;
}

export async function listUsers(db: Db): Promise<UserRow[]> {
  return db.selectFrom("user").selectAll().orderBy("username").execute();
}

export async function countUsers(db: Db): Promise<number> {
  const r = await db.selectFrom("user").select((eb) => eb.fn.countAll<number>().as("n")).executeTakeFirst();
  return Number(r?.n ?? 0);
}

export async function getUser(db: Db, username: string): Promise<UserRow | undefined> {
  return db.selectFrom("user").selectAll().where("username", "=", username).executeTakeFirst();
}

/** Inserts a user; false when the name is taken (nothing changes then). */
export async function createUser(db: Db, u: { username: string; passwordHash: string; role: string }): Promise<boolean> {
  const r = await db
    .insertInto("user")
    .values({ username: u.username, password_hash: u.passwordHash, role: u.role, created_at: nowIso() })
    .onConflict((oc) => oc.column("username").doNothing())
    .executeTakeFirst();
  return Number(r.numInsertedOrUpdatedRows ?? 0) > 0;
}

export async function setUserPassword(db: Db, username: string, passwordHash: string): Promise<boolean> {
  const r = await db.updateTable("user").set({ password_hash: passwordHash }).where("username", "=", username).executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}

export async function setUserRole(db: Db, username: string, role: string): Promise<boolean> {
  const r = await db.updateTable("user").set({ role }).where("username", "=", username).executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}

export async function deleteUser(db: Db, username: string): Promise<boolean> {
  const r = await db.deleteFrom("user").where("username", "=", username).executeTakeFirst();
  return Number(r.numDeletedRows) > 0;
}

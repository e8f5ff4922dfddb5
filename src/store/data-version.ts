// The database's data version: a short text that changes whenever a write has been committed since
// it was last read, by this process or any other (the dialect's dataVersionQuery says how). Reads
// that depend only on the database can be kept and served again while it is unchanged
// (src/api/read-cache.ts). Read it BEFORE the reads it stamps: a write committed in between then
// makes the next reading differ, so the kept result is at worst newer than its stamp, never older.
// Rolled-back writes may change it too (a needless reload, never a stale answer).
import type { Store } from "./open.ts";

export async function readDataVersion(store: Pick<Store, "db" | "dialect">): Promise<string> {
  const r = await store.dialect.dataVersionQuery().execute(store.db);
  return String(r.rows[0]?.v ?? "");
}

// Per-DAG serialisation inside a transaction, for the limits that several schedulers must hold
// together (max_active_tasks in the claim, max_active_runs in run creation and run start).
//
// PostgreSQL under READ COMMITTED lets two claimers both count "one slot free" and both take it (a
// store-level race exceeded max_active_tasks in 8 of 20 rounds). A transaction-scoped advisory
// lock per (purpose, DAG) makes the second wait until the first commits; its next statement then
// sees the first one's writes. Advisory, not `dag` row locks, so the DAG processor's writes to the
// dag row never queue behind a claim. Locks are taken in sorted order, so claimers cannot deadlock.
// SQLite needs nothing: BEGIN IMMEDIATE already admits one writer at a time.
import { sql, type Kysely } from "kysely";
import type { Dialect } from "./dialect.ts";
import type { Database } from "./schema.ts";

export type DagLockPurpose = "max_active_tasks" | "max_active_runs";

export async function lockDags(trx: Kysely<Database>, dialect: Dialect, purpose: DagLockPurpose, dagIds: Iterable<string>): Promise<void> {
  if (!dialect.supportsAdvisoryLocks) return;
  for (const dagId of [...new Set(dagIds)].sort()) {
    await sql`select pg_advisory_xact_lock(hashtext(${`orch:${purpose}:${dagId}`}))`.execute(trx);
  }
}

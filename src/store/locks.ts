// Per-DAG serialisation inside a transaction, for the limits that several schedulers must hold
// together (max_active_tasks in the claim, max_active_runs in run creation and run start).
//
// PostgreSQL under READ COMMITTED lets two claimers both count "one slot free" and both take it (a
// store-level race exceeded max_active_tasks in 8 of 20 rounds). A transaction-scoped advisory
// lock per (purpose, DAG) makes the second wait until the first commits; its next statement then
// sees the first one's writes. Advisory, not `dag` row locks, so the DAG processor's writes to the
// dag row never queue behind a claim. Locks are taken in sorted order, so claimers cannot deadlock.
// SQLite needs nothing: BEGIN IMMEDIATE already admits one writer at a time. Each lock is its own
// statement, sent pipelined (src/store/pg-session.ts): it shares a round trip with the statement
// after it, which still starts only once the lock is granted.
import { sql, type Kysely } from "kysely";
import type { Dialect } from "./dialect.ts";
import { PIPELINED } from "./pg-session.ts";
import type { Database } from "./schema.ts";

export type DagLockPurpose = "max_active_tasks" | "max_active_runs";

export async function lockDags(trx: Kysely<Database>, dialect: Dialect, purpose: DagLockPurpose, dagIds: Iterable<string>): Promise<void> {
  if (!dialect.supportsAdvisoryLocks) return;
  for (const dagId of [...new Set(dagIds)].sort()) {
    await sql`${sql.raw(PIPELINED)}select pg_advisory_xact_lock(hashtext(${`orch:${purpose}:${dagId}`}))`.execute(trx);
  }
}

/**
 * One evaluation of a run at a time (PostgreSQL): two tries of one run finishing together (two
 * workers, or two schedulers) each recorded their own success, then each read the other's row as
 * still running, uncommitted, and neither scheduled their common downstream: it waited for the
 * safety poll. Airflow's mini-scheduler locks the dag_run row for the same reason. Taken after the
 * finished try's own writes and before the evaluation's first read, as its own statement (a read in
 * the same statement would use a snapshot taken before the wait). The two-key form keeps run ids
 * apart from the DAG locks above. A hand-off takes it before its claim's max_active_tasks
 * lock, and nothing takes them the other way round, so the two cannot deadlock.
 */
export async function lockRunEvaluation(trx: Kysely<Database>, dialect: Dialect, runId: number): Promise<void> {
  if (!dialect.supportsAdvisoryLocks) return;
  await sql`${sql.raw(PIPELINED)}select pg_advisory_xact_lock(${RUN_EVALUATION_LOCK}, ${runId})`.execute(trx);
}
/** The first key of a run evaluation's lock: an arbitrary constant. */
const RUN_EVALUATION_LOCK = 1869771333;

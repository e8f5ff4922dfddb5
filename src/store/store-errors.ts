// Which store errors are worth waiting out. The scheduler retries a write that fails (persist in
// src/scheduler/task-runner.ts) so that an outcome survives PostgreSQL restarting or a disk filling
// up. An error that belongs to one row, not to the store, would fail the same way on every retry: a
// try whose start a constraint or a trigger refuses held its worker while the scheduler retried it
// for ever, and with one worker nothing else ran (test/engine/start-failure.test.ts).
//
// Transient: PostgreSQL's SQLSTATE classes for a connection lost (08), a transaction rolled back by
// contention (40: serialization failure, deadlock), resources (53: disk full, out of memory), an
// object in use (55), the server shutting down or starting (57), system and internal errors (58,
// XX), a read-only transaction (25006); any error without an SQLSTATE (pg's "Connection terminated
// unexpectedly", ECONNREFUSED); and every SQLite error except those about the statement's own data
// (a constraint or trigger that refused it, a value of the wrong type or size).
// https://www.postgresql.org/docs/15/errcodes-appendix.html, https://www.sqlite.org/rescode.html

const PG_TRANSIENT_CLASSES = new Set(["08", "40", "53", "55", "57", "58", "XX"]);
const SQLITE_ROW_CODES = /^SQLITE_(CONSTRAINT|MISMATCH|TOOBIG|RANGE)/;

/** Whether `e`, thrown by a store statement, may go away if the statement is tried again later. */
export function isTransientStoreError(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  if (typeof code !== "string") return true;
  if (code.startsWith("SQLITE_")) return !SQLITE_ROW_CODES.test(code);
  if (/^[0-9A-Z]{5}$/.test(code)) return code === "25006" || PG_TRANSIENT_CLASSES.has(code.slice(0, 2));
  return true; // a Node system error (ECONNRESET, EPIPE, ...)
}

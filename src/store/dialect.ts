// The differences between SQLite and PostgreSQL, as named capabilities. Query code asks these,
// never the URL. Each flag says why it differs.
import { sql, type ColumnDefinitionBuilder, type RawBuilder } from "kysely";

export type DialectName = "sqlite" | "postgres";

export interface Dialect {
  name: DialectName;
  /** PostgreSQL can lock claimable rows without waiting on other claimers; SQLite has one writer
   *  at a time anyway (BEGIN IMMEDIATE), so it needs no row locks. */
  supportsSkipLocked: boolean;
  /** SQLite serialises writers per database file: a claim must take the write lock up front
   *  (BEGIN IMMEDIATE), or two processes that both read first dead-end on the upgrade. */
  needsImmediateWriteTransactions: boolean;
  /** PostgreSQL's DDL races (two CREATE TABLE IF NOT EXISTS collide on pg_type) need migrators
   *  serialised by an advisory lock; SQLite's BEGIN IMMEDIATE already serialises them. */
  supportsAdvisoryLocks: boolean;
  /** PostgreSQL binds a JS array as one array parameter (`= any($1::text[])`); SQLite binds only
   *  scalars, so a list travels as JSON text read by json_each. Either way one parameter, so a
   *  statement's text does not change with the list's length. */
  supportsArrayParameters: boolean;
  /** PostgreSQL runs an UPDATE … RETURNING inside WITH and feeds its rows to an INSERT, one
   *  statement (one round trip) for two writes; SQLite allows only SELECT in WITH. */
  supportsDataModifyingCtes: boolean;
  /** `column IN (values)` as one parameter whatever the list's length (see supportsArrayParameters):
   *  `= any($1::text[])` or `::bigint[]` on PostgreSQL, `in (select value from json_each($1))` on
   *  SQLite, so the statement is prepared once. */
  inList(column: string, values: readonly string[] | readonly number[], type: "text" | "bigint"): RawBuilder<boolean>;
  /** The integer primary key that the database numbers itself. */
  autoId(col: ColumnDefinitionBuilder): ColumnDefinitionBuilder;
  /** A column compared in a WHERE clause that must not choose the index. SQLite without ANALYZE
   *  statistics guesses that an index equality matches ~10 rows, so `id IN (…) AND state =
   *  'deferred'` walked all 10,000 deferred rows through the state index instead of looking up the
   *  listed ids (6 ms per statement); SQLite's documented opt-out is a unary `+`. PostgreSQL plans
   *  by its statistics and gets the bare column. */
  unindexed(column: string): RawBuilder<unknown>;
  /** One row `{ v }` whose text changes whenever a write has been committed to the database since
   *  it was last read, by this connection or any other (data-version.ts). SQLite: data_version
   *  moves on other connections' commits, total_changes() on this connection's rows. PostgreSQL:
   *  the current snapshot (xmin:xmax:in-progress ids) moves when any transaction that was given
   *  a transaction id (every writer; never a plain read) ends, in any database of the server. */
  dataVersionQuery(): RawBuilder<{ v: string }>;
  /** After a bulk insert, the planner's statistics of the tables written, or nothing to do.
   *  PostgreSQL plans by statistics that autovacuum refreshes only some time after a write: just
   *  after a backfill inserted 3,650 runs it still took dag_run for empty and planned the
   *  scheduler's read of the next queued runs as a scan of dag_run per entry (3.5 s a step, in
   *  about half the benchmark's runs, until autovacuum came by). SQLite keeps no statistics unless
   *  asked (see `unindexed`). */
  analyzeQuery(tables: readonly string[]): RawBuilder<unknown> | undefined;
  /** How many rows the planner believes `table` holds (PostgreSQL's pg_class.reltuples: -1 before
   *  its first ANALYZE), or nothing on a dialect that plans without statistics. */
  plannerRowsQuery(table: string): RawBuilder<{ n: number }> | undefined;
}

export const sqliteDialect: Dialect = {
  name: "sqlite",
  supportsSkipLocked: false,
  needsImmediateWriteTransactions: true,
  supportsAdvisoryLocks: false,
  supportsArrayParameters: false,
  supportsDataModifyingCtes: false,
  inList: (column, values) => sql<boolean>`${sql.ref(column)} in (select value from json_each(${JSON.stringify(values)}))`,
  autoId: (col) => col.primaryKey().autoIncrement(),
  unindexed: (column) => sql`+${sql.ref(column)}`,
  dataVersionQuery: () => sql<{ v: string }>`select data_version || ':' || total_changes() as v from pragma_data_version`,
  analyzeQuery: () => undefined,
  plannerRowsQuery: () => undefined,
};

export const postgresDialect: Dialect = {
  name: "postgres",
  supportsSkipLocked: true,
  needsImmediateWriteTransactions: false,
  supportsAdvisoryLocks: true,
  supportsArrayParameters: true,
  supportsDataModifyingCtes: true,
  inList: (column, values, type) => sql<boolean>`${sql.ref(column)} = any(${[...values]}::${sql.raw(type)}[])`,
  autoId: (col) => col.primaryKey().generatedByDefaultAsIdentity(),
  unindexed: (column) => sql.ref(column),
  dataVersionQuery: () => sql<{ v: string }>`select pg_current_snapshot()::text as v`,
  analyzeQuery: (tables) => sql`analyze ${sql.join(tables.map((t) => sql.table(t)))}`,
  plannerRowsQuery: (table) => sql<{ n: number }>`select reltuples::float8 as n from pg_class where oid = ${table}::regclass`,
};

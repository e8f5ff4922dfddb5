// Opening the metadata store: one Kysely instance over better-sqlite3 or pg, chosen by URL.
import Database from "better-sqlite3";
import { CompiledQuery, Kysely, PostgresDialect, SqliteDialect, type Transaction } from "kysely";
import { resolve } from "node:path";
import { OrchError } from "../errors.ts";
import { postgresDialect, sqliteDialect, type Dialect } from "./dialect.ts";
import type { Database as Schema } from "./schema.ts";
import { storePool } from "./pg-session.ts";
import { prepareSqliteFile, sqliteReadOnlyError } from "./sqlite-file.ts";

export type Db = Kysely<Schema> | Transaction<Schema>;

export type DatabaseLocation = { kind: "sqlite"; path: string } | { kind: "postgres"; url: string };

export interface Store {
  db: Kysely<Schema>;
  dialect: Dialect;
  /** The URL with any password hidden, for messages. */
  displayUrl: string;
  location: DatabaseLocation;
  /** Runs `fn` in one transaction that holds the write lock from its first statement (SQLite's
   *  BEGIN IMMEDIATE; an ordinary transaction on PostgreSQL, where claims lock rows instead). */
  writeTransaction<T>(fn: (trx: Kysely<Schema>) => Promise<T>): Promise<T>;
  /** Statements executed through `db` since the store opened (benchmarks count them per task). */
  readonly stats: StoreStats;
  close(): Promise<void>;
}

/** What a store counts of its own statements, for benchmarks. */
export interface StoreStats {
  statements: number;
  /** When set (a benchmark sets it), each statement's duration in ms by its SQL text, as Kysely
   *  timed it (the driver's round trip included). */
  durations?: Map<string, number[]>;
}

/** Kysely's query log, used to count statements (one increment per query) and, when asked, time them. */
function countingLog(stats: StoreStats) {
  return (e: { level: string; query: { sql: string }; queryDurationMillis: number }) => {
    if (e.level !== "query") return;
    stats.statements++;
    if (!stats.durations) return;
    const times = stats.durations.get(e.query.sql);
    if (times) times.push(e.queryDurationMillis);
    else stats.durations.set(e.query.sql, [e.queryDurationMillis]);
  };
}

/** better-sqlite3 prepared statements kept by SQL text. Kysely's SQLite driver prepares every
 *  query afresh, and preparing was the larger part of the query layer's 47% of the scheduler's
 *  CPU on a 1,000-task chain; the hot path repeats a few dozen statements. Kysely runs one
 *  statement at a time on the single connection and never streams here, so a cached statement is
 *  never busy when it is asked for again. Bounded: statements whose text varies (IN lists of
 *  different lengths) are evicted oldest first. */
function cachingPrepare(conn: Database.Database, max = 500) {
  const cache = new Map<string, Database.Statement>();
  return {
    close: () => conn.close(),
    prepare(text: string): Database.Statement {
      let stmt = cache.get(text);
      if (stmt) {
        // Most recently used last, so eviction takes the oldest.
        cache.delete(text);
        cache.set(text, stmt);
        return stmt;
      }
      stmt = conn.prepare(text);
      cache.set(text, stmt);
      if (cache.size > max) cache.delete(cache.keys().next().value!);
      return stmt;
    },
  };
}

/** `sqlite:///relative.db`, `sqlite:////absolute/path.db` (Airflow's forms), `postgres://…`. */
export function parseDatabaseUrl(url: string): DatabaseLocation {
  if (url.startsWith("sqlite:///")) {
    const path = url.slice("sqlite:///".length);
    if (!path) throw new OrchError("ORCH_DB_URL_INVALID", `database URL "${url}" names no file`, { url });
    return { kind: "sqlite", path: resolve(path) };
  }
  if (/^postgres(ql)?:\/\//.test(url)) return { kind: "postgres", url };
  throw new OrchError(
    "ORCH_DB_URL_INVALID",
    `database URL "${redactUrl(url)}" is neither sqlite:///PATH nor postgres://USER:PASSWORD@HOST:PORT/DB`,
    { url: redactUrl(url) },
  );
}

export function redactUrl(url: string): string {
  return url.replace(/:\/\/([^:@/]*):[^@/]*@/, "://$1:***@");
}

export interface OpenStoreOptions {
  /** PostgreSQL: send repeated statements as named, server-side prepared ones (default true;
   *  [database] prepared_statements). Off for PgBouncer in transaction mode before 1.21. */
  preparedStatements?: boolean;
}

export async function openStore(url: string, options: OpenStoreOptions = {}): Promise<Store> {
  const loc = parseDatabaseUrl(url);
  return loc.kind === "sqlite" ? openSqlite(loc.path, url) : openPostgres(loc.url, options.preparedStatements ?? true);
}

// Compiled once: a template's compile was a visible share of a chain hop's transaction.
const BEGIN_IMMEDIATE = CompiledQuery.raw("begin immediate");
const COMMIT = CompiledQuery.raw("commit");
const ROLLBACK = CompiledQuery.raw("rollback");

function openSqlite(path: string, url: string): Store {
  prepareSqliteFile(path);
  let conn: Database.Database;
  try {
    conn = new Database(path);
    // WAL lets the API and CLI read while the scheduler writes; NORMAL sync is durable across a
    // process crash (only an OS crash can lose the last commits), and 5-10x faster than FULL here.
    conn.pragma("journal_mode = WAL");
  } catch (e) {
    throw sqliteReadOnlyError(path, e) ?? new OrchError("ORCH_DB_UNREACHABLE", `cannot open SQLite database ${path}: ${(e as Error).message}`, { path });
  }
  conn.pragma("synchronous = NORMAL");
  // Another orch process holding the write lock makes us wait rather than fail at once.
  conn.pragma("busy_timeout = 10000");
  // Ephemeral tables (an IN list, a correlated count, a sort) in memory. With the default (a
  // temporary file, opened lazily), each one set up a pager per execution: the claim, which has
  // two, took 40-65 µs instead of 9-14 µs on a 1,000-task chain. The store's statements sort and
  // group metadata rows, never more than a listing's page, so memory stays small.
  conn.pragma("temp_store = MEMORY");
  const stats: StoreStats = { statements: 0 };
  const db = new Kysely<Schema>({ dialect: new SqliteDialect({ database: cachingPrepare(conn) }), log: countingLog(stats) });
  return {
    db,
    stats,
    dialect: sqliteDialect,
    displayUrl: url,
    location: { kind: "sqlite", path },
    writeTransaction: (fn) =>
      db.connection().execute(async (c) => {
        await c.executeQuery(BEGIN_IMMEDIATE);
        try {
          const out = await fn(c);
          await c.executeQuery(COMMIT);
          return out;
        } catch (e) {
          await c.executeQuery(ROLLBACK).catch(() => {});
          throw e;
        }
      }),
    close: () => db.destroy(),
  };
}

async function openPostgres(url: string, preparedStatements: boolean): Promise<Store> {
  // pg is imported only for a PostgreSQL store: loading it cost every SQLite command ~30 ms of
  // start-up (its Cloudflare check alone pulls in Node's built-in fetch).
  const { default: pg } = await import("pg");
  // pipeline: a statement may go on the wire before the previous one's answer (only those storePool
  // marks: begin, the advisory locks; everything else still waits for its predecessor).
  const pool = new pg.Pool({ connectionString: url, max: 5, connectionTimeoutMillis: 5000, pipeline: true });
  // A client that loses its server (PostgreSQL restarted: 57P01 "terminating connection due to
  // administrator command") must not crash the process. pg-pool listens for errors only on idle
  // clients and removes its listener from checked-out ones, so an error event on a client in use
  // had no listener and was thrown (7 of 20 restarts killed a busy scheduler). Every client gets
  // its own listener for its whole life; the query in flight still fails and its caller retries.
  pool.on("error", () => {});
  pool.on("connect", (client) => {
    client.on("error", () => {});
  });
  try {
    const c = await pool.connect();
    c.release();
  } catch (e) {
    await pool.end().catch(() => {});
    throw new OrchError(
      "ORCH_DB_UNREACHABLE",
      `cannot reach PostgreSQL at ${redactUrl(url)}: ${(e as Error).message}`,
      { url: redactUrl(url) },
    );
  }
  const stats: StoreStats = { statements: 0 };
  const db = new Kysely<Schema>({ dialect: new PostgresDialect({ pool: storePool(pool, { preparedStatements }) }), log: countingLog(stats) });
  return {
    db,
    stats,
    dialect: postgresDialect,
    displayUrl: redactUrl(url),
    location: { kind: "postgres", url },
    writeTransaction: (fn) => db.transaction().execute(fn),
    close: () => db.destroy(),
  };
}

// How the PostgreSQL store's statements reach the server: the pool Kysely's PostgresDialect is given
// wraps pg's, for two things Kysely's driver does not do. Each saves server work or round trips on
// the scheduler's hot path (docs/engine.md, "Prepared statements and pipelining (PostgreSQL)").
//
// Named statements. Kysely sends every statement unnamed, so the server parses, analyses and plans
// it at each execution; the hot path repeats about a dozen. Named, each is parsed once per
// connection, and PostgreSQL's plan cache keeps a generic plan once it costs no more than the custom
// ones (plan_cache_mode = auto). Which statements get a name: those with parameters (one without
// goes as a single simple Query message), from their second execution on (a statement run once, such
// as an API listing with an unusual filter, is not kept by the server), and at most `maxNames` per
// store, so statements whose text varies (IN lists of many lengths) cannot grow the server's memory
// without bound: past the budget they go unnamed. A named statement whose result columns change under
// it (a migration added a column to a table a `select *` reads) fails with "cached plan must not
// change result type" (0A000); it is then given a new name, so its next execution parses afresh, and
// the error goes to the caller, whose transaction it has aborted anyway (the scheduler retries).
// PgBouncer in transaction mode before 1.21 does not carry named statements between server
// connections: [database] prepared_statements = false there.
//
// Pipelined statements. Some statements' results are never read: `begin`, and the advisory locks
// (src/store/locks.ts, marked with PIPELINED). pg's pipeline mode sends a query without waiting for
// the one before; such a statement is sent and answered "done" at once, and the next statement goes
// on the wire right behind it, so the two cost one round trip. The server still runs them in order
// and apart: a lock is granted before the next statement starts and takes its snapshot, exactly as
// when each waited for the other. Its outcome is not lost: the next statement on the connection
// waits for it and, if it failed, throws its error (not the "current transaction is aborted" that
// follows it); a rollback waits for it and ignores it.
import type { PostgresPool, PostgresPoolClient, PostgresQueryResult } from "kysely";
import type pg from "pg";

/** Starts a statement whose result nobody reads, so it may share a round trip with the next one. */
export const PIPELINED = "/* pipelined */ ";

export interface StorePoolOptions {
  /** Send repeated parameterised statements as named ones (default true). */
  preparedStatements?: boolean;
  /** Most statements named per store (default 256). */
  maxNames?: number;
  /** Executions of a text before it is named (default 2). */
  namedFrom?: number;
}

/** What the wrapper did, for tests and benchmarks. */
export interface StorePoolStats {
  /** Statements named so far (never more than maxNames). */
  named: number;
  /** Executions that went with a name. */
  namedExecutions: number;
  /** Executions that went unnamed. */
  unnamedExecutions: number;
  /** Statements renamed after their result columns changed. */
  renamed: number;
  /** Statements sent without waiting for their answer (begin, locks). */
  pipelined: number;
}

const SEEN_LIMIT = 4096;

/** `pool` (created with `pipeline: true`) for Kysely's PostgresDialect. */
export function storePool(pool: pg.Pool, options: StorePoolOptions = {}): PostgresPool & { stats: StorePoolStats } {
  const prepared = options.preparedStatements ?? true;
  const maxNames = options.maxNames ?? 256;
  const namedFrom = Math.max(1, options.namedFrom ?? 2);
  const names = new Map<string, string>();
  // Executions of texts not yet named. Cleared when it fills: a text then starts counting again.
  const seen = new Map<string, number>();
  let serial = 0;
  const stats: StorePoolStats = { named: 0, namedExecutions: 0, unnamedExecutions: 0, renamed: 0, pipelined: 0 };

  function nameFor(sql: string): string | undefined {
    const name = names.get(sql);
    if (name !== undefined || names.size >= maxNames) return name;
    const n = (seen.get(sql) ?? 0) + 1;
    if (n < namedFrom) {
      if (seen.size >= SEEN_LIMIT) seen.clear();
      seen.set(sql, n);
      return undefined;
    }
    seen.delete(sql);
    const fresh = `orch_${++serial}`;
    names.set(sql, fresh);
    stats.named = names.size;
    return fresh;
  }

  function send(client: pg.PoolClient, sql: string, values: unknown[]): Promise<pg.QueryResult> {
    const name = prepared && values.length > 0 ? nameFor(sql) : undefined;
    if (name === undefined) {
      stats.unnamedExecutions++;
      return client.query(sql, values);
    }
    stats.namedExecutions++;
    return client.query({ name, text: sql, values }).catch((e: unknown) => {
      const err = e as { code?: string; message?: string };
      if (err.code === "0A000" && /cached plan must not change result type/.test(err.message ?? "") && names.get(sql) === name) {
        names.set(sql, `orch_${++serial}`);
        stats.renamed++;
      }
      throw e;
    });
  }

  const wrappers = new WeakMap<pg.PoolClient, PostgresPoolClient>();
  function wrap(client: pg.PoolClient): PostgresPoolClient {
    // The pipelined statements sent and not yet answered, as one promise (rejects with the first
    // failure); whoever sends the next statement waits for it.
    let pending: Promise<unknown> | undefined;
    const pipelining = client.pipeline;
    async function query<R>(sql: string, parameters: ReadonlyArray<unknown>): Promise<PostgresQueryResult<R>> {
      const values = [...parameters];
      if (pipelining && (sql === "begin" || sql.startsWith(PIPELINED))) {
        const p = send(client, sql, values);
        p.catch(() => {}); // seen by the next statement
        pending = pending ? pending.then(() => p) : p;
        stats.pipelined++;
        return { command: "SELECT", rowCount: 0, rows: [] };
      }
      const before = pending;
      pending = undefined;
      const own = send(client, sql, values);
      if (before) {
        own.catch(() => {});
        if (sql === "rollback") await before.catch(() => {});
        else await before;
      }
      return (await own) as unknown as PostgresQueryResult<R>;
    }
    return {
      query: ((sqlOrCursor: unknown, parameters?: ReadonlyArray<unknown>) =>
        typeof sqlOrCursor === "string" ? query(sqlOrCursor, parameters ?? []) : client.query(sqlOrCursor as never)) as PostgresPoolClient["query"],
      release: (destroy?: boolean) => {
        // A pipelined statement nobody followed (not done by the store: a transaction always ends
        // with commit or rollback) would hand its error to the client's next user: drop the client.
        const orphan = pending !== undefined;
        pending = undefined;
        client.release(destroy || orphan);
      },
    };
  }

  return {
    stats,
    async connect() {
      const client = await pool.connect();
      let w = wrappers.get(client);
      if (!w) {
        w = wrap(client);
        wrappers.set(client, w);
      }
      return w;
    },
    end: () => pool.end(),
  };
}

// Server-side prepared statements for the PostgreSQL store. Kysely's PostgreSQL driver sends every
// statement unnamed, so the server parses, analyses and plans it on each execution. The scheduler's
// hot path repeats about a dozen statements per task instance; named, each is parsed once per
// connection, and PostgreSQL's plan cache keeps a generic plan once it costs no more than the custom
// ones (plan_cache_mode = auto). On a 1,000-task chain that took the hop from ~4.4 to ~3.6 ms
// (docs/engine.md, "Prepared statements (PostgreSQL)").
//
// Which statements get a name: those with parameters (a statement without any goes as one simple
// Query message, already one round trip), from their second execution on (a statement run once, such
// as an API listing with an unusual filter, is not kept by the server), and at most `maxNames` of
// them per store, so that statements whose text varies (IN lists of many lengths) cannot grow the
// server's memory without bound: past the budget, statements go unnamed as before.
//
// A named statement whose result columns change under it (a migration added a column to a table a
// `select *` reads) fails with "cached plan must not change result type" (0A000); the statement is
// then given a new name, so its next execution parses afresh, and the error goes to the caller, whose
// transaction it has aborted anyway (the scheduler's loop retries).
//
// PgBouncer in transaction mode before 1.21 does not carry named statements between server
// connections: set [database] prepared_statements = false there.
import type { PostgresPool, PostgresPoolClient, PostgresQueryResult } from "kysely";
import type pg from "pg";

export interface PreparedStatementsOptions {
  /** Most statements named per store (default 256). */
  maxNames?: number;
  /** Executions of a text before it is named (default 2). */
  namedFrom?: number;
}

/** What the wrapper did, for tests and benchmarks. */
export interface PreparedStatementStats {
  /** Statements named so far (their count never exceeds maxNames). */
  named: number;
  /** Executions that went with a name. */
  namedExecutions: number;
  /** Executions that went unnamed. */
  unnamedExecutions: number;
  /** Statements renamed after their result columns changed. */
  renamed: number;
}

const SEEN_LIMIT = 4096;

/** `pool` for Kysely's PostgresDialect, sending repeated parameterised statements as named ones. */
export function withPreparedStatements(pool: pg.Pool, options: PreparedStatementsOptions = {}): PostgresPool & { stats: PreparedStatementStats } {
  const maxNames = options.maxNames ?? 256;
  const namedFrom = Math.max(1, options.namedFrom ?? 2);
  const names = new Map<string, string>();
  // Executions of texts not yet named. Cleared when it fills: a text then starts counting again.
  const seen = new Map<string, number>();
  let serial = 0;
  const stats: PreparedStatementStats = { named: 0, namedExecutions: 0, unnamedExecutions: 0, renamed: 0 };

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

  const wrappers = new WeakMap<pg.PoolClient, PostgresPoolClient>();
  function wrap(client: pg.PoolClient): PostgresPoolClient {
    async function named<R>(sql: string, parameters: ReadonlyArray<unknown>): Promise<PostgresQueryResult<R>> {
      const values = [...parameters];
      const name = values.length > 0 ? nameFor(sql) : undefined;
      if (name === undefined) {
        stats.unnamedExecutions++;
        return (await client.query(sql, values)) as unknown as PostgresQueryResult<R>;
      }
      stats.namedExecutions++;
      try {
        return (await client.query({ name, text: sql, values })) as unknown as PostgresQueryResult<R>;
      } catch (e) {
        const err = e as { code?: string; message?: string };
        if (err.code === "0A000" && /cached plan must not change result type/.test(err.message ?? "") && names.get(sql) === name) {
          names.set(sql, `orch_${++serial}`);
          stats.renamed++;
        }
        throw e;
      }
    }
    const w = {
      query: ((sqlOrCursor: unknown, parameters?: ReadonlyArray<unknown>) =>
        typeof sqlOrCursor === "string" ? named(sqlOrCursor, parameters ?? []) : client.query(sqlOrCursor as never)) as PostgresPoolClient["query"],
      release: (destroy?: boolean) => client.release(destroy),
    };
    return w;
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

// Statements of the task hand-off's hot path, built and compiled by Kysely once per dialect and
// then run with new parameters. Building and compiling a query (expression builders, operation
// nodes, frozen objects, the compiler's visit) cost more CPU than SQLite's execution of it: on a
// chain of 1,000 no-op tasks the query layer was the scheduler's largest share after the worker
// channel. The query is written with Kysely as everywhere else; only its variable values are
// slots, filled in by position at each run.
//
// A slot may stand where a value goes (a comparison's operand, a set or insert value); not a
// limit, which SQLite plans worse as a parameter (the claim ran 4-6x slower with `limit ?`): a
// limit is a literal of its variant.
// A list of values (`in`) is `p.list(name, n)`, compiled once per length (the caller passes it as
// the variant). What makes the SQL text differ (an `is null` instead of `= ?`, a column set or
// not) must not depend on a slot: that is built from constants, or is its own variant.
import type { Compilable, CompiledQuery, QueryResult } from "kysely";
import type { Db } from "./open.ts";
import { PIPELINED } from "./pg-session.ts";

class Slot {
  constructor(
    readonly name: string,
    readonly index: number | undefined,
  ) {}
}

export interface Slots<P> {
  /** The value `params[name]` of each run. */
  v<K extends keyof P & string>(name: K): P[K];
  /** `n` values `params[name][0..n)` of each run (an `in` list). */
  list<K extends keyof P & string>(name: K, n: number): P[K] extends readonly (infer E)[] ? E[] : never;
}

const slots: Slots<Record<string, unknown>> = {
  v: (name) => new Slot(name, undefined) as never,
  list: (name, n) => Array.from({ length: n }, (_, i) => new Slot(name, i)) as never,
};

interface Compiled {
  query: CompiledQuery;
  /** Per parameter: the slot filling it, or undefined for a constant of the query. */
  fill: (Slot | undefined)[];
}

export interface HotQueryOptions {
  /** The caller never reads the result (rows or count): on PostgreSQL the statement may share a
   *  round trip with the next one (src/store/pg-session.ts), and its result there is empty. */
  pipelined?: boolean;
}

/**
 * A statement compiled once per dialect (and variant) and run with `params`. `build` gets the
 * database (for its builder only: it must not run anything) and the slots.
 */
export function hotQuery<P extends Record<string, unknown>, R = unknown>(
  build: (db: Db, p: Slots<P>, variant: string) => Compilable<R>,
  options: HotQueryOptions = {},
): (db: Db, params: P, variant?: string) => Promise<QueryResult<R>> {
  // Keyed by the dialect's adapter class (the compiled SQL depends on the dialect only), then variant.
  const cache = new WeakMap<object, Map<string, Compiled>>();
  return (db, params, variant = "") => {
    const key = db.getExecutor().adapter.constructor;
    let perDialect = cache.get(key);
    if (!perDialect) cache.set(key, (perDialect = new Map()));
    let c = perDialect.get(variant);
    if (!c) {
      const built = build(db, slots as unknown as Slots<P>, variant).compile();
      const query = options.pipelined ? { ...built, sql: PIPELINED + built.sql } : built;
      c = { query, fill: query.parameters.map((x) => (x instanceof Slot ? x : undefined)) };
      perDialect.set(variant, c);
    }
    const { query, fill } = c;
    const parameters = query.parameters.map((x, i) => {
      const s = fill[i];
      if (!s) return x;
      const value = params[s.name];
      return s.index === undefined ? value : (value as readonly unknown[])[s.index];
    });
    return db.executeQuery<R>({ ...query, parameters } as CompiledQuery<R>);
  };
}

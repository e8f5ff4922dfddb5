// SqliteHook: the embedded default warehouse, $ORCH_HOME/warehouse.db (better-sqlite3, WAL). Same
// interface as PostgresHook; bulk loads are one prepared INSERT run per row inside one transaction,
// which is SQLite's fastest path. SQLite has no timestamp type: timestamps are stored as naive ISO
// text 'YYYY-MM-DD HH:MM:SS', which sorts and compares correctly and which date()/strftime() read.
import Database from "better-sqlite3";
import { dirname, join } from "node:path";
import { mkdirSync } from "node:fs";
import { resolveHome } from "../config.ts";
import { OrchError } from "../errors.ts";
import { Connection } from "../sdk/secrets.ts";
import { asBatches } from "./rows.ts";
import type { ColumnSpec, ColumnType, InsertOptions, RowSource, SqlValue, TableColumn, WarehouseHook, WriteOptions } from "./types.ts";
import { dateFromDays, naiveFromMicros, quoteColumn, quoteIdent } from "./values.ts";

export const SQLITE_TYPES: Record<ColumnType, string> = {
  boolean: "INTEGER",
  integer: "INTEGER",
  bigint: "INTEGER",
  double: "REAL",
  text: "TEXT",
  timestamp: "TIMESTAMP",
  timestamptz: "TIMESTAMPTZ",
  date: "DATE",
};

/**
 * `$1` placeholders (the hooks' common style) to SQLite's `?`, leaving quoted text alone; returns the
 * parameters in the order of the `?`s (better-sqlite3 binds numbered `?1` only by name).
 */
export function toSqlite<T>(sql: string, params: readonly T[]): { sql: string; params: T[] } {
  const ordered: T[] = [];
  let numbered = false;
  const out = sql.replace(/('(?:[^']|'')*'|"(?:[^"]|"")*")|\$(\d+)|\?/g, (m, quoted: string | undefined, n: string | undefined) => {
    if (quoted !== undefined) return m;
    if (n === undefined) return m;
    numbered = true;
    ordered.push(params[Number(n) - 1]);
    return "?";
  });
  return numbered ? { sql: out, params: ordered } : { sql, params: [...params] };
}

type Bindable = string | number | bigint | null;

function bind(v: SqlValue, timestamp = false): Bindable {
  if (v === null || v === undefined) return null;
  if (typeof v === "boolean") return v ? 1 : 0;
  if (v instanceof Date) return naiveFromMicros(v.getTime() * 1000);
  if (timestamp && (typeof v === "number" || typeof v === "bigint")) return naiveFromMicros(v);
  return v;
}

export function defaultWarehousePath(env: NodeJS.ProcessEnv = process.env): string {
  return join(resolveHome(env), "warehouse.db");
}

export class SqliteHook implements WarehouseHook {
  readonly dialect = "sqlite" as const;
  readonly path: string;
  private db: Database.Database | undefined;
  private depth = 0;

  /** `path`: a file, `sqlite:///abs/path`, or nothing for $ORCH_HOME/warehouse.db. */
  constructor(path?: string) {
    this.path = path ? path.replace(/^sqlite:\/\//, "") : defaultWarehousePath();
  }

  /** A hook on a connection by id (conn_type sqlite; the file is its host, or its schema as
   *  `sqlite:////abs/path.db` gives it): `await SqliteHook.fromConnection("wh")`. */
  static async fromConnection(connId: string): Promise<SqliteHook> {
    const c = await Connection.get(connId);
    if (c.conn_type !== "sqlite") {
      throw new OrchError("ORCH_USAGE", `SqliteHook needs a connection of conn_type "sqlite", ${connId} has "${c.conn_type}"`, { field: "conn_type" });
    }
    const path = c.host || c.schema;
    if (!path) throw new OrchError("ORCH_USAGE", `connection ${connId} names no SQLite file (set its host to the file's path)`, { field: "host" });
    return new SqliteHook(path);
  }

  getConn(): Database.Database {
    if (!this.db) {
      if (this.path !== ":memory:") mkdirSync(dirname(this.path), { recursive: true });
      const db = new Database(this.path);
      db.pragma("journal_mode = WAL");
      db.pragma("busy_timeout = 30000");
      db.defaultSafeIntegers(false);
      this.db = db;
    }
    return this.db;
  }

  async run(sql: string, params: readonly SqlValue[] = []): Promise<{ rowCount: number }> {
    const q = toSqlite(sql, params.map((p) => bind(p)));
    const stmt = this.getConn().prepare(q.sql);
    if (!stmt.reader) return { rowCount: stmt.run(q.params).changes };
    stmt.all(q.params);
    return { rowCount: 0 };
  }

  async getRecords<T extends Record<string, unknown> = Record<string, unknown>>(sql: string, params: readonly SqlValue[] = []): Promise<T[]> {
    const q = toSqlite(sql, params.map((p) => bind(p)));
    return this.getConn().prepare(q.sql).all(q.params) as T[];
  }

  async transaction<T>(fn: () => Promise<T>): Promise<T> {
    if (this.depth > 0) return fn();
    const db = this.getConn();
    // IMMEDIATE takes the write lock now, so two loaders serialise instead of failing at COMMIT.
    db.exec("BEGIN IMMEDIATE");
    this.depth++;
    try {
      const result = await fn();
      db.exec("COMMIT");
      return result;
    } catch (e) {
      if (db.inTransaction) db.exec("ROLLBACK");
      throw e;
    } finally {
      this.depth--;
    }
  }

  async copyFrom(table: string, source: RowSource, options: WriteOptions): Promise<number> {
    const ncol = options.columns.length;
    const sql = `INSERT INTO ${quoteIdent(table)} (${options.columns.map(quoteColumn).join(", ")}) VALUES (${options.columns.map(() => "?").join(", ")})`;
    return this.transaction(async () => {
      const stmt = this.getConn().prepare(sql);
      const values = new Array<Bindable>(ncol);
      let rows = 0;
      for await (const batch of asBatches(source, options.columns, 16_384)) {
        if (batch.flat) {
          // Typed columns from the Parquet reader: bind straight from the arrays.
          const flat = batch.flat;
          for (let i = 0; i < batch.numRows; i++) {
            for (let j = 0; j < ncol; j++) {
              const c = flat[j];
              if (c.nulls && c.nulls[i]) values[j] = null;
              else {
                const v = c.values[i];
                values[j] = c.type === "timestamp" || c.type === "timestamptz" ? naiveFromMicros(v as number) : c.type === "date" ? dateFromDays(v as number) : v;
              }
            }
            stmt.run(values);
          }
          rows += batch.numRows;
          continue;
        }
        const ts = batch.columns.map((_, j) => batch.types?.[j] === "timestamp" || batch.types?.[j] === "timestamptz");
        for (let i = 0; i < batch.numRows; i++) {
          for (let j = 0; j < ncol; j++) values[j] = bind(batch.columns[j][i], ts[j]);
          stmt.run(values);
        }
        rows += batch.numRows;
      }
      return rows;
    });
  }

  async insertRows(table: string, source: RowSource, options: InsertOptions): Promise<number> {
    const ncol = options.columns.length;
    // SQLite allows 32,766 bound parameters per statement.
    const batchSize = Math.max(1, Math.min(options.batchSize ?? 1000, Math.floor(32_766 / Math.max(1, ncol))));
    const head = `INSERT INTO ${quoteIdent(table)} (${options.columns.map(quoteColumn).join(", ")}) VALUES `;
    const tuple = `(${options.columns.map(() => "?").join(", ")})`;
    const db = this.getConn();
    let rows = 0;
    for await (const batch of asBatches(source, options.columns, batchSize)) {
      const ts = batch.columns.map((_, j) => batch.types?.[j] === "timestamp" || batch.types?.[j] === "timestamptz");
      for (let i = 0; i < batch.numRows; i += batchSize) {
        const to = Math.min(batch.numRows, i + batchSize);
        const params: Bindable[] = [];
        for (let r = i; r < to; r++) for (let j = 0; j < ncol; j++) params.push(bind(batch.columns[j][r], ts[j]));
        db.prepare(head + new Array(to - i).fill(tuple).join(", ")).run(params);
        rows += to - i;
      }
    }
    return rows;
  }

  async describeTable(table: string): Promise<TableColumn[] | undefined> {
    const rows = this.getConn().prepare(`SELECT name, type, "notnull" AS nn FROM pragma_table_info(?)`).all(table) as { name: string; type: string; nn: number }[];
    if (rows.length === 0) return undefined;
    return rows.map((r) => ({ name: r.name, declaredType: r.type, nullable: r.nn === 0 }));
  }

  async createTable(table: string, columns: readonly ColumnSpec[]): Promise<void> {
    const defs = columns.map((c) => `${quoteColumn(c.name)} ${SQLITE_TYPES[c.type]}${c.nullable ? "" : " NOT NULL"}`);
    this.getConn().exec(`CREATE TABLE IF NOT EXISTS ${quoteIdent(table)} (${defs.join(", ")})`);
  }

  async lockForLoad(): Promise<void> {
    // BEGIN IMMEDIATE already holds SQLite's single write lock.
  }

  async close(): Promise<void> {
    this.db?.close();
    this.db = undefined;
  }
}

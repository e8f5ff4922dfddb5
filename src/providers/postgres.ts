// PostgresHook: a warehouse on PostgreSQL through pg. One hook is one session (one pg.Client,
// connected on first use), so a transaction and the COPY inside it share a connection.
// Bulk loads stream `COPY … FROM STDIN` (text format) through pg-copy-streams with backpressure.
import { createRequire } from "node:module";
import type pg from "pg";
import { from as copyFromStdin } from "pg-copy-streams";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { OrchError } from "../errors.ts";
import { Connection } from "../sdk/secrets.ts";
import { COPY_BINARY_HEADER, COPY_BINARY_TRAILER, binaryWritable, encodeBinaryRows } from "./copy-binary.ts";
import { encodeCopyRows } from "./copy-text.ts";
import { asBatches } from "./rows.ts";
import type { ColumnBatch, ColumnSpec, ColumnType, InsertOptions, RowSource, SqlValue, TableColumn, WarehouseHook, WriteOptions } from "./types.ts";
import { naiveFromMicros, quoteColumn, quoteIdent } from "./values.ts";

const requireCjs = createRequire(import.meta.url);
let pgModule: typeof pg | undefined;

/**
 * pg, loaded on first connect (a SQLite warehouse never loads it). On load, pg's lib/stream.js asks
 * whether it runs on Cloudflare Workers: with no `navigator` global (Node 20 has none; Node 21+ has
 * one), it builds a `Response`, which makes Node load its built-in fetch, ~25 ms of CPU in every
 * process that loads pg (a task's worker among them). A `navigator` that says Node.js answers the
 * question instead; it exists only during this synchronous require, so nothing else sees it.
 */
function loadPg(): typeof pg {
  if (pgModule) return pgModule;
  const g = globalThis as { navigator?: unknown };
  const shim = !("navigator" in globalThis);
  if (shim) Object.defineProperty(globalThis, "navigator", { value: { userAgent: `Node.js/${process.versions.node}` }, configurable: true, writable: true });
  try {
    pgModule = requireCjs("pg") as typeof pg;
  } finally {
    if (shim) delete g.navigator;
  }
  return pgModule;
}

/** The fields of a row of the `connection` table (src/store/schema.ts) a hook needs. */
export interface ConnectionRecord {
  conn_type: string;
  host: string | null;
  port: number | null;
  login: string | null;
  password: string | null;
  /** Airflow's name for the database. */
  schema: string | null;
  /** JSON text or an object; `sslmode` and `application_name` are honoured. */
  extra?: string | Record<string, unknown> | null;
}

export const PG_TYPES: Record<ColumnType, string> = {
  boolean: "boolean",
  integer: "integer",
  bigint: "bigint",
  double: "double precision",
  text: "text",
  timestamp: "timestamp without time zone",
  timestamptz: "timestamp with time zone",
  date: "date",
};

/** The ColumnType a PostgreSQL column type holds exactly, if any (information_schema's data_type). */
export function pgColumnType(declared: string): ColumnType | undefined {
  const d = declared.toLowerCase();
  return (Object.keys(PG_TYPES) as ColumnType[]).find((t) => PG_TYPES[t] === d);
}

export function pgConfigFrom(conn: string | ConnectionRecord): pg.ClientConfig {
  if (typeof conn === "string") {
    if (!/^postgres(ql)?:\/\//.test(conn)) {
      throw new OrchError("ORCH_DB_URL_INVALID", `not a PostgreSQL URI: expected postgres://user:password@host:port/database`, { url: conn.replace(/:[^:@/]*@/, ":***@") });
    }
    return { connectionString: conn };
  }
  if (!["postgres", "postgresql"].includes(conn.conn_type)) {
    throw new OrchError("ORCH_USAGE", `PostgresHook needs a connection of conn_type "postgres", got "${conn.conn_type}"`, { field: "conn_type" });
  }
  let extra: Record<string, unknown> = {};
  if (typeof conn.extra === "string" && conn.extra.trim()) {
    try {
      extra = JSON.parse(conn.extra) as Record<string, unknown>;
    } catch {
      throw new OrchError("ORCH_USAGE", `connection extra is not JSON`, { field: "extra" });
    }
  } else if (conn.extra && typeof conn.extra === "object") extra = conn.extra;
  const cfg: pg.ClientConfig = {
    host: conn.host ?? "127.0.0.1",
    port: conn.port ?? 5432,
    user: conn.login ?? undefined,
    password: conn.password ?? undefined,
    database: conn.schema ?? undefined,
  };
  if (typeof extra.application_name === "string") cfg.application_name = extra.application_name;
  if (extra.sslmode === "require" || extra.sslmode === "verify-full") cfg.ssl = { rejectUnauthorized: extra.sslmode === "verify-full" };
  return cfg;
}

function pgParam(v: SqlValue): unknown {
  return v === undefined ? null : v;
}

function splitTable(table: string): { schema: string | null; name: string } {
  const i = table.indexOf(".");
  return i < 0 ? { schema: null, name: table } : { schema: table.slice(0, i), name: table.slice(i + 1) };
}

export class PostgresHook implements WarehouseHook {
  readonly dialect = "postgres" as const;
  private client: pg.Client | undefined;
  private connecting: Promise<pg.Client> | undefined;
  private depth = 0;
  private readonly config: pg.ClientConfig;

  constructor(conn: string | ConnectionRecord) {
    this.config = pgConfigFrom(conn);
  }

  /** A hook on a connection by id, read as a task reads it (`ORCH_CONN_<ID>`, then the store):
   *  `await PostgresHook.fromConnection("warehouse")`. Only inside a running task. */
  static async fromConnection(connId: string): Promise<PostgresHook> {
    return new PostgresHook(await Connection.get(connId));
  }

  /** The connected client (for what the hook does not cover). */
  async getConn(): Promise<pg.Client> {
    if (this.client) return this.client;
    this.connecting ??= (async () => {
      const c = new (loadPg().Client)(this.config);
      try {
        await c.connect();
      } catch (e) {
        this.connecting = undefined;
        throw new OrchError("ORCH_DB_UNREACHABLE", `cannot connect to PostgreSQL at ${this.config.host ?? this.config.connectionString?.replace(/:[^:@/]*@/, ":***@")}: ${(e as Error).message}`);
      }
      // A broken connection errors the next query; without a listener it would crash the process.
      c.on("error", () => {});
      this.client = c;
      return c;
    })();
    return this.connecting;
  }

  async run(sql: string, params: readonly SqlValue[] = []): Promise<{ rowCount: number }> {
    const c = await this.getConn();
    const r = await c.query(sql, params.map(pgParam));
    return { rowCount: r.rowCount ?? 0 };
  }

  async getRecords<T extends Record<string, unknown> = Record<string, unknown>>(sql: string, params: readonly SqlValue[] = []): Promise<T[]> {
    const c = await this.getConn();
    return (await c.query(sql, params.map(pgParam))).rows as T[];
  }

  async transaction<T>(fn: () => Promise<T>): Promise<T> {
    if (this.depth > 0) return fn();
    const c = await this.getConn();
    await c.query("BEGIN");
    this.depth++;
    try {
      const result = await fn();
      await c.query("COMMIT");
      return result;
    } catch (e) {
      await c.query("ROLLBACK").catch(() => {});
      throw e;
    } finally {
      this.depth--;
    }
  }

  async copyFrom(table: string, source: RowSource, options: WriteOptions): Promise<number> {
    const c = await this.getConn();
    const cols = options.columns.map(quoteColumn).join(", ");
    // Look at the first batch to choose the format: binary when it has typed columns that can be
    // written as the table's types, text otherwise.
    const it = asBatches(source, options.columns, 16_384)[Symbol.asyncIterator]();
    const first = await it.next();
    const targets = options.types;
    const binary =
      !first.done && first.value.flat !== undefined && targets !== undefined && first.value.flat.every((f, j) => binaryWritable(f.type, targets[j]));
    const stream = c.query(copyFromStdin(`COPY ${quoteIdent(table)} (${cols}) FROM STDIN${binary ? " (FORMAT binary)" : ""}`));
    let rows = 0;
    async function* batches(): AsyncGenerator<ColumnBatch> {
      if (first.done) return;
      yield first.value;
      for (let n = await it.next(); !n.done; n = await it.next()) yield n.value;
    }
    // 8-16k rows per write: big enough to amortise a write, small enough to keep memory flat.
    async function* encode(): AsyncGenerator<Buffer> {
      if (binary) yield COPY_BINARY_HEADER;
      for await (const batch of batches()) {
        const step = binary ? 8192 : 16_384;
        if (binary && !batch.flat) throw new OrchError("ORCH_USAGE", `copyFrom ${table}: a batch without typed columns after typed ones`);
        for (let i = 0; i < batch.numRows; i += step) {
          const to = Math.min(batch.numRows, i + step);
          yield binary ? encodeBinaryRows(batch.flat!, targets as ColumnType[], i, to) : Buffer.from(encodeCopyRows(batch, i, to));
          rows += to - i;
        }
      }
      if (binary) yield COPY_BINARY_TRAILER;
    }
    await pipeline(Readable.from(encode(), { highWaterMark: 4 }), stream);
    return rows;
  }

  async insertRows(table: string, source: RowSource, options: InsertOptions): Promise<number> {
    const batchSize = Math.max(1, Math.min(options.batchSize ?? 1000, Math.floor(65_535 / Math.max(1, options.columns.length))));
    const head = `INSERT INTO ${quoteIdent(table)} (${options.columns.map(quoteColumn).join(", ")}) VALUES `;
    const ncol = options.columns.length;
    let rows = 0;
    for await (const batch of asBatches(source, options.columns, batchSize)) {
      const ts = batch.columns.map((_, j) => batch.types?.[j] === "timestamp" || batch.types?.[j] === "timestamptz");
      for (let i = 0; i < batch.numRows; i += batchSize) {
        const to = Math.min(batch.numRows, i + batchSize);
        const params: unknown[] = [];
        const tuples: string[] = [];
        for (let r = i; r < to; r++) {
          const ph: string[] = [];
          for (let j = 0; j < ncol; j++) {
            const v = batch.columns[j][r];
            params.push(ts[j] && (typeof v === "number" || typeof v === "bigint") ? naiveFromMicros(v) : pgParam(v));
            ph.push(`$${params.length}`);
          }
          tuples.push(`(${ph.join(", ")})`);
        }
        await this.run(head + tuples.join(", "), params as SqlValue[]);
        rows += to - i;
      }
    }
    return rows;
  }

  async describeTable(table: string): Promise<TableColumn[] | undefined> {
    const { schema, name } = splitTable(table);
    const rows = await this.getRecords<{ column_name: string; data_type: string; is_nullable: string }>(
      `SELECT column_name, data_type, is_nullable FROM information_schema.columns
       WHERE table_name = $1 AND table_schema = COALESCE($2, current_schema()) ORDER BY ordinal_position`,
      [name, schema],
    );
    if (rows.length === 0) return undefined;
    return rows.map((r) => ({ name: r.column_name, declaredType: r.data_type, nullable: r.is_nullable === "YES" }));
  }

  async createTable(table: string, columns: readonly ColumnSpec[]): Promise<void> {
    const defs = columns.map((c) => `${quoteColumn(c.name)} ${PG_TYPES[c.type]}${c.nullable ? "" : " NOT NULL"}`);
    await this.run(`CREATE TABLE IF NOT EXISTS ${quoteIdent(table)} (${defs.join(", ")})`);
  }

  async lockForLoad(key: string): Promise<void> {
    await this.run("SELECT pg_advisory_xact_lock(hashtext($1))", [key]);
  }

  async close(): Promise<void> {
    const c = this.client;
    this.client = undefined;
    this.connecting = undefined;
    if (c) await c.end().catch(() => {});
  }
}

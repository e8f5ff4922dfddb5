// The partition loader: replace one partition of a table with a file's rows, in one transaction.
//
//   BEGIN; [CREATE TABLE IF NOT EXISTS]; lock(table, partition);
//   DELETE FROM t WHERE <partition column> = value; COPY t FROM STDIN …; COMMIT
//
// A re-run, a backfill's reprocessing or a crash mid-load therefore leaves either the old partition
// or the new one, never both or half. The partition column is added by the loader, not taken from
// the data (a TLC month holds a few pickups from the month before, so keying by pickup date would
// not be idempotent). The source is validated whole (Parquet magic and footer, schema against the
// table) before the transaction opens, so a bad file writes nothing. The first row group is decoded
// while the schema check, the lock and the DELETE run in the server (they overlap instead of adding
// up); a decode that fails later rolls the transaction back like any failure mid-COPY.
import { OrchError } from "../errors.ts";
import { csvSource } from "./csv.ts";
import { parquetSource } from "./parquet.ts";
import { pgColumnType } from "./postgres.ts";
import { quoteColumn, quoteIdent } from "./values.ts";
import { columnBatch, flatBatch, type ColumnSpec, type ColumnType, type TableColumn, type TableSource, type WarehouseHook } from "./types.ts";

export interface Partition {
  column: string;
  value: string | number;
}

export interface LoadOptions {
  /** The partition this load replaces (e.g. `{ column: "source_month", value: "2024-01" }`). */
  partition: Partition;
  /** A local .parquet or .csv path, or any TableSource. */
  source: string | TableSource;
  /** Called after each batch with the rows written so far. */
  onProgress?: (rows: number) => void;
}

export async function openSource(source: string | TableSource): Promise<TableSource> {
  if (typeof source !== "string") return source;
  return /\.csv$/i.test(source) ? csvSource(source) : parquetSource(source);
}

// Which declared table types accept a source column of each type without loss.
const PG_ACCEPTS: Record<ColumnType, string[]> = {
  boolean: ["boolean"],
  integer: ["integer", "bigint", "numeric", "double precision"],
  bigint: ["bigint", "numeric"],
  double: ["double precision", "numeric"],
  text: ["text", "character varying", "character"],
  timestamp: ["timestamp without time zone"],
  timestamptz: ["timestamp with time zone"],
  date: ["date"],
};

/** SQLite's affinity of a declared type (https://www.sqlite.org/datatype3.html, section 3.1). */
function sqliteAffinity(declared: string): "INTEGER" | "TEXT" | "BLOB" | "REAL" | "NUMERIC" {
  const d = declared.toUpperCase();
  if (d.includes("INT")) return "INTEGER";
  if (d.includes("CHAR") || d.includes("CLOB") || d.includes("TEXT")) return "TEXT";
  if (d === "" || d.includes("BLOB")) return "BLOB";
  if (d.includes("REAL") || d.includes("FLOA") || d.includes("DOUB")) return "REAL";
  return "NUMERIC";
}

function sqliteAccepts(t: ColumnType, declared: string): boolean {
  const a = sqliteAffinity(declared);
  const d = declared.toUpperCase();
  switch (t) {
    case "boolean":
      return a === "INTEGER" || a === "NUMERIC" || a === "BLOB";
    case "integer":
    case "bigint":
      return a === "INTEGER" || a === "NUMERIC" || a === "BLOB" || a === "REAL";
    case "double":
      return a === "REAL" || a === "NUMERIC" || a === "BLOB";
    case "text":
      return a === "TEXT" || a === "BLOB";
    case "timestamp":
    case "timestamptz":
      return d.includes("TIME") || a === "TEXT";
    case "date":
      return d.includes("DATE") || a === "TEXT";
  }
}

export function partitionColumn(p: Partition): ColumnSpec {
  return { name: p.column, type: typeof p.value === "number" ? "bigint" : "text", nullable: false };
}

/** Throws ORCH_SCHEMA_MISMATCH naming the first column at fault when `columns` cannot go into `table`. */
export function checkFits(dialect: "postgres" | "sqlite", table: string, existing: TableColumn[], columns: readonly ColumnSpec[], sourceName: string): void {
  const byName = new Map(existing.map((c) => [c.name, c]));
  for (const c of columns) {
    const t = byName.get(c.name);
    if (!t) {
      throw new OrchError(
        "ORCH_SCHEMA_MISMATCH",
        `${sourceName} does not fit table ${table}: it has column ${c.name} (${c.type}), which the table lacks (table columns: ${existing.map((e) => e.name).join(", ")})`,
        { table, column: c.name, source: sourceName },
      );
    }
    const ok = dialect === "postgres" ? PG_ACCEPTS[c.type].includes(t.declaredType.toLowerCase()) : sqliteAccepts(c.type, t.declaredType);
    if (!ok) {
      throw new OrchError(
        "ORCH_SCHEMA_MISMATCH",
        `${sourceName} does not fit table ${table}: column ${c.name} is ${c.type} in the file but ${t.declaredType} in the table`,
        { table, column: c.name, source: sourceName, fileType: c.type, tableType: t.declaredType },
      );
    }
  }
}

/**
 * Starts pulling the first item of `source` now and hands back an iterable that yields it and the
 * rest. `close()` ends the source when nobody consumed it (it releases the file).
 */
function prefetchFirst<T>(source: AsyncIterable<T>): { items: AsyncIterable<T>; close(): Promise<void> } {
  const it = source[Symbol.asyncIterator]();
  const first = it.next();
  first.catch(() => {}); // seen by whoever iterates; until then not an unhandled rejection
  let started = false;
  return {
    items: {
      async *[Symbol.asyncIterator]() {
        started = true;
        for (let n = await first; !n.done; n = await it.next()) yield n.value;
      },
    },
    async close() {
      if (started) return;
      await first.catch(() => {});
      await it.return?.(undefined)?.catch(() => {});
    },
  };
}

async function loadInto(hook: WarehouseHook, table: string, src: TableSource, partition: Partition | undefined, onProgress?: (rows: number) => void): Promise<number> {
  const extra = partition ? [partitionColumn(partition)] : [];
  if (partition && src.columns.some((c) => c.name === partition.column)) {
    throw new OrchError("ORCH_SCHEMA_MISMATCH", `${src.name} already has a column ${partition.column}; choose another partition column name`, { column: partition.column });
  }
  const all = [...src.columns, ...extra];
  // Decoding (CPU in this process) starts now, beside the connection, the schema check, the lock and
  // the DELETE (round trips and work in the server's process): on the green month the decode and
  // those overlap instead of adding up. Only the first row group is decoded ahead, the one the COPY
  // needs first, so memory stays at one row group; nothing is written before the DELETE.
  const pre = prefetchFirst(src.batches());
  try {
    const existing = await hook.describeTable(table);
    if (existing) checkFits(hook.dialect, table, existing, all, src.name);
    const names = all.map((c) => c.name);
    return await hook.transaction(async () => {
      if (!existing) {
        await hook.lockForLoad(`create ${table}`);
        await hook.createTable(table, all);
      }
      await hook.lockForLoad(`load ${table} ${partition ? String(partition.value) : ""}`);
      const where = partition ? ` WHERE ${quoteColumn(partition.column)} = $1` : "";
      await hook.run(`DELETE FROM ${quoteIdent(table)}${where}`, partition ? [partition.value] : []);
      let written = 0;
      const pcol = partition ? partitionColumn(partition) : undefined;
      async function* withPartition() {
        for await (const b of pre.items) {
          if (!partition || !pcol) yield b;
          else if (b.flat) {
            const values = pcol.type === "text" ? new Array<string>(b.numRows).fill(String(partition.value)) : new Float64Array(b.numRows).fill(Number(partition.value));
            yield flatBatch(b.numRows, [...b.flat, { type: pcol.type, values }]);
          } else {
            yield columnBatch(b.numRows, [...b.columns, constantColumn(partition.value, b.numRows)], [...(b.types ?? b.columns.map(() => undefined)), undefined]);
          }
          written += b.numRows;
          onProgress?.(written);
        }
      }
      const tableTypes = hook.dialect === "postgres" ? (existing ? names.map((n) => pgColumnType(existing.find((c) => c.name === n)!.declaredType)) : all.map((c) => c.type)) : undefined;
      return hook.copyFrom(table, withPartition(), { columns: names, types: tableTypes });
    });
  } finally {
    await pre.close();
  }
}

function constantColumn<T>(value: T, length: number): T[] {
  return new Array<T>(length).fill(value);
}

/**
 * Replaces the rows of `partition` in `table` with those of `source`, in one transaction; creates the
 * table on first use (columns from the source's schema plus the partition column). Returns the row count.
 */
export async function loadPartition(hook: WarehouseHook, table: string, options: LoadOptions): Promise<number> {
  if (!options.partition?.column) throw new OrchError("ORCH_USAGE", "loadPartition needs partition: { column, value }", { field: "partition" });
  const src = await openSource(options.source);
  return loadInto(hook, table, src, options.partition, options.onProgress);
}

/** Loads a CSV (e.g. the zone lookup): replaces the table's rows, or one partition's when given. */
export async function loadCsv(hook: WarehouseHook, table: string, options: { source: string; partition?: Partition }): Promise<number> {
  return loadInto(hook, table, await csvSource(options.source), options.partition);
}

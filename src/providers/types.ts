// Glossary for the providers.
//   ColumnType   the few column types orch loads: what a Parquet or CSV column becomes in a warehouse.
//   ColumnSpec   one column of a source or a table: name, type, nullable.
//   ColumnBatch  rows held column by column (what the Parquet reader yields and COPY consumes):
//                `columns[j][i]` is row i of column j. Cheaper than row objects for large loads.
//   Row          one row as an array (in the order of `columns`) or as an object keyed by column.
//   RowSource    rows or batches, sync or async: what copyFrom and insertRows accept.
//   TableSource  a readable source with a known schema: columns plus a batches() generator.

import type { FlatColumn } from "./parquet-flat.ts";

export type ColumnType = "boolean" | "integer" | "bigint" | "double" | "text" | "timestamp" | "timestamptz" | "date";

export interface ColumnSpec {
  name: string;
  type: ColumnType;
  nullable: boolean;
}

/**
 * A value a hook can write. INT64 columns come from Parquet as bigint; timestamps from Parquet are
 * naive text 'YYYY-MM-DD HH:MM:SS[.ffffff]' (never shifted to a time zone).
 */
export type SqlValue = string | number | bigint | boolean | Date | null | undefined;

const BATCH = Symbol.for("orch.providers.ColumnBatch");

export interface ColumnBatch {
  readonly [BATCH]: true;
  readonly numRows: number;
  readonly columns: readonly ArrayLike<SqlValue>[];
  /**
   * Per column, optional: "timestamp" marks a column of numbers as microseconds since the epoch read
   * as naive wall-clock time (the Parquet reader leaves them so; the hooks format them as text while
   * writing, which is much cheaper than building a string per value in the decoder).
   */
  readonly types?: readonly (ColumnType | undefined)[];
  /**
   * The same values as typed arrays with null masks, when the batch came from the Parquet reader:
   * the hooks' fast paths (binary COPY, SQLite binds) read these and never build `columns`.
   */
  readonly flat?: readonly FlatColumn[];
}

/** Wraps column arrays as a batch (branded with a registry symbol so a second copy of this module still recognises it). */
export function columnBatch(
  numRows: number,
  columns: readonly ArrayLike<SqlValue>[],
  types?: readonly (ColumnType | undefined)[],
): ColumnBatch {
  for (const c of columns) {
    if (c.length < numRows) throw new RangeError(`columnBatch: a column has ${c.length} values, expected ${numRows}`);
  }
  return { [BATCH]: true, numRows, columns, types };
}

/** A batch over flat columns; `columns` (plain values) is built only if someone reads it. */
export function flatBatch(numRows: number, flat: readonly FlatColumn[]): ColumnBatch {
  let cols: ArrayLike<SqlValue>[] | undefined;
  return {
    [BATCH]: true,
    numRows,
    flat,
    types: flat.map((c) => c.type),
    get columns() {
      cols ??= flat.map((c) => {
        const out = new Array<SqlValue>(numRows);
        for (let i = 0; i < numRows; i++) out[i] = c.nulls && c.nulls[i] ? null : c.type === "boolean" ? c.values[i] === 1 : (c.values[i] as string | number);
        return out;
      });
      return cols;
    },
  };
}

export function isColumnBatch(x: unknown): x is ColumnBatch {
  return typeof x === "object" && x !== null && (x as Record<symbol, unknown>)[BATCH] === true;
}

export type Row = readonly SqlValue[] | Readonly<Record<string, SqlValue>>;
export type RowSource = Iterable<Row | ColumnBatch> | AsyncIterable<Row | ColumnBatch>;

export interface TableSource {
  /** What the source is, for messages (a path or URL). */
  readonly name: string;
  readonly columns: readonly ColumnSpec[];
  batches(): AsyncIterable<ColumnBatch>;
}

export interface TableColumn {
  name: string;
  /** The type as the database reports it (e.g. "double precision", "INTEGER"). */
  declaredType: string;
  nullable: boolean;
}

/** Options shared by copyFrom and insertRows: the target columns, in the order of array rows and batch columns. */
export interface WriteOptions {
  columns: readonly string[];
  /**
   * The target columns' types, when known (the loader passes the table's). With them, batches from
   * the Parquet reader go to PostgreSQL as COPY BINARY; without them COPY uses the text format.
   */
  types?: readonly (ColumnType | undefined)[];
}

export interface InsertOptions extends WriteOptions {
  /** Rows per INSERT statement (default 1000, the seed's `to_sql(chunksize=1000)`). */
  batchSize?: number;
}

/**
 * What a task writes through, whichever the warehouse. SQL in `run`/`getRecords` uses `$1, $2…`
 * placeholders on both (the SQLite hook maps them to SQLite's `?1, ?2…`).
 */
export interface WarehouseHook {
  readonly dialect: "postgres" | "sqlite";
  run(sql: string, params?: readonly SqlValue[]): Promise<{ rowCount: number }>;
  getRecords<T extends Record<string, unknown> = Record<string, unknown>>(sql: string, params?: readonly SqlValue[]): Promise<T[]>;
  /** Bulk append: COPY FROM STDIN on PostgreSQL, one prepared INSERT in a transaction on SQLite. Returns rows written. */
  copyFrom(table: string, source: RowSource, options: WriteOptions): Promise<number>;
  /** Multi-row INSERT statements of `batchSize` rows (pandas' to_sql(method="multi")): the slow reference. */
  insertRows(table: string, source: RowSource, options: InsertOptions): Promise<number>;
  /** Runs fn in one transaction (nested calls join the outer one); rolls back if fn throws. */
  transaction<T>(fn: () => Promise<T>): Promise<T>;
  /** The table's columns, or undefined when there is no such table. */
  describeTable(table: string): Promise<TableColumn[] | undefined>;
  createTable(table: string, columns: readonly ColumnSpec[]): Promise<void>;
  /** Serialises loaders of the same key until the current transaction ends (no-op where writers are serial anyway). */
  lockForLoad(key: string): Promise<void>;
  close(): Promise<void>;
}

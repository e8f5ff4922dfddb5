// Parquet decoding for loads: validate a file completely from its two ends before anyone opens a
// transaction, then decode it a row group at a time into ColumnBatches.
//
// Reader: hyparquet's footer parser and page decoders (decompressors: codecs.ts), with
// orch's own flat-column assembly into typed arrays (parquet-flat.ts). Chosen by measurement, see
// docs/providers.md: exact on the real TLC files, no native build, and memory bounded by one
// row group.
import { open, stat } from "node:fs/promises";
import { parquetMetadata, type FileMetaData, type SchemaElement } from "hyparquet";
import { preloadCodecs } from "./codecs.ts";
import { decodeFlatChunk, sliceFlat, type FlatColumn } from "./parquet-flat.ts";
import { OrchError } from "../errors.ts";
import { columnBatch, flatBatch, type ColumnBatch, type ColumnSpec, type ColumnType, type SqlValue, type TableSource } from "./types.ts";
import { naiveFromMicros } from "./values.ts";

export interface ParquetFileInfo {
  path: string;
  bytes: number;
  rows: number;
  /** Rows in each row group. */
  rowGroups: number[];
  columns: ColumnSpec[];
  createdBy?: string;
  metadata: FileMetaData;
}

const MAGIC = "PAR1";

function invalid(path: string, why: string, extra: Record<string, unknown> = {}): OrchError {
  return new OrchError("ORCH_PARQUET_INVALID", `${path}: ${why}`, { path, ...extra });
}

function describeStart(head: Buffer): string {
  const text = head.toString("latin1").trimStart().toLowerCase();
  if (text.startsWith("<!doctype html") || text.startsWith("<html") || text.startsWith("<?xml") || text.startsWith("<")) {
    return "is an HTML/XML page, not a Parquet file (an error page saved as .parquet?)";
  }
  if (text.startsWith("{")) return "is JSON, not a Parquet file";
  return `is not a Parquet file (starts with ${JSON.stringify(head.subarray(0, 8).toString("latin1"))}, expected "PAR1")`;
}

/** The ColumnType a top-level Parquet column loads as, or an explanation of why it cannot. */
export function columnTypeOf(e: SchemaElement): ColumnType | string {
  const lt = e.logical_type;
  const ct = e.converted_type;
  if (e.num_children) return "a nested column (group)";
  if (e.repetition_type === "REPEATED") return "a repeated column (list)";
  switch (e.type) {
    case "BOOLEAN":
      return "boolean";
    case "INT32":
      if (lt?.type === "DATE" || ct === "DATE") return "date";
      if (ct === "DECIMAL" || lt?.type === "DECIMAL") return "DECIMAL (not supported)";
      if (ct === "UINT_32" || (lt?.type === "INTEGER" && !lt.isSigned && lt.bitWidth === 32)) return "bigint";
      return "integer";
    case "INT64":
      if (lt?.type === "TIMESTAMP") return lt.isAdjustedToUTC ? "timestamptz" : "timestamp";
      if (ct === "TIMESTAMP_MICROS" || ct === "TIMESTAMP_MILLIS") return "timestamptz";
      if (ct === "DECIMAL" || lt?.type === "DECIMAL") return "DECIMAL (not supported)";
      if (ct === "UINT_64" || (lt?.type === "INTEGER" && !lt.isSigned)) return "UINT64 (not supported)";
      return "bigint";
    case "FLOAT":
    case "DOUBLE":
      return "double";
    case "BYTE_ARRAY":
      if (ct === "UTF8" || ct === "ENUM" || lt?.type === "STRING" || lt?.type === "ENUM" || ct === "JSON" || lt?.type === "JSON") return "text";
      return "BYTE_ARRAY without a string type (binary is not supported)";
    default:
      return `${e.type} (not supported)`;
  }
}

/**
 * Checks a file is whole Parquet that orch can load, reading only its first 4 bytes and its footer:
 * empty, HTML, truncated (no footer magic), footer that does not parse, row counts that disagree, or a
 * column type orch cannot load each throw ORCH_PARQUET_INVALID saying which.
 */
export async function inspectParquet(path: string): Promise<ParquetFileInfo> {
  let size: number;
  try {
    const st = await stat(path);
    // Reading a directory fails with a bare "EISDIR: illegal operation on a directory, read".
    if (st.isDirectory()) throw invalid(path, "is a directory, not a Parquet file (a folder named like a file?)", { reason: "directory" });
    size = st.size;
  } catch (e) {
    if (e instanceof OrchError) throw e;
    throw invalid(path, `cannot read the file (${(e as Error).message})`);
  }
  if (size === 0) throw invalid(path, "is an empty file (0 bytes), not Parquet", { reason: "empty" });
  const fh = await open(path, "r");
  try {
    const head = Buffer.alloc(Math.min(size, 64));
    await fh.read(head, 0, head.length, 0);
    if (head.subarray(0, 4).toString("latin1") !== MAGIC) throw invalid(path, describeStart(head), { reason: "not-parquet" });
    if (size < 12) throw invalid(path, `is truncated: ${size} bytes, too short to hold a Parquet footer`, { reason: "truncated" });
    const tail = Buffer.alloc(8);
    await fh.read(tail, 0, 8, size - 8);
    if (tail.subarray(4).toString("latin1") !== MAGIC) {
      throw invalid(path, `is truncated: it starts like Parquet but has no footer (no "PAR1" at the end of its ${size} bytes; a cut-off download?)`, {
        reason: "truncated",
      });
    }
    const footerLen = tail.readUInt32LE(0);
    if (footerLen + 12 > size) throw invalid(path, `is truncated or corrupt: footer length ${footerLen} exceeds the file size ${size}`, { reason: "truncated" });
    const footer = Buffer.alloc(footerLen + 8);
    await fh.read(footer, 0, footer.length, size - footer.length);
    let metadata: FileMetaData;
    try {
      const ab = footer.buffer.slice(footer.byteOffset, footer.byteOffset + footer.length);
      metadata = parquetMetadata(ab as ArrayBuffer);
    } catch (e) {
      // hyparquet's TypeErrors on garbage ("Cannot read properties of undefined (reading 'map')")
      // say nothing to a user: say what they mean.
      const why = e instanceof TypeError ? "its metadata lacks required fields: garbage, or not written by a Parquet writer" : (e as Error).message;
      throw invalid(path, `has a corrupt footer: its ${footerLen} bytes do not parse as Parquet metadata (${why})`, { reason: "footer" });
    }
    // A garbage footer can parse into an object without row groups or schema (it then failed later
    // as "Cannot read properties of undefined (reading 'map')").
    if (!Array.isArray(metadata?.row_groups) || !Array.isArray(metadata.schema) || metadata.schema.length === 0) {
      throw invalid(path, `has a corrupt footer (${footerLen} bytes that decode to no schema or row groups)`, { reason: "footer" });
    }
    const rowGroups = metadata.row_groups.map((g) => Number(g.num_rows));
    const rows = Number(metadata.num_rows);
    if (rowGroups.reduce((a, b) => a + b, 0) !== rows) {
      throw invalid(path, `footer says ${rows} rows but its row groups hold ${rowGroups.reduce((a, b) => a + b, 0)}`, { reason: "footer" });
    }
    // Every column chunk must end before the footer: catches a file cut and then "repaired".
    const dataEnd = size - 8 - footerLen;
    for (const g of metadata.row_groups) {
      for (const c of g.columns) {
        const m = c.meta_data;
        if (!m) continue;
        const dict = m.dictionary_page_offset !== undefined ? Number(m.dictionary_page_offset) : 0;
        const start = dict > 0 && dict < Number(m.data_page_offset) ? dict : Number(m.data_page_offset);
        const end = start + Number(m.total_compressed_size);
        if (end > dataEnd) throw invalid(path, `is truncated or corrupt: column ${m.path_in_schema.join(".")} ends at byte ${end}, past the data's end at ${dataEnd}`, { reason: "truncated" });
      }
    }
    const columns: ColumnSpec[] = [];
    const root = metadata.schema[0];
    let i = 1;
    for (let n = 0; n < (root.num_children ?? 0); n++) {
      const e = metadata.schema[i];
      const t = columnTypeOf(e);
      if (!isColumnType(t)) throw invalid(path, `column ${e.name} is ${t}; orch loads booleans, integers, floats, strings, dates and timestamps`, { reason: "unsupported", column: e.name });
      columns.push({ name: e.name, type: t, nullable: e.repetition_type !== "REQUIRED" });
      i++;
    }
    // A valid file is about to be decoded: load its decompressors now, beside what runs before the
    // decode (a load's connection and schema check).
    preloadCodecs(metadata.row_groups.flatMap((g) => g.columns.map((c) => c.meta_data?.codec ?? "UNCOMPRESSED")));
    return { path, bytes: size, rows, rowGroups, columns, createdBy: metadata.created_by, metadata };
  } finally {
    await fh.close();
  }
}

const COLUMN_TYPES = new Set<string>(["boolean", "integer", "bigint", "double", "text", "timestamp", "timestamptz", "date"]);
function isColumnType(t: string): t is ColumnType {
  return COLUMN_TYPES.has(t);
}

/** Turns a batch's timestamp columns (µs numbers) into naive text, for callers who want values as they print. */
export function formatTimestamps(batch: ColumnBatch): ColumnBatch {
  if (!batch.types?.some((t) => t === "timestamp" || t === "timestamptz")) return batch;
  const cols = batch.columns.map((c, j) => {
    const t = batch.types?.[j];
    if (t !== "timestamp" && t !== "timestamptz") return c;
    return Array.from({ length: batch.numRows }, (_, i) => {
      const v = c[i];
      return typeof v === "number" ? naiveFromMicros(v) : v;
    });
  });
  return columnBatch(batch.numRows, cols, batch.types?.map((t) => (t === "timestamp" || t === "timestamptz" ? "text" : t)));
}

export interface ReadParquetOptions {
  /** Columns to read, in this order (default: all, in file order). */
  columns?: readonly string[];
  /** Rows per batch yielded (default 65,536); decoding is per row group regardless. */
  batchRows?: number;
  /** The result of inspectParquet, when the caller already has it. */
  info?: ParquetFileInfo;
  /**
   * Decode each row group into the previous one's arrays, so memory stays at one row group (freed
   * ArrayBuffers are reclaimed lazily: without this a 3-group file peaked at two groups' worth).
   * Only for consumers that are done with a batch before asking for the next, as the loader is.
   */
  reuseBuffers?: boolean;
}

export const DEFAULT_BATCH_ROWS = 65_536;

/**
 * Decodes a Parquet file into ColumnBatches, one row group at a time (each column chunk into a typed
 * array and a null mask, see parquet-flat.ts), yielded in slices of `batchRows`. Memory holds one row
 * group's values (~9 bytes a value; a 1,048,576-row TLC group is ~170 MB), whatever the file's size.
 * Batches carry `flat` typed columns; their `columns` (plain values) are built on first access:
 * timestamps as numbers of µs since the epoch, naive (`formatTimestamps` makes text), INT64 as numbers
 * (a value beyond ±2^53 fails the read rather than lose digits), nulls as null.
 */
export async function* readParquetBatches(path: string, options: ReadParquetOptions = {}): AsyncGenerator<ColumnBatch> {
  const info = options.info ?? (await inspectParquet(path));
  const names = options.columns ? [...options.columns] : info.columns.map((c) => c.name);
  const specs = names.map((n) => {
    const spec = info.columns.find((c) => c.name === n);
    if (!spec) throw invalid(path, `has no column ${n}`, { column: n });
    return spec;
  });
  const batchRows = Math.max(1, options.batchRows ?? DEFAULT_BATCH_ROWS);
  const fh = await open(path, "r");
  let pool: FlatColumn[] = [];
  try {
    for (let g = 0; g < info.rowGroups.length; g++) {
      const group = info.metadata.row_groups[g];
      const rows = info.rowGroups[g];
      let flat: FlatColumn[] = [];
      try {
        for (const [j, spec] of specs.entries()) {
          const chunk = group.columns.find((c) => c.meta_data?.path_in_schema.length === 1 && c.meta_data.path_in_schema[0] === spec.name);
          if (!chunk) throw new Error(`row group ${g} has no column ${spec.name}`);
          const col = await decodeFlatChunk(fh, chunk, info.metadata.schema, spec.type, rows, options.reuseBuffers ? pool[j] : undefined);
          flat.push(col);
          if (options.reuseBuffers) {
            const prev = pool[j];
            pool[j] = {
              type: col.type,
              values: prev && prev.values.length >= col.values.length && !Array.isArray(prev.values) ? prev.values : col.values,
              nulls: col.nulls && (!prev?.nulls || prev.nulls.length < col.nulls.length) ? col.nulls : prev?.nulls,
            };
          }
        }
      } catch (e) {
        throw invalid(path, `could not be decoded in row group ${g} (${(e as Error).message})`, { reason: "decode" });
      }
      for (let start = 0; start < rows; start += batchRows) {
        const end = Math.min(start + batchRows, rows);
        yield flatBatch(end - start, start === 0 && end === rows ? flat : flat.map((c) => sliceFlat(c, start, end)));
      }
      flat = [];
    }
  } finally {
    pool = [];
    await fh.close();
  }
}

/** A Parquet file as a TableSource for the loader. Validates it first (throws ORCH_PARQUET_INVALID). */
export async function parquetSource(path: string, options: Omit<ReadParquetOptions, "info" | "columns"> = {}): Promise<TableSource & { info: ParquetFileInfo }> {
  const info = await inspectParquet(path);
  return {
    name: path,
    info,
    columns: info.columns,
    // The loader's hooks finish with a batch (encode or bind it) before pulling the next.
    batches: () => readParquetBatches(path, { reuseBuffers: true, ...options, info }),
  };
}

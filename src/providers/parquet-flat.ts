// The load path's Parquet decoder: flat (top-level, non-repeated) columns only, which is every column
// orch loads. It reuses hyparquet's page readers (headers, decompression, levels, plain and dictionary
// decoding) but assembles each column chunk straight into a typed array plus a null mask, instead of
// hyparquet's general Dremel assembly into JS arrays. Measured on a 300k-row yellow month: hyparquet's
// assembleLists and the garbage from its boxed values were two thirds of decode time; typed arrays
// also make memory a fixed ~9 bytes per value for one row group.
import { parquetHeader } from "hyparquet/src/column.js";
import { decompressPage, readDataPage, readDataPageV2 } from "hyparquet/src/datapage.js";
import { readPlain } from "hyparquet/src/plain.js";
import { readRleBitPackedHybrid } from "hyparquet/src/encoding.js";
import { getSchemaPath } from "hyparquet/src/schema.js";
import type { ColumnChunk, CompressionCodec, DecodedArray, PageHeader, SchemaElement } from "hyparquet";
import { codecsFor } from "./codecs.ts";
import type { FileHandle } from "node:fs/promises";
import type { ColumnType } from "./types.ts";

/**
 * One column's values for a range of rows. integer/date: Int32Array; bigint, double, timestamp
 * (µs since the epoch, naive), timestamptz: Float64Array; boolean: Uint8Array; text: string array.
 * `nulls[i] === 1` marks row i NULL (absent when the column has none in this range).
 */
export interface FlatColumn {
  type: ColumnType;
  values: Int32Array | Float64Array | Uint8Array | string[];
  nulls?: Uint8Array;
}

const TWO32 = 4294967296;
const decoder = new TextDecoder();

/** The value of row i as a JS value (µs numbers for timestamps). */
export function flatValue(c: FlatColumn, i: number): string | number | boolean | null {
  if (c.nulls && c.nulls[i]) return null;
  const v = c.values[i];
  return c.type === "boolean" ? v === 1 : (v as string | number);
}

export function sliceFlat(c: FlatColumn, from: number, to: number): FlatColumn {
  return {
    type: c.type,
    values: Array.isArray(c.values) ? c.values.slice(from, to) : c.values.subarray(from, to),
    nulls: c.nulls?.subarray(from, to),
  };
}

// Scratch arrays for definition levels and dictionary indices, reused page after page: hyparquet's
// readDataPage allocates a JS array for each (8 bytes a value, ~1M values a page in TLC files), and
// that garbage, collected lazily, was ~100 MB of a 3M-row load's peak RSS. Safe to share: a page is
// decoded synchronously.
let scratchDef = new Int32Array(0);
let scratchIdx = new Int32Array(0);
function scratch(which: "def" | "idx", n: number): Int32Array {
  if (which === "def") {
    if (scratchDef.length < n) scratchDef = new Int32Array(Math.max(n, scratchDef.length * 2));
    return scratchDef.subarray(0, n);
  }
  if (scratchIdx.length < n) scratchIdx = new Int32Array(Math.max(n, scratchIdx.length * 2));
  return scratchIdx.subarray(0, n);
}

type DataPageHeader = NonNullable<PageHeader["data_page_header"]>;

/**
 * A v1 data page of a flat column: definition levels (max 1) and PLAIN or dictionary values, read into
 * the scratch arrays. Other encodings go through hyparquet's readDataPage.
 */
function readFlatDataPageV1(page: Uint8Array, daph: DataPageHeader, optional: boolean, element: SchemaElement, decoderOpts: Parameters<typeof readDataPage>[2]): { def?: ArrayLike<number>; data: DecodedArray } {
  const enc = daph.encoding;
  const isDict = enc === "PLAIN_DICTIONARY" || enc === "RLE_DICTIONARY";
  if (!(enc === "PLAIN" || (isDict && element.type !== "BOOLEAN"))) {
    const r = readDataPage(page, daph, decoderOpts);
    return { def: r.definitionLevels?.length ? r.definitionLevels : undefined, data: r.dataPage };
  }
  const view = new DataView(page.buffer, page.byteOffset, page.byteLength);
  const reader = { view, offset: 0 };
  const n = daph.num_values;
  let def: Int32Array | undefined;
  let nulls = 0;
  if (optional) {
    def = scratch("def", n);
    readRleBitPackedHybrid(reader, 1, def);
    for (let i = 0; i < n; i++) if (def[i] === 0) nulls++;
    if (nulls === 0) def = undefined;
  }
  const nValues = n - nulls;
  if (!isDict) return { def, data: readPlain(reader, element.type!, nValues, element.type_length) };
  const bitWidth = view.getUint8(reader.offset++);
  const idx = scratch("idx", nValues);
  if (bitWidth) readRleBitPackedHybrid(reader, bitWidth, idx, view.byteLength - reader.offset);
  else idx.fill(0);
  return { def, data: idx };
}

/** Physical page values to the column's storage, for dictionary pages and plain pages alike. */
function toStorage(type: ColumnType, physical: DecodedArray, unit: number): Int32Array | Float64Array | Uint8Array | string[] {
  switch (type) {
    case "integer":
    case "date":
      return physical as Int32Array;
    case "double":
      return physical instanceof Float64Array ? physical : Float64Array.from(physical as ArrayLike<number>);
    case "boolean":
      return Uint8Array.from(physical as ArrayLike<boolean>, (b) => (b ? 1 : 0));
    case "text":
      return Array.from(physical as ArrayLike<Uint8Array>, (b) => decoder.decode(b));
    case "bigint":
    case "timestamp":
    case "timestamptz": {
      const b = physical as BigInt64Array;
      if (b instanceof Int32Array) return Float64Array.from(b as Int32Array, (v) => v * unit);
      // Read the int64s as (lo, hi) int32 pairs: no BigInt per value.
      const w = new Int32Array(b.buffer, b.byteOffset, b.length * 2);
      const out = new Float64Array(b.length);
      for (let i = 0; i < b.length; i++) {
        const hi = w[2 * i + 1];
        if (hi > 2097151 || hi < -2097152) {
          throw new RangeError(`INT64 value ${b[i]} is beyond ±2^53, which orch's loader cannot hold exactly`);
        }
        out[i] = (hi * TWO32 + (w[2 * i] >>> 0)) * unit;
      }
      return out;
    }
  }
}

// The per-value loops of a chunk, one small function per storage type: a cold worker runs them
// before the JIT has warmed up, and a loop that sees one array type is compiled sooner and runs
// several times faster than one generic loop over every type (74 ms -> see docs/providers.md).
type Storage = Int32Array | Float64Array | Uint8Array | string[];

function gatherF64(out: Float64Array, pos: number, dict: Float64Array, idx: Int32Array, n: number): void {
  for (let i = 0; i < n; i++) out[pos + i] = dict[idx[i]];
}
function gatherI32(out: Int32Array, pos: number, dict: Int32Array, idx: Int32Array, n: number): void {
  for (let i = 0; i < n; i++) out[pos + i] = dict[idx[i]];
}
function gatherAny(out: { [k: number]: unknown }, pos: number, dict: ArrayLike<unknown>, idx: ArrayLike<number>, n: number): void {
  for (let i = 0; i < n; i++) out[pos + i] = dict[idx[i]];
}

/** values[pos + i] = dict[idx[i]] for i < n. */
function gather(values: Storage, pos: number, dict: Storage, idx: ArrayLike<number>, n: number): void {
  if (values instanceof Float64Array && dict instanceof Float64Array && idx instanceof Int32Array) gatherF64(values, pos, dict, idx, n);
  else if (values instanceof Int32Array && dict instanceof Int32Array && idx instanceof Int32Array) gatherI32(values, pos, dict, idx, n);
  else gatherAny(values as { [k: number]: unknown }, pos, dict, idx, n);
}

function spreadDictF64(out: Float64Array, nulls: Uint8Array, pos: number, def: Int32Array, s: Int32Array, dict: Float64Array, n: number): void {
  let k = 0;
  for (let i = 0; i < n; i++) {
    if (def[i] === 0) nulls[pos + i] = 1;
    else out[pos + i] = dict[s[k++]];
  }
}
function spreadDictI32(out: Int32Array, nulls: Uint8Array, pos: number, def: Int32Array, s: Int32Array, dict: Int32Array, n: number): void {
  let k = 0;
  for (let i = 0; i < n; i++) {
    if (def[i] === 0) nulls[pos + i] = 1;
    else out[pos + i] = dict[s[k++]];
  }
}
function spreadAny(out: { [k: number]: unknown }, nulls: Uint8Array, pos: number, def: ArrayLike<number>, s: ArrayLike<unknown>, dict: ArrayLike<unknown> | undefined, n: number): void {
  let k = 0;
  for (let i = 0; i < n; i++) {
    if (def[i] === 0) nulls[pos + i] = 1;
    else out[pos + i] = dict ? dict[s[k++] as number] : s[k++];
  }
}

/** Values of a page with nulls: row pos + i is NULL where def[i] is 0, else the next value (through dict when given). */
function spread(values: Storage, nulls: Uint8Array, pos: number, def: ArrayLike<number>, s: ArrayLike<number | string>, dict: Storage | undefined, n: number): void {
  if (dict && def instanceof Int32Array && s instanceof Int32Array) {
    if (values instanceof Float64Array && dict instanceof Float64Array) return spreadDictF64(values, nulls, pos, def, s, dict, n);
    if (values instanceof Int32Array && dict instanceof Int32Array) return spreadDictI32(values, nulls, pos, def, s, dict, n);
  }
  spreadAny(values as { [k: number]: unknown }, nulls, pos, def, s, dict, n);
}

function allocate(type: ColumnType, n: number): Int32Array | Float64Array | Uint8Array | string[] {
  switch (type) {
    case "integer":
    case "date":
      return new Int32Array(n);
    case "boolean":
      return new Uint8Array(n);
    case "text":
      return new Array<string>(n).fill("");
    default:
      return new Float64Array(n);
  }
}

function timestampUnit(e: SchemaElement): number {
  const lt = e.logical_type;
  if (lt?.type === "TIMESTAMP") return lt.unit === "MILLIS" ? 1000 : lt.unit === "NANOS" ? 0.001 : 1;
  return e.converted_type === "TIMESTAMP_MILLIS" ? 1000 : 1;
}

/**
 * Decodes one column chunk (a column of one row group) of `rows` rows. Reads the chunk's bytes with
 * one positioned read.
 */
export async function decodeFlatChunk(
  fh: FileHandle,
  chunk: ColumnChunk,
  schema: SchemaElement[],
  type: ColumnType,
  rows: number,
  /** Arrays of a previous row group to decode into (the caller promises it is done with them). */
  reuse?: FlatColumn,
): Promise<FlatColumn> {
  const meta = chunk.meta_data;
  if (!meta) throw new Error("column chunk without metadata");
  const schemaPath = getSchemaPath(schema, meta.path_in_schema);
  const element = schemaPath[schemaPath.length - 1].element;
  // A chunk starts at its dictionary page when it has one (some writers set the offset to 0 for none).
  const dictOffset = meta.dictionary_page_offset !== undefined ? Number(meta.dictionary_page_offset) : 0;
  const begin = dictOffset > 0 && dictOffset < Number(meta.data_page_offset) ? dictOffset : Number(meta.data_page_offset);
  const length = Number(meta.total_compressed_size);
  const bytes = new Uint8Array(length);
  let got = 0;
  while (got < length) {
    const { bytesRead } = await fh.read(bytes, got, length - got, begin + got);
    if (bytesRead === 0) throw new Error(`unexpected end of file in column ${meta.path_in_schema.join(".")}`);
    got += bytesRead;
  }
  const codec: CompressionCodec = meta.codec;
  const compressors = await codecsFor(codec);
  const unit = type === "bigint" ? 1 : timestampUnit(element);
  const decoderOpts = { type: meta.type, element, schemaPath, codec, compressors, pathInSchema: meta.path_in_schema, parsers: undefined as never };
  const values =
    reuse && reuse.type === type && reuse.values.length >= rows
      ? Array.isArray(reuse.values)
        ? reuse.values
        : reuse.values.subarray(0, rows)
      : allocate(type, rows);
  let nulls: Uint8Array | undefined;
  const newNulls = () => (reuse?.nulls && reuse.nulls.length >= rows ? reuse.nulls.fill(0, 0, rows).subarray(0, rows) : new Uint8Array(rows));
  let dict: Int32Array | Float64Array | Uint8Array | string[] | undefined;
  let pos = 0;
  const reader = { view: new DataView(bytes.buffer), offset: 0 };
  while (pos < rows && reader.offset < length) {
    const header = parquetHeader(reader) as PageHeader;
    const pageBytes = bytes.subarray(reader.offset, reader.offset + header.compressed_page_size);
    reader.offset += header.compressed_page_size;
    if (header.type === "DICTIONARY_PAGE") {
      const page = decompressPage(pageBytes, Number(header.uncompressed_page_size), codec, compressors);
      const r = { view: new DataView(page.buffer, page.byteOffset, page.byteLength), offset: 0 };
      dict = toStorage(type, readPlain(r, meta.type, header.dictionary_page_header?.num_values ?? 0, element.type_length), unit);
      continue;
    }
    let def: ArrayLike<number> | undefined;
    let data: DecodedArray;
    let encoding: string;
    let n: number;
    if (header.type === "DATA_PAGE") {
      const daph = header.data_page_header;
      if (!daph) throw new Error("data page without header");
      const page = decompressPage(pageBytes, Number(header.uncompressed_page_size), codec, compressors);
      const r = readFlatDataPageV1(page, daph, element.repetition_type === "OPTIONAL", element, decoderOpts);
      def = r.def;
      data = r.data;
      encoding = daph.encoding;
      n = daph.num_values;
    } else if (header.type === "DATA_PAGE_V2") {
      const r = readDataPageV2(pageBytes, header, decoderOpts);
      def = r.definitionLevels;
      data = r.dataPage;
      encoding = header.data_page_header_v2?.encoding ?? "PLAIN";
      n = header.data_page_header_v2?.num_values ?? 0;
    } else {
      continue; // index pages
    }
    const isDict = encoding.endsWith("_DICTIONARY") || (encoding === "RLE" && meta.type !== "BOOLEAN");
    if (isDict && !dict) throw new Error(`dictionary-encoded page before any dictionary in ${meta.path_in_schema.join(".")}`);
    const src = isDict ? undefined : toStorage(type, data, unit);
    const idx = isDict ? (data as ArrayLike<number>) : undefined;
    let hasNulls = false;
    if (def) for (let i = 0; i < def.length && !hasNulls; i++) hasNulls = def[i] === 0;
    if (!hasNulls) {
      if (idx && dict) gather(values, pos, dict, idx, n);
      else if (src) {
        if (Array.isArray(values)) for (let i = 0; i < n; i++) values[pos + i] = (src as string[])[i];
        else (values as Float64Array).set(src as Float64Array, pos);
      }
    } else {
      nulls ??= newNulls();
      spread(values, nulls, pos, def!, (idx ?? src) as ArrayLike<number | string>, idx ? dict : undefined, n);
    }
    pos += n;
  }
  if (pos !== rows) throw new Error(`column ${meta.path_in_schema.join(".")} has ${pos} values, the row group ${rows}`);
  if (Array.isArray(values) && values.length > rows) values.length = rows;
  return { type, values, nulls };
}

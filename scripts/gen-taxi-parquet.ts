// Writes TLC-shaped trip Parquet files: the yellow or green column set and physical types of the real
// TLC monthly files (see ../shared/data/tlc/SOURCES.md), deterministic for a seed, with realistic
// nulls (the same ~5% of rows lack store_and_fwd_flag, RatecodeID, passenger_count, payment_type and
// the surcharges, as in the real files), a few pickups from the previous month, snappy compression
// and row groups of 1,048,576 rows (Arrow's default). Written with hyparquet-writer.
//
//   node --import tsx scripts/gen-taxi-parquet.ts --kind yellow --month 2024-01 --rows 3000000 --out DIR
//
// Importable: `writeTaxiParquet(options)` writes one file; `taxiColumns(kind, month, start, count)`
// returns the exact values of rows [start, start+count) so tests can compare a decode against them.
import { ParquetWriter, fileWriter } from "hyparquet-writer";
import type { SchemaElement } from "hyparquet";
import { mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { brotliCompressSync, gzipSync } from "node:zlib";

export type TaxiKind = "yellow" | "green";
type PhysicalKind = "int32" | "int64" | "double" | "string" | "timestamp";

interface ColumnDef {
  name: string;
  kind: PhysicalKind;
}

const int32 = (name: string): ColumnDef => ({ name, kind: "int32" });
const int64 = (name: string): ColumnDef => ({ name, kind: "int64" });
const double = (name: string): ColumnDef => ({ name, kind: "double" });
const str = (name: string): ColumnDef => ({ name, kind: "string" });
const ts = (name: string): ColumnDef => ({ name, kind: "timestamp" });

export const TAXI_COLUMNS: Record<TaxiKind, ColumnDef[]> = {
  yellow: [
    int32("VendorID"), ts("tpep_pickup_datetime"), ts("tpep_dropoff_datetime"), int64("passenger_count"),
    double("trip_distance"), int64("RatecodeID"), str("store_and_fwd_flag"), int32("PULocationID"),
    int32("DOLocationID"), int64("payment_type"), double("fare_amount"), double("extra"), double("mta_tax"),
    double("tip_amount"), double("tolls_amount"), double("improvement_surcharge"), double("total_amount"),
    double("congestion_surcharge"), double("Airport_fee"),
  ],
  green: [
    int32("VendorID"), ts("lpep_pickup_datetime"), ts("lpep_dropoff_datetime"), str("store_and_fwd_flag"),
    int64("RatecodeID"), int32("PULocationID"), int32("DOLocationID"), int64("passenger_count"),
    double("trip_distance"), double("fare_amount"), double("extra"), double("mta_tax"), double("tip_amount"),
    double("tolls_amount"), double("ehail_fee"), double("improvement_surcharge"), double("total_amount"),
    int64("payment_type"), int64("trip_type"), double("congestion_surcharge"),
  ],
};

function schemaElement(c: ColumnDef): SchemaElement {
  const base = { name: c.name, repetition_type: "OPTIONAL" as const };
  switch (c.kind) {
    case "int32":
      return { ...base, type: "INT32" };
    case "int64":
      return { ...base, type: "INT64" };
    case "double":
      return { ...base, type: "DOUBLE" };
    case "string":
      return { ...base, type: "BYTE_ARRAY", converted_type: "UTF8", logical_type: { type: "STRING" } };
    case "timestamp":
      // As parquet-cpp-arrow writes them: converted type kept for old readers, logical type naive.
      return {
        ...base,
        type: "INT64",
        converted_type: "TIMESTAMP_MICROS",
        logical_type: { type: "TIMESTAMP", isAdjustedToUTC: false, unit: "MICROS" },
      };
  }
}

export function taxiSchema(kind: TaxiKind): SchemaElement[] {
  const cols = TAXI_COLUMNS[kind];
  return [{ name: "schema", repetition_type: "REQUIRED", num_children: cols.length }, ...cols.map(schemaElement)];
}

/** Row i's values depend only on (seed, i): any slice can be regenerated exactly. */
function rowRandom(seed: number, i: number): () => number {
  let a = (Math.imul(i + 1, 0x9e3779b1) ^ Math.imul(seed, 0x85ebca6b)) >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const round2 = (x: number): number => Math.round(x * 100) / 100;

export type TaxiValue = number | bigint | string | null;

/** Values of rows [start, start+count) column by column; timestamps as microseconds (bigint), INT64 as bigint. */
export function taxiColumns(kind: TaxiKind, month: string, start: number, count: number, seed = 1): TaxiValue[][] {
  const m = /^(\d{4})-(\d{2})$/.exec(month);
  if (!m) throw new Error(`--month must look like 2024-01, got "${month}"`);
  const y = Number(m[1]);
  const mo = Number(m[2]) - 1;
  const monthStart = Date.UTC(y, mo, 1);
  const monthMs = Date.UTC(y, mo + 1, 1) - monthStart;
  const cols = TAXI_COLUMNS[kind];
  const out: TaxiValue[][] = cols.map(() => new Array<TaxiValue>(count));
  const idx = new Map(cols.map((c, j) => [c.name, j]));
  const set = (name: string, r: number, v: TaxiValue): void => {
    const j = idx.get(name);
    if (j !== undefined) out[j][r] = v;
  };
  const p = kind === "yellow" ? "tpep" : "lpep";
  for (let r = 0; r < count; r++) {
    const i = start + r;
    const rnd = rowRandom(seed, i);
    // About one row in 25,000 (and row 7 always) was picked up in the previous month, as in real files.
    const early = i === 7 || rnd() < 0.00004;
    const pickupMs = early
      ? monthStart - 1000 * Math.floor(1 + rnd() * 36 * 3600)
      : monthStart + 1000 * Math.floor(rnd() * (monthMs / 1000));
    const durationS = Math.floor(120 + rnd() * 2400);
    const missing = rnd() < 0.05; // the "unknown" rows of the real files: several fields null together
    const distance = round2(0.3 + rnd() * rnd() * 18);
    const fare = round2(3 + distance * 2.5 + durationS / 200);
    const extra = [0, 0.5, 1, 2.5][Math.floor(rnd() * 4)];
    const mta = 0.5;
    const tip = rnd() < 0.6 ? round2(fare * (0.1 + rnd() * 0.15)) : 0;
    const tolls = rnd() < 0.05 ? 6.94 : 0;
    const improvement = 1;
    const congestion = missing ? null : rnd() < 0.7 ? 2.5 : 0;
    const airport = missing ? null : rnd() < 0.08 ? 1.75 : 0;
    const total = round2(fare + extra + mta + tip + tolls + improvement + (congestion ?? 0) + (airport ?? 0));
    set("VendorID", r, rnd() < 0.13 ? 1 : 2);
    set(`${p}_pickup_datetime`, r, BigInt(pickupMs) * 1000n);
    set(`${p}_dropoff_datetime`, r, BigInt(pickupMs + durationS * 1000) * 1000n);
    set("store_and_fwd_flag", r, missing ? null : rnd() < 0.004 ? "Y" : "N");
    set("RatecodeID", r, missing ? null : BigInt(rnd() < 0.95 ? 1 : 1 + Math.floor(rnd() * 5)));
    set("PULocationID", r, 1 + Math.floor(rnd() * 265));
    set("DOLocationID", r, 1 + Math.floor(rnd() * 265));
    set("passenger_count", r, missing ? null : BigInt(1 + Math.floor(rnd() * rnd() * 6)));
    set("trip_distance", r, distance);
    set("fare_amount", r, fare);
    set("extra", r, extra);
    set("mta_tax", r, mta);
    set("tip_amount", r, tip);
    set("tolls_amount", r, tolls);
    set("ehail_fee", r, null);
    set("improvement_surcharge", r, improvement);
    set("total_amount", r, total);
    set("payment_type", r, missing ? null : BigInt(rnd() < 0.7 ? 1 : 2));
    set("trip_type", r, missing || rnd() < 0.0001 ? null : BigInt(rnd() < 0.97 ? 1 : 2));
    set("congestion_surcharge", r, congestion);
    set("Airport_fee", r, airport);
  }
  return out;
}

export const ARROW_ROW_GROUP_ROWS = 1_048_576;

export interface WriteTaxiOptions {
  kind: TaxiKind;
  month: string;
  rows: number;
  path: string;
  seed?: number;
  /** Rows per row group; Arrow's default unless a test wants several small groups. */
  rowGroupRows?: number;
  /** Page compression: SNAPPY (default), or UNCOMPRESSED, GZIP, BROTLI (through node:zlib). */
  codec?: "SNAPPY" | "UNCOMPRESSED" | "GZIP" | "BROTLI";
}

export interface TaxiFileSummary {
  path: string;
  rows: number;
  rowGroups: number;
  sumTotalAmount: number;
}

/** Writes one file, a row group at a time so memory stays at one group's values. */
export function writeTaxiParquet(o: WriteTaxiOptions): TaxiFileSummary {
  const seed = o.seed ?? 1;
  const groupRows = o.rowGroupRows ?? ARROW_ROW_GROUP_ROWS;
  const cols = TAXI_COLUMNS[o.kind];
  const writer = new ParquetWriter({
    writer: fileWriter(o.path),
    schema: taxiSchema(o.kind),
    codec: o.codec ?? "SNAPPY",
    compressors: { GZIP: (b: Uint8Array) => gzipSync(b), BROTLI: (b: Uint8Array) => brotliCompressSync(b) },
    createdBy: "orch gen-taxi-parquet (hyparquet-writer)",
  });
  const totalIdx = cols.findIndex((c) => c.name === "total_amount");
  let sum = 0;
  let groups = 0;
  for (let start = 0; start < o.rows; start += groupRows) {
    const n = Math.min(groupRows, o.rows - start);
    const values = taxiColumns(o.kind, o.month, start, n, seed);
    for (const v of values[totalIdx]) sum += v as number;
    writer.write({
      columnData: cols.map((c, j) => ({ name: c.name, data: values[j] })),
      rowGroupSize: n,
    });
    groups++;
  }
  writer.finish();
  return { path: o.path, rows: o.rows, rowGroups: groups, sumTotalAmount: round2(sum) };
}

export function taxiFileName(kind: TaxiKind, month: string): string {
  return `${kind}_tripdata_${month}.parquet`;
}

function main(argv: string[]): void {
  const args = new Map<string, string>();
  for (let i = 0; i < argv.length; i += 2) {
    if (!argv[i].startsWith("--") || argv[i + 1] === undefined) throw new Error(`usage: --kind yellow|green --month YYYY-MM --rows N --out DIR [--seed S]; bad argument "${argv[i]}"`);
    args.set(argv[i].slice(2), argv[i + 1]);
  }
  const kind = (args.get("kind") ?? "yellow") as TaxiKind;
  if (kind !== "yellow" && kind !== "green") throw new Error(`--kind must be yellow or green, got "${kind}"`);
  const month = args.get("month") ?? "2024-01";
  const rows = Number(args.get("rows") ?? "10000");
  if (!Number.isInteger(rows) || rows < 1) throw new Error(`--rows must be a positive integer`);
  const out = resolve(args.get("out") ?? ".");
  mkdirSync(out, { recursive: true });
  const t0 = performance.now();
  const s = writeTaxiParquet({ kind, month, rows, path: join(out, taxiFileName(kind, month)), seed: Number(args.get("seed") ?? "1") });
  console.log(
    `${s.path}: ${s.rows} rows in ${s.rowGroups} row group(s), sum(total_amount) ${s.sumTotalAmount.toFixed(2)}, ${((performance.now() - t0) / 1000).toFixed(1)} s`,
  );
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main(process.argv.slice(2));

// The taxi pipeline's steps as functions (airflow_home/dags/taxi_pipeline.ts calls them; tests and
// the benchmark call them directly): one NYC TLC month from HTTP into raw_trips, and the rebuild of
// fct_trips for a month.
//
//   const r = await ingestTaxiMonth(hook, { baseUrl, taxiType: "green", month: "2024-01", log });
//   // downloads {baseUrl}/green_tripdata_2024-01.parquet to a temp file, checks it is Parquet,
//   // replaces partition source_month = '2024-01' of raw_trips in one transaction; r.rows
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { resolveHome } from "../config.ts";
import { isOrchError, OrchError } from "../errors.ts";
import { dbtBuild, type DbtBuildResult } from "./dbt/build.ts";
import { analyzeIfUseful } from "./dbt/materialize.ts";
import { download, type DownloadOptions } from "./download.ts";
import { loadPartition } from "./load.ts";
import { inspectParquet } from "./parquet.ts";
import type { WarehouseHook } from "./types.ts";
import { quoteIdent } from "./values.ts";

/** Where the TLC publishes its monthly trip files. */
export const TLC_TRIP_DATA_URL = "https://d37ci6vzurychx.cloudfront.net/trip-data";
export const TAXI_TYPES = ["yellow", "green", "fhv"] as const;
export type TaxiType = (typeof TAXI_TYPES)[number];
export const RAW_TRIPS_TABLE = "raw_trips";

/** `$ORCH_HOME/include/...`: where the DAGs' non-Python, non-DAG files live (the dbt project). */
export function includePath(...parts: string[]): string {
  return join(resolveHome(), "include", ...parts);
}

/** The month (YYYY-MM, UTC) a date falls in. */
export function monthOf(date: Date): string {
  return date.toISOString().slice(0, 7);
}

export function taxiMonthUrl(baseUrl: string, taxiType: string, month: string): string {
  if (!/^\d{4}-\d{2}$/.test(month)) throw new OrchError("ORCH_USAGE", `month must look like 2024-01, got ${JSON.stringify(month)}`, { field: "month" });
  return `${baseUrl.replace(/\/+$/, "")}/${taxiType}_tripdata_${month}.parquet`;
}

export interface IngestTaxiMonthOptions {
  baseUrl: string;
  taxiType: string;
  month: string;
  /** Default raw_trips; partitioned by source_month. */
  table?: string;
  log?: (line: string) => void;
  /** Passed on to download() (attempts, backoff, timeouts). */
  download?: Pick<DownloadOptions, "attempts" | "backoffMs" | "connectTimeoutMs" | "readTimeoutMs">;
}

export interface IngestTaxiMonthResult {
  url: string;
  month: string;
  rows: number;
  bytes: number;
  sha256: string;
  /** analyze: PostgreSQL's ANALYZE of the table after the load (0 on SQLite). */
  seconds: { download: number; check: number; load: number; analyze: number };
}

const mb = (b: number) => `${(b / 1e6).toFixed(1)} MB`;
const since = (t0: number) => (performance.now() - t0) / 1000;

/**
 * Downloads one month, checks it is a whole Parquet file before anything is written (a cut-off
 * file, an HTML page saved as .parquet, an empty body and a 404 each fail saying which), then
 * replaces the month's partition of raw_trips in one transaction. Returns the row count.
 */
export async function ingestTaxiMonth(hook: WarehouseHook, o: IngestTaxiMonthOptions): Promise<IngestTaxiMonthResult> {
  const log = o.log ?? (() => {});
  const table = o.table ?? RAW_TRIPS_TABLE;
  const url = taxiMonthUrl(o.baseUrl, o.taxiType, o.month);
  const dir = await mkdtemp(join(tmpdir(), "orch-taxi-"));
  const path = join(dir, `${o.taxiType}_tripdata_${o.month}.parquet`);
  try {
    log(`Downloading ${url}`);
    let t0 = performance.now();
    const d = await download(url, path, {
      ...o.download,
      onProgress: ({ bytes, total }) => log(`downloaded ${mb(bytes)}${total ? ` of ${mb(total)} (${Math.floor((100 * bytes) / total)}%)` : ""}`),
      onRetry: ({ attempt, error, delayMs }) => log(`attempt ${attempt} failed (${error.message}); retrying in ${delayMs} ms`),
    }).catch((e: unknown) => {
      // The first run of a newcomer without internet ends here: say what to do about it.
      if (isOrchError(e, "ORCH_DOWNLOAD_FAILED") && /connection error/.test(e.message)) {
        throw new OrchError(e.code, `${e.message} (no network? point the base_url param at a local copy of the files)`, e.details);
      }
      throw e;
    });
    const tDownload = since(t0);
    log(`downloaded ${d.bytes} bytes in ${tDownload.toFixed(2)} s, sha256 ${d.sha256}`);
    t0 = performance.now();
    let info;
    try {
      info = await inspectParquet(path);
    } catch (e) {
      if (isOrchError(e, "ORCH_PARQUET_INVALID")) {
        const why = e.message.startsWith(`${path}: `) ? e.message.slice(path.length + 2) : e.message;
        throw new OrchError("ORCH_PARQUET_INVALID", `${url} ${why}; nothing was written to ${table}`, { ...e.details, url, path: undefined });
      }
      throw e;
    }
    const tCheck = since(t0);
    log(`checked: Parquet with ${info.rows} rows in ${info.rowGroups.length} row group(s), ${info.columns.length} columns${info.createdBy ? `, written by ${info.createdBy}` : ""}`);
    t0 = performance.now();
    let lastLog = 0;
    log(`loading into ${table} partition source_month = '${o.month}' (delete, then append, in one transaction)`);
    const rows = await loadPartition(hook, table, {
      partition: { column: "source_month", value: o.month },
      source: path,
      onProgress: (n) => {
        const now = performance.now();
        if (now - lastLog < 500 && n < info.rows) return;
        lastLog = now;
        log(`decoded and loaded ${n} of ${info.rows} rows (${info.rows ? Math.floor((100 * n) / info.rows) : 100}%)`);
      },
    });
    const tLoad = since(t0);
    log(`loaded ${rows} rows into ${table} for ${o.month} in ${tLoad.toFixed(2)} s`);
    // The month just replaced may be a large part of the table: fresh statistics for the transform's plans.
    t0 = performance.now();
    await analyzeIfUseful(hook, table, ["source_month"]);
    const tAnalyze = since(t0);
    return { url, month: o.month, rows, bytes: d.bytes, sha256: d.sha256, seconds: { download: tDownload, check: tCheck, load: tLoad, analyze: tAnalyze } };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export interface RefreshFctTripsOptions {
  projectDir: string;
  /** YYYY-MM or YYYY-MM-DD. */
  month: string;
  taxiType?: string;
  log?: (line: string) => void;
  /** PATH to look for dbt on. */
  path?: string;
}

/**
 * What the consumer DAG (refresh_fct_trips, scheduled on the raw_trips asset) does with the month in
 * the asset event's extra: rebuilds fct_trips and what it needs (`dbt build --select +fct_trips`, or
 * the SQL fallback), then reports the rows per month.
 */
export async function refreshFctTrips(hook: WarehouseHook, o: RefreshFctTripsOptions): Promise<{ build: DbtBuildResult; rowsByMonth: Record<string, number> }> {
  const log = o.log ?? (() => {});
  const vars: Record<string, unknown> = { month: o.month };
  if (o.taxiType) vars.taxi_type = o.taxiType;
  const build = await dbtBuild(hook, { projectDir: o.projectDir, vars, select: ["+fct_trips"], log, path: o.path });
  const rows = await hook.getRecords<{ m: string; n: number | string }>(`SELECT source_month AS m, count(*) AS n FROM ${quoteIdent("fct_trips")} GROUP BY source_month ORDER BY source_month`);
  const rowsByMonth = Object.fromEntries(rows.map((r) => [r.m, Number(r.n)]));
  for (const [m, n] of Object.entries(rowsByMonth)) log(`fct_trips ${m}: ${n} rows`);
  return { build, rowsByMonth };
}

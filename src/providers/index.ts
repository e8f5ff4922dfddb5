// orch/providers: what DAG files import to reach the outside world.
//
//   import { download, loadPartition, PostgresHook, SqliteHook } from "orch/providers";
//
//   const file = await download(`${base}/trip-data/yellow_tripdata_${month}.parquet`, path);
//   const hook = new PostgresHook("postgres://user:pw@127.0.0.1:5432/warehouse");
//   const rows = await loadPartition(hook, "yellow_trips", {
//     partition: { column: "source_month", value: month },
//     source: file.path,
//   });
//
// See docs/providers.md.
export { download, type DownloadOptions, type DownloadProgress, type DownloadResult } from "./download.ts";
export {
  inspectParquet,
  readParquetBatches,
  parquetSource,
  formatTimestamps,
  DEFAULT_BATCH_ROWS,
  type ParquetFileInfo,
  type ReadParquetOptions,
} from "./parquet.ts";
export { PostgresHook, pgConfigFrom, PG_TYPES, type ConnectionRecord } from "./postgres.ts";
export { SqliteHook, SQLITE_TYPES, defaultWarehousePath } from "./sqlite.ts";
export { loadPartition, loadCsv, checkFits, openSource, type LoadOptions, type Partition } from "./load.ts";
export { csvSource, parseCsv } from "./csv.ts";
export { naiveFromMicros } from "./values.ts";
export {
  columnBatch,
  isColumnBatch,
  type ColumnBatch,
  type ColumnSpec,
  type ColumnType,
  type InsertOptions,
  type Row,
  type RowSource,
  type SqlValue,
  type TableColumn,
  type TableSource,
  type WarehouseHook,
  type WriteOptions,
} from "./types.ts";
export { runDbtFallback, planDbtBuild, type DbtFallbackOptions, type DbtFallbackResult, type DbtNodeResult, type DbtNodeStatus } from "./dbt/run.ts";
export { dbtBuild, dbtBuildArgs, dbtProfileEnv, findExecutable, type DbtBuildOptions, type DbtBuildResult } from "./dbt/build.ts";
export { readDbtProject, type DbtProject } from "./dbt/project.ts";
export {
  ingestTaxiMonth,
  refreshFctTrips,
  taxiMonthUrl,
  monthOf,
  includePath,
  TLC_TRIP_DATA_URL,
  TAXI_TYPES,
  RAW_TRIPS_TABLE,
  type TaxiType,
  type IngestTaxiMonthOptions,
  type IngestTaxiMonthResult,
  type RefreshFctTripsOptions,
} from "./taxi.ts";

// The taxi pipeline: one month of NYC TLC trip data per run.
//
//   ingest_taxi_month -> choose_transform -> dbt_run | skip_transform -> publish (asset raw_trips)
//
// ingest_taxi_month downloads {base_url}/{taxi_type}_tripdata_{YYYY-MM}.parquet, checks it is a
// whole Parquet file before anything is written, and replaces that month's partition of raw_trips
// (source_month = 'YYYY-MM') in one transaction, so a re-run or a backfill never doubles a month.
// dbt_run builds include/dbt_project with dbt when a `dbt` executable is on PATH, and with orch's
// SQL fallback otherwise (docs/providers.md).
//
//   orch dags test taxi_pipeline 2024-01-01 --conf '{"taxi_type": "green", "base_url": "http://127.0.0.1:8000/trip-data"}'
//
// A run's month is its logical date's month; for scheduled and backfill runs that is the start of
// its data interval (the timetable is CronDataIntervalTimetable("@monthly")).
import { dag, task, empty, Asset, Param, Connection, CronDataIntervalTimetable, type TaskContext } from "orch";
import {
  PostgresHook,
  SqliteHook,
  TLC_TRIP_DATA_URL,
  TAXI_TYPES,
  dbtBuild,
  includePath,
  ingestTaxiMonth,
  monthOf,
  type WarehouseHook,
} from "orch/providers";

/** What publish announces (extra {month, rows, taxi_type}); refresh_fct_trips (the consumer) is scheduled on it. */
export const rawTrips = Asset({ name: "raw_trips", uri: "warehouse://raw_trips" });

/**
 * The warehouse the pipeline writes to: the connection `warehouse` when one is defined
 * (`orch connections add warehouse --conn-uri postgres://…`, or ORCH_CONN_WAREHOUSE; conn_type
 * postgres, or sqlite with the database file as host), else the embedded SQLite file
 * $ORCH_HOME/warehouse.db. Nothing in the DAG changes between the two.
 */
async function warehouse(): Promise<WarehouseHook> {
  let conn;
  try {
    conn = await Connection.get("warehouse");
  } catch (e) {
    if ((e as { code?: string }).code !== "ORCH_NOT_FOUND") throw e;
    return new SqliteHook();
  }
  return conn.conn_type === "sqlite" ? SqliteHook.fromConnection("warehouse") : PostgresHook.fromConnection("warehouse");
}

async function withWarehouse<T>(ctx: TaskContext, fn: (hook: WarehouseHook) => Promise<T>): Promise<T> {
  const hook = await warehouse();
  try {
    return await fn(hook);
  } finally {
    await hook.close();
  }
}

const runMonth = (ctx: TaskContext): string => monthOf(ctx.logical_date ?? ctx.data_interval_start ?? new Date());

export default dag(
  {
    dag_id: "taxi_pipeline",
    schedule: CronDataIntervalTimetable("@monthly"),
    start_date: "2023-01-01",
    catchup: false,
    max_active_runs: 1,
    tags: ["example", "taxi"],
    description: "One NYC TLC month per run: HTTP -> Parquet -> raw_trips -> dbt -> asset raw_trips",
    params: {
      taxi_type: Param("yellow", { type: "string", enum: [...TAXI_TYPES], description: "which TLC file: yellow, green or fhv" }),
      base_url: Param(TLC_TRIP_DATA_URL, { type: "string", minLength: 1, description: "where {taxi_type}_tripdata_{YYYY-MM}.parquet is published" }),
      min_rows: Param(1, { type: "integer", minimum: 0, description: "fewer rows than this skip the transform" }),
    },
  },
  () => {
    const ingest = task({ task_id: "ingest_taxi_month" }, async (ctx) =>
      withWarehouse(ctx, async (hook) => {
        const r = await ingestTaxiMonth(hook, {
          baseUrl: String(ctx.params.base_url),
          taxiType: String(ctx.params.taxi_type),
          month: runMonth(ctx),
          log: (line) => ctx.log.info(line),
        });
        return r.rows;
      }),
    );

    const choose = task.branch({ task_id: "choose_transform" }, (rows: number, ctx: TaskContext) => {
      const min = Number(ctx.params.min_rows);
      ctx.log.info(`${rows} rows loaded; min_rows is ${min}`);
      return rows < min ? "skip_transform" : "dbt_run";
    });

    // dbt build --project-dir $ORCH_HOME/include/dbt_project --profiles-dir (the same) --vars '{"month": …}'
    // as a subprocess when dbt is on PATH; the SQL fallback otherwise (one log line says so).
    const dbtRun = task({ task_id: "dbt_run" }, async (ctx) =>
      withWarehouse(ctx, async (hook) => {
        const project = includePath("dbt_project");
        const r = await dbtBuild(hook, {
          projectDir: project,
          profilesDir: project,
          vars: { month: `${runMonth(ctx)}-01`, taxi_type: String(ctx.params.taxi_type) },
          log: (line) => ctx.log.info(line),
        });
        return r.runner;
      }),
    );

    const skip = empty({ task_id: "skip_transform" });

    // The raw_trips event carries {month, rows, taxi_type}: refresh_fct_trips (scheduled on the asset)
    // rebuilds that month from it (taxi_type says which TLC columns stg_trips reads). The same object
    // is this task's XCom.
    const publish = task(
      { task_id: "publish", trigger_rule: "none_failed_min_one_success", outlets: [rawTrips] },
      (rows: number, ctx: TaskContext) => {
        const extra = { month: runMonth(ctx), rows, taxi_type: String(ctx.params.taxi_type) };
        ctx.outlet_events[rawTrips.uri]!.extra = extra;
        ctx.log.info(`raw_trips updated: ${JSON.stringify(extra)}`);
        return extra;
      },
    );

    const rows = ingest();
    const branch = choose(rows);
    const dbt = dbtRun();
    branch.then([dbt, skip]);
    const done = publish(rows);
    dbt.then(done);
    skip.then(done);
  },
);

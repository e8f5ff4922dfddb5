// The taxi pipeline's consumer: scheduled on the raw_trips asset, so every successful publish of
// taxi_pipeline (a scheduled run, a manual trigger, each run of a backfill) creates an
// asset_triggered run of this DAG. It rebuilds fct_trips (and the models it needs: `dbt build
// --select +fct_trips`, or orch's SQL fallback) for the month in the triggering event's extra
// ({month, rows, taxi_type}, set by publish), then logs fct_trips' row count per month.
//
// Several events may trigger one run (when publishes come faster than the scheduler creates runs):
// every month among them is rebuilt, oldest first.
import { dag, task, Asset, Connection, type TaskContext } from "orch";
import { PostgresHook, SqliteHook, includePath, refreshFctTrips, type WarehouseHook } from "orch/providers";

/** The asset taxi_pipeline's publish task announces (same name and URI as there). */
const rawTrips = Asset({ name: "raw_trips", uri: "warehouse://raw_trips" });

/** The same warehouse as taxi_pipeline: the connection `warehouse` if defined, else $ORCH_HOME/warehouse.db. */
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

interface MonthEvent {
  month: string;
  taxi_type?: string;
}

/** The months (YYYY-MM) the triggering raw_trips events name, once each, in event order. */
function eventMonths(ctx: TaskContext): MonthEvent[] {
  const months: MonthEvent[] = [];
  for (const e of ctx.triggering_asset_events[rawTrips.uri] ?? []) {
    const { month, taxi_type } = e.extra;
    if (typeof month !== "string" || !/^\d{4}-\d{2}$/.test(month)) {
      ctx.log.warning(`a raw_trips event without a YYYY-MM month in its extra was ignored: ${JSON.stringify(e.extra)}`);
      continue;
    }
    const m: MonthEvent = typeof taxi_type === "string" ? { month, taxi_type } : { month };
    if (!months.some((x) => x.month === m.month && x.taxi_type === m.taxi_type)) months.push(m);
  }
  return months;
}

export default dag(
  {
    dag_id: "refresh_fct_trips",
    schedule: [rawTrips],
    start_date: "2023-01-01",
    catchup: false,
    tags: ["example", "taxi"],
    description: "On each raw_trips event: rebuild fct_trips for the event's month",
  },
  () => {
    task({ task_id: "refresh_fct_trips" }, async (ctx: TaskContext) => {
      const months = eventMonths(ctx);
      if (months.length === 0) throw new Error("no raw_trips event with a month triggered this run (trigger it through taxi_pipeline's publish)");
      const hook = await warehouse();
      try {
        let rowsByMonth: Record<string, number> = {};
        for (const { month, taxi_type } of months) {
          ctx.log.info(`rebuilding fct_trips for ${month}${taxi_type ? ` (${taxi_type})` : ""}`);
          const r = await refreshFctTrips(hook, {
            projectDir: includePath("dbt_project"),
            month: `${month}-01`,
            taxiType: taxi_type,
            log: (line) => ctx.log.info(line),
          });
          rowsByMonth = r.rowsByMonth;
        }
        return { months: months.map((m) => m.month), rows_by_month: rowsByMonth };
      } finally {
        await hook.close();
      }
    })();
  },
);

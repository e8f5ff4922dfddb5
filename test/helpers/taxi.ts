// What the taxi tests expect of generated months: how many rows a file has, how many of them were
// picked up inside the file's month (what stg_trips/fct_trips keep), and the dbt project to run.
import { cp } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { TAXI_COLUMNS, taxiColumns, type TaxiKind } from "../../scripts/gen-taxi-parquet.ts";
import type { WarehouseHook } from "../../src/providers/types.ts";

export const EXAMPLE_HOME = fileURLToPath(new URL("../../airflow_home/", import.meta.url));
export const DBT_PROJECT = join(EXAMPLE_HOME, "include", "dbt_project");

/** Rows of a generated file whose pickup falls in `month` (the rest are the few earlier pickups). */
export function rowsInMonth(kind: TaxiKind, month: string, rows: number, seed = 1): number {
  const j = TAXI_COLUMNS[kind].findIndex((c) => c.name.endsWith("_pickup_datetime"));
  const pickups = taxiColumns(kind, month, 0, rows, seed)[j]!;
  let n = 0;
  for (const p of pickups) if (new Date(Number(p as bigint) / 1000).toISOString().slice(0, 7) === month) n++;
  return n;
}

/** source_month -> count(*) of a table. */
export async function countsByMonth(hook: WarehouseHook, table: string): Promise<Record<string, number>> {
  const rows = await hook.getRecords<{ m: string; n: number | string }>(`SELECT source_month AS m, count(*) AS n FROM "${table}" GROUP BY source_month ORDER BY source_month`);
  return Object.fromEntries(rows.map((r) => [r.m, Number(r.n)]));
}

/** A copy of the example's ORCH_HOME pieces the taxi DAGs need: dags/taxi_pipeline.ts, with
 *  `consumer` dags/refresh_fct_trips.ts too, and include/. */
export async function copyTaxiHome(home: string, o: { consumer?: boolean } = {}): Promise<void> {
  await cp(join(EXAMPLE_HOME, "dags", "taxi_pipeline.ts"), join(home, "dags", "taxi_pipeline.ts"));
  if (o.consumer) await cp(join(EXAMPLE_HOME, "dags", "refresh_fct_trips.ts"), join(home, "dags", "refresh_fct_trips.ts"));
  await cp(join(EXAMPLE_HOME, "include"), join(home, "include"), { recursive: true });
}

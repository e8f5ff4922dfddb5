// orch's SQL fallback running the example dbt project (airflow_home/include/dbt_project) on both
// warehouses: fct_trips counts from generated months, the schema tests passing and failing, the
// incremental model replacing exactly its month (idempotent), NA / N/A staying text, and models
// outside the subset refused by name before anything is written.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { cp, writeFile } from "node:fs/promises";
import { writeTaxiParquet } from "../../scripts/gen-taxi-parquet.ts";
import { join } from "node:path";
import { isOrchError } from "../../src/errors.ts";
import { runDbtFallback, type DbtFallbackResult } from "../../src/providers/dbt/run.ts";
import { loadPartition } from "../../src/providers/load.ts";
import { PostgresHook } from "../../src/providers/postgres.ts";
import { SqliteHook } from "../../src/providers/sqlite.ts";
import { refreshFctTrips } from "../../src/providers/taxi.ts";
import type { WarehouseHook } from "../../src/providers/types.ts";
import { freshPgDatabase, pgSkipReason, type FreshDatabase } from "../helpers/pg.ts";
import { countsByMonth, DBT_PROJECT, rowsInMonth } from "../helpers/taxi.ts";
import { fixtures, type Fixtures } from "./fixtures.ts";

const MONTHS = [
  { month: "2024-01", rows: 3000 },
  { month: "2024-02", rows: 2500 },
  { month: "2024-03", rows: 2000 },
];
// Re-running a month with an updated file: February again, with fewer trips.
const FEB_UPDATED_ROWS = 1200;

let fx: Fixtures;
const files = new Map<string, string>();
let febUpdated: string;
const expected: Record<string, number> = {};
before(async () => {
  fx = await fixtures();
  for (const m of MONTHS) {
    files.set(m.month, fx.file("yellow", m.month, m.rows).path);
    expected[m.month] = rowsInMonth("yellow", m.month, m.rows);
  }
  febUpdated = writeTaxiParquet({ kind: "yellow", month: "2024-02", rows: FEB_UPDATED_ROWS, seed: 7, path: join(fx.dir, "feb-updated.parquet") }).path;
});
after(() => fx.cleanup());

const statuses = (r: DbtFallbackResult) => Object.fromEntries(r.results.map((x) => [x.name, x.status]));

const dialects: { name: "sqlite" | "postgres"; skip: () => Promise<string | undefined> }[] = [
  { name: "sqlite", skip: async () => undefined },
  { name: "postgres", skip: pgSkipReason },
];

for (const d of dialects) {
  describe(`${d.name}: the example dbt project through the SQL fallback`, { skip: await d.skip() }, () => {
    let hook: WarehouseHook;
    let db: FreshDatabase | undefined;
    before(async () => {
      if (d.name === "postgres") {
        db = await freshPgDatabase("dbt_fallback");
        hook = new PostgresHook(db.url);
      } else {
        hook = new SqliteHook(join(fx.dir, `warehouse-${d.name}.db`));
      }
      for (const m of MONTHS) await loadPartition(hook, "raw_trips", { partition: { column: "source_month", value: m.month }, source: files.get(m.month)! });
    });
    after(async () => {
      await hook.close();
      await db?.drop();
    });

    it("builds fct_trips for every month on the first run, without the trips picked up before their month, and every schema test passes", async () => {
      const lines: string[] = [];
      const r = await runDbtFallback(hook, { projectDir: DBT_PROJECT, vars: { month: "2024-03-01", taxi_type: "yellow" }, log: (l) => lines.push(l) });
      assert.deepEqual(await countsByMonth(hook, "fct_trips"), expected);
      for (const m of MONTHS) assert.ok(expected[m.month]! < m.rows, `the generator puts early pickups into ${m.month}`);
      assert.deepEqual(await countsByMonth(hook, "raw_trips"), Object.fromEntries(MONTHS.map((m) => [m.month, m.rows])));
      const tests = r.results.filter((x) => x.resource_type === "test");
      assert.equal(tests.length, 13);
      assert.ok(tests.every((t) => t.status === "pass"), JSON.stringify(tests.filter((t) => t.status !== "pass")));
      const s = statuses(r);
      assert.equal(s.taxi_zone_lookup, "success");
      assert.equal(s.stg_trips, "success");
      assert.equal(s.fct_trips, "success");
      assert.ok(s.relationships_fct_trips_pickup_zone_id__zone_id__ref_dim_zones === "pass", "expected s.relationships_fct_trips_pickup_zone_id__zone_id__ref_dim_zones === \"pass\"");
      assert.match(lines.at(-1)!, /PASS=17 WARN=0 ERROR=0 SKIP=0 TOTAL=17/);
      assert.equal(r.results.find((x) => x.name === "fct_trips")?.message, "created sql incremental model");
    });

    it("keeps the seed's NA and N/A as text (zone 265), and dim_zones has 265 zones", async () => {
      const [z] = await hook.getRecords<{ zone: string | null; service_zone: string | null; borough: string }>(`SELECT zone, service_zone, borough FROM dim_zones WHERE zone_id = 265`);
      assert.deepEqual({ ...z }, { zone: "NA", service_zone: "N/A", borough: "Unknown" });
      const [n] = await hook.getRecords<{ n: number | string }>(`SELECT count(*) AS n FROM dim_zones`);
      assert.equal(Number(n!.n), 265);
    });

    it("re-running one month (reload + build) leaves every count unchanged; fct_trips inserts only that month", async () => {
      const before = await countsByMonth(hook, "fct_trips");
      for (let i = 0; i < 2; i++) {
        await loadPartition(hook, "raw_trips", { partition: { column: "source_month", value: "2024-02" }, source: files.get("2024-02")! });
        const r = await runDbtFallback(hook, { projectDir: DBT_PROJECT, vars: { month: "2024-02-01", taxi_type: "yellow" } });
        const fct = r.results.find((x) => x.name === "fct_trips")!;
        assert.equal(fct.rows, expected["2024-02"], "the incremental run inserted February's rows only");
        assert.deepEqual(await countsByMonth(hook, "fct_trips"), before);
        assert.deepEqual(await countsByMonth(hook, "raw_trips"), Object.fromEntries(MONTHS.map((m) => [m.month, m.rows])));
      }
    });

    it("a month whose file changed is replaced in fct_trips (delete+insert on source_month); other months untouched", async () => {
      await loadPartition(hook, "raw_trips", { partition: { column: "source_month", value: "2024-02" }, source: febUpdated });
      await runDbtFallback(hook, { projectDir: DBT_PROJECT, vars: { month: "2024-02-01", taxi_type: "yellow" } });
      assert.deepEqual(await countsByMonth(hook, "fct_trips"), { ...expected, "2024-02": rowsInMonth("yellow", "2024-02", FEB_UPDATED_ROWS, 7) });
      // back to the first February file for the next tests
      await loadPartition(hook, "raw_trips", { partition: { column: "source_month", value: "2024-02" }, source: files.get("2024-02")! });
      await runDbtFallback(hook, { projectDir: DBT_PROJECT, vars: { month: "2024-02-01", taxi_type: "yellow" } });
      assert.deepEqual(await countsByMonth(hook, "fct_trips"), expected);
    });

    it("a failing schema test fails the build, naming the test and its failing rows; fixed data builds again", async () => {
      // A March trip from a zone that dim_zones does not have.
      await hook.run(`INSERT INTO raw_trips ("VendorID", tpep_pickup_datetime, "PULocationID", "DOLocationID", source_month) VALUES (2, '2024-03-15 10:00:00', 999, 1, '2024-03')`);
      try {
        await assert.rejects(
          runDbtFallback(hook, { projectDir: DBT_PROJECT, vars: { month: "2024-03-01", taxi_type: "yellow" } }),
          (e) => {
            assert.ok(isOrchError(e, "ORCH_DBT_FAILED"), String(e));
            assert.match(e.message, /test relationships_fct_trips_pickup_zone_id__zone_id__ref_dim_zones failed \(1 failing rows in fct_trips\.pickup_zone_id\)/);
            const results = (e.details as { results: { name: string; status: string; failures: number }[] }).results;
            assert.deepEqual(results.map((r) => [r.name, r.status, r.failures]), [["relationships_fct_trips_pickup_zone_id__zone_id__ref_dim_zones", "fail", 1]]);
            return true;
          },
        );
      } finally {
        await hook.run(`DELETE FROM raw_trips WHERE "PULocationID" = 999`);
      }
      const r = await runDbtFallback(hook, { projectDir: DBT_PROJECT, vars: { month: "2024-03-01", taxi_type: "yellow" } });
      assert.ok(r.results.every((x) => x.status === "pass" || x.status === "success"), "expected r.results.every((x) => x.status === \"pass\" || x.status === \"success\")");
      assert.deepEqual(await countsByMonth(hook, "fct_trips"), expected);
    });

    it("refreshFctTrips rebuilds fct_trips for a month (select +fct_trips) and reports the rows per month", async () => {
      const lines: string[] = [];
      const r = await refreshFctTrips(hook, { projectDir: DBT_PROJECT, month: "2024-01", taxiType: "yellow", log: (l) => lines.push(l), path: "/nonexistent" });
      assert.equal(r.build.runner, "fallback");
      assert.deepEqual(r.rowsByMonth, expected);
      assert.ok(lines.includes(`fct_trips 2024-01: ${expected["2024-01"]} rows`), lines.join("\n"));
      assert.ok(lines.some((l) => /dbt is not on PATH/.test(l)), "expected lines.some((l) => /dbt is not on PATH/.test(l))");
    });
  });
}

describe("taxi_type fhv: stg_trips reads the FHV columns", () => {
  it("builds fct_trips from an FHV month (its own column names, zones as doubles, some missing), tests passing", async () => {
    // The FHV files' columns (2023 on): no fares, zone ids as DOUBLE, often null.
    const path = join(fx.dir, "fhv_tripdata_2024-01.parquet");
    const us = (iso: string) => BigInt(Date.parse(`${iso}Z`)) * 1000n;
    const ts = { type: "INT64" as const, converted_type: "TIMESTAMP_MICROS" as const, logical_type: { type: "TIMESTAMP" as const, isAdjustedToUTC: false, unit: "MICROS" as const } };
    const str = { type: "BYTE_ARRAY" as const, converted_type: "UTF8" as const };
    const schema = [
      { name: "schema", repetition_type: "REQUIRED" as const, num_children: 7 },
      { name: "dispatching_base_num", repetition_type: "OPTIONAL" as const, ...str },
      { name: "pickup_datetime", repetition_type: "OPTIONAL" as const, ...ts },
      { name: "dropOff_datetime", repetition_type: "OPTIONAL" as const, ...ts },
      { name: "PUlocationID", repetition_type: "OPTIONAL" as const, type: "DOUBLE" as const },
      { name: "DOlocationID", repetition_type: "OPTIONAL" as const, type: "DOUBLE" as const },
      { name: "SR_Flag", repetition_type: "OPTIONAL" as const, type: "INT32" as const },
      { name: "Affiliated_base_number", repetition_type: "OPTIONAL" as const, ...str },
    ];
    const { ParquetWriter, fileWriter } = await import("hyparquet-writer");
    const w = new ParquetWriter({ writer: fileWriter(path), schema });
    w.write({
      columnData: [
        { name: "dispatching_base_num", data: ["B00001", "B00002", "B00003", "B00004"] },
        { name: "pickup_datetime", data: [us("2024-01-03T10:00:00"), us("2024-01-31T23:59:59"), us("2023-12-31T23:00:00"), us("2024-01-15T08:30:00")] },
        { name: "dropOff_datetime", data: [us("2024-01-03T10:20:00"), us("2024-02-01T00:10:00"), us("2024-01-01T00:05:00"), us("2024-01-15T09:00:00")] },
        { name: "PUlocationID", data: [132, null, 1, 265] },
        { name: "DOlocationID", data: [1, 48, null, null] },
        { name: "SR_Flag", data: [null, null, 1, null] },
        { name: "Affiliated_base_number", data: ["B00001", null, "B00003", "B00004"] },
      ],
    });
    w.finish();
    const hook = new SqliteHook(join(fx.dir, "fhv.db"));
    try {
      await loadPartition(hook, "raw_trips", { partition: { column: "source_month", value: "2024-01" }, source: path });
      const r = await runDbtFallback(hook, { projectDir: DBT_PROJECT, vars: { month: "2024-01-01", taxi_type: "fhv" } });
      assert.ok(r.results.every((x) => x.status === "pass" || x.status === "success"), JSON.stringify(r.results.filter((x) => x.status !== "pass" && x.status !== "success")));
      const rows = await hook.getRecords<{ z: number | null; zone: string | null; fare: number | null }>(`SELECT pickup_zone_id AS z, pickup_zone AS zone, fare_amount AS fare FROM fct_trips ORDER BY pickup_at`);
      assert.deepEqual(rows.map((x) => [x.z, x.zone, x.fare]), [[132, "JFK Airport", null], [265, "NA", null], [null, null, null]], "the December pickup is dropped");
    } finally {
      await hook.close();
    }
  });
});

describe("models outside the fallback's subset", () => {
  let n = 0;
  /** A copy of the example project with one model replaced. */
  async function projectWith(file: string, sql: string): Promise<string> {
    const dir = join(fx.dir, `project-${++n}`);
    await cp(DBT_PROJECT, dir, { recursive: true });
    await writeFile(join(dir, file), sql);
    return dir;
  }
  const cases: { what: string; file: string; sql: string; code: string; names: RegExp }[] = [
    { what: "adapter.dispatch", file: "models/marts/dim_zones.sql", sql: "select {{ adapter.dispatch('x')() }}", code: "ORCH_DBT_UNSUPPORTED", names: /uses 'adapter'/ },
    { what: "a dbt_utils macro", file: "models/marts/dim_zones.sql", sql: "select {{ dbt_utils.star(ref('taxi_zone_lookup')) }} from {{ ref('taxi_zone_lookup') }}", code: "ORCH_DBT_UNSUPPORTED", names: /uses 'dbt_utils'/ },
    { what: "a {% macro %} block", file: "models/marts/dim_zones.sql", sql: "{% macro m() %}1{% endmacro %}select {{ m() }}", code: "ORCH_DBT_UNSUPPORTED", names: /uses \{% macro %\}/ },
    { what: "an ephemeral model", file: "models/marts/dim_zones.sql", sql: "{{ config(materialized='ephemeral') }}select 1 as zone_id", code: "ORCH_DBT_UNSUPPORTED", names: /materialized='ephemeral'/ },
    { what: "a post_hook", file: "models/marts/dim_zones.sql", sql: "{{ config(materialized='table', post_hook='grant select on {{ this }} to x') }}select 1 as zone_id", code: "ORCH_DBT_UNSUPPORTED", names: /config\(post_hook=…\)/ },
    { what: "the merge strategy", file: "models/marts/fct_trips.sql", sql: "{{ config(materialized='incremental', unique_key='source_month', incremental_strategy='merge') }}select * from {{ ref('stg_trips') }}", code: "ORCH_DBT_UNSUPPORTED", names: /incremental_strategy='merge'/ },
    { what: "a package test", file: "models/marts/extra.yml", sql: "version: 2\nmodels:\n  - name: dim_zones\n    columns:\n      - name: zone_id\n        tests:\n          - dbt_utils.not_constant\n", code: "ORCH_DBT_UNSUPPORTED", names: /dbt_utils\.not_constant on dim_zones\.zone_id/ },
    { what: "a ref to nothing", file: "models/marts/dim_zones.sql", sql: "select * from {{ ref('no_such_model') }}", code: "ORCH_DBT_PROJECT_INVALID", names: /ref\('no_such_model'\), which is not a model or seed/ },
    { what: "a ref cycle", file: "models/marts/dim_zones.sql", sql: "select * from {{ ref('fct_trips') }}", code: "ORCH_DBT_PROJECT_INVALID", names: /dim_zones, fct_trips ref each other in a cycle/ },
  ];
  for (const c of cases) {
    it(`${c.what} fails naming the construct, before anything is written`, async () => {
      const dir = await projectWith(c.file, c.sql);
      const hook = new SqliteHook(join(fx.dir, `unsupported-${n}.db`));
      try {
        await assert.rejects(runDbtFallback(hook, { projectDir: dir, vars: { month: "2024-01-01" } }), (e) => {
          assert.ok(isOrchError(e), String(e));
          assert.equal(e.code, c.code, e.message);
          assert.match(e.message, c.names);
          return true;
        });
        const rel = await hook.getRecords(`SELECT name FROM sqlite_master`);
        assert.deepEqual(rel, [], "nothing was created");
      } finally {
        await hook.close();
      }
    });
  }

  it("a model whose SQL fails errors the build and skips what refs it; the rest builds", async () => {
    const dir = await projectWith("models/marts/dim_zones.sql", "select no_such_column from {{ ref('taxi_zone_lookup') }}");
    const hook = new SqliteHook(join(fx.dir, "broken.db"));
    try {
      await loadPartition(hook, "raw_trips", { partition: { column: "source_month", value: "2024-01" }, source: files.get("2024-01")! });
      await assert.rejects(runDbtFallback(hook, { projectDir: dir, vars: { month: "2024-01-01" } }), (e) => {
        assert.ok(isOrchError(e, "ORCH_DBT_FAILED"), String(e));
        assert.match(e.message, /model dim_zones \(.*dim_zones\.sql\) failed on sqlite: .*no_such_column/);
        return true;
      });
      const names = (await hook.getRecords<{ name: string }>(`SELECT name FROM sqlite_master WHERE type IN ('table', 'view') ORDER BY name`)).map((r) => r.name);
      assert.deepEqual(names, ["raw_trips", "stg_trips", "taxi_zone_lookup"], "dim_zones rolled back, fct_trips skipped");
    } finally {
      await hook.close();
    }
  });
});

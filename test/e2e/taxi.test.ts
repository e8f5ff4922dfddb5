// The taxi pipeline (airflow_home/dags/taxi_pipeline.ts) end to end through `orch dags test`, with
// base_url on a local HTTP server: exact row counts per month in raw_trips and fct_trips, re-runs
// that change nothing, bad downloads that fail saying which and touch no row, the branch, a stand-in
// dbt on PATH, the PostgreSQL warehouse through a `warehouse` connection, and the real TLC months.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { chmod, mkdir, readFile, writeFile } from "node:fs/promises";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { delimiter, join } from "node:path";
import { fileURLToPath } from "node:url";
import { writeTaxiParquet } from "../../scripts/gen-taxi-parquet.ts";
import { serveData, type DataServer } from "../../scripts/serve-data.ts";
import { PostgresHook } from "../../src/providers/postgres.ts";
import { SqliteHook } from "../../src/providers/sqlite.ts";
import type { WarehouseHook } from "../../src/providers/types.ts";
import { openStore } from "../../src/store/index.ts";
import { getAsset, listAssetEvents } from "../../src/store/assets.ts";
import { dagsTest, migrateHome, type RunStates } from "../helpers/engine.ts";
import { tempHome, type TempHome } from "../helpers/home.ts";
import { assertNoLeakedProcesses } from "../helpers/leaks.ts";
import { ADMIN_URL, freshPgDatabase, pgSkipReason, type FreshDatabase } from "../helpers/pg.ts";
import { withStoreOf } from "../helpers/scheduler-process.ts";
import { copyTaxiHome, countsByMonth, rowsInMonth } from "../helpers/taxi.ts";

const GOOD = [
  { month: "2024-01", rows: 2000 },
  { month: "2024-02", rows: 1500 },
  { month: "2024-03", rows: 1800 },
];
const ALL_SUCCESS = { ingest_taxi_month: "success", choose_transform: "success", dbt_run: "success", skip_transform: "skipped", publish: "success" };

/** The real TLC files, beside the repository (../shared/data/tlc relative to its root). */
const REAL_TLC = fileURLToPath(new URL("../../../shared/data/tlc/", import.meta.url));

/**
 * One run of the month `month` (YYYY-MM) or of the day `date` (YYYY-MM-DD: a run's month is its
 * logical date's month, so another day of a month re-runs that month under a new run id).
 */
async function taxiRun(home: string, monthOrDate: string, conf: Record<string, unknown>, env: Record<string, string> = {}): Promise<RunStates> {
  const date = monthOrDate.length === 7 ? `${monthOrDate}-01` : monthOrDate;
  const r = await dagsTest(home, "taxi_pipeline", [date, "--conf", JSON.stringify(conf)], env);
  // The states read back must be this run's, not an earlier one's.
  assert.equal(r.runId, `manual__${date}T00:00:00+00:00`, r.cli.stderr);
  return r;
}

/** Counts and sum(total_amount) per month: what "untouched" compares. */
async function snapshot(hook: WarehouseHook): Promise<unknown> {
  const sums = await hook.getRecords<{ m: string; s: number | string }>(`SELECT source_month AS m, round(cast(sum(total_amount) AS numeric), 2) AS s FROM raw_trips GROUP BY source_month ORDER BY 1`);
  return { raw: await countsByMonth(hook, "raw_trips"), fct: await countsByMonth(hook, "fct_trips"), sums: sums.map((r) => [r.m, Number(r.s)]) };
}

describe("taxi_pipeline through orch dags test (SQLite warehouse)", () => {
  let h: TempHome;
  let data: string;
  let server: DataServer;
  let cutServer: DataServer;
  let warehouse: SqliteHook;
  let conf: Record<string, unknown>;
  const expected: Record<string, number> = {};
  before(async () => {
    h = await tempHome("orch-taxi-e2e-");
    await copyTaxiHome(h.home);
    await migrateHome(h.home);
    data = join(h.home, "served");
    await mkdir(data);
    for (const g of GOOD) {
      writeTaxiParquet({ kind: "green", month: g.month, rows: g.rows, path: join(data, `green_tripdata_${g.month}.parquet`) });
      expected[g.month] = rowsInMonth("green", g.month, g.rows);
    }
    // Bad "months": the first half of a good file, an HTML error page, an empty body; 2024-07 is absent (404).
    const good = await readFile(join(data, "green_tripdata_2024-01.parquet"));
    await writeFile(join(data, "green_tripdata_2024-04.parquet"), good.subarray(0, Math.floor(good.length / 2)));
    await writeFile(join(data, "green_tripdata_2024-05.parquet"), "<!DOCTYPE html>\n<html><head><title>Error</title></head><body>AccessDenied</body></html>\n");
    await writeFile(join(data, "green_tripdata_2024-06.parquet"), "");
    server = await serveData({ dir: data });
    cutServer = await serveData({ dir: data, cutAfter: 10_000 });
    conf = { taxi_type: "green", base_url: `${server.url}/trip-data` };
    warehouse = new SqliteHook(join(h.home, "warehouse.db"));
  });
  after(async () => {
    await warehouse?.close();
    await server?.close();
    await cutServer?.close();
    await assertNoLeakedProcesses(h.home);
    await h.cleanup();
  });

  it("loads three months: exact rows per month in raw_trips, fct_trips without the early pickups, the fallback's tests passing", async () => {
    for (const g of GOOD) {
      const r = await taxiRun(h.home, g.month, conf);
      assert.equal(r.runState, "success", r.cli.stdout + r.cli.stderr);
      assert.deepEqual(r.states, ALL_SUCCESS);
      assert.match(r.cli.stdout, new RegExp(`loaded ${g.rows} rows into raw_trips for ${g.month}`));
      assert.match(r.cli.stdout, /dbt is not on PATH, so orch's SQL fallback runs/);
      assert.match(r.cli.stdout, /PASS=17 WARN=0 ERROR=0 SKIP=0 TOTAL=17/);
      assert.match(r.cli.stdout, new RegExp(`raw_trips updated: \\{"month":"${g.month}","rows":${g.rows},"taxi_type":"green"\\}`));
    }
    assert.deepEqual(await countsByMonth(warehouse, "raw_trips"), Object.fromEntries(GOOD.map((g) => [g.month, g.rows])));
    assert.deepEqual(await countsByMonth(warehouse, "fct_trips"), expected);
    // publish's raw_trips events carry {month, rows}, oldest first.
    const extras = await withStoreOf(h.home, async (s) => {
      const asset = await getAsset(s.db, "warehouse://raw_trips");
      assert.ok(asset, "raw_trips is a known asset");
      return (await listAssetEvents(s.db, asset.id)).reverse().map((e) => e.extra);
    });
    assert.deepEqual(extras, GOOD.map((g) => ({ ...g, taxi_type: "green" })));
  });

  it("re-running a month leaves every count unchanged (raw_trips and fct_trips)", async () => {
    const before = await snapshot(warehouse);
    const r = await taxiRun(h.home, "2024-02-15", conf);
    assert.equal(r.runState, "success");
    assert.deepEqual(await snapshot(warehouse), before);
  });

  const faults = [
    { what: "a cut-off file (PAR1 at the start, no footer)", month: "2024-04", message: /green_tripdata_2024-04\.parquet is truncated: it starts like Parquet but has no footer .*; nothing was written to raw_trips/ },
    { what: "an HTML page served as .parquet", month: "2024-05", message: /green_tripdata_2024-05\.parquet is an HTML\/XML page, not a Parquet file/ },
    { what: "an empty body", month: "2024-06", message: /green_tripdata_2024-06\.parquet is an empty file/ },
    { what: "a 404", month: "2024-07", message: /green_tripdata_2024-07\.parquet is not published \(HTTP 404\)/ },
  ];
  for (const f of faults) {
    it(`${f.what} fails ingest_taxi_month with its message; every existing row is untouched`, async () => {
      const before = await snapshot(warehouse);
      const r = await taxiRun(h.home, f.month, conf);
      assert.equal(r.runState, "failed");
      assert.equal(r.states.ingest_taxi_month, "failed");
      assert.equal(r.states.choose_transform, "upstream_failed");
      assert.equal(r.states.publish, "upstream_failed");
      assert.match(r.cli.stdout, f.message);
      assert.deepEqual(await snapshot(warehouse), before);
    });
  }

  it("a body cut off mid-transfer is retried, then fails naming the URL and the attempts; rows untouched", async () => {
    const before = await snapshot(warehouse);
    const r = await taxiRun(h.home, "2024-01-20", { ...conf, base_url: `${cutServer.url}/trip-data` });
    assert.equal(r.runState, "failed", r.cli.stdout + r.cli.stderr);
    assert.equal(r.states.ingest_taxi_month, "failed");
    assert.match(r.cli.stdout, /download of http:\/\/127\.0\.0\.1:\d+\/trip-data\/green_tripdata_2024-01\.parquet failed after 4 attempt\(s\)/);
    assert.deepEqual(await snapshot(warehouse), before);
  });

  it("an unreachable base_url fails after the retries with a hint to use a local copy (the first run without internet)", async () => {
    const before = await snapshot(warehouse);
    // Port 9 (discard) on loopback: nothing listens, so every attempt is refused.
    const r = await taxiRun(h.home, "2024-01-25", { ...conf, base_url: "http://127.0.0.1:9/trip-data" });
    assert.equal(r.runState, "failed");
    assert.match(r.cli.stdout, /failed after 4 attempt\(s\): connection error.*\(no network\? point the base_url param at a local copy of the files\)/);
    assert.deepEqual(await snapshot(warehouse), before);
  });

  it("fewer rows than min_rows take the skip_transform branch; publish still runs", async () => {
    const r = await taxiRun(h.home, "2024-03-10", { ...conf, min_rows: 1_000_000 });
    assert.equal(r.runState, "success", r.cli.stdout + r.cli.stderr);
    assert.deepEqual(r.states, { ...ALL_SUCCESS, dbt_run: "skipped", skip_transform: "success" });
  });

  it("with a dbt on PATH, dbt_run runs `dbt build` with the project, profiles and the month's vars", async () => {
    const bin = join(h.home, "bin");
    const record = join(h.home, "dbt-args.json");
    await mkdir(bin, { recursive: true });
    await writeFile(
      join(bin, "dbt"),
      `#!/bin/sh\nprintf '%s\\n' "$@" > ${JSON.stringify(record)}\necho "DBT_TARGET=$DBT_TARGET ORCH_WAREHOUSE_PATH=$ORCH_WAREHOUSE_PATH" >> ${JSON.stringify(record)}\necho "stand-in dbt done"\n`,
    );
    await chmod(join(bin, "dbt"), 0o755);
    const before = await snapshot(warehouse);
    const r = await taxiRun(h.home, "2024-02-20", conf, { PATH: `${bin}${delimiter}${process.env.PATH}` });
    assert.equal(r.runState, "success", r.cli.stdout);
    assert.deepEqual(r.states, ALL_SUCCESS);
    const project = join(h.home, "include", "dbt_project");
    assert.deepEqual((await readFile(record, "utf8")).trim().split("\n"), [
      "build",
      "--project-dir",
      project,
      "--profiles-dir",
      project,
      "--vars",
      '{"month":"2024-02-01","taxi_type":"green"}',
      `DBT_TARGET=sqlite ORCH_WAREHOUSE_PATH=${join(h.home, "warehouse.db")}`,
    ]);
    assert.match(r.cli.stdout, /stand-in dbt done/);
    assert.doesNotMatch(r.cli.stdout, /SQL fallback/);
    assert.deepEqual(await snapshot(warehouse), before, "the stand-in wrote nothing; the month's reload changed nothing");
  });
});

describe("taxi_pipeline into PostgreSQL (connection `warehouse`)", { skip: await pgSkipReason() }, () => {
  let h: TempHome;
  let server: DataServer;
  let db: FreshDatabase;
  let hook: PostgresHook;
  let role: string | undefined;
  let password: string;
  const expected: Record<string, number> = {};
  before(async () => {
    h = await tempHome("orch-taxi-pg-");
    await copyTaxiHome(h.home);
    await migrateHome(h.home);
    const data = join(h.home, "served");
    await mkdir(data);
    for (const g of GOOD.slice(0, 2)) {
      writeTaxiParquet({ kind: "yellow", month: g.month, rows: g.rows, path: join(data, `yellow_tripdata_${g.month}.parquet`) });
      expected[g.month] = rowsInMonth("yellow", g.month, g.rows);
    }
    server = await serveData({ dir: data });
    db = await freshPgDatabase("taxi_e2e");
    // Its own role, with a password no log line would contain by chance (the task log masks it).
    role = `orch_taxi_${randomBytes(4).toString("hex")}`;
    password = randomBytes(12).toString("hex");
    const admin = new PostgresHook(ADMIN_URL);
    await admin.run(`CREATE ROLE ${role} LOGIN PASSWORD '${password}'`);
    await admin.run(`ALTER DATABASE "${db.name}" OWNER TO ${role}`);
    await admin.close();
    const u = new URL(db.url);
    u.username = role;
    u.password = password;
    const store = await openStore(`sqlite:///${join(h.home, "orch.db")}`);
    await store.db
      .insertInto("connection")
      .values({ conn_id: "warehouse", conn_type: "postgres", description: null, host: u.hostname, schema: db.name, login: role, password, port: Number(u.port || 5432), extra: null, is_encrypted: 0, is_extra_encrypted: 0 })
      .execute();
    await store.close();
    hook = new PostgresHook(u.toString());
  });
  after(async () => {
    await hook?.close();
    await server?.close();
    await db?.drop();
    if (role) {
      const admin = new PostgresHook(ADMIN_URL);
      await admin.run(`DROP ROLE IF EXISTS ${role}`);
      await admin.close();
    }
    await assertNoLeakedProcesses(h.home);
    await h.cleanup();
  });

  it("loads two yellow months (the default taxi_type) and builds fct_trips there; a re-run changes nothing; no SQLite warehouse appears", async () => {
    const conf = { base_url: `${server.url}/trip-data` };
    for (const g of GOOD.slice(0, 2)) {
      const r = await taxiRun(h.home, g.month, conf);
      assert.equal(r.runState, "success", r.cli.stdout + r.cli.stderr);
      assert.deepEqual(r.states, ALL_SUCCESS);
      assert.match(r.cli.stdout, /nodes and 13 tests on postgres/);
      assert.doesNotMatch(r.cli.stdout, new RegExp(password));
    }
    const want = { raw: Object.fromEntries(GOOD.slice(0, 2).map((g) => [g.month, g.rows])), fct: expected };
    assert.deepEqual({ raw: await countsByMonth(hook, "raw_trips"), fct: await countsByMonth(hook, "fct_trips") }, want);
    const before = await snapshot(hook);
    assert.equal((await taxiRun(h.home, "2024-01-15", conf)).runState, "success");
    assert.deepEqual(await snapshot(hook), before);
    assert.equal(existsSync(join(h.home, "warehouse.db")), false);
  });
});

const realWhy = existsSync(join(REAL_TLC, "green_tripdata_2024-01.parquet")) ? undefined : `the real TLC files are not at ${REAL_TLC}`;
if (realWhy) console.error(`\n!!! SKIPPING the real TLC months: ${realWhy} !!!\n`);

describe("taxi_pipeline on the real TLC green months (../shared/data/tlc)", { skip: realWhy }, () => {
  let h: TempHome;
  let server: DataServer;
  let warehouse: SqliteHook;
  before(async () => {
    h = await tempHome("orch-taxi-real-");
    await copyTaxiHome(h.home);
    await migrateHome(h.home);
    server = await serveData({ dir: REAL_TLC });
    warehouse = new SqliteHook(join(h.home, "warehouse.db"));
  });
  after(async () => {
    await warehouse?.close();
    await server?.close();
    await assertNoLeakedProcesses(h.home);
    await h.cleanup();
  });

  it("loads 2023-12 and 2024-01 to the counts and sums in SOURCES.md; fct_trips keeps the pickups inside each month", async () => {
    const conf = { taxi_type: "green", base_url: `${server.url}/trip-data` };
    for (const month of ["2023-12", "2024-01"]) {
      const r = await taxiRun(h.home, month, conf);
      assert.equal(r.runState, "success", r.cli.stdout + r.cli.stderr);
      assert.deepEqual(r.states, ALL_SUCCESS);
    }
    // SOURCES.md: rows, rows whose pickup falls in the file's month, sum(total_amount), rows by VendorID.
    assert.deepEqual(await snapshot(warehouse), {
      raw: { "2023-12": 64_215, "2024-01": 56_551 },
      fct: { "2023-12": 64_211, "2024-01": 56_549 },
      sums: [["2023-12", 1_557_922.15], ["2024-01", 1_266_922.59]],
    });
    const vendors = await warehouse.getRecords<{ m: string; v: number; n: number }>(`SELECT source_month AS m, "VendorID" AS v, count(*) AS n FROM raw_trips GROUP BY 1, 2 ORDER BY 1, 2`);
    assert.deepEqual(vendors.map((x) => [x.m, x.v, x.n]), [["2023-12", 1, 8_577], ["2023-12", 2, 55_638], ["2024-01", 1, 7_338], ["2024-01", 2, 49_213]]);
    const [nulls] = await warehouse.getRecords<{ n: number }>(`SELECT count(*) AS n FROM raw_trips WHERE source_month = '2024-01' AND passenger_count IS NULL`);
    assert.equal(nulls!.n, 3_415);
  });
});

// The taxi pipeline and its consumer through a real `orch scheduler` process: a backfill of three
// generated months (base_url on a local HTTP server, SQLite warehouse) loads exact rows per month
// into raw_trips and fct_trips, and each month's publish event (extra {month, rows, taxi_type}) creates one
// asset_triggered run of refresh_fct_trips that rebuilds that month.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdir, readFile, readdir } from "node:fs/promises";
import { join } from "node:path";
import { writeTaxiParquet } from "../../scripts/gen-taxi-parquet.ts";
import { serveData, type DataServer } from "../../scripts/serve-data.ts";
import { SqliteHook } from "../../src/providers/sqlite.ts";
import { listTriggeringAssetEvents } from "../../src/store/assets.ts";
import { runOrch } from "../helpers/cli.ts";
import { tempHome, type TempHome } from "../helpers/home.ts";
import { assertNoLeakedProcesses } from "../helpers/leaks.ts";
import { killHard, startScheduler, waitFor, withStoreOf, type SchedulerProcess } from "../helpers/scheduler-process.ts";
import { copyTaxiHome, countsByMonth, rowsInMonth } from "../helpers/taxi.ts";

/** The task logs of a DAG's runs, oldest run first (logs/dag_id=…/run_id=…/task_id=…/attempt=N.log). */
async function logsOf(home: string, dagId: string): Promise<string[]> {
  const dir = join(home, "logs", `dag_id=${dagId}`);
  const files = (await readdir(dir, { recursive: true })).filter((f) => f.endsWith(".log")).sort();
  return Promise.all(files.map((f) => readFile(join(dir, f), "utf8")));
}

const MONTHS = [
  { month: "2024-01", rows: 1200 },
  { month: "2024-02", rows: 900 },
  { month: "2024-03", rows: 1100 },
];
// Generous: three producer runs (download, load, dbt fallback) and three consumer runs on a loaded 2-core machine.
const DEADLINE_MS = 240_000;

describe("taxi_pipeline backfill -> raw_trips events -> refresh_fct_trips (orch scheduler, SQLite)", { timeout: 400_000 }, () => {
  let h: TempHome;
  let server: DataServer;
  let scheduler: SchedulerProcess | undefined;
  const expectedFct: Record<string, number> = {};

  before(async () => {
    h = await tempHome("orch-taxi-assets-");
    await copyTaxiHome(h.home, { consumer: true });
    const data = join(h.home, "served");
    await mkdir(data);
    for (const m of MONTHS) {
      writeTaxiParquet({ kind: "green", month: m.month, rows: m.rows, path: join(data, `green_tripdata_${m.month}.parquet`) });
      expectedFct[m.month] = rowsInMonth("green", m.month, m.rows);
    }
    server = await serveData({ dir: data });
    for (const args of [["db", "migrate"], ["dags", "reserialize"], ["dags", "unpause", "refresh_fct_trips"]]) {
      const r = await runOrch(args, { home: h.home });
      assert.equal(r.code, 0, `orch ${args.join(" ")}: ${r.stdout}${r.stderr}`);
    }
  });
  after(async () => {
    await killHard(scheduler);
    await server?.close();
    await assertNoLeakedProcesses(h.home);
    await h.cleanup();
  });

  it("loads each month exactly, and the consumer runs once per month with that month's event", async () => {
    scheduler = startScheduler(h.home);
    // Events queue for a consumer only once the scheduler has recorded what it is scheduled on.
    await waitFor(
      "the scheduler to record refresh_fct_trips's schedule on raw_trips",
      () => withStoreOf(h.home, async (s) => (await s.db.selectFrom("dag_schedule_asset_reference").select("dag_id").where("dag_id", "=", "refresh_fct_trips").execute()).length > 0),
      DEADLINE_MS,
    );
    const conf = { taxi_type: "green", base_url: `${server.url}/trip-data` };
    // One producer run at a time, as taxi_pipeline's own max_active_runs: each publish is its own event.
    const bf = await runOrch(
      ["backfill", "create", "--dag-id", "taxi_pipeline", "--from-date", "2024-01-01", "--to-date", "2024-03-01", "--max-active-runs", "1", "--dag-run-conf", JSON.stringify(conf)],
      { home: h.home },
    );
    assert.equal(bf.code, 0, bf.stdout + bf.stderr);

    const runs = await waitFor(
      "three finished backfill runs of taxi_pipeline, no queued raw_trips event and finished asset-triggered runs of refresh_fct_trips",
      () =>
        withStoreOf(h.home, async (s) => {
          const rows = await s.db.selectFrom("dag_run").select(["id", "dag_id", "run_id", "run_type", "state", "logical_date"]).orderBy("id").execute();
          const done = (r: { state: string }) => r.state === "success" || r.state === "failed";
          const producer = rows.filter((r) => r.dag_id === "taxi_pipeline");
          const consumer = rows.filter((r) => r.dag_id === "refresh_fct_trips");
          if (producer.some((r) => r.state === "failed")) return { producer, consumer };
          // Settled: every producer run done, no raw_trips event left queued for the consumer, its runs done.
          const queued = await s.db.selectFrom("asset_dag_run_queue").select("asset_id").where("target_dag_id", "=", "refresh_fct_trips").execute();
          const settled = producer.length === 3 && producer.every(done) && queued.length === 0 && consumer.length > 0 && consumer.every(done);
          return settled ? { producer, consumer } : undefined;
        }),
      DEADLINE_MS,
    ).catch((e: Error) => {
      throw new Error(`${e.message}\n--- scheduler output ---\n${scheduler?.output().slice(-4000)}`);
    });

    assert.deepEqual(
      runs.producer.map((r) => [r.run_type, r.state]),
      MONTHS.map(() => ["backfill", "success"]),
      scheduler.output().slice(-4000),
    );
    const consumerLogs = await logsOf(h.home, "refresh_fct_trips");
    assert.deepEqual(
      runs.consumer.map((r) => [r.run_type, r.state]),
      MONTHS.map(() => ["asset_triggered", "success"]),
      consumerLogs.join("\n").slice(-6000),
    );
    // Each consumer run was triggered by exactly one raw_trips event: one month's publish, oldest first.
    const triggering = await withStoreOf(h.home, async (s) => {
      const out = [];
      for (const r of runs.consumer) out.push((await listTriggeringAssetEvents(s.db, r.id)).map((e) => [e.uri, e.source_dag_id, e.extra]));
      return out;
    });
    assert.deepEqual(
      triggering,
      MONTHS.map((m) => [["warehouse://raw_trips", "taxi_pipeline", { month: m.month, rows: m.rows, taxi_type: "green" }]]),
    );

    // Each run's log names its month, then fct_trips' rows per month as they stand after it.
    assert.equal(consumerLogs.length, MONTHS.length);
    MONTHS.forEach((m, i) => {
      assert.match(consumerLogs[i]!, new RegExp(`rebuilding fct_trips for ${m.month} \\(green\\)`));
      for (const earlier of MONTHS.slice(0, i + 1)) assert.match(consumerLogs[i]!, new RegExp(`fct_trips ${earlier.month}: ${expectedFct[earlier.month]} rows`));
    });

    const warehouse = new SqliteHook(join(h.home, "warehouse.db"));
    try {
      assert.deepEqual(await countsByMonth(warehouse, "raw_trips"), Object.fromEntries(MONTHS.map((m) => [m.month, m.rows])));
      assert.deepEqual(await countsByMonth(warehouse, "fct_trips"), expectedFct);
    } finally {
      await warehouse.close();
    }
  });
});

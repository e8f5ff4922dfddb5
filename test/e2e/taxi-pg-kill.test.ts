// ingest_taxi_month's worker process SIGKILLed while its COPY into the PostgreSQL warehouse runs
// (through a real `orch scheduler`): the month's partition is replaced in one transaction, so the
// killed try leaves the month as an earlier run loaded it; cleared and re-run, the month is the new
// file's, complete, never partial or doubled.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { writeTaxiParquet } from "../../scripts/gen-taxi-parquet.ts";
import { serveData, type DataServer } from "../../scripts/serve-data.ts";
import { PostgresHook } from "../../src/providers/postgres.ts";
import { runOrch } from "../helpers/cli.ts";
import { tempHome, type TempHome } from "../helpers/home.ts";
import { assertNoLeakedProcesses } from "../helpers/leaks.ts";
import { freshPgDatabase, pgSkipReason, type FreshDatabase } from "../helpers/pg.ts";
import { killHard, startScheduler, waitFor, withStoreOf, type SchedulerProcess } from "../helpers/scheduler-process.ts";
import { copyTaxiHome, countsByMonth } from "../helpers/taxi.ts";

const MONTH = "2024-01";
// Enough rows that the COPY lasts long enough to be seen in pg_stat_activity.
const ROWS = 300_000;
// A first, small version of the month is loaded by the run of the 1st; the run of the 15th (same
// month) loads the big one and is the one killed.
const SMALL_ROWS = 500;
const FIRST_RUN_ID = `manual__${MONTH}-01T00:00:00+00:00`;
const RUN_ID = `manual__${MONTH}-15T00:00:00+00:00`;
const DEADLINE_MS = 240_000;

describe("taxi_pipeline: the worker killed mid-COPY into PostgreSQL, then cleared and re-run", { skip: await pgSkipReason(), timeout: 400_000 }, () => {
  let h: TempHome;
  let server: DataServer;
  let smallServer: DataServer;
  let db: FreshDatabase;
  let hook: PostgresHook;
  let scheduler: SchedulerProcess | undefined;
  let env: Record<string, string>;

  before(async () => {
    h = await tempHome("orch-taxi-kill-");
    await copyTaxiHome(h.home);
    const data = join(h.home, "served");
    await mkdir(data);
    writeTaxiParquet({ kind: "green", month: MONTH, rows: ROWS, path: join(data, `green_tripdata_${MONTH}.parquet`) });
    server = await serveData({ dir: data });
    const small = join(h.home, "served-small");
    await mkdir(small);
    writeTaxiParquet({ kind: "green", month: MONTH, rows: SMALL_ROWS, path: join(small, `green_tripdata_${MONTH}.parquet`) });
    smallServer = await serveData({ dir: small });
    db = await freshPgDatabase("taxi_kill");
    hook = new PostgresHook(db.url);
    env = { ORCH_CONN_WAREHOUSE: db.url };
    for (const args of [["db", "migrate"], ["dags", "reserialize"]]) {
      const r = await runOrch(args, { home: h.home });
      assert.equal(r.code, 0, `orch ${args.join(" ")}: ${r.stdout}${r.stderr}`);
    }
  });
  after(async () => {
    await killHard(scheduler);
    await hook?.close();
    await server?.close();
    await smallServer?.close();
    await db?.drop();
    await assertNoLeakedProcesses(h.home);
    await h.cleanup();
  });

  const tiState = (taskId: string) =>
    withStoreOf(h.home, async (s) => s.db.selectFrom("task_instance").select(["state", "pid", "try_number"]).where("run_id", "=", RUN_ID).where("task_id", "=", taskId).executeTakeFirst());
  const runState = (runId: string) =>
    withStoreOf(h.home, async (s) => (await s.db.selectFrom("dag_run").select("state").where("run_id", "=", runId).executeTakeFirst())?.state);

  it("keeps the month as the earlier run loaded it, never partial; the cleared re-run loads the new file exactly once", async (t) => {
    scheduler = startScheduler(h.home, [], env);
    const first = await runOrch(
      ["dags", "trigger", "taxi_pipeline", "-l", `${MONTH}-01`, "--conf", JSON.stringify({ taxi_type: "green", base_url: `${smallServer.url}/trip-data` }), "--unpause"],
      { home: h.home, env },
    );
    assert.equal(first.code, 0, first.stdout + first.stderr);
    await waitFor("the small month's run to succeed", async () => (await runState(FIRST_RUN_ID)) === "success", DEADLINE_MS).catch((e: Error) => {
      throw new Error(`${e.message}\n${scheduler?.output().slice(-3000)}`);
    });
    assert.deepEqual(await countsByMonth(hook, "raw_trips"), { [MONTH]: SMALL_ROWS });

    const conf = { taxi_type: "green", base_url: `${server.url}/trip-data` };
    const trig = await runOrch(["dags", "trigger", "taxi_pipeline", "-l", `${MONTH}-15`, "--conf", JSON.stringify(conf)], { home: h.home, env });
    assert.equal(trig.code, 0, trig.stdout + trig.stderr);

    // The COPY into raw_trips is running (seen from the warehouse's side): kill the task's worker.
    await waitFor(
      "a COPY into raw_trips in the warehouse",
      async () => (await hook.getRecords(`SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'COPY %raw_trips%' AND state = 'active'`)).length > 0,
      DEADLINE_MS,
    );
    const ti = await tiState("ingest_taxi_month");
    assert.equal(ti?.state, "running");
    assert.ok(ti?.pid && ti.pid !== scheduler.pid, `the try names its worker's pid, not the scheduler's (${ti?.pid})`);
    process.kill(ti.pid, "SIGKILL");

    const failed = await waitFor("the killed try to fail", async () => {
      const t = await tiState("ingest_taxi_month");
      return t && (t.state === "failed" || t.state === "up_for_retry") ? t : undefined;
    }, DEADLINE_MS);
    assert.equal(failed.state, "failed", scheduler.output().slice(-3000));
    // The killed transaction was rolled back: the month is still the small version, whole.
    assert.deepEqual(await countsByMonth(hook, "raw_trips"), { [MONTH]: SMALL_ROWS });

    const clear = await runOrch(["tasks", "clear", "taxi_pipeline", "-s", `${MONTH}-15`, "-e", `${MONTH}-15`, "-y"], { home: h.home, env });
    assert.equal(clear.code, 0, clear.stdout + clear.stderr);
    await waitFor(
      "the re-run to succeed",
      async () => (await runState(RUN_ID)) === "success",
      DEADLINE_MS,
    ).catch((e: Error) => {
      throw new Error(`${e.message}\n${scheduler?.output().slice(-3000)}`);
    });
    assert.deepEqual(await countsByMonth(hook, "raw_trips"), { [MONTH]: ROWS });
    // The second try's log says it loaded the whole month (and how long the load took: a COPY far
    // under a second would make the kill above hard to time).
    const log = await readFile(join(h.home, "logs", "dag_id=taxi_pipeline", `run_id=${RUN_ID}`, "task_id=ingest_taxi_month", "attempt=2.log"), "utf8");
    const loaded = log.match(new RegExp(`loaded ${ROWS} rows into raw_trips for ${MONTH} in [\\d.]+ s`));
    assert.ok(loaded, log.slice(-2000));
    t.diagnostic(loaded[0]);
  });
});

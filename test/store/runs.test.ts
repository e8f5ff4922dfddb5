// dag_run / task_instance / xcom queries on both dialects.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { isOrchError } from "../../src/errors.ts";
import { createDagRun, finishDagRun, generateRunId, getDagRun, lastAutomatedRun, listDagRuns, pyIsoformat } from "../../src/store/dag-runs.ts";
import { openStore } from "../../src/store/index.ts";
import {
  claimScheduledTaskInstances,
  clearTaskInstances,
  finishSuccessAndStart,
  finishTry,
  getTaskInstanceById,
  listTaskInstances,
  startTry,
} from "../../src/store/task-instances.ts";
import type { Db } from "../../src/store/index.ts";
import { listRunXcoms, setXcoms } from "../../src/store/xcom.ts";
import { dialectSkipReason, freshStore, testDialects, type TestStore } from "../helpers/store.ts";

/** Puts task instances in a state directly (the arrangement of a test, not a transition). */
async function setTaskInstanceState(db: Db, ids: readonly number[], state: string, _o?: unknown): Promise<void> {
  await db.updateTable("task_instance").set({ state, scheduled_dttm: new Date().toISOString() }).where("id", "in", ids).execute();
}

const claimOpts = (limit: number, cap: number) => ({ limit, jobId: null, defaultMaxActiveTasks: cap });

const TASKS = ["a", "b", "c", "d"].map((task_id, i) => ({ task_id, retries: 1, priority_weight: 10 - i, operator: "@task" }));

function newRun(dag_id: string, day: number, run_type: "manual" | "scheduled" = "manual") {
  const logical = new Date(Date.UTC(2024, 0, day)).toISOString();
  return {
    dag_id,
    run_id: generateRunId(run_type, logical, logical),
    run_type,
    logical_date: logical,
    data_interval_start: logical,
    data_interval_end: logical,
    run_after: logical,
    conf: { x: day },
    triggered_by: "test",
  };
}

describe("run ids", () => {
  it("are Airflow's: run type, then Python's isoformat of the logical date", () => {
    assert.equal(generateRunId("manual", "2024-01-01T00:00:00.000Z", "2024-01-01T00:00:00.000Z"), "manual__2024-01-01T00:00:00+00:00");
    assert.equal(pyIsoformat("2024-01-01T06:30:00.250Z"), "2024-01-01T06:30:00.250000+00:00");
    assert.match(generateRunId("manual", null, "2024-01-01T00:00:00.000Z"), /^manual__2024-01-01T00:00:00\+00:00_[a-z0-9]+$/);
  });
});

for (const dialect of testDialects()) {
  describe(`${dialect}: dag_run and task_instance`, { skip: await dialectSkipReason(dialect) }, () => {
    let t: TestStore;
    before(async () => {
      t = await freshStore(dialect, "runs");
    });
    after(() => t.cleanup());

    it("a run is ended once: of two transactions ending it at the same time, one is told it did", async () => {
      const run = await t.store.writeTransaction((trx) => createDagRun(trx, { ...newRun("ends", 1), state: "running" }, TASKS));
      // On PostgreSQL the second UPDATE waits for the first's commit, then finds the run ended.
      const ended = await Promise.all([
        t.store.writeTransaction((trx) => finishDagRun(trx, run.id, "success")),
        t.store.writeTransaction((trx) => finishDagRun(trx, run.id, "failed")),
      ]);
      assert.deepEqual([...ended].sort(), [false, true]);
      const row = (await getDagRun(t.store.db, "ends", run.run_id))!;
      assert.equal(row.state, ended[0] ? "success" : "failed");
      assert.equal(await t.store.writeTransaction((trx) => finishDagRun(trx, run.id, "failed")), false);
      assert.equal((await getDagRun(t.store.db, "ends", run.run_id))!.state, row.state);
    });

    it("a run is created with one task instance per task, in one transaction", async () => {
      const run = await t.store.writeTransaction((trx) => createDagRun(trx, newRun("d1", 1), TASKS));
      assert.equal(run.state, "queued");
      assert.deepEqual(JSON.parse(run.conf!), { x: 1 });
      const tis = await listTaskInstances(t.store.db, "d1", run.run_id);
      assert.deepEqual(tis.map((x) => [x.task_id, x.state, x.max_tries, x.try_number]), [
        ["a", null, 1, 0],
        ["b", null, 1, 0],
        ["c", null, 1, 0],
        ["d", null, 1, 0],
      ]);
    });

    it("a second run with the same run id or logical date is refused, and leaves nothing behind", async () => {
      await assert.rejects(t.store.writeTransaction((trx) => createDagRun(trx, newRun("d1", 1), TASKS)), (e) => isOrchError(e, "ORCH_ALREADY_EXISTS"));
      await assert.rejects(
        t.store.writeTransaction((trx) => createDagRun(trx, { ...newRun("d1", 1), run_id: "other" }, TASKS)),
        (e) => isOrchError(e, "ORCH_ALREADY_EXISTS") && /logical date/.test((e as Error).message),
      );
      assert.equal((await listDagRuns(t.store.db, { dagId: "d1" })).length, 1);
    });

    it("the timetable continues from the latest scheduled run, not from manual ones", async () => {
      await t.store.writeTransaction((trx) => createDagRun(trx, newRun("d2", 3, "scheduled"), TASKS));
      await t.store.writeTransaction((trx) => createDagRun(trx, newRun("d2", 9, "manual"), TASKS));
      assert.equal((await lastAutomatedRun(t.store.db, "d2"))?.logical_date, new Date(Date.UTC(2024, 0, 3)).toISOString());
    });

    it("claims only scheduled task instances of running runs, by priority, within max_active_tasks", async () => {
      const run = (await getDagRun(t.store.db, "d1", generateRunId("manual", new Date(Date.UTC(2024, 0, 1)).toISOString(), "")))!;
      const tis = await listTaskInstances(t.store.db, "d1", run.run_id);
      await setTaskInstanceState(t.store.db, tis.map((x) => x.id), "scheduled", { from: [null] });
      // The run is still queued: nothing may be claimed.
      assert.deepEqual(await t.store.writeTransaction((trx) => claimScheduledTaskInstances(trx, t.store.dialect, claimOpts(10, 10)).then((c) => c.claimed)), []);
      await t.store.db.updateTable("dag_run").set({ state: "running" }).where("id", "=", run.id).execute();
      const first = await t.store.writeTransaction((trx) => claimScheduledTaskInstances(trx, t.store.dialect, claimOpts(10, 2)).then((c) => c.claimed));
      assert.deepEqual(first.map((x) => x.task_id), ["a", "b"]);
      const again = await t.store.writeTransaction((trx) => claimScheduledTaskInstances(trx, t.store.dialect, claimOpts(10, 2)).then((c) => c.claimed));
      assert.deepEqual(again, [], "two are queued already");
      const rest = await t.store.writeTransaction((trx) => claimScheduledTaskInstances(trx, t.store.dialect, claimOpts(10, 10)).then((c) => c.claimed));
      assert.deepEqual(rest.map((x) => x.task_id), ["c", "d"]);
    });

    // SQLite needs no test of this: BEGIN IMMEDIATE admits one writer per database file (and two
    // connections in one process would only block each other in the synchronous driver).
    if (dialect === "postgres") it("two claimers racing never claim the same task instance", async () => {
      const run = await t.store.writeTransaction((trx) =>
        createDagRun(trx, { ...newRun("race", 1), state: "running" }, Array.from({ length: 40 }, (_, i) => ({ task_id: `t${i}`, retries: 0, priority_weight: 1, operator: "@task" }))),
      );
      const ids = (await listTaskInstances(t.store.db, "race", run.run_id)).map((x) => x.id);
      await setTaskInstanceState(t.store.db, ids, "scheduled");
      const other = await openStore(t.url);
      try {
        const claim = (s: typeof t.store) => s.writeTransaction((trx) => claimScheduledTaskInstances(trx, s.dialect, claimOpts(5, 1000)).then((c) => c.claimed));
        const got: number[] = [];
        // SKIP LOCKED may hand a claimer fewer rows than asked while the other holds locks; keep
        // claiming until both come back empty.
        for (let round = 0; round < 40; round++) {
          const [x, y] = await Promise.all([claim(t.store), claim(other)]);
          got.push(...x.map((r) => r.id), ...y.map((r) => r.id));
          if (x.length === 0 && y.length === 0) break;
        }
        assert.equal(new Set(got).size, got.length, "a task instance was claimed twice");
        assert.equal(got.length, 40);
      } finally {
        await other.close();
      }
    });

    it("a try starts from queued only, and its end writes a history row", async () => {
      const run = await t.store.writeTransaction((trx) => createDagRun(trx, { ...newRun("tries", 1), state: "running" }, TASKS.slice(0, 1)));
      const [ti] = await listTaskInstances(t.store.db, "tries", run.run_id);
      assert.equal(await startTry(t.store.db, ti.id, { hostname: "h", pid: 1, jobId: null }), null, "not queued yet");
      await setTaskInstanceState(t.store.db, [ti.id], "queued");
      assert.equal(await startTry(t.store.db, ti.id, { hostname: "h", pid: 1, jobId: null }), 1);
      const running = (await getTaskInstanceById(t.store.db, ti.id))!;
      await t.store.writeTransaction((trx) => finishTry(trx, t.store.dialect, running, { state: "up_for_retry", reason: "boom", nextRetryAt: new Date().toISOString() }));
      const hist = await t.store.db.selectFrom("task_instance_history").selectAll().where("task_instance_id", "=", ti.id).execute();
      assert.deepEqual(hist.map((h) => [h.try_number, h.state, h.state_reason]), [[1, "up_for_retry", "boom"]]);
      // The history row copies the try as it ended (PostgreSQL writes it from the update's returned row).
      const ended = (await getTaskInstanceById(t.store.db, ti.id))!;
      const h = hist[0]!;
      assert.deepEqual(
        [h.dag_id, h.run_id, h.task_id, h.map_index, h.max_tries, h.hostname, h.pid, h.operator, h.start_date, h.end_date, h.duration, h.interrupted],
        [ended.dag_id, ended.run_id, "a", -1, ended.max_tries, "h", 1, "@task", running.start_date, ended.end_date, ended.duration, 0],
      );
      assert.ok(h.end_date && h.duration !== null, "the end and duration are recorded");
      // Cleared: state none and a full set of retries again.
      await clearTaskInstances(t.store.db, [{ id: ti.id, retries: 3 }]);
      const cleared = (await getTaskInstanceById(t.store.db, ti.id))!;
      assert.equal(cleared.state, null);
      assert.equal(cleared.max_tries, 4);
    });

    // PostgreSQL's data-modifying CTEs only: SQLite's hand-off writes the same in a transaction.
    if (dialect === "postgres") it("a success and the next try's start in one statement: finish, history, XComs, start; each guarded on its own", async () => {
      const run = await t.store.writeTransaction((trx) => createDagRun(trx, { ...newRun("one_stmt", 1), state: "running" }, TASKS.slice(0, 3)));
      const [a, b, c] = await listTaskInstances(t.store.db, "one_stmt", run.run_id);
      await setTaskInstanceState(t.store.db, [a!.id, b!.id], "queued");
      await startTry(t.store.db, a!.id, { hostname: "h", pid: 1, jobId: null });
      const running = (await getTaskInstanceById(t.store.db, a!.id))!;
      const ref = { dagRunId: run.id, dagId: "one_stmt", runId: run.run_id };
      await setXcoms(t.store.db, ref, "a", -1, [{ key: "return_value", value: "old" }]);
      const next = { hostname: "h2", pid: 2, jobId: null };
      // Two pushes of one key: the last wins (a second row of one key would fail the upsert).
      const entries = [{ key: "return_value", value: { n: 1, q: `"quoted" \\ {braces}, é` } }, { key: "k", value: 1 }, { key: "k", value: [2, null] }];
      const r = await finishSuccessAndStart(t.store.db, running, { dagRunId: run.id, entries }, { id: b!.id, ...next });
      assert.deepEqual(r, { finished: true, tryNumber: 1 });
      const [ea, eb] = [(await getTaskInstanceById(t.store.db, a!.id))!, (await getTaskInstanceById(t.store.db, b!.id))!];
      assert.deepEqual([ea.state, ea.try_number, ea.end_date !== null, ea.duration !== null], ["success", 1, true, true]);
      assert.deepEqual([eb.state, eb.try_number, eb.hostname, eb.pid, eb.start_date !== null], ["running", 1, "h2", 2, true]);
      const hist = await t.store.db.selectFrom("task_instance_history").selectAll().where("task_instance_id", "=", a!.id).execute();
      assert.deepEqual(hist.map((h) => [h.try_number, h.state, h.end_date, h.interrupted]), [[1, "success", ea.end_date, 0]]);
      const xs = await listRunXcoms(t.store.db, run.id);
      assert.deepEqual(xs.map((x) => [x.task_id, x.map_index, x.key, x.value]).sort(), [
        ["a", -1, "k", [2, null]],
        ["a", -1, "return_value", { n: 1, q: `"quoted" \\ {braces}, é` }],
      ]);
      // The finished row has moved on (here: already success): no XCom is written, the next try still starts.
      await setTaskInstanceState(t.store.db, [c!.id], "queued");
      const again = await finishSuccessAndStart(t.store.db, running, { dagRunId: run.id, entries: [{ key: "late", value: 1 }] }, { id: c!.id, ...next });
      assert.deepEqual(again, { finished: false, tryNumber: 1 });
      assert.equal((await listRunXcoms(t.store.db, run.id)).some((x) => x.key === "late"), false);
      assert.equal((await getTaskInstanceById(t.store.db, c!.id))!.state, "running");
      // The next row not queued (started above): not started again; no XComs at all is fine.
      const runningB = (await getTaskInstanceById(t.store.db, b!.id))!;
      assert.deepEqual(await finishSuccessAndStart(t.store.db, runningB, { dagRunId: run.id, entries: [] }, { id: c!.id, ...next }), { finished: true, tryNumber: null });
      assert.equal((await getTaskInstanceById(t.store.db, b!.id))!.state, "success");
      // No next try (the outcome's transaction uses it so): the success and its XComs alone.
      const runningC = (await getTaskInstanceById(t.store.db, c!.id))!;
      assert.deepEqual(await t.store.writeTransaction((trx) => finishSuccessAndStart(trx, runningC, { dagRunId: run.id, entries: [{ key: "return_value", value: "c" }] }, undefined)), { finished: true, tryNumber: null });
      assert.equal((await getTaskInstanceById(t.store.db, c!.id))!.state, "success");
      assert.deepEqual((await listRunXcoms(t.store.db, run.id)).filter((x) => x.task_id === "c").map((x) => x.value), ["c"]);
    });

    it("XComs are JSON text per run, task and key; setting one again replaces it", async () => {
      const run = await t.store.writeTransaction((trx) => createDagRun(trx, newRun("x", 1), TASKS.slice(0, 1)));
      const ref = { dagRunId: run.id, dagId: "x", runId: run.run_id };
      await setXcoms(t.store.db, ref, "a", -1, [{ key: "return_value", value: { n: 1, s: "é" } }, { key: "other", value: [1, null] }]);
      await setXcoms(t.store.db, ref, "a", -1, [{ key: "return_value", value: 2 }]);
      const xs = await listRunXcoms(t.store.db, run.id);
      assert.deepEqual(
        xs.map((x) => [x.task_id, x.key, x.value]).sort(),
        [
          ["a", "other", [1, null]],
          ["a", "return_value", 2],
        ],
      );
    });

    it("one call with a key twice keeps the last value, and 450 keys (three upsert slices) all land", async () => {
      const run = await t.store.writeTransaction((trx) => createDagRun(trx, newRun("x", 2), TASKS.slice(0, 1)));
      const ref = { dagRunId: run.id, dagId: "x", runId: run.run_id };
      await setXcoms(t.store.db, ref, "a", 3, [{ key: "k", value: 1 }, { key: "k", value: "last" }]);
      const many = Array.from({ length: 450 }, (_, i) => ({ key: `m${i}`, value: i }));
      await setXcoms(t.store.db, ref, "a", 3, many);
      await setXcoms(t.store.db, ref, "a", 3, [{ key: "m449", value: "again" }]);
      const xs = new Map((await listRunXcoms(t.store.db, run.id)).map((x) => [x.key, x.value]));
      assert.equal(xs.size, 451);
      assert.equal(xs.get("k"), "last");
      assert.equal(xs.get("m0"), 0);
      assert.equal(xs.get("m448"), 448);
      assert.equal(xs.get("m449"), "again");
    });
  });
}

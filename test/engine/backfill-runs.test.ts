// A backfill worked through by the in-process scheduler with real workers, on both dialects: its
// runs start one after another as slots free (a finished run wakes the scheduler; no poll is
// waited for: the safety poll is an hour here), in sort order, on a paused DAG (as in Airflow 3),
// and the backfill completes.
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { loadConfig } from "../../src/config.ts";
import { createDagProcessor } from "../../src/dag-processing/processor.ts";
import { createLocalExecutor } from "../../src/executor/local-executor.ts";
import { createBackfill, loadRunGate } from "../../src/scheduler/backfill.ts";
import { toSchedulable } from "../../src/scheduler/dag-bag.ts";
import { createScheduler } from "../../src/scheduler/scheduler.ts";
import type { SerializedDag } from "../../src/serialization/serialized-dag.ts";
import { getBackfill, listBackfillDagRuns } from "../../src/store/backfills.ts";
import { listRunsToSchedule } from "../../src/store/dag-runs.ts";
import { assertNoLeakedProcesses } from "../helpers/leaks.ts";
import { dialectSkipReason, freshStore, testDialects, type TestStore } from "../helpers/store.ts";

const DAG = `import { dag, task } from "orch";
export default dag({ dag_id: "bf_chain", schedule: "@daily", start_date: "2024-01-01", is_paused_upon_creation: true }, () => {
  const a = task({ task_id: "a" }, async () => 1);
  const b = task({ task_id: "b" }, async () => 2);
  a().then(b());
});
`;

// Tries of 20 ms, three runs at a time, one worker: the worker stays busy and the next try is
// claimed ahead, then started by the statement that ends the one before (PostgreSQL) or in its
// outcome's transaction (SQLite). Each task's value comes from its upstream's XCom.
const XCOM_CHAIN = `import { dag, task } from "orch";
const nap = () => new Promise((r) => setTimeout(r, 20));
export default dag({ dag_id: "bf_xcom", schedule: "@daily", start_date: "2024-01-01", is_paused_upon_creation: true }, () => {
  const a = task({ task_id: "a" }, async (ctx) => { await nap(); return { day: ctx.ds }; });
  const b = task({ task_id: "b" }, async (x: { day: string }) => { await nap(); return x.day + "/b"; });
  const c = task({ task_id: "c" }, async (y: string) => { await nap(); return y + "/c"; });
  c(b(a()));
});
`;

for (const dialect of testDialects()) {
  describe(`${dialect}: a backfill through the scheduler`, { skip: await dialectSkipReason(dialect) }, () => {
    let s: TestStore;
    before(async () => {
      s = await freshStore(dialect, "backfill-runs");
      mkdirSync(join(s.home, "dags"), { recursive: true });
      writeFileSync(join(s.home, "dags", "chain.ts"), DAG);
      writeFileSync(join(s.home, "dags", "xcom.ts"), XCOM_CHAIN);
      const processor = createDagProcessor({ store: s.store, dagsFolder: join(s.home, "dags"), home: s.home, importTimeoutSeconds: 60 });
      await processor.processAll();
      await processor.stop();
    });
    after(async () => {
      await assertNoLeakedProcesses(s.home);
      await s.cleanup();
    });

    it("starts each run as the one before ends (max_active_runs 1, newest first), without waiting for a poll, and completes", async () => {
      const row = await s.store.db.selectFrom("serialized_dag").selectAll().where("dag_id", "=", "bf_chain").executeTakeFirstOrThrow();
      const d = toSchedulable(JSON.parse(row.data) as SerializedDag, row.dag_hash, row.fileloc);
      const b = await createBackfill(s.store, d, { fromDate: new Date("2024-01-01T00:00:00Z"), toDate: new Date("2024-01-06T00:00:00Z"), maxActiveRuns: 1, runBackwards: true });
      assert.equal(b.created, 6);

      // A step lists none of the backfill's queued runs; its gate reads the one it may start.
      const listed = await listRunsToSchedule(s.store.db);
      assert.equal(listed.filter((r) => r.backfill_id === b.backfill.id).length, 0);
      const gate = await loadRunGate(s.store.db, listed);
      assert.deepEqual(gate.backfillRuns.map((r) => r.logical_date!.slice(0, 10)), ["2024-01-06"]);

      // An hour between safety polls and heartbeats: only the scheduler's own wake-ups move the backfill.
      const env = { ...process.env, ORCH_HOME: s.home, ORCH__SCHEDULER__SAFETY_POLL_INTERVAL: "3600", ORCH__SCHEDULER__SCHEDULER_HEARTBEAT_SEC: "3600" };
      const executor = createLocalExecutor({ parallelism: 1, env });
      const finished: string[] = [];
      let allDone!: () => void;
      const done = new Promise<void>((r) => (allDone = r));
      const scheduler = createScheduler({
        store: s.store,
        config: loadConfig(env),
        executor,
        log: () => {},
        onRunFinished: (r) => {
          finished.push(r.run_id);
          if (finished.length === 6) allDone();
        },
      });
      await scheduler.start();
      try {
        // Bounded only so that a lost wake-up fails here rather than at the suite's timeout.
        let t: NodeJS.Timeout | undefined;
        const stuck = new Promise<never>((_, reject) => (t = setTimeout(() => reject(new Error(`stuck after ${finished.length} of 6 runs: nothing woke the scheduler`)), 120_000)));
        await Promise.race([done, stuck]).finally(() => clearTimeout(t));
        // The step after the last run's end marks the backfill complete.
        await scheduler.idle();
      } finally {
        await scheduler.stop();
      }

      const entries = await listBackfillDagRuns(s.store.db, b.backfill.id);
      const runs = await s.store.db.selectFrom("dag_run").selectAll().where("backfill_id", "=", b.backfill.id).orderBy("start_date").execute();
      assert.deepEqual(runs.map((r) => r.state), Array(6).fill("success"));
      // Started in sort order (newest first), each after the one before ended.
      assert.deepEqual(runs.map((r) => r.logical_date), entries.map((e) => e.logical_date));
      assert.deepEqual(runs.map((r) => r.logical_date!.slice(0, 10)), ["2024-01-06", "2024-01-05", "2024-01-04", "2024-01-03", "2024-01-02", "2024-01-01"]);
      for (let i = 1; i < runs.length; i++) assert.ok(runs[i]!.start_date! >= runs[i - 1]!.end_date!, `run ${runs[i]!.run_id} started before ${runs[i - 1]!.run_id} ended`);
      assert.deepEqual(finished, runs.map((r) => r.run_id));
      assert.ok((await getBackfill(s.store.db, b.backfill.id))!.completed_at, "the backfill is completed");
    });

    it("with the worker busy, tries claimed ahead start as the one before ends; every value reaches its downstream, one try each", async () => {
      const row = await s.store.db.selectFrom("serialized_dag").selectAll().where("dag_id", "=", "bf_xcom").executeTakeFirstOrThrow();
      const d = toSchedulable(JSON.parse(row.data) as SerializedDag, row.dag_hash, row.fileloc);
      const b = await createBackfill(s.store, d, { fromDate: new Date("2024-02-01T00:00:00Z"), toDate: new Date("2024-02-06T00:00:00Z"), maxActiveRuns: 3 });
      assert.equal(b.created, 6);
      const env = { ...process.env, ORCH_HOME: s.home };
      const executor = createLocalExecutor({ parallelism: 1, env });
      let left = 6;
      let allDone!: () => void;
      const done = new Promise<void>((r) => (allDone = r));
      const scheduler = createScheduler({ store: s.store, config: loadConfig(env), executor, log: () => {}, onRunFinished: (r) => r.dag_id === "bf_xcom" && --left === 0 && allDone() });
      await scheduler.start();
      try {
        let t: NodeJS.Timeout | undefined;
        const stuck = new Promise<never>((_, reject) => (t = setTimeout(() => reject(new Error(`stuck with ${left} of 6 runs left`)), 120_000)));
        await Promise.race([done, stuck]).finally(() => clearTimeout(t));
        await scheduler.idle();
      } finally {
        await scheduler.stop();
      }
      const runs = await s.store.db.selectFrom("dag_run").selectAll().where("backfill_id", "=", b.backfill.id).orderBy("logical_date").execute();
      assert.deepEqual(runs.map((r) => r.state), Array(6).fill("success"));
      const tis = await s.store.db.selectFrom("task_instance").selectAll().where("dag_id", "=", "bf_xcom").execute();
      assert.equal(tis.length, 18);
      for (const ti of tis) assert.deepEqual([ti.state, ti.try_number, ti.end_date !== null], ["success", 1, true], `${ti.run_id} ${ti.task_id}`);
      // One history row per try, as it ended.
      const hist = await s.store.db.selectFrom("task_instance_history").select(["task_instance_id", "state", "end_date"]).where("dag_id", "=", "bf_xcom").execute();
      assert.deepEqual(hist.map((h) => [h.task_instance_id, h.state, h.end_date]).sort(), tis.map((ti) => [ti.id, "success", ti.end_date]).sort());
      const xcoms = await s.store.db.selectFrom("xcom").select(["run_id", "task_id", "value"]).where("dag_id", "=", "bf_xcom").where("task_id", "=", "c").execute();
      const byRun = new Map(runs.map((r) => [r.run_id, r.logical_date!.slice(0, 10)]));
      assert.deepEqual(xcoms.map((x) => [x.run_id, JSON.parse(x.value)]).sort(), runs.map((r) => [r.run_id, `${byRun.get(r.run_id)}/b/c`]).sort());
      // Each try waited for its upstream: a task started no earlier than its upstream ended.
      const at = (runId: string, taskId: string) => tis.find((t) => t.run_id === runId && t.task_id === taskId)!;
      for (const r of runs) {
        assert.ok(at(r.run_id, "b").start_date! >= at(r.run_id, "a").end_date!, `${r.run_id}: b before a ended`);
        assert.ok(at(r.run_id, "c").start_date! >= at(r.run_id, "b").end_date!, `${r.run_id}: c before b ended`);
      }
    });
  });
}

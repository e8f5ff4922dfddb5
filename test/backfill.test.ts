// Backfills in the store, on both dialects: Airflow 3's candidate and reprocess rules (restated from
// airflow-core/tests/unit/models/test_backfill.py), the refusals, dry run, cancel, and the
// scheduler's gate (the backfill's own max_active_runs, sort order, pause, completion).
import assert from "node:assert/strict";
import { after, before, beforeEach, describe, it } from "node:test";
import { serializeDag } from "../src/dag-processing/serialize.ts";
import { isOrchError, type OrchErrorCode } from "../src/errors.ts";
import { toSchedulable, type SchedulableDag } from "../src/scheduler/dag-bag.ts";
import { cancelBackfill, createBackfill, decideDate, loadRunGate, planBackfill, type BackfillRequest } from "../src/scheduler/backfill.ts";
import { triggerDagRun } from "../src/scheduler/run-creation.ts";
import { Asset, CronDataIntervalTimetable, dag, Param, task } from "../src/sdk/index.ts";
import { backfillProgress, getBackfill, listBackfillDagRuns, type ReprocessBehavior } from "../src/store/backfills.ts";
import { listActiveDagRuns, listRunsToSchedule } from "../src/store/dag-runs.ts";
import { dagHash, upsertDag, upsertSerializedDag } from "../src/store/dags.ts";
import type { Store } from "../src/store/index.ts";
import { dialectSkipReason, freshStore, testDialects, type TestStore } from "./helpers/store.ts";

type Schedule = Parameters<typeof dag>[0]["schedule"];

async function addDag(store: Store, dagId: string, schedule: Schedule, extra: Partial<Parameters<typeof dag>[0]> = {}): Promise<SchedulableDag> {
  const d = dag({ dag_id: dagId, schedule, start_date: "2020-01-01", ...extra }, () => {
    const a = task({ task_id: "a", retries: 2 }, async () => 1);
    const b = task({ task_id: "b" }, async () => 2);
    a().then(b());
  });
  const s = serializeDag(d, { fileloc: `/dags/${dagId}.ts`, relative_fileloc: `${dagId}.ts` });
  const now = new Date().toISOString();
  await upsertSerializedDag(store.db, s, "hash", now);
  await upsertDag(store.db, s, { now, pausedByDefault: true, hasImportErrors: false });
  return toSchedulable(s, dagHash(JSON.stringify(s)), s.fileloc);
}

const at = (s: string) => new Date(`${s}T00:00:00Z`);
const day = (iso: string | null) => iso!.slice(0, 10);

async function runOn(store: Store, d: SchedulableDag, date: string, state: string): Promise<void> {
  const run = await triggerDagRun(store, d, { logicalDate: at(date), runId: `scheduled__${date}`, runType: "scheduled", triggeredBy: "timetable" });
  await store.db.updateTable("dag_run").set({ state, start_date: `${date}T00:01:00.000Z` }).where("id", "=", run.id).execute();
  const tiState = state === "queued" ? null : state;
  await store.db.updateTable("task_instance").set({ state: tiState, try_number: tiState ? 1 : 0 }).where("run_id", "=", run.run_id).where("dag_id", "=", d.dag.dag_id).execute();
}

async function expectRefusal(p: Promise<unknown>, code: OrchErrorCode, message: RegExp): Promise<void> {
  await assert.rejects(p, (e) => isOrchError(e, code) && message.test(e.message));
}

// Airflow's test_reprocess_behavior: 2021-01-03..09 with a success on 05, a failure on 06, a run in
// flight on 07, and another DAG's success on 06 that must not count.
const REPROCESS_CASES: { behavior: ReprocessBehavior; runs: string[]; reasons: Record<string, string> }[] = [
  { behavior: "none", runs: ["2021-01-03", "2021-01-04", "2021-01-08", "2021-01-09"], reasons: { "2021-01-05": "already exists", "2021-01-06": "already exists", "2021-01-07": "in flight" } },
  { behavior: "failed", runs: ["2021-01-03", "2021-01-04", "2021-01-06", "2021-01-08", "2021-01-09"], reasons: { "2021-01-05": "already exists", "2021-01-07": "in flight" } },
  { behavior: "completed", runs: ["2021-01-03", "2021-01-04", "2021-01-05", "2021-01-06", "2021-01-08", "2021-01-09"], reasons: { "2021-01-07": "in flight" } },
];

describe("decideDate (Airflow's _get_dag_run_no_create_reason)", () => {
  const table: [string | undefined, ReprocessBehavior, string][] = [
    [undefined, "none", "create"],
    ["queued", "completed", "skip: in flight"],
    ["running", "failed", "skip: in flight"],
    ["success", "none", "skip: already exists"],
    ["failed", "none", "skip: already exists"],
    ["success", "failed", "skip: already exists"],
    ["failed", "failed", "clear"],
    ["success", "completed", "clear"],
    ["failed", "completed", "clear"],
  ];
  for (const [state, behavior, want] of table) {
    it(`${state ?? "no run"} + ${behavior} -> ${want}`, () => {
      const d = decideDate(state ? { state } : undefined, behavior);
      assert.equal(d.action === "skip" ? `skip: ${d.reason}` : d.action, want);
    });
  }
});

for (const dialect of testDialects()) {
  describe(`${dialect}: backfill`, { skip: await dialectSkipReason(dialect) }, () => {
    let s: TestStore;
    let n = 0;
    const now = new Date("2021-02-01T00:00:00Z");
    before(async () => {
      s = await freshStore(dialect, "backfill");
    });
    after(() => s.cleanup());
    let d: SchedulableDag;
    beforeEach(async () => {
      d = await addDag(s.store, `bf_${++n}`, "@daily");
    });
    const req = (from: string, to: string, o: Partial<BackfillRequest> = {}): BackfillRequest => ({ fromDate: at(from), toDate: at(to), now, ...o });

    for (const c of REPROCESS_CASES) {
      it(`reprocess ${c.behavior}: existing success, failed and running runs; another DAG's run ignored`, async () => {
        const noise = await addDag(s.store, `noise_${n}`, "@daily");
        await runOn(s.store, noise, "2021-01-06", "success");
        await runOn(s.store, d, "2021-01-05", "success");
        await runOn(s.store, d, "2021-01-06", "failed");
        await runOn(s.store, d, "2021-01-07", "running");
        const r = await createBackfill(s.store, d, req("2021-01-03", "2021-01-09", { reprocessBehavior: c.behavior, maxActiveRuns: 2 }));
        const entries = await listBackfillDagRuns(s.store.db, r.backfill.id);
        assert.deepEqual(entries.filter((e) => e.dag_run_id !== null).map((e) => day(e.logical_date)), c.runs);
        assert.deepEqual(Object.fromEntries(entries.filter((e) => e.exception_reason).map((e) => [day(e.logical_date), e.exception_reason])), c.reasons);
        assert.deepEqual(entries.map((e) => e.sort_ordinal), [1, 2, 3, 4, 5, 6, 7]);
        const runs = await s.store.db.selectFrom("dag_run").selectAll().where("backfill_id", "=", r.backfill.id).orderBy("logical_date").execute();
        assert.deepEqual(runs.map((x) => day(x.logical_date)), c.runs);
        assert.ok(runs.every((x) => x.state === "queued" && x.run_type === "backfill" && x.triggered_by === "backfill" && x.dag_id === d.dag.dag_id), "expected runs.every((x) => x.state === \"queued\" && x.run_type === \"backfill\" && x.triggered_by === \"backfill\" && x.dag_id === d.dag.dag_id)");
        // A re-queued run keeps its run id; its task instances are cleared with their retries renewed.
        for (const x of runs.filter((x) => x.run_id.startsWith("scheduled__"))) {
          const tis = await s.store.db.selectFrom("task_instance").selectAll().where("run_id", "=", x.run_id).where("dag_id", "=", d.dag.dag_id).execute();
          assert.ok(tis.every((t) => t.state === null), `${x.run_id} cleared`);
          assert.equal(tis.find((t) => t.task_id === "a")!.max_tries, 1 + 2);
          assert.equal(x.clear_number, 1);
        }
        const noiseRun = await s.store.db.selectFrom("dag_run").selectAll().where("dag_id", "=", noise.dag.dag_id).executeTakeFirstOrThrow();
        assert.equal(noiseRun.state, "success");
        assert.equal(noiseRun.backfill_id, null);
        await s.store.db.updateTable("backfill").set({ completed_at: now.toISOString() }).where("id", "=", r.backfill.id).execute();
      });
    }

    it("both ends are included; new runs carry conf, run ids and task instances", async () => {
      const r = await createBackfill(s.store, d, req("2021-01-01", "2021-01-05", { dagRunConf: { param1: "valABC" } }));
      const runs = await s.store.db.selectFrom("dag_run").selectAll().where("backfill_id", "=", r.backfill.id).orderBy("logical_date").execute();
      assert.deepEqual(runs.map((x) => day(x.logical_date)), ["2021-01-01", "2021-01-02", "2021-01-03", "2021-01-04", "2021-01-05"]);
      assert.equal(runs[0]!.run_id, "backfill__2021-01-01T00:00:00+00:00");
      assert.ok(runs.every((x) => JSON.parse(x.conf!).param1 === "valABC"), "expected runs.every((x) => JSON.parse(x.conf!).param1 === \"valABC\")");
      const tis = await s.store.db.selectFrom("task_instance").select(["run_id", "task_id", "max_tries", "state"]).where("dag_id", "=", d.dag.dag_id).execute();
      assert.equal(tis.length, 10);
      assert.ok(tis.every((t) => t.state === null), "expected tis.every((t) => t.state === null)");
      const b = (await getBackfill(s.store.db, r.backfill.id))!;
      assert.deepEqual([b.max_active_runs, b.reprocess_behavior, JSON.parse(b.dag_run_conf).param1, b.completed_at], [10, "none", "valABC", null]);
    });

    it("a second active backfill for the DAG is refused; another DAG's is not", async () => {
      await createBackfill(s.store, d, req("2021-01-01", "2021-01-02"));
      await expectRefusal(createBackfill(s.store, d, req("2021-01-10", "2021-01-12")), "ORCH_BACKFILL_ALREADY_RUNNING", /Another backfill is running for Dag bf_\d+\. There can be only one running backfill per Dag\./);
      const other = await addDag(s.store, `other_${n}`, "@daily");
      assert.equal((await createBackfill(s.store, other, req("2021-01-10", "2021-01-12"))).created, 3);
    });

    it("the interval that has not ended is left out (data-interval timetable)", async () => {
      const di = await addDag(s.store, `di_${n}`, CronDataIntervalTimetable("0 0 * * *"));
      const mid = new Date("2021-01-08T12:00:00Z");
      const plan = await planBackfill(s.store.db, di, { fromDate: at("2021-01-05"), toDate: at("2021-01-08"), now: mid });
      // 01-08's interval [01-08, 01-09) ends tomorrow.
      assert.deepEqual(plan.map((p) => day(p.logicalDate)), ["2021-01-05", "2021-01-06", "2021-01-07"]);
      const trig = await planBackfill(s.store.db, d, { fromDate: at("2021-01-05"), toDate: at("2021-01-09"), now: mid });
      assert.deepEqual(trig.map((p) => day(p.logicalDate)), ["2021-01-05", "2021-01-06", "2021-01-07", "2021-01-08"], "01-09 is still in the future");
    });

    it("refusals: dates, schedules, conf, empty windows", async () => {
      await expectRefusal(createBackfill(s.store, d, req("2021-01-05", "2021-01-01")), "ORCH_BACKFILL_INVALID_DATES", /^from_date \(2021-01-05T00:00:00\+00:00\) must not be after to_date \(2021-01-01T00:00:00\+00:00\)\.$/);
      await expectRefusal(createBackfill(s.store, d, req("2021-03-01", "2021-03-05")), "ORCH_BACKFILL_INVALID_DATES", /^Backfill cannot be executed for future dates\.$/);
      for (const [label, schedule] of [["null", null], ["once", "@once"], ["asset", [Asset("s3://taxi/raw")]]] as const) {
        const np = await addDag(s.store, `np_${label}_${n}`, schedule);
        await expectRefusal(createBackfill(s.store, np, req("2021-01-01", "2021-01-02")), "ORCH_BACKFILL_NON_PERIODIC", /has a non-periodic schedule that does not support backfills/);
      }
      const monthly = await addDag(s.store, `monthly_${n}`, "@monthly");
      await expectRefusal(createBackfill(s.store, monthly, req("2021-01-02", "2021-01-20")), "ORCH_BACKFILL_NO_RUNS", /^No runs to create for Dag monthly_\d+$/);
      const p = await addDag(s.store, `params_${n}`, "@daily", { params: { month: Param(1, { type: "integer", minimum: 1, maximum: 12 }) } });
      await expectRefusal(createBackfill(s.store, p, req("2021-01-01", "2021-01-02", { dagRunConf: { month: 13 } })), "ORCH_PARAMS_INVALID", /month/);
      await expectRefusal(createBackfill(s.store, d, req("2021-01-01", "2021-01-02", { maxActiveRuns: 0 })), "ORCH_USAGE", /--max-active-runs/);
      const left = await s.store.db.selectFrom("backfill").select("id").where("dag_id", "in", [d.dag.dag_id, monthly.dag.dag_id, p.dag.dag_id]).execute();
      assert.equal(left.length, 0, "a refused backfill leaves no row");
    });

    it("a dry run reports each date and writes nothing", async () => {
      await runOn(s.store, d, "2021-01-02", "failed");
      const count = async () => {
        const q = (t: "dag_run" | "task_instance" | "backfill" | "backfill_dag_run") => s.store.db.selectFrom(t).select((eb) => eb.fn.countAll<number>().as("c")).executeTakeFirstOrThrow();
        return Promise.all([q("dag_run"), q("task_instance"), q("backfill"), q("backfill_dag_run")]).then((r) => r.map((x) => Number(x.c)));
      };
      const before = await count();
      const plan = await planBackfill(s.store.db, d, req("2021-01-01", "2021-01-03", { reprocessBehavior: "failed", runBackwards: true }));
      assert.deepEqual(plan.map((p) => [day(p.logicalDate), p.sortOrdinal, p.decision.action]), [["2021-01-03", 1, "create"], ["2021-01-02", 2, "clear"], ["2021-01-01", 3, "create"]]);
      assert.deepEqual(await count(), before);
    });

    it("runs backwards: newest date first in sort order, and the gate starts them in that order", async () => {
      const r = await createBackfill(s.store, d, req("2021-01-01", "2021-01-05", { runBackwards: true, maxActiveRuns: 2 }));
      const entries = await listBackfillDagRuns(s.store.db, r.backfill.id);
      assert.deepEqual(entries.map((e) => day(e.logical_date)), ["2021-01-05", "2021-01-04", "2021-01-03", "2021-01-02", "2021-01-01"]);
      const runs = (await listActiveDagRuns(s.store.db)).filter((x) => x.backfill_id === r.backfill.id);
      const gate = await loadRunGate(s.store.db, runs);
      // The DAG's own max_active_runs (16) does not matter: the backfill's 2 does.
      const admitted = runs.filter((x) => gate.admit(x, 16)).map((x) => day(x.logical_date));
      assert.deepEqual(admitted.sort(), ["2021-01-04", "2021-01-05"]);
      // A scheduler step lists none of the backfill's queued runs: the gate reads the ones it admits, in sort order.
      const ours = (rs: readonly { backfill_id: number | null; logical_date: string | null }[]) => rs.filter((x) => x.backfill_id === r.backfill.id).map((x) => day(x.logical_date));
      const listed = await listRunsToSchedule(s.store.db);
      assert.deepEqual(ours(listed), []);
      assert.deepEqual(ours((await loadRunGate(s.store.db, listed)).backfillRuns), ["2021-01-05", "2021-01-04"]);
      // One running counts against the limit: one more is admitted.
      await s.store.db.updateTable("dag_run").set({ state: "running" }).where("run_id", "=", "backfill__2021-01-05T00:00:00+00:00").where("dag_id", "=", d.dag.dag_id).execute();
      const runs2 = (await listActiveDagRuns(s.store.db)).filter((x) => x.backfill_id === r.backfill.id);
      const gate2 = await loadRunGate(s.store.db, runs2);
      assert.deepEqual(runs2.filter((x) => x.state === "queued" && gate2.admit(x, 1)).map((x) => day(x.logical_date)), ["2021-01-04"]);
      const listed2 = await listRunsToSchedule(s.store.db);
      assert.deepEqual(ours(listed2), ["2021-01-05"]);
      assert.deepEqual(ours((await loadRunGate(s.store.db, listed2)).backfillRuns), ["2021-01-04"]);
      // A backfill's runs do not use up the DAG's max_active_runs for its other runs.
      const manual = await triggerDagRun(s.store, d, { logicalDate: at("2021-01-20") });
      const gate3 = await loadRunGate(s.store.db, await listActiveDagRuns(s.store.db));
      assert.equal(gate3.admit(manual, 1), true);
      // The DAG is paused: a step leaves its manual run out, but not its backfill's running run.
      const listedIds = async () => (await listRunsToSchedule(s.store.db)).filter((x) => x.dag_id === d.dag.dag_id).map((x) => x.id);
      assert.deepEqual(await listedIds(), runs2.filter((x) => x.state === "running").map((x) => x.id));
      await s.store.db.updateTable("dag").set({ is_paused: 0 }).where("dag_id", "=", d.dag.dag_id).execute();
      assert.ok((await listedIds()).includes(manual.id), "an unpaused DAG's queued manual run is listed");
      // Paused: nothing new starts.
      await s.store.db.updateTable("backfill").set({ is_paused: 1 }).where("id", "=", r.backfill.id).execute();
      const gate4 = await loadRunGate(s.store.db, runs2);
      assert.equal(runs2.filter((x) => x.state === "queued" && gate4.admit(x, 16)).length, 0);
      assert.deepEqual(ours(gate4.backfillRuns), []);
    });

    it("cancel: queued runs end failed, running ones are left to finish, the backfill is paused and completed", async () => {
      const r = await createBackfill(s.store, d, req("2021-01-01", "2021-01-04"));
      await s.store.db.updateTable("dag_run").set({ state: "running" }).where("run_id", "=", "backfill__2021-01-01T00:00:00+00:00").where("dag_id", "=", d.dag.dag_id).execute();
      const c = await cancelBackfill(s.store, r.backfill.id);
      assert.equal(c.failedQueued, 3);
      assert.equal(c.backfill.is_paused, 1);
      assert.ok(c.backfill.completed_at, "expected c.backfill.completed_at");
      const p = await backfillProgress(s.store.db, r.backfill.id);
      assert.deepEqual([p.failed, p.running, p.queued], [3, 1, 0]);
      await assert.rejects(cancelBackfill(s.store, r.backfill.id), /already completed/);
      // Completed, so a new backfill of the DAG may start.
      assert.equal((await createBackfill(s.store, d, req("2021-01-10", "2021-01-10"))).created, 1);
    });

    it("a backfill is complete when none of its runs is queued or running; all-skipped completes at once", async () => {
      const r = await createBackfill(s.store, d, req("2021-01-01", "2021-01-02"));
      await s.store.db.updateTable("dag_run").set({ state: "success" }).where("backfill_id", "=", r.backfill.id).execute();
      await loadRunGate(s.store.db, []);
      assert.ok((await getBackfill(s.store.db, r.backfill.id))!.completed_at, "expected (await getBackfill(s.store.db, r.backfill.id))!.completed_at");
      const again = await createBackfill(s.store, d, req("2021-01-01", "2021-01-02"));
      assert.deepEqual([again.created, again.skipped], [0, 2]);
      assert.ok(again.backfill.completed_at, "expected again.backfill.completed_at");
    });

    it("3,650 daily runs are created in one transaction", async () => {
      const big = await addDag(s.store, `big_${n}`, "@daily", { start_date: "2000-01-01" });
      const r = await createBackfill(s.store, big, { fromDate: at("2000-01-01"), toDate: at("2009-12-28"), now });
      assert.equal(r.created, 3650);
      const p = await backfillProgress(s.store.db, r.backfill.id);
      assert.deepEqual([p.total, p.queued], [3650, 3650]);
    });
  });
}

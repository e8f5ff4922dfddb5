// The trigger table's claim and the batch that records fires and failures, on both dialects:
// each deferred task instance resumes once with its own event, only the owner records, a task
// that left `deferred` stays put, and a scoped claim (`orch dags test`) takes only its run's.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { createDagRun, generateRunId } from "../../src/store/dag-runs.ts";
import { startJob } from "../../src/store/jobs.ts";
import { listTaskInstances } from "../../src/store/task-instances.ts";
import { claimTriggers, deferTry, listTriggers, recordTriggerOutcomes, type TriggerOutcome } from "../../src/store/triggers.ts";
import type { TaskInstanceRow } from "../../src/store/schema.ts";
import { dialectSkipReason, freshStore, testDialects, type TestStore } from "../helpers/store.ts";

const FAR = new Date(Date.UTC(2099, 0, 1)).toISOString();

/** A running run of `n` tasks, each deferred on its own date-time trigger (methodKwargs { i }). */
async function deferredRun(t: TestStore, dagId: string, n: number, timeoutAt: string | null = null): Promise<{ run_id: string; tis: TaskInstanceRow[]; triggers: number[] }> {
  const logical = new Date(Date.UTC(2024, 0, 1)).toISOString();
  const seeds = Array.from({ length: n }, (_, i) => ({ task_id: `t${i}`, retries: 0, priority_weight: 1, operator: "@task" }));
  const run = await t.store.writeTransaction((trx) =>
    createDagRun(
      trx,
      { dag_id: dagId, run_id: generateRunId("manual", logical, logical), run_type: "manual", logical_date: logical, data_interval_start: logical, data_interval_end: logical, run_after: logical, conf: {}, triggered_by: "test", state: "running" },
      seeds,
    ),
  );
  await t.store.db.updateTable("task_instance").set({ state: "running", try_number: 1 }).where("dag_id", "=", dagId).execute();
  const tis = await listTaskInstances(t.store.db, dagId, run.run_id);
  const triggers: number[] = [];
  await t.store.writeTransaction(async (trx) => {
    for (const [i, ti] of tis.entries()) {
      const id = await deferTry(trx, ti, { classpath: "orch.triggers.DateTimeTrigger", kwargs: { moment: FAR }, method: "execute_complete", methodKwargs: { i }, timeoutAt });
      assert.ok(id !== null, `${dagId}.${ti.task_id} deferred`);
      triggers.push(id);
    }
  });
  return { run_id: run.run_id, tis, triggers };
}

const job = (t: TestStore) => startJob(t.store.db, { jobType: "TriggererJob", hostname: "test", pid: process.pid });
const claimAll = (t: TestStore, triggererId: number, scope?: { dag_id: string; run_id: string }) =>
  t.store.writeTransaction((trx) => claimTriggers(trx, t.store.dialect, { triggererId, capacity: 10_000, deadBefore: new Date(0).toISOString(), scope }));
const record = (t: TestStore, triggererId: number, outcomes: TriggerOutcome[]) => t.store.writeTransaction((trx) => recordTriggerOutcomes(trx, t.store.dialect, triggererId, outcomes));
const tiRow = (t: TestStore, id: number) => t.store.db.selectFrom("task_instance").selectAll().where("id", "=", id).executeTakeFirstOrThrow();
const triggerIds = async (t: TestStore, ids: number[]) => (await t.store.db.selectFrom("trigger").select("id").where("id", "in", ids).execute()).map((r) => r.id).sort((a, b) => a - b);

for (const dialect of testDialects()) {
  describe(`${dialect}: triggers`, { skip: await dialectSkipReason(dialect) }, () => {
    let t: TestStore;
    before(async () => {
      t = await freshStore(dialect, "triggers");
    });
    after(() => t.cleanup());

    it("a batch of fires and a failure resumes each task in its method with its own event, fails the failed one, and deletes those triggers", async () => {
      const r = await deferredRun(t, "batch", 4);
      const me = await job(t);
      assert.deepEqual(await claimAll(t, me, { dag_id: "batch", run_id: r.run_id }), r.triggers);
      const [a, b, c, d] = r.triggers;
      const out = await record(t, me, [
        { id: a, kind: "fire", event: { n: "a" } },
        { id: b, kind: "fire", event: { n: "b" } },
        { id: c, kind: "fail", error: "Trigger timeout: boom" },
      ]);
      assert.deepEqual(out.notOwned, []);
      assert.deepEqual(out.resumed.map((x) => [x.trigger_id, x.task_id]).sort(), [[a, "t0"], [b, "t1"], [c, "t2"]].sort());
      const [ta, tb, tc, td] = await Promise.all(r.tis.map((ti) => tiRow(t, ti.id)));
      for (const x of [ta, tb, tc]) {
        assert.equal(x.state, "scheduled", `${x.task_id} scheduled`);
        assert.equal(x.trigger_id, null, `${x.task_id} no longer points at its trigger`);
        assert.ok(x.scheduled_dttm, `${x.task_id} has scheduled_dttm`);
      }
      assert.equal(ta.next_method, "execute_complete");
      assert.deepEqual(JSON.parse(ta.next_kwargs as string), { i: 0, event: { n: "a" } });
      assert.deepEqual(JSON.parse(tb.next_kwargs as string), { i: 1, event: { n: "b" } });
      assert.equal(tc.next_method, "__fail__");
      assert.deepEqual(JSON.parse(tc.next_kwargs as string), { error: "Trigger timeout: boom" });
      assert.equal(tc.state_reason, "Trigger timeout: boom");
      assert.equal(td.state, "deferred", "the task whose trigger did not fire still waits");
      assert.deepEqual(await triggerIds(t, r.triggers), [d]);
    });

    it("records a trigger once: again (a re-arm racing a fire), or by a triggerer that does not own it, writes nothing", async () => {
      const r = await deferredRun(t, "once", 2);
      const mine = await job(t);
      const theirs = await job(t);
      await claimAll(t, mine, { dag_id: "once", run_id: r.run_id });
      const [a, b] = r.triggers;
      assert.equal((await record(t, mine, [{ id: a, kind: "fire", event: 1 }])).resumed.length, 1);
      const again = await record(t, mine, [{ id: a, kind: "fire", event: 2 }]);
      assert.deepEqual(again, { resumed: [], notOwned: [a] });
      assert.deepEqual(JSON.parse((await tiRow(t, r.tis[0].id)).next_kwargs as string), { i: 0, event: 1 });
      const stranger = await record(t, theirs, [{ id: b, kind: "fire", event: 3 }]);
      assert.deepEqual(stranger, { resumed: [], notOwned: [b] });
      assert.equal((await tiRow(t, r.tis[1].id)).state, "deferred");
      assert.deepEqual(await triggerIds(t, [b]), [b], "the owner's trigger stays");
    });

    it("a task instance that left deferred meanwhile (marked, cleared) is not moved; its trigger goes", async () => {
      const r = await deferredRun(t, "moved_on", 1);
      const me = await job(t);
      await claimAll(t, me, { dag_id: "moved_on", run_id: r.run_id });
      await t.store.db.updateTable("task_instance").set({ state: "success" }).where("id", "=", r.tis[0].id).execute();
      const out = await record(t, me, [{ id: r.triggers[0], kind: "fire", event: 1 }]);
      assert.deepEqual(out.resumed, []);
      assert.equal((await tiRow(t, r.tis[0].id)).state, "success");
      assert.deepEqual(await triggerIds(t, r.triggers), []);
    });

    it("the event joins the try's own kwargs: none, empty, one named event (the event wins); events of every JSON kind", async () => {
      const r = await deferredRun(t, "kinds", 7);
      const me = await job(t);
      await claimAll(t, me, { dag_id: "kinds", run_id: r.run_id });
      // deferTry wrote { i }; give three of them other kwargs: none, empty, and one named "event".
      await t.store.db.updateTable("task_instance").set({ next_kwargs: null }).where("id", "=", r.tis[0].id).execute();
      await t.store.db.updateTable("task_instance").set({ next_kwargs: "{}" }).where("id", "=", r.tis[1].id).execute();
      await t.store.db.updateTable("task_instance").set({ next_kwargs: JSON.stringify({ event: "mine", keep: [1, { x: "}" }] }) }).where("id", "=", r.tis[2].id).execute();
      const odd = 'quote " backslash \\ brace } nul \u0000 emoji \u{1F600} ünïcode';
      const events: unknown[] = [{ a: 1 }, [1, "two"], { theirs: true }, odd, 42.5, null, undefined];
      const out = await record(t, me, r.triggers.map((id, i) => ({ id, kind: "fire" as const, event: events[i] })));
      assert.equal(out.resumed.length, 7);
      const kw = await Promise.all(r.tis.map(async (ti) => JSON.parse((await tiRow(t, ti.id)).next_kwargs as string) as Record<string, unknown>));
      assert.deepEqual(kw[0], { event: { a: 1 } });
      assert.deepEqual(kw[1], { event: [1, "two"] });
      assert.deepEqual(kw[2], { keep: [1, { x: "}" }], event: { theirs: true } });
      assert.deepEqual(kw[3], { i: 3, event: odd });
      assert.deepEqual(kw[4], { i: 4, event: 42.5 });
      assert.deepEqual(kw[5], { i: 5, event: null });
      assert.deepEqual(kw[6], { i: 6, event: null }, "a trigger returning nothing resumes with null");
    });

    it("a large batch (250 tasks) gives each task its own event", async () => {
      const r = await deferredRun(t, "many", 250);
      const me = await job(t);
      await claimAll(t, me, { dag_id: "many", run_id: r.run_id });
      const out = await record(t, me, r.triggers.map((id) => ({ id, kind: "fire" as const, event: { trigger: id } })));
      assert.equal(out.resumed.length, 250);
      const rows = await listTaskInstances(t.store.db, "many", r.run_id);
      const byId = new Map(r.tis.map((ti, i) => [ti.id, r.triggers[i]]));
      for (const row of rows) {
        assert.equal(row.state, "scheduled", `${row.task_id} scheduled`);
        assert.deepEqual(JSON.parse(row.next_kwargs as string).event, { trigger: byId.get(row.id) }, `${row.task_id} got its own trigger's event`);
      }
    });

    it("a scoped claim takes only the triggers of its run; listTriggers reads kwargs and the earliest timeout", async () => {
      const timeout = new Date(Date.UTC(2098, 0, 1)).toISOString();
      const ours = await deferredRun(t, "scoped_ours", 1, timeout);
      const other = await deferredRun(t, "scoped_other", 1);
      const me = await job(t);
      assert.deepEqual(await claimAll(t, me, { dag_id: "scoped_ours", run_id: ours.run_id }), ours.triggers);
      const otherRow = await t.store.db.selectFrom("trigger").select("triggerer_id").where("id", "=", other.triggers[0]).executeTakeFirstOrThrow();
      assert.equal(otherRow.triggerer_id, null, "another run's trigger stays unowned");
      const [row] = await listTriggers(t.store.db, ours.triggers);
      assert.deepEqual([row.id, row.classpath, row.kwargs, row.timeout, row.triggerer_id], [ours.triggers[0], "orch.triggers.DateTimeTrigger", { moment: FAR }, timeout, me]);
      // Unscoped, with room for one more, it takes the other run's.
      const all = await t.store.writeTransaction((trx) => claimTriggers(trx, t.store.dialect, { triggererId: me, capacity: 2, deadBefore: new Date(0).toISOString() }));
      assert.deepEqual(all, [ours.triggers[0], other.triggers[0]]);
    });
  });
}

// A focused evaluation (a hand-off's or its follow-up's: the finished task and its direct
// downstream) never calls a run deadlocked: a task left `none` outside its focus may be one another
// upstream's hand-off has yet to decide. Only an evaluation of the whole run may, once it has asked
// every undecided task's trigger rule (src/scheduler/evaluate-run.ts). Seen under load: a reduce
// still `none` beside a finished branch failed the run, and the reduce was scheduled after.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { SchedulableDag } from "../../src/scheduler/dag-bag.ts";
import { evaluateDagRun } from "../../src/scheduler/evaluate-run.ts";
import type { DagRunRow } from "../../src/store/schema.ts";
import { listTaskInstances } from "../../src/store/task-instances.ts";
import { dialectSkipReason, freshStore, testDialects, type TestStore } from "../helpers/store.ts";
import { createRunningRun, seedSerializedDag, serializedDag, task } from "../helpers/ui-fixtures.ts";

for (const dialect of testDialects()) {
  describe(`${dialect}: a focused evaluation and deadlock`, { skip: await dialectSkipReason(dialect) }, () => {
    let t: TestStore;
    let d: SchedulableDag;
    let runs = 0;
    before(async () => {
      t = await freshStore(dialect, "focusdeadlock");
      // up -> reduce, and a branch of its own: two leaves (reduce, side).
      const s = serializedDag({ dag_id: "split", schedule: null });
      s.tasks = [task("up", [], ["reduce"]), task("reduce", ["up"], []), task("side", [], [])];
      d = await seedSerializedDag(t.store, s);
    });
    after(() => t.cleanup());

    /** A run with these task instances in these states (a task left out has no row). */
    async function runWith(states: Record<string, string | null>): Promise<DagRunRow> {
      const run = await createRunningRun(t.store, "split", ++runs, Object.keys(states));
      for (const [taskId, state] of Object.entries(states)) {
        await t.store.db.updateTable("task_instance").set({ state }).where("dag_id", "=", "split").where("run_id", "=", run.run_id).where("task_id", "=", taskId).execute();
      }
      return run;
    }
    const evaluate = (run: DagRunRow, focus?: string[]) =>
      t.store.writeTransaction((trx) => evaluateDagRun(trx, run, d, new Date(), focus && new Set(focus), { maxMapLength: 1024, requireRunning: focus !== undefined }, t.store.dialect));
    const stateOf = async (run: DagRunRow, taskId: string) => (await listTaskInstances(t.store.db, "split", run.run_id)).find((x) => x.task_id === taskId)?.state ?? null;
    const runState = async (run: DagRunRow) => (await t.store.db.selectFrom("dag_run").select("state").where("id", "=", run.id).executeTakeFirstOrThrow()).state;

    it("side finishes while up's downstream is not yet decided: the run stays running, and the whole run decides reduce", async () => {
      const run = await runWith({ up: "success", reduce: null, side: "success" });
      const focused = await evaluate(run, ["side"]);
      assert.deepEqual([focused.runState, focused.lookAgain, focused.ended, await runState(run)], ["running", true, false, "running"]);
      assert.equal(await stateOf(run, "reduce"), null);
      const whole = await evaluate(run);
      assert.deepEqual([whole.runState, whole.scheduled, whole.lookAgain, await stateOf(run, "reduce")], ["running", 1, undefined, "scheduled"]);
    });

    it("a real deadlock (reduce's upstream has no task instance in this run): the focused look leaves it, the whole run fails it", async () => {
      const run = await runWith({ reduce: null, side: "success" });
      const focused = await evaluate(run, ["side"]);
      assert.deepEqual([focused.runState, focused.lookAgain, await runState(run)], ["running", true, "running"]);
      const whole = await evaluate(run);
      assert.deepEqual([whole.runState, whole.ended, whole.lookAgain, await runState(run)], ["failed", true, undefined, "failed"]);
    });

    it("nothing undecided: the focused look still ends the run (success), with no second look asked for", async () => {
      const run = await runWith({ up: "success", reduce: "success", side: "success" });
      const focused = await evaluate(run, ["side"]);
      assert.deepEqual([focused.runState, focused.ended, focused.lookAgain, await runState(run)], ["success", true, undefined, "success"]);
    });
  });
}

// A hand-off's focused evaluation with requireRunning (src/scheduler/evaluate-run.ts), on a real
// store of each dialect: the run's state comes with the downstream's rows in one statement, and a
// run that is no longer running (a user marked it while its task ran) has nothing decided or written.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { SchedulableDag } from "../../src/scheduler/dag-bag.ts";
import { evaluateDagRun } from "../../src/scheduler/evaluate-run.ts";
import type { DagRunRow } from "../../src/store/schema.ts";
import { listTaskInstances } from "../../src/store/task-instances.ts";
import { dialectSkipReason, freshStore, testDialects, type TestStore } from "../helpers/store.ts";
import { createRunningRun, seedDag } from "../helpers/ui-fixtures.ts";

for (const dialect of testDialects()) {
  describe(`${dialect}: evaluation of a run that must be running`, { skip: await dialectSkipReason(dialect) }, () => {
    let t: TestStore;
    let d: SchedulableDag;
    let runs = 0;
    before(async () => {
      t = await freshStore(dialect, "evalrunning");
      // t0 -> t1 -> t2
      d = await seedDag(t.store, { dag_id: "three", tasks: 3 });
    });
    after(() => t.cleanup());

    async function runWithFirstDone(runState: string): Promise<DagRunRow> {
      const run = await createRunningRun(t.store, "three", ++runs, ["t0", "t1", "t2"]);
      await t.store.db.updateTable("task_instance").set({ state: "success" }).where("dag_id", "=", "three").where("run_id", "=", run.run_id).where("task_id", "=", "t0").execute();
      // As listed when t0 started (running); the store's row may say otherwise now.
      await t.store.db.updateTable("dag_run").set({ state: runState }).where("id", "=", run.id).execute();
      return run;
    }
    const stateOf = async (run: DagRunRow, taskId: string) => (await listTaskInstances(t.store.db, "three", run.run_id)).find((x) => x.task_id === taskId)?.state ?? null;
    const evaluate = (run: DagRunRow, requireRunning: boolean) =>
      t.store.writeTransaction((trx) => evaluateDagRun(trx, run, d, new Date(), new Set(["t0", "t1"]), { maxMapLength: 1024, requireRunning }, t.store.dialect));

    it("a running run: the downstream is scheduled, with no statement added for the run's state", async () => {
      const plain = await runWithFirstDone("running");
      let before = t.store.stats.statements;
      const a = await evaluate(plain, false);
      const without = t.store.stats.statements - before;
      const checked = await runWithFirstDone("running");
      before = t.store.stats.statements;
      const b = await evaluate(checked, true);
      assert.equal(t.store.stats.statements - before, without);
      for (const [run, ev] of [
        [plain, a],
        [checked, b],
      ] as const) {
        assert.equal(ev.notRunning, undefined);
        assert.equal(ev.scheduled, 1);
        assert.equal(await stateOf(run, "t1"), "scheduled");
      }
    });

    for (const marked of ["failed", "success", "queued"]) {
      it(`a run marked ${marked} since: nothing is decided or written`, async () => {
        const run = await runWithFirstDone(marked);
        const ev = await evaluate(run, true);
        assert.equal(ev.notRunning, true);
        assert.equal(ev.scheduled, 0);
        assert.equal(await stateOf(run, "t1"), null);
        const row = await t.store.db.selectFrom("dag_run").select("state").where("id", "=", run.id).executeTakeFirstOrThrow();
        assert.equal(row.state, marked);
      });
    }

    it("no row of the focus left (the tasks removed from the run): the run's state is read on its own", async () => {
      const run = await runWithFirstDone("failed");
      await t.store.db.deleteFrom("task_instance").where("dag_id", "=", "three").where("run_id", "=", run.run_id).where("task_id", "in", ["t0", "t1"]).execute();
      assert.equal((await evaluate(run, true)).notRunning, true);
    });
  });
}

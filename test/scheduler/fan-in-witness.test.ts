// A wide fan-in's witness (src/scheduler/fan-in-witness.ts), on a real store of each dialect: it
// says "still waits" only when a row read in the transaction proves it, costs one statement per
// finishing upstream while its witness is unfinished, and hands back to the full count whenever a
// rule, a failed upstream or the end of the search could change the verdict.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { createFanInWitnesses, type FanInWitnesses } from "../../src/scheduler/fan-in-witness.ts";
import type { DagRunRow } from "../../src/store/schema.ts";
import { dialectSkipReason, freshStore, testDialects, type TestStore } from "../helpers/store.ts";
import { createRunningRun } from "../helpers/ui-fixtures.ts";

const N = 100;
const UPS = Array.from({ length: N }, (_, i) => `u${i}`);

for (const dialect of testDialects()) {
  describe(`${dialect}: fan-in witness`, { skip: await dialectSkipReason(dialect) }, () => {
    let t: TestStore;
    let runs = 0;
    before(async () => {
      t = await freshStore(dialect, "witness");
    });
    after(async () => {
      await t.cleanup();
    });

    const newRun = (): Promise<DagRunRow> => createRunningRun(t.store, "fan", ++runs, [...UPS, "end"]);
    const setState = (run: DagRunRow, ids: readonly string[], state: string | null) =>
      t.store.db.updateTable("task_instance").set({ state }).where("dag_id", "=", "fan").where("run_id", "=", run.run_id).where("task_id", "in", [...ids]).execute();
    const waits = (w: FanInWitnesses, run: DagRunRow, finished: (string | null)[], rule = "all_success", seen = new Set<string | null>()) =>
      t.store.writeTransaction((trx) => w.stillWaits(trx, run, "end", rule, UPS, finished, seen));

    it("finishing upstreams in order cost one statement each while the last one is unfinished", async () => {
      const run = await newRun();
      const w = createFanInWitnesses();
      // Before a full count has left the task waiting there is no witness: count.
      assert.equal(await waits(w, run, ["success"]), false);
      w.reset(run, "end", UPS);
      for (let i = 0; i < N - 1; i++) {
        await setState(run, [UPS[i]!], "success");
        const before = t.store.stats.statements;
        const seen = new Set<string | null>();
        assert.equal(await waits(w, run, ["success"], "all_success", seen), true, `after u${i}`);
        // begin, the witness's row, commit (SQLite: begin immediate; PostgreSQL: begin).
        assert.equal(t.store.stats.statements - before, 3, `after u${i}`);
        assert.deepEqual([...seen], [null]);
      }
      // The last upstream finished: nothing proves a wait, the full count decides.
      await setState(run, [UPS[N - 1]!], "success");
      assert.equal(await waits(w, run, ["success"]), false);
    });

    it("when the witness finishes, the search finds an earlier unfinished upstream", async () => {
      const run = await newRun();
      const w = createFanInWitnesses();
      w.reset(run, "end", UPS);
      // Everything but u3 done (u3 queued): the search walks back from u99 to u3.
      await setState(run, UPS.filter((u) => u !== "u3"), "success");
      await setState(run, ["u3"], "queued");
      const seen = new Set<string | null>();
      assert.equal(await waits(w, run, ["success"], "all_success", seen), true);
      assert.deepEqual([...seen], ["queued"]);
      // The witness is now u3: one statement again.
      const before = t.store.stats.statements;
      assert.equal(await waits(w, run, ["success"]), true);
      assert.equal(t.store.stats.statements - before, 3);
      await setState(run, ["u3"], "success");
      assert.equal(await waits(w, run, ["success"]), false);
    });

    it("a failed, skipped or missing finish, or a rule that decides early, always takes the full count", async () => {
      const run = await newRun();
      const w = createFanInWitnesses();
      const again = () => w.reset(run, "end", UPS);
      again();
      assert.equal(await waits(w, run, ["failed"]), false, "a failed upstream decides all_success at once");
      again();
      assert.equal(await waits(w, run, ["skipped"]), false, "a skipped upstream decides all_success at once");
      again();
      assert.equal(await waits(w, run, []), false, "no upstream of the task finished in this evaluation");
      for (const rule of ["one_success", "one_failed", "one_done", "all_failed", "all_skipped", "always", "all_done_setup_success"]) {
        again();
        assert.equal(await waits(w, run, ["success"], rule), false, rule);
      }
      for (const rule of ["all_success", "all_done", "none_failed", "none_failed_min_one_success", "none_skipped", "all_done_min_one_success"]) {
        again();
        assert.equal(await waits(w, run, ["success"], rule), true, rule);
      }
    });

    it("a stale witness (its upstream cleared after it finished) never proves a wait that is not there", async () => {
      const run = await newRun();
      const w = createFanInWitnesses();
      w.reset(run, "end", UPS);
      await setState(run, UPS, "success");
      assert.equal(await waits(w, run, ["success"]), false, "all done: count");
      // Cleared: unfinished again. The hint is gone (the search ended), so the count decides, and
      // the count's reset starts a new search that finds the cleared one.
      await setState(run, ["u50"], null);
      assert.equal(await waits(w, run, ["success"]), false);
      w.reset(run, "end", UPS);
      assert.equal(await waits(w, run, ["success"]), true);
    });
  });
}

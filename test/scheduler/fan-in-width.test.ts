// A wide fan-in's readiness check costs the same whatever its width, in the store and in the
// scheduler: when one of its upstreams finishes, the focused evaluation reads the same statements
// (the witness, src/scheduler/fan-in-witness.ts) and looks up the same number of the DAG's tasks
// (the upstream facts, src/scheduler/dag-bag.ts). Before those facts were kept, the evaluation
// walked all the fan-in's upstreams five times per finishing upstream: 5,000 lookups for a
// fan-in of 1,000, quadratic over the run.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { SchedulableDag } from "../../src/scheduler/dag-bag.ts";
import { evaluateDagRun } from "../../src/scheduler/evaluate-run.ts";
import { createFanInWitnesses } from "../../src/scheduler/fan-in-witness.ts";
import type { DagRunRow } from "../../src/store/schema.ts";
import { listTaskInstances } from "../../src/store/task-instances.ts";
import { dialectSkipReason, freshStore, testDialects, type TestStore } from "../helpers/store.ts";
import { createRunningRun, seedSerializedDag, serializedDag, task } from "../helpers/ui-fixtures.ts";

for (const dialect of testDialects()) {
  describe(`${dialect}: a fan-in's readiness check and its width`, { skip: await dialectSkipReason(dialect) }, () => {
    let t: TestStore;
    before(async () => {
      t = await freshStore(dialect, "faninwidth");
    });
    after(() => t.cleanup());

    /** u0..u(width-1) -> end, and a run of it with every task instance none. */
    async function fan(width: number): Promise<{ d: SchedulableDag; run: DagRunRow; ups: string[] }> {
      const dagId = `fan${width}`;
      const ups = Array.from({ length: width }, (_, i) => `u${i}`);
      const s = serializedDag({ dag_id: dagId, schedule: null });
      s.tasks = [...ups.map((u) => task(u, [], ["end"])), task("end", ups, [])];
      const d = await seedSerializedDag(t.store, s);
      const run = await createRunningRun(t.store, dagId, 1, [...ups, "end"]);
      return { d, run, ups };
    }

    /** Upstream `u` succeeds and its hand-off looks at it and its downstream; the task lookups and
     *  statements that took, and the fan-in's state after. */
    async function finish(f: { d: SchedulableDag; run: DagRunRow }, u: string, witnesses: ReturnType<typeof createFanInWitnesses>) {
      await t.store.db.updateTable("task_instance").set({ state: "success" }).where("dag_id", "=", f.run.dag_id).where("run_id", "=", f.run.run_id).where("task_id", "=", u).execute();
      const tasks = f.d.tasks;
      const get = tasks.get.bind(tasks);
      let lookups = 0;
      tasks.get = (k: string) => {
        lookups++;
        return get(k);
      };
      const statements = t.store.stats.statements;
      try {
        const ev = await t.store.writeTransaction((trx) =>
          evaluateDagRun(trx, f.run, f.d, new Date(), new Set([u, "end"]), { maxMapLength: 1024, requireRunning: true, witnesses }, t.store.dialect),
        );
        assert.equal(ev.runState, "running");
      } finally {
        tasks.get = get;
      }
      const end = (await listTaskInstances(t.store.db, f.run.dag_id, f.run.run_id)).find((x) => x.task_id === "end")!;
      return { lookups, statements: t.store.stats.statements - statements, end: end.state };
    }

    it("looks up as many tasks and runs as many statements for 1,000 upstreams as for 100", async () => {
      const cost: Record<number, { lookups: number; statements: number }> = {};
      for (const width of [100, 1000]) {
        const f = await fan(width);
        const witnesses = createFanInWitnesses();
        // The first finish counts every upstream (no witness yet) and leaves one for the next.
        assert.equal((await finish(f, "u0", witnesses)).end, null);
        const second = await finish(f, "u1", witnesses);
        assert.equal(second.end, null, `fan-in of ${width}: still waiting on ${width - 2} upstreams`);
        const third = await finish(f, "u2", witnesses);
        assert.equal(third.end, null);
        // Steady: the third finish costs what the second did.
        assert.deepEqual({ lookups: third.lookups, statements: third.statements }, { lookups: second.lookups, statements: second.statements });
        cost[width] = { lookups: second.lookups, statements: second.statements };
      }
      assert.deepEqual(cost[1000], cost[100]);
      // A handful: the finished task, the fan-in, their facts; not a walk of the upstream list.
      assert.ok(cost[100]!.lookups < 50, `lookups per finish: ${cost[100]!.lookups}`);
    });

    it("still schedules the fan-in once its last upstream succeeds", async () => {
      const f = await fan(40);
      const witnesses = createFanInWitnesses();
      for (const u of f.ups.slice(0, -1)) assert.equal((await finish(f, u, witnesses)).end, null, u);
      assert.equal((await finish(f, f.ups.at(-1)!, witnesses)).end, "scheduled");
    });
  });
}

// Two tries of one run finish together (two workers, or two schedulers) on PostgreSQL: each
// transaction records its own try's success, then evaluates its downstream (src/scheduler/
// evaluate-run.ts). Without serialising the two evaluations, each read the other's row as still
// running (its success not committed yet) and neither scheduled their common downstream, which
// waited for the safety poll. With the run's evaluation lock (store/locks.ts) the second waits for
// the first to commit and then sees both successes. SQLite needs no test of its own here: BEGIN
// IMMEDIATE admits one writer at a time, so the second transaction cannot begin before the first ends.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { sql, type Kysely } from "kysely";
import type { SchedulableDag } from "../../src/scheduler/dag-bag.ts";
import { evaluateDagRun, type RunEvaluation } from "../../src/scheduler/evaluate-run.ts";
import type { Database } from "../../src/store/schema.ts";
import { listTaskInstances } from "../../src/store/task-instances.ts";
import { dialectSkipReason, freshStore, type TestStore } from "../helpers/store.ts";
import { createRunningRun, seedSerializedDag, serializedDag, task } from "../helpers/ui-fixtures.ts";

describe("postgres: two hand-offs of one run at the same time", { skip: await dialectSkipReason("postgres") }, () => {
  let t: TestStore;
  let d: SchedulableDag;
  before(async () => {
    t = await freshStore("postgres", "concurrenthandoff");
    // a, b -> join
    const s = serializedDag({ dag_id: "fan", schedule: null });
    s.tasks = [task("a", [], ["join"]), task("b", [], ["join"]), task("join", ["a", "b"], [])];
    d = await seedSerializedDag(t.store, s);
  });
  after(() => t.cleanup());

  it("the second evaluation waits for the first to commit and schedules the common downstream", async () => {
    const run = await createRunningRun(t.store, "fan", 1, ["a", "b", "join"]);
    await t.store.db.updateTable("task_instance").set({ state: "running" }).where("run_id", "=", run.run_id).where("task_id", "in", ["a", "b"]).execute();
    const finish = (trx: Kysely<Database>, taskId: string) =>
      trx.updateTable("task_instance").set({ state: "success" }).where("run_id", "=", run.run_id).where("task_id", "=", taskId).execute();
    const evaluate = (trx: Kysely<Database>, taskId: string) =>
      evaluateDagRun(trx, run, d, new Date(), new Set([taskId, "join"]), { maxMapLength: 1024, requireRunning: true }, t.store.dialect);

    // The interleaving that lost the downstream: a's success written, b's success written, a's
    // evaluation, b's evaluation begun before a commits. a's transaction commits once b's
    // evaluation has either finished or waits on a lock: the run's (with it), or without it the
    // row of join's wait reason, which a wrote, after b had read a as running.
    let bFinished!: () => void;
    const bWrote = new Promise<void>((r) => (bFinished = r));
    // Wrapped: a promise resolved with a promise would wait for it.
    let bEvaluating!: (b: { p: Promise<RunEvaluation> }) => void;
    const bEvaluation = new Promise<{ p: Promise<RunEvaluation> }>((r) => (bEvaluating = r));
    // This database's sessions only: other test files share the server.
    const waitingOnLock = async () => {
      for (;;) {
        const r = await sql<{ n: number }>`select count(*)::int as n from pg_locks l join pg_stat_activity a on a.pid = l.pid where not l.granted and a.datname = current_database()`.execute(t.store.db);
        if (r.rows[0]!.n > 0) return;
        await new Promise((s) => setTimeout(s, 10));
      }
    };
    const tA = t.store.writeTransaction(async (trx) => {
      await finish(trx, "a");
      await bWrote;
      const ev = await evaluate(trx, "a");
      await Promise.race([(await bEvaluation).p.catch(() => {}), waitingOnLock()]);
      return ev;
    });
    const tB = t.store.writeTransaction(async (trx) => {
      await finish(trx, "b");
      bFinished();
      // After a's evaluation has read b's row (a waits for this promise only after it evaluated).
      await new Promise((s) => setTimeout(s, 0));
      const p = evaluate(trx, "b");
      bEvaluating({ p });
      return p;
    });
    const [evA, evB] = await Promise.all([tA, tB]);
    const join = (await listTaskInstances(t.store.db, "fan", run.run_id)).find((x) => x.task_id === "join");
    assert.equal(join?.state, "scheduled", `join left ${join?.state}; a scheduled ${evA.scheduled}, b scheduled ${evB.scheduled}`);
    assert.equal(evA.scheduled + evB.scheduled, 1);
  });
});

// A try whose start the store refuses, under a live scheduler with one worker, on both dialects. The
// refusal is real: a trigger on task_instance rejects one task's move to running. It first fails the
// hand-off's claim-and-start statement inside the finished upstream's transaction (which rolls back:
// the worker reserved for the try must go back), then the ordinary start path. The try ends failed
// with the store's reason, and the other task still runs on the one worker: the scheduler used to
// retry such a start for ever (as it rightly does when the database is down), holding the worker,
// so nothing else ever ran. The second case refuses a try claimed ahead for the busy worker, whose
// start goes into the finished try's own transaction (SQLite) or statement (PostgreSQL): on SQLite
// the rolled-back hand-off dropped the claimed try, which then stayed queued for ever.
import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, it } from "node:test";
import Database from "better-sqlite3";
import { runOrch } from "../helpers/cli.ts";
import { latestRunStates, schedulerSuite, writeDag } from "../helpers/engine.ts";
import { pgSkipReason, withPgClient } from "../helpers/pg.ts";
import { waitFor, withStoreOf } from "../helpers/scheduler-process.ts";
import { testDialects } from "../helpers/store.ts";

for (const dialect of testDialects()) {
  describe(`${dialect}: a try whose start the store refuses`, { skip: dialect === "postgres" ? await pgSkipReason() : undefined }, () => {
    const h = schedulerSuite(dialect === "postgres" ? { postgres: "start_failure" } : {});

    /** The trigger: b may not become running. */
    async function refuseB(): Promise<void> {
      if (dialect === "sqlite") {
        const db = new Database(join(h.home, "orch.db"));
        db.exec(`create trigger if not exists refuse_b before update on task_instance for each row
          when new.task_id = 'b' and new.state = 'running' begin select raise(abort, 'refused: b may not start (test)'); end`);
        db.close();
        return;
      }
      await withPgClient(h.db.url, async (c) => {
        await c.query(`create or replace function refuse_b() returns trigger language plpgsql as $$
          begin raise exception 'refused: b may not start (test)'; end $$`);
        await c.query("drop trigger if exists refuse_b on task_instance");
        await c.query(`create trigger refuse_b before update on task_instance for each row
          when (new.task_id = 'b' and new.state = 'running') execute function refuse_b()`);
      });
    }

    /** The DAG file `source` (DAG `dagId`) under a fresh scheduler with b refused, triggered and run
     *  to its end: its states, and the scheduler (still to be checked alive). */
    async function runToTheEnd(dagId: string, source: string) {
      await writeDag(h.dags, `${dagId}.ts`, source);
      await refuseB();
      const url = dialect === "postgres" ? h.db.url : undefined;
      const child = h.start();
      await waitFor(`${dagId} parsed`, () => withStoreOf(h.home, (s) => s.db.selectFrom("dag").select("dag_id").where("dag_id", "=", dagId).executeTakeFirst(), url));
      assert.equal((await runOrch(["dags", "trigger", dagId], { home: h.home, env: h.env })).code, 0);
      const done = await waitFor("the run finished", async () => {
        const r = await latestRunStates(h.home, dagId, url);
        return r.runState === "success" || r.runState === "failed" ? r : undefined;
      }).catch((e: Error) => {
        throw new Error(`${e.message}\n${child.output()}`);
      });
      return { done, child };
    }

    it("ends it failed with the store's reason and gives its worker to the other task", async () => {
      // a -> b, and c on its own. Priorities: a first, then b before c, so the hand-off after a
      // claims b for the one worker.
      const { done, child } = await runToTheEnd(
        "sf",
        `import { dag, task, chain } from "orch";
export default dag({ dag_id: "sf", schedule: null, start_date: "2024-01-01", is_paused_upon_creation: false }, () => {
  const a = task({ task_id: "a", priority_weight: 10 }, async () => "a")();
  const b = task({ task_id: "b", priority_weight: 50, retries: 3 }, async () => "b")();
  chain(a, b);
  task({ task_id: "c", priority_weight: 1 }, async () => "c")();
});
`,
      );
      assert.deepEqual(done.states, { a: "success", b: "failed", c: "success" }, child.output());
      assert.equal(done.runState, "failed");
      assert.match(done.reasons.b ?? "", /^could not start the try: .*refused: b may not start \(test\)/);
      // Never started: no try was spent (its retries are for tries that ran).
      assert.equal(done.tries.b, 0);
      assert.match(child.output(), /sf\.b .*could not start the try/);
      assert.equal(child.exitCode, null, `the scheduler exited:\n${child.output()}`);
    });

    it("the same for a try claimed ahead while the one before it ran (its start would share the finished try's statement)", async () => {
      // a0 and a run long enough (>= 10 ms) for the scheduler to claim ahead for the busy worker
      // once it has seen one long try: while a runs, b, runnable from the start, next by priority.
      // On PostgreSQL a's success and b's start are then one statement, which the trigger refuses:
      // a's outcome must still be written.
      const { done, child } = await runToTheEnd(
        "sf2",
        `import { dag, task } from "orch";
export default dag({ dag_id: "sf2", schedule: null, start_date: "2024-01-01", is_paused_upon_creation: false }, () => {
  task({ task_id: "a0", priority_weight: 200 }, async () => { await new Promise((r) => setTimeout(r, 300)); return "a0"; })();
  task({ task_id: "a", priority_weight: 100 }, async () => { await new Promise((r) => setTimeout(r, 300)); return "a"; })();
  task({ task_id: "b", priority_weight: 50 }, async () => "b")();
  task({ task_id: "c", priority_weight: 1 }, async () => "c")();
});
`,
      );
      assert.deepEqual(done.states, { a0: "success", a: "success", b: "failed", c: "success" }, child.output());
      assert.match(done.reasons.b ?? "", /^could not start the try: .*refused: b may not start \(test\)/);
      assert.equal(child.exitCode, null, `the scheduler exited:\n${child.output()}`);
    });
  });
}

// Deferral through real runs of `orch scheduler` (sequential executor, triggerer in the process):
// a deferred task frees the executor for another DAG and resumes in its method in the same try;
// a trigger that throws or times out fails the task saying so; triggers are re-armed after the
// process is killed.
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { runOrch } from "../helpers/cli.ts";
import { latestRunStates, schedulerSuite, writeDag } from "../helpers/engine.ts";
import { killHard, waitFor, withStoreOf } from "../helpers/scheduler-process.ts";

const FAST = { ORCH__TRIGGERER__JOB_HEARTBEAT_SEC: "0.5", ORCH__TRIGGERER__TRIGGERER_HEALTH_CHECK_THRESHOLD: "2" };

async function xcom(home: string, dagId: string, taskId: string): Promise<unknown> {
  const r = await withStoreOf(home, (s) =>
    s.db.selectFrom("xcom").select("value").where("dag_id", "=", dagId).where("task_id", "=", taskId).where("key", "=", "return_value").executeTakeFirst(),
  );
  return r ? JSON.parse(r.value as string) : undefined;
}

describe("deferral and the triggerer", () => {
  const h = schedulerSuite();

  it("a deferred task leaves the sequential executor free for another DAG, then resumes in its method with the event, in the same try", async () => {
    const flag = join(h.home, "ready.flag");
    await writeDag(
      h.dags,
      "waits.ts",
      `import { dag, task, FileTrigger, type TaskContext } from "orch";
export const waits = dag({ dag_id: "waits", schedule: null, start_date: "2024-01-01", is_paused_upon_creation: false }, () => {
  task({ task_id: "wait_for_file", methods: { found: (event: { filepath: string }, _ctx: TaskContext, kw) => ({ seen: event.filepath, note: kw.note }) } },
    async (ctx: TaskContext) => ctx.defer({ trigger: FileTrigger({ filepath: ${JSON.stringify(join(h.home, "ready.*"))}, poke_interval: 30 }), method: "found", kwargs: { note: "kept" } }))();
});
export const other = dag({ dag_id: "other", schedule: null, start_date: "2024-01-01", is_paused_upon_creation: false }, () => {
  task({ task_id: "quick" }, async () => "done")();
});
`,
    );
    const child = h.start([], FAST);
    await waitFor("DAGs parsed", () => withStoreOf(h.home, async (s) => (await s.db.selectFrom("dag").select("dag_id").execute()).length === 2));
    assert.equal((await runOrch(["dags", "trigger", "waits"], { home: h.home })).code, 0);
    await waitFor("wait_for_file deferred", async () => (await latestRunStates(h.home, "waits")).states.wait_for_file === "deferred");
    const trig = await withStoreOf(h.home, (s) => s.db.selectFrom("trigger").selectAll().execute());
    assert.equal(trig.length, 1);
    assert.equal(trig[0].classpath, "orch.triggers.FileTrigger");

    // The one executor slot is free: another DAG's task runs to success while the first waits.
    assert.equal((await runOrch(["dags", "trigger", "other"], { home: h.home })).code, 0);
    await waitFor("other succeeded", async () => (await latestRunStates(h.home, "other")).runState === "success");
    assert.equal((await latestRunStates(h.home, "waits")).states.wait_for_file, "deferred");

    // The file appears (fs.watch wakes the trigger long before the 30 s poll).
    writeFileSync(flag, "x");
    await waitFor("waits succeeded", async () => (await latestRunStates(h.home, "waits")).runState === "success");
    const r = await latestRunStates(h.home, "waits");
    assert.equal(r.tries.wait_for_file, 1, "resuming is the same try");
    assert.deepEqual(await xcom(h.home, "waits", "wait_for_file"), { seen: flag, note: "kept" });
    await withStoreOf(h.home, async (s) => {
      assert.equal((await s.db.selectFrom("trigger").selectAll().execute()).length, 0);
      const hist = await s.db.selectFrom("task_instance_history").select(["try_number", "state"]).where("task_id", "=", "wait_for_file").execute();
      assert.deepEqual(hist, [{ try_number: 1, state: "success" }]);
    });
  });

  it("a trigger that throws fails the task with its error; a timeout fails it saying so", async () => {
    await writeDag(
      h.dags,
      "bad.ts",
      `import { dag, task, FileTrigger, type TaskContext } from "orch";
export const bad = dag({ dag_id: "bad_trigger", schedule: null, start_date: "2024-01-01", is_paused_upon_creation: false }, () => {
  task({ task_id: "throws" }, async (ctx: TaskContext) => ctx.defer({ trigger: FileTrigger({ filepath: "/tmp/*/x" }) }))();
  task({ task_id: "times_out" }, async (ctx: TaskContext) => ctx.defer({ trigger: FileTrigger({ filepath: "/nonexistent/orch/never" }), timeout: 1 }))();
});
`,
    );
    const child = h.start([], FAST);
    await waitFor("bad_trigger parsed", () => withStoreOf(h.home, (s) => s.db.selectFrom("dag").select("dag_id").where("dag_id", "=", "bad_trigger").executeTakeFirst()));
    assert.equal((await runOrch(["dags", "trigger", "bad_trigger"], { home: h.home })).code, 0);
    const r = await waitFor("bad_trigger failed", async () => {
      const s = await latestRunStates(h.home, "bad_trigger");
      return s.runState === "failed" ? s : undefined;
    });
    assert.equal(r.states.throws, "failed");
    assert.match(r.reasons.throws ?? "", /FileTrigger failed: FileTrigger: a glob only in the file name is supported/);
    assert.equal(r.states.times_out, "failed");
    assert.match(r.reasons.times_out ?? "", /Trigger timeout/);
  });

  it("after the process is killed while tasks are deferred, a new one re-arms their triggers and they resume", async () => {
    await writeDag(
      h.dags,
      "sleepy.ts",
      `import { dag, task, TimeDeltaTrigger, type TaskContext } from "orch";
export default dag({ dag_id: "sleepy", schedule: null, start_date: "2024-01-01", is_paused_upon_creation: false }, () => {
  for (const i of [1, 2, 3]) {
    task({ task_id: "nap" + i, methods: { execute_complete: (e: { moment: string }) => e.moment } },
      async (ctx: TaskContext) => ctx.defer({ trigger: TimeDeltaTrigger({ seconds: 4 }) }))();
  }
});
`,
    );
    let child = h.start([], FAST);
    await waitFor("sleepy parsed", () => withStoreOf(h.home, (s) => s.db.selectFrom("dag").select("dag_id").where("dag_id", "=", "sleepy").executeTakeFirst()));
    assert.equal((await runOrch(["dags", "trigger", "sleepy"], { home: h.home })).code, 0);
    await waitFor("all three deferred", async () => Object.values((await latestRunStates(h.home, "sleepy")).states).every((s) => s === "deferred"));
    await killHard(child);
    child = h.start([], FAST);
    const r = await waitFor("sleepy succeeded", async () => {
      const s = await latestRunStates(h.home, "sleepy");
      return s.runState === "success" ? s : undefined;
    });
    assert.deepEqual(r.tries, { nap1: 1, nap2: 1, nap3: 1 });
    const moment = await xcom(h.home, "sleepy", "nap1");
    assert.equal(typeof moment, "string");
  });
});

// TriggerDagRun through real runs: the triggered run gets the rendered conf; waiting (deferred, and
// poking) ends in success when the triggered run succeeds and fails the task when it fails.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { runOrch } from "../helpers/cli.ts";
import { latestRunStates, schedulerSuite, writeDag } from "../helpers/engine.ts";
import { waitFor, withStoreOf } from "../helpers/scheduler-process.ts";

describe("triggerDagRun", () => {
  const h = schedulerSuite();

  it("waits for the triggered run: success when it succeeds (deferred), failure when it fails (poking)", async () => {
    await writeDag(
      h.dags,
      "wiring.ts",
      `import { dag, task, bash, triggerDagRun, type TaskContext } from "orch";
export const target = dag({ dag_id: "target", schedule: null, start_date: "2024-01-01", is_paused_upon_creation: false }, () => {
  task({ task_id: "echo_conf" }, async (ctx: TaskContext) => ctx.dag_run.conf)();
});
export const broken = dag({ dag_id: "broken_target", schedule: null, start_date: "2024-01-01", is_paused_upon_creation: false }, () => {
  bash({ task_id: "boom", command: "exit 3" });
});
export const ok = dag({ dag_id: "parent_ok", schedule: null, start_date: "2024-01-01", is_paused_upon_creation: false }, () => {
  triggerDagRun({ task_id: "kick", trigger_dag_id: "target", conf: { day: "{{ ds }}", fixed: 1 }, wait_for_completion: true, deferrable: true, poke_interval: 1 });
});
export const bad = dag({ dag_id: "parent_bad", schedule: null, start_date: "2024-01-01", is_paused_upon_creation: false }, () => {
  triggerDagRun({ task_id: "kick", trigger_dag_id: "broken_target", wait_for_completion: true, poke_interval: 1 });
});
`,
    );
    const child = h.start(["-p", "2"], { ORCH__TRIGGERER__JOB_HEARTBEAT_SEC: "0.5" });
    await waitFor("parsed", () => withStoreOf(h.home, async (s) => (await s.db.selectFrom("dag").select("dag_id").execute()).length === 4));
    assert.equal((await runOrch(["dags", "trigger", "parent_ok", "-l", "2024-03-05"], { home: h.home })).code, 0);
    assert.equal((await runOrch(["dags", "trigger", "parent_bad"], { home: h.home })).code, 0);

    const ok = await waitFor("parent_ok finished", async () => {
      const r = await latestRunStates(h.home, "parent_ok");
      return r.runState === "success" || r.runState === "failed" ? r : undefined;
    });
    assert.equal(ok.runState, "success", JSON.stringify(ok.reasons));
    assert.equal(ok.tries.kick, 1);
    const t = await latestRunStates(h.home, "target");
    assert.equal(t.runState, "success");
    const conf = await withStoreOf(h.home, (s) => s.db.selectFrom("dag_run").select(["conf", "run_id"]).where("dag_id", "=", "target").executeTakeFirstOrThrow());
    assert.deepEqual(JSON.parse(conf.conf as string), { day: "2024-03-05", fixed: 1 });
    const pushed = await withStoreOf(h.home, (s) =>
      s.db.selectFrom("xcom").select("value").where("dag_id", "=", "parent_ok").where("key", "=", "trigger_run_id").executeTakeFirstOrThrow(),
    );
    assert.equal(JSON.parse(pushed.value as string), conf.run_id);

    const bad = await waitFor("parent_bad finished", async () => {
      const r = await latestRunStates(h.home, "parent_bad");
      return r.runState === "success" || r.runState === "failed" ? r : undefined;
    });
    assert.equal(bad.runState, "failed");
    assert.match(bad.reasons.kick ?? "", /broken_target failed with failed state failed/);
    assert.equal((await latestRunStates(h.home, "broken_target")).runState, "failed");
  });
});

// Sensors through real runs of `orch scheduler` (sequential executor): a reschedule-mode and a
// deferrable sensor each leave the executor free for another DAG's task while they wait; poke
// mode's timeout and soft_fail; ExternalTaskSensor across two DAGs, at the same logical date and
// with execution_delta, and its failed_states.
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { runOrch } from "../helpers/cli.ts";
import { schedulerSuite, writeDag } from "../helpers/engine.ts";
import { waitFor, withStoreOf } from "../helpers/scheduler-process.ts";

const FAST = { ORCH__TRIGGERER__JOB_HEARTBEAT_SEC: "0.5" };

type Ti = { task_id: string; state: string | null; try_number: number; state_reason: string | null };

async function tis(home: string, dagId: string, logicalDate?: string): Promise<Record<string, Ti>> {
  return withStoreOf(home, async (s) => {
    let q = s.db.selectFrom("dag_run").select("run_id").where("dag_id", "=", dagId);
    if (logicalDate) q = q.where("logical_date", "=", logicalDate);
    const run = await q.orderBy("id", "desc").executeTakeFirst();
    if (!run) return {};
    const rows = await s.db.selectFrom("task_instance").select(["task_id", "state", "try_number", "state_reason"]).where("dag_id", "=", dagId).where("run_id", "=", run.run_id).execute();
    return Object.fromEntries(rows.map((r) => [r.task_id, r]));
  });
}

async function runState(home: string, dagId: string): Promise<string | undefined> {
  return withStoreOf(home, async (s) => (await s.db.selectFrom("dag_run").select("state").where("dag_id", "=", dagId).orderBy("id", "desc").executeTakeFirst())?.state);
}

describe("sensors", () => {
  const h = schedulerSuite();

  for (const [mode, waitingState] of [
    ["reschedule", "up_for_reschedule"],
    ["deferrable", "deferred"],
  ] as const) {
    it(`a ${mode} sensor leaves the sequential executor free for another DAG's task while it waits, then succeeds in its first try`, async () => {
      const flag = join(h.home, `${mode}.flag`);
      await writeDag(
        h.dags,
        `${mode}.ts`,
        `import { dag, task, fileSensor } from "orch";
import { existsSync } from "node:fs";
export const s = dag({ dag_id: "sense_${mode}", schedule: null, start_date: "2024-01-01", is_paused_upon_creation: false }, () => {
  ${
    mode === "reschedule"
      ? `task.sensor({ task_id: "wait", mode: "reschedule", poke_interval: 1 }, async () => existsSync(${JSON.stringify(flag)}) ? { done: true, xcom_value: "seen" } : false)();`
      : `fileSensor({ task_id: "wait", filepath: ${JSON.stringify(flag)}, deferrable: true });`
  }
});
export const o = dag({ dag_id: "other_${mode}", schedule: null, start_date: "2024-01-01", is_paused_upon_creation: false }, () => {
  task({ task_id: "quick" }, async () => "done")();
});
`,
      );
      const child = h.start([], FAST);
      await waitFor("parsed", () => withStoreOf(h.home, (s) => s.db.selectFrom("dag").select("dag_id").where("dag_id", "=", `other_${mode}`).executeTakeFirst()));
      assert.equal((await runOrch(["dags", "trigger", `sense_${mode}`], { home: h.home })).code, 0);
      await waitFor(`sensor ${waitingState}`, async () => (await tis(h.home, `sense_${mode}`)).wait?.state === waitingState);
      assert.equal((await runOrch(["dags", "trigger", `other_${mode}`], { home: h.home })).code, 0);
      await waitFor("other DAG succeeded", async () => (await runState(h.home, `other_${mode}`)) === "success");
      // The file is not there: the sensor is still waiting, not finished.
      assert.notEqual((await tis(h.home, `sense_${mode}`)).wait?.state, "success");
      writeFileSync(flag, "x");
      await waitFor("sensor succeeded", async () => (await runState(h.home, `sense_${mode}`)) === "success");
      const t = (await tis(h.home, `sense_${mode}`)).wait!;
      assert.equal(t.try_number, 1, "pokes and resumes are one try");
    });
  }

  it("poke mode: a timeout fails the sensor (no retry), soft_fail skips it; exponential backoff still pokes", async () => {
    await writeDag(
      h.dags,
      "timeouts.ts",
      `import { dag, task } from "orch";
export default dag({ dag_id: "timeouts", schedule: null, start_date: "2024-01-01", is_paused_upon_creation: false, default_args: { retries: 2, retry_delay: 0 } }, () => {
  task.sensor({ task_id: "hard", poke_interval: 0.5, timeout: 1.5 }, async () => false)();
  task.sensor({ task_id: "soft", poke_interval: 0.5, timeout: 1.5, soft_fail: true, exponential_backoff: true }, async () => false)();
});
`,
    );
    const child = h.start([], FAST);
    await waitFor("parsed", () => withStoreOf(h.home, (s) => s.db.selectFrom("dag").select("dag_id").where("dag_id", "=", "timeouts").executeTakeFirst()));
    assert.equal((await runOrch(["dags", "trigger", "timeouts"], { home: h.home })).code, 0);
    await waitFor("timeouts finished", async () => (await runState(h.home, "timeouts")) === "failed");
    const t = await tis(h.home, "timeouts");
    assert.equal(t.hard.state, "failed");
    assert.equal(t.hard.try_number, 1, "a sensor timeout is not retried");
    assert.match(t.hard.state_reason ?? "", /Sensor has timed out; run duration of .* exceeds the specified timeout of 1\.5/);
    assert.equal(t.soft.state, "skipped");
  });

  it("externalTaskSensor waits for another DAG's task at the same logical date and with execution_delta; failed_states fail it", async () => {
    await writeDag(
      h.dags,
      "external.ts",
      `import { dag, bash, externalTaskSensor } from "orch";
export const up = dag({ dag_id: "upstream_dag", schedule: null, start_date: "2024-01-01", is_paused_upon_creation: false }, () => {
  bash({ task_id: "work", command: "if [ '{{ ds }}' = '2024-01-03' ]; then exit 1; fi; echo ok" });
});
export const down = dag({ dag_id: "downstream_dag", schedule: null, start_date: "2024-01-01", is_paused_upon_creation: false }, () => {
  externalTaskSensor({ task_id: "same_date", external_dag_id: "upstream_dag", external_task_id: "work", mode: "reschedule", poke_interval: 1 });
  externalTaskSensor({ task_id: "day_before", external_dag_id: "upstream_dag", external_task_id: "work", execution_delta: { days: 1 }, deferrable: true, poke_interval: 1 });
});
export const guarded = dag({ dag_id: "guarded_dag", schedule: null, start_date: "2024-01-01", is_paused_upon_creation: false }, () => {
  externalTaskSensor({ task_id: "fails_with_it", external_dag_id: "upstream_dag", external_task_ids: ["work"], failed_states: ["failed"], poke_interval: 1, deferrable: true });
});
`,
    );
    const child = h.start([], FAST);
    await waitFor("parsed", () => withStoreOf(h.home, (s) => s.db.selectFrom("dag").select("dag_id").where("dag_id", "=", "guarded_dag").executeTakeFirst()));
    // The downstream run first: its sensors wait, as neither upstream run exists yet.
    assert.equal((await runOrch(["dags", "trigger", "downstream_dag", "-l", "2024-01-02"], { home: h.home })).code, 0);
    await waitFor("sensors waiting", async () => {
      const t = await tis(h.home, "downstream_dag");
      return t.same_date?.state === "up_for_reschedule" && t.day_before?.state === "deferred";
    });
    assert.equal((await runOrch(["dags", "trigger", "upstream_dag", "-l", "2024-01-02"], { home: h.home })).code, 0);
    await waitFor("same_date done", async () => (await tis(h.home, "downstream_dag")).same_date?.state === "success");
    assert.equal((await tis(h.home, "downstream_dag")).day_before?.state, "deferred", "the day before has no upstream run yet");
    assert.equal((await runOrch(["dags", "trigger", "upstream_dag", "-l", "2024-01-01"], { home: h.home })).code, 0);
    await waitFor("downstream succeeded", async () => (await runState(h.home, "downstream_dag")) === "success");

    // failed_states: the upstream task fails on 2024-01-03, so does the sensor watching it.
    assert.equal((await runOrch(["dags", "trigger", "guarded_dag", "-l", "2024-01-03"], { home: h.home })).code, 0);
    assert.equal((await runOrch(["dags", "trigger", "upstream_dag", "-l", "2024-01-03"], { home: h.home })).code, 0);
    await waitFor("guarded failed", async () => (await runState(h.home, "guarded_dag")) === "failed");
    const g = await tis(h.home, "guarded_dag");
    assert.match(g.fails_with_it.state_reason ?? "", /external task\(s\) upstream_dag\.work failed/);
  });
});

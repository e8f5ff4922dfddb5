// Two `orch triggerer` processes on one PostgreSQL database beside `orch scheduler --no-triggerer`:
// every trigger fires in exactly one of them, both take a share, and when one is killed the other
// takes over its triggers once its heartbeat stops.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { describe, it } from "node:test";
import { ORCH_BIN, runOrch } from "../helpers/cli.ts";
import { schedulerSuite, writeDag } from "../helpers/engine.ts";
import { pgSkipReason } from "../helpers/pg.ts";
import { killHard, waitFor, withStoreOf, type SchedulerProcess } from "../helpers/scheduler-process.ts";

function startTriggerer(home: string, env: Record<string, string>, capacity: number): SchedulerProcess {
  const child = spawn(process.execPath, [ORCH_BIN, "triggerer", "--capacity", String(capacity)], { env: { ...process.env, ORCH_HOME: home, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout!.on("data", (b) => (out += b));
  child.stderr!.on("data", (b) => (out += b));
  return Object.assign(child, { output: () => out });
}

// The triggerer logs each recorded batch: "fired trigger(s) 4, 5, 9: 3 task(s) resume".
const fired = (out: string) => [...out.matchAll(/fired trigger\(s\) ([\d, ]+):/g)].flatMap((m) => m[1].split(", ").map(Number));

describe("postgres: two triggerers", { skip: await pgSkipReason() }, () => {
  const h = schedulerSuite({ stop: "SIGKILL", postgres: "two_triggerers", env: { ORCH__TRIGGERER__JOB_HEARTBEAT_SEC: "0.5", ORCH__TRIGGERER__TRIGGERER_HEALTH_CHECK_THRESHOLD: "2" } });
  const store = <T>(fn: Parameters<typeof withStoreOf<T>>[1]) => withStoreOf(h.home, fn, h.db.url);
  const runState = (dagId: string) => store(async (s) => (await s.db.selectFrom("dag_run").select("state").where("dag_id", "=", dagId).executeTakeFirst())?.state);

  it("each trigger fires in exactly one triggerer; a killed triggerer's triggers are taken over", async () => {
    await writeDag(
      h.dags,
      "many.ts",
      `import { dag, task, TimeDeltaTrigger, type TaskContext } from "orch";
for (const [id, n, secs] of [["many_a", 24, 3], ["many_b", 12, 8]] as const) {
  dag({ dag_id: id, schedule: null, start_date: "2024-01-01", is_paused_upon_creation: false }, () => {
    for (let i = 0; i < n; i++) {
      task({ task_id: "t" + i, methods: { execute_complete: () => i } }, async (ctx: TaskContext) => ctx.defer({ trigger: TimeDeltaTrigger({ seconds: secs }) }))();
    }
  });
}
`,
    );
    h.start(["--no-triggerer", "-p", "4"]);
    const a = h.track(startTriggerer(h.home, h.env, 15));
    const b = h.track(startTriggerer(h.home, h.env, 15));
    await waitFor("DAGs parsed", () => store(async (s) => (await s.db.selectFrom("dag").select("dag_id").execute()).length === 2));

    // 24 triggers, 15 a triggerer: both must take a share.
    assert.equal((await runOrch(["dags", "trigger", "many_a"], { home: h.home, env: h.env })).code, 0);
    await waitFor("many_a succeeded", async () => (await runState("many_a")) === "success", 120_000);
    const fa = fired(a.output());
    const fb = fired(b.output());
    assert.equal(new Set([...fa, ...fb]).size, 24, `${a.output()}\n${b.output()}`);
    assert.equal(fa.length + fb.length, 24, "a trigger fired twice");
    assert.ok(fa.length > 0 && fb.length > 0, `both triggerers take a share (${fa.length} / ${fb.length})`);

    // Kill one while it holds triggers: the other takes them over and every task resumes once.
    assert.equal((await runOrch(["dags", "trigger", "many_b"], { home: h.home, env: h.env })).code, 0);
    const jobOfA = await waitFor("a owns some of many_b's triggers", () =>
      store(async (s) => {
        const owners = await s.db
          .selectFrom("trigger as t")
          .innerJoin("task_instance as ti", "ti.trigger_id", "t.id")
          .select("t.triggerer_id")
          .where("ti.dag_id", "=", "many_b")
          .execute();
        if (owners.length < 12 || owners.some((o) => o.triggerer_id === null)) return undefined;
        const aJob = await s.db.selectFrom("job").select("id").where("job_type", "=", "TriggererJob").where("pid", "=", a.pid!).where("state", "=", "running").executeTakeFirst();
        return aJob && owners.some((o) => o.triggerer_id === aJob.id) ? aJob.id : undefined;
      }),
    );
    const beforeKill = fired(a.output()).length;
    await killHard(a);
    await waitFor("many_b succeeded", async () => (await runState("many_b")) === "success", 120_000);
    const all = [...fired(a.output()), ...fired(b.output())];
    assert.equal(all.length, 36, "every trigger fired once");
    assert.equal(new Set(all).size, 36, "no trigger fired twice");
    assert.equal(fired(a.output()).length, beforeKill, "the killed triggerer fired nothing more");
    await store(async (s) => {
      assert.equal((await s.db.selectFrom("trigger").selectAll().where("triggerer_id", "=", jobOfA).execute()).length, 0);
      const tries = await s.db.selectFrom("task_instance").select("try_number").where("dag_id", "=", "many_b").execute();
      assert.ok(tries.every((t) => t.try_number === 1), "expected tries.every((t) => t.try_number === 1)");
    });
  });
});

// Two real `orch scheduler` processes on one PostgreSQL database: per-DAG limits hold across them,
// a live scheduler's tries are never touched, and a dead one's are recovered by the other.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { runOrch } from "../helpers/cli.ts";
import { latestRunStates, schedulerSuite, writeDag } from "../helpers/engine.ts";
import { pgSkipReason } from "../helpers/pg.ts";
import { killHard, waitFor, withStoreOf } from "../helpers/scheduler-process.ts";

/** The most intervals open at one instant. */
function maxOverlap(intervals: { start: number; end: number }[]): number {
  const points = intervals.flatMap((i) => [
    [i.start, 1],
    [i.end, -1],
  ]);
  // An end at the same instant as a start closes first: touching is not overlapping.
  points.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let open = 0;
  let most = 0;
  for (const [, d] of points) most = Math.max(most, (open += d));
  return most;
}

describe("postgres: two schedulers", { skip: await pgSkipReason() }, () => {
  const h = schedulerSuite({ stop: "SIGKILL", postgres: "two_schedulers", env: { ORCH__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT: "3", ORCH__SCHEDULER__SCHEDULER_HEARTBEAT_SEC: "1" } });
  const store = <T>(fn: Parameters<typeof withStoreOf<T>>[1]) => withStoreOf(h.home, fn, h.db.url);
  const parsed = (dagId: string) => () => store((s) => s.db.selectFrom("dag").select("dag_id").where("dag_id", "=", dagId).executeTakeFirst());

  it("max_active_tasks: 1 and max_active_runs: 1 hold with two schedulers of three slots each", async () => {
    await writeDag(
      h.dags,
      "capped.ts",
      `import { dag, bash } from "orch";
export const t = dag({ dag_id: "capped_tasks", schedule: null, start_date: "2024-01-01", max_active_tasks: 1, is_paused_upon_creation: false }, () => {
  for (let i = 0; i < 8; i++) bash({ task_id: "t" + i, command: "sleep 0.3" });
});
export const r = dag({ dag_id: "capped_runs", schedule: null, start_date: "2024-01-01", max_active_runs: 1, is_paused_upon_creation: false }, () => {
  bash({ task_id: "x", command: "sleep 0.3" });
  bash({ task_id: "y", command: "sleep 0.3" });
});
`,
    );
    const a = h.start(["-p", "3"]);
    const b = h.start(["-p", "3"]);
    await waitFor("capped parsed", parsed("capped_runs"));
    assert.equal((await runOrch(["dags", "trigger", "capped_tasks"], { home: h.home, env: h.env })).code, 0);
    for (let i = 0; i < 4; i++) {
      const t = await runOrch(["dags", "trigger", "capped_runs", "-r", `r${i}`], { home: h.home, env: h.env });
      assert.equal(t.code, 0, t.stderr);
    }
    const rows = await waitFor(
      "all runs finished",
      () =>
        store(async (s) => {
          const runs = await s.db.selectFrom("dag_run").selectAll().where("dag_id", "in", ["capped_tasks", "capped_runs"]).execute();
          return runs.length === 5 && runs.every((r) => r.state === "success") ? runs : undefined;
        }),
      120_000,
    ).catch((e: Error) => {
      throw new Error(`${e.message}\nA:\n${a!.output()}\nB:\n${b!.output()}`);
    });
    const tis = await store((s) => s.db.selectFrom("task_instance").selectAll().where("dag_id", "=", "capped_tasks").execute());
    const jobs = new Set(tis.map((t) => t.queued_by_job_id));
    assert.equal(maxOverlap(tis.map((t) => ({ start: Date.parse(t.start_date!), end: Date.parse(t.end_date!) }))), 1, "max_active_tasks: 1 was exceeded");
    const runs = rows.filter((r) => r.dag_id === "capped_runs");
    assert.equal(maxOverlap(runs.map((r) => ({ start: Date.parse(r.start_date!), end: Date.parse(r.end_date!) }))), 1, "max_active_runs: 1 was exceeded");
    assert.ok(jobs.size >= 1, "expected jobs.size >= 1");
  });

  it("a live scheduler's try is never touched by the other; a SIGKILLed one's is recovered by the other, which stays up", async () => {
    const marker = join(h.home, "started-once");
    await writeDag(
      h.dags,
      "long.ts",
      `import { dag, bash } from "orch";
export default dag({ dag_id: "long", schedule: null, start_date: "2024-01-01", is_paused_upon_creation: false }, () => {
  bash({ task_id: "work", retries: 0, command: "if [ -f ${marker} ]; then echo second; else touch ${marker}; sleep 120; fi" });
});
`,
    );
    const a = h.start();
    const b = h.start();
    await waitFor("long parsed", parsed("long"));
    assert.equal((await runOrch(["dags", "trigger", "long"], { home: h.home, env: h.env })).code, 0);
    await waitFor("work's command started", async () => existsSync(marker));
    const owner = await store(async (s) => {
      const ti = await s.db.selectFrom("task_instance").selectAll().where("dag_id", "=", "long").executeTakeFirstOrThrow();
      return s.db.selectFrom("job").selectAll().where("id", "=", ti.queued_by_job_id!).executeTakeFirstOrThrow();
    });
    const [holder, other] = owner.pid === a.pid ? [a, b] : [b, a];
    assert.equal(owner.pid, holder.pid);
    // Both heartbeat past the timeout while the try runs: the other leaves it alone.
    const since = Date.now();
    await waitFor("both jobs heartbeat beyond the timeout", () =>
      store(async (s) => {
        const jobs = await s.db.selectFrom("job").selectAll().where("state", "=", "running").execute();
        const fresh = jobs.filter((j) => Date.parse(j.latest_heartbeat) > since + 4000);
        return fresh.length >= 2 ? fresh : undefined;
      }),
    );
    const still = await latestRunStates(h.home, "long", h.db.url);
    assert.equal(still.states.work, "running");
    assert.equal(still.tries.work, 1);

    await killHard(holder);
    const done = await waitFor("long finished", async () => {
      const r = await latestRunStates(h.home, "long", h.db.url);
      return r.runState === "success" || r.runState === "failed" ? r : undefined;
    }).catch((e: Error) => {
      throw new Error(`${e.message}\nsurvivor:\n${other.output()}`);
    });
    assert.equal(done.runState, "success", other.output());
    assert.equal(done.tries.work, 2);
    assert.equal(other.exitCode, null, "the survivor is still running");
    const history = await store((s) => s.db.selectFrom("task_instance_history").selectAll().where("dag_id", "=", "long").orderBy("try_number").execute());
    assert.equal(history[0].interrupted, 1);
    assert.match(history[0].state_reason ?? "", new RegExp(`job ${owner.id}`));
    const dead = await store((s) => s.db.selectFrom("job").selectAll().where("id", "=", owner.id).executeTakeFirstOrThrow());
    assert.equal(dead.state, "failed");
  });
  it("a try one scheduler claimed ahead while its worker is busy is given back, and the other scheduler runs it meanwhile", async () => {
    const marker = join(h.home, "long-started");
    const ended = join(h.home, "long-ended");
    await writeDag(
      h.dags,
      "ahead.ts",
      `import { dag, bash } from "orch";
export default dag({ dag_id: "ahead", schedule: null, start_date: "2024-01-01", is_paused_upon_creation: false }, () => {
  bash({ task_id: "long", priority_weight: 10, command: "touch ${marker}; sleep 12; touch ${ended}" });
  for (let i = 0; i < 3; i++) bash({ task_id: "short" + i, command: "test ! -f ${ended}" });
});
`,
    );
    // A (one worker) takes long and, seeing three more, claims one of them ahead for that worker.
    const a = h.start(["-p", "1"]);
    await waitFor("ahead parsed", parsed("ahead"));
    assert.equal((await runOrch(["dags", "trigger", "ahead"], { home: h.home, env: h.env })).code, 0);
    await waitFor("long's command started", async () => existsSync(marker));
    const b = h.start(["-p", "1"]);
    const done = await waitFor(
      "ahead finished",
      async () => {
        const r = await latestRunStates(h.home, "ahead", h.db.url);
        return r.runState === "success" || r.runState === "failed" ? r : undefined;
      },
      120_000,
    ).catch((e: Error) => {
      throw new Error(`${e.message}\nA:\n${a.output()}\nB:\n${b.output()}`);
    });
    // Each short task checks that long has not ended yet: none waited for A's worker.
    assert.equal(done.runState, "success", `A:\n${a.output()}\nB:\n${b.output()}`);
    const tis = await store((s) => s.db.selectFrom("task_instance").innerJoin("job", "job.id", "task_instance.queued_by_job_id").select(["task_id", "job.pid"]).where("dag_id", "=", "ahead").execute());
    const by = Object.fromEntries(tis.map((t) => [t.task_id, t.pid]));
    assert.equal(by.long, a.pid);
    for (const t of ["short0", "short1", "short2"]) assert.equal(by[t], b.pid, `${t} ran on the busy scheduler`);
  });
});

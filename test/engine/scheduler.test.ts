// The long-running scheduler as a real process: catchup, event-driven runs, SIGTERM draining, and
// recovery after SIGKILL mid-task.
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { runOrch } from "../helpers/cli.ts";
import { latestRunStates, schedulerSuite, writeDag } from "../helpers/engine.ts";
import { exited, waitFor, withStoreOf } from "../helpers/scheduler-process.ts";

describe("orch scheduler", () => {
  const h = schedulerSuite({ stop: "SIGKILL" });

  it("creates the runs catchup asks for, and only the latest without it", async () => {
    const start = new Date(Date.now() - 3 * 86_400_000).toISOString().slice(0, 10);
    await writeDag(
      h.dags,
      "daily.ts",
      `import { dag, empty } from "orch";
export const a = dag({ dag_id: "daily_catchup", schedule: "@daily", start_date: "${start}", catchup: true, is_paused_upon_creation: false }, () => { empty({ task_id: "t" }); });
export const b = dag({ dag_id: "daily_latest", schedule: "@daily", start_date: "${start}", catchup: false, is_paused_upon_creation: false }, () => { empty({ task_id: "t" }); });
`,
    );
    const child = h.start();
    const runs = await waitFor("runs to finish", () =>
      withStoreOf(h.home, async (s) => {
        const rows = await s.db.selectFrom("dag_run").select(["dag_id", "state", "run_type", "logical_date"]).execute();
        const a = rows.filter((r) => r.dag_id === "daily_catchup");
        return a.length >= 3 && rows.every((r) => r.state === "success") ? rows : undefined;
      }),
    );
    const a = runs.filter((r) => r.dag_id === "daily_catchup");
    const b = runs.filter((r) => r.dag_id === "daily_latest");
    // CronTriggerTimetable: a run at each midnight tick from start_date (3 days ago) up to now.
    assert.equal(a.length, 4);
    assert.equal(b.length, 1);
    assert.ok(a.every((r) => r.run_type === "scheduled"), "expected a.every((r) => r.run_type === \"scheduled\")");
    assert.equal(b[0].logical_date, new Date(new Date().toISOString().slice(0, 10) + "T00:00:00Z").toISOString());
  });

  it("runs a triggered DAG at once (another process's trigger nudges it), and SIGTERM lets the running task finish", async () => {
    await writeDag(
      h.dags,
      "slow.ts",
      `import { dag, bash } from "orch";
export default dag({ dag_id: "slow", schedule: null, start_date: "2024-01-01", is_paused_upon_creation: false }, () => {
  bash({ task_id: "nap", command: "sleep 2; echo rested" });
});
`,
    );
    const child = h.start();
    await waitFor("slow parsed", () => withStoreOf(h.home, (s) => s.db.selectFrom("dag").select("dag_id").where("dag_id", "=", "slow").executeTakeFirst()));
    const t = await runOrch(["dags", "trigger", "slow"], { home: h.home });
    assert.equal(t.code, 0, t.stderr);
    await waitFor("nap running", async () => (await latestRunStates(h.home, "slow")).states.nap === "running");
    child.kill("SIGTERM");
    const code = await exited(child);
    assert.equal(code, 0, child.output());
    const r = await latestRunStates(h.home, "slow");
    assert.equal(r.states.nap, "success");
  });

  it("the local executor (-p 2) runs independent tasks at the same time; the sequential one does not", async () => {
    await writeDag(
      h.dags,
      "pair.ts",
      `import { dag, bash } from "orch";
export default dag({ dag_id: "pair", schedule: null, start_date: "2024-01-01", is_paused_upon_creation: false }, () => {
  bash({ task_id: "a", command: "sleep 1" });
  bash({ task_id: "b", command: "sleep 1" });
});
`,
    );
    const overlap = async (args: string[]) => {
      const child = h.start(args);
      await waitFor("pair parsed", () => withStoreOf(h.home, (s) => s.db.selectFrom("dag").select("dag_id").where("dag_id", "=", "pair").executeTakeFirst()));
      assert.equal((await runOrch(["dags", "trigger", "pair"], { home: h.home })).code, 0);
      const r = await waitFor("pair finished", async () => ((await latestRunStates(h.home, "pair")).runState === "success" ? true : undefined));
      assert.ok(r, "expected r");
      const tis = await withStoreOf(h.home, async (s) => {
        const run = await s.db.selectFrom("dag_run").select("run_id").where("dag_id", "=", "pair").orderBy("id", "desc").executeTakeFirstOrThrow();
        return s.db.selectFrom("task_instance").select(["start_date", "end_date"]).where("run_id", "=", run.run_id).execute();
      });
      child.kill("SIGTERM");
      await exited(child);
      const [x, y] = tis.map((t) => [Date.parse(t.start_date!), Date.parse(t.end_date!)]);
      return x[0] < y[1] && y[0] < x[1];
    };
    assert.equal(await overlap(["-p", "2"]), true, "with two workers the sleeps overlap");
    assert.equal(await overlap([]), false, "the sequential executor runs one at a time");
  });

  it("a task a branch skipped stays skipped when it is cleared (Not Previously Skipped)", async () => {
    await writeDag(
      h.dags,
      "branchy.ts",
      `import { dag, task, empty } from "orch";
export default dag({ dag_id: "branchy", schedule: null, start_date: "2024-01-01", is_paused_upon_creation: false }, () => {
  task.branch({ task_id: "pick" }, async () => "left")().then([empty({ task_id: "left" }), empty({ task_id: "right" })]);
});
`,
    );
    const child = h.start();
    await waitFor("branchy parsed", () => withStoreOf(h.home, (s) => s.db.selectFrom("dag").select("dag_id").where("dag_id", "=", "branchy").executeTakeFirst()));
    assert.equal((await runOrch(["dags", "trigger", "branchy"], { home: h.home })).code, 0);
    const finished = async () => {
      const r = await latestRunStates(h.home, "branchy");
      return r.runState === "success" ? r : undefined;
    };
    const first = await waitFor("branchy finished", finished);
    assert.deepEqual(first.states, { pick: "success", left: "success", right: "skipped" });
    const cleared = await runOrch(["tasks", "clear", "branchy", "-t", "^right$", "--yes"], { home: h.home });
    assert.equal(cleared.code, 0, cleared.stderr);
    // The clear committed (run queued, right none) before the CLI returned, so the next success is
    // a re-run; the reason below is the dep's, not the branch's original "skipped by branch pick".
    const again = await waitFor("branchy finished again", finished);
    assert.deepEqual(again.states, { pick: "success", left: "success", right: "skipped" });
    assert.match(again.reasons.right ?? "", /previous XCom result from parent task pick/);
  });

  it("after SIGKILL mid-task, a restart records the try as interrupted and runs it again without spending a retry", async () => {
    const marker = join(h.home, "second-try");
    await writeDag(
      h.dags,
      "victim.ts",
      `import { dag, bash } from "orch";
export default dag({ dag_id: "victim", schedule: null, start_date: "2024-01-01", is_paused_upon_creation: false }, () => {
  bash({ task_id: "work", retries: 0, command: "if [ -f ${marker} ]; then echo second; else touch ${marker}; sleep 60; fi" });
});
`,
    );
    let child = h.start();
    await waitFor("victim parsed", () => withStoreOf(h.home, (s) => s.db.selectFrom("dag").select("dag_id").where("dag_id", "=", "victim").executeTakeFirst()));
    assert.equal((await runOrch(["dags", "trigger", "victim"], { home: h.home })).code, 0);
    // Running in the store is not yet running in bash: wait for the command's own mark.
    await waitFor("work's command started", async () => existsSync(marker));
    child.kill("SIGKILL");
    await exited(child);
    assert.equal((await latestRunStates(h.home, "victim")).states.work, "running");
    child = h.start();
    const done = await waitFor("victim finished", async () => {
      const r = await latestRunStates(h.home, "victim");
      return r.runState === "success" || r.runState === "failed" ? r : undefined;
    }).catch(async (e) => {
      throw new Error(`${(e as Error).message}; scheduler said:\n${child.output()}\nstates: ${JSON.stringify(await latestRunStates(h.home, "victim"))}`);
    });
    assert.equal(done.runState, "success", child.output());
    assert.equal(done.tries.work, 2);
    const history = await withStoreOf(h.home, (s) =>
      s.db.selectFrom("task_instance_history").select(["try_number", "state", "state_reason", "interrupted"]).where("dag_id", "=", "victim").orderBy("try_number").execute(),
    );
    assert.equal(history[0].interrupted, 1);
    assert.match(history[0].state_reason ?? "", /^interrupted: its scheduler .* died or stopped/);
    const run = done.runId!;
    const firstLog = readFileSync(join(h.home, "logs", "dag_id=victim", `run_id=${run}`, "task_id=work", "attempt=1.log"), "utf8");
    assert.match(firstLog, /interrupted: .*It runs again as a new try \(interrupted 1 of at most 3 times\)/);
    assert.equal(history[1].state, "success");
    assert.equal(history[1].interrupted, 0);
  });
});

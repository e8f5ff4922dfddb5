// Faults around a try, with real scheduler processes on SQLite: a clear while the try runs, SIGKILL
// loops, a step between claim and outcome that breaks, and a manual run on a scheduled date.
import assert from "node:assert/strict";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { runOrch } from "../helpers/cli.ts";
import { latestRunStates, schedulerSuite, writeDag } from "../helpers/engine.ts";
import { killHard, waitFor, withStoreOf } from "../helpers/scheduler-process.ts";

const parsed = (home: string, dagId: string) => () =>
  withStoreOf(home, (s) => s.db.selectFrom("dag").select("dag_id").where("dag_id", "=", dagId).executeTakeFirst());

describe("recovery and faults (SQLite)", () => {
  const h = schedulerSuite({ stop: "SIGKILL" });

  it("a manual run on the next logical date does not stop the timetable: the scheduler steps over it", async () => {
    const start = new Date(Date.now() - 2 * 86_400_000).toISOString().slice(0, 10);
    await writeDag(
      h.dags,
      "taken.ts",
      `import { dag, empty } from "orch";
export default dag({ dag_id: "taken", schedule: "@daily", start_date: "${start}", catchup: true }, () => { empty({ task_id: "t" }); });
`,
    );
    const child = h.start();
    await waitFor("taken parsed", parsed(h.home, "taken"));
    const t = await runOrch(["dags", "trigger", "taken", "-l", start], { home: h.home });
    assert.equal(t.code, 0, t.stderr);
    assert.equal((await runOrch(["dags", "unpause", "taken"], { home: h.home })).code, 0);
    const runs = await waitFor("the later scheduled runs", () =>
      withStoreOf(h.home, async (s) => {
        const rows = await s.db.selectFrom("dag_run").select(["run_type", "logical_date"]).where("dag_id", "=", "taken").orderBy("logical_date").execute();
        return rows.filter((r) => r.run_type === "scheduled").length >= 2 ? rows : undefined;
      }),
    );
    assert.deepEqual(
      runs.map((r) => r.run_type),
      ["manual", "scheduled", "scheduled"],
    );
    const next = await withStoreOf(h.home, (s) => s.db.selectFrom("dag").select("next_dagrun").where("dag_id", "=", "taken").executeTakeFirstOrThrow());
    assert.ok(next.next_dagrun && Date.parse(next.next_dagrun) > Date.now() - 86_400_000, `next_dagrun moves on (${next.next_dagrun})`);
  });

  it("clearing a running task terminates its try, discards the outcome and runs a new try, never two at once", async () => {
    const marks = join(h.home, "clear-marks");
    await writeDag(
      h.dags,
      "cleared.ts",
      `import { dag, bash } from "orch";
export default dag({ dag_id: "cleared", schedule: null, start_date: "2024-01-01", is_paused_upon_creation: false }, () => {
  bash({ task_id: "work", command: "for p in $(cat ${marks}.pids 2>/dev/null); do kill -0 $p 2>/dev/null && echo overlap >> ${marks}; done; echo $$ >> ${marks}.pids; if [ -f ${marks}.second ]; then echo second; else touch ${marks}.second; sleep 60; fi" });
});
`,
    );
    // -p 2: a free slot, so a second copy could start if the first were not stopped.
    const child = h.start(["-p", "2"], { ORCH__CORE__KILLED_TASK_CLEANUP_TIME: "2" });
    await waitFor("cleared parsed", parsed(h.home, "cleared"));
    assert.equal((await runOrch(["dags", "trigger", "cleared"], { home: h.home })).code, 0);
    await waitFor("the first try's command started", async () => existsSync(`${marks}.second`));
    const c = await runOrch(["tasks", "clear", "cleared", "-t", "^work$", "--yes"], { home: h.home });
    assert.equal(c.code, 0, c.stderr);
    const done = await waitFor("cleared finished", async () => {
      const r = await latestRunStates(h.home, "cleared");
      return r.runState === "success" || r.runState === "failed" ? r : undefined;
    }).catch((e: Error) => {
      throw new Error(`${e.message}\n${child.output()}`);
    });
    assert.equal(done.runState, "success", `${JSON.stringify(done)}\n${child.output()}`);
    assert.equal(done.tries.work, 2);
    assert.equal(existsSync(marks), false, "the second try started while the first one's command still ran");
    const history = await withStoreOf(h.home, (s) =>
      s.db.selectFrom("task_instance_history").select(["try_number", "state"]).where("dag_id", "=", "cleared").orderBy("try_number").execute(),
    );
    assert.deepEqual(
      history.map((x) => [x.try_number, x.state]),
      [
        [1, "restarting"],
        [2, "success"],
      ],
    );
  });

  it("a scheduler SIGKILLed again and again: the run ends success, no retry spent, each task's work done by one finishing try", async () => {
    const effects = join(h.home, "effects");
    writeFileSync(effects, "");
    await writeDag(
      h.dags,
      "killed.ts",
      `import { dag, bash, chain } from "orch";
export default dag({ dag_id: "killed", schedule: null, start_date: "2024-01-01", is_paused_upon_creation: false }, () => {
  chain(...["a", "b", "c", "d"].map((id) => bash({ task_id: id, retries: 0, command: "sleep 0.7; echo " + id + " {{ ti.try_number }} >> ${effects}" })));
});
`,
    );
    const env = { ORCH__SCHEDULER__MAX_INTERRUPTED_TRIES: "50" };
    let child = h.start([], env);
    await waitFor("killed parsed", parsed(h.home, "killed"));
    assert.equal((await runOrch(["dags", "trigger", "killed"], { home: h.home })).code, 0);
    // Kill whenever a task is running, six times; a fresh scheduler each time.
    for (let kill = 0; kill < 6; kill++) {
      const r = await waitFor("a running task", async () => {
        const s = await latestRunStates(h.home, "killed");
        return s.runState === "success" || Object.values(s.states).includes("running") ? s : undefined;
      });
      if (r.runState === "success") break;
      await new Promise((res) => setTimeout(res, 100 + ((kill * 137) % 500)));
      await killHard(child);
      child = h.start([], env);
    }
    const done = await waitFor("killed finished", async () => {
      const r = await latestRunStates(h.home, "killed");
      return r.runState === "success" || r.runState === "failed" ? r : undefined;
    });
    assert.equal(done.runState, "success", JSON.stringify(done));
    const lines = readFileSync(effects, "utf8").trim().split("\n");
    for (const id of ["a", "b", "c", "d"]) {
      assert.equal(done.states[id], "success");
      // The finishing try's effect is there exactly once; an interrupted try never ran beside it.
      assert.equal(lines.filter((l) => l === `${id} ${done.tries[id]}`).length, 1, lines.join("\n"));
    }
    const history = await withStoreOf(h.home, (s) => s.db.selectFrom("task_instance_history").select(["state", "interrupted"]).where("dag_id", "=", "killed").execute());
    assert.ok(history.some((x) => x.interrupted === 1), "some try was interrupted");
    assert.ok(history.every((x) => x.state !== "failed"), "expected history.every((x) => x.state !== \"failed\")");
  });

  it("after a scheduler SIGKILL, the previous try is dead before the recovered one runs (bash trapping SIGTERM, a TaskFlow busy loop)", async () => {
    const dir = join(h.home, "beside");
    await writeDag(
      h.dags,
      "beside.ts",
      `import { dag, bash, task } from "orch";
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
const dir = ${JSON.stringify(dir)};
export default dag({ dag_id: "beside", schedule: null, start_date: "2024-01-01", is_paused_upon_creation: false }, () => {
  bash({ task_id: "trapper", retries: 0, command: "mkdir -p " + dir + "; if [ -f " + dir + "/trapper.pid ]; then kill -0 $(cat " + dir + "/trapper.pid) 2>/dev/null && echo trapper >> " + dir + "/overlap; exit 0; fi; echo $$ > " + dir + "/trapper.pid; trap '' TERM; while true; do sleep 0.2; done" });
  task({ task_id: "spinner", retries: 0 }, async () => {
    mkdirSync(dir, { recursive: true });
    const f = dir + "/spinner.pid";
    if (existsSync(f)) {
      // Alive and not a zombie: the previous try's worker still running.
      try {
        const stat = readFileSync("/proc/" + readFileSync(f, "utf8") + "/stat", "utf8");
        if (!/^[ZX]/.test(stat.slice(stat.lastIndexOf(")") + 2))) appendFileSync(dir + "/overlap", "spinner\\n");
      } catch {}
      return "second";
    }
    writeFileSync(f, String(process.pid));
    for (;;) {}
  })();
});
`,
    );
    let child = h.start(["-p", "2"]);
    await waitFor("beside parsed", parsed(h.home, "beside")).catch(async (e: Error) => {
      const errors = await withStoreOf(h.home, (s) => s.db.selectFrom("import_error").selectAll().execute());
      throw new Error(`${e.message}\n${child.output()}\n${JSON.stringify(errors)}`);
    });
    assert.equal((await runOrch(["dags", "trigger", "beside"], { home: h.home })).code, 0);
    await waitFor("both first tries started", async () => existsSync(join(dir, "trapper.pid")) && existsSync(join(dir, "spinner.pid"))).catch(async (e: Error) => {
      throw new Error(`${e.message}: ${JSON.stringify(await latestRunStates(h.home, "beside"))}`);
    });
    await killHard(child);
    child = h.start(["-p", "2"]);
    const done = await waitFor("beside finished", async () => {
      const r = await latestRunStates(h.home, "beside");
      return r.runState === "success" || r.runState === "failed" ? r : undefined;
    }).catch((e: Error) => {
      throw new Error(`${e.message}
${child.output()}`);
    });
    assert.equal(done.runState, "success", child.output());
    assert.deepEqual(done.tries, { trapper: 2, spinner: 2 });
    assert.equal(existsSync(join(dir, "overlap")) ? readFileSync(join(dir, "overlap"), "utf8") : "", "", "a recovered try ran beside its previous try");
  });

  it("one run whose evaluation keeps failing is failed with the reason; the others go on", async () => {
    await writeDag(
      h.dags,
      "badrun.ts",
      `import { dag, empty } from "orch";
export const bad = dag({ dag_id: "badrun", schedule: null, start_date: "2024-01-01", is_paused_upon_creation: false }, () => { empty({ task_id: "a" }).then(empty({ task_id: "b" })); });
export const good = dag({ dag_id: "goodrun", schedule: null, start_date: "2024-01-01", is_paused_upon_creation: false }, () => { empty({ task_id: "t" }); });
`,
    );
    const child = h.start();
    await waitFor("goodrun parsed", parsed(h.home, "goodrun"));
    // A serialized DAG the evaluation chokes on (b's upstream list is not a list).
    await withStoreOf(h.home, async (s) => {
      const row = await s.db.selectFrom("serialized_dag").selectAll().where("dag_id", "=", "badrun").executeTakeFirstOrThrow();
      const data = JSON.parse(row.data) as { tasks: { task_id: string; upstream_task_ids: unknown }[] };
      for (const t of data.tasks) if (t.task_id === "b") t.upstream_task_ids = null;
      await s.db.updateTable("serialized_dag").set({ data: JSON.stringify(data), dag_hash: "corrupted" }).where("dag_id", "=", "badrun").execute();
    });
    assert.equal((await runOrch(["dags", "trigger", "badrun"], { home: h.home })).code, 0);
    assert.equal((await runOrch(["dags", "trigger", "goodrun"], { home: h.home })).code, 0);
    const [bad, good] = await waitFor("both runs ended", async () => {
      const b = await latestRunStates(h.home, "badrun");
      const g = await latestRunStates(h.home, "goodrun");
      return b.runState === "failed" && g.runState === "success" ? [b, g] : undefined;
    }).catch((e: Error) => {
      throw new Error(`${e.message}\n${child.output()}`);
    });
    assert.equal(good.states.t, "success");
    assert.match(child.output(), new RegExp(`evaluating badrun ${bad.runId!.replace(/[+.]/g, "\\$&")} \\(dag_run\\.id \\d+\\) failed`));
    // The run is failed in the store a moment before the scheduler's line reaches this process.
    await waitFor("the scheduler says why the run failed", async () => (/its evaluation failed 3 times in a row/.test(child.output()) ? true : undefined)).catch((e: Error) => {
      throw new Error(`${e.message}\n${child.output()}`);
    });
  });

  it("a try whose log cannot be opened ends failed with a reason that says so (never stays running)", async () => {
    await writeDag(
      h.dags,
      "nolog.ts",
      `import { dag, empty } from "orch";
export default dag({ dag_id: "nolog", schedule: null, start_date: "2024-01-01" }, () => { empty({ task_id: "t" }); });
`,
    );
    const blocker = join(h.home, "not-a-folder");
    writeFileSync(blocker, "");
    const r = await runOrch(["dags", "test", "nolog"], { home: h.home, env: { ORCH__LOGGING__BASE_LOG_FOLDER: join(blocker, "logs") }, timeoutMs: 90_000 });
    const states = await latestRunStates(h.home, "nolog");
    assert.equal(states.runState, "failed", r.stdout + r.stderr);
    assert.equal(states.states.t, "failed");
    assert.match(states.reasons.t ?? "", /cannot open the task log/);
  });
});

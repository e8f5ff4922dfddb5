// `orch dags test` as the DAG author uses it: live task logs, a topological summary with whole
// reasons, a re-run that replaces the run at its date, stacks at the .ts line, Ctrl-C.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { createDagRun } from "../../src/store/dag-runs.ts";
import { openStore } from "../../src/store/index.ts";
import { deferTry } from "../../src/store/triggers.ts";
import { ORCH_BIN, runOrch } from "../helpers/cli.ts";
import { latestRunStates, migrateHome, writeDag } from "../helpers/engine.ts";
import { tempHome, type TempHome } from "../helpers/home.ts";
import { assertNoLeakedProcesses } from "../helpers/leaks.ts";

const LONG = "x".repeat(40) + " " + "the whole reason survives wrapping and ends here: TAILMARK";

// Line numbers matter: the stack tests assert my_dag.ts:8 and helpers/check.ts:3.
const MY_DAG = `import { dag, task } from "orch";

const extract = task({ task_id: "extract" }, async () => {
  console.log("extract says hello");
  return 3;
});
const load = task({ task_id: "load" }, async (n: number) => {
  if (n > 2) throw new Error(${JSON.stringify(LONG)});
  return n;
});

export default dag({ dag_id: "my_dag", schedule: null }, () => {
  load(extract());
});
`;

const HELPER = `// a helper module the DAG imports
export function mustBePositive(n: number): number {
  if (n <= 0) throw new RangeError("not positive: " + n);
  return n;
}
`;

const HELPER_DAG = `import { dag, task } from "orch";
import { mustBePositive } from "./helpers/check.ts";
const neg = task({ task_id: "neg" }, async () => mustBePositive(-1));
export default dag({ dag_id: "helper_dag", schedule: null }, () => { neg(); });
`;

const SLOW_DAG = `import { dag, task } from "orch";
const sleepy = task({ task_id: "sleepy" }, async () => {
  console.log("going to sleep");
  await new Promise((r) => setTimeout(r, 600_000));
});
export default dag({ dag_id: "slow_dag", schedule: null }, () => { sleepy(); });
`;

const ODD_DAG = `import { dag, task } from "orch";
const nothing = task({ task_id: "nothing" }, async () => {
  throw null;
});
const dies = task({ task_id: "dies" }, async () => {
  process.kill(process.pid, "SIGKILL");
});
export default dag({ dag_id: "odd_dag", schedule: null }, () => { nothing(); dies(); });
`;

async function waitFor<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

// A deferrable sensor: its try leaves the worker and waits on a trigger, which `dags test` must run.
const DEFER_DAG = `import { dag, task, timeDeltaSensor } from "orch";
const after = task({ task_id: "after" }, async () => "resumed");
export default dag({ dag_id: "defer_dag", schedule: null }, () => {
  timeDeltaSensor({ task_id: "wait", delta: { seconds: 1 }, deferrable: true }).then(after());
});
`;

describe("cli: dags test", () => {
  let h: TempHome;
  before(async () => {
    h = await tempHome();
    await writeDag(h.dags, "my_dag.ts", MY_DAG);
    await writeDag(h.dags, "slow_dag.ts", SLOW_DAG);
    await writeDag(h.dags, "odd_dag.ts", ODD_DAG);
    await writeDag(h.dags, "helper_dag.ts", HELPER_DAG);
    await writeDag(h.dags, "defer_dag.ts", DEFER_DAG);
    await mkdir(join(h.dags, "helpers"));
    await writeDag(join(h.dags, "helpers"), "check.ts", HELPER);
    await migrateHome(h.home);
  });
  after(async () => {
    await assertNoLeakedProcesses(h.home);
    await h.cleanup();
  });

  it("streams task logs prefixed with the task id, then a topological summary with the whole reason", async () => {
    const r = await runOrch(["dags", "test", "my_dag", "2024-01-01"], { home: h.home, timeoutMs: 120_000 });
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stdout, /^\[extract\] extract says hello$/m);
    const summary = r.stdout.slice(r.stdout.indexOf("task_id | state"));
    assert.ok(summary.indexOf("extract") < summary.indexOf("load"), summary);
    assert.match(summary, /TAILMARK/);
    assert.doesNotMatch(summary, /\.\.\.\n/);
    // The log lines come before the summary, not after it.
    assert.ok(r.stdout.indexOf("extract says hello") < r.stdout.indexOf("task_id | state"), "expected r.stdout.indexOf(\"extract says hello\") < r.stdout.indexOf(\"task_id | state\")");
  });

  it("a failed task's stack names the DAG's .ts file and line, without orch's frames", async () => {
    const r = await runOrch(["dags", "test", "my_dag", "2024-01-02"], { home: h.home, timeoutMs: 120_000 });
    assert.match(r.stdout, /^\[load\] ERROR\s+at .*my_dag\.ts:8:\d+\)?$/m, r.stdout);
    assert.doesNotMatch(r.stdout, /\.cache\/dags\/[0-9a-f]+\.mjs/);
    assert.doesNotMatch(r.stdout, /dist\/worker\.mjs/);
  });

  it("a stack through a helper module names the helper's .ts line, then the DAG's", async () => {
    const r = await runOrch(["dags", "test", "helper_dag", "2024-01-01"], { home: h.home, timeoutMs: 120_000 });
    assert.match(r.stdout, /^\[neg\] ERROR\s+at mustBePositive \(.*helpers\/check\.ts:3:\d+\)$/m, r.stdout);
    assert.match(r.stdout, /^\[neg\] ERROR\s+at .*helper_dag\.ts:3:\d+\)?$/m, r.stdout);
  });

  it("runs a deferred task's trigger, so a deferrable sensor resumes and the run succeeds; another run's trigger is left alone", async () => {
    // Another run's task, deferred on a trigger already due and owned by no triggerer (the
    // long-running one is down): `dags test` must not run it.
    const store = await openStore(`sqlite:///${join(h.home, "orch.db")}`);
    let other: { ti: number; trigger: number };
    try {
      other = await store.writeTransaction(async (trx) => {
        const when = new Date(Date.UTC(2024, 0, 1)).toISOString();
        const run = await createDagRun(
          trx,
          { dag_id: "someone_else", run_id: "manual__x", run_type: "manual", logical_date: when, data_interval_start: when, data_interval_end: when, run_after: when, conf: {}, triggered_by: "test", state: "running" },
          [{ task_id: "waits", retries: 0, priority_weight: 1, operator: "@task" }],
        );
        await trx.updateTable("task_instance").set({ state: "running", try_number: 1 }).where("dag_id", "=", "someone_else").execute();
        const ti = await trx.selectFrom("task_instance").selectAll().where("dag_id", "=", "someone_else").where("run_id", "=", run.run_id).executeTakeFirstOrThrow();
        const trigger = await deferTry(trx, ti, { classpath: "orch.triggers.DateTimeTrigger", kwargs: { moment: when }, method: "execute_complete", methodKwargs: {}, timeoutAt: null });
        assert.ok(trigger !== null, "the other task deferred");
        return { ti: ti.id, trigger };
      });
    } finally {
      await store.close();
    }
    const r = await runOrch(["dags", "test", "defer_dag", "2024-01-01", "--quiet"], { home: h.home, timeoutMs: 120_000 });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /DAG run .*: success/);
    assert.match(r.stdout, /wait\s+\|\s+success/);
    assert.match(r.stdout, /after\s+\|\s+success/);
    const s2 = await openStore(`sqlite:///${join(h.home, "orch.db")}`);
    try {
      const ti = await s2.db.selectFrom("task_instance").select(["state", "trigger_id"]).where("id", "=", other.ti).executeTakeFirstOrThrow();
      assert.deepEqual(ti, { state: "deferred", trigger_id: other.trigger }, "the other run's task still waits on its trigger");
      const trig = await s2.db.selectFrom("trigger").select("triggerer_id").where("id", "=", other.trigger).executeTakeFirst();
      assert.deepEqual(trig, { triggerer_id: null }, "the other run's trigger is still unowned");
    } finally {
      await s2.close();
    }
  });

  it("--quiet prints only the summary", async () => {
    const r = await runOrch(["dags", "test", "my_dag", "2024-01-03", "--quiet"], { home: h.home, timeoutMs: 120_000 });
    assert.doesNotMatch(r.stdout, /extract says hello/);
    assert.match(r.stdout, /task_id \| state/);
  });

  it("re-running a date replaces the run there, as Airflow's dag.test()", async () => {
    const again = await runOrch(["dags", "test", "my_dag", "2024-01-01", "--quiet"], { home: h.home, timeoutMs: 120_000 });
    assert.equal(again.code, 1, again.stderr);
    assert.match(again.stderr, /Replaced the existing run manual__2024-01-01T00:00:00\+00:00/);
    const store = await openStore(`sqlite:///${join(h.home, "orch.db")}`);
    try {
      const runs = await store.db.selectFrom("dag_run").select("run_id").where("dag_id", "=", "my_dag").where("logical_date", "=", "2024-01-01T00:00:00.000Z").execute();
      assert.equal(runs.length, 1);
    } finally {
      await store.close();
    }
  });

  it("tasks test warns, naming the upstream task, when its XCom does not exist", async () => {
    const none = await runOrch(["tasks", "test", "my_dag", "load", "2030-01-01"], { home: h.home });
    assert.match(none.stderr, /warning: upstream task "extract" has no XCom "return_value"/);
    // The run at 2024-01-01 has extract's XCom (3): no warning, and load sees 3 (and fails on it).
    const withRun = await runOrch(["tasks", "test", "my_dag", "load", "2024-01-01"], { home: h.home });
    assert.doesNotMatch(withRun.stderr, /warning: upstream/);
    assert.match(withRun.stdout, /TAILMARK/);
  });

  it("throw null says what was thrown; a dead worker's message is written once", async () => {
    const r = await runOrch(["dags", "test", "odd_dag", "2024-01-01", "--quiet"], { home: h.home, timeoutMs: 120_000 });
    assert.equal(r.code, 1);
    const s = await latestRunStates(h.home, "odd_dag");
    assert.match(s.reasons.nothing ?? "", /^threw null, not an Error, so there is no stack trace/);
    assert.match(s.reasons.dies ?? "", /the worker process \(pid \d+\) running this task was killed by SIGKILL/);
    const log = readFileSync(join(h.home, "logs", "dag_id=odd_dag", `run_id=${s.runId}`, "task_id=dies", "attempt=1.log"), "utf8");
    assert.equal(log.split("the worker process (pid").length - 1, 1, log);
  });

  // Ctrl-C at a terminal signals the whole process group (the CLI and its workers): the group
  // case starts the CLI as a group leader and signals the group.
  for (const [signal, date, group] of [["SIGINT", "2024-01-01", false], ["SIGTERM", "2024-01-02", false], ["SIGINT", "2024-01-03", true]] as const) {
    it(`${signal}${group ? " to the process group (Ctrl-C)" : ""} fails the run and its running try as interrupted, stops the worker, exits 130`, async () => {
      const child = spawn(process.execPath, [ORCH_BIN, "dags", "test", "slow_dag", date], {
        env: { ...process.env, ORCH_HOME: h.home, ORCH_DATABASE_URL: "" },
        cwd: h.home,
        stdio: ["ignore", "pipe", "pipe"],
        detached: group,
      });
      let out = "";
      child.stdout.on("data", (b: Buffer) => (out += b.toString()));
      child.stderr.on("data", (b: Buffer) => (out += b.toString()));
      const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
      await waitFor("sleepy to be running", async () => ((await latestRunStates(h.home, "slow_dag")).states.sleepy === "running" && out.includes("going to sleep") ? true : undefined));
      if (group) process.kill(-child.pid!, signal);
      else child.kill(signal);
      const code = await exited;
      assert.equal(code, 130, out);
      const s = await latestRunStates(h.home, "slow_dag");
      assert.equal(s.runState, "failed");
      assert.equal(s.states.sleepy, "failed");
      assert.equal(s.reasons.sleepy, "interrupted");
      assert.match(out, new RegExp(`${signal}: failing run`));
      await assertNoLeakedProcesses(h.home);
    });
  }
});

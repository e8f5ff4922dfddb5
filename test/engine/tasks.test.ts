// XCom, templates, params, branching, short-circuit, retries, timeouts, crashes and bad values,
// each through a real run of a real DAG file in a temp ORCH_HOME.
import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { runOrch } from "../helpers/cli.ts";
import { dagsTest, migrateHome, writeDag } from "../helpers/engine.ts";
import { tempHome, type TempHome } from "../helpers/home.ts";
import { assertNoLeakedProcesses } from "../helpers/leaks.ts";

function logOf(home: string, dagId: string, taskId: string, attempt = 1): string {
  const runs = readdirSync(join(home, "logs", `dag_id=${dagId}`));
  const run = runs.sort().at(-1)!;
  return readFileSync(join(home, "logs", `dag_id=${dagId}`, run, `task_id=${taskId}`, `attempt=${attempt}.log`), "utf8");
}

/** Alive and not a zombie (an orphan's zombie lingers where PID 1 does not reap). */
function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
  } catch {
    return false;
  }
}

const SOURCE = `import { dag, task, bash, empty, chain, Param, AirflowFailException } from "orch";

export const xcoms = dag({ dag_id: "xcoms", schedule: null, start_date: "2024-01-01", params: { n: Param(3, { type: "integer", minimum: 1 }) } }, () => {
  const extract = task({ task_id: "extract" }, async (ctx) => ({ n: ctx.params.n, ds: ctx.ds }));
  const double = task({ task_id: "double" }, async (x: { n: number }) => x.n * 2);
  const pushy = task({ task_id: "pushy" }, async (ctx) => { ctx.ti.xcom_push("extra", ["a", "b"]); console.log("pushed extra"); return ctx.ti.xcom_pull("double"); });
  const report = bash({ task_id: "report", command: "echo ds={{ ds }} double={{ ti.xcom_pull('double') }} n={{ params.n }} sum={{ ti.xcom_pull('add') }}" });
  const split = task({ task_id: "split", multiple_outputs: true }, async () => ({ a: 20, b: 22 }));
  const add = task({ task_id: "add" }, async (a: number, b: number) => a + b);
  const parts = split();
  const d = double(extract());
  d.then(pushy()).then(add(parts.get("a"), parts.get("b"))).then(report);
});

export const branching = dag({ dag_id: "branching", schedule: null, start_date: "2024-01-01" }, () => {
  const pick = task.branch({ task_id: "pick" }, async () => "left")();
  const left = empty({ task_id: "left" });
  const right = empty({ task_id: "right" });
  const after_right = empty({ task_id: "after_right" });
  const join = empty({ task_id: "join", trigger_rule: "none_failed_min_one_success" });
  const gate = task.short_circuit({ task_id: "gate" }, async () => 0)();
  const gated = empty({ task_id: "gated" });
  const gated2 = empty({ task_id: "gated2", trigger_rule: "all_done" });
  pick.then([left, right]);
  right.then(after_right);
  chain([left, after_right], join);
  join.then(gate);
  gate.then(gated).then(gated2);
});

export const retries = dag({ dag_id: "retries", schedule: null, start_date: "2024-01-01" }, () => {
  task({ task_id: "flaky", retries: 2, retry_delay: 1 }, async (ctx) => {
    if (ctx.ti.try_number < 3) throw new Error("not yet, try " + ctx.ti.try_number);
    return ctx.ti.try_number;
  })();
  task({ task_id: "hopeless", retries: 1, retry_delay: 1 }, async () => { throw new AirflowFailException("no point retrying"); })();
});

export const faults = dag({ dag_id: "faults", schedule: null, start_date: "2024-01-01" }, () => {
  task({ task_id: "throws" }, async () => { throw new TypeError("bad input"); })();
  task({ task_id: "not_json" }, async () => new Map([["a", 1]]))();
  task({ task_id: "too_big" }, async () => "x".repeat(70000))();
  task({ task_id: "crash" }, async () => { process.exit(3); })();
  task({ task_id: "killed" }, async () => { process.kill(process.pid, "SIGKILL"); })();
  task({ task_id: "hangs", execution_timeout: 1 }, async () => new Promise(() => {}))();
  bash({ task_id: "no_such_command", command: "definitely-not-a-command-orch" });
  bash({ task_id: "exit99", command: "echo skipping; exit 99" });
  bash({ task_id: "sleepy_bash", command: "sleep 30 & echo $! > {{ params.pidfile }}; wait", execution_timeout: 1 });
  empty({ task_id: "after_all" });
});
`;

describe("engine: real runs", () => {
  let h: TempHome;
  before(async () => {
    h = await tempHome();
    await migrateHome(h.home);
    await writeDag(h.dags, "engine.ts", SOURCE);
  });
  after(async () => {
    await assertNoLeakedProcesses(h.home);
    await h.cleanup();
  });

  it("XComs flow between TaskFlow tasks, via ti.xcom_push/pull, and into a bash template", async () => {
    const r = await dagsTest(h.home, "xcoms", ["2024-03-05"]);
    assert.equal(r.runState, "success", r.cli.stdout + r.cli.stderr);
    const report = logOf(h.home, "xcoms", "report");
    assert.match(report, /ds=2024-03-05 double=6 n=3 sum=42/);
    assert.match(logOf(h.home, "xcoms", "pushy"), /pushed extra/);
    const states = await runOrch(["tasks", "states-for-dag-run", "xcoms", r.runId!, "-o", "json"], { home: h.home });
    const rows = JSON.parse(states.stdout) as { task_id: string; state: string }[];
    assert.deepEqual(rows.map((x) => x.state), Array(6).fill("success"));
  });

  it("trigger conf is merged over params and validated before a run exists", async () => {
    const ok = await dagsTest(h.home, "xcoms", ["2024-03-06", "--conf", '{"n": 5}']);
    assert.equal(ok.runState, "success");
    assert.match(logOf(h.home, "xcoms", "report"), /double=10 n=5/);
    const before = await runOrch(["dags", "list-runs", "xcoms", "-o", "json"], { home: h.home });
    const bad = await runOrch(["dags", "trigger", "xcoms", "--conf", '{"n": 0}'], { home: h.home });
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /n.*minimum|minimum.*n/);
    const afterRuns = await runOrch(["dags", "list-runs", "xcoms", "-o", "json"], { home: h.home });
    assert.equal(JSON.parse(afterRuns.stdout).length, JSON.parse(before.stdout).length);
  });

  it("a branch skips what it does not follow; a falsy short-circuit skips all downstream", async () => {
    const r = await dagsTest(h.home, "branching");
    assert.deepEqual(r.states, {
      pick: "success",
      left: "success",
      right: "skipped",
      after_right: "skipped",
      join: "success",
      gate: "success",
      gated: "skipped",
      gated2: "skipped",
    });
    assert.equal(r.runState, "success");
  });

  it("retries until success, each try a history row; AirflowFailException skips the retries", async () => {
    const r = await dagsTest(h.home, "retries");
    assert.equal(r.states.flaky, "success");
    assert.equal(r.tries.flaky, 3);
    assert.equal(r.states.hopeless, "failed");
    assert.equal(r.tries.hopeless, 1);
    assert.match(logOf(h.home, "retries", "flaky", 1), /not yet, try 1/);
    assert.match(logOf(h.home, "retries", "flaky", 2), /UP_FOR_RETRY/);
  });

  it("each fault fails its task with a message that says which; the run goes on", async () => {
    const pidfile = join(h.home, "sleepy.pid");
    const r = await dagsTest(h.home, "faults", ["--conf", JSON.stringify({ pidfile })]);
    assert.equal(r.runState, "failed");
    assert.equal(r.states.after_all, "success");
    assert.equal(r.states.exit99, "skipped");
    for (const t of ["throws", "not_json", "too_big", "crash", "killed", "hangs", "no_such_command", "sleepy_bash"]) assert.equal(r.states[t], "failed", t);
    assert.match(r.reasons.killed ?? "", /was killed by SIGKILL \(out of memory, or killed from outside\)/);
    assert.match(r.reasons.throws ?? "", /TypeError: bad input/);
    assert.match(r.reasons.not_json ?? "", /not JSON: \$ is a Map/);
    assert.match(r.reasons.too_big ?? "", /70002 bytes, over the 65536-byte limit.*references, not data/);
    assert.match(r.reasons.crash ?? "", /exited with code 3/);
    assert.match(r.reasons.hangs ?? "", /timed out after 1 s/);
    assert.match(r.reasons.no_such_command ?? "", /exit code 127|not found/);
    assert.match(logOf(h.home, "faults", "no_such_command"), /definitely-not-a-command-orch: command not found/);
    // The timed-out bash task's whole process group is gone.
    const pid = Number(readFileSync(pidfile, "utf8").trim());
    assert.equal(processAlive(pid), false, `sleep ${pid} survived its task's timeout`);
  });
});

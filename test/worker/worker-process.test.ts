// The worker boundary with real worker processes and a real SQLite store: a task reads XComs,
// variables and connections over the channel (and only those it asks for), the scheduler's own
// environment is not passed on, raw stdout lands in its own try's log, workers are recycled after
// maxTasksPerWorker tasks, and a worker killed for a timeout never takes the next task.
import assert from "node:assert/strict";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, afterEach, before, describe, it } from "node:test";
import { createLocalExecutor, type Executor } from "../../src/executor/local-executor.ts";
import { createSecretsMasker } from "../../src/logging/index.ts";
import { answerTaskReads } from "../../src/scheduler/worker-reads.ts";
import { createDagRun } from "../../src/store/dag-runs.ts";
import { migrate, openStore, type Store } from "../../src/store/index.ts";
import { setXcoms } from "../../src/store/xcom.ts";
import type { RunTaskRequest, TaskOutcome, TaskRead } from "../../src/worker/protocol.ts";
import { tempHome, type TempHome } from "../helpers/home.ts";
import { assertNoLeakedProcesses } from "../helpers/leaks.ts";

const DAG = `import { dag, task, bash, Variable, Connection } from "orch";
export default dag({ dag_id: "w", schedule: null, start_date: "2024-01-01" }, () => {
  task({ task_id: "reads" }, async (ctx) => {
    const v = await Variable.get("greeting");
    const j = await Variable.get("cfg", { deserialize_json: true });
    const missing = await Variable.get("nope", { default: "fallback" });
    const c = await Connection.get("wh");
    const up = await ctx.ti.xcom_pull("up");
    const both = await ctx.ti.xcom_pull(["up", "nobody"]);
    const viaCtx = await ctx.var.get("greeting");
    const viaCtxConn = (await ctx.conn.get("wh")).login;
    return { v, j, missing, host: c.host, region: c.extra_dejson.region, up, both, viaCtx, viaCtxConn };
  })();
  task({ task_id: "leaks_password" }, async () => {
    const c = await Connection.get("wh");
    console.log("connecting with " + c.password);
    throw new Error("login failed for " + JSON.stringify({ password: c.password }));
  })();
  task({ task_id: "no_conn" }, async () => { await Connection.get("nope"); })();
  task({ task_id: "env" }, async () => ({
    db: process.env.ORCH_DATABASE_URL ?? null,
    setting: process.env.ORCH__CORE__PARALLELISM ?? null,
    airflow: process.env.AIRFLOW__CORE__LOAD_EXAMPLES ?? null,
    kept: process.env.ORCH_TEST_KEEP_ME ?? null,
  }))();
  bash({ task_id: "tmpl", command: "echo {{ var.value.greeting }} {{ ti.xcom_pull('up') }} {{ conn.wh.host }} $DB" , env: { DB: "{{ var.value.get('cfg', '') }}" } });
  bash({ task_id: "dynamic", command: "echo {{ var.value[params.which] }}" });
  task({ task_id: "partial" }, async () => { process.stdout.write("first part, "); process.stdout.write("no newline at the end"); })();
  task({ task_id: "after" }, async () => { console.log("the next task"); })();
  task({ task_id: "pid" }, async () => process.pid)();
  bash({ task_id: "sleepy", command: "sleep 30" });
});
`;

describe("worker: reads, environment, output, recycling", () => {
  let h: TempHome;
  let store: Store;
  let fileloc: string;
  let runId: number;
  let executor: Executor | undefined;

  before(async () => {
    h = await tempHome();
    fileloc = join(h.dags, "w.ts");
    await writeFile(fileloc, DAG);
    store = await openStore(`sqlite:///${join(h.home, "orch.db")}`);
    await migrate(store);
    await store.db.insertInto("variable").values([
      { key: "greeting", val: "hello", description: null, is_encrypted: 0 },
      { key: "cfg", val: '{"a":1}', description: null, is_encrypted: 0 },
      { key: "unrelated", val: "never-sent-value", description: null, is_encrypted: 0 },
    ]).execute();
    await store.db.insertInto("connection").values({
      conn_id: "wh", conn_type: "postgres", description: null, host: "db.internal", schema: "dw", login: "etl",
      password: 'pa"ss\\word-42', port: 5432, extra: JSON.stringify({ region: "eu", api_key: "k3y-abcdef" }), is_encrypted: 0, is_extra_encrypted: 0,
    }).execute();
    const run = await store.writeTransaction((trx) => createDagRun(trx, {
      dag_id: "w", run_id: "manual__1", run_type: "manual", logical_date: "2024-01-01T00:00:00.000Z",
      data_interval_start: "2024-01-01T00:00:00.000Z", data_interval_end: "2024-01-01T00:00:00.000Z",
      run_after: "2024-01-01T00:00:00.000Z", conf: {}, triggered_by: "test",
    }, []));
    runId = run.id;
    await setXcoms(store.db, { dagRunId: run.id, dagId: "w", runId: run.run_id }, "up", -1, [{ key: "return_value", value: 41 }]);
  });
  afterEach(async () => {
    await executor?.stop(2000);
    executor = undefined;
  });
  after(async () => {
    await store.close();
    await assertNoLeakedProcesses(h.home);
    await h.cleanup();
  });

  let nextTi = 1;
  function request(taskId: string, over: Partial<RunTaskRequest> = {}): RunTaskRequest {
    return {
      tiId: nextTi++, dagId: "w", runId: "manual__1", taskId, mapIndex: -1, tryNumber: 1, maxTries: 0, fileloc,
      cacheDir: join(h.home, ".cache"),
      dagRun: { run_type: "manual", logical_date: "2024-01-01T00:00:00.000Z", data_interval_start: null, data_interval_end: null, run_after: "2024-01-01T00:00:00.000Z", start_date: null, conf: {} },
      params: {}, maxXcomBytes: 65536, timeoutMs: null, killGraceMs: 1000, ...over,
    };
  }

  /** Runs a task; returns its outcome, its log lines (masked as the task log masks them) and the reads it made. */
  async function run(ex: Executor, taskId: string, over: Partial<RunTaskRequest> = {}) {
    const masker = createSecretsMasker();
    const lines: string[] = [];
    const reads: TaskRead[] = [];
    const answer = answerTaskReads(store, runId, masker);
    const outcome: TaskOutcome = await ex.execute(request(taskId, over), (line) => lines.push(masker.mask(line)), (r) => {
      reads.push(...r);
      return answer(r);
    });
    return { outcome, lines, reads, masker };
  }

  it("TaskFlow code reads variables, connections and XComs on demand", async () => {
    executor = createLocalExecutor({ parallelism: 1 });
    const r = await run(executor, "reads");
    assert.equal(r.outcome.state, "success", JSON.stringify(r.outcome));
    const value = r.outcome.state === "success" ? r.outcome.xcoms.find((x) => x.key === "return_value")?.value : undefined;
    assert.deepEqual(value, { v: "hello", j: { a: 1 }, missing: "fallback", host: "db.internal", region: "eu", up: 41, both: [41, null], viaCtx: "hello", viaCtxConn: "etl" });
    assert.ok(!r.reads.some((x) => x.kind === "variable" && x.key === "unrelated"), "expected !r.reads.some((x) => x.kind === \"variable\" && x.key === \"unrelated\")");
  });

  it("a password the task was handed is masked in its log and its error, JSON-escaped form included", async () => {
    executor = createLocalExecutor({ parallelism: 1 });
    const r = await run(executor, "leaks_password");
    assert.equal(r.outcome.state, "failed");
    const { maskOutcome } = await import("../../src/scheduler/worker-reads.ts");
    const masked = maskOutcome(r.outcome, r.masker);
    assert.ok(masked.state === "failed", "expected masked.state === \"failed\"");
    assert.equal(masked.error.message, 'login failed for {"password":"***"}');
    assert.doesNotMatch(masked.error.stack ?? "", /ss\\/);
    assert.ok(r.lines.includes("connecting with ***"), r.lines.join("\n"));
  });

  it("a missing connection fails the task naming it", async () => {
    executor = createLocalExecutor({ parallelism: 1 });
    const r = await run(executor, "no_conn");
    assert.ok(r.outcome.state === "failed", "expected r.outcome.state === \"failed\"");
    assert.match(r.outcome.error.message, /conn_id `nope` isn't defined/);
  });

  it("tasks do not inherit the scheduler's database URL or settings; the rest of the environment they do", async () => {
    executor = createLocalExecutor({
      parallelism: 1,
      env: { ...process.env, ORCH_DATABASE_URL: "postgres://u:secret@h/db", ORCH__CORE__PARALLELISM: "4", AIRFLOW__CORE__LOAD_EXAMPLES: "False", ORCH_TEST_KEEP_ME: "yes" },
    });
    const r = await run(executor, "env");
    assert.ok(r.outcome.state === "success", "expected r.outcome.state === \"success\"");
    assert.deepEqual(r.outcome.xcoms.find((x) => x.key === "return_value")?.value, { db: null, setting: null, airflow: null, kept: "yes" });
  });

  it("a template gets only the values it names, asked for before it renders", async () => {
    executor = createLocalExecutor({ parallelism: 1 });
    const r = await run(executor, "tmpl");
    assert.equal(r.outcome.state, "success", JSON.stringify(r.outcome));
    assert.ok(r.lines.some((l) => l === 'hello 41 db.internal {"a":1}'), r.lines.join("\n"));
    assert.deepEqual(
      r.reads.map((x) => (x.kind === "variable" ? `var:${x.key}` : x.kind === "connection" ? `conn:${x.connId}` : x.kind !== "xcom" ? x.kind : `xcom:${x.taskIds?.join(",")}:${x.key}`)).sort(),
      // rendered_fields: the bash task records what it rendered (the one write among the reads).
      ["conn:wh", "rendered_fields", "var:cfg", "var:greeting", "xcom:up:return_value"],
    );
  });

  it("a template whose variable name is computed while rendering fails saying so", async () => {
    executor = createLocalExecutor({ parallelism: 1 });
    const r = await run(executor, "dynamic", { params: { which: "greeting" } });
    assert.ok(r.outcome.state === "failed", "expected r.outcome.state === \"failed\"");
    assert.match(r.outcome.error.message, /computed name.*var\.value\.KEY/);
    assert.deepEqual(r.reads, []);
  });

  it("raw stdout without a newline lands in its own try's log, not the next one's", async () => {
    executor = createLocalExecutor({ parallelism: 1 });
    const first = await run(executor, "partial");
    const second = await run(executor, "after");
    assert.equal(first.outcome.state, "success");
    assert.ok(first.lines.includes("first part, no newline at the end"), first.lines.join("\n"));
    assert.deepEqual(second.lines.filter((l) => !l.startsWith("[")), ["the next task"]);
  });

  it("a worker is replaced after maxTasksPerWorker tasks", async () => {
    executor = createLocalExecutor({ parallelism: 1, maxTasksPerWorker: 2 });
    const pids: unknown[] = [];
    for (let i = 0; i < 3; i++) {
      const r = await run(executor, "pid");
      assert.ok(r.outcome.state === "success", "expected r.outcome.state === \"success\"");
      pids.push(r.outcome.xcoms[0]!.value);
    }
    assert.equal(pids[0], pids[1]);
    assert.notEqual(pids[1], pids[2]);
  });

  it("a recycled worker's successor imports the DAG file before its first task", async () => {
    // The module records each import; with preloading, the successor's import is seen while its
    // predecessor is still the one taking tasks, and the successor's first task imports nothing.
    const marks = join(h.home, "imports.txt");
    const file = join(h.dags, "imports.ts");
    await writeFile(file, `import { dag, task } from "orch";
import { appendFileSync } from "node:fs";
appendFileSync(process.env.IMPORT_MARKS!, "import " + process.pid + "\\n");
export default dag({ dag_id: "w", schedule: null, start_date: "2024-01-01" }, () => {
  task({ task_id: "pid" }, async () => process.pid)();
});
`);
    await writeFile(marks, "");
    executor = createLocalExecutor({ parallelism: 1, maxTasksPerWorker: 2, env: { ...process.env, IMPORT_MARKS: marks } });
    const pid = async () => {
      const r = await run(executor!, "pid", { fileloc: file });
      assert.ok(r.outcome.state === "success", JSON.stringify(r.outcome));
      return r.outcome.xcoms[0]!.value as number;
    };
    const first = await pid();
    assert.equal(await pid(), first);
    const imports = async () => (await readFile(marks, "utf8")).trim().split("\n").filter(Boolean);
    const deadline = Date.now() + 30_000;
    while (!(await imports()).some((l) => l !== `import ${first}`)) {
      assert.ok(Date.now() < deadline, `the successor never imported ${file} ahead of a task: ${(await imports()).join(", ")}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const successor = await pid();
    assert.notEqual(successor, first);
    assert.deepEqual(await imports(), [`import ${first}`, `import ${successor}`]);
  });

  it("a worker killed for a timeout never takes the next task", async () => {
    executor = createLocalExecutor({ parallelism: 1 });
    // The bash task aborts and reports at once on SIGTERM, before its worker's exit is seen: the
    // next task used to be handed to that dying worker and fail with "exited with code 143".
    for (let i = 0; i < 3; i++) {
      const slow = await run(executor, "sleepy", { timeoutMs: 300 });
      assert.ok(slow.outcome.state === "failed", "expected slow.outcome.state === \"failed\"");
      assert.match(slow.outcome.error.message, /timed out/);
      const next = await run(executor, "pid");
      assert.equal(next.outcome.state, "success", JSON.stringify(next.outcome));
    }
  });
});

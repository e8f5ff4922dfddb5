// The run- and task-level CLI over real runs: callbacks, variables and connections in templates
// (and masked in logs), tasks test / clear / state, dags state.
import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { openStore } from "../../src/store/index.ts";
import { runOrch } from "../helpers/cli.ts";
import { dagsTest, latestRunStates, migrateHome, writeDag } from "../helpers/engine.ts";
import { tempHome, type TempHome } from "../helpers/home.ts";
import { assertNoLeakedProcesses } from "../helpers/leaks.ts";

const SOURCE = (marks: string) => `import { dag, task, bash } from "orch";
import { appendFileSync } from "node:fs";
const mark = (what: string) => () => appendFileSync(${JSON.stringify(marks)}, what + "\\n");

export default dag({ dag_id: "cli_runs", schedule: null, start_date: "2024-01-01" }, () => {
  const first = task(
    { task_id: "first", on_execute_callback: mark("execute:first"), on_success_callback: mark("success:first") },
    async () => 21,
  );
  const flaky = task(
    { task_id: "flaky", retries: 1, retry_delay: 0, on_retry_callback: mark("retry:flaky"), on_failure_callback: mark("failure:flaky") },
    async () => { throw new Error("always"); },
  );
  const report = bash({
    task_id: "report",
    trigger_rule: "all_done",
    command: "echo greeting={{ var.value.greeting }} host={{ conn.warehouse.host }} secret=$SECRET key={{ conn.warehouse.extra_dejson.api_key }}",
    env: { SECRET: "{{ conn.warehouse.password }}" },
  });
  first().then(flaky()).then(report);
});
`;

describe("run and task CLI", () => {
  let h: TempHome;
  let marks: string;
  before(async () => {
    h = await tempHome();
    marks = join(h.home, "marks.txt");
    await migrateHome(h.home);
    await writeDag(h.dags, "cli_runs.ts", SOURCE(marks));
    const s = await openStore(`sqlite:///${join(h.home, "orch.db")}`);
    await s.db.insertInto("variable").values({ key: "greeting", val: "hello", description: null, is_encrypted: 0 }).execute();
    await s.db
      .insertInto("connection")
      .values({ conn_id: "warehouse", conn_type: "postgres", description: null, host: "db.internal", schema: "dw", login: "etl", password: "s3cret-pass", port: 5432, extra: JSON.stringify({ api_key: "k3y-abcdef", region: "eu-west" }), is_encrypted: 0, is_extra_encrypted: 0 })
      .execute();
    await s.close();
  });
  after(async () => {
    await assertNoLeakedProcesses(h.home);
    await h.cleanup();
  });

  it("runs callbacks at the right moments, templates variables and connections, and masks the password", async () => {
    const r = await dagsTest(h.home, "cli_runs", ["2024-02-01"]);
    assert.deepEqual(r.states, { first: "success", flaky: "failed", report: "success" });
    assert.deepEqual(readFileSync(marks, "utf8").trim().split("\n"), ["execute:first", "success:first", "retry:flaky", "failure:flaky"]);
    const runDir = join(h.home, "logs", "dag_id=cli_runs", `run_id=${r.runId}`);
    const log = readFileSync(join(runDir, "task_id=report", "attempt=1.log"), "utf8");
    // The password, and an extra whose name looks sensitive, never reach the log.
    assert.match(log, /greeting=hello host=db\.internal secret=\*\*\* key=\*\*\*/);
    assert.doesNotMatch(log, /s3cret-pass|k3y-abcdef/);
    assert.deepEqual(readdirSync(join(runDir, "task_id=flaky")).sort(), ["attempt=1.log", "attempt=2.log"]);
  });

  it("dags state and tasks state read a run by logical date or run id", async () => {
    // The leaf (report, all_done) succeeded, so the run did, though flaky failed: Airflow's rule.
    const byDate = await runOrch(["dags", "state", "cli_runs", "2024-02-01"], { home: h.home });
    assert.equal(byDate.stdout.trim(), "success");
    const r = await latestRunStates(h.home, "cli_runs");
    const t = await runOrch(["tasks", "state", "cli_runs", "first", r.runId!], { home: h.home });
    assert.equal(t.stdout.trim(), "success");
    const missing = await runOrch(["dags", "state", "cli_runs", "2030-01-01"], { home: h.home });
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /no run with run id or logical date "2030-01-01"/);
  });

  it("tasks clear --only-failed re-queues the run, refuses without --yes on a pipe", async () => {
    const refused = await runOrch(["tasks", "clear", "cli_runs", "--only-failed"], { home: h.home });
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /--yes/);
    const r = await runOrch(["tasks", "clear", "cli_runs", "--only-failed", "--yes"], { home: h.home });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /cleared 1 task instance\(s\) in 1 run\(s\)/);
    const after = await latestRunStates(h.home, "cli_runs");
    assert.equal(after.runState, "queued");
    assert.deepEqual(after.states, { first: "success", flaky: null, report: "success" });
    const list = await runOrch(["dags", "list-runs", "cli_runs", "--state", "queued", "-o", "json"], { home: h.home });
    assert.equal(JSON.parse(list.stdout).length, 1);
  });

  it("tasks test runs one task, prints its log and XCom, and records nothing", async () => {
    const before = await latestRunStates(h.home, "cli_runs");
    const r = await runOrch(["tasks", "test", "cli_runs", "report", "2024-02-01"], { home: h.home });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /greeting=hello host=db\.internal secret=\*\*\*/);
    assert.match(r.stdout, /Task report: success/);
    const failing = await runOrch(["tasks", "test", "cli_runs", "flaky"], { home: h.home });
    assert.equal(failing.code, 1);
    assert.match(failing.stdout, /Task flaky: failed: always/);
    assert.deepEqual(await latestRunStates(h.home, "cli_runs"), before);
  });
});

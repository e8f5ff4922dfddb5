// `orch standalone` as a user meets it, over real HTTP on 127.0.0.1: the one-time admin password,
// token auth, roles, DAGs, runs to success, task instances, XCom, logs while a task runs,
// variables and connections with secrets masked. Every response body is checked against the
// contract schemas (test/api/schemas.ts).
import assert from "node:assert/strict";
import { statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { request } from "undici";
import { writeDag } from "../helpers/engine.ts";
import { tempHome, type TempHome } from "../helpers/home.ts";
import { assertNoLeakedProcesses } from "../helpers/leaks.ts";
import { runOrch } from "../helpers/cli.ts";
import { openStore } from "../../src/store/index.ts";
import { call, generatedPassword, login, startOrch, waitFor, type OrchProcess } from "../api/helpers.ts";
import { checked, type SchemaName } from "../api/schemas.ts";

const ENV = { ORCH__CORE__EXECUTOR: "LocalExecutor", ORCH__CORE__PARALLELISM: "4" };

let home: TempHome;
let orch: OrchProcess;
let base: string;
let admin: string;
let release: string;

const DEMO = `import { dag, task, bash, Param } from "orch";
export default dag(
  { dag_id: "api_demo", schedule: null, start_date: "2024-01-01", tags: ["api"], params: { n: Param(3, { type: "integer", minimum: 1 }) } },
  () => {
    const produce = task({ task_id: "produce" }, async (ctx) => ({ doubled: (ctx.params.n as number) * 2 }));
    const report = bash({ task_id: "report", command: "echo report {{ params.n }}" });
    produce().then(report);
  },
);
`;

function slowDag(releaseFile: string): string {
  return `import { dag, bash } from "orch";
export default dag({ dag_id: "api_slow", schedule: null, start_date: "2024-01-01" }, () => {
  bash({ task_id: "wait", command: "echo tick one; while [ ! -f ${releaseFile} ]; do sleep 0.1; done; echo released" });
});
`;
}

async function runState(dagId: string, runId: string): Promise<string> {
  const r = await call(base, "GET", `/api/v2/dags/${dagId}/dagRuns/${encodeURIComponent(runId)}`, { token: admin, schema: "DAGRunResponse" });
  return (r.body as { state: string }).state;
}

describe("orch standalone over HTTP", () => {
  before(async () => {
    home = await tempHome("orch-e2e-api-");
    release = join(home.home, "release");
    await writeDag(home.dags, "api_demo.ts", DEMO);
    await writeDag(home.dags, "api_slow.ts", slowDag(release));
    await writeDag(home.dags, "broken.ts", "export default (;\n");
    orch = await startOrch(["standalone", "--port", "0"], home.home, { env: ENV });
    base = orch.url;
    admin = await login(base, "admin", generatedPassword(home.home));
  });

  after(async () => {
    // Whatever a failed test left blocked (the slow task waits for this file), the run ends.
    if (release) writeFileSync(release, "go");
    await orch?.stop();
    await assertNoLeakedProcesses(home.home);
    await home.cleanup();
  });

  test("first start prints the generated password once, in a box; the file is 0600; the store holds a scrypt hash", async () => {
    const password = generatedPassword(home.home);
    assert.match(password, /^[A-HJ-NP-Za-km-np-z2-9]{16,}$/, "no look-alike characters, at least 16");
    assert.ok(orch.stdout().includes(`password: ${password}`), "printed once at first start");
    assert.match(orch.stdout(), /╔═+╗/);
    assert.equal(statSync(join(home.home, "simple_auth_manager_passwords.json.generated")).mode & 0o777, 0o600);
    assert.equal(statSync(join(home.home, "api_auth_jwt_secret.key")).mode & 0o777, 0o600);
    assert.match(orch.stdout(), /ready: http:\/\/127\.0\.0\.1:\d+ .*user admin; password in .*simple_auth_manager_passwords\.json\.generated/);
    const store = await openStore(`sqlite:///${join(home.home, "orch.db")}`);
    try {
      const u = await store.db.selectFrom("user").selectAll().where("username", "=", "admin").executeTakeFirstOrThrow();
      assert.match(u.password_hash, /^scrypt\$/);
      assert.ok(!u.password_hash.includes(password), "expected !u.password_hash.includes(password)");
    } finally {
      await store.close();
    }
  });

  test("health and version need no token; everything else answers 401 without one", async () => {
    const h = await call(base, "GET", "/api/v2/monitor/health", { schema: "HealthInfoResponse" });
    assert.equal(h.status, 200);
    assert.equal((h.body as { metadatabase: { status: string } }).metadatabase.status, "healthy");
    const v = await call(base, "GET", "/api/v2/version", { schema: "VersionInfo" });
    assert.equal(v.status, 200);
    for (const path of ["/api/v2/dags", "/api/v2/dags/~/dagRuns", "/api/v2/variables", "/api/v2/connections", "/api/v2/importErrors"]) {
      const r = await call(base, "GET", path);
      assert.equal(r.status, 401, path);
      assert.equal(r.headers["www-authenticate"], "Bearer");
    }
    const bad = await call(base, "GET", "/api/v2/dags", { token: "not.a.jwt" });
    assert.equal(bad.status, 401);
    assert.equal((bad.body as { detail: string }).detail, "Invalid JWT token");
  });

  test("POST /auth/token: 201 with JSON or a form, 401 for a wrong password, 422 for a malformed body", async () => {
    const password = generatedPassword(home.home);
    const form = await request(`${base}/auth/token`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: `username=admin&password=${encodeURIComponent(password)}`,
    });
    assert.equal(form.statusCode, 201);
    assert.ok(((await form.body.json()) as { access_token: string }).access_token.split(".").length === 3, "expected ((await form.body.json()) as { access_token: string }).access_token.split(\".\").length === 3");
    const wrong = await call(base, "POST", "/auth/token", { body: { username: "admin", password: "wrong-password" } });
    assert.equal(wrong.status, 401);
    const nobody = await call(base, "POST", "/auth/token", { body: { username: "nobody", password: "x" } });
    assert.equal(nobody.status, 401);
    const missing = await call(base, "POST", "/auth/token", { body: { username: "admin" } });
    assert.equal(missing.status, 422);
    assert.deepEqual((missing.body as { detail: { loc: unknown[] }[] }).detail[0].loc, ["body", "password"]);
  });

  test("DAG list, get, details with filters and paging; import errors; sources", async () => {
    const dags = await waitFor("both DAGs parsed", async () => {
      const r = await call(base, "GET", "/api/v2/dags?order_by=dag_id", { token: admin, schema: "DAGCollectionResponse" });
      const b = r.body as { dags: { dag_id: string }[]; total_entries: number };
      return b.total_entries === 2 ? b : undefined;
    });
    assert.deepEqual(dags.dags.map((d) => d.dag_id), ["api_demo", "api_slow"]);
    const page = await call(base, "GET", "/api/v2/dags?limit=1&offset=1&order_by=-dag_id", { token: admin, schema: "DAGCollectionResponse" });
    assert.deepEqual((page.body as { dags: { dag_id: string }[] }).dags.map((d) => d.dag_id), ["api_demo"]);
    assert.equal((page.body as { total_entries: number }).total_entries, 2);
    const pat = await call(base, "GET", "/api/v2/dags?dag_id_pattern=%25SLOW%25", { token: admin, schema: "DAGCollectionResponse" });
    assert.deepEqual((pat.body as { dags: { dag_id: string }[] }).dags.map((d) => d.dag_id), ["api_slow"]);
    const tagged = await call(base, "GET", "/api/v2/dags?tags=api", { token: admin, schema: "DAGCollectionResponse" });
    assert.deepEqual((tagged.body as { dags: { dag_id: string }[] }).dags.map((d) => d.dag_id), ["api_demo"]);
    const one = await call(base, "GET", "/api/v2/dags/api_demo", { token: admin, schema: "DAGResponse" });
    assert.equal((one.body as { is_paused: boolean }).is_paused, true, "[core] dags_are_paused_at_creation");
    const details = await call(base, "GET", "/api/v2/dags/api_demo/details", { token: admin, schema: "DAGDetailsResponse" });
    assert.equal((details.body as { params: Record<string, { value: unknown }> }).params.n.value, 3);
    const missing = await call(base, "GET", "/api/v2/dags/nope");
    assert.equal(missing.status, 401);
    const missingAuthed = await call(base, "GET", "/api/v2/dags/nope", { token: admin });
    assert.equal(missingAuthed.status, 404);
    assert.match((missingAuthed.body as { detail: string }).detail, /nope/);
    const badOrder = await call(base, "GET", "/api/v2/dags?order_by=password", { token: admin });
    assert.equal(badOrder.status, 400);
    const badLimit = await call(base, "GET", "/api/v2/dags?limit=ten", { token: admin });
    assert.equal(badLimit.status, 422);
    assert.deepEqual((badLimit.body as { detail: { loc: unknown[] }[] }).detail[0].loc, ["query", "limit"]);

    const errors = await call(base, "GET", "/api/v2/importErrors", { token: admin, schema: "ImportErrorCollectionResponse" });
    const list = (errors.body as { import_errors: { import_error_id: number; filename: string }[] }).import_errors;
    assert.equal(list.length, 1);
    assert.match(list[0].filename, /broken\.ts$/);
    await call(base, "GET", `/api/v2/importErrors/${list[0].import_error_id}`, { token: admin, schema: "ImportErrorResponse" });
    assert.equal((await call(base, "GET", "/api/v2/importErrors/abc", { token: admin })).status, 422);

    const src = await call(base, "GET", "/api/v2/dagSources/api_demo", { token: admin, schema: "DAGSourceResponse" });
    assert.match((src.body as { content: string }).content, /dag_id: "api_demo"/);
  });

  test("pause and unpause with PATCH is_paused; a wrong body is a 422 naming the field", async () => {
    const off = await call(base, "PATCH", "/api/v2/dags/api_demo", { token: admin, body: { is_paused: false }, schema: "DAGResponse" });
    assert.equal(off.status, 200);
    assert.equal((off.body as { is_paused: boolean }).is_paused, false);
    await call(base, "PATCH", "/api/v2/dags/api_slow", { token: admin, body: { is_paused: false }, schema: "DAGResponse" });
    const wrongType = await call(base, "PATCH", "/api/v2/dags/api_demo", { token: admin, body: { is_paused: "yes" } });
    assert.equal(wrongType.status, 422);
    assert.deepEqual((wrongType.body as { detail: { loc: unknown[]; type: string }[] }).detail[0].loc, ["body", "is_paused"]);
    const extra = await call(base, "PATCH", "/api/v2/dags/api_demo", { token: admin, body: { is_paused: true, owner: "x" } });
    assert.equal(extra.status, 422);
    assert.equal((extra.body as { detail: { type: string }[] }).detail[0].type, "extra_forbidden");
    const again = await call(base, "GET", "/api/v2/dags/api_demo", { token: admin, schema: "DAGResponse" });
    assert.equal((again.body as { is_paused: boolean }).is_paused, false, "rejected bodies changed nothing");
  });

  test("trigger with invalid conf is refused naming the param; valid conf runs to success with task instances and XCom", async () => {
    const invalid = await call(base, "POST", "/api/v2/dags/api_demo/dagRuns", { token: admin, body: { logical_date: null, conf: { n: 0 } } });
    assert.equal(invalid.status, 400);
    assert.match((invalid.body as { detail: string }).detail, /\bn\b.*>= 1/);
    const notObject = await call(base, "POST", "/api/v2/dags/api_demo/dagRuns", { token: admin, body: { logical_date: null, conf: [1] } });
    assert.equal(notObject.status, 422);
    assert.deepEqual((notObject.body as { detail: { loc: unknown[] }[] }).detail[0].loc, ["body", "conf"]);
    const badDate = await call(base, "POST", "/api/v2/dags/api_demo/dagRuns", { token: admin, body: { logical_date: "yesterday" } });
    assert.equal(badDate.status, 422);
    assert.deepEqual((badDate.body as { detail: { loc: unknown[] }[] }).detail[0].loc, ["body", "logical_date"]);
    const runs0 = await call(base, "GET", "/api/v2/dags/api_demo/dagRuns", { token: admin, schema: "DAGRunCollectionResponse" });
    assert.equal((runs0.body as { total_entries: number }).total_entries, 0, "refused triggers made no run");

    const t = await call(base, "POST", "/api/v2/dags/api_demo/dagRuns", {
      token: admin,
      body: { logical_date: "2024-03-01T00:00:00Z", conf: { n: 21 }, note: "from the API test" },
      schema: "DAGRunResponse",
    });
    assert.equal(t.status, 200);
    const run = t.body as { dag_run_id: string; conf: { n: number }; note: string; triggered_by: string };
    assert.equal(run.dag_run_id, "manual__2024-03-01T00:00:00+00:00");
    assert.deepEqual(run.conf, { n: 21 });
    assert.equal(run.note, "from the API test");
    assert.equal(run.triggered_by, "rest_api");
    const dup = await call(base, "POST", "/api/v2/dags/api_demo/dagRuns", { token: admin, body: { logical_date: "2024-03-01T00:00:00Z" } });
    assert.equal(dup.status, 409);

    await waitFor("run success", async () => ((await runState("api_demo", run.dag_run_id)) === "success" ? true : undefined), 90_000);
    const rid = encodeURIComponent(run.dag_run_id);
    const tis = await call(base, "GET", `/api/v2/dags/api_demo/dagRuns/${rid}/taskInstances`, { token: admin, schema: "TaskInstanceCollectionResponse" });
    const states = Object.fromEntries((tis.body as { task_instances: { task_id: string; state: string }[] }).task_instances.map((x) => [x.task_id, x.state]));
    assert.deepEqual(states, { produce: "success", report: "success" });
    const ti = await call(base, "GET", `/api/v2/dags/api_demo/dagRuns/${rid}/taskInstances/produce`, { token: admin, schema: "TaskInstanceResponse" });
    assert.equal((ti.body as { try_number: number }).try_number, 1);
    const tries = await call(base, "GET", `/api/v2/dags/api_demo/dagRuns/${rid}/taskInstances/produce/tries`, { token: admin, schema: "TaskInstanceHistoryCollectionResponse" });
    assert.equal((tries.body as { total_entries: number }).total_entries, 1);
    const across = await call(base, "GET", "/api/v2/dags/~/dagRuns/~/taskInstances?state=success", { token: admin, schema: "TaskInstanceCollectionResponse" });
    assert.ok((across.body as { total_entries: number }).total_entries >= 2, "expected (across.body as { total_entries: number }).total_entries >= 2");
    const allRuns = await call(base, "GET", "/api/v2/dags/~/dagRuns?state=success", { token: admin, schema: "DAGRunCollectionResponse" });
    assert.ok((allRuns.body as { dag_runs: { dag_id: string }[] }).dag_runs.some((r) => r.dag_id === "api_demo"), "expected (allRuns.body as { dag_runs: { dag_id: string }[] }).dag_runs.some((r) => r.dag_id === \"api_demo\")");

    const xs = await call(base, "GET", `/api/v2/dags/api_demo/dagRuns/${rid}/taskInstances/produce/xcomEntries`, { token: admin, schema: "XComCollectionResponse" });
    assert.deepEqual((xs.body as { xcom_entries: { key: string }[] }).xcom_entries.map((x) => x.key), ["return_value"]);
    const native = await call(base, "GET", `/api/v2/dags/api_demo/dagRuns/${rid}/taskInstances/produce/xcomEntries/return_value?stringify=false`, { token: admin, schema: "XComResponseNative" });
    assert.deepEqual((native.body as { value: unknown }).value, { doubled: 42 });
    const text = await call(base, "GET", `/api/v2/dags/api_demo/dagRuns/${rid}/taskInstances/produce/xcomEntries/return_value`, { token: admin, schema: "XComResponseString" });
    assert.equal((text.body as { value: string }).value, '{"doubled":42}');

    const log = await call(base, "GET", `/api/v2/dags/api_demo/dagRuns/${rid}/taskInstances/report/logs/1`, { token: admin, schema: "TaskInstancesLogResponse" });
    assert.ok((log.body as { content: { event: string }[] }).content.some((m) => m.event.includes("report 21")), "expected (log.body as { content: { event: string }[] }).content.some((m) => m.event.includes(\"report 21\"))");
    assert.equal((await call(base, "GET", `/api/v2/dags/api_demo/dagRuns/${rid}/taskInstances/report/logs/9`, { token: admin })).status, 404);
  });

  test("clear a run (dry run lists, then clears), patch its note and state, mark a task instance", async () => {
    const runs = await call(base, "GET", "/api/v2/dags/api_demo/dagRuns", { token: admin, schema: "DAGRunCollectionResponse" });
    const runId = (runs.body as { dag_runs: { dag_run_id: string }[] }).dag_runs[0].dag_run_id;
    const rid = encodeURIComponent(runId);
    const dry = await call(base, "POST", `/api/v2/dags/api_demo/dagRuns/${rid}/clear`, { token: admin, body: { dry_run: true }, schema: "TaskInstanceCollectionResponse" });
    assert.equal((dry.body as { total_entries: number }).total_entries, 2);
    assert.equal(await runState("api_demo", runId), "success", "a dry run changes nothing");
    const ti = await call(base, "POST", "/api/v2/dags/api_demo/clearTaskInstances", {
      token: admin,
      body: { dry_run: true, only_failed: false, task_ids: ["report"], dag_run_id: runId },
      schema: "TaskInstanceCollectionResponse",
    });
    assert.deepEqual((ti.body as { task_instances: { task_id: string }[] }).task_instances.map((x) => x.task_id), ["report"]);
    const unknownTask = await call(base, "POST", "/api/v2/dags/api_demo/clearTaskInstances", { token: admin, body: { task_ids: ["nope"] } });
    assert.equal(unknownTask.status, 422);
    const cleared = await call(base, "POST", `/api/v2/dags/api_demo/dagRuns/${rid}/clear`, { token: admin, body: { dry_run: false }, schema: "DAGRunResponse" });
    assert.equal(cleared.status, 200);
    await waitFor("cleared run succeeds again", async () => {
      const tis = await call(base, "GET", `/api/v2/dags/api_demo/dagRuns/${rid}/taskInstances/produce/tries`, { token: admin, schema: "TaskInstanceHistoryCollectionResponse" });
      return (tis.body as { total_entries: number }).total_entries === 2 && (await runState("api_demo", runId)) === "success" ? true : undefined;
    }, 90_000);
    const note = await call(base, "PATCH", `/api/v2/dags/api_demo/dagRuns/${rid}?update_mask=note`, { token: admin, body: { note: "checked" }, schema: "DAGRunResponse" });
    assert.equal((note.body as { note: string }).note, "checked");
    const failed = await call(base, "PATCH", `/api/v2/dags/api_demo/dagRuns/${rid}`, { token: admin, body: { state: "failed" }, schema: "DAGRunResponse" });
    assert.equal((failed.body as { state: string }).state, "failed");
    const badState = await call(base, "PATCH", `/api/v2/dags/api_demo/dagRuns/${rid}`, { token: admin, body: { state: "running" } });
    assert.equal(badState.status, 422);
    const marked = await call(base, "PATCH", `/api/v2/dags/api_demo/dagRuns/${rid}/taskInstances/report`, { token: admin, body: { new_state: "skipped" }, schema: "TaskInstanceCollectionResponse" });
    assert.equal((marked.body as { task_instances: { state: string }[] }).task_instances[0].state, "skipped");
    const badTi = await call(base, "PATCH", `/api/v2/dags/api_demo/dagRuns/${rid}/taskInstances/report`, { token: admin, body: { new_state: "running" } });
    assert.equal(badTi.status, 422);
  });

  test("the log of a running try streams as ndjson and follows it until the try ends", async () => {
    // The task's own output line, not the "Running command: … echo tick one; …" line before it
    // (matching that one made the continuation check race with the output line).
    const isTick = (event: string) => event.trim().endsWith("tick one");
    const t = await call(base, "POST", "/api/v2/dags/api_slow/dagRuns", { token: admin, body: { logical_date: null }, schema: "DAGRunResponse" });
    const rid = encodeURIComponent((t.body as { dag_run_id: string }).dag_run_id);
    const tiPath = `/api/v2/dags/api_slow/dagRuns/${rid}/taskInstances/wait`;
    await waitFor("task running", async () => {
      const r = await call(base, "GET", tiPath, { token: admin, schema: "TaskInstanceResponse" });
      return (r.body as { state: string }).state === "running" ? true : undefined;
    }, 90_000);
    const json = await waitFor("first line in the JSON log", async () => {
      const r = await call(base, "GET", `${tiPath}/logs/1`, { token: admin, schema: "TaskInstancesLogResponse" });
      const b = r.body as { content: { event: string }[]; continuation_token: string };
      return b.content.some((m) => isTick(m.event)) ? b : undefined;
    });
    // The continuation token goes on from where the last answer ended: nothing new yet.
    const more = await call(base, "GET", `${tiPath}/logs/1?token=${json.continuation_token}`, { token: admin, schema: "TaskInstancesLogResponse" });
    const again = (more.body as { content: { event: string }[] }).content.map((m) => m.event);
    assert.ok(!again.some(isTick), `the continuation token goes on after the first line: ${again.join(" | ")}`);
    assert.equal((await call(base, "GET", `${tiPath}/logs/1?token=garbage`, { token: admin })).status, 400);

    // A stream that never shows the line fails this test within minutes instead of hanging the file.
    const res = await request(`${base}${tiPath}/logs/1`, { headers: { authorization: `Bearer ${admin}`, accept: "application/x-ndjson" }, signal: AbortSignal.timeout(180_000) });
    assert.equal(res.statusCode, 200);
    assert.match(String(res.headers["content-type"]), /application\/x-ndjson/);
    let buffered = "";
    let released = false;
    const events: string[] = [];
    for await (const chunk of res.body) {
      buffered += chunk.toString();
      let nl: number;
      while ((nl = buffered.indexOf("\n")) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        const m = JSON.parse(line) as { event: string };
        events.push(m.event);
        if (!released && isTick(m.event)) {
          // Seen while the task is still blocked on the release file: the stream follows a live try.
          const ti = await call(base, "GET", tiPath, { token: admin, schema: "TaskInstanceResponse" });
          assert.equal((ti.body as { state: string }).state, "running");
          writeFileSync(release, "go");
          released = true;
        }
      }
    }
    assert.ok(released, `saw the first line; events: ${events.join(" | ")}`);
    assert.ok(events.some((e) => e.includes("released")), `the stream followed to the end: ${events.join(" | ")}`);
    await waitFor("slow run success", async () => ((await runState("api_slow", decodeURIComponent(rid))) === "success" ? true : undefined), 60_000);
  });

  test("variables and connections: CRUD, sensitive values and passwords masked", async () => {
    const v = await call(base, "POST", "/api/v2/variables", { token: admin, body: { key: "db_password", value: "s3cr3t-value", description: "d" }, schema: "VariableResponse" });
    assert.equal(v.status, 201);
    assert.equal((v.body as { value: string }).value, "***");
    const plain = await call(base, "POST", "/api/v2/variables", { token: admin, body: { key: "region", value: { name: "eu" } }, schema: "VariableResponse" });
    assert.equal((plain.body as { value: string }).value, '{"name":"eu"}');
    assert.equal((await call(base, "POST", "/api/v2/variables", { token: admin, body: { key: "region", value: "x" } })).status, 409);
    const list = await call(base, "GET", "/api/v2/variables", { token: admin, schema: "VariableCollectionResponse" });
    assert.ok(!list.text.includes("s3cr3t-value"), "expected !list.text.includes(\"s3cr3t-value\")");
    const patched = await call(base, "PATCH", "/api/v2/variables/region", { token: admin, body: { key: "region", value: "us" }, schema: "VariableResponse" });
    assert.equal((patched.body as { value: string }).value, "us");
    assert.equal((await call(base, "DELETE", "/api/v2/variables/region", { token: admin })).status, 204);
    assert.equal((await call(base, "GET", "/api/v2/variables/region", { token: admin })).status, 404);

    const c = await call(base, "POST", "/api/v2/connections", {
      token: admin,
      body: { connection_id: "warehouse", conn_type: "postgres", host: "db", login: "etl", password: "hunter2-long", port: 5432, extra: '{"api_key": "k-123456", "sslmode": "require"}' },
      schema: "ConnectionResponse",
    });
    assert.equal(c.status, 201);
    const body = c.body as { password: string; extra: string };
    assert.equal(body.password, "***");
    assert.deepEqual(JSON.parse(body.extra), { api_key: "***", sslmode: "require" });
    const all = await call(base, "GET", "/api/v2/connections", { token: admin, schema: "ConnectionCollectionResponse" });
    const one = await call(base, "GET", "/api/v2/connections/warehouse", { token: admin, schema: "ConnectionResponse" });
    for (const r of [c, all, one]) {
      assert.ok(!r.text.includes("hunter2-long"), "password never answered");
      assert.ok(!r.text.includes("k-123456"), "sensitive extra never answered");
    }
    const badId = await call(base, "POST", "/api/v2/connections", { token: admin, body: { connection_id: "../etc", conn_type: "x" } });
    assert.equal(badId.status, 422);
    const up = await call(base, "PATCH", "/api/v2/connections/warehouse?update_mask=host", { token: admin, body: { connection_id: "warehouse", conn_type: "postgres", host: "db2" }, schema: "ConnectionResponse" });
    assert.equal((up.body as { host: string; login: string }).host, "db2");
    assert.equal((up.body as { login: string }).login, "etl", "update_mask left login alone");
  });

  test("roles: a viewer reads but may not change; op may edit variables; user may not", async () => {
    for (const [name, role] of [["vera", "viewer"], ["uma", "user"], ["otto", "op"]]) {
      const r = await runOrch(["users", "create", "-u", name, "-r", role], { home: home.home });
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /password: \S{16,}/);
    }
    const listed = await runOrch(["users", "list", "-o", "json"], { home: home.home });
    assert.deepEqual((JSON.parse(listed.stdout) as { username: string }[]).map((u) => u.username).sort(), ["admin", "otto", "uma", "vera"]);
    const viewer = await login(base, "vera", generatedPassword(home.home, "vera"));
    const user = await login(base, "uma", generatedPassword(home.home, "uma"));
    const op = await login(base, "otto", generatedPassword(home.home, "otto"));
    assert.equal((await call(base, "GET", "/api/v2/dags", { token: viewer, schema: "DAGCollectionResponse" })).status, 200);
    const denied = await call(base, "PATCH", "/api/v2/dags/api_demo", { token: viewer, body: { is_paused: true } });
    assert.equal(denied.status, 403);
    assert.match((denied.body as { detail: string }).detail, /viewer/);
    assert.equal((await call(base, "POST", "/api/v2/dags/api_demo/dagRuns", { token: viewer, body: { logical_date: null } })).status, 403);
    assert.equal((await call(base, "GET", "/api/v2/variables", { token: viewer })).status, 403);
    assert.equal((await call(base, "GET", "/api/v2/variables", { token: user })).status, 403);
    assert.equal((await call(base, "PATCH", "/api/v2/dags/api_demo", { token: user, body: { is_paused: false }, schema: "DAGResponse" })).status, 200);
    assert.equal((await call(base, "GET", "/api/v2/connections", { token: op, schema: "ConnectionCollectionResponse" })).status, 200);

    const reset = await runOrch(["users", "reset-password", "-u", "vera", "-p", "a-chosen-password"], { home: home.home });
    assert.equal(reset.code, 0, reset.stderr);
    assert.equal((await call(base, "POST", "/auth/token", { body: { username: "vera", password: "a-chosen-password" }, schema: "TokenResponse" })).status, 201);
    const del = await runOrch(["users", "delete", "-u", "vera", "--yes"], { home: home.home });
    assert.equal(del.code, 0, del.stderr);
    assert.equal((await call(base, "POST", "/auth/token", { body: { username: "vera", password: "a-chosen-password" } })).status, 401);
  });

  test("repeated failed logins from one address are slowed down (429 with Retry-After)", async () => {
    let last = 0;
    for (let i = 0; i < 8; i++) {
      const r = await call(base, "POST", "/auth/token", { body: { username: "uma", password: `guess-${i}` } });
      last = r.status;
      if (r.status === 429) {
        assert.ok(Number(r.headers["retry-after"]) >= 1, "expected Number(r.headers[\"retry-after\"]) >= 1");
        break;
      }
      assert.equal(r.status, 401);
    }
    assert.equal(last, 429);
  });

  test("a second start prints no password; a port in use is a clear error naming the port and the setting", async () => {
    const port = new URL(base).port;
    const clash = await runOrch(["api-server", "--port", port], { home: home.home, timeoutMs: 60_000 });
    assert.equal(clash.code, 1);
    assert.match(clash.stderr, new RegExp(`port ${port} on 127\\.0\\.0\\.1 is already in use.*--port or \\[api\\] port`));
    assert.match(clash.stderr, /ORCH_PORT_IN_USE/);
    assert.ok(!clash.stdout.includes(generatedPassword(home.home)), "the password is not printed again");
  });
  test("contract: every shape this file met was checked against its schema", () => {
    const want: SchemaName[] = [
      "DAGCollectionResponse", "DAGResponse", "DAGDetailsResponse", "DAGRunResponse", "DAGRunCollectionResponse", "TaskInstanceResponse",
      "TaskInstanceCollectionResponse", "TaskInstanceHistoryCollectionResponse", "XComCollectionResponse", "XComResponseNative", "XComResponseString",
      "VariableResponse", "VariableCollectionResponse", "ConnectionResponse", "ConnectionCollectionResponse", "ImportErrorCollectionResponse",
      "ImportErrorResponse", "DAGSourceResponse", "HealthInfoResponse", "VersionInfo", "TaskInstancesLogResponse", "HTTPExceptionResponse",
      "HTTPValidationError", "TokenResponse",
    ];
    assert.deepEqual(want.filter((n) => !checked.get(n)), []);
  });
});

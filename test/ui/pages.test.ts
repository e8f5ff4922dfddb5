// The status page's HTML, in-process (app.request, no port, no browser): sessions and CSRF,
// roles, the DAG list and its filters, the trigger form built from params and its validation,
// the grid, confirmations of clear and mark, the try page's log, escaping of everything a DAG
// author or a task controls.
import assert from "node:assert/strict";
import { mkdir, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { after, before, describe, test } from "node:test";
import { hashPassword } from "../../src/api/auth/passwords.ts";
import { taskLogPath } from "../../src/logging/log-path.ts";
import { getDag } from "../../src/store/dags.ts";
import { replaceImportErrors } from "../../src/store/dags.ts";
import { listTaskInstances } from "../../src/store/task-instances.ts";
import { createUser } from "../../src/store/users.ts";
import { seedDag, seedRuns, uiFixture, type UiFixture } from "../helpers/ui-fixtures.ts";

let fx: UiFixture;
let admin: { cookie: string; csrf: string };

const XSS_DOC = "# Notes\n\n<script>window.__xss = 1</script>\n\n<img src=x onerror=\"window.__xss = 2\">\n\n[click](javascript:alert(1))";

async function get(path: string, cookie = admin.cookie) {
  const r = await fx.app.request(path, { headers: { cookie } });
  return { status: r.status, text: await r.text(), headers: r.headers };
}

async function post(path: string, fields: Record<string, string>, cookie = admin.cookie) {
  const r = await fx.app.request(path, { method: "POST", headers: { cookie, "content-type": "application/x-www-form-urlencoded" }, body: new URLSearchParams(fields).toString() });
  return { status: r.status, text: await r.text(), headers: r.headers };
}

describe("status page (in-process)", () => {
  before(async () => {
    fx = await uiFixture();
    admin = await fx.session();
    await createUser(fx.store.db, { username: "alice", passwordHash: await hashPassword("alice-password"), role: "admin" });
    await seedDag(fx.store, {
      dag_id: "etl",
      tags: ["finance", "daily"],
      params: {
        n: { default: 3, schema: { type: "integer", minimum: 1 }, description: "How many <img src=x onerror=\"window.__xss=3\">" },
        mode: { default: "fast", schema: { type: "string", enum: ["fast", "slow"] }, description: null },
        dry: { default: false, schema: { type: "boolean" }, description: "Only pretend" },
        opts: { default: { a: 1 }, schema: { type: "object" }, description: null },
        label: { default: "x", schema: { type: "string" }, description: null },
      },
      doc_md: XSS_DOC,
    });
    const big = await seedDag(fx.store, { dag_id: "big", tasks: 30, tags: ["big"] });
    await seedRuns(fx.store, big, 25);
    await seedDag(fx.store, { dag_id: "other", tags: ["misc"], schedule: null });
    await replaceImportErrors(fx.store.db, "/dags/broken.ts", [{ line: 7, stacktrace: "/dags/broken.ts:7:3: Unexpected \"<script>\"" }], new Date().toISOString());
  });
  after(() => fx.cleanup());

  test("without a session, / and every page redirect to the login page (next kept); static files need none", async () => {
    for (const path of ["/", "/dags", "/dags/etl", "/dags/etl/trigger"]) {
      const r = await get(path, "");
      assert.equal(r.status, 303, path);
      assert.equal(r.headers.get("location"), `/login?next=${encodeURIComponent(path)}`);
    }
    const page = await get("/login", "");
    const css = /href="(\/static\/orch\.[\w-]+\.css)"/.exec(page.text)?.[1];
    assert.ok(css, "expected css");
    const sheet = await fx.app.request(css);
    assert.equal(sheet.status, 200);
    assert.match(sheet.headers.get("content-type") ?? "", /text\/css/);
    const bad = await post("/dags/etl/pause", { is_paused: "false" }, "");
    assert.equal(bad.status, 401);
  });

  test("login: CSRF token required, wrong password refused, right one sets an HttpOnly SameSite=Strict cookie (Secure over https)", async () => {
    const page = await fx.app.request("/login?next=/dags/etl");
    const setCookie = page.headers.get("set-cookie") ?? "";
    const loginCsrf = /orch_login_csrf=([\w-]+)/.exec(setCookie)?.[1];
    assert.ok(loginCsrf, setCookie);
    const html = await page.text();
    assert.ok(html.includes(`name="_csrf" value="${loginCsrf}"`), "expected html.includes(`name=\"_csrf\" value=\"${loginCsrf}\"`)");
    const cookie = `orch_login_csrf=${loginCsrf}`;
    const noToken = await post("/login", { username: "alice", password: "alice-password" }, cookie);
    assert.equal(noToken.status, 403);
    assert.doesNotMatch(noToken.headers.get("set-cookie") ?? "", /orch_session=ey/);
    const wrong = await post("/login", { _csrf: loginCsrf, username: "alice", password: "nope-nope" }, cookie);
    assert.equal(wrong.status, 401);
    assert.match(wrong.text, /Wrong user name or password/);
    assert.match(wrong.text, /value="alice"/, "the user name stays in the form");
    const ok = await post("/login", { _csrf: loginCsrf, username: "alice", password: "alice-password", next: "/dags/etl" }, cookie);
    assert.equal(ok.status, 303);
    assert.equal(ok.headers.get("location"), "/dags/etl");
    const session = ok.headers.get("set-cookie") ?? "";
    assert.match(session, /orch_session=ey[\w.-]+;/);
    assert.match(session, /HttpOnly/);
    assert.match(session, /SameSite=Strict/);
    assert.doesNotMatch(session, /Secure/);
    const evil = await post("/login", { _csrf: loginCsrf, username: "alice", password: "alice-password", next: "//evil.example/x" }, cookie);
    assert.equal(evil.headers.get("location"), "/dags", "no open redirect");

    const https = await fx.app.request("https://orch.example/login");
    const httpsCsrf = /orch_login_csrf=([\w-]+)/.exec(https.headers.get("set-cookie") ?? "")?.[1] ?? "";
    assert.match(https.headers.get("set-cookie") ?? "", /Secure/);
    const r = await fx.app.request("https://orch.example/login", {
      method: "POST",
      headers: { cookie: `orch_login_csrf=${httpsCsrf}`, "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ _csrf: httpsCsrf, username: "alice", password: "alice-password" }).toString(),
    });
    assert.equal(r.status, 303);
    assert.match(r.headers.get("set-cookie") ?? "", /orch_session=.*Secure/);
  });

  test("CSRF: a form post without the session's token (or with another session's) is refused and changes nothing", async () => {
    const before = await getDag(fx.store.db, "etl");
    assert.equal(before?.is_paused, 1);
    const none = await post("/dags/etl/pause", { is_paused: "false" });
    assert.equal(none.status, 403);
    assert.match(none.text, /CSRF token is missing or wrong/);
    const other = await fx.session({ username: "bob", role: "admin" });
    const foreign = await post("/dags/etl/pause", { is_paused: "false", _csrf: other.csrf });
    assert.equal(foreign.status, 403);
    assert.equal((await getDag(fx.store.db, "etl"))?.is_paused, 1);
    const ok = await post("/dags/etl/pause", { is_paused: "false", _csrf: admin.csrf, next: "/dags" });
    assert.equal(ok.status, 303);
    assert.equal((await getDag(fx.store.db, "etl"))?.is_paused, 0);
    await post("/dags/etl/pause", { is_paused: "true", _csrf: admin.csrf });
    assert.equal((await getDag(fx.store.db, "etl"))?.is_paused, 1);
  });

  test("a viewer sees the pages but no Trigger button, and may not post", async () => {
    const viewer = await fx.session({ username: "val", role: "viewer" });
    const list = await get("/dags", viewer.cookie);
    assert.equal(list.status, 200);
    assert.doesNotMatch(list.text, />Trigger</);
    const r = await post("/dags/etl/pause", { is_paused: "false", _csrf: viewer.csrf }, viewer.cookie);
    assert.equal(r.status, 403);
    assert.equal((await get("/dags/etl/trigger", viewer.cookie)).status, 403);
  });

  test("DAG list: schedule in words, tags, import errors banner; filters by name, tag and latest run state", async () => {
    const r = await get("/dags");
    assert.equal(r.status, 200);
    assert.match(r.headers.get("content-security-policy") ?? "", /script-src 'self'/);
    for (const id of ["etl", "big", "other"]) assert.ok(r.text.includes(`data-dag-id="${id}"`), id);
    assert.match(r.text, /At 06:00/);
    assert.match(r.text, /class="tag" href="\/dags\?tag=finance">finance</);
    assert.match(r.text, /id="import-errors"/);
    assert.match(r.text, /\/dags\/broken\.ts:7/);
    assert.ok(r.text.includes("Unexpected &quot;&lt;script&gt;&quot;"), "the message is escaped");
    const squares = r.text.slice(r.text.indexOf('data-dag-id="big"')).split("</tr>")[0];
    assert.equal((squares.match(/class="sq st-success"/g) ?? []).length, 10, "the last 10 runs");

    const byTag = await get("/dags?tag=finance");
    assert.ok(byTag.text.includes('data-dag-id="etl"'), "expected byTag.text.includes('data-dag-id=\"etl\"')");
    assert.ok(!byTag.text.includes('data-dag-id="big"'), "expected !byTag.text.includes('data-dag-id=\"big\"')");
    const byName = await get("/dags?name=OTH");
    assert.ok(byName.text.includes('data-dag-id="other"'), "expected byName.text.includes('data-dag-id=\"other\"')");
    assert.ok(!byName.text.includes('data-dag-id="etl"'), "expected !byName.text.includes('data-dag-id=\"etl\"')");
    const byState = await get("/dags?state=success");
    assert.ok(byState.text.includes('data-dag-id="big"'), "expected byState.text.includes('data-dag-id=\"big\"')");
    assert.ok(!byState.text.includes('data-dag-id="etl"'), "expected !byState.text.includes('data-dag-id=\"etl\"')");
    const none = await get("/dags?state=failed");
    assert.match(none.text, /No DAGs match these filters/);
  });

  test("trigger form: a field per param by type, defaults and descriptions; errors next to their field with the value kept", async () => {
    const form = await get("/dags/etl/trigger");
    assert.equal(form.status, 200);
    assert.match(form.text, /<input type="number" id="f-param\.n" name="param\.n" value="3" step="1"/);
    assert.match(form.text, /<select id="f-param\.mode" name="param\.mode"><option value="&quot;fast&quot;" selected="">fast<\/option><option value="&quot;slow&quot;">slow<\/option>/);
    assert.match(form.text, /<input type="checkbox" id="f-param\.dry" name="param\.dry" value="true"\/>/);
    assert.match(form.text, /<textarea id="f-param\.opts" name="param\.opts"[^>]*>\{\n {2}&quot;a&quot;: 1\n\}<\/textarea>/);
    assert.match(form.text, /Only pretend/);
    assert.ok(form.text.includes("How many &lt;img src=x onerror=&quot;window.__xss=3&quot;&gt;"), "descriptions are escaped");
    assert.match(form.text, /name="unpause" value="true" checked=""/);

    const base = { _csrf: admin.csrf, "param.mode": JSON.stringify("slow"), "param.opts": '{"a": 2}', "param.label": "hello" };
    const bad = await post("/dags/etl/trigger", { ...base, "param.n": "0", "param.opts": "{not json" });
    assert.equal(bad.status, 422);
    assert.match(bad.text, /data-error-for="opts">not valid JSON/);
    assert.ok(bad.text.includes("{not json</textarea>"), "the text typed stays");
    const low = await post("/dags/etl/trigger", { ...base, "param.n": "0" });
    assert.equal(low.status, 422);
    assert.match(low.text, /data-error-for="n">param &quot;n&quot; must be &gt;= 1/);
    assert.match(low.text, /name="param\.n" value="0"/);
    const date = await post("/dags/etl/trigger", { ...base, "param.n": "2", logical_date: "yesterday" });
    assert.match(date.text, /data-error-for="logical_date">&quot;yesterday&quot; is not a date/);
    assert.equal((await fx.store.db.selectFrom("dag_run").select("id").where("dag_id", "=", "etl").execute()).length, 0, "no run from a failed submit");

    const changes = fx.changes;
    const ok = await post("/dags/etl/trigger", { ...base, "param.n": "5", "param.dry": "true", unpause: "true", run_id: "from_the_form", logical_date: "2024-03-01T00:00:00Z" });
    assert.equal(ok.status, 303);
    assert.equal(ok.headers.get("location"), "/dags/etl/runs/from_the_form");
    const run = await fx.store.db.selectFrom("dag_run").selectAll().where("run_id", "=", "from_the_form").executeTakeFirstOrThrow();
    assert.deepEqual(JSON.parse(run.conf ?? "{}"), { n: 5, mode: "slow", dry: true, opts: { a: 2 }, label: "hello" });
    assert.equal(run.logical_date, "2024-03-01T00:00:00.000Z");
    assert.equal(run.triggered_by, "ui");
    assert.equal((await getDag(fx.store.db, "etl"))?.is_paused, 0, "unpaused when triggering");
    assert.ok(fx.changes > changes, "the scheduler was told");
    const again = await post("/dags/etl/trigger", { ...base, "param.n": "5", run_id: "from_the_form" });
    assert.equal(again.status, 422);
    assert.match(again.text, /data-error-for="run_id">DAG run from_the_form of etl already exists/);
  });

  test("DAG page: doc_md as Markdown with raw HTML and javascript: links disabled; details; runs with conf", async () => {
    const r = await get("/dags/etl");
    assert.equal(r.status, 200);
    assert.match(r.text, /<h1>Notes<\/h1>/);
    assert.ok(!r.text.includes("<script>window"), "no raw script");
    assert.ok(!/<img[^>]*onerror/i.test(r.text), "no raw img onerror");
    assert.ok(r.text.includes("&lt;script&gt;window.__xss = 1&lt;/script&gt;"), "expected r.text.includes(\"&lt;script&gt;window.__xss = 1&lt;/script&gt;\")");
    assert.ok(!r.text.includes('href="javascript:'), "no javascript: link");
    assert.match(r.text, /from_the_form/);
    assert.match(r.text, /&quot;label&quot;:&quot;hello&quot;/);
    assert.match(r.text, /<svg class="graph"/);
  });

  test("grid: 25 runs x 30 tasks, newest run on the right, each cell links to its try", async () => {
    const r = await get("/dags/big");
    const grid = r.text.slice(r.text.indexOf('<div id="grid"'), r.text.indexOf('<section id="graph-section"'));
    const cells = grid.match(/<td><a class="sq st-success" href="\/dags\/big\/runs\/[^"]+\/tasks\/t\d+" title="t\d+: success"><\/a><\/td>/g) ?? [];
    assert.equal(cells.length, 750);
    const runsInOrder = [...grid.matchAll(/class="runbar st-success" href="[^"]+" title="[^"]+" data-run-id="([^"]+)"/g)].map((m) => m[1]);
    assert.equal(runsInOrder.length, 25);
    assert.deepEqual(runsInOrder, [...runsInOrder].sort(), "manual__2024-01-01 … 01-25, oldest left");
    assert.match(grid, /href="\/dags\/big\/runs\/manual__2024-01-25T00:00:00\+00:00\/tasks\/t29"/);
    const rows = [...grid.matchAll(/<tr data-task-id="(t\d+)">/g)].map((m) => m[1]);
    assert.deepEqual(rows, Array.from({ length: 30 }, (_, i) => `t${i}`), "upstream tasks first");
  });

  test("run page: clear a task with downstream and mark the run failed, each after a confirmation listing the changes", async () => {
    const runId = "manual__2024-01-25T00:00:00+00:00";
    const runPath = `/dags/big/runs/${runId}`;
    const page = await get(runPath);
    assert.equal(page.status, 200);
    assert.equal((page.text.match(/<tr data-task-id="t\d+" data-state="success">/g) ?? []).length, 30);

    const confirm = await post(`${runPath}/tasks/t27/action`, { _csrf: admin.csrf, action: "clear", downstream: "true" });
    assert.equal(confirm.status, 200);
    const listed = [...confirm.text.matchAll(/<tr data-task-id="(t\d+)">/g)].map((m) => m[1]);
    assert.deepEqual(listed, ["t27", "t28", "t29"]);
    let tis = await listTaskInstances(fx.store.db, "big", runId);
    assert.ok(tis.every((t) => t.state === "success"), "nothing changed before confirming");
    const done = await post(`${runPath}/tasks/t27/action`, { _csrf: admin.csrf, action: "clear", downstream: "true", confirm: "yes" });
    assert.equal(done.status, 303);
    tis = await listTaskInstances(fx.store.db, "big", runId);
    assert.deepEqual(tis.filter((t) => t.state === null).map((t) => t.task_id).sort(), ["t27", "t28", "t29"]);

    const mark = await post(`${runPath}/mark`, { _csrf: admin.csrf, state: "failed" });
    assert.match(mark.text, /id="run-change"/);
    assert.equal([...mark.text.matchAll(/<tr data-task-id="(t\d+)">/g)].length, 3, "the three unfinished ones get skipped");
    await post(`${runPath}/mark`, { _csrf: admin.csrf, state: "failed", confirm: "yes" });
    const run = await fx.store.db.selectFrom("dag_run").selectAll().where("run_id", "=", runId).executeTakeFirstOrThrow();
    assert.equal(run.state, "failed");
  });

  test("try page: the log is shown as text (markup in it escaped); a finished try is not followed; an unknown task is a 404 page", async () => {
    const runId = "manual__2024-01-24T00:00:00+00:00";
    const ti = (await listTaskInstances(fx.store.db, "big", runId)).find((t) => t.task_id === "t3");
    assert.ok(ti, "expected ti");
    await fx.store.db.updateTable("task_instance").set({ try_number: 1 }).where("id", "=", ti.id).execute();
    const path = taskLogPath(join(fx.home.home, "logs"), { dag_id: "big", run_id: runId, task_id: "t3", try_number: 1 });
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, "[2024-01-24T00:00:01.000+0000] {task} INFO - hello <script>window.__xss=4</script>\n");
    const r = await get(`/dags/big/runs/${encodeURIComponent(runId)}/tasks/t3`);
    assert.equal(r.status, 200);
    assert.ok(r.text.includes("hello &lt;script&gt;window.__xss=4&lt;/script&gt;"), "expected r.text.includes(\"hello &lt;script&gt;window.__xss=4&lt;/script&gt;\")");
    assert.ok(!r.text.includes("<script>window"), "expected !r.text.includes(\"<script>window\")");
    assert.doesNotMatch(r.text, /data-stream=/, "a finished try is not followed");
    const missing = await get(`/dags/big/runs/${encodeURIComponent(runId)}/tasks/nope`);
    assert.equal(missing.status, 404);
    assert.match(missing.text, /no task instance nope/);
  });

  test("a finished try's log stream sends what is left, then an end event", async () => {
    const runId = "manual__2024-01-24T00:00:00+00:00";
    const r = await fx.app.request(`/dags/big/runs/${runId}/tasks/t3/tries/1/stream?offset=0`, { headers: { cookie: admin.cookie } });
    assert.equal(r.status, 200);
    assert.match(r.headers.get("content-type") ?? "", /text\/event-stream/);
    const text = await r.text();
    const chunk = /event: chunk\ndata: (.*)\nid: (\d+)/.exec(text);
    assert.ok(chunk, text);
    assert.match(JSON.parse(chunk[1]) as string, /hello <script>/, "JSON text, inserted by the page's script as a text node");
    assert.ok(Number(chunk[2]) > 0, "the offset is the event id, for a reconnect");
    assert.match(text, /event: end\n/);
    const resumed = await (await fx.app.request(`/dags/big/runs/${runId}/tasks/t3/tries/1/stream`, { headers: { cookie: admin.cookie, "last-event-id": chunk[2] } })).text();
    assert.doesNotMatch(resumed, /event: chunk/, "Last-Event-ID resumes after what was sent");
    assert.equal((await get(`/dags/big/runs/${runId}/tasks/t3/tries/9/stream`)).status, 404);
  });

  test("unknown DAGs and runs are HTML 404 pages; the REST API keeps its JSON", async () => {
    const dag = await get("/dags/nope");
    assert.equal(dag.status, 404);
    assert.match(dag.headers.get("content-type") ?? "", /text\/html/);
    assert.match(dag.text, /id="error-message">The Dag with ID: `nope` was not found/);
    assert.equal((await get("/dags/big/runs/nope")).status, 404);
    const api = await fx.app.request("/api/v2/dags/nope");
    assert.equal(api.status, 401);
    assert.match(api.headers.get("content-type") ?? "", /application\/json/);
  });

  test("logout ends the session cookie", async () => {
    const r = await post("/logout", { _csrf: admin.csrf });
    assert.equal(r.status, 303);
    assert.equal(r.headers.get("location"), "/login");
    assert.match(r.headers.get("set-cookie") ?? "", /orch_session=;.*Max-Age=0/);
  });
});

describe("status page with [core] simple_auth_manager_all_admins", () => {
  let open: UiFixture;
  before(async () => {
    open = await uiFixture({ ORCH__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS: "true" });
    await seedDag(open.store, { dag_id: "etl" });
  });
  after(() => open.cleanup());

  test("no login: the first page sets an admin session; forms still need its CSRF token", async () => {
    assert.equal((await open.app.request("/login")).headers.get("location"), "/dags");
    const r = await open.app.request("/dags");
    assert.equal(r.status, 200);
    const cookie = /orch_session=[^;]+/.exec(r.headers.get("set-cookie") ?? "")?.[0];
    assert.ok(cookie, "expected cookie");
    const html = await r.text();
    assert.match(html, /admin \(admin\)/);
    const csrf = /name="_csrf" value="([^"]+)"/.exec(html)?.[1] ?? "";
    const form = (fields: Record<string, string>) =>
      open.app.request("/dags/etl/pause", { method: "POST", headers: { cookie, "content-type": "application/x-www-form-urlencoded" }, body: new URLSearchParams(fields).toString() });
    assert.equal((await form({ is_paused: "false" })).status, 403);
    assert.equal((await form({ is_paused: "false", _csrf: csrf })).status, 303);
    assert.equal((await getDag(open.store.db, "etl"))?.is_paused, 0);
  });
});

// Over real HTTP against `orch standalone`: a task instance's note (PATCH with and without
// update_mask), a manual run with its own data interval, bulk PATCH /api/v2/dags by dag_id_pattern,
// and the rendered fields a bash task records (the secret it read masked), shown on the try page
// beside its log (masked too), and its XCom (its last line, which repeats the secret) masked in
// the REST API and on the try page.
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { openStore } from "../../src/store/index.ts";
import { runOrch } from "../helpers/cli.ts";
import { writeDag } from "../helpers/engine.ts";
import { tempHome, type TempHome } from "../helpers/home.ts";
import { assertNoLeakedProcesses } from "../helpers/leaks.ts";
import { call, generatedPassword, login, startOrch, waitFor, type OrchProcess } from "./helpers.ts";

const DAGS = `import { dag, bash } from "orch";
export const rendered = dag({ dag_id: "gaps_rendered", schedule: null, start_date: "2024-01-01" }, () => {
  bash({ task_id: "echo", command: "echo day={{ ds }}; echo token=$API_TOKEN", env: { API_TOKEN: "{{ var.value.api_token }}" } });
});
export const a = dag({ dag_id: "gaps_a", schedule: "@daily", start_date: "2024-01-01", catchup: false }, () => {
  bash({ task_id: "t", command: "true" });
});
export const b = dag({ dag_id: "gaps_b", schedule: "@daily", start_date: "2024-01-01", catchup: false }, () => {
  bash({ task_id: "t", command: "true" });
});
export const other = dag({ dag_id: "other_c", schedule: "@daily", start_date: "2024-01-01", catchup: false }, () => {
  bash({ task_id: "t", command: "true" });
});
`;

const SECRET = "s3cr3t-token-value-for-masking";

interface Ti {
  state: string | null;
  note: string | null;
  rendered_fields: Record<string, unknown>;
}

describe("REST: task instance notes, trigger data intervals, bulk dag patch, rendered fields", () => {
  let home: TempHome;
  let orch: OrchProcess;
  let token: string;
  let base: string;
  let runId: string;

  before(async () => {
    home = await tempHome("orch-api-gaps-");
    await writeDag(home.dags, "dags.ts", DAGS);
    orch = await startOrch(["standalone", "--port", "0"], home.home);
    const v = await runOrch(["variables", "set", "api_token", SECRET], { home: home.home });
    assert.equal(v.code, 0, v.stderr);
    base = orch.url;
    token = await login(base, "admin", generatedPassword(home.home));
    for (const id of ["gaps_rendered", "gaps_a", "gaps_b", "other_c"]) {
      await waitFor(`${id} parsed`, async () => ((await call(base, "GET", `/api/v2/dags/${id}`, { token })).status === 200 ? true : undefined));
    }
  });
  after(async () => {
    await orch?.stop();
    await assertNoLeakedProcesses(home.home);
    await home.cleanup();
  });

  test("bulk PATCH /dags pauses what dag_id_pattern matches, nothing without it; a bad mask is a 400", async () => {
    // DAGs start paused ([core] dags_are_paused_at_creation): other_c is unpaused first, by itself.
    const one = await call(base, "PATCH", "/api/v2/dags/other_c", { token, body: { is_paused: false }, schema: "DAGResponse" });
    assert.equal(one.status, 200, one.text);
    const none = await call(base, "PATCH", "/api/v2/dags", { token, body: { is_paused: true } });
    assert.equal(none.status, 200, none.text);
    assert.equal((none.body as { total_entries: number }).total_entries, 0, "no pattern, no match");
    const some = await call(base, "PATCH", "/api/v2/dags?dag_id_pattern=gaps_%25&update_mask=is_paused", { token, body: { is_paused: true }, schema: "DAGCollectionResponse" });
    assert.equal(some.status, 200, some.text);
    const ids = (some.body as { dags: { dag_id: string; is_paused: boolean }[] }).dags.map((d) => [d.dag_id, d.is_paused]);
    assert.deepEqual(ids.sort(), [["gaps_a", true], ["gaps_b", true], ["gaps_rendered", true]]);
    const other = await call(base, "GET", "/api/v2/dags/other_c", { token, schema: "DAGResponse" });
    assert.equal((other.body as { is_paused: boolean }).is_paused, false, "other_c does not match gaps_%");
    const bad = await call(base, "PATCH", "/api/v2/dags?dag_id_pattern=gaps_%25&update_mask=owners", { token, body: { is_paused: false } });
    assert.equal(bad.status, 400, bad.text);
    const un = await call(base, "PATCH", "/api/v2/dags?dag_id_pattern=gaps_rendered", { token, body: { is_paused: false } });
    assert.equal(un.status, 200, un.text);
    assert.equal(((await call(base, "GET", "/api/v2/dags/gaps_rendered", { token })).body as { is_paused: boolean }).is_paused, false, "gaps_rendered unpaused");
  });

  test("trigger with a data interval: stored as given; one end only is a 422 naming it; start after end is a 400", async () => {
    const one = await call(base, "POST", "/api/v2/dags/gaps_rendered/dagRuns", { token, body: { logical_date: "2024-03-01T00:00:00Z", data_interval_start: "2024-02-01T00:00:00Z" } });
    assert.equal(one.status, 422, one.text);
    assert.deepEqual((one.body as { detail: { loc: string[] }[] }).detail[0].loc, ["body", "data_interval_end"]);
    const reversed = await call(base, "POST", "/api/v2/dags/gaps_rendered/dagRuns", { token, body: { logical_date: "2024-03-01T00:00:00Z", data_interval_start: "2024-03-02T00:00:00Z", data_interval_end: "2024-03-01T00:00:00Z" } });
    assert.equal(reversed.status, 400, reversed.text);
    assert.match(reversed.text, /data_interval_start/);
    const badDate = await call(base, "POST", "/api/v2/dags/gaps_rendered/dagRuns", { token, body: { logical_date: "2024-03-01T00:00:00Z", data_interval_start: "soon", data_interval_end: "2024-03-01T00:00:00Z" } });
    assert.equal(badDate.status, 422, badDate.text);
    const made = await call(base, "POST", "/api/v2/dags/gaps_rendered/dagRuns", { token, body: { logical_date: "2024-03-01T00:00:00Z", data_interval_start: "2024-02-01T00:00:00Z", data_interval_end: "2024-03-01T00:00:00Z" }, schema: "DAGRunResponse" });
    assert.equal(made.status, 200, made.text);
    const run = made.body as { dag_run_id: string; data_interval_start: string; data_interval_end: string };
    assert.equal(new Date(run.data_interval_start).toISOString(), "2024-02-01T00:00:00.000Z");
    assert.equal(new Date(run.data_interval_end).toISOString(), "2024-03-01T00:00:00.000Z");
    runId = run.dag_run_id;
  });

  test("the bash task's rendered fields are recorded with the secret masked, served by the API and on the try page", async () => {
    assert.ok(runId, "the previous test triggered a run");
    const path = `/api/v2/dags/gaps_rendered/dagRuns/${encodeURIComponent(runId)}/taskInstances/echo`;
    const ti = await waitFor("echo to succeed", async () => {
      const r = await call(base, "GET", path, { token, schema: "TaskInstanceResponse" });
      const t = r.body as Ti;
      return t.state === "success" ? t : undefined;
    }, 120_000);
    const rendered = JSON.stringify(ti.rendered_fields);
    assert.match(rendered, /day=2024-03-01/, `bash_command rendered with ds: ${rendered}`);
    assert.ok(!rendered.includes(SECRET), `the variable's value is masked: ${rendered}`);
    assert.match(rendered, /\*\*\*/, `the masked value shows as ***: ${rendered}`);
    const page = await call(base, "GET", `/dags/gaps_rendered/runs/${encodeURIComponent(runId)}/tasks/echo`, { headers: { cookie: `orch_session=${token}` } });
    assert.equal(page.status, 200, page.text.slice(0, 500));
    assert.match(page.text, /day=2024-03-01/, "the try page shows the rendered command");
    const at = page.text.indexOf(SECRET);
    assert.ok(at < 0, `the try page does not show the secret: …${page.text.slice(Math.max(0, at - 300), at + 50)}…`);
    assert.match(page.text, /token=\*\*\*/, "the try page shows the XCom with the secret masked");
    for (const stringify of ["true", "false"]) {
      const x = await call(base, "GET", `${path}/xcomEntries/return_value?stringify=${stringify}`, { token });
      assert.equal(x.status, 200, x.text);
      assert.equal((x.body as { value: unknown }).value, "token=***", `the XCom's value is masked (stringify=${stringify}): ${x.text}`);
    }
  });

  test("a task instance's note: set, returned, cleared with update_mask; too long or a bad mask is refused", async () => {
    assert.ok(runId, "a run exists");
    const path = `/api/v2/dags/gaps_rendered/dagRuns/${encodeURIComponent(runId)}/taskInstances/echo`;
    // Airflow 3's PATCH answers with a collection (a mapped task's instances all at once).
    const set = await call(base, "PATCH", path, { token, body: { note: "checked <b>by hand</b>" }, schema: "TaskInstanceCollectionResponse" });
    assert.equal(set.status, 200, set.text);
    assert.equal((set.body as { task_instances: Ti[] }).task_instances[0].note, "checked <b>by hand</b>");
    const got = await call(base, "GET", path, { token, schema: "TaskInstanceResponse" });
    assert.equal((got.body as Ti).note, "checked <b>by hand</b>", "the note is stored");
    assert.equal((got.body as Ti).state, "success", "a note alone does not change the state");
    const page = await call(base, "GET", `/dags/gaps_rendered/runs/${encodeURIComponent(runId)}/tasks/echo`, { headers: { cookie: `orch_session=${token}` } });
    assert.match(page.text, /checked &lt;b&gt;by hand&lt;\/b&gt;/, "the note is on the try page, escaped");
    const badMask = await call(base, "PATCH", `${path}?update_mask=colour`, { token, body: { note: "x" } });
    assert.equal(badMask.status, 400, badMask.text);
    const long = await call(base, "PATCH", path, { token, body: { note: "x".repeat(1001) } });
    assert.ok(long.status === 400 || long.status === 422, `a note over 1000 characters is refused: ${long.status} ${long.text}`);
    const cleared = await call(base, "PATCH", `${path}?update_mask=note`, { token, body: { note: null }, schema: "TaskInstanceCollectionResponse" });
    assert.equal(cleared.status, 200, cleared.text);
    assert.equal((cleared.body as { task_instances: Ti[] }).task_instances[0].note, null, "note cleared");
    assert.equal(((await call(base, "GET", path, { token, schema: "TaskInstanceResponse" })).body as Ti).note, null, "cleared in the store");
  });

  test("DELETE of a backfill's run and of its DAG: everything they own goes, the backfill keeps its dates with the runs unlinked", async () => {
    const made = await call(base, "POST", "/api/v2/backfills", { token, body: { dag_id: "gaps_b", from_date: "2024-01-01T00:00:00Z", to_date: "2024-01-02T00:00:00Z" } });
    assert.equal(made.status, 200, made.text);
    const backfillId = (made.body as { id: number }).id;
    const runsPath = "/api/v2/dags/gaps_b/dagRuns";
    type Runs = { dag_runs: { dag_run_id: string; state: string }[] };
    const runs = await waitFor("the backfill's two runs to finish", async () => {
      const r = (await call(base, "GET", runsPath, { token })).body as Runs;
      return r.dag_runs.length === 2 && r.dag_runs.every((x) => x.state === "success" || x.state === "failed") ? r.dag_runs : undefined;
    }, 120_000);
    const links = async () => {
      const store = await openStore(`sqlite:///${join(home.home, "orch.db")}`);
      try {
        const rows = await store.db.selectFrom("backfill_dag_run").select(["dag_run_id", "logical_date"]).where("backfill_id", "=", backfillId).execute();
        const tis = await store.db.selectFrom("task_instance").select("run_id").where("dag_id", "=", "gaps_b").execute();
        const runIds = (await store.db.selectFrom("dag_run").select("id").execute()).map((r) => r.id);
        return { linked: rows.filter((r) => r.dag_run_id !== null).length, dangling: rows.filter((r) => r.dag_run_id !== null && !runIds.includes(r.dag_run_id)).length, dates: rows.length, tiRuns: new Set(tis.map((t) => t.run_id)) };
      } finally {
        await store.close();
      }
    };
    assert.deepEqual((await links()).linked, 2, "both runs linked to the backfill");
    const gone = runs[0].dag_run_id;
    const del = await call(base, "DELETE", `${runsPath}/${encodeURIComponent(gone)}`, { token });
    assert.equal(del.status, 204, del.text);
    const afterRun = await links();
    assert.deepEqual([afterRun.dates, afterRun.linked, afterRun.dangling], [2, 1, 0], "the deleted run is unlinked from the backfill, not left dangling");
    assert.ok(!afterRun.tiRuns.has(gone), "the deleted run's task instances are gone");
    const delDag = await call(base, "DELETE", "/api/v2/dags/gaps_b", { token });
    assert.equal(delDag.status, 204, delDag.text);
    const afterDag = await links();
    assert.deepEqual([afterDag.dates, afterDag.linked, afterDag.dangling, afterDag.tiRuns.size], [2, 0, 0, 0], "the DAG's runs and task instances are gone, the backfill's dates unlinked");
  });
});

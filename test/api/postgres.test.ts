// The API on PostgreSQL: `orch standalone` with ORCH_DATABASE_URL, the same listings, filters,
// patterns and health as on SQLite.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { writeDag } from "../helpers/engine.ts";
import { tempHome, type TempHome } from "../helpers/home.ts";
import { assertNoLeakedProcesses } from "../helpers/leaks.ts";
import { freshPgDatabase, pgSkipReason, type FreshDatabase } from "../helpers/pg.ts";
import { call, generatedPassword, login, startOrch, waitFor, type OrchProcess } from "./helpers.ts";

const skip = await pgSkipReason();

describe("postgres: the REST API", { skip }, () => {
  let home: TempHome;
  let db: FreshDatabase;
  let orch: OrchProcess;
  let token: string;

  before(async () => {
    home = await tempHome("orch-api-pg-");
    db = await freshPgDatabase("api");
    await writeDag(home.dags, "pg.ts", `import { dag, task } from "orch";\nexport default dag({ dag_id: "pg_api", schedule: null, start_date: "2024-01-01", tags: ["pg"] }, () => { task({ task_id: "t" }, async () => ({ ok: true }))(); });\n`);
    await writeDag(home.dags, "pg_daily.ts", `import { dag, task, Asset } from "orch";\nconst a = new Asset("pg://daily");\nexport default dag({ dag_id: "pg_daily", schedule: "@daily", start_date: "2024-01-01" }, () => { task({ task_id: "t", outlets: [a] }, async () => 1)(); });\n`);
    orch = await startOrch(["standalone", "--port", "0"], home.home, { env: { ORCH_DATABASE_URL: db.url } });
    token = await login(orch.url, "admin", generatedPassword(home.home));
  });
  after(async () => {
    await orch?.stop();
    await assertNoLeakedProcesses(home.home);
    await db?.drop();
    await home.cleanup();
  });

  test("trigger, run to success, list with filters and patterns, XCom, health", async () => {
    await waitFor("DAG parsed", async () => ((await call(orch.url, "GET", "/api/v2/dags/pg_api", { token })).status === 200 ? true : undefined));
    await call(orch.url, "PATCH", "/api/v2/dags/pg_api", { token, body: { is_paused: false }, schema: "DAGResponse" });
    const t = await call(orch.url, "POST", "/api/v2/dags/pg_api/dagRuns", { token, body: { logical_date: "2024-02-01T00:00:00Z" }, schema: "DAGRunResponse" });
    const runId = (t.body as { dag_run_id: string }).dag_run_id;
    await waitFor("success", async () => {
      const r = await call(orch.url, "GET", `/api/v2/dags/pg_api/dagRuns/${encodeURIComponent(runId)}`, { token, schema: "DAGRunResponse" });
      return (r.body as { state: string }).state === "success" ? true : undefined;
    }, 90_000);
    const pat = await call(orch.url, "GET", "/api/v2/dags?dag_id_pattern=PG%25&tags=pg", { token, schema: "DAGCollectionResponse" });
    assert.equal((pat.body as { total_entries: number }).total_entries, 1);
    const runs = await call(orch.url, "GET", "/api/v2/dags/~/dagRuns?state=success&logical_date_gte=2024-01-31T00:00:00Z&run_id_pattern=manual%25", { token, schema: "DAGRunCollectionResponse" });
    assert.equal((runs.body as { total_entries: number }).total_entries, 1);
    const tis = await call(orch.url, "GET", "/api/v2/dags/~/dagRuns/~/taskInstances?task_id_pattern=T&state=success", { token, schema: "TaskInstanceCollectionResponse" });
    assert.equal((tis.body as { total_entries: number }).total_entries, 1);
    const x = await call(orch.url, "GET", `/api/v2/dags/pg_api/dagRuns/${encodeURIComponent(runId)}/taskInstances/t/xcomEntries/return_value?stringify=false`, { token, schema: "XComResponseNative" });
    assert.deepEqual((x.body as { value: unknown }).value, { ok: true });
    const v = await call(orch.url, "POST", "/api/v2/variables", { token, body: { key: "api_token", value: "abcdef-123" }, schema: "VariableResponse" });
    assert.equal((v.body as { value: string }).value, "***");
    const h = await call(orch.url, "GET", "/api/v2/monitor/health", { schema: "HealthInfoResponse" });
    assert.equal((h.body as { scheduler: { status: string } }).scheduler.status, "healthy");
  });

  test("backfills and asset events on PostgreSQL: create, a second refused, runs to the end; an event from outside", async () => {
    await waitFor("pg_daily parsed", async () => ((await call(orch.url, "GET", "/api/v2/dags/pg_daily", { token })).status === 200 ? true : undefined));
    const body = { dag_id: "pg_daily", from_date: "2024-01-01T00:00:00Z", to_date: "2024-01-02T00:00:00Z" };
    const dry = await call(orch.url, "POST", "/api/v2/backfills/dry_run", { token, body, schema: "DryRunBackfillCollectionResponse" });
    assert.equal((dry.body as { total_entries: number }).total_entries, 2);
    const made = await call(orch.url, "POST", "/api/v2/backfills", { token, body, schema: "BackfillResponse" });
    assert.equal(made.status, 200, made.text);
    assert.equal((await call(orch.url, "POST", "/api/v2/backfills", { token, body })).status, 409);
    const id = (made.body as { id: number }).id;
    await waitFor("backfill completed", async () => {
      const r = await call(orch.url, "GET", `/api/v2/backfills/${id}`, { token, schema: "BackfillResponse" });
      return (r.body as { completed_at: string | null }).completed_at ? true : undefined;
    }, 120_000);
    const assets = await call(orch.url, "GET", "/api/v2/assets?uri_pattern=pg:%25", { token, schema: "AssetCollectionResponse" });
    const asset = (assets.body as { assets: { id: number }[] }).assets[0];
    assert.ok(asset, assets.text);
    const ev = await call(orch.url, "POST", "/api/v2/assets/events", { token, body: { asset_id: asset.id, extra: { from: "outside" } }, schema: "AssetEventResponse" });
    assert.equal(ev.status, 200, ev.text);
    const events = await call(orch.url, "GET", `/api/v2/assets/events?asset_id=${asset.id}`, { token, schema: "AssetEventCollectionResponse" });
    // Two backfill runs produced an event each, and one came from outside.
    assert.equal((events.body as { total_entries: number }).total_entries, 3, events.text);
  });
});

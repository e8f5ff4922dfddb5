// /api/v2/backfills and /api/v2/assets over real HTTP against `orch standalone`: create, dry run,
// list, get, pause, unpause, cancel; assets, their events, and an event from outside that starts
// the consumer's asset-triggered run. Every body is checked against the contract schemas.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { runOrch } from "../helpers/cli.ts";
import { writeDag } from "../helpers/engine.ts";
import { tempHome, type TempHome } from "../helpers/home.ts";
import { assertNoLeakedProcesses } from "../helpers/leaks.ts";
import { call, generatedPassword, login, startOrch, waitFor, type OrchProcess } from "./helpers.ts";
import { checked, type SchemaName } from "./schemas.ts";

const DAGS = `import { dag, task, Asset } from "orch";
const trips = new Asset("warehouse://trips");
export const daily = dag({ dag_id: "bf_daily", schedule: "@daily", start_date: "2024-01-01", }, () => {
  task({ task_id: "t" }, async () => "ok")();
});
export const producer = dag({ dag_id: "producer", schedule: null, start_date: "2024-01-01" }, () => {
  task({ task_id: "write", outlets: [trips] }, async () => "written")();
});
export const consumer = dag({ dag_id: "consumer", schedule: [trips], start_date: "2024-01-01" }, () => {
  task({ task_id: "read" }, async () => "read")();
});
`;

interface Backfill {
  id: number;
  dag_id: string;
  is_paused: boolean;
  completed_at: string | null;
  dag_run_conf: Record<string, unknown>;
  reprocess_behavior: string;
  max_active_runs: number;
}

describe("REST: backfills and assets", () => {
  let home: TempHome;
  let orch: OrchProcess;
  let admin: string;
  let viewer: string;
  let user: string;
  let op: string;
  let base: string;

  before(async () => {
    home = await tempHome("orch-api-bf-");
    await writeDag(home.dags, "dags.ts", DAGS);
    orch = await startOrch(["standalone", "--port", "0"], home.home, { env: { ORCH__CORE__EXECUTOR: "LocalExecutor" } });
    base = orch.url;
    admin = await login(base, "admin", generatedPassword(home.home));
    for (const [name, role] of [["vera", "viewer"], ["uma", "user"], ["otto", "op"]]) {
      const r = await runOrch(["users", "create", "-u", name, "-r", role], { home: home.home });
      assert.equal(r.code, 0, r.stderr);
    }
    viewer = await login(base, "vera", generatedPassword(home.home, "vera"));
    user = await login(base, "uma", generatedPassword(home.home, "uma"));
    op = await login(base, "otto", generatedPassword(home.home, "otto"));
    for (const id of ["bf_daily", "producer", "consumer"]) {
      await waitFor(`${id} parsed`, async () => ((await call(base, "GET", `/api/v2/dags/${id}`, { token: admin })).status === 200 ? true : undefined));
    }
  });
  after(async () => {
    await orch?.stop();
    await assertNoLeakedProcesses(home.home);
    await home.cleanup();
  });

  const body = (extra: Record<string, unknown> = {}) => ({ dag_id: "bf_daily", from_date: "2024-01-01T00:00:00Z", to_date: "2024-01-03T00:00:00Z", ...extra });

  test("dry run lists the dates and creates nothing; refusals are 404/422 naming the field", async () => {
    const dry = await call(base, "POST", "/api/v2/backfills/dry_run", { token: op, body: body(), schema: "DryRunBackfillCollectionResponse" });
    assert.equal(dry.status, 200, dry.text);
    const dates = (dry.body as { backfills: { logical_date: string }[] }).backfills.map((b) => b.logical_date);
    assert.deepEqual(dates.map((d) => new Date(d).toISOString()), ["2024-01-01T00:00:00.000Z", "2024-01-02T00:00:00.000Z", "2024-01-03T00:00:00.000Z"]);
    const none = await call(base, "GET", "/api/v2/backfills?dag_id=bf_daily", { token: viewer, schema: "BackfillCollectionResponse" });
    assert.equal((none.body as { total_entries: number }).total_entries, 0);

    const missing = await call(base, "POST", "/api/v2/backfills/dry_run", { token: op, body: body({ dag_id: "nope" }) });
    assert.equal(missing.status, 404);
    const nonPeriodic = await call(base, "POST", "/api/v2/backfills", { token: op, body: body({ dag_id: "producer" }) });
    assert.equal(nonPeriodic.status, 422, nonPeriodic.text);
    assert.match(JSON.stringify(nonPeriodic.body), /non-periodic schedule/);
    const reversed = await call(base, "POST", "/api/v2/backfills", { token: op, body: body({ from_date: "2024-02-01T00:00:00Z" }) });
    assert.equal(reversed.status, 422);
    assert.deepEqual((reversed.body as { detail: { loc: string[] }[] }).detail[0].loc, ["body", "from_date"]);
    const badDate = await call(base, "POST", "/api/v2/backfills", { token: op, body: body({ to_date: "soon" }) });
    assert.equal(badDate.status, 422);
    assert.deepEqual((badDate.body as { detail: { loc: string[] }[] }).detail[0].loc, ["body", "to_date"]);
    const extra = await call(base, "POST", "/api/v2/backfills", { token: op, body: body({ colour: "red" }) });
    assert.equal(extra.status, 422);
    const behaviour = await call(base, "POST", "/api/v2/backfills", { token: op, body: body({ reprocess_behavior: "sometimes" }) });
    assert.equal(behaviour.status, 422);
  });

  test("viewer and user may read but not create; op creates; a second is a 409; pause, unpause, run to the end", async () => {
    assert.equal((await call(base, "POST", "/api/v2/backfills", { token: viewer, body: body() })).status, 403);
    assert.equal((await call(base, "POST", "/api/v2/backfills", { token: user, body: body() })).status, 403);
    // Any backfill left from the previous test is finished before this one starts.
    await waitFor("no active backfill", async () => {
      const l = await call(base, "GET", "/api/v2/backfills?dag_id=bf_daily", { token: viewer, schema: "BackfillCollectionResponse" });
      return (l.body as { backfills: Backfill[] }).backfills.every((b) => b.completed_at) ? true : undefined;
    }, 90_000);
    const made = await call(base, "POST", "/api/v2/backfills", { token: op, body: body({ dag_run_conf: { n: 7 }, max_active_runs: 2, reprocess_behavior: "failed" }), schema: "BackfillResponse" });
    assert.equal(made.status, 200, made.text);
    const b = made.body as Backfill;
    assert.equal(b.dag_id, "bf_daily");
    assert.deepEqual(b.dag_run_conf, { n: 7 });
    assert.equal(b.max_active_runs, 2);
    assert.equal(b.reprocess_behavior, "failed");
    const again = await call(base, "POST", "/api/v2/backfills", { token: admin, body: body() });
    assert.equal(again.status, 409);
    assert.match((again.body as { detail: string }).detail, /Another backfill is running for Dag bf_daily/);

    const got = await call(base, "GET", `/api/v2/backfills/${b.id}`, { token: viewer, schema: "BackfillResponse" });
    assert.equal((got.body as Backfill).id, b.id);
    assert.equal((await call(base, "GET", "/api/v2/backfills/99999", { token: viewer })).status, 404);
    assert.equal((await call(base, "GET", "/api/v2/backfills/abc", { token: viewer })).status, 422);
    assert.equal((await call(base, "PUT", `/api/v2/backfills/${b.id}/pause`, { token: user })).status, 403);

    const paused = await call(base, "PUT", `/api/v2/backfills/${b.id}/pause`, { token: op, schema: "BackfillResponse" });
    if (paused.status === 200) {
      assert.equal((paused.body as Backfill).is_paused, true);
      const unpaused = await call(base, "PUT", `/api/v2/backfills/${b.id}/unpause`, { token: op, schema: "BackfillResponse" });
      assert.equal((unpaused.body as Backfill).is_paused, false);
    } else assert.equal(paused.status, 409, "only a backfill that already finished refuses pause");

    const done = await waitFor("backfill completed", async () => {
      const r = await call(base, "GET", `/api/v2/backfills/${b.id}`, { token: viewer, schema: "BackfillResponse" });
      return (r.body as Backfill).completed_at ? (r.body as Backfill) : undefined;
    }, 120_000);
    assert.ok(done.completed_at, "expected done.completed_at");
    const runs = await call(base, "GET", "/api/v2/dags/bf_daily/dagRuns?run_type=backfill", { token: viewer, schema: "DAGRunCollectionResponse" });
    const states = (runs.body as { dag_runs: { state: string; conf: Record<string, unknown> }[] }).dag_runs;
    assert.ok(states.length >= 3, JSON.stringify(states));
    assert.ok(states.every((r) => r.state === "success"), JSON.stringify(states));
    const late = await call(base, "PUT", `/api/v2/backfills/${b.id}/pause`, { token: op });
    assert.equal(late.status, 409);
    assert.match((late.body as { detail: string }).detail, /already completed/);
    assert.equal((await call(base, "PUT", `/api/v2/backfills/${b.id}/cancel`, { token: op })).status, 409);
    assert.equal((await call(base, "PUT", "/api/v2/backfills/99999/cancel", { token: op })).status, 404);

    const listed = await call(base, "GET", "/api/v2/backfills?dag_id=bf_daily", { token: viewer, schema: "BackfillCollectionResponse" });
    assert.ok((listed.body as { backfills: Backfill[] }).backfills.some((x) => x.id === b.id), "expected (listed.body as { backfills: Backfill[] }).backfills.some((x) => x.id === b.id)");
    const other = await call(base, "GET", "/api/v2/backfills?dag_id=consumer", { token: viewer, schema: "BackfillCollectionResponse" });
    assert.equal((other.body as { total_entries: number }).total_entries, 0);
  });

  test("cancel: a new backfill cancelled at once ends completed, its queued runs failed", async () => {
    const made = await call(base, "POST", "/api/v2/backfills", {
      token: op,
      body: { dag_id: "bf_daily", from_date: "2024-03-01T00:00:00Z", to_date: "2024-03-20T00:00:00Z", max_active_runs: 1 },
      schema: "BackfillResponse",
    });
    assert.equal(made.status, 200, made.text);
    const id = (made.body as Backfill).id;
    const cancelled = await call(base, "PUT", `/api/v2/backfills/${id}/cancel`, { token: admin, schema: "BackfillResponse" });
    assert.equal(cancelled.status, 200, cancelled.text);
    await waitFor("cancelled backfill completed", async () => {
      const r = await call(base, "GET", `/api/v2/backfills/${id}`, { token: viewer, schema: "BackfillResponse" });
      return (r.body as Backfill).completed_at ? true : undefined;
    }, 120_000);
    const failed = await call(base, "GET", "/api/v2/dags/bf_daily/dagRuns?run_type=backfill&state=failed&logical_date_gte=2024-03-01T00:00:00Z", { token: viewer, schema: "DAGRunCollectionResponse" });
    assert.ok((failed.body as { total_entries: number }).total_entries >= 1, failed.text);
  });

  test("assets: list, get, events; an event from outside queues the consumer's run", async () => {
    const list = await call(base, "GET", "/api/v2/assets", { token: viewer, schema: "AssetCollectionResponse" });
    const assets = (list.body as { assets: { id: number; uri: string; consuming_dags: { dag_id: string }[]; last_asset_event: unknown }[] }).assets;
    const trips = assets.find((a) => a.uri === "warehouse://trips");
    assert.ok(trips, JSON.stringify(assets));
    assert.deepEqual(trips.consuming_dags.map((d) => d.dag_id), ["consumer"]);
    assert.equal(trips.last_asset_event, null);
    const pattern = await call(base, "GET", "/api/v2/assets?uri_pattern=WAREHOUSE%25", { token: viewer, schema: "AssetCollectionResponse" });
    assert.equal((pattern.body as { total_entries: number }).total_entries, 1);
    assert.equal((await call(base, "GET", "/api/v2/assets/99999", { token: viewer })).status, 404);
    assert.equal((await call(base, "GET", "/api/v2/assets/x", { token: viewer })).status, 422);

    await call(base, "PATCH", "/api/v2/dags/consumer", { token: admin, body: { is_paused: false }, schema: "DAGResponse" });
    assert.equal((await call(base, "POST", "/api/v2/assets/events", { token: viewer, body: { asset_id: trips.id } })).status, 403);
    assert.equal((await call(base, "POST", "/api/v2/assets/events", { token: op, body: { asset_id: 99999 } })).status, 404);
    assert.equal((await call(base, "POST", "/api/v2/assets/events", { token: op, body: { asset_id: trips.id, extra: "x" } })).status, 422);
    const ev = await call(base, "POST", "/api/v2/assets/events", { token: op, body: { asset_id: trips.id, extra: { rows: 3 } }, schema: "AssetEventResponse" });
    assert.equal(ev.status, 200, ev.text);
    const e = ev.body as { id: number; asset_id: number; uri: string; extra: Record<string, unknown>; source_dag_id: string | null };
    assert.equal(e.asset_id, trips.id);
    assert.equal(e.uri, "warehouse://trips");
    assert.deepEqual(e.extra, { rows: 3 });
    assert.equal(e.source_dag_id, null);

    const events = await call(base, "GET", `/api/v2/assets/events?asset_id=${trips.id}`, { token: viewer, schema: "AssetEventCollectionResponse" });
    assert.equal((events.body as { total_entries: number }).total_entries, 1);
    assert.equal((events.body as { asset_events: { id: number }[] }).asset_events[0].id, e.id);
    const none = await call(base, "GET", "/api/v2/assets/events?source_dag_id=producer", { token: viewer, schema: "AssetEventCollectionResponse" });
    assert.equal((none.body as { total_entries: number }).total_entries, 0);
    const one = await call(base, "GET", `/api/v2/assets/${trips.id}`, { token: viewer, schema: "AssetResponse" });
    assert.equal((one.body as { last_asset_event: { id: number } }).last_asset_event.id, e.id);

    await waitFor("the consumer's asset-triggered run", async () => {
      const r = await call(base, "GET", "/api/v2/dags/consumer/dagRuns?run_type=asset_triggered", { token: viewer, schema: "DAGRunCollectionResponse" });
      return (r.body as { total_entries: number }).total_entries >= 1 ? true : undefined;
    }, 90_000);
  });

  test("contract: every shape this file met was checked against its schema", () => {
    const want: SchemaName[] = ["BackfillResponse", "BackfillCollectionResponse", "DryRunBackfillCollectionResponse", "AssetResponse", "AssetCollectionResponse", "AssetEventResponse", "AssetEventCollectionResponse", "HTTPValidationError", "HTTPExceptionResponse"];
    assert.deepEqual(want.filter((n) => !checked.get(n)), []);
  });
});

// The status page's backfills and assets pages, in-process (app.request): the list, the create
// form and its dry-run preview, refusals shown above the form, one backfill's dates, pause and
// cancel, roles and CSRF, and the assets page escaping what an event's extra holds.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { recordAssetEvent, setDagScheduleAssetReferences } from "../../src/store/assets.ts";
import { getBackfill, listBackfills } from "../../src/store/backfills.ts";
import { seedDag, uiFixture, type UiFixture } from "../helpers/ui-fixtures.ts";

let fx: UiFixture;
let admin: { cookie: string; csrf: string };

async function get(path: string, cookie = admin.cookie) {
  const r = await fx.app.request(path, { headers: { cookie } });
  return { status: r.status, text: await r.text(), headers: r.headers };
}

async function post(path: string, fields: Record<string, string>, cookie = admin.cookie) {
  const r = await fx.app.request(path, { method: "POST", headers: { cookie, "content-type": "application/x-www-form-urlencoded" }, body: new URLSearchParams(fields).toString() });
  return { status: r.status, text: await r.text(), headers: r.headers };
}

const FORM = { dag_id: "bf", from_date: "2024-01-01", to_date: "2024-01-03", reprocess_behavior: "none", max_active_runs: "2" };

describe("status page: backfills and assets (in-process)", () => {
  before(async () => {
    fx = await uiFixture();
    admin = await fx.session();
    await seedDag(fx.store, { dag_id: "bf" });
    await seedDag(fx.store, { dag_id: "manual_only", schedule: null });
  });
  after(() => fx.cleanup());

  test("the list offers the form to op; a viewer sees no form and may not post; a post needs the CSRF token", async () => {
    const page = await get("/backfills");
    assert.equal(page.status, 200);
    assert.match(page.text, /No backfills yet/);
    assert.match(page.text, /id="backfill-form"/);
    assert.match(page.text, /<option value="bf"/);
    const viewer = await fx.session({ username: "val", role: "viewer" });
    const seen = await get("/backfills", viewer.cookie);
    assert.equal(seen.status, 200);
    assert.doesNotMatch(seen.text, /backfill-form/);
    assert.equal((await post("/backfills", { ...FORM, _csrf: viewer.csrf }, viewer.cookie)).status, 403);
    const user = await fx.session({ username: "uma", role: "user" });
    assert.equal((await post("/backfills", { ...FORM, _csrf: user.csrf }, user.cookie)).status, 403, "user is below op");
    assert.equal((await post("/backfills", FORM)).status, 403, "no CSRF token");
    assert.equal((await listBackfills(fx.store.db)).length, 0);
  });

  test("dry run previews each date and creates nothing; refusals are shown with what was typed", async () => {
    const dry = await post("/backfills", { ...FORM, dry_run: "yes", _csrf: admin.csrf });
    assert.equal(dry.status, 200);
    // The schedule is 06:00 daily: 2024-01-03 06:00 is after to_date (2024-01-03 00:00).
    assert.match(dry.text, /Dry run: 2 date\(s\) would run; nothing was created/);
    for (const d of ["2024-01-01 06:00:00", "2024-01-02 06:00:00"]) assert.ok(dry.text.includes(d), d);
    assert.ok(!dry.text.includes("2024-01-03 06:00:00"), "expected !dry.text.includes(\"2024-01-03 06:00:00\")");
    assert.equal((dry.text.match(/create a run/g) ?? []).length, 2);
    assert.equal((await listBackfills(fx.store.db)).length, 0);

    const badDate = await post("/backfills", { ...FORM, to_date: "<b>soon</b>", _csrf: admin.csrf });
    assert.equal(badDate.status, 422);
    assert.match(badDate.text, /To: &quot;&lt;b&gt;soon&lt;\/b&gt;&quot; is not a date/);
    assert.ok(!badDate.text.includes("<b>soon</b>"), "escaped");
    const reversed = await post("/backfills", { ...FORM, from_date: "2024-02-01", _csrf: admin.csrf });
    assert.equal(reversed.status, 422);
    assert.match(reversed.text, /must not be after to_date/);
    assert.match(reversed.text, /value="2024-02-01"/, "what was typed stays");
    const manual = await post("/backfills", { ...FORM, dag_id: "manual_only", _csrf: admin.csrf });
    assert.equal(manual.status, 422);
    assert.match(manual.text, /non-periodic schedule/);
    assert.equal((await post("/backfills", { ...FORM, max_active_runs: "0", _csrf: admin.csrf })).status, 422);
    assert.equal((await listBackfills(fx.store.db)).length, 0);
  });

  test("create shows the backfill's dates and runs; a second is refused; pause, unpause, cancel", async () => {
    const made = await post("/backfills", { ...FORM, dry_run: "no", _csrf: admin.csrf });
    assert.equal(made.status, 303, made.text.slice(0, 500));
    const where = made.headers.get("location") ?? "";
    assert.match(where, /^\/backfills\/\d+$/);
    const id = Number(where.split("/").pop());
    const page = await get(where);
    assert.equal(page.status, 200);
    assert.match(page.text, /2 run\(s\): 0 success, 0 failed, 0 running,\s*2 queued; 0 date\(s\) skipped/);
    assert.equal((page.text.match(/href="\/dags\/bf\/runs\/backfill__/g) ?? []).length, 2);

    const again = await post("/backfills", { ...FORM, dry_run: "no", _csrf: admin.csrf });
    assert.equal(again.status, 409);
    assert.match(again.text, /Another backfill is running for Dag bf/);
    const list = await get("/backfills");
    assert.match(list.text, new RegExp(`data-backfill="${id}"`));

    assert.equal((await post(`${where}/pause`, { _csrf: admin.csrf })).status, 303);
    assert.equal((await getBackfill(fx.store.db, id))?.is_paused, 1);
    assert.match((await get(where)).text, />Unpause</);
    assert.equal((await post(`${where}/unpause`, { _csrf: admin.csrf })).status, 303);
    assert.equal((await getBackfill(fx.store.db, id))?.is_paused, 0);
    assert.equal((await post(`${where}/explode`, { _csrf: admin.csrf })).status, 404);
    assert.equal((await post(`${where}/cancel`, { _csrf: admin.csrf })).status, 303);
    const after = await get(where);
    assert.match(after.text, /2 failed/);
    assert.equal((await get("/backfills/99999")).status, 404);
    assert.equal((await get("/backfills/abc")).status, 404);
  });

  test("assets: each with its consumers and latest events; an event's extra is escaped", async () => {
    const empty = await get("/assets");
    assert.equal(empty.status, 200);
    assert.match(empty.text, /No assets/);
    const asset = { name: "trips", uri: "warehouse://trips" };
    await fx.store.writeTransaction(async (trx) => {
      await setDagScheduleAssetReferences(trx, "bf", [asset]);
      await recordAssetEvent(trx, asset, { extra: { note: "<script>window.__xss = 1</script>" } });
    });
    const page = await get("/assets");
    assert.match(page.text, /data-asset="warehouse:\/\/trips"/);
    assert.match(page.text, /href="\/dags\/bf"/);
    assert.match(page.text, /outside \(API or CLI\)/);
    assert.ok(!page.text.includes("<script>window.__xss"), "the extra is escaped");
    assert.match(page.text, /&lt;script&gt;window.__xss = 1/);
  });
});

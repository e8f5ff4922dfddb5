// The read cache (src/api/read-cache.ts) never serves a read once the database changed under it:
// a write through the same store, or through another connection (another process's store), makes
// the next request load again. On both dialects; then over the REST API and the status page.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { createReadCache } from "../../src/api/read-cache.ts";
import { readDataVersion } from "../../src/store/data-version.ts";
import { openStore, type Store } from "../../src/store/index.ts";
import { triggerDagRun } from "../../src/scheduler/run-creation.ts";
import { setDagPaused } from "../../src/store/run-edits.ts";
import { dialectSkipReason, freshStore, testDialects, type TestStore } from "../helpers/store.ts";
import { seedDag, seedRuns, uiFixture, type UiFixture } from "../helpers/ui-fixtures.ts";

async function setVariable(store: Store, key: string, val: string): Promise<void> {
  await store.db.insertInto("variable").values({ key, val, description: null, is_encrypted: 0 }).onConflict((oc) => oc.column("key").doUpdateSet({ val })).execute();
}

// On PostgreSQL the snapshot is the server's: a write to any database on it (other test files',
// other programs) moves the version too. There only "a write is seen" is asserted; that a read is
// kept while nothing is written is asserted on SQLite, where nothing else writes the file.
// The tests that count loads are declared on SQLite only (they test the cache's bounds, which
// do not depend on the dialect), rather than declared and skipped on PostgreSQL.
const NOT_DECLARED = (..._args: unknown[]): void => undefined;
for (const dialect of testDialects()) {
  const quiet = dialect === "sqlite";
  describe(`${dialect}: read cache`, { skip: await dialectSkipReason(dialect) }, () => {
    let s: TestStore;
    let other: Store;
    before(async () => {
      s = await freshStore(dialect, "read_cache");
      // A second connection to the same database, as the scheduler or the CLI in another process.
      other = await openStore(s.url);
    });
    after(async () => {
      await other?.close();
      await s?.cleanup();
    });

    test("the data version stays while nothing is written and moves on every commit, from any connection", async () => {
      const v0 = await readDataVersion(s.store);
      if (quiet) {
        assert.equal(await readDataVersion(s.store), v0, "two reads with nothing written in between");
        await s.store.db.selectFrom("variable").selectAll().execute();
        assert.equal(await readDataVersion(s.store), v0, "a read is not a change");
      }
      await setVariable(s.store, "a", "1");
      const v1 = await readDataVersion(s.store);
      assert.notEqual(v1, v0, "a write through this connection");
      await setVariable(other, "a", "2");
      const v2 = await readDataVersion(s.store);
      assert.notEqual(v2, v1, "a write through another connection");
      await s.store.writeTransaction(async (trx) => {
        await trx.updateTable("variable").set({ val: "3" }).where("key", "=", "a").execute();
      });
      assert.notEqual(await readDataVersion(s.store), v2, "a write transaction");
    });

    test("a kept read is served until a write, from this connection or another, then loaded again", async () => {
      const cache = createReadCache(s.store);
      let loads = 0;
      const load = async () => {
        loads++;
        const r = await s.store.db.selectFrom("variable").select("val").where("key", "=", "k").executeTakeFirst();
        return r?.val ?? null;
      };
      await setVariable(s.store, "k", "one");
      assert.equal(await cache.get("k", load), "one");
      assert.equal(await cache.get("k", load), "one");
      if (quiet) assert.equal(loads, 1, "the second read was kept");
      await setVariable(s.store, "k", "two");
      assert.equal(await cache.get("k", load), "two", "a write through the same store is seen at once");
      await setVariable(other, "k", "three");
      assert.equal(await cache.get("k", load), "three", "a write through another connection is seen at once");
      if (quiet) {
        assert.equal(loads, 3);
        assert.deepEqual(cache.stats, { hits: 1, misses: 3 });
      }
    });

    test("concurrent requests share one load; a failed load is not kept", async () => {
      const cache = createReadCache(s.store);
      let loads = 0;
      const values = await Promise.all(Array.from({ length: 5 }, () => cache.get("same", async () => ++loads)));
      if (quiet) {
        assert.equal(loads, 1);
        assert.deepEqual(values, [1, 1, 1, 1, 1]);
      }
      await assert.rejects(cache.get("fails", async () => Promise.reject(new Error("boom"))), /boom/);
      assert.equal(await cache.get("fails", async () => "ok"), "ok", "the failure was not kept");
    });

    (quiet ? test : NOT_DECLARED)("entries are bounded: the least recently used goes first", async () => {
      const cache = createReadCache(s.store, { maxEntries: 2 });
      let loads = 0;
      const load = async () => ++loads;
      await cache.get("a", load);
      await cache.get("b", load);
      await cache.get("a", load); // a is now the most recently used
      await cache.get("c", load); // evicts b
      assert.equal(loads, 3);
      await cache.get("a", load);
      assert.equal(loads, 3, "a was kept");
      await cache.get("b", load);
      assert.equal(loads, 4, "b was evicted");
    });

    (quiet ? test : NOT_DECLARED)("a value `keep` refuses is served once and loaded again next time", async () => {
      const cache = createReadCache(s.store);
      let loads = 0;
      const load = async () => ({ n: ++loads, live: loads === 1 });
      const keep = (v: { live: boolean }) => !v.live;
      assert.equal((await cache.get("p", load, { keep })).n, 1);
      assert.equal((await cache.get("p", load, { keep })).n, 2, "the live one was not kept");
      assert.equal((await cache.get("p", load, { keep })).n, 2, "the settled one was");
    });

    (quiet ? test : NOT_DECLARED)("kept bodies are bounded by their bytes; one too large is not kept", async () => {
      const cache = createReadCache(s.store, { maxBytes: 1000 });
      let loads = 0;
      const body = (n: number) => async () => {
        loads++;
        return new Uint8Array(n);
      };
      await cache.get("big", body(300)); // more than a quarter of 1000: not kept
      await cache.get("big", body(300));
      assert.equal(loads, 2);
      for (const k of ["a", "b", "c", "d"]) await cache.get(k, body(240)); // 960 bytes
      await cache.get("a", body(240));
      assert.equal(loads, 6, "four of 240 bytes fit");
      await cache.get("e", body(240)); // 1200 bytes: the least recently used (b) goes
      await cache.get("b", body(240));
      assert.equal(loads, 8, "b was evicted to make room");
    });
  });
}

describe("read cache over the REST API and the status page", () => {
  let fx: UiFixture;
  let other: Store;
  let cookie: string;
  let bearer: string;
  before(async () => {
    fx = await uiFixture();
    other = await openStore(`sqlite:///${fx.home.home}/orch.db`);
    const d = await seedDag(fx.store, { dag_id: "cached", tasks: 3, tags: ["t"] });
    await seedRuns(fx.store, d, 2);
    cookie = (await fx.session()).cookie;
    bearer = `Bearer ${cookie.slice(cookie.indexOf("=") + 1)}`;
  });
  after(async () => {
    await other?.close();
    await fx?.cleanup();
  });

  const api = async (path: string) => {
    const r = await fx.app.request(path, { headers: { authorization: bearer } });
    assert.equal(r.status, 200, path);
    assert.equal(r.headers.get("content-type"), "application/json");
    return (await r.json()) as Record<string, unknown>;
  };
  const page = async (path: string) => {
    const r = await fx.app.request(path, { headers: { cookie } });
    assert.equal(r.status, 200, path);
    return r.text();
  };

  test("GET /api/v2/dags shows a pause and a new DAG on the next request, and filters are not mixed up", async () => {
    const a = await api("/api/v2/dags");
    assert.equal((a.dags as { is_paused: boolean }[])[0].is_paused, true);
    // Through another connection, as `orch dags unpause` in another process does.
    await setDagPaused(other.db, "cached", false);
    const b = await api("/api/v2/dags");
    assert.equal((b.dags as { is_paused: boolean }[])[0].is_paused, false, "the unpause shows at once");
    await seedDag(fx.store, { dag_id: "added", tasks: 1 });
    const c = await api("/api/v2/dags");
    assert.deepEqual((c.dags as { dag_id: string }[]).map((d) => d.dag_id), ["added", "cached"]);
    const filtered = await api("/api/v2/dags?tags=t");
    assert.deepEqual((filtered.dags as { dag_id: string }[]).map((d) => d.dag_id), ["cached"], "another filter is another entry");
    assert.equal((await api("/api/v2/dags?limit=1")).total_entries, 2);
  });

  test("a DAG's dagRuns list shows a new run and a state change on the next request; an unknown DAG stays a 404", async () => {
    const before = await api("/api/v2/dags/cached/dagRuns");
    assert.equal(before.total_entries, 2);
    const d = await seedDag(fx.store, { dag_id: "cached", tasks: 3, tags: ["t"] });
    await triggerDagRun(fx.store, d, { logicalDate: new Date("2025-06-01T00:00:00Z"), triggeredBy: "test" });
    const after = await api("/api/v2/dags/cached/dagRuns?order_by=-id");
    assert.equal(after.total_entries, 3);
    const runs = after.dag_runs as { dag_run_id: string; state: string }[];
    assert.equal(runs[0].state, "queued");
    await other.db.updateTable("dag_run").set({ state: "failed" }).where("run_id", "=", runs[0].dag_run_id).execute();
    const changed = await api("/api/v2/dags/cached/dagRuns?order_by=-id");
    assert.equal((changed.dag_runs as { state: string }[])[0].state, "failed");
    for (let i = 0; i < 2; i++) {
      const r = await fx.app.request("/api/v2/dags/nope/dagRuns", { headers: { authorization: bearer } });
      assert.equal(r.status, 404);
    }
  });

  test("the DAG list and the DAG page show a re-parsed DAG and a new run on the next request", async () => {
    const list1 = await page("/dags");
    assert.match(list1, /data-dag-id="cached"/);
    assert.doesNotMatch(list1, /data-dag-id="reparsed"/);
    await seedDag(fx.store, { dag_id: "reparsed", tasks: 2 });
    assert.match(await page("/dags"), /data-dag-id="reparsed"/);

    // A kept page is kept per user and session: another user sees their own name, role and token.
    const viewer = await fx.session({ username: "vera", role: "viewer" });
    const asViewer = await (await fx.app.request("/dags", { headers: { cookie: viewer.cookie } })).text();
    assert.match(asViewer, /vera \(viewer\)/);
    assert.doesNotMatch(asViewer, />Trigger</, "a viewer gets no Trigger button");
    assert.ok(asViewer.includes(`value="${viewer.csrf}"`), "the viewer's own CSRF token");
    const asAdmin = await page("/dags");
    assert.match(asAdmin, />Trigger</);
    assert.ok(!asAdmin.includes(viewer.csrf), "not the viewer's token");
    assert.equal(asAdmin.match(/data-dag-id=/g)?.length, 3);
    assert.match(await page("/dags?name=repar"), /data-dag-id="reparsed"/);
    assert.doesNotMatch(await page("/dags?name=repar"), /data-dag-id="cached"/, "a filter is another entry");

    const first = await seedDag(fx.store, { dag_id: "reparsed", tasks: 2, doc_md: "# First doc" });
    await seedRuns(fx.store, first, 1);
    const grid1 = await page("/dags/reparsed");
    assert.match(grid1, /data-task-id="t1"/);
    assert.doesNotMatch(grid1, /data-task-id="t2"/);
    assert.equal(grid1.match(/class="runbar /g)?.length, 1);
    assert.match(grid1, /<h1>First doc<\/h1>/);
    // The DAG file changed: one more task and another doc, as the DAG processor would store it.
    const d = await seedDag(fx.store, { dag_id: "reparsed", tasks: 3, doc_md: "# Second doc" });
    const grid2 = await page("/dags/reparsed");
    assert.match(grid2, /data-task-id="t2"/, "the re-parsed DAG's new task is in the grid");
    assert.match(grid2, /<h1>Second doc<\/h1>/, "and its new doc_md");
    assert.doesNotMatch(grid2, /First doc/);
    await triggerDagRun(fx.store, d, { logicalDate: new Date("2025-06-01T00:00:00Z"), triggeredBy: "test" });
    const grid3 = await page("/dags/reparsed");
    assert.equal(grid3.match(/class="runbar /g)?.length, 2, "the new run is in the grid");
    assert.match(grid3, /class="runbar st-queued"/);

    // Kept: asking again costs only the data version's statement.
    const s0 = fx.store.stats.statements;
    assert.equal(await page("/dags/reparsed"), grid3);
    assert.equal(fx.store.stats.statements - s0, 1, "a kept page reads only the data version");
    // A run that started and has not ended shows its duration counted to now: never kept.
    await other.db.updateTable("dag_run").set({ state: "running", start_date: new Date().toISOString() }).where("dag_id", "=", "reparsed").where("state", "=", "queued").execute();
    await page("/dags/reparsed");
    const s1 = fx.store.stats.statements;
    assert.match(await page("/dags/reparsed"), /class="runbar st-running"/);
    assert.ok(fx.store.stats.statements - s1 > 1, "a page with a running run is read and rendered again");
  });
});

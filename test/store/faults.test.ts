// The store under database faults (PostgreSQL): a LISTEN connection terminated by the server is
// re-established, and a client terminated while checked out fails its query without crashing the
// process (pg-pool drops its error listener from checked-out clients).
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import pg from "pg";
import { sql } from "kysely";
import { listenForNotifications, notifyScheduler } from "../../src/store/notify.ts";
import { ADMIN_URL, pgSkipReason } from "../helpers/pg.ts";
import { freshStore, type TestStore } from "../helpers/store.ts";

async function admin<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: ADMIN_URL });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

async function until(what: string, fn: () => Promise<boolean> | boolean, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await fn())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe("postgres: store faults", { skip: await pgSkipReason() }, () => {
  let t: TestStore;
  before(async () => {
    t = await freshStore("postgres", "faults");
  });
  after(() => t.cleanup());

  it("a LISTEN connection killed by pg_terminate_backend is re-established and hears notifications again", async () => {
    let heard = 0;
    const said: string[] = [];
    const name = new URL(t.url).pathname.slice(1);
    const listener = await listenForNotifications(t.store, () => heard++, { log: (m) => said.push(m) });
    try {
      await notifyScheduler(t.store);
      await until("the first notification", () => heard > 0);
      const killed = await admin((c) =>
        c.query("select pg_terminate_backend(pid) from pg_stat_activity where datname = $1 and query ilike 'LISTEN%'", [name]),
      );
      assert.equal(killed.rowCount, 1);
      await until("the listener said it reconnected", () => said.some((m) => /LISTEN connection back/.test(m)));
      const before = heard;
      await until("a notification after the reconnect", async () => {
        await notifyScheduler(t.store);
        return heard > before;
      });
      assert.ok(said.some((m) => /dropped/.test(m)), said.join("\n"));
    } finally {
      await listener.close();
    }
  });

  it("a client terminated while checked out fails its transaction; the process survives and the store works on", async () => {
    const name = new URL(t.url).pathname.slice(1);
    const tx = t.store.writeTransaction(async (trx) => {
      await sql`select 1`.execute(trx);
      await admin((c) => c.query("select pg_terminate_backend(pid) from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()", [name]));
      // The client is checked out and idle here: the server's termination arrives as an event.
      await new Promise((r) => setTimeout(r, 500));
      await sql`select 1`.execute(trx);
    });
    await assert.rejects(tx, (e: Error) => /terminat|Connection/i.test(e.message));
    await until("the store answers again", async () => {
      try {
        await sql`select 1`.execute(t.store.db);
        return true;
      } catch {
        return false;
      }
    });
  });
});

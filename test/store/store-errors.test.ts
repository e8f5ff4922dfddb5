// isTransientStoreError (src/store/store-errors.ts) on errors real stores throw: what the scheduler
// waits out (the store down, busy, read-only) and what it does not (a constraint or trigger refusing
// one row's write, which would refuse every retry).
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import Database from "better-sqlite3";
import pg from "pg";
import { isTransientStoreError } from "../../src/store/store-errors.ts";
import { tempHome, type TempHome } from "../helpers/home.ts";
import { freshPgDatabase, pgSkipReason, withPgClient, type FreshDatabase } from "../helpers/pg.ts";

/** The error `fn` throws. */
async function thrown(fn: () => unknown): Promise<unknown> {
  try {
    await fn();
  } catch (e) {
    return e;
  }
  throw new Error("expected an error");
}

describe("sqlite: which store errors are transient", () => {
  let h: TempHome;
  let path: string;
  before(async () => {
    h = await tempHome();
    path = join(h.home, "e.db");
    const db = new Database(path);
    db.pragma("journal_mode = WAL");
    db.exec("create table t (id integer primary key, v text not null)");
    db.exec("create trigger refuse before update on t when new.v = 'no' begin select raise(abort, 'refused'); end");
    db.exec("insert into t values (1, 'a')");
    db.close();
  });
  after(() => h.cleanup());

  for (const [what, make, transient] of [
    ["a NOT NULL constraint", (db: Database.Database) => db.prepare("insert into t values (2, null)").run(), false],
    ["a primary key constraint", (db: Database.Database) => db.prepare("insert into t values (1, 'b')").run(), false],
    ["a trigger's RAISE(ABORT)", (db: Database.Database) => db.prepare("update t set v = 'no' where id = 1").run(), false],
    ["another connection holding the write lock (SQLITE_BUSY)", (db: Database.Database) => {
      const holder = new Database(path);
      holder.exec("begin immediate");
      try {
        db.pragma("busy_timeout = 0");
        db.exec("begin immediate");
      } finally {
        holder.exec("rollback");
        holder.close();
      }
    }, true],
    ["a read-only connection (SQLITE_READONLY)", () => {
      const ro = new Database(path, { readonly: true });
      try {
        ro.prepare("update t set v = 'c' where id = 1").run();
      } finally {
        ro.close();
      }
    }, true],
  ] as const) {
    it(`${what}: ${transient ? "transient" : "not transient"}`, async () => {
      const db = new Database(path);
      try {
        const e = await thrown(() => make(db));
        assert.equal(isTransientStoreError(e), transient, `code ${(e as { code?: string }).code}`);
      } finally {
        db.close();
      }
    });
  }
});

describe("postgres: which store errors are transient", { skip: await pgSkipReason() }, () => {
  let db: FreshDatabase;
  let c: pg.Client;
  before(async () => {
    db = await freshPgDatabase("store_errors");
    c = new pg.Client({ connectionString: db.url });
    await c.connect();
    await c.query("create table t (id int primary key, v text not null)");
    await c.query("insert into t values (1, 'a')");
    await c.query("create function refuse() returns trigger language plpgsql as $$ begin raise exception 'refused'; end $$");
    await c.query("create trigger refuse before update on t for each row when (new.v = 'no') execute function refuse()");
  });
  after(async () => {
    await c.end();
    await db.drop();
  });

  for (const [what, make, transient] of [
    ["a unique violation (23505)", () => c.query("insert into t values (1, 'b')"), false],
    ["a NOT NULL violation (23502)", () => c.query("insert into t values (2, null)"), false],
    ["a trigger's RAISE EXCEPTION (P0001)", () => c.query("update t set v = 'no' where id = 1"), false],
    ["a read-only transaction (25006)", async () => {
      await c.query("begin read only");
      try {
        await c.query("update t set v = 'c' where id = 1");
      } finally {
        await c.query("rollback");
      }
    }, true],
    ["a lock not available (55P03)", async () => {
      await withPgClient(db.url, async (other) => {
        await other.query("begin");
        await other.query("select * from t where id = 1 for update");
        await c.query("select * from t where id = 1 for update nowait");
      });
    }, true],
    ["the session terminated by the server (57P01)", async () => {
      const victim = new pg.Client({ connectionString: db.url });
      await victim.connect();
      victim.on("error", () => {});
      const pid = (await victim.query("select pg_backend_pid() as pid")).rows[0].pid;
      await c.query("select pg_terminate_backend($1)", [pid]);
      try {
        await victim.query("select 1");
      } finally {
        await victim.end().catch(() => {});
      }
    }, true],
    ["no server on the port (ECONNREFUSED)", async () => {
      const nobody = new pg.Client({ host: "127.0.0.1", port: 1, user: "x", database: "x", connectionTimeoutMillis: 5000 });
      await nobody.connect();
    }, true],
  ] as const) {
    it(`${what}: ${transient ? "transient" : "not transient"}`, async () => {
      const e = await thrown(make);
      assert.equal(isTransientStoreError(e), transient, `code ${(e as { code?: string }).code}: ${(e as Error).message}`);
    });
  }
});

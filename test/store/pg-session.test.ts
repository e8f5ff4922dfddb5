// How the PostgreSQL store talks to the server (src/store/pg-session.ts), on a real PostgreSQL.
// Named statements: which statements get a name, the budget that bounds them, a named statement
// whose result columns change under it, and the [database] prepared_statements switch, read from the
// server's own pg_prepared_statements view of the session. Pipelined statements (begin, the advisory
// locks): a failure is reported by the next statement as itself, a rollback is not spoiled by it,
// and a pipelined lock still holds the statement behind it until it is granted, so that statement
// sees what the lock's holder committed (two processes).
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { after, before, describe, it } from "node:test";
import { Kysely, PostgresDialect, sql } from "kysely";
import pg from "pg";
import { loadConfig } from "../../src/config.ts";
import { openCurrentStore } from "../../src/store/index.ts";
import { PIPELINED, storePool, type StorePoolOptions } from "../../src/store/pg-session.ts";
import { withPgClient } from "../helpers/pg.ts";
import { dialectSkipReason, freshStore, type TestStore } from "../helpers/store.ts";

interface T {
  t: { id: number; v: string };
}

describe("postgres: named and pipelined statements", { skip: await dialectSkipReason("postgres") }, () => {
  let s: TestStore;
  before(async () => {
    s = await freshStore("postgres", "prepared");
    await sql`create table t (id int primary key, v text)`.execute(s.store.db);
    await sql`insert into t select g, 'v' || g from generate_series(1, 20) g`.execute(s.store.db);
  });
  after(() => s.cleanup());

  /** A Kysely on one connection through the wrapper, and the names its session has prepared. */
  function session(options: StorePoolOptions = {}) {
    const pool = new pg.Pool({ connectionString: s.url, max: 1, pipeline: true });
    const wrapped = storePool(pool, options);
    const db = new Kysely<T>({ dialect: new PostgresDialect({ pool: wrapped }) });
    const prepared = async () =>
      (await sql<{ name: string; statement: string }>`select name, statement from pg_prepared_statements order by name`.execute(db)).rows;
    return { db, stats: wrapped.stats, prepared, close: () => db.destroy() };
  }

  it("names a statement with parameters from its second execution on, and its results are the same", async () => {
    const x = session();
    try {
      const byId = (id: number) => x.db.selectFrom("t").select(["id", "v"]).where("id", "=", id).execute();
      assert.deepEqual(await byId(3), [{ id: 3, v: "v3" }]);
      assert.deepEqual(await x.prepared(), [], "a statement run once is not kept by the server");
      assert.deepEqual(await byId(4), [{ id: 4, v: "v4" }]);
      const kept = await x.prepared();
      assert.equal(kept.length, 1);
      assert.match(kept[0]!.statement, /from "t" where "id" = \$1/);
      for (let i = 5; i <= 9; i++) assert.deepEqual(await byId(i), [{ id: i, v: `v${i}` }]);
      assert.equal((await x.prepared()).length, 1, "later executions reuse the one name");
      assert.equal(x.stats.namedExecutions, 6);
    } finally {
      await x.close();
    }
  });

  it("never names a statement without parameters", async () => {
    const x = session();
    try {
      for (let i = 0; i < 3; i++) assert.equal((await sql<{ n: number }>`select count(*)::int as n from t`.execute(x.db)).rows[0]!.n, 20);
      assert.deepEqual(await x.prepared(), []);
    } finally {
      await x.close();
    }
  });

  it("names at most maxNames statements; past the budget they run unnamed, with the same results", async () => {
    const x = session({ maxNames: 3 });
    try {
      // Six texts (IN lists of six lengths), each run twice.
      for (let len = 1; len <= 6; len++) {
        const ids = Array.from({ length: len }, (_, i) => i + 1);
        for (let k = 0; k < 2; k++) {
          const rows = await x.db.selectFrom("t").select("id").where("id", "in", ids).orderBy("id").execute();
          assert.deepEqual(rows.map((r) => r.id), ids);
        }
      }
      assert.equal((await x.prepared()).length, 3);
      assert.equal(x.stats.named, 3);
      assert.ok(x.stats.unnamedExecutions >= 6, `unnamed executions: ${x.stats.unnamedExecutions}`);
    } finally {
      await x.close();
    }
  });

  it("renames a statement whose result columns changed under it: one execution fails, the next sees the new column", async () => {
    const x = session();
    try {
      await sql`create table wide (id int primary key, a int)`.execute(x.db);
      await sql`insert into wide values (1, 10)`.execute(x.db);
      const all = () => sql<Record<string, number>>`select * from wide where id = ${1}`.execute(x.db);
      await all();
      assert.deepEqual((await all()).rows, [{ id: 1, a: 10 }]);
      await sql`alter table wide add column b int default 7`.execute(x.db);
      await assert.rejects(all(), (e: { code?: string }) => e.code === "0A000");
      assert.equal(x.stats.renamed, 1);
      assert.deepEqual((await all()).rows, [{ id: 1, a: 10, b: 7 }]);
    } finally {
      await x.close();
    }
  });

  it("[database] prepared_statements = false sends every statement unnamed", async () => {
    for (const [setting, expectNamed] of [
      [undefined, true],
      ["false", false],
    ] as const) {
      const env: NodeJS.ProcessEnv = { ORCH_HOME: s.home, ORCH_DATABASE_URL: s.url };
      if (setting !== undefined) env.ORCH__DATABASE__PREPARED_STATEMENTS = setting;
      const store = await openCurrentStore(loadConfig(env));
      try {
        const names = await store.db.connection().execute(async (c) => {
          for (let i = 0; i < 3; i++) await c.selectFrom("dag").select("dag_id").where("dag_id", "=", `d${i}`).execute();
          return (await sql<{ name: string }>`select name from pg_prepared_statements`.execute(c)).rows;
        });
        assert.equal(names.length > 0, expectNamed, `prepared_statements=${setting ?? "(default)"}: ${JSON.stringify(names)}`);
      } finally {
        await store.close();
      }
    }
  });

  it("a pipelined statement's failure is thrown by the next statement, as itself", async () => {
    const x = session();
    try {
      await assert.rejects(
        x.db.transaction().execute(async (trx) => {
          await sql`${sql.raw(PIPELINED)}select 1 / ${0}`.execute(trx); // answered at once, sent
          await trx.selectFrom("t").select("id").where("id", "=", 1).execute();
        }),
        (e: { code?: string }) => e.code === "22012", // division_by_zero, not 25P02 (transaction aborted)
      );
      assert.equal(x.stats.pipelined, 2); // begin and the division
      // The rollback was not spoiled by it: the connection is usable and outside any transaction
      // (inside one, now() would be the transaction's start, not this statement's).
      assert.deepEqual(await x.db.selectFrom("t").select("id").where("id", "=", 2).execute(), [{ id: 2 }]);
      assert.equal((await sql<{ s: boolean }>`select now() = statement_timestamp() as s`.execute(x.db)).rows[0]!.s, true);
    } finally {
      await x.close();
    }
  });

  it("a transaction whose begin went pipelined commits like any other", async () => {
    const x = session();
    try {
      await x.db.transaction().execute(async (trx) => {
        await sql`insert into t values (${101}, ${"pipelined"})`.execute(trx);
      });
      assert.equal(x.stats.pipelined, 1);
      const seen = await withPgClient(s.url, async (other) => (await other.query("select v from t where id = 101")).rows);
      assert.deepEqual(seen, [{ v: "pipelined" }]);
    } finally {
      await x.close();
    }
  });

  it("a pipelined lock holds the statement behind it until granted: that statement sees the holder's commit (two processes)", async () => {
    await sql`create table counted (id int)`.execute(s.store.db);
    await withPgClient(s.url, async (holder) => {
      await holder.query("begin");
      await holder.query("select pg_advisory_xact_lock(4242)");
      await holder.query("insert into counted values (1), (2), (3)");
      // The other process: begin, the same lock pipelined, then a count, through storePool.
      const child = spawn(process.execPath, ["--import", "tsx", fileURLToPath(new URL("../helpers/pipelined-lock-child.ts", import.meta.url)), s.url], {
        stdio: ["ignore", "pipe", "inherit"],
      });
      let out = "";
      child.stdout.on("data", (b: Buffer) => (out += b.toString()));
      const exited = new Promise<number | null>((resolve) => child.on("exit", resolve));
      // Wait until the child's request for this very lock is queued behind ours (its count not run
      // yet): other test files take advisory locks on the same server. A one-key advisory lock
      // shows its key's low 32 bits as objid, with objsubid 1.
      for (let i = 0; ; i++) {
        const r = await holder.query(
          `select count(*)::int as n from pg_locks where locktype = 'advisory' and not granted and objid = 4242 and objsubid = 1
             and database = (select oid from pg_database where datname = current_database())`,
        );
        if (r.rows[0].n > 0) break;
        assert.ok(i < 600, "the child's lock never waited");
        await new Promise((r) => setTimeout(r, 50));
      }
      assert.equal(out, "", "the child's count ran before the lock was granted");
      await holder.query("commit");
      assert.equal(await exited, 0);
      assert.deepEqual(JSON.parse(out.trim()), { counted: 3, pipelined: 2 });
    });
  });
});

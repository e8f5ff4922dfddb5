// `orch db …` driven as a real process against SQLite and PostgreSQL.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { LATEST_SCHEMA_VERSION, MIGRATIONS, openStore } from "../../src/store/index.ts";
import { runOrch } from "../helpers/cli.ts";
import { dialectSkipReason, freshDatabaseUrl, testDialects } from "../helpers/store.ts";

for (const dialect of testDialects()) {
  describe(`${dialect}: orch db`, { skip: await dialectSkipReason(dialect) }, () => {
    let db: Awaited<ReturnType<typeof freshDatabaseUrl>>;
    let env: Record<string, string>;
    before(async () => {
      db = await freshDatabaseUrl(dialect, "clidb");
      // SQLite runs on the default location ($ORCH_HOME/orch.db) to prove the default works.
      env = dialect === "postgres" ? { ORCH_DATABASE_URL: db.url } : {};
    });
    after(() => db.cleanup());

    it("two `orch db migrate` processes racing on an empty database apply each migration once", async () => {
      const race = await freshDatabaseUrl(dialect, "race");
      try {
        const raceEnv = dialect === "postgres" ? { ORCH_DATABASE_URL: race.url } : {};
        const runs = await Promise.all([1, 2, 3].map(() => runOrch(["db", "migrate"], { home: race.home, env: raceEnv })));
        for (const r of runs) assert.equal(r.code, 0, r.stderr);
        assert.equal(runs.filter((r) => /applied migration 001/.test(r.stdout)).length, 1);
        const store = await openStore(race.url);
        const versions = await store.db.selectFrom("orch_version").select("version").execute();
        await store.close();
        assert.deepEqual(versions.map((v) => v.version), MIGRATIONS.map((m) => m.version));
      } finally {
        await race.cleanup();
      }
    });

    it("check fails before migrate and names the fix", async () => {
      const r = await runOrch(["db", "check"], { home: db.home, env });
      assert.equal(r.code, 1);
      assert.match(r.stderr, /migration\(s\) pending.*orch db migrate/);
    });

    it("migrate creates the schema, a second run applies nothing, check agrees", async () => {
      const first = await runOrch(["db", "migrate"], { home: db.home, env });
      assert.equal(first.code, 0, first.stderr);
      assert.match(first.stdout, /applied migration 001 initial/);
      if (dialect === "sqlite") assert.ok(existsSync(join(db.home, "orch.db")), "expected existsSync(join(db.home, \"orch.db\"))");
      const second = await runOrch(["db", "migrate"], { home: db.home, env });
      assert.equal(second.code, 0, second.stderr);
      assert.match(second.stdout, /nothing to apply/);
      assert.doesNotMatch(second.stdout, /applied migration/);
      const check = await runOrch(["db", "check"], { home: db.home, env });
      assert.equal(check.code, 0, check.stderr);
      assert.match(check.stdout, /reachable and current/);
    });

    it("reset refuses without --yes when stdin is not a terminal and changes nothing", async () => {
      const store = await openStore(db.url);
      await store.db.insertInto("variable").values({ key: "keep", val: "me", description: null, is_encrypted: 0 }).execute();
      await store.close();
      const r = await runOrch(["db", "reset"], { home: db.home, env });
      assert.equal(r.code, 1);
      assert.match(r.stderr, /not a terminal.*--yes/);
      const after1 = await openStore(db.url);
      const kept = await after1.db.selectFrom("variable").select("val").where("key", "=", "keep").executeTakeFirst();
      await after1.close();
      assert.equal(kept?.val, "me");
    });

    it("reset --yes drops everything and recreates the schema", async () => {
      const r = await runOrch(["db", "reset", "--yes"], { home: db.home, env });
      assert.equal(r.code, 0, r.stderr);
      const store = await openStore(db.url);
      const rows = await store.db.selectFrom("variable").selectAll().execute();
      await store.close();
      assert.equal(rows.length, 0);
      assert.equal((await runOrch(["db", "check"], { home: db.home, env })).code, 0);
    });

    it("every store command refuses a database written by a newer orch", async () => {
      const store = await openStore(db.url);
      await store.db
        .insertInto("orch_version")
        .values({ version: 99, name: "future", orch_version: "7.0.0", applied_at: new Date().toISOString() })
        .execute();
      await store.close();
      for (const args of [["db", "check"], ["db", "migrate"], ["db", "reset", "--yes"]]) {
        const r = await runOrch(args, { home: db.home, env });
        assert.equal(r.code, 1, `${args.join(" ")}: ${r.stdout}`);
        assert.match(r.stderr, new RegExp(`schema version 99 \\(written by orch 7\\.0\\.0\\).*this orch 0\\.\\d+\\.\\d+ knows \\(schema version ${LATEST_SCHEMA_VERSION}\\)`));
      }
    });
  });
}

describe("orch db: unreachable server", () => {
  it("check names the server and exits non-zero", async () => {
    const r = await runOrch(["db", "check"], {
      home: "/tmp",
      env: { ORCH_DATABASE_URL: "postgres://nobody:secret@127.0.0.1:1/none" },
    });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /cannot reach PostgreSQL at postgres:\/\/nobody:\*\*\*@127\.0\.0\.1:1\/none/);
    assert.doesNotMatch(r.stderr, /secret/);
  });
});

import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { isOrchError } from "../../src/errors.ts";
import { assertSchemaCurrent, LATEST_SCHEMA_VERSION, migrate, schemaStatus } from "../../src/store/index.ts";
import { ORCH_VERSION } from "../../src/version.ts";
import { dialectSkipReason, freshStore, testDialects, type TestStore } from "../helpers/store.ts";

const TABLES = [
  "asset", "asset_dag_run_queue", "asset_event", "backfill", "backfill_dag_run", "connection", "dag", "dag_run",
  "dag_schedule_asset_reference", "dagrun_asset_event", "import_error", "job", "log", "orch_version", "serialized_dag", "task_instance",
  "task_instance_history", "task_instance_note", "trigger", "user", "variable", "xcom",
];

for (const dialect of testDialects()) {
  describe(`${dialect}: migrations`, { skip: await dialectSkipReason(dialect) }, () => {
    let t: TestStore;
    before(async () => {
      t = await freshStore(dialect, "migrate", { migrated: false });
    });
    after(() => t.cleanup());

    it("an empty database has every migration pending and is refused as not migrated", async () => {
      const s = await schemaStatus(t.store);
      assert.equal(s.current, 0);
      assert.equal(s.pending.length, LATEST_SCHEMA_VERSION);
      await assert.rejects(assertSchemaCurrent(t.store), (e) => isOrchError(e, "ORCH_DB_NOT_MIGRATED"));
    });

    it("migrate creates every table once; a second run applies nothing", async () => {
      const first = await migrate(t.store);
      assert.deepEqual(first.map((m) => m.version), Array.from({ length: LATEST_SCHEMA_VERSION }, (_, i) => i + 1));
      const names = (await t.store.db.introspection.getTables()).map((x) => x.name).sort();
      assert.deepEqual(names, TABLES);
      assert.deepEqual(await migrate(t.store), []);
      await assertSchemaCurrent(t.store);
    });

    it("the same query layer round-trips rows on this dialect", async () => {
      const inserted = await t.store.db
        .insertInto("variable")
        .values({ key: "k", val: "v", description: null, is_encrypted: 0 })
        .returning("id")
        .executeTakeFirstOrThrow();
      assert.equal(typeof inserted.id, "number");
      const row = await t.store.db.selectFrom("variable").selectAll().where("key", "=", "k").executeTakeFirstOrThrow();
      assert.equal(row.val, "v");
      // The unique key on variable.key, in each dialect's words.
      await assert.rejects(t.store.db.insertInto("variable").values({ key: "k", val: "again", description: null, is_encrypted: 0 }).execute(), (e: unknown) =>
        e instanceof Error && /UNIQUE constraint failed: variable\.key|duplicate key value violates unique constraint/.test(e.message));
    });

    it("a database written by a newer orch is refused, naming both versions", async () => {
      await t.store.db
        .insertInto("orch_version")
        .values({ version: LATEST_SCHEMA_VERSION + 1, name: "from-the-future", orch_version: "9.9.9", applied_at: new Date().toISOString() })
        .execute();
      await assert.rejects(assertSchemaCurrent(t.store), (e) => {
        assert.ok(isOrchError(e, "ORCH_DB_SCHEMA_TOO_NEW"), "expected isOrchError(e, \"ORCH_DB_SCHEMA_TOO_NEW\")");
        assert.match(e.message, new RegExp(`schema version ${LATEST_SCHEMA_VERSION + 1}`));
        assert.match(e.message, /orch 9\.9\.9/);
        assert.match(e.message, new RegExp(`orch ${ORCH_VERSION.replaceAll(".", "\\.")}`));
        return true;
      });
      await assert.rejects(migrate(t.store), (e) => isOrchError(e, "ORCH_DB_SCHEMA_TOO_NEW"));
    });
  });
}

// hotQuery (src/store/hot-query.ts) on both dialects: a statement compiled once runs with each
// call's values (not the first call's), keeps its constants, compiles a list per length, and
// runs inside a transaction as on the store.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { hotQuery } from "../../src/store/hot-query.ts";
import { dialectSkipReason, freshStore, testDialects, type TestStore } from "../helpers/store.ts";

const setVariable = hotQuery<{ key: string; val: string }>((db, p) =>
  // `description` is a constant of the statement, the same for every call.
  db.insertInto("variable").values({ key: p.v("key"), val: p.v("val"), description: "hot", is_encrypted: 0 }),
);

const variables = hotQuery<{ keys: readonly string[] }, { key: string; val: string | null; description: string | null }>((db, p, n) =>
  db.selectFrom("variable").select(["key", "val", "description"]).where("key", "in", p.list("keys", Number(n))).orderBy("key"),
);

for (const dialect of testDialects()) {
  describe(`${dialect}: hotQuery`, { skip: await dialectSkipReason(dialect) }, () => {
    let t: TestStore;
    before(async () => {
      t = await freshStore(dialect, "hot_query");
    });
    after(() => t.cleanup());

    it("runs each call with its own values and keeps the statement's constants", async () => {
      await setVariable(t.store.db, { key: "a", val: "1" });
      await setVariable(t.store.db, { key: "b", val: "2" });
      await t.store.writeTransaction(async (trx) => {
        await setVariable(trx, { key: "c", val: "3" });
      });
      const rows = await t.store.db.selectFrom("variable").select(["key", "val", "description"]).orderBy("key").execute();
      assert.deepEqual(rows, [
        { key: "a", val: "1", description: "hot" },
        { key: "b", val: "2", description: "hot" },
        { key: "c", val: "3", description: "hot" },
      ]);
    });

    it("compiles a list once per length (the variant) and fills it from the call's array", async () => {
      const two = await variables(t.store.db, { keys: ["a", "c"] }, "2");
      assert.deepEqual(two.rows.map((r) => r.key), ["a", "c"]);
      const one = await variables(t.store.db, { keys: ["b"] }, "1");
      assert.deepEqual(one.rows.map((r) => r.val), ["2"]);
      const twoAgain = await variables(t.store.db, { keys: ["b", "c"] }, "2");
      assert.deepEqual(twoAgain.rows.map((r) => r.key), ["b", "c"]);
    });

    it("a rolled-back transaction keeps none of its writes", async () => {
      await assert.rejects(
        t.store.writeTransaction(async (trx) => {
          await setVariable(trx, { key: "d", val: "4" });
          throw new Error("boom");
        }),
        /boom/,
      );
      const rows = await variables(t.store.db, { keys: ["d"] }, "1");
      assert.equal(rows.rows.length, 0);
    });
  });
}

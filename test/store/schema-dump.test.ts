// The committed schema descriptions match what the migrations build, on each dialect.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import { describeSchema } from "../../src/store/schema-dump.ts";
import { dialectSkipReason, freshStore, testDialects, type TestStore } from "../helpers/store.ts";

for (const dialect of testDialects()) {
  describe(`${dialect}: committed schema`, { skip: await dialectSkipReason(dialect) }, () => {
    let t: TestStore;
    before(async () => {
      t = await freshStore(dialect, "schemadump");
    });
    after(() => t.cleanup());

    it(`src/store/schema.${dialect}.txt is what the migrations build (regenerate: node --import tsx scripts/dump-schema.ts)`, async () => {
      const committed = readFileSync(new URL(`../../src/store/schema.${dialect}.txt`, import.meta.url), "utf8");
      assert.equal(await describeSchema(t.store), committed);
    });
  });
}

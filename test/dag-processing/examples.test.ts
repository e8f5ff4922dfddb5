// The example DAGs shipped in airflow_home/dags parse with zero import errors.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { createDagProcessor } from "../../src/dag-processing/processor.ts";
import { listDags, listImportErrors } from "../../src/store/dags.ts";
import { tempHome, type TempHome } from "../helpers/home.ts";
import { dialectSkipReason, freshStore, testDialects, type TestStore } from "../helpers/store.ts";

const EXAMPLES = fileURLToPath(new URL("../../airflow_home/dags", import.meta.url));

for (const dialect of testDialects()) {
  describe(`${dialect}: example DAGs`, { skip: await dialectSkipReason(dialect) }, () => {
    let s: TestStore;
    let h: TempHome;
    before(async () => {
      s = await freshStore(dialect, "examples");
      h = await tempHome();
    });
    after(async () => {
      await s.cleanup();
      await h.cleanup();
    });

    it("parse without import errors", async () => {
      const processor = createDagProcessor({ store: s.store, dagsFolder: EXAMPLES, home: h.home, importTimeoutSeconds: 30 });
      try {
        const r = await processor.processAll();
        assert.deepEqual(await listImportErrors(s.store.db), []);
        assert.equal(r.importErrors, 0);
      } finally {
        await processor.stop();
      }
      const ids = (await listDags(s.store.db)).map((d) => d.dag_id);
      for (const id of ["example_etl", "example_branch", "example_mapping", "example_asset_producer", "example_asset_consumer", "taxi_pipeline", "refresh_fct_trips"]) {
        assert.ok(ids.includes(id), `${id} in ${ids.join(", ")}`);
      }
    });
  });
}

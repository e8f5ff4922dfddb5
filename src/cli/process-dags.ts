// One pass of the DAG processor over the dags folder, for commands that need fresh DAGs without a
// running scheduler (dags test, tasks test), as Airflow's CLI parses the DagBag itself.
import type { Config } from "../config.ts";
import { createDagProcessor } from "../dag-processing/processor.ts";
import type { Store } from "../store/index.ts";

export async function processDagsFolder(store: Store, config: Config, _opts: { only?: string } = {}): Promise<void> {
  const processor = createDagProcessor({
    store,
    dagsFolder: config.getString("core", "dags_folder"),
    home: config.home,
    importTimeoutSeconds: config.getNumber("core", "dagbag_import_timeout"),
  });
  try {
    await processor.processAll();
  } finally {
    await processor.stop();
  }
}

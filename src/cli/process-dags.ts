// The DAG processor as the CLI runs it: options from the config, and one pass over the dags folder
// for commands that need fresh DAGs without a running scheduler (dags list, dags test, tasks test),
// as Airflow's CLI parses the DagBag itself.
import type { Config } from "../config.ts";
import { createDagProcessor, type DagProcessor, type DagProcessorOptions } from "../dag-processing/processor.ts";
import type { Store } from "../store/index.ts";

export function createConfiguredProcessor(store: Store, config: Config, extra: Partial<DagProcessorOptions> = {}): DagProcessor {
  return createDagProcessor({
    store,
    dagsFolder: config.getString("core", "dags_folder"),
    home: config.home,
    importTimeoutSeconds: config.getNumber("core", "dagbag_import_timeout"),
    pausedByDefault: config.getBoolean("core", "dags_are_paused_at_creation"),
    checkTypes: config.getBoolean("core", "check_dag_types"),
    ...extra,
  });
}

export async function processDagsFolder(store: Store, config: Config, opts: { force?: boolean } = {}) {
  const processor = createConfiguredProcessor(store, config);
  try {
    return await processor.processAll(opts);
  } finally {
    await processor.stop();
  }
}

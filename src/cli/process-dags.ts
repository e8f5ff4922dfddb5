// The DAG processor as the CLI runs it: options from the config, and one pass over the dags folder
// for commands that need fresh DAGs without a running scheduler (dags list, dags test, tasks test),
// as Airflow's CLI parses the DagBag itself.
import type { Config } from "../config.ts";
import { createDagProcessor, type DagProcessor, type DagProcessorOptions } from "../dag-processing/processor.ts";
import type { Store } from "../store/index.ts";
import { listImportErrors } from "../store/dags.ts";
import { describeImportErrors, homeNotices, prepareDagsFolder } from "../dag-processing/notices.ts";

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

/** The long-running components' start: the home's notices, a missing dags folder created, the
 *  first pass, and the files that do not load (those already known are not imported again, so
 *  the pass itself would say nothing about them). */
export async function announceHome(store: Store, config: Config, log: (m: string) => void, firstPass: () => Promise<unknown>): Promise<void> {
  const folder = config.getString("core", "dags_folder");
  for (const n of homeNotices(config.home, folder)) log(n);
  await prepareDagsFolder(folder, log);
  await firstPass();
  const failing = describeImportErrors(await listImportErrors(store.db), folder);
  if (failing.length) log(`${failing.length} file${failing.length === 1 ? "" : "s"} do${failing.length === 1 ? "es" : ""} not load:\n${failing.map((l) => `  ${l}`).join("\n")}`);
}

let noticesGiven = false;

export async function processDagsFolder(store: Store, config: Config, opts: { force?: boolean } = {}) {
  if (!noticesGiven) {
    noticesGiven = true;
    for (const n of homeNotices(config.home, config.getString("core", "dags_folder"))) process.stderr.write(`notice: ${n}\n`);
  }
  const processor = createConfiguredProcessor(store, config);
  try {
    return await processor.processAll(opts);
  } finally {
    await processor.stop();
  }
}

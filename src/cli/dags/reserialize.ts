// orch dags reserialize: re-imports every DAG file, changed or not, and rewrites its rows.
import type { Argv, CommandModule } from "yargs";
import { createDagProcessor } from "../../dag-processing/processor.ts";
import { withStore } from "../common.ts";

export const reserializeCommand: CommandModule<object, object> = {
  command: "reserialize",
  describe: "Re-parse every DAG file and rewrite the serialized DAGs",
  builder: (y: Argv) => y,
  handler: () =>
    withStore(async (store, config) => {
      const processor = createDagProcessor({
        store,
        dagsFolder: config.getString("core", "dags_folder"),
        home: config.home,
        importTimeoutSeconds: config.getNumber("core", "dagbag_import_timeout"),
      });
      try {
        const r = await processor.processAll({ force: true });
        console.log(`reserialized ${r.files} DAG file(s) in ${Math.round(r.durationMs)} ms; ${r.importErrors} import error(s)`);
      } finally {
        await processor.stop();
      }
    }),
};

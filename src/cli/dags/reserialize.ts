// orch dags reserialize: re-imports every DAG file, changed or not, and rewrites its rows.
import type { Argv, CommandModule } from "yargs";
import { processDagsFolder } from "../process-dags.ts";
import { withStore } from "../common.ts";

export const reserializeCommand: CommandModule<object, object> = {
  command: "reserialize",
  describe: "Re-parse every DAG file and rewrite the serialized DAGs",
  builder: (y: Argv) => y.example("$0 dags reserialize", "after changing a helper module a DAG file imports"),
  handler: () =>
    withStore(async (store, config) => {
      const r = await processDagsFolder(store, config, { force: true });
      console.log(`reserialized ${r.files} DAG file(s) in ${Math.round(r.durationMs)} ms; ${r.importErrors} import error(s)`);
    }),
};

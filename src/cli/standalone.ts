// orch standalone: migrate the database, then run every component in this one process.
import type { CommandModule } from "yargs";
import { loadConfig } from "../config.ts";
import { migrate, openStoreForMaintenance } from "../store/index.ts";

export const standaloneCommand: CommandModule = {
  command: "standalone",
  describe: "Run scheduler, triggerer, executor and API server in one process",
  builder: (y) => y.example("ORCH_HOME=./airflow_home $0 standalone", "run the example home"),
  handler: async () => {
    const config = loadConfig();
    const store = await openStoreForMaintenance(config);
    try {
      const applied = await migrate(store);
      console.log(`orch home ${config.home}; database ${store.displayUrl} ${applied.length ? `migrated (${applied.length} applied)` : "current"}`);
    } finally {
      await store.close();
    }
  },
};

// orch standalone: migrate the database, then run every component in this one process.
import type { CommandModule } from "yargs";
import { loadConfig } from "../config.ts";
import { runComponents } from "./components.ts";

export const standaloneCommand: CommandModule = {
  command: "standalone",
  describe: "Migrate, then run the DAG processor, scheduler and executor in one process",
  builder: (y) =>
    y
      .option("triggerer", { type: "boolean", default: true, describe: "Run the triggerer too (--no-triggerer leaves it out)" })
      .example("$0 standalone", "migrate $ORCH_HOME/orch.db if needed, then run everything")
      .example("ORCH_HOME=./airflow_home $0 standalone", "run the example home"),
  handler: (args) => runComponents(loadConfig(), { migrate: true, triggerer: args.triggerer !== false }),
};

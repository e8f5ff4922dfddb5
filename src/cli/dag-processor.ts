// orch dag-processor: parse the DAG files and keep parsing them as they change, alone (Airflow 3's
// `airflow dag-processor`); a scheduler elsewhere reads what it stores.
import type { CommandModule } from "yargs";
import { loadConfig } from "../config.ts";
import { runComponents } from "./components.ts";

export const dagProcessorCommand: CommandModule = {
  command: "dag-processor",
  describe: "Run the DAG processor alone: parse $ORCH_HOME/dags into the store and watch for changes",
  builder: (y) =>
    y
      .example("$0 dag-processor", "keep the store's DAGs in step with $ORCH_HOME/dags")
      .example("ORCH_DATABASE_URL=postgres://… $0 dag-processor", "parse into a shared PostgreSQL store"),
  handler: () => runComponents(loadConfig(), { migrate: false, scheduler: false, dagProcessor: true }),
};

// orch standalone: migrate the database, then run every component in this one process, as
// Airflow 3's `airflow standalone` (which needs four processes for the same).
import type { Argv, CommandModule } from "yargs";
import { loadConfig } from "../config.ts";
import { runComponents } from "./components.ts";

interface Args {
  host?: string;
  port?: number;
  triggerer?: boolean;
}

export const standaloneCommand: CommandModule<object, Args> = {
  command: "standalone",
  describe: "Migrate, then run the DAG processor, scheduler, executor and API server in one process",
  builder: (y: Argv) =>
    y
      .option("host", { type: "string", describe: "Address the API binds; default [api] host (127.0.0.1)" })
      .option("port", { type: "number", describe: "Port of the API; default [api] port (8080); 0 picks a free one" })
      .option("triggerer", { type: "boolean", default: true, describe: "Run the triggerer too (--no-triggerer leaves it out)" })
      .example("$0 standalone", "migrate $ORCH_HOME/orch.db if needed, run everything, serve http://127.0.0.1:8080")
      .example("ORCH_HOME=./airflow_home $0 standalone --port 8081", "the example home, API on port 8081") as Argv<Args>,
  handler: (args) => runComponents(loadConfig(), { migrate: true, api: { host: args.host, port: args.port }, triggerer: args.triggerer !== false }),
};

// orch api-server: the REST API alone, against the home's or the PostgreSQL store (Airflow 3's
// `airflow api-server`); the scheduler and DAG processor run elsewhere.
import type { Argv, CommandModule } from "yargs";
import { loadConfig } from "../config.ts";
import { runComponents } from "./components.ts";

interface Args {
  host?: string;
  port?: number;
}

export const apiServerCommand: CommandModule<object, Args> = {
  command: "api-server",
  describe: "Run the REST API server (/api/v2, /auth/token) in the foreground",
  builder: (y: Argv) =>
    y
      .option("host", { alias: "H", type: "string", describe: "Address to bind; default [api] host (127.0.0.1)" })
      .option("port", { alias: "p", type: "number", describe: "Port; default [api] port (8080); 0 picks a free one" })
      .example("$0 api-server --port 8080", "serve the API of $ORCH_HOME's store")
      .example("ORCH_DATABASE_URL=postgres://… $0 api-server -H 0.0.0.0", "serve a shared PostgreSQL store to the network") as Argv<Args>,
  handler: (args) => runComponents(loadConfig(), { migrate: false, scheduler: false, dagProcessor: false, api: { host: args.host, port: args.port } }),
};

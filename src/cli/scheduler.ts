// orch scheduler: the DAG processor, the scheduler and the executor, in the foreground.
import type { Argv, CommandModule } from "yargs";
import { loadConfig } from "../config.ts";
import { runComponents } from "./components.ts";

export const schedulerCommand: CommandModule<object, { parallelism?: number; triggerer?: boolean }> = {
  command: "scheduler",
  describe: "Run the DAG processor, scheduler and executor in the foreground",
  builder: (y: Argv) =>
    y
      .option("parallelism", { alias: "p", type: "number", describe: "Task instances at once (LocalExecutor); default from [core]" })
      .option("triggerer", { type: "boolean", default: true, describe: "Run the triggerer in this process too (--no-triggerer: run `orch triggerer` elsewhere)" })
      .example("$0 scheduler", "schedule the DAGs in $ORCH_HOME/dags; Ctrl-C stops after running tasks finish")
      .example("ORCH_DATABASE_URL=postgres://… $0 scheduler -p 4", "on PostgreSQL, four tasks at a time") as Argv<{ parallelism?: number; triggerer?: boolean }>,
  handler: (args) => runComponents(loadConfig(), { migrate: false, parallelism: args.parallelism, triggerer: args.triggerer }),
};

// orch dags …: one module per subcommand, registered here.
import type { CommandModule } from "yargs";
import { listRunsCommand, pauseDagCommand, stateCommand, triggerCommand, unpauseDagCommand } from "./runs.ts";
import { testCommand } from "./test.ts";
import { checkCommand } from "./check.ts";
import { nextExecutionCommand } from "./next-execution.ts";
import { deleteCommand } from "./delete.ts";
import { listCommand } from "./list.ts";
import { listImportErrorsCommand } from "./list-import-errors.ts";
import { showCommand } from "./show.ts";
import { detailsCommand } from "./details.ts";
import { reserializeCommand } from "./reserialize.ts";

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- each subcommand has its own args
const subcommands: CommandModule<any, any>[] = [triggerCommand, testCommand, checkCommand, listRunsCommand, stateCommand, pauseDagCommand, unpauseDagCommand, listCommand, listImportErrorsCommand, showCommand, detailsCommand, reserializeCommand, nextExecutionCommand, deleteCommand];

export const dagsCommand: CommandModule = {
  command: "dags <command>",
  describe: "List, inspect, trigger and test DAGs",
  builder: (y) => {
    for (const c of subcommands) y.command(c);
    return y.demandCommand(1);
  },
  handler: () => {},
};

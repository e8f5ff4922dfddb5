// orch tasks …: one module per subcommand, registered here.
import type { CommandModule } from "yargs";
import { clearCommand, statesForDagRunCommand, taskStateCommand } from "./instances.ts";
import { taskTestCommand } from "./test.ts";
import { listCommand as tasksListCommand } from "./list.ts";

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- each subcommand has its own args
const subcommands: CommandModule<any, any>[] = [taskTestCommand, statesForDagRunCommand, taskStateCommand, clearCommand, tasksListCommand];

export const tasksCommand: CommandModule = {
  command: "tasks <command>",
  describe: "List, test, clear and inspect task instances",
  builder: (y) => {
    for (const c of subcommands) y.command(c);
    return y.demandCommand(1);
  },
  handler: () => {},
};

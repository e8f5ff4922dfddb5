// orch tasks …: one module per subcommand, registered here.
import type { CommandModule } from "yargs";

const subcommands: CommandModule<any, any>[] = [];

export const tasksCommand: CommandModule = {
  command: "tasks <command>",
  describe: "List, test, clear and inspect task instances",
  builder: (y) => {
    for (const c of subcommands) y.command(c);
    return y.demandCommand(1);
  },
  handler: () => {},
};

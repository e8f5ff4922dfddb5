// orch dags …: one module per subcommand, registered here.
import type { CommandModule } from "yargs";

const subcommands: CommandModule<any, any>[] = [];

export const dagsCommand: CommandModule = {
  command: "dags <command>",
  describe: "List, inspect, trigger and test DAGs",
  builder: (y) => {
    for (const c of subcommands) y.command(c);
    return y.demandCommand(1);
  },
  handler: () => {},
};

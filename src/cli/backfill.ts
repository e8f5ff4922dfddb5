import type { CommandModule } from "yargs";
export const backfillCommand: CommandModule = {
  command: "backfill <command>",
  describe: "Create and follow backfills",
  builder: (y) => y.demandCommand(1),
  handler: () => {},
};

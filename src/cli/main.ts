#!/usr/bin/env node
// The `orch` command. One module per command group; handlers call the same functions the API does.
// Exit codes: 0 success, 1 a command that failed, 2 a usage error (unknown command, bad flag).
import yargs, { type CommandModule } from "yargs";
import { hideBin } from "yargs/helpers";
import { OrchError, coerceError } from "../errors.ts";
import { ORCH_VERSION } from "../version.ts";
import { assetsCommand } from "./assets.ts";
import { configCommand } from "./config.ts";
import { dagsCommand } from "./dags/index.ts";
import { dbCommand } from "./db.ts";
import { schedulerCommand } from "./scheduler.ts";
import { standaloneCommand } from "./standalone.ts";
import { tasksCommand } from "./tasks/index.ts";
import { triggererCommand } from "./triggerer.ts";

const versionCommand: CommandModule = {
  command: "version",
  describe: "Print orch's version",
  builder: (y) => y.example("$0 version", ""),
  handler: () => console.log(ORCH_VERSION),
};

const COMMANDS: CommandModule[] = [assetsCommand, dbCommand, configCommand, dagsCommand, tasksCommand, schedulerCommand, triggererCommand, standaloneCommand, versionCommand];
// The first word of each command: anything else in first place is an unknown command.
const TOP_LEVEL = [...COMMANDS.map((c) => String(c.command).split(" ")[0]), "help"];

export async function main(argv: string[]): Promise<void> {
  const cli = yargs(argv)
    .scriptName("orch")
    .usage("$0 <command> [options]\n\nAirflow's standalone mode as one Node process. ORCH_HOME (default ~/orch) holds orch.db, dags/ and logs/.")
    .command(COMMANDS)
    .example("$0 db migrate", "create the metadata database in $ORCH_HOME/orch.db")
    .example("$0 standalone", "migrate, then run the DAG processor, scheduler and executor in one process")
    .example("$0 dags list --output json", "the DAGs in $ORCH_HOME/dags as JSON")
    .demandCommand(1, "name a command; `orch --help` lists them")
    .recommendCommands()
    .strict()
    .version(false)
    .help()
    .alias("h", "help")
    .wrap(Math.min(110, process.stdout.columns || 100))
    .fail((msg, err, y) => {
      // Errors thrown by handlers are reported once, by exitOnError below.
      if (err) throw err;
      y.showHelp("error");
      // yargs words an unknown top-level command as "Unknown argument" or a bare "Did you mean";
      // say plainly which word was not a command.
      const first = argv[0];
      const unknownCommand = first !== undefined && !first.startsWith("-") && !TOP_LEVEL.includes(first);
      const text = unknownCommand ? `unknown command "${first}"${msg?.startsWith("Did you mean") ? `. ${msg}` : ""}` : msg;
      process.stderr.write(`\nerror: ${text}\n`);
      process.exit(2);
    });
  try {
    await cli.parseAsync();
  } catch (err) {
    exitOnError(err);
  }
}

function exitOnError(err: unknown): never {
  const e = coerceError(err);
  if (e instanceof OrchError) {
    process.stderr.write(`error: ${e.message} [${e.code}]\n`);
    process.exit(e.code === "ORCH_USAGE" ? 2 : 1);
  }
  process.stderr.write(`error: ${e.stack ?? e.message}\n`);
  process.exit(1);
}

await main(hideBin(process.argv));

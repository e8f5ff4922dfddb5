#!/usr/bin/env node
// The `orch` command. One module per command group; handlers call the same functions the API does.
// Exit codes: 0 success, 1 a command that failed, 2 a usage error (unknown command, bad flag).
import { createRequire } from "node:module";
import type { CommandModule } from "yargs";
import type yargsType from "yargs";
import { hideBin } from "yargs/helpers";
import { OrchError, coerceError } from "../errors.ts";
import { airflowHint } from "./airflow-hints.ts";
import { topLevelCommands } from "./commands.ts";

// yargs' CommonJS build: its ESM build wraps help text with cliui's naive wrap, which cuts words
// and example commands mid-token ("list its D / AGs"); the CommonJS one word-wraps (wrap-ansi).
const yargs = createRequire(import.meta.url)("yargs") as typeof yargsType;

// Each command's module is imported only when that command runs (src/cli/lazy.ts).
const COMMANDS: CommandModule[] = topLevelCommands() as CommandModule[];
// The first word of each command: anything else in first place is an unknown command.
const TOP_LEVEL = [...COMMANDS.map((c) => String(c.command).split(" ")[0]), "help"];

/** Example commands must copy-paste whole at 80 columns: yargs squeezes an example that has a
 *  description into half the width and wraps it onto a second line. A long one is therefore shown
 *  on a line of its own, with its description as a shell comment on the line above. */
const EXAMPLE_COLUMN = 36;
function examplesThatCopyPaste(y: ReturnType<typeof yargsType>): void {
  const example = y.example.bind(y);
  const patched = ((cmd: string | [string, string?][], desc?: string): ReturnType<typeof yargsType> => {
    if (typeof cmd !== "string") {
      for (const [c, d] of cmd) patched(c, d ?? "");
      return y;
    }
    const shown = cmd.replaceAll("$0", "orch");
    if (desc && shown.length > EXAMPLE_COLUMN) {
      example(`# ${desc}:`, "");
      return example(cmd, "");
    }
    return example(cmd, desc ?? "");
  }) as typeof y.example;
  y.example = patched;
}

export async function main(argv: string[]): Promise<void> {
  const cli = yargs(argv);
  examplesThatCopyPaste(cli);
  cli
    .scriptName("orch")
    .usage("$0 <command> [options]\n\nAirflow's standalone mode as one Node process. ORCH_HOME (default ~/orch) holds orch.db, dags/ and logs/.")
    .command(COMMANDS)
    .example("$0 db migrate", "create the metadata database in $ORCH_HOME/orch.db")
    .example("$0 standalone", "migrate, then run the DAG processor, scheduler, executor and API server in one process")
    .example("$0 dags list --output json", "the DAGs in $ORCH_HOME/dags as JSON")
    .demandCommand(1, "name a command; `orch --help` lists them")
    .recommendCommands()
    .strict()
    .version(false)
    .help()
    .alias("h", "help")
    // The terminal's width (COLUMNS when stdout is not a terminal), at most 110.
    .wrap(Math.min(110, process.stdout.columns || Number(process.env.COLUMNS) || 100))
    .fail((msg, err, y) => {
      // Errors thrown by handlers are reported once, by exitOnError below.
      if (err) throw err;
      // An Airflow habit (a command orch lacks, an Airflow 2 flag) is answered in one line.
      const hint = airflowHint(argv);
      if (hint) {
        process.stderr.write(`error: ${hint}\n`);
        process.exit(2);
      }
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

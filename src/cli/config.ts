// orch config list | get-value SECTION KEY
import type { Argv, CommandModule } from "yargs";
import { loadConfig, SETTINGS } from "../config.ts";
import { OrchError } from "../errors.ts";
import { outputOption, printRows, type OutputFormat } from "./output.ts";

const listCommand: CommandModule<object, { output: OutputFormat; section?: string }> = {
  command: "list",
  describe: "Every setting with its value and where it came from (default, orch.toml, env)",
  builder: (y: Argv) =>
    y
      .options(outputOption)
      .option("section", { type: "string", describe: "Only this section" })
      .example("$0 config list --section core", "") as Argv<{ output: OutputFormat; section?: string }>,
  handler: (args) => {
    const rows = loadConfig()
      .list()
      .filter((s) => !args.section || s.section === args.section)
      .map((s) => ({ section: s.section, key: s.key, value: s.section === "database" ? redact(String(s.value)) : s.value, source: s.source }));
    printRows(rows, args.output, ["section", "key", "value", "source"]);
  },
};

function redact(url: string): string {
  return url.replace(/:\/\/([^:@/]*):[^@/]*@/, "://$1:***@");
}

const getValueCommand: CommandModule<object, { section: string; key: string }> = {
  command: "get-value <section> <key>",
  describe: "Print one setting's value",
  builder: (y: Argv) =>
    y
      .positional("section", { type: "string", demandOption: true })
      .positional("key", { type: "string", demandOption: true })
      .example("$0 config get-value core dags_folder", "") as Argv<{ section: string; key: string }>,
  handler: (args) => {
    if (!(args.section in SETTINGS)) {
      throw new OrchError("ORCH_CONFIG_UNKNOWN_KEY", `unknown section "${args.section}"; known sections: ${Object.keys(SETTINGS).join(", ")}`);
    }
    if (!(args.key in SETTINGS[args.section])) {
      throw new OrchError(
        "ORCH_CONFIG_UNKNOWN_KEY",
        `unknown key "${args.key}" in section "${args.section}"; known keys: ${Object.keys(SETTINGS[args.section]).join(", ")}`,
      );
    }
    console.log(String(loadConfig().get(args.section, args.key)));
  },
};

export const configCommand: CommandModule = {
  command: "config <command>",
  describe: "Show orch's settings",
  builder: (y) => y.command(listCommand).command(getValueCommand).demandCommand(1),
  handler: () => {},
};

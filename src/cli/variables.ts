// orch variables get | set | delete | list | import | export (Airflow's `airflow variables`).
// Reads go through src/secrets (environment first, then the store), as tasks read them; writes go
// to the store. Values of sensitive-looking keys are masked in listings; `get` prints the value.
import { chmodSync, readFileSync, writeFileSync } from "node:fs";
import type { Argv, CommandModule } from "yargs";
import { OrchError } from "../errors.ts";
import { displayVariableValue, getVariable, listVariables } from "../secrets/index.ts";
import { deleteVariable, getVariableRow, setVariable } from "../store/variables.ts";
import { withStore } from "./common.ts";
import { outputOption, printRows, type OutputFormat } from "./output.ts";

interface GetArgs {
  key: string;
  default?: string;
  json: boolean;
}

const getCommand: CommandModule<object, GetArgs> = {
  command: "get <key>",
  describe: "Print a variable's value (from ORCH_VAR_<KEY>/AIRFLOW_VAR_<KEY>, else the store)",
  builder: (y: Argv) =>
    y
      .positional("key", { type: "string", demandOption: true })
      .option("default", { alias: "d", type: "string", describe: "Printed when the variable does not exist (instead of failing)" })
      .option("json", { alias: "j", type: "boolean", default: false, describe: "Parse the value as JSON and print it pretty" })
      .example("$0 variables get bucket", "")
      .example("$0 variables get etl_config --json", "")
      .example("$0 variables get region --default eu-west-1", "") as unknown as Argv<GetArgs>,
  handler: (args) =>
    withStore(async (store) => {
      const v = await getVariable(store, args.key);
      if (v === undefined) {
        if (args.default !== undefined) return void console.log(args.default);
        throw new OrchError("ORCH_NOT_FOUND", `Variable ${args.key} does not exist`, { key: args.key });
      }
      if (!args.json) return void console.log(v);
      try {
        console.log(JSON.stringify(JSON.parse(v), null, 2));
      } catch (e) {
        throw new OrchError("ORCH_USAGE", `--json: variable ${args.key} is not valid JSON (${(e as Error).message})`, { key: args.key, flag: "--json" });
      }
    }),
};

interface SetArgs {
  key: string;
  value: string;
  description?: string;
  json: boolean;
}

const setCommand: CommandModule<object, SetArgs> = {
  command: "set <key> <value>",
  describe: "Create or replace a variable in the store",
  builder: (y: Argv) =>
    y
      .positional("key", { type: "string", demandOption: true })
      .positional("value", { type: "string", demandOption: true })
      .option("description", { type: "string", describe: "What the variable is for" })
      .option("json", { alias: "j", type: "boolean", default: false, describe: "Check that the value is JSON and store it normalised" })
      .example("$0 variables set bucket s3://taxi-raw", "")
      .example(`$0 variables set etl_config '{"months": 3}' --json`, "") as unknown as Argv<SetArgs>,
  handler: (args) =>
    withStore(async (store) => {
      let val = String(args.value);
      if (args.json) {
        try {
          val = JSON.stringify(JSON.parse(val));
        } catch (e) {
          throw new OrchError("ORCH_USAGE", `--json: the value is not valid JSON (${(e as Error).message})`, { flag: "--json" });
        }
      }
      await setVariable(store.db, { key: args.key, val, description: args.description });
      console.log(`Variable ${args.key} created`);
    }),
};

const deleteCommand: CommandModule<object, { key: string }> = {
  command: "delete <key>",
  describe: "Delete a variable from the store",
  builder: (y: Argv) => y.positional("key", { type: "string", demandOption: true }).example("$0 variables delete bucket", "") as unknown as Argv<{ key: string }>,
  handler: (args) =>
    withStore(async (store) => {
      if (!(await deleteVariable(store.db, args.key))) {
        throw new OrchError("ORCH_NOT_FOUND", `Variable ${args.key} does not exist in the store`, { key: args.key });
      }
      console.log(`Variable ${args.key} deleted`);
    }),
};

const listCommand: CommandModule<object, { output: OutputFormat; "show-secrets": boolean }> = {
  command: "list",
  describe: "List variables (store and environment); values of sensitive-looking keys are masked",
  builder: (y: Argv) =>
    y
      .options(outputOption)
      .option("show-secrets", { type: "boolean", default: false, describe: "Print sensitive values in clear" })
      .example("$0 variables list", "")
      .example("$0 variables list -o json --show-secrets", "") as unknown as Argv<{ output: OutputFormat; "show-secrets": boolean }>,
  handler: (args) =>
    withStore(async (store) => {
      const rows = (await listVariables(store)).map((v) => ({ key: v.key, val: displayVariableValue(v.key, v.val, args["show-secrets"]), description: v.description, source: v.source }));
      printRows(rows, args.output, ["key", "val", "description", "source"]);
    }),
};

interface ImportArgs {
  file: string;
  "action-on-existing-key": "overwrite" | "fail" | "skip";
}

const importCommand: CommandModule<object, ImportArgs> = {
  command: "import <file>",
  describe: "Import variables from a JSON file: { key: value } or { key: { value, description } }",
  builder: (y: Argv) =>
    y
      .positional("file", { type: "string", demandOption: true })
      .option("action-on-existing-key", { alias: "a", choices: ["overwrite", "fail", "skip"] as const, default: "overwrite" as const, describe: "What to do with a key that exists already" })
      .example("$0 variables import variables.json", "")
      .example("$0 variables import variables.json -a skip", "keep the stored values") as unknown as Argv<ImportArgs>,
  handler: (args) =>
    withStore(async (store) => {
      let doc: unknown;
      try {
        doc = JSON.parse(readFileSync(args.file, "utf8"));
      } catch (e) {
        throw new OrchError("ORCH_USAGE", `${args.file}: cannot read variables (${(e as Error).message})`, { file: args.file });
      }
      if (!doc || typeof doc !== "object" || Array.isArray(doc)) {
        throw new OrchError("ORCH_USAGE", `${args.file}: expected a JSON object mapping keys to values`, { file: args.file });
      }
      const entries = Object.entries(doc as Record<string, unknown>).map(([key, v]) => {
        const o = v && typeof v === "object" && !Array.isArray(v) && "value" in v ? (v as { value: unknown; description?: unknown }) : { value: v };
        const val = typeof o.value === "string" ? o.value : JSON.stringify(o.value);
        return { key, val, description: typeof o.description === "string" ? o.description : undefined };
      });
      let done = 0;
      const skipped: string[] = [];
      await store.writeTransaction(async (trx) => {
        for (const e of entries) {
          if (args["action-on-existing-key"] !== "overwrite" && (await getVariableRow(trx, e.key))) {
            if (args["action-on-existing-key"] === "fail") {
              throw new OrchError("ORCH_ALREADY_EXISTS", `${args.file}: variable ${e.key} exists already (--action-on-existing-key fail); nothing was imported`, { key: e.key });
            }
            skipped.push(e.key);
            continue;
          }
          await setVariable(trx, e);
          done++;
        }
      });
      if (skipped.length) console.log(`Skipped existing: ${skipped.join(", ")}`);
      console.log(`${done} of ${entries.length} variables successfully updated.`);
    }),
};

const exportCommand: CommandModule<object, { file: string }> = {
  command: "export <file>",
  describe: "Write the stored variables to a JSON file (values in clear; the file is made 0600)",
  builder: (y: Argv) => y.positional("file", { type: "string", demandOption: true }).example("$0 variables export variables.json", "") as unknown as Argv<{ file: string }>,
  handler: (args) =>
    withStore(async (store) => {
      const out: Record<string, unknown> = {};
      for (const v of await listVariables(store, {})) {
        try {
          out[v.key] = JSON.parse(v.val);
        } catch {
          out[v.key] = v.val;
        }
      }
      writeFileSync(args.file, JSON.stringify(out, null, 2) + "\n", { mode: 0o600 });
      chmodSync(args.file, 0o600);
      console.log(`${Object.keys(out).length} variables successfully exported to ${args.file}`);
    }),
};

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- each subcommand has its own args
const subcommands: CommandModule<any, any>[] = [getCommand, setCommand, deleteCommand, listCommand, importCommand, exportCommand];

export const variablesCommand: CommandModule = {
  command: "variables <command>",
  describe: "Get, set, list, import and export variables",
  builder: (y) => {
    for (const c of subcommands) y.command(c);
    return y.demandCommand(1).example("$0 variables set bucket s3://taxi-raw", "").example("$0 variables list", "");
  },
  handler: () => {},
};

// orch dags list-import-errors: the files the DAG processor could not load, and why.
import type { Argv, CommandModule } from "yargs";
import { listImportErrors } from "../../store/dags.ts";
import { withStore } from "../common.ts";
import { outputOption, printRows, type OutputFormat } from "../output.ts";
import { processDagsFolder } from "../process-dags.ts";

interface Args {
  output: OutputFormat;
}

export const listImportErrorsCommand: CommandModule<object, Args> = {
  command: "list-import-errors",
  describe: "List the DAG files that failed to load, with the error (parses the dags folder first)",
  builder: (y: Argv) => y.options(outputOption).example("$0 dags list-import-errors -o json", "each broken file with its error, for scripts") as unknown as Argv<Args>,
  handler: (args) =>
    withStore(async (store, config) => {
      await processDagsFolder(store, config);
      const rows = (await listImportErrors(store.db)).map((e) => ({
        filepath: e.filename,
        line: e.line,
        error: e.stacktrace,
        timestamp: e.timestamp,
      }));
      // One line of error per row in a table; scripts get the whole text.
      const shown = args.output === "table" ? rows.map((r) => ({ ...r, error: r.error.split("\n")[0] })) : rows;
      printRows(shown, args.output, args.output === "table" ? ["filepath", "line", "error"] : undefined);
    }),
};

// orch dags list: the DAGs in the store, after a processing pass over the dags folder (as
// Airflow's CLI parses the DagBag), so a fresh home lists its DAGs without a scheduler.
import type { Argv, CommandModule } from "yargs";
import { describeImportErrors } from "../../dag-processing/notices.ts";
import { listDags, listImportErrors } from "../../store/dags.ts";
import { withStore } from "../common.ts";
import { outputOption, printRows, type OutputFormat } from "../output.ts";
import { processDagsFolder } from "../process-dags.ts";

interface ListArgs {
  output: OutputFormat;
  "include-stale": boolean;
}

export const listCommand: CommandModule<object, ListArgs> = {
  command: "list",
  describe: "List the DAGs (parses the dags folder first)",
  builder: (y: Argv) =>
    y.options({
      ...outputOption,
      "include-stale": { type: "boolean", default: false, describe: "Also list DAGs whose file is gone or no longer defines them" },
    })
      .example("$0 dags list", "parse $ORCH_HOME/dags and list its DAGs")
      .example("$0 dags list -o json | jq '.[].dag_id'", "the ids, for scripts") as unknown as Argv<ListArgs>,
  handler: (args) =>
    withStore(async (store, config) => {
      await processDagsFolder(store, config);
      const rows = (await listDags(store.db, { includeStale: args["include-stale"] })).map((d) => ({
        dag_id: d.dag_id,
        fileloc: d.fileloc,
        owners: d.owners,
        is_paused: d.is_paused === 1,
        schedule: d.timetable_summary,
        next_dagrun: d.next_dagrun,
        tags: JSON.parse(d.tags) as string[],
        is_stale: d.is_stale === 1,
        has_import_errors: d.has_import_errors === 1,
      }));
      const columns = args.output === "table" ? ["dag_id", "fileloc", "owners", "is_paused", "schedule", "next_dagrun"] : undefined;
      printRows(rows, args.output, columns);
      // As Airflow's `dags list`: files that did not load are said, on stderr so scripts reading
      // stdout still get clean output.
      const lines = describeImportErrors(await listImportErrors(store.db), config.getString("core", "dags_folder"));
      if (lines.length) {
        process.stderr.write(`${lines.length} file${lines.length === 1 ? "" : "s"} failed to load (\`orch dags list-import-errors\` shows the whole errors):\n${lines.map((l) => `  ${l}`).join("\n")}\n`);
      }
    }),
};

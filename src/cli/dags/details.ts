// orch dags details DAG_ID: the DAG's properties (dag row and serialized DAG).
import type { Argv, CommandModule } from "yargs";
import { getDag, getSerializedDag } from "../../store/dags.ts";
import { dagNotFound, withStore } from "../common.ts";
import { outputOption, printRows, type OutputFormat } from "../output.ts";
import { processDagsFolder } from "../process-dags.ts";

interface Args {
  dag_id: string;
  output: OutputFormat;
}

export const detailsCommand: CommandModule<object, Args> = {
  command: "details <dag_id>",
  describe: "Show a DAG's properties",
  builder: (y: Argv) =>
    y.positional("dag_id", { type: "string", demandOption: true, describe: "The DAG" }).options(outputOption).example("$0 dags details example_etl -o yaml", "schedule, params, owners, tags, next run") as unknown as Argv<Args>,
  handler: (args) =>
    withStore(async (store, config) => {
      await processDagsFolder(store, config);
      const row = await getDag(store.db, args.dag_id);
      const dag = await getSerializedDag(store.db, args.dag_id);
      if (!row || !dag) throw await dagNotFound(store, args.dag_id);
      const details: Record<string, unknown> = {
        dag_id: dag.dag_id,
        description: dag.description,
        fileloc: dag.fileloc,
        relative_fileloc: dag.relative_fileloc,
        owners: dag.owner,
        is_paused: row.is_paused === 1,
        is_stale: row.is_stale === 1,
        has_import_errors: row.has_import_errors === 1,
        timetable_summary: dag.timetable_summary,
        timetable_description: row.timetable_description,
        timetable: dag.timetable,
        start_date: dag.start_date,
        end_date: dag.end_date,
        timezone: dag.timezone,
        catchup: dag.catchup,
        max_active_runs: dag.max_active_runs,
        max_active_tasks: dag.max_active_tasks,
        tags: dag.tags,
        params: dag.params,
        doc_md: dag.doc_md,
        task_ids: dag.tasks.map((t) => t.task_id),
        last_parsed_time: row.last_parsed_time,
        next_dagrun: row.next_dagrun,
        next_dagrun_data_interval_start: row.next_dagrun_data_interval_start,
        next_dagrun_data_interval_end: row.next_dagrun_data_interval_end,
      };
      if (args.output === "table" || args.output === "plain") {
        printRows(Object.entries(details).map(([property, value]) => ({ property, value })), args.output);
      } else printRows([details], args.output);
    }),
};

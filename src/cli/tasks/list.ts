// orch tasks list DAG_ID [--tree]: a DAG's tasks.
import type { Argv, CommandModule } from "yargs";
import { getSerializedDag } from "../../store/dags.ts";
import { dagNotFound, withStore } from "../common.ts";
import { renderTree } from "../dags/graph.ts";
import { outputOption, printRows, type OutputFormat } from "../output.ts";
import { processDagsFolder } from "../process-dags.ts";

interface Args {
  dag_id: string;
  tree: boolean;
  output: OutputFormat;
}

export const listCommand: CommandModule<object, Args> = {
  command: "list <dag_id>",
  describe: "List a DAG's tasks (--tree: as a tree from the roots)",
  builder: (y: Argv) =>
    y
      .positional("dag_id", { type: "string", demandOption: true, describe: "The DAG" })
      .option("tree", { type: "boolean", default: false, describe: "Print the tasks as a tree" })
      .options(outputOption)
      .example("$0 tasks list example_etl --tree", "the tasks, indented under their upstream") as unknown as Argv<Args>,
  handler: (args) =>
    withStore(async (store, config) => {
      await processDagsFolder(store, config);
      const dag = await getSerializedDag(store.db, args.dag_id);
      if (!dag) throw await dagNotFound(store, args.dag_id);
      if (args.tree) {
        process.stdout.write(renderTree(dag) + "\n");
        return;
      }
      if (args.output === "table") {
        // Airflow prints the sorted task ids, one per line.
        process.stdout.write(dag.tasks.map((t) => t.task_id).sort().join("\n") + "\n");
        return;
      }
      printRows(
        dag.tasks.map((t) => ({
          task_id: t.task_id,
          operator: t.operator,
          trigger_rule: t.trigger_rule,
          upstream_task_ids: t.upstream_task_ids,
          downstream_task_ids: t.downstream_task_ids,
          retries: t.retries,
        })),
        args.output,
      );
    }),
};

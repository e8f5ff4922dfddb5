// orch dags show DAG_ID: the task graph as a text tree, or Graphviz dot (--format dot).
import type { Argv, CommandModule } from "yargs";
import { getSerializedDag } from "../../store/dags.ts";
import { dagNotFound, withStore } from "../common.ts";
import { processDagsFolder } from "../process-dags.ts";
import { renderDot, renderTree } from "./graph.ts";

interface Args {
  dag_id: string;
  format: "tree" | "dot";
}

export const showCommand: CommandModule<object, Args> = {
  command: "show <dag_id>",
  describe: "Show a DAG's tasks and edges as a tree or as Graphviz dot",
  builder: (y: Argv) =>
    y
      .positional("dag_id", { type: "string", demandOption: true, describe: "The DAG" })
      .option("format", { choices: ["tree", "dot"] as const, default: "tree" as const, describe: "tree (text) or dot (Graphviz)" })
      .example("$0 dags show example_etl", "the task graph as a text tree")
      .example("$0 dags show example_etl --format dot | dot -Tpng > etl.png", "a picture, with Graphviz") as unknown as Argv<Args>,
  handler: (args) =>
    withStore(async (store, config) => {
      await processDagsFolder(store, config);
      const dag = await getSerializedDag(store.db, args.dag_id);
      if (!dag) throw await dagNotFound(store, args.dag_id);
      process.stdout.write((args.format === "dot" ? renderDot(dag) : renderTree(dag)) + "\n");
    }),
};


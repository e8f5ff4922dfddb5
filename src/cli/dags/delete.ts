// orch dags delete DAG_ID: every record of the DAG (runs, task instances, tries, XComs, the DAG
// row), as Airflow's `dags delete`. The file stays: while it exists the DAG comes back on the next
// parse, without history.
import type { Argv, CommandModule } from "yargs";
import { deleteDagRecords } from "../../store/deletions.ts";
import { notifyScheduler } from "../../store/notify.ts";
import { confirmOrRefuse } from "../confirm.ts";
import { requireDag, withStore } from "../common.ts";

interface Args {
  dag_id: string;
  yes: boolean;
}

export const deleteCommand: CommandModule<object, Args> = {
  command: "delete <dag_id>",
  describe: "Delete every record of a DAG (runs, task instances, XComs); its file is left alone",
  builder: (y: Argv) =>
    y
      .positional("dag_id", { type: "string", demandOption: true })
      .option("yes", { alias: "y", type: "boolean", default: false, describe: "Do not ask for confirmation" })
      .example("$0 dags delete example_etl", "asks first")
      .example("$0 dags delete example_etl --yes", "for scripts") as unknown as Argv<Args>,
  handler: (args) =>
    withStore(async (store) => {
      const d = await requireDag(store, args.dag_id);
      const ok = await confirmOrRefuse(`This will drop all existing records related to the DAG "${args.dag_id}". Proceed?`, { yes: args.yes });
      if (!ok) {
        console.log("Cancelled");
        return;
      }
      const n = await store.writeTransaction((trx) => deleteDagRecords(trx, args.dag_id));
      await notifyScheduler(store);
      console.log(`Removed ${n.dag_runs} DAG run(s) and ${n.task_instances} task instance(s) of ${args.dag_id}; ${d.fileloc} still defines it: the next CLI parse (or a change to the file under a running scheduler) brings it back, without history`);
    }),
};

// orch dags next-execution DAG_ID: the next logical date(s) the scheduler will create, with their
// data intervals, computed by the DAG's timetable from its last scheduled run (as the scheduler
// does; manual runs do not move it).
import type { Argv, CommandModule } from "yargs";
import { OrchError } from "../../errors.ts";
import { lastAutomatedRun } from "../../store/dag-runs.ts";
import { isDagPaused } from "../../store/run-edits.ts";
import { createTimetable } from "../../timetables/index.ts";
import { requireDag, withStore } from "../common.ts";
import { outputOption, printRows, type OutputFormat } from "../output.ts";

interface Args {
  dag_id: string;
  "num-executions": number;
  output: OutputFormat;
}

export const nextExecutionCommand: CommandModule<object, Args> = {
  command: "next-execution <dag_id>",
  describe: "Print the next logical date(s) and data interval(s) the scheduler will create",
  builder: (y: Argv) =>
    y
      .positional("dag_id", { type: "string", demandOption: true })
      .option("num-executions", { alias: "n", type: "number", default: 1, describe: "How many upcoming runs" })
      .options(outputOption)
      .example("$0 dags next-execution example_etl", "")
      .example("$0 dags next-execution example_etl -n 3 -o json", "") as unknown as Argv<Args>,
  handler: (args) =>
    withStore(async (store) => {
      const n = args["num-executions"];
      if (!Number.isInteger(n) || n < 1) throw new OrchError("ORCH_USAGE", `--num-executions must be a whole number of at least 1, got ${n}`, { flag: "--num-executions" });
      const d = await requireDag(store, args.dag_id);
      const timetable = createTimetable(d.dag.timetable);
      if (!timetable.canBeScheduled) {
        process.stderr.write(`${args.dag_id} has schedule ${timetable.summary}: the scheduler creates no runs for it (trigger it with \`orch dags trigger ${args.dag_id}\`)\n`);
        printRows([], args.output);
        return;
      }
      const restriction = {
        earliest: d.dag.start_date ? new Date(d.dag.start_date) : null,
        latest: d.dag.end_date ? new Date(d.dag.end_date) : null,
        catchup: d.dag.catchup,
      };
      const last = await lastAutomatedRun(store.db, args.dag_id);
      let interval = last?.data_interval_start && last.data_interval_end ? { start: new Date(last.data_interval_start), end: new Date(last.data_interval_end) } : null;
      const now = new Date();
      const rows: Record<string, unknown>[] = [];
      for (let i = 0; i < n; i++) {
        const info = timetable.nextDagRunInfo({ lastAutomatedDataInterval: interval, restriction, now });
        if (!info) break;
        rows.push({
          logical_date: info.logicalDate.toISOString(),
          data_interval_start: info.dataInterval.start.toISOString(),
          data_interval_end: info.dataInterval.end.toISOString(),
          run_after: info.runAfter.toISOString(),
        });
        interval = info.dataInterval;
        // Without catchup the timetable aligns to `now`; later runs follow the one just computed.
        restriction.catchup = true;
      }
      if (await isDagPaused(store.db, args.dag_id)) process.stderr.write(`[INFO] Please be reminded this DAG is PAUSED now: \`orch dags unpause ${args.dag_id}\`.\n`);
      if (rows.length === 0) process.stderr.write(`${args.dag_id} has no further runs (its end_date has passed)\n`);
      printRows(rows, args.output);
    }),
};

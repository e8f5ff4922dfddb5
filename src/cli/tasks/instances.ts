// orch tasks states-for-dag-run | state | clear
import type { Argv, CommandModule } from "yargs";
import { taskInstanceResponse } from "../../api/shapes.ts";
import { OrchError } from "../../errors.ts";
import { applyClear, clearTargets, selectTaskIds } from "../../operations/clear.ts";
import { listDagRuns } from "../../store/dag-runs.ts";
import { listTaskInstances } from "../../store/task-instances.ts";
import { confirmOrRefuse } from "../confirm.ts";
import { parseDateArg, requireDag, withStore } from "../common.ts";
import { findRun } from "../dags/runs.ts";
import { outputOption, printRows, type OutputFormat } from "../output.ts";

export const statesForDagRunCommand: CommandModule<object, { dag_id: string; run_id: string; output: OutputFormat }> = {
  command: "states-for-dag-run <dag_id> <run_id>",
  describe: "The state of every task instance of one DAG run",
  builder: (y: Argv) =>
    y
      .positional("dag_id", { type: "string", demandOption: true })
      .positional("run_id", { type: "string", demandOption: true, describe: "Run id (or logical date)" })
      .options(outputOption)
      .example("$0 tasks states-for-dag-run example_etl 2024-01-01 -o json", "by logical date")
      .example("$0 tasks states-for-dag-run example_etl RUN_ID", "by run id (dags list-runs)") as unknown as Argv<{
      dag_id: string;
      run_id: string;
      output: OutputFormat;
    }>,
  handler: (args) =>
    withStore(async (store) => {
      const run = await findRun(store, args.dag_id, args.run_id);
      const tis = await listTaskInstances(store.db, run.dag_id, run.run_id);
      // Scripts get Airflow's whole TaskInstanceResponse; people the short column set.
      printRows(
        tis.map((t) => taskInstanceResponse({ ...t, logical_date: run.logical_date, run_after: run.run_after })),
        args.output,
        args.output === "table" || args.output === "plain" ? ["dag_id", "logical_date", "task_id", "map_index", "state", "start_date", "end_date", "try_number"] : undefined,
      );
    }),
};

export const taskStateCommand: CommandModule<object, { dag_id: string; task_id: string; ref: string; "map-index": number }> = {
  command: "state <dag_id> <task_id> <ref>",
  describe: "Print one task instance's state (run by logical date or run id)",
  builder: (y: Argv) =>
    y
      .positional("dag_id", { type: "string", demandOption: true })
      .positional("task_id", { type: "string", demandOption: true })
      .positional("ref", { type: "string", demandOption: true, describe: "Logical date or run id" })
      .option("map-index", { type: "number", default: -1, describe: "Which instance of a mapped task" })
      .example("$0 tasks state example_etl extract 2024-01-01", "") as unknown as Argv<{ dag_id: string; task_id: string; ref: string; "map-index": number }>,
  handler: (args) =>
    withStore(async (store) => {
      const run = await findRun(store, args.dag_id, args.ref);
      const tis = (await listTaskInstances(store.db, run.dag_id, run.run_id)).filter((t) => t.task_id === args.task_id);
      if (tis.length === 0) throw new OrchError("ORCH_NOT_FOUND", `run ${run.run_id} of ${args.dag_id} has no task "${args.task_id}"`);
      const ti = tis.find((t) => t.map_index === args["map-index"]);
      if (!ti) {
        throw new OrchError("ORCH_NOT_FOUND", `task "${args.task_id}" of run ${run.run_id} has no map_index ${args["map-index"]}; it has ${tis.map((t) => t.map_index).join(", ")} (--map-index)`, { flag: "--map-index" });
      }
      console.log(ti.state ?? "None");
    }),
};

interface ClearArgs {
  dag_id: string;
  "task-regex"?: string;
  "start-date"?: string;
  "end-date"?: string;
  downstream: boolean;
  "only-failed": boolean;
  "map-index"?: number[];
  yes: boolean;
}

export const clearCommand: CommandModule<object, ClearArgs> = {
  command: "clear <dag_id>",
  describe: "Clear task instances so the scheduler runs them again",
  builder: (y: Argv) =>
    y
      .positional("dag_id", { type: "string", demandOption: true })
      .option("task-regex", { alias: "t", type: "string", describe: "Only tasks whose id matches this regular expression" })
      .option("start-date", { alias: "s", type: "string", describe: "Only runs with logical date on or after" })
      .option("end-date", { alias: "e", type: "string", describe: "Only runs with logical date on or before" })
      .option("downstream", { alias: "d", type: "boolean", default: false, describe: "Also clear the matched tasks' downstream" })
      .option("only-failed", { alias: "f", type: "boolean", default: false, describe: "Only failed and upstream_failed task instances" })
      .option("map-index", { type: "number", array: true, describe: "Only these map indexes of mapped tasks (repeatable)" })
      .option("yes", { alias: "y", type: "boolean", default: false, describe: "Do not ask for confirmation" })
      .example("$0 tasks clear example_etl -t '^double' -s 2024-01-01 -e 2024-01-31 -d -y", "re-run January's double and what follows") as unknown as Argv<ClearArgs>,
  handler: (args) =>
    withStore(async (store) => {
      const d = await requireDag(store, args.dag_id);
      let re: RegExp | undefined;
      try {
        re = args["task-regex"] ? new RegExp(args["task-regex"]) : undefined;
      } catch (e) {
        throw new OrchError("ORCH_USAGE", `--task-regex: ${(e as Error).message}`, { flag: "--task-regex" });
      }
      const matched = selectTaskIds(d, { taskIds: new Set(d.dag.tasks.map((t) => t.task_id).filter((id) => !re || re.test(id))), includeDownstream: args.downstream });
      const runs = await listDagRuns(store.db, {
        dagId: args.dag_id,
        startDate: args["start-date"] ? parseDateArg(args["start-date"], "--start-date").toISOString() : undefined,
        endDate: args["end-date"] ? parseDateArg(args["end-date"], "--end-date").toISOString() : undefined,
        limit: 100_000,
      });
      const runsTis = [];
      for (const run of runs) runsTis.push({ run, tis: await listTaskInstances(store.db, run.dag_id, run.run_id) });
      const mapIndexes = args["map-index"];
      if (mapIndexes?.some((i) => !Number.isInteger(i) || i < -1)) throw new OrchError("ORCH_USAGE", `--map-index must be integers >= -1, got ${mapIndexes.join(", ")}`, { flag: "--map-index" });
      const targets = clearTargets(runsTis, matched, args["only-failed"]).filter((t) => !mapIndexes || mapIndexes.includes(t.ti.map_index));
      if (targets.length === 0) {
        console.log("No task instances to clear");
        return;
      }
      for (const t of targets) console.error(`  ${t.run.run_id} ${t.ti.task_id}${t.ti.map_index >= 0 ? `[${t.ti.map_index}]` : ""} (${t.ti.state})`);
      const ok = await confirmOrRefuse(`Clear these ${targets.length} task instance(s)?`, { yes: args.yes });
      if (!ok) {
        console.error("cancelled; nothing was cleared");
        process.exitCode = 1;
        return;
      }
      await applyClear(store, d, targets);
      console.log(`cleared ${targets.length} task instance(s) in ${new Set(targets.map((t) => t.run.id)).size} run(s)`);
    }),
};

// orch dags test DAG_ID [LOGICAL_DATE]: one run of the whole DAG in the foreground, through the
// real scheduler and executor, recorded in the store; prints each task's state and log.
import { readFileSync, existsSync } from "node:fs";
import type { Argv, CommandModule } from "yargs";
import { createLocalExecutor } from "../../executor/local-executor.ts";
import { taskLogPath } from "../../logging/index.ts";
import { triggerDagRun } from "../../scheduler/run-creation.ts";
import { createScheduler } from "../../scheduler/scheduler.ts";
import { listTaskInstances } from "../../store/task-instances.ts";
import { getDagRunById } from "../../store/dag-runs.ts";
import { parseConfArg, parseDateArg, requireDag, withStore } from "../common.ts";
import { processDagsFolder } from "../process-dags.ts";
import { printRows } from "../output.ts";

interface DagsTestArgs {
  dag_id: string;
  logical_date?: string;
  conf?: string;
  "show-logs": boolean;
}

export const testCommand: CommandModule<object, DagsTestArgs> = {
  command: "test <dag_id> [logical_date]",
  describe: "Run one DAG run in the foreground and print every task's state and log",
  builder: (y: Argv) =>
    y
      .positional("dag_id", { type: "string", demandOption: true })
      .positional("logical_date", { type: "string", describe: "YYYY-MM-DD or ISO-8601; default now" })
      .option("conf", { alias: "c", type: "string", describe: "JSON object merged over the DAG's params" })
      .option("show-logs", { type: "boolean", default: true, describe: "Print each task's log after the table" })
      .example("$0 dags test example_etl 2024-01-01", "")
      .example(`$0 dags test nyc_taxi_monthly --conf '{"month": "2024-01"}'`, "") as unknown as Argv<DagsTestArgs>,
  handler: (args) =>
    withStore(async (store, config) => {
      await processDagsFolder(store, config);
      const d = await requireDag(store, args.dag_id);
      const run = await triggerDagRun(store, d, {
        conf: parseConfArg(args.conf),
        logicalDate: args.logical_date ? parseDateArg(args.logical_date, "LOGICAL_DATE") : undefined,
        triggeredBy: "test",
      });
      const executor = createLocalExecutor({ parallelism: 1 });
      let finished: string | undefined;
      let onFinish: () => void = () => {};
      const done = new Promise<void>((resolve) => (onFinish = resolve));
      const scheduler = createScheduler({
        store,
        config,
        executor,
        onlyRunIds: new Set([run.id]),
        log: () => {},
        onRunFinished: (r) => {
          finished = r.state;
          onFinish();
        },
      });
      await scheduler.start();
      await done;
      await scheduler.stop();
      const tis = await listTaskInstances(store.db, run.dag_id, run.run_id);
      const final = await getDagRunById(store.db, run.id);
      printRows(
        [...tis]
          .sort((a, b) => (a.start_date ?? "~").localeCompare(b.start_date ?? "~") || a.task_id.localeCompare(b.task_id))
          .map((t) => ({
            task_id: t.task_id,
            state: t.state,
            try_number: t.try_number,
            duration: t.duration,
            reason: t.state_reason && t.state_reason.length > 90 ? `${t.state_reason.slice(0, 87)}...` : t.state_reason,
          })),
        "table",
      );
      if (args["show-logs"]) {
        const base = config.getString("logging", "base_log_folder");
        for (const t of tis) {
          for (let n = 1; n <= t.try_number; n++) {
            const p = taskLogPath(base, { dag_id: t.dag_id, run_id: t.run_id, task_id: t.task_id, map_index: t.map_index, try_number: n });
            if (!existsSync(p)) continue;
            process.stdout.write(`\n--- ${t.task_id} attempt ${n} (${p}) ---\n${readFileSync(p, "utf8")}`);
          }
        }
      }
      console.log(`\nDAG run ${run.run_id}: ${final?.state ?? finished}`);
      if ((final?.state ?? finished) !== "success") process.exitCode = 1;
    }),
};

// orch dags test DAG_ID [LOGICAL_DATE]: one run of the whole DAG in the foreground, through the
// real scheduler and executor, recorded in the store. Each task's log lines are printed as they
// arrive, prefixed with the task id; a summary table follows.
//
// As Airflow's dag.test(), a run that already exists at the logical date is replaced. Ctrl-C
// (SIGINT) or SIGTERM fails the run and its unfinished tries with reason "interrupted", stops the
// workers and exits 130: nothing is left `running` for recovery to find later.
import type { Argv, CommandModule } from "yargs";
import { createLocalExecutor } from "../../executor/local-executor.ts";
import { triggerDagRun } from "../../scheduler/run-creation.ts";
import { createScheduler } from "../../scheduler/scheduler.ts";
import { createTriggerer, resumedRuns, type Triggerer } from "../../triggerer/triggerer.ts";
import { maskerForAllSecrets } from "../../secrets/masking.ts";
import { listTaskInstances } from "../../store/task-instances.ts";
import { getDagRunById } from "../../store/dag-runs.ts";
import { deleteDagRun, failDagRunAndTasks, findDagRunAtLogicalDate } from "../../store/deletions.ts";
import { parseConfArg, parseDateArg, requireDag, withStore } from "../common.ts";
import { processDagsFolder } from "../process-dags.ts";
import { formatSummary, streamingExecutor } from "./test-summary.ts";

interface DagsTestArgs {
  dag_id: string;
  logical_date?: string;
  conf?: string;
  quiet: boolean;
}

export const INTERRUPTED = "interrupted";

export const testCommand: CommandModule<object, DagsTestArgs> = {
  command: "test <dag_id> [logical_date]",
  describe: "Run one DAG run in the foreground, printing each task's log as it runs, then a summary",
  builder: (y: Argv) =>
    y
      .positional("dag_id", { type: "string", demandOption: true })
      .positional("logical_date", { type: "string", describe: "YYYY-MM-DD or ISO-8601; default now. A run at this date is replaced" })
      .option("conf", { alias: "c", type: "string", describe: "JSON object merged over the DAG's params" })
      .option("quiet", { alias: "q", type: "boolean", default: false, describe: "Print only the summary, not the task logs" })
      .example("$0 dags test example_etl 2024-01-01", "")
      .example("$0 dags test example_etl 2024-01-01 --quiet", "")
      .example(`$0 dags test example_etl --conf '{"limit": 5}'`, "") as unknown as Argv<DagsTestArgs>,
  handler: (args) =>
    withStore(async (store, config) => {
      await processDagsFolder(store, config);
      const d = await requireDag(store, args.dag_id);
      const conf = parseConfArg(args.conf);
      const logicalDate = args.logical_date ? parseDateArg(args.logical_date, "LOGICAL_DATE") : undefined;
      if (logicalDate) {
        const old = await findDagRunAtLogicalDate(store.db, d.dag.dag_id, logicalDate.toISOString());
        if (old) {
          await store.writeTransaction((trx) => deleteDagRun(trx, old.id));
          process.stderr.write(`Replaced the existing run ${old.run_id} (${old.state}) at ${logicalDate.toISOString()}\n`);
        }
      }
      const run = await triggerDagRun(store, d, { conf, logicalDate, triggeredBy: "test" });
      const masker = await maskerForAllSecrets(store);
      const inner = createLocalExecutor({ parallelism: 1 });
      const executor = args.quiet ? inner : streamingExecutor(inner, masker, (s) => process.stdout.write(s));
      let onFinish: () => void = () => {};
      const done = new Promise<void>((resolve) => (onFinish = resolve));
      let interrupted: NodeJS.Signals | undefined;
      // A deferred task (a deferrable sensor, ctx.defer) waits on a trigger: run a triggerer here too,
      // as Airflow's dag.test() runs triggers inline. It takes only the triggers of this run: another
      // run's belong to the long-running triggerer (which may be down for a moment, or not started).
      let triggerer: Triggerer | undefined;
      const scheduler = createScheduler({
        store,
        config,
        executor,
        onlyRunIds: new Set([run.id]),
        log: () => {},
        onRunFinished: () => onFinish(),
        onDeferred: () => triggerer?.nudge(),
      });
      triggerer = createTriggerer({
        store,
        config,
        log: () => {},
        scope: { dag_id: run.dag_id, run_id: run.run_id },
        onResumed: (tis) => resumedRuns(tis).forEach((r) => scheduler.nudge(r)),
      });
      const onSignal = (signal: NodeJS.Signals) => {
        if (interrupted) return;
        interrupted = signal;
        process.stderr.write(`\n${signal}: failing run ${run.run_id} as "${INTERRUPTED}" and stopping the workers\n`);
        void store
          .writeTransaction((trx) => failDagRunAndTasks(trx, store.dialect, run.id, INTERRUPTED))
          .catch((e) => process.stderr.write(`could not mark the run interrupted: ${(e as Error).message}\n`))
          .finally(onFinish);
      };
      process.on("SIGINT", onSignal);
      process.on("SIGTERM", onSignal);
      try {
        await scheduler.start();
        await triggerer.start();
        await done;
        await triggerer.stop();
        // An interrupted run's workers are stopped at once; a finished run has none busy.
        await scheduler.stop(0);
      } finally {
        process.off("SIGINT", onSignal);
        process.off("SIGTERM", onSignal);
      }
      const tis = await listTaskInstances(store.db, run.dag_id, run.run_id);
      const final = await getDagRunById(store.db, run.id);
      const columns = process.stdout.isTTY ? process.stdout.columns || 100 : 100;
      process.stdout.write(`\n${formatSummary(d, tis, { columns, mask: (s) => masker.mask(s) })}\n`);
      console.log(`\nDAG run ${run.run_id}: ${final?.state ?? "unknown"}${interrupted ? ` (${INTERRUPTED} by ${interrupted})` : ""}`);
      if (interrupted) process.exitCode = 130;
      else if (final?.state !== "success") process.exitCode = 1;
    }),
};

// orch tasks test DAG_ID TASK_ID [DATE]: run one task in a worker, print its log to stdout, record
// nothing (as Airflow's `tasks test`). Upstream XComs come from the run at that date, if any.
import type { Argv, CommandModule } from "yargs";
import { OrchError } from "../../errors.ts";
import { createLocalExecutor } from "../../executor/local-executor.ts";
import { resolveParams } from "../../scheduler/run-creation.ts";
import { createSecretsMasker } from "../../logging/index.ts";
import { buildRequest } from "../../scheduler/task-runner.ts";
import { answerTaskReads, maskOutcome } from "../../scheduler/worker-reads.ts";
import type { DagRunRow, TaskInstanceRow } from "../../store/schema.ts";
import { listRunXcoms } from "../../store/xcom.ts";
import { collectXComArgMarkers } from "../../serialization/serialized-dag.ts";
import { createTimetable } from "../../timetables/index.ts";
import { parseConfArg, parseDateArg, requireDag, withStore } from "../common.ts";
import { processDagsFolder } from "../process-dags.ts";

interface TasksTestArgs {
  dag_id: string;
  task_id: string;
  date?: string;
  conf?: string;
  "map-index": number;
}

export const taskTestCommand: CommandModule<object, TasksTestArgs> = {
  command: "test <dag_id> <task_id> [date]",
  describe: "Run one task instance without recording its state; its log goes to stdout",
  builder: (y: Argv) =>
    y
      .positional("dag_id", { type: "string", demandOption: true })
      .positional("task_id", { type: "string", demandOption: true })
      .positional("date", { type: "string", describe: "Logical date (YYYY-MM-DD or ISO-8601); default now" })
      .option("conf", { alias: "c", type: "string", describe: "JSON object merged over the DAG's params" })
      .option("map-index", { type: "number", default: -1, describe: "Which instance of a mapped task to run (0..n-1)" })
      .example("$0 tasks test example_etl report 2024-01-01", "")
      .example("$0 tasks test example_mapping measure 2024-01-01 --map-index 2", "one instance of a mapped task") as unknown as Argv<TasksTestArgs>,
  handler: (args) =>
    withStore(async (store, config) => {
      await processDagsFolder(store, config);
      const d = await requireDag(store, args.dag_id);
      const task = d.tasks.get(args.task_id);
      if (!task) {
        throw new OrchError("ORCH_NOT_FOUND", `DAG ${args.dag_id} has no task "${args.task_id}"; its tasks: ${[...d.tasks.keys()].join(", ")}`);
      }
      const mapIndex = args["map-index"];
      if (!Number.isInteger(mapIndex) || mapIndex < -1) throw new OrchError("ORCH_USAGE", `--map-index must be an integer >= -1, got ${mapIndex}`, { flag: "--map-index" });
      if (task.expand_input && mapIndex < 0) {
        throw new OrchError("ORCH_USAGE", `task ${args.task_id} is mapped: say which instance with --map-index N (0 for the first)`, { flag: "--map-index" });
      }
      if (!task.expand_input && mapIndex >= 0) throw new OrchError("ORCH_USAGE", `task ${args.task_id} is not mapped: drop --map-index`, { flag: "--map-index" });
      const logical = args.date ? parseDateArg(args.date, "DATE") : new Date();
      const conf = parseConfArg(args.conf);
      const params = resolveParams(d, conf);
      const interval = createTimetable(d.dag.timetable).inferManualDataInterval(logical);
      const existing = await store.db.selectFrom("dag_run").selectAll().where("dag_id", "=", args.dag_id).where("logical_date", "=", logical.toISOString()).executeTakeFirst();
      const run: DagRunRow = existing ?? {
        id: -1,
        dag_id: args.dag_id,
        run_id: `__orch_tasks_test__${logical.toISOString()}`,
        logical_date: logical.toISOString(),
        data_interval_start: interval.start.toISOString(),
        data_interval_end: interval.end.toISOString(),
        run_after: logical.toISOString(),
        queued_at: null,
        start_date: new Date().toISOString(),
        end_date: null,
        state: "running",
        run_type: "manual",
        conf: JSON.stringify(conf),
        triggered_by: "test",
        last_scheduling_decision: null,
        backfill_id: null,
        clear_number: 0,
        note: null,
      };
      const ti = { id: 0, dag_id: args.dag_id, run_id: run.run_id, task_id: args.task_id, map_index: mapIndex, try_number: 1, max_tries: 0 } as TaskInstanceRow;
      // Filled with what the task reads, before it can print it; everything printed goes through it.
      const masker = createSecretsMasker();
      const xcoms = existing ? await listRunXcoms(store.db, existing.id) : [];
      // Airflow passes None for a missing upstream XCom without a word; say so, naming the task.
      const markers = "op_args" in task ? task.op_args.flatMap((a) => collectXComArgMarkers(a)) : [];
      for (const { __xcomarg: m } of markers) {
        if (xcoms.some((x) => x.task_id === m.task_id && x.key === m.key)) continue;
        const where = existing ? `run ${existing.run_id}` : `no run at ${logical.toISOString()}`;
        process.stderr.write(
          `warning: upstream task "${m.task_id}" has no XCom "${m.key}" (${where}); ${args.task_id} receives null for it. ` +
            `\`orch dags test ${args.dag_id} ${logical.toISOString()}\` makes a run whose XComs later tasks tests use\n`,
        );
      }
      const request = buildRequest({ ti, run, d, config, params });
      const executor = createLocalExecutor({ parallelism: 1 });
      try {
        const raw = await executor.execute(
          request,
          (line, level) => process.stdout.write(`[${level}] ${masker.mask(line)}\n`),
          answerTaskReads(store, existing ? existing.id : null, masker),
        );
        const outcome = maskOutcome(raw, masker);
        if (outcome.state === "success") {
          for (const x of outcome.xcoms) console.log(masker.mask(`XCom ${x.key}: ${JSON.stringify(x.value)}`));
          console.log(`Task ${args.task_id}: success`);
        } else if (outcome.state === "skipped") {
          console.log(`Task ${args.task_id}: skipped (${outcome.reason})`);
        } else if (outcome.state === "up_for_reschedule") {
          console.log(`Task ${args.task_id}: up_for_reschedule (next poke at ${outcome.rescheduleAt})`);
        } else if (outcome.state === "deferred") {
          console.log(`Task ${args.task_id}: deferred on ${outcome.trigger.classpath} (tasks test does not run triggers; run it with the scheduler)`);
        } else {
          console.log(`Task ${args.task_id}: failed: ${outcome.error.message}`);
          process.exitCode = 1;
        }
      } finally {
        await executor.stop(1000);
      }
    }),
};

// orch dags trigger | list-runs | state | pause | unpause
import type { Argv, CommandModule } from "yargs";
import { dagRunResponse } from "../../api/shapes.ts";
import { OrchError } from "../../errors.ts";
import { triggerDagRun } from "../../scheduler/run-creation.ts";
import { getDagRun, getDagRunByLogicalDate, listDagRuns } from "../../store/dag-runs.ts";
import { notifyScheduler } from "../../store/notify.ts";
import { isDagPaused, setDagPaused, setDagRunNote } from "../../store/run-edits.ts";
import type { DagRunRow } from "../../store/schema.ts";
import type { Store } from "../../store/index.ts";
import { parseConfArg, parseDateArg, requireDag, withStore } from "../common.ts";
import { outputOption, printRows, type OutputFormat } from "../output.ts";

/** Table rows keep the short column set; json and yaml carry Airflow's whole DAGRunResponse. */
function printRuns(runs: readonly DagRunRow[], output: OutputFormat, columns: string[]): void {
  if (output === "json" || output === "yaml") printRows(runs.map((r) => dagRunResponse(r)), output);
  else printRows(runs.map(dagRunJson), output, columns);
}

export function dagRunJson(r: DagRunRow): Record<string, unknown> {
  return {
    dag_id: r.dag_id,
    run_id: r.run_id,
    state: r.state,
    run_type: r.run_type,
    logical_date: r.logical_date,
    data_interval_start: r.data_interval_start,
    data_interval_end: r.data_interval_end,
    run_after: r.run_after,
    start_date: r.start_date,
    end_date: r.end_date,
    conf: r.conf ? (JSON.parse(r.conf) as unknown) : {},
    triggered_by: r.triggered_by,
  };
}

/** A run named by run id, or by logical date (Airflow's LOGICAL_DATE_OR_RUN_ID). */
export async function findRun(store: Store, dagId: string, ref: string): Promise<DagRunRow> {
  const byId = await getDagRun(store.db, dagId, ref);
  if (byId) return byId;
  let date: Date | undefined;
  try {
    date = parseDateArg(ref, "LOGICAL_DATE_OR_RUN_ID");
  } catch {
    date = undefined;
  }
  if (date) {
    const row = await getDagRunByLogicalDate(store.db, dagId, date.toISOString());
    if (row) return row;
  }
  throw new OrchError("ORCH_NOT_FOUND", `DAG ${dagId} has no run with run id or logical date "${ref}"; \`orch dags list-runs ${dagId}\` lists them`, { dag_id: dagId, ref });
}

interface TriggerArgs {
  dag_id: string;
  conf?: string;
  "logical-date"?: string;
  "run-id"?: string;
  unpause: boolean;
  note?: string;
  output: OutputFormat;
}

export const triggerCommand: CommandModule<object, TriggerArgs> = {
  command: "trigger <dag_id>",
  describe: "Create a manual DAG run; the scheduler runs it",
  builder: (y: Argv) =>
    y
      .positional("dag_id", { type: "string", demandOption: true, describe: "The DAG to run" })
      .option("conf", { alias: "c", type: "string", describe: "JSON object merged over the DAG's params" })
      .option("logical-date", { alias: "l", type: "string", describe: "Logical date (YYYY-MM-DD or ISO-8601); default now" })
      .option("run-id", { alias: "r", type: "string", describe: "Run id; default manual__<logical date>" })
      .option("unpause", { type: "boolean", default: false, describe: "Unpause the DAG first if it is paused (a paused DAG's run waits)" })
      .option("note", { type: "string", describe: "A note on the run" })
      .options(outputOption)
      .example("$0 dags trigger example_etl", "run now with the default params")
      .example(`$0 dags trigger example_etl --conf '{"limit": 5}'`, "run with params")
      .example("$0 dags trigger example_etl -l 2024-01-01", "a run for a given logical date")
      .example("$0 dags trigger example_etl --unpause", "unpause first, so the run starts") as unknown as Argv<TriggerArgs>,
  handler: (args) =>
    withStore(async (store) => {
      const d = await requireDag(store, args.dag_id);
      const conf = parseConfArg(args.conf);
      const logicalDate = args["logical-date"] ? parseDateArg(args["logical-date"], "--logical-date") : undefined;
      let paused = await isDagPaused(store.db, args.dag_id);
      if (paused && args.unpause) {
        await setDagPaused(store.db, args.dag_id, false);
        paused = false;
        process.stderr.write(`Unpaused ${args.dag_id}\n`);
      }
      const run = await triggerDagRun(store, d, { conf, logicalDate, runId: args["run-id"], triggeredBy: "cli" });
      // A paused DAG's run is created but waits: say so where the user looks (stderr now, the
      // run's note later), instead of a run that silently never starts.
      const pausedNote = paused ? `${args.dag_id} is paused: this run waits until \`orch dags unpause ${args.dag_id}\`` : null;
      const note = [args.note, pausedNote].filter(Boolean).join("\n") || null;
      if (note) {
        await setDagRunNote(store.db, run.id, note);
        run.note = note;
      }
      if (pausedNote) process.stderr.write(`warning: ${pausedNote} (or trigger with --unpause)\n`);
      await notifyScheduler(store);
      printRuns([run], args.output, ["dag_id", "run_id", "state", "run_type", "logical_date", "conf"]);
    }),
};

interface ListRunsArgs {
  dag_id: string;
  state?: string;
  "start-date"?: string;
  "end-date"?: string;
  output: OutputFormat;
}

export const listRunsCommand: CommandModule<object, ListRunsArgs> = {
  command: "list-runs <dag_id>",
  describe: "List a DAG's runs, newest first",
  builder: (y: Argv) =>
    y
      .positional("dag_id", { type: "string", demandOption: true })
      .option("state", { type: "string", choices: ["queued", "running", "success", "failed"], describe: "Only runs in this state" })
      .option("start-date", { alias: "s", type: "string", describe: "Only runs with logical date on or after" })
      .option("end-date", { alias: "e", type: "string", describe: "Only runs with logical date on or before" })
      .options(outputOption)
      .example("$0 dags list-runs example_etl --state failed", "") as unknown as Argv<ListRunsArgs>,
  handler: (args) =>
    withStore(async (store) => {
      await requireDag(store, args.dag_id);
      const runs = await listDagRuns(store.db, {
        dagId: args.dag_id,
        state: args.state,
        startDate: args["start-date"] ? parseDateArg(args["start-date"], "--start-date").toISOString() : undefined,
        endDate: args["end-date"] ? parseDateArg(args["end-date"], "--end-date").toISOString() : undefined,
      });
      printRuns(runs, args.output, ["dag_id", "run_id", "state", "run_type", "logical_date", "start_date", "end_date"]);
    }),
};

export const stateCommand: CommandModule<object, { dag_id: string; ref: string }> = {
  command: "state <dag_id> <ref>",
  describe: "Print the state of a DAG run (by logical date or run id)",
  builder: (y: Argv) =>
    y
      .positional("dag_id", { type: "string", demandOption: true })
      .positional("ref", { type: "string", demandOption: true, describe: "Logical date or run id" })
      .example("$0 dags state example_etl 2024-01-01", "") as unknown as Argv<{ dag_id: string; ref: string }>,
  handler: (args) =>
    withStore(async (store) => {
      const run = await findRun(store, args.dag_id, args.ref);
      console.log(run.state);
    }),
};

function pauseCommand(pause: boolean): CommandModule<object, { dag_id: string }> {
  const verb = pause ? "pause" : "unpause";
  return {
    command: `${verb} <dag_id>`,
    describe: pause ? "Pause a DAG: no new runs, and its runs take no new tasks" : "Unpause a DAG so the scheduler runs it",
    builder: (y: Argv) =>
      y.positional("dag_id", { type: "string", demandOption: true }).example(`$0 dags ${verb} example_etl`, "") as unknown as Argv<{ dag_id: string }>,
    handler: (args) =>
      withStore(async (store) => {
        await requireDag(store, args.dag_id);
        await setDagPaused(store.db, args.dag_id, pause);
        await notifyScheduler(store);
        console.log(`Dag: ${args.dag_id}, paused: ${pause ? "True" : "False"}`);
      }),
  };
}

export const pauseDagCommand = pauseCommand(true);
export const unpauseDagCommand = pauseCommand(false);

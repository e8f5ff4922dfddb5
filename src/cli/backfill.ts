// orch backfill create | list | show | cancel | pause | unpause (Airflow 3's `airflow backfill`).
// `create` records the backfill and queues its runs; a scheduler (`orch scheduler` or
// `orch standalone`) works through them. `--wait` follows it to the end (src/cli/backfill-follow.ts).
import type { Argv, CommandModule } from "yargs";
import { OrchError } from "../errors.ts";
import { backfillNotFound, cancelBackfill, createBackfill, DEFAULT_BACKFILL_MAX_ACTIVE_RUNS, planBackfill, type BackfillRequest } from "../scheduler/backfill.ts";
import { backfillProgress, getBackfill, listBackfillDagRuns, listBackfills, REPROCESS_BEHAVIORS, setBackfillPaused, type BackfillRow, type ReprocessBehavior } from "../store/backfills.ts";
import { pyIsoformat } from "../store/dag-runs.ts";
import { notifyScheduler } from "../store/notify.ts";
import type { Store } from "../store/index.ts";
import { followBackfill } from "./backfill-follow.ts";
import { parseDateArg, requireDag, withStore } from "./common.ts";
import { formatRows, outputOption, printRows, type OutputFormat } from "./output.ts";

export function backfillJson(b: BackfillRow): Record<string, unknown> {
  return {
    id: b.id,
    dag_id: b.dag_id,
    from_date: b.from_date,
    to_date: b.to_date,
    dag_run_conf: JSON.parse(b.dag_run_conf) as unknown,
    is_paused: b.is_paused === 1,
    reprocess_behavior: b.reprocess_behavior,
    max_active_runs: b.max_active_runs,
    created_at: b.created_at,
    completed_at: b.completed_at,
    updated_at: b.updated_at,
  };
}

/** --dag-run-conf: a JSON object (Airflow: "Invalid JSON in --dag-run-conf"). */
export function parseDagRunConf(value: string | undefined): Record<string, unknown> | null {
  if (value === undefined) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch (e) {
    throw new OrchError("ORCH_USAGE", `Invalid JSON in --dag-run-conf: ${(e as Error).message}; example: --dag-run-conf '{"month": "2024-01"}'`, { flag: "--dag-run-conf" });
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new OrchError("ORCH_USAGE", `--dag-run-conf must be a JSON object, e.g. '{"month": "2024-01"}'`, { flag: "--dag-run-conf" });
  }
  return parsed as Record<string, unknown>;
}

interface CreateArgs {
  "dag-id": string;
  "from-date": string;
  "to-date": string;
  "reprocess-behavior": ReprocessBehavior;
  "max-active-runs": number;
  "run-backwards": boolean;
  "dag-run-conf"?: string;
  "dry-run": boolean;
  wait: boolean;
  output: OutputFormat;
}

const createCommand: CommandModule<object, CreateArgs> = {
  command: "create",
  describe: "Queue a run for every date of a DAG's schedule in [--from-date, --to-date] whose interval has ended",
  builder: (y: Argv) =>
    y
      .option("dag-id", { type: "string", demandOption: true, describe: "The DAG to backfill" })
      .option("from-date", { type: "string", demandOption: true, describe: "First logical date (included): YYYY-MM-DD or ISO-8601" })
      .option("to-date", { type: "string", demandOption: true, describe: "Last logical date (included)" })
      .option("reprocess-behavior", {
        choices: REPROCESS_BEHAVIORS,
        default: "none" as ReprocessBehavior,
        describe: "Dates that already have a finished run: none = leave them, failed = re-run failed ones, completed = re-run all",
      })
      .option("max-active-runs", { type: "number", default: DEFAULT_BACKFILL_MAX_ACTIVE_RUNS, describe: "Runs of this backfill at a time (apart from the DAG's max_active_runs)" })
      .option("run-backwards", { type: "boolean", default: false, describe: "Newest date first" })
      .option("dag-run-conf", { type: "string", describe: "JSON object for every run's conf, checked against the DAG's params" })
      .option("dry-run", { type: "boolean", default: false, describe: "Print each date and what would happen to it; create nothing" })
      .option("wait", { type: "boolean", default: false, describe: "Follow the backfill to its end; exit 1 if any run failed" })
      .options(outputOption)
      .example("$0 backfill create --dag-id taxi_pipeline --from-date 2023-01-01 --to-date 2024-06-01", "load 2023-01 to 2024-06")
      .example("$0 backfill create --dag-id taxi_pipeline --from-date 2023-01-01 --to-date 2023-12-01 --reprocess-behavior failed --wait", "re-run only the failed months, and wait")
      .example(`$0 backfill create --dag-id taxi_pipeline --from-date 2024-03-01 --to-date 2024-03-01 --reprocess-behavior completed --dag-run-conf '{"taxi_type": "green"}'`, "run March again with this conf")
      .example("$0 backfill create --dag-id example_etl --from-date 2024-01-01 --to-date 2024-01-31 --dry-run", "") as unknown as Argv<CreateArgs>,
  handler: (args) =>
    withStore(async (store) => {
      const d = await requireDag(store, args["dag-id"]);
      const req: BackfillRequest = {
        fromDate: parseDateArg(args["from-date"], "--from-date"),
        toDate: parseDateArg(args["to-date"], "--to-date"),
        reprocessBehavior: args["reprocess-behavior"],
        maxActiveRuns: args["max-active-runs"],
        runBackwards: args["run-backwards"],
        dagRunConf: parseDagRunConf(args["dag-run-conf"]),
      };
      if (args["dry-run"]) {
        const dates = await planBackfill(store.db, d, req);
        const rows = dates.map((p) => ({
          sort_ordinal: p.sortOrdinal,
          logical_date: pyIsoformat(p.logicalDate),
          action: p.decision.action === "create" ? "create" : p.decision.action === "clear" ? `clear and re-queue (${p.decision.run.state} run ${p.decision.run.run_id})` : `skip: ${p.decision.reason} (${p.decision.run.run_id}, ${p.decision.run.state})`,
        }));
        if (args.output === "table") {
          console.log(`Performing dry run of backfill of ${d.dag.dag_id} from ${pyIsoformat(req.fromDate.toISOString())} to ${pyIsoformat(req.toDate.toISOString())} (reprocess ${req.reprocessBehavior}, max_active_runs ${req.maxActiveRuns}${req.runBackwards ? ", backwards" : ""}); nothing is created.`);
          if (rows.length === 0) console.log(`No runs to create for Dag ${d.dag.dag_id}`);
          else console.log(formatRows(rows, "table"));
        } else printRows(rows, args.output);
        return;
      }
      const r = await createBackfill(store, d, req);
      await notifyScheduler(store);
      if (args.output !== "table") printRows([{ ...backfillJson(r.backfill), created: r.created, requeued: r.requeued, skipped: r.skipped }], args.output);
      else {
        console.log(`Created backfill ${r.backfill.id} of ${d.dag.dag_id}: ${r.created} run(s) queued, ${r.requeued} re-queued, ${r.skipped} date(s) skipped`);
        for (const p of r.dates) if (p.decision.action === "skip") console.log(`  skipped ${pyIsoformat(p.logicalDate)}: ${p.decision.reason} (${p.decision.run.run_id})`);
      }
      if (args.wait) {
        const outcome = await followBackfill(store, r.backfill.id);
        if (outcome.failed > 0) process.exitCode = 1;
      }
    }),
};

async function requireBackfill(store: Store, id: number): Promise<BackfillRow> {
  const b = await getBackfill(store.db, id);
  if (!b) throw backfillNotFound(id);
  return b;
}

const idPositional = (y: Argv) => y.positional("backfill_id", { type: "number", demandOption: true, describe: "The backfill's id (`orch backfill list`)" });

const listCommand: CommandModule<object, { "dag-id"?: string; active: boolean; output: OutputFormat }> = {
  command: "list",
  describe: "List backfills, newest first",
  builder: (y: Argv) =>
    y
      .option("dag-id", { type: "string", describe: "Only this DAG's backfills" })
      .option("active", { type: "boolean", default: false, describe: "Only backfills not completed" })
      .options(outputOption)
      .example("$0 backfill list", "")
      .example("$0 backfill list --dag-id taxi_pipeline --active -o json", "") as unknown as Argv<{ "dag-id"?: string; active: boolean; output: OutputFormat }>,
  handler: (args) =>
    withStore(async (store) => {
      const rows = [];
      for (const b of await listBackfills(store.db, { dagId: args["dag-id"], active: args.active })) {
        const p = await backfillProgress(store.db, b.id);
        rows.push({ ...backfillJson(b), runs: p.total, success: p.success, failed: p.failed, running: p.running, queued: p.queued, skipped: p.skipped });
      }
      printRows(rows, args.output, args.output === "table" ? ["id", "dag_id", "from_date", "to_date", "reprocess_behavior", "max_active_runs", "is_paused", "runs", "success", "failed", "running", "queued", "skipped", "completed_at"] : undefined);
    }),
};

const showCommand: CommandModule<object, { backfill_id: number; output: OutputFormat }> = {
  command: "show <backfill_id>",
  describe: "Show a backfill: its runs in order and the dates it skipped, with reasons",
  builder: (y: Argv) => idPositional(y).options(outputOption).example("$0 backfill show 3", "").example("$0 backfill show 3 -o json", "") as unknown as Argv<{ backfill_id: number; output: OutputFormat }>,
  handler: (args) =>
    withStore(async (store) => {
      const b = await requireBackfill(store, args.backfill_id);
      const p = await backfillProgress(store.db, b.id);
      const dates = (await listBackfillDagRuns(store.db, b.id)).map((e) => ({
        sort_ordinal: e.sort_ordinal,
        logical_date: pyIsoformat(e.logical_date),
        run_id: e.run_id,
        state: e.state,
        exception_reason: e.exception_reason,
        start_date: e.start_date,
        end_date: e.end_date,
      }));
      if (args.output !== "table") {
        printRows([{ ...backfillJson(b), progress: p, dag_runs: dates }], args.output);
        return;
      }
      printRows([backfillJson(b)], "table", ["id", "dag_id", "from_date", "to_date", "reprocess_behavior", "max_active_runs", "is_paused", "created_at", "completed_at"]);
      console.log(`\n${p.total} run(s): ${p.success} success, ${p.failed} failed, ${p.running} running, ${p.queued} queued; ${p.skipped} date(s) skipped\n`);
      printRows(dates, "table", ["sort_ordinal", "logical_date", "run_id", "state", "exception_reason"]);
    }),
};

const cancelCommand: CommandModule<object, { backfill_id: number }> = {
  command: "cancel <backfill_id>",
  describe: "Cancel a backfill: no new runs, queued runs end failed, running runs finish",
  builder: (y: Argv) => idPositional(y).example("$0 backfill cancel 3", "") as unknown as Argv<{ backfill_id: number }>,
  handler: (args) =>
    withStore(async (store) => {
      const r = await cancelBackfill(store, args.backfill_id);
      await notifyScheduler(store);
      console.log(`Backfill ${r.backfill.id} of ${r.backfill.dag_id} cancelled: ${r.failedQueued} queued run(s) marked failed; running runs finish`);
    }),
};

function pauseCommand(pause: boolean): CommandModule<object, { backfill_id: number }> {
  const verb = pause ? "pause" : "unpause";
  return {
    command: `${verb} <backfill_id>`,
    describe: pause ? "Pause a backfill: no new runs start (running ones finish)" : "Unpause a backfill so its queued runs start again",
    builder: (y: Argv) => idPositional(y).example(`$0 backfill ${verb} 3`, "") as unknown as Argv<{ backfill_id: number }>,
    handler: (args) =>
      withStore(async (store) => {
        const b = await requireBackfill(store, args.backfill_id);
        if (b.completed_at) throw new OrchError("ORCH_USAGE", `Backfill ${b.id} is already completed; it cannot be ${verb}d`, { backfill_id: b.id });
        await setBackfillPaused(store.db, b.id, pause);
        await notifyScheduler(store);
        console.log(`Backfill ${b.id} of ${b.dag_id}, paused: ${pause ? "True" : "False"}`);
      }),
  };
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- each subcommand has its own args
const subcommands: CommandModule<any, any>[] = [createCommand, listCommand, showCommand, cancelCommand, pauseCommand(true), pauseCommand(false)];

export const backfillCommand: CommandModule = {
  command: "backfill <command>",
  describe: "Create, follow, pause and cancel backfills",
  builder: (y) => {
    for (const c of subcommands) y.command(c);
    return y.demandCommand(1).example("$0 backfill create --dag-id example_etl --from-date 2024-01-01 --to-date 2024-01-31", "").example("$0 backfill list", "");
  },
  handler: () => {},
};

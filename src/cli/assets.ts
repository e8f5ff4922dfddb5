// orch assets: the assets DAGs produce and are scheduled on, their events, and events from outside
// (Airflow's `airflow assets list|details` plus creating an event, which Airflow offers over REST).
import type { Argv, CommandModule } from "yargs";
import { OrchError } from "../errors.ts";
import { assetUriProblem } from "../sdk/schedule.ts";
import { getAsset, listAssetConsumers, listAssetEvents, listAssets, recordAssetEvent, type AssetRow } from "../store/assets.ts";
import type { Store } from "../store/index.ts";
import { notifyScheduler } from "../store/notify.ts";
import { withStore } from "./common.ts";
import { outputOption, printRows, type OutputFormat } from "./output.ts";

interface OutArgs {
  output: OutputFormat;
}
interface UriArgs extends OutArgs {
  uri: string;
}
interface CreateArgs extends UriArgs {
  extra?: string;
}

async function requireAsset(store: Store, uri: string): Promise<AssetRow> {
  const a = await getAsset(store.db, uri);
  if (a) return a;
  const known = (await listAssets(store.db)).map((x) => x.uri);
  throw new OrchError("ORCH_NOT_FOUND", `asset "${uri}" not found; known assets: ${known.length ? known.join(", ") : "none (no DAG lists an asset in outlets or schedule)"}`, { uri });
}

function parseExtra(value: string | undefined): Record<string, unknown> {
  if (value === undefined) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch (e) {
    throw new OrchError("ORCH_USAGE", `--extra: not valid JSON (${(e as Error).message}); example: --extra '{"rows": 10}'`, { flag: "--extra" });
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new OrchError("ORCH_USAGE", `--extra must be a JSON object, e.g. '{"rows": 10}'`, { flag: "--extra" });
  }
  return parsed as Record<string, unknown>;
}

const uriPositional = (y: Argv) => y.positional("uri", { type: "string", demandOption: true, describe: "the asset's URI (or its name)" });

const listCommand: CommandModule<object, OutArgs> = {
  command: "list",
  describe: "List the assets DAGs update (outlets) or are scheduled on",
  builder: (y: Argv) => y.options(outputOption).example("$0 assets list -o json", "every asset with its group") as unknown as Argv<OutArgs>,
  handler: (args) =>
    withStore(async (store) => {
      const rows = (await listAssets(store.db)).map((a) => ({ name: a.name, uri: a.uri, group: a.group, extra: a.extra, created_at: a.created_at }));
      printRows(rows, args.output, args.output === "table" ? ["name", "uri", "group", "created_at"] : undefined);
    }),
};

const detailsCommand: CommandModule<object, UriArgs> = {
  command: "details <uri>",
  describe: "Show one asset: its fields, the DAGs scheduled on it, its latest event",
  builder: (y: Argv) => uriPositional(y).options(outputOption).example("$0 assets details s3://bucket/trips.parquet", "") as unknown as Argv<UriArgs>,
  handler: (args) =>
    withStore(async (store) => {
      const a = await requireAsset(store, args.uri);
      const [latest] = await listAssetEvents(store.db, a.id, { limit: 1 });
      const row = {
        id: a.id,
        name: a.name,
        uri: a.uri,
        group: a.group,
        extra: a.extra,
        created_at: a.created_at,
        updated_at: a.updated_at,
        scheduled_dags: await listAssetConsumers(store.db, a.id),
        last_event: latest?.timestamp ?? null,
      };
      if (args.output === "table") {
        printRows(Object.entries(row).map(([property, value]) => ({ property, value: typeof value === "string" ? value : JSON.stringify(value) })), "table");
      } else printRows([row], args.output);
    }),
};

const eventsCommand: CommandModule<object, UriArgs & { limit: number }> = {
  command: "events <uri>",
  describe: "List the asset's events, newest first",
  builder: (y: Argv) =>
    uriPositional(y)
      .options(outputOption)
      .option("limit", { type: "number", default: 100, describe: "at most this many events" })
      .example("$0 assets events warehouse://raw_trips --limit 5", "the five latest events") as unknown as Argv<UriArgs & { limit: number }>,
  handler: (args) =>
    withStore(async (store) => {
      const a = await requireAsset(store, args.uri);
      const rows = (await listAssetEvents(store.db, a.id, { limit: args.limit })).map((e) => ({
        id: e.id,
        timestamp: e.timestamp,
        source_dag_id: e.source_dag_id,
        source_task_id: e.source_task_id,
        source_run_id: e.source_run_id,
        extra: e.extra,
      }));
      printRows(rows, args.output, args.output === "table" ? ["id", "timestamp", "source_dag_id", "source_task_id", "source_run_id", "extra"] : undefined);
    }),
};

const eventCreateCommand: CommandModule<object, CreateArgs> = {
  command: "create <uri>",
  describe: "Record an event of the asset from outside (DAGs scheduled on it may run)",
  builder: (y: Argv) =>
    uriPositional(y)
      .options(outputOption)
      .option("extra", { type: "string", describe: "the event's extra, a JSON object" })
      .example(`$0 assets event create warehouse://raw_trips --extra '{"rows": 10}'`, "an external load finished") as unknown as Argv<CreateArgs>,
  handler: (args) =>
    withStore(async (store) => {
      const extra = parseExtra(args.extra);
      const problem = assetUriProblem(args.uri, false);
      if (problem) throw new OrchError("ORCH_USAGE", `invalid asset URI "${args.uri}": ${problem}`, { uri: args.uri });
      const a = await requireAsset(store, args.uri);
      const r = await store.writeTransaction((trx) => recordAssetEvent(trx, a, { extra }));
      await notifyScheduler(store);
      printRows([{ id: r.eventId, uri: a.uri, extra, queued_for: r.queuedFor }], args.output);
    }),
};

const eventCommand: CommandModule = {
  command: "event <command>",
  describe: "Asset events from outside",
  builder: (y: Argv) => y.command(eventCreateCommand as unknown as CommandModule).demandCommand(1).example("$0 assets event create s3://bucket/key", ""),
  handler: () => {},
};

export const assetsCommand: CommandModule = {
  command: "assets <command>",
  describe: "Assets: list, details, events, and recording an event",
  builder: (y: Argv) =>
    y
      .command([listCommand, detailsCommand, eventsCommand, eventCommand] as unknown as CommandModule[])
      .demandCommand(1)
      .example("$0 assets list", "")
      .example("$0 assets event create warehouse://raw_trips", ""),
  handler: () => {},
};

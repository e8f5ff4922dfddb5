// /api/v2/assets: list, get, list events, create an event (Airflow 3's
// core_api/routes/public/assets.py). The same store functions `orch assets` calls; creating an
// event queues it for the DAGs scheduled on the asset, as a producer task's outlet event does.
import { Hono } from "hono";
import { getAssetById, latestAssetEvents, listAssetConsumers, listAssetEventsPage, listAssets, recordAssetEvent, type AssetEvent, type AssetRow } from "../../store/assets.ts";
import { ASSET_ACCESS } from "../auth/roles.ts";
import { requireAccess, type ApiDeps, type ApiEnv } from "../context.ts";
import { notFound, validationError } from "../http-error.ts";
import { intParam, likeFilterText, paging, strParam } from "../query.ts";
import { readBody } from "../validate.ts";

export const ASSET_EVENT_BODY = {
  type: "object",
  properties: { asset_id: { type: "integer" }, extra: { type: "object" } },
  required: ["asset_id"],
  additionalProperties: false,
} as const;

interface AssetEventBody {
  asset_id: number;
  extra?: Record<string, unknown>;
}

function assetResponse(a: AssetRow, consumers: string[], last: { id: number; timestamp: string } | undefined) {
  return {
    id: a.id,
    name: a.name,
    uri: a.uri,
    group: a.group,
    extra: a.extra,
    created_at: a.created_at,
    updated_at: a.updated_at,
    // orch stores the DAGs scheduled on an asset, not when each reference was made; the asset's
    // own times stand in.
    consuming_dags: consumers.map((dag_id) => ({ dag_id, created_at: a.created_at, updated_at: a.updated_at })),
    // Airflow 3.1's name for the same list.
    scheduled_dags: consumers.map((dag_id) => ({ dag_id, created_at: a.created_at, updated_at: a.updated_at })),
    producing_tasks: [],
    consuming_tasks: [],
    aliases: [],
    last_asset_event: last ? { id: last.id, timestamp: last.timestamp } : null,
  };
}

function assetEventResponse(e: AssetEvent, group: string) {
  return {
    id: e.id,
    asset_id: e.asset_id,
    uri: e.uri,
    name: e.name,
    group,
    extra: e.extra,
    source_task_id: e.source_task_id,
    source_dag_id: e.source_dag_id,
    source_run_id: e.source_run_id,
    source_map_index: e.source_map_index ?? -1,
    created_dagruns: [],
    timestamp: e.timestamp,
  };
}

function assetIdParam(raw: string | undefined): number {
  if (!raw || !/^\d{1,15}$/.test(raw)) {
    throw validationError([{ loc: ["path", "asset_id"], msg: "Input should be a valid integer, unable to parse string as an integer", type: "int_parsing" }]);
  }
  return Number(raw);
}

export function assetRoutes(deps: ApiDeps): Hono<ApiEnv> {
  const r = new Hono<ApiEnv>();
  const { store } = deps;
  r.use("/assets", requireAccess(ASSET_ACCESS));
  r.use("/assets/*", requireAccess(ASSET_ACCESS));

  async function groups(): Promise<Map<number, string>> {
    return new Map((await listAssets(store.db)).map((a) => [a.id, a.group]));
  }

  r.get("/assets", async (c) => {
    const page = paging(c);
    const uriPattern = strParam(c, "uri_pattern");
    const namePattern = strParam(c, "name_pattern");
    const all = (await listAssets(store.db)).filter((a) => (!uriPattern || likeFilterText(a.uri, uriPattern)) && (!namePattern || likeFilterText(a.name, namePattern)));
    const latest = await latestAssetEvents(store.db);
    const assets = [];
    for (const a of all.slice(page.offset, page.offset + page.limit)) assets.push(assetResponse(a, await listAssetConsumers(store.db, a.id), latest.get(a.id)));
    return c.json({ assets, total_entries: all.length });
  });

  r.get("/assets/events", async (c) => {
    const page = paging(c);
    const { rows, total } = await listAssetEventsPage(
      store.db,
      {
        assetId: intParam(c, "asset_id"),
        sourceDagId: strParam(c, "source_dag_id"),
        sourceTaskId: strParam(c, "source_task_id"),
        sourceRunId: strParam(c, "source_run_id"),
        sourceMapIndex: intParam(c, "source_map_index"),
      },
      page,
    );
    const g = await groups();
    return c.json({ asset_events: rows.map((e) => assetEventResponse(e, g.get(e.asset_id) ?? "asset")), total_entries: total });
  });

  r.post("/assets/events", async (c) => {
    const body = await readBody<AssetEventBody>(c, ASSET_EVENT_BODY);
    const a = await getAssetById(store.db, body.asset_id);
    if (!a) throw notFound(`Asset with ID: \`${body.asset_id}\` was not found`);
    const made = await store.writeTransaction((trx) => recordAssetEvent(trx, a, { extra: body.extra ?? {} }));
    await deps.changed();
    const { rows } = await listAssetEventsPage(store.db, { assetId: a.id }, { limit: 1, offset: 0 });
    const ev = rows.find((e) => e.id === made.eventId) ?? rows[0];
    return c.json(assetEventResponse(ev, a.group));
  });

  r.get("/assets/:asset_id", async (c) => {
    const id = assetIdParam(c.req.param("asset_id"));
    const a = await getAssetById(store.db, id);
    if (!a) throw notFound(`The Asset with ID: \`${id}\` was not found`);
    return c.json(assetResponse(a, await listAssetConsumers(store.db, a.id), (await latestAssetEvents(store.db)).get(a.id)));
  });
  return r;
}

// SQL for assets, their events, which DAGs are scheduled on them, and the queue of events a
// consumer DAG has not yet run for (Airflow's asset, asset_event, dag_schedule_asset_reference,
// asset_dag_run_queue and dagrun_asset_event). Deciding when a queue makes a run is the
// scheduler's job (scheduler/asset-runs.ts).
import type { Kysely } from "kysely";
import type { AssetCondition, AssetRef } from "../sdk/timetable-spec.ts";
import type { SerializedDag } from "../serialization/serialized-dag.ts";
import type { Db } from "./open.ts";
import type { Database } from "./schema.ts";
import { nowIso } from "./schema.ts";

export interface AssetKey {
  name: string;
  uri: string;
  group?: string;
  extra?: Record<string, unknown>;
}

export interface AssetRow {
  id: number;
  name: string;
  uri: string;
  group: string;
  extra: Record<string, unknown>;
  created_at: string;
  updated_at: string;
}

export interface AssetEvent {
  id: number;
  asset_id: number;
  uri: string;
  name: string;
  extra: Record<string, unknown>;
  source_dag_id: string | null;
  source_task_id: string | null;
  source_run_id: string | null;
  source_map_index: number | null;
  timestamp: string;
}

export interface EventSource {
  dag_id: string;
  task_id: string;
  run_id: string;
  map_index: number;
}

function parseJson(text: string | null): Record<string, unknown> {
  if (!text) return {};
  try {
    const v = JSON.parse(text) as unknown;
    return v && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

/** The asset's id, inserting it first when it is new (an asset is known by name and URI). */
export async function ensureAsset(db: Kysely<Database>, a: AssetKey): Promise<number> {
  const now = nowIso();
  await db
    .insertInto("asset")
    .values({ name: a.name, uri: a.uri, group: a.group ?? "asset", extra: JSON.stringify(a.extra ?? {}), created_at: now, updated_at: now })
    .onConflict((oc) => oc.columns(["name", "uri"]).doNothing())
    .execute();
  const row = await db.selectFrom("asset").select("id").where("name", "=", a.name).where("uri", "=", a.uri).executeTakeFirstOrThrow();
  return row.id;
}

/** One asset's identity as a map key (an asset is known by name and URI). */
export const assetKey = (a: { name: string; uri: string }): string => `${a.name}\u0000${a.uri}`;

/** Every asset a condition names, once each. */
export function conditionAssets(c: AssetCondition, out = new Map<string, AssetRef>()): AssetRef[] {
  if (c.type === "asset") out.set(assetKey(c.asset), c.asset);
  else for (const i of c.items) conditionAssets(i, out);
  return [...out.values()];
}

/** A parsed DAG's assets, as the DAG processor writes them with a new DAG version (Airflow's
 *  bulk_write_to_db): its tasks' outlets become known assets, and the assets it is scheduled on
 *  its schedule references (so their events queue for it), stale references dropped. */
export async function recordDagAssets(trx: Kysely<Database>, d: SerializedDag): Promise<void> {
  for (const t of d.tasks) for (const a of t.outlets) await ensureAsset(trx, a);
  await setDagScheduleAssetReferences(trx, d.dag_id, d.timetable.type === "asset" ? conditionAssets(d.timetable.condition) : []);
}

/** Records that the DAG is scheduled on exactly these assets (stale references are dropped). */
export async function setDagScheduleAssetReferences(trx: Kysely<Database>, dagId: string, assets: readonly AssetKey[]): Promise<void> {
  const ids = [];
  for (const a of assets) ids.push(await ensureAsset(trx, a));
  let del = trx.deleteFrom("dag_schedule_asset_reference").where("dag_id", "=", dagId);
  if (ids.length) del = del.where("asset_id", "not in", ids);
  await del.execute();
  const now = nowIso();
  for (const id of ids) {
    await trx
      .insertInto("dag_schedule_asset_reference")
      .values({ asset_id: id, dag_id: dagId, created_at: now, updated_at: now })
      .onConflict((oc) => oc.columns(["asset_id", "dag_id"]).doNothing())
      .execute();
  }
}

/** The asset ids a DAG is scheduled on, as recorded. */
export async function listDagScheduleAssetIds(db: Db, dagId: string): Promise<number[]> {
  const rows = await db.selectFrom("dag_schedule_asset_reference").select("asset_id").where("dag_id", "=", dagId).execute();
  return rows.map((r) => r.asset_id);
}

/**
 * Records one event of the asset, and queues it for each DAG scheduled on the asset (Airflow's
 * AssetManager.register_asset_change). Runs inside the caller's transaction: a task's outlet
 * events commit with its success or not at all. Returns the event and the DAGs it queued for.
 */
export async function recordAssetEvent(
  trx: Kysely<Database>,
  a: AssetKey,
  opts: { extra?: Record<string, unknown>; source?: EventSource | null; at?: Date } = {},
): Promise<{ eventId: number; queuedFor: string[] }> {
  const assetId = await ensureAsset(trx, a);
  const timestamp = nowIso(opts.at);
  const src = opts.source ?? null;
  const ev = await trx
    .insertInto("asset_event")
    .values({
      asset_id: assetId,
      extra: JSON.stringify(opts.extra ?? {}),
      source_dag_id: src?.dag_id ?? null,
      source_task_id: src?.task_id ?? null,
      source_run_id: src?.run_id ?? null,
      source_map_index: src?.map_index ?? null,
      timestamp,
    })
    .returning("id")
    .executeTakeFirstOrThrow();
  const consumers = await trx.selectFrom("dag_schedule_asset_reference").select("dag_id").where("asset_id", "=", assetId).execute();
  for (const c of consumers) {
    await trx
      .insertInto("asset_dag_run_queue")
      .values({ asset_id: assetId, target_dag_id: c.dag_id, created_at: timestamp })
      .onConflict((oc) => oc.columns(["asset_id", "target_dag_id"]).doNothing())
      .execute();
  }
  return { eventId: ev.id, queuedFor: consumers.map((c) => c.dag_id) };
}

/** The DAGs with queued asset events (candidates for an asset-triggered run). */
export async function listDagsWithQueuedAssets(db: Db): Promise<string[]> {
  const rows = await db.selectFrom("asset_dag_run_queue").select("target_dag_id").distinct().execute();
  return rows.map((r) => r.target_dag_id);
}

/** The queue of one DAG: which assets have an event it has not run for, since when. */
export async function listQueuedAssets(db: Db, dagId: string): Promise<{ asset_id: number; uri: string; name: string; created_at: string }[]> {
  return db
    .selectFrom("asset_dag_run_queue as q")
    .innerJoin("asset as a", "a.id", "q.asset_id")
    .select(["q.asset_id", "a.uri", "a.name", "q.created_at"])
    .where("q.target_dag_id", "=", dagId)
    .execute();
}

/**
 * The run consumes the DAG's queue: the queued assets' events since they were queued are linked to
 * the run (ctx.triggering_asset_events), and the queue rows go. Call in the transaction that
 * creates the run, after taking the DAG's run-creation lock.
 */
export async function consumeAssetQueue(trx: Kysely<Database>, dagId: string, dagRunId: number, queued: readonly { asset_id: number; created_at: string }[]): Promise<number> {
  let linked = 0;
  for (const q of queued) {
    const events = await trx.selectFrom("asset_event").select("id").where("asset_id", "=", q.asset_id).where("timestamp", ">=", q.created_at).execute();
    for (const e of events) {
      await trx.insertInto("dagrun_asset_event").values({ dag_run_id: dagRunId, event_id: e.id }).onConflict((oc) => oc.doNothing()).execute();
      linked++;
    }
  }
  await trx.deleteFrom("asset_dag_run_queue").where("target_dag_id", "=", dagId).execute();
  return linked;
}

function eventQuery(db: Db) {
  return db
    .selectFrom("asset_event as e")
    .innerJoin("asset as a", "a.id", "e.asset_id")
    .select([
      "e.id",
      "e.asset_id",
      "a.uri",
      "a.name",
      "e.extra",
      "e.source_dag_id",
      "e.source_task_id",
      "e.source_run_id",
      "e.source_map_index",
      "e.timestamp",
    ]);
}

type EventRowText = Omit<AssetEvent, "extra"> & { extra: string };
const toEvent = (r: EventRowText): AssetEvent => ({ ...r, extra: parseJson(r.extra) });

/** The events an asset-triggered run was created for, oldest first. */
export async function listTriggeringAssetEvents(db: Db, dagRunId: number): Promise<AssetEvent[]> {
  const rows = await eventQuery(db)
    .innerJoin("dagrun_asset_event as l", "l.event_id", "e.id")
    .where("l.dag_run_id", "=", dagRunId)
    .orderBy("e.id")
    .execute();
  return rows.map(toEvent);
}

export async function listAssets(db: Db): Promise<AssetRow[]> {
  const rows = await db.selectFrom("asset").selectAll().orderBy("uri").orderBy("name").execute();
  return rows.map((r) => ({ ...r, extra: parseJson(r.extra) }));
}

/** The asset with this URI (or, failing that, this name). */
export async function getAsset(db: Db, uriOrName: string): Promise<AssetRow | undefined> {
  const r =
    (await db.selectFrom("asset").selectAll().where("uri", "=", uriOrName).orderBy("id").executeTakeFirst()) ??
    (await db.selectFrom("asset").selectAll().where("name", "=", uriOrName).orderBy("id").executeTakeFirst());
  return r ? { ...r, extra: parseJson(r.extra) } : undefined;
}

export async function listAssetEvents(db: Db, assetId: number, opts: { limit?: number } = {}): Promise<AssetEvent[]> {
  const rows = await eventQuery(db).where("e.asset_id", "=", assetId).orderBy("e.id", "desc").limit(opts.limit ?? 100).execute();
  return rows.map(toEvent);
}

/** The DAGs scheduled on the asset (its consumers) and the tasks that list it in outlets are not
 *  both stored; consumers are. */
export async function listAssetConsumers(db: Db, assetId: number): Promise<string[]> {
  const rows = await db.selectFrom("dag_schedule_asset_reference").select("dag_id").where("asset_id", "=", assetId).orderBy("dag_id").execute();
  return rows.map((r) => r.dag_id);
}

export async function getAssetById(db: Db, id: number): Promise<AssetRow | undefined> {
  const r = await db.selectFrom("asset").selectAll().where("id", "=", id).executeTakeFirst();
  return r ? { ...r, extra: parseJson(r.extra) } : undefined;
}

export interface AssetEventFilter {
  assetId?: number;
  sourceDagId?: string;
  sourceTaskId?: string;
  sourceRunId?: string;
  sourceMapIndex?: number;
}

/** A page of events of every asset (the REST listing), newest first, with the filter's total. */
export async function listAssetEventsPage(db: Db, f: AssetEventFilter, page: { limit: number; offset: number }): Promise<{ rows: AssetEvent[]; total: number }> {
  let q = eventQuery(db);
  if (f.assetId !== undefined) q = q.where("e.asset_id", "=", f.assetId);
  if (f.sourceDagId !== undefined) q = q.where("e.source_dag_id", "=", f.sourceDagId);
  if (f.sourceTaskId !== undefined) q = q.where("e.source_task_id", "=", f.sourceTaskId);
  if (f.sourceRunId !== undefined) q = q.where("e.source_run_id", "=", f.sourceRunId);
  if (f.sourceMapIndex !== undefined) q = q.where("e.source_map_index", "=", f.sourceMapIndex);
  const rows = await q.orderBy("e.id", "desc").limit(page.limit).offset(page.offset).execute();
  const total = await q.clearSelect().select((eb) => eb.fn.countAll<number>().as("n")).executeTakeFirstOrThrow();
  return { rows: rows.map(toEvent), total: Number(total.n) };
}

/** The latest event's id and timestamp of each asset that has one. */
export async function latestAssetEvents(db: Db): Promise<Map<number, { id: number; timestamp: string }>> {
  const rows = await db
    .selectFrom("asset_event as e")
    .select(["e.asset_id", "e.id", "e.timestamp"])
    .where("e.id", "in", (eb) => eb.selectFrom("asset_event").select((x) => x.fn.max("id").as("m")).groupBy("asset_id"))
    .execute();
  return new Map(rows.map((r) => [r.asset_id, { id: r.id, timestamp: r.timestamp }]));
}

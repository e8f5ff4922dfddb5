// Paged, filtered, ordered listings for the REST API (Airflow's list endpoints): each returns the
// page and total_entries. Filters arrive parsed and typed; *_pattern values are SQL LIKE patterns,
// matched case-insensitively on both dialects (Airflow uses ILIKE).
import { sql, type SelectQueryBuilder } from "kysely";
import type { Db } from "./open.ts";
import type { Database, DagRow, DagRunRow, ImportErrorRow, TaskInstanceRow } from "./schema.ts";

export interface Page {
  limit: number;
  offset: number;
}

export interface Order<C extends string> {
  column: C;
  desc: boolean;
}

export interface Range {
  gte?: string;
  gt?: string;
  lte?: string;
  lt?: string;
}

function ilike(column: string, pattern: string) {
  return sql<boolean>`lower(${sql.ref(column)}) like lower(${pattern})`;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- one helper over several tables
function applyRange<Q extends SelectQueryBuilder<Database, any, any>>(q: Q, column: string, r: Range | undefined): Q {
  if (!r) return q;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  let out: any = q;
  if (r.gte) out = out.where(column, ">=", r.gte);
  if (r.gt) out = out.where(column, ">", r.gt);
  if (r.lte) out = out.where(column, "<=", r.lte);
  if (r.lt) out = out.where(column, "<", r.lt);
  return out as Q;
}

async function count(q: SelectQueryBuilder<Database, keyof Database, object>): Promise<number> {
  const r = await q.clearSelect().clearOrderBy().select((eb) => eb.fn.countAll<number>().as("n")).executeTakeFirst();
  return Number((r as { n?: number } | undefined)?.n ?? 0);
}

export type DagOrderColumn = "dag_id" | "is_paused" | "next_dagrun" | "last_parsed_time" | "fileloc";

export interface DagFilter {
  dagIdPattern?: string;
  tags?: string[];
  owners?: string[];
  paused?: boolean;
  excludeStale?: boolean;
  dagIds?: string[];
}

/** The dag rows a filter selects (no columns chosen yet): the listing and the bulk pause share it. */
function filteredDags(db: Db, f: DagFilter) {
  let q = db.selectFrom("dag");
  if (f.excludeStale !== false) q = q.where("is_stale", "=", 0);
  if (f.dagIdPattern) q = q.where(ilike("dag_id", f.dagIdPattern));
  if (f.paused !== undefined) q = q.where("is_paused", "=", f.paused ? 1 : 0);
  if (f.dagIds?.length) q = q.where("dag_id", "in", f.dagIds);
  // Tags are a JSON array in one column: match the quoted name, which JSON.stringify always writes.
  if (f.tags?.length) q = q.where((eb) => eb.or(f.tags!.map((t) => eb("tags", "like", `%${JSON.stringify(t).replace(/[%_]/g, "")}%`))));
  if (f.owners?.length) q = q.where((eb) => eb.or(f.owners!.map((o) => eb("owners", "like", `%${o.replace(/[%_]/g, "")}%`))));
  return q;
}

export async function listDagsPage(db: Db, f: DagFilter, page: Page, order: Order<DagOrderColumn>[]): Promise<{ rows: DagRow[]; total: number }> {
  let q = filteredDags(db, f).selectAll();
  const total = await count(q as never);
  for (const o of order) q = q.orderBy(o.column, o.desc ? "desc" : "asc");
  const rows = await q.orderBy("dag_id").limit(page.limit).offset(page.offset).execute();
  return { rows, total };
}

/** Airflow's bulk PATCH /dags: pauses or unpauses every DAG the filter selects (not only one page). */
export async function setDagsPausedMatching(db: Db, f: DagFilter, paused: boolean): Promise<number> {
  const r = await db
    .updateTable("dag")
    .set({ is_paused: paused ? 1 : 0 })
    .where("dag_id", "in", filteredDags(db, f).select("dag_id"))
    .executeTakeFirst();
  return Number(r.numUpdatedRows);
}

export type DagRunOrderColumn = "id" | "run_id" | "dag_id" | "state" | "logical_date" | "run_after" | "start_date" | "end_date" | "queued_at" | "data_interval_start" | "data_interval_end";

export interface DagRunFilter {
  dagId?: string;
  states?: string[];
  runTypes?: string[];
  runIdPattern?: string;
  logicalDate?: Range;
  runAfter?: Range;
  startDate?: Range;
  endDate?: Range;
}

export async function listDagRunsPage(db: Db, f: DagRunFilter, page: Page, order: Order<DagRunOrderColumn>[]): Promise<{ rows: DagRunRow[]; total: number }> {
  let q = db.selectFrom("dag_run").selectAll();
  if (f.dagId) q = q.where("dag_id", "=", f.dagId);
  if (f.states?.length) q = q.where("state", "in", f.states);
  if (f.runTypes?.length) q = q.where("run_type", "in", f.runTypes);
  if (f.runIdPattern) q = q.where(ilike("run_id", f.runIdPattern));
  q = applyRange(q, "logical_date", f.logicalDate);
  q = applyRange(q, "run_after", f.runAfter);
  q = applyRange(q, "start_date", f.startDate);
  q = applyRange(q, "end_date", f.endDate);
  const total = await count(q as never);
  for (const o of order) q = q.orderBy(o.column, o.desc ? "desc" : "asc");
  const rows = await q.orderBy("id").limit(page.limit).offset(page.offset).execute();
  return { rows, total };
}

/** A task instance with the run fields its response carries. */
export type TaskInstanceWithRun = TaskInstanceRow & { logical_date: string | null; run_after: string; note?: string | null };

export type TaskInstanceOrderColumn = "ti.id" | "ti.task_id" | "ti.state" | "ti.start_date" | "ti.end_date" | "ti.duration" | "ti.try_number" | "ti.map_index" | "ti.priority_weight" | "ti.run_id" | "dr.logical_date" | "dr.run_after";

export interface TaskInstanceFilter {
  dagId?: string;
  runId?: string;
  taskId?: string;
  taskIdPattern?: string;
  states?: (string | null)[];
  pools?: string[];
  queues?: string[];
  logicalDate?: Range;
  startDate?: Range;
  endDate?: Range;
  durationGte?: number;
  durationLte?: number;
}

export async function listTaskInstancesPage(db: Db, f: TaskInstanceFilter, page: Page, order: Order<TaskInstanceOrderColumn>[]): Promise<{ rows: TaskInstanceWithRun[]; total: number }> {
  let q = db
    .selectFrom("task_instance as ti")
    .innerJoin("dag_run as dr", (j) => j.onRef("dr.dag_id", "=", "ti.dag_id").onRef("dr.run_id", "=", "ti.run_id"))
    .leftJoin("task_instance_note as tin", (j) =>
      j.onRef("tin.dag_id", "=", "ti.dag_id").onRef("tin.run_id", "=", "ti.run_id").onRef("tin.task_id", "=", "ti.task_id").onRef("tin.map_index", "=", "ti.map_index"),
    )
    .selectAll("ti")
    .select(["dr.logical_date", "dr.run_after", "tin.content as note"]);
  if (f.dagId) q = q.where("ti.dag_id", "=", f.dagId);
  if (f.runId) q = q.where("ti.run_id", "=", f.runId);
  if (f.taskId) q = q.where("ti.task_id", "=", f.taskId);
  if (f.taskIdPattern) q = q.where(ilike("ti.task_id", f.taskIdPattern));
  if (f.states?.length) {
    const named = f.states.filter((s): s is string => s !== null);
    const withNull = f.states.includes(null);
    q = q.where((eb) => eb.or([...(named.length ? [eb("ti.state", "in", named)] : []), ...(withNull ? [eb("ti.state", "is", null)] : [])]));
  }
  if (f.pools?.length) q = q.where("ti.pool", "in", f.pools);
  if (f.queues?.length) q = q.where("ti.queue", "in", f.queues);
  if (f.durationGte !== undefined) q = q.where("ti.duration", ">=", f.durationGte);
  if (f.durationLte !== undefined) q = q.where("ti.duration", "<=", f.durationLte);
  q = applyRange(q, "dr.logical_date", f.logicalDate);
  q = applyRange(q, "ti.start_date", f.startDate);
  q = applyRange(q, "ti.end_date", f.endDate);
  const total = await count(q as never);
  for (const o of order) q = q.orderBy(o.column, o.desc ? "desc" : "asc");
  const rows = await q.orderBy("ti.id").limit(page.limit).offset(page.offset).execute();
  return { rows: rows as TaskInstanceWithRun[], total };
}

export async function getTaskInstanceWithRun(db: Db, dagId: string, runId: string, taskId: string, mapIndex: number): Promise<TaskInstanceWithRun | undefined> {
  const r = await db
    .selectFrom("task_instance as ti")
    .innerJoin("dag_run as dr", (j) => j.onRef("dr.dag_id", "=", "ti.dag_id").onRef("dr.run_id", "=", "ti.run_id"))
    .leftJoin("task_instance_note as tin", (j) =>
      j.onRef("tin.dag_id", "=", "ti.dag_id").onRef("tin.run_id", "=", "ti.run_id").onRef("tin.task_id", "=", "ti.task_id").onRef("tin.map_index", "=", "ti.map_index"),
    )
    .selectAll("ti")
    .select(["dr.logical_date", "dr.run_after", "tin.content as note"])
    .where("ti.dag_id", "=", dagId)
    .where("ti.run_id", "=", runId)
    .where("ti.task_id", "=", taskId)
    .where("ti.map_index", "=", mapIndex)
    .executeTakeFirst();
  return r as TaskInstanceWithRun | undefined;
}

export async function listTaskInstanceTries(db: Db, tiId: number) {
  return db.selectFrom("task_instance_history").selectAll().where("task_instance_id", "=", tiId).orderBy("try_number").execute();
}

export async function listImportErrorsPage(db: Db, f: { filenamePattern?: string }, page: Page, order: Order<"id" | "timestamp" | "filename">[]): Promise<{ rows: ImportErrorRow[]; total: number }> {
  let q = db.selectFrom("import_error").selectAll();
  if (f.filenamePattern) q = q.where(ilike("filename", f.filenamePattern));
  const total = await count(q as never);
  for (const o of order) q = q.orderBy(o.column, o.desc ? "desc" : "asc");
  return { rows: await q.orderBy("id").limit(page.limit).offset(page.offset).execute(), total };
}

export async function getImportError(db: Db, id: number): Promise<ImportErrorRow | undefined> {
  return db.selectFrom("import_error").selectAll().where("id", "=", id).executeTakeFirst();
}

export interface XcomFilter {
  dagId?: string;
  runId?: string;
  taskId?: string;
  key?: string;
  mapIndex?: number;
}

export async function listXcomsPage(db: Db, f: XcomFilter, page: Page) {
  let q = db
    .selectFrom("xcom as x")
    .innerJoin("dag_run as dr", "dr.id", "x.dag_run_id")
    .select(["x.key", "x.timestamp", "x.map_index", "x.task_id", "x.dag_id", "x.run_id", "x.value", "dr.logical_date"]);
  if (f.dagId) q = q.where("x.dag_id", "=", f.dagId);
  if (f.runId) q = q.where("x.run_id", "=", f.runId);
  if (f.taskId) q = q.where("x.task_id", "=", f.taskId);
  if (f.key) q = q.where("x.key", "=", f.key);
  if (f.mapIndex !== undefined) q = q.where("x.map_index", "=", f.mapIndex);
  const total = await count(q as never);
  const rows = await q.orderBy("x.dag_run_id").orderBy("x.task_id").orderBy("x.map_index").orderBy("x.key").limit(page.limit).offset(page.offset).execute();
  return { rows, total };
}

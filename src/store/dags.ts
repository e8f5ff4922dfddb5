// All SQL for the dag, serialized_dag and import_error tables.
import { createHash } from "node:crypto";
import type { SerializedDag } from "../serialization/serialized-dag.ts";
import { recordDagAssets } from "./assets.ts";
import type { Db, Store } from "./open.ts";
import { nowIso, type DagRow, type ImportErrorRow, type SerializedDagRow } from "./schema.ts";

export interface ImportErrorInput {
  line: number | null;
  stacktrace: string;
  /** false: the error may heal without the file changing (retry on every pass). Default true. */
  cacheable?: boolean;
}

/** One file's processing outcome, written in one transaction. */
export interface FileResult {
  fileloc: string;
  relative_fileloc: string;
  fileHash: string;
  dags: SerializedDag[];
  errors: ImportErrorInput[];
  /** dag_id -> a sentence describing the schedule (dag.timetable_description). */
  timetableDescriptions?: Record<string, string | null>;
  /** is_paused of DAGs seen for the first time when they say nothing (is_paused_upon_creation). */
  pausedByDefault: boolean;
  now?: Date;
}

export function dagHash(data: string): string {
  return createHash("sha256").update(data).digest("hex");
}

/** The live (not stale) DAGs with their file and file hash, to skip files that did not change. */
export async function listDagFileHashes(db: Db): Promise<{ dag_id: string; fileloc: string; file_hash: string }[]> {
  return db
    .selectFrom("serialized_dag")
    .innerJoin("dag", "dag.dag_id", "serialized_dag.dag_id")
    .select(["serialized_dag.dag_id", "serialized_dag.fileloc", "serialized_dag.file_hash"])
    .where("dag.is_stale", "=", 0)
    .execute();
}

export async function listImportErrorFilenames(db: Db): Promise<string[]> {
  return (await db.selectFrom("import_error").select("filename").distinct().execute()).map((r) => r.filename);
}

/** Each file with import errors and the content hash they belong to (null when any of its errors
 *  must be retried on every pass). */
export async function listImportErrorFileHashes(db: Db): Promise<Map<string, string | null>> {
  const out = new Map<string, string | null>();
  for (const r of await db.selectFrom("import_error").select(["filename", "file_hash"]).execute()) {
    out.set(r.filename, out.has(r.filename) && out.get(r.filename) === null ? null : r.file_hash);
  }
  return out;
}

/** Writes a file's DAGs and import errors; DAGs the file defined before but not now become stale.
 *  Returns the dag_ids whose structure changed (new or different dag_hash). */
export async function recordFileResult(store: Store, r: FileResult, previousDagIds: readonly string[]): Promise<string[]> {
  const now = nowIso(r.now);
  const changed: string[] = [];
  await store.writeTransaction(async (trx) => {
    for (const d of r.dags) {
      if (await upsertSerializedDag(trx, d, r.fileHash, now)) {
        changed.push(d.dag_id);
        await recordDagAssets(trx, d);
      }
      await upsertDag(trx, d, {
        now,
        pausedByDefault: r.pausedByDefault,
        hasImportErrors: r.errors.length > 0,
        timetableDescription: r.timetableDescriptions?.[d.dag_id] ?? null,
      });
    }
    const gone = previousDagIds.filter((id) => !r.dags.some((d) => d.dag_id === id));
    if (gone.length) {
      await markDagsStale(trx, gone);
      changed.push(...gone);
    }
    await replaceImportErrors(trx, r.fileloc, r.errors, now, r.fileHash);
  });
  return changed;
}

/** Inserts or updates a serialized DAG; true when its structure (dag_hash) changed. */
export async function upsertSerializedDag(db: Db, d: SerializedDag, fileHash: string, now: string): Promise<boolean> {
  const data = JSON.stringify(d);
  const hash = dagHash(data);
  const old = await db.selectFrom("serialized_dag").select(["dag_hash", "file_hash"]).where("dag_id", "=", d.dag_id).executeTakeFirst();
  if (old?.dag_hash === hash && old.file_hash === fileHash) return false;
  await db
    .insertInto("serialized_dag")
    .values({ dag_id: d.dag_id, fileloc: d.fileloc, file_hash: fileHash, dag_hash: hash, data, created_at: now, last_updated: now })
    .onConflict((oc) =>
      oc.column("dag_id").doUpdateSet({ fileloc: d.fileloc, file_hash: fileHash, dag_hash: hash, data, last_updated: now }),
    )
    .execute();
  return old?.dag_hash !== hash;
}

export async function upsertDag(db: Db, d: SerializedDag, o: { now: string; pausedByDefault: boolean; hasImportErrors: boolean; timetableDescription?: string | null }): Promise<void> {
  const fields = {
    is_stale: 0,
    fileloc: d.fileloc,
    relative_fileloc: d.relative_fileloc,
    owners: d.owner,
    description: d.description,
    timetable_summary: d.timetable_summary,
    timetable_description: o.timetableDescription ?? null,
    tags: JSON.stringify(d.tags),
    max_active_runs: d.max_active_runs,
    max_active_tasks: d.max_active_tasks,
    has_import_errors: o.hasImportErrors ? 1 : 0,
    last_parsed_time: o.now,
  };
  await db
    .insertInto("dag")
    .values({ dag_id: d.dag_id, is_paused: (d.is_paused_upon_creation ?? o.pausedByDefault) ? 1 : 0, ...fields })
    .onConflict((oc) => oc.column("dag_id").doUpdateSet(fields))
    .execute();
}

export async function markDagsStale(db: Db, dagIds: readonly string[]): Promise<void> {
  if (dagIds.length) await db.updateTable("dag").set({ is_stale: 1 }).where("dag_id", "in", [...dagIds]).execute();
}

export async function replaceImportErrors(db: Db, filename: string, errors: readonly ImportErrorInput[], now: string, fileHash: string | null = null): Promise<void> {
  await db.deleteFrom("import_error").where("filename", "=", filename).execute();
  if (errors.length) {
    await db
      .insertInto("import_error")
      .values(errors.map((e) => ({ filename, line: e.line, stacktrace: e.stacktrace, timestamp: now, file_hash: e.cacheable === false ? null : fileHash })))
      .execute();
  }
}

/** A deleted DAG file: its DAGs become stale and its import errors go. */
export async function recordFileDeleted(store: Store, fileloc: string, dagIds: readonly string[]): Promise<void> {
  await store.writeTransaction(async (trx) => {
    await markDagsStale(trx, dagIds);
    await trx.updateTable("dag").set({ is_stale: 1 }).where("fileloc", "=", fileloc).execute();
    await trx.deleteFrom("import_error").where("filename", "=", fileloc).execute();
  });
}

export async function listDags(db: Db, opts: { includeStale?: boolean } = {}): Promise<DagRow[]> {
  let q = db.selectFrom("dag").selectAll().orderBy("dag_id");
  if (!opts.includeStale) q = q.where("is_stale", "=", 0);
  return q.execute();
}

export async function getDag(db: Db, dagId: string): Promise<DagRow | undefined> {
  return db.selectFrom("dag").selectAll().where("dag_id", "=", dagId).executeTakeFirst();
}

export async function getSerializedDagRow(db: Db, dagId: string): Promise<SerializedDagRow | undefined> {
  return db.selectFrom("serialized_dag").selectAll().where("dag_id", "=", dagId).executeTakeFirst();
}

export async function getSerializedDag(db: Db, dagId: string): Promise<SerializedDag | undefined> {
  const row = await getSerializedDagRow(db, dagId);
  return row ? (JSON.parse(row.data) as SerializedDag) : undefined;
}

export async function listImportErrors(db: Db): Promise<ImportErrorRow[]> {
  return db.selectFrom("import_error").selectAll().orderBy("filename").orderBy("id").execute();
}

/** DAGs the scheduler creates runs for: not paused, still defined by a file. */
export async function listSchedulableDagIds(db: Db): Promise<string[]> {
  return (await db.selectFrom("dag").select("dag_id").where("is_paused", "=", 0).where("is_stale", "=", 0).execute()).map((r) => r.dag_id);
}


/** The next run the timetable will create, as Airflow's dag.next_dagrun* fields show it. */
export async function recordNextDagRun(
  db: Db,
  dagId: string,
  next: { logicalDate: string; dataIntervalStart: string; dataIntervalEnd: string; runAfter: string } | null,
): Promise<void> {
  await db
    .updateTable("dag")
    .set({
      next_dagrun: next?.logicalDate ?? null,
      next_dagrun_data_interval_start: next?.dataIntervalStart ?? null,
      next_dagrun_data_interval_end: next?.dataIntervalEnd ?? null,
      next_dagrun_create_after: next?.runAfter ?? null,
    })
    .where("dag_id", "=", dagId)
    .execute();
}

/** The serialized DAG's hash alone: the scheduler's DAG bag checks it before re-reading the row. */
export async function getSerializedDagHash(db: Db, dagId: string): Promise<string | undefined> {
  return (await db.selectFrom("serialized_dag").select("dag_hash").where("dag_id", "=", dagId).executeTakeFirst())?.dag_hash;
}

// Read-only summaries the status page shows at a glance: the last few runs of many DAGs at once
// (the DAG list's coloured squares) and every task instance of a set of runs (the grid). One query
// each, so a page of 100 DAGs or a 25 x 30 grid costs two round trips, not hundreds.
import { sql } from "kysely";
import type { Db } from "./open.ts";
import type { DagRunRow, TaskInstanceRow } from "./schema.ts";

/** The newest `perDag` runs (by id) of each DAG named, newest first within a DAG. */
export async function listRecentRunsPerDag(db: Db, dagIds: readonly string[], perDag: number): Promise<DagRunRow[]> {
  if (dagIds.length === 0 || perDag <= 0) return [];
  const ranked = db
    .selectFrom("dag_run")
    .selectAll()
    .select(sql<number>`row_number() over (partition by dag_id order by id desc)`.as("rn"))
    .where("dag_id", "in", dagIds);
  const rows = await db.selectFrom(ranked.as("r")).selectAll().where("rn", "<=", perDag).orderBy("dag_id").orderBy("id", "desc").execute();
  return rows.map(({ rn: _rn, ...run }) => run as DagRunRow);
}

/** The newest `limit` runs of one DAG, oldest first (the grid's left-to-right order). */
export async function listLatestRuns(db: Db, dagId: string, limit: number): Promise<DagRunRow[]> {
  const rows = await db.selectFrom("dag_run").selectAll().where("dag_id", "=", dagId).orderBy("id", "desc").limit(limit).execute();
  return rows.reverse();
}

/** Every task instance of the given runs of one DAG. */
export async function listTaskInstancesOfRuns(db: Db, dagId: string, runIds: readonly string[]): Promise<TaskInstanceRow[]> {
  if (runIds.length === 0) return [];
  return db.selectFrom("task_instance").selectAll().where("dag_id", "=", dagId).where("run_id", "in", runIds).orderBy("id").execute();
}

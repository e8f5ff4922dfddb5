// Read-only summaries the status page shows at a glance: the last few runs of many DAGs at once
// (the DAG list's coloured squares) and every task instance of a set of runs (the grid). One query
// each, so a page of 100 DAGs or a 25 x 30 grid costs two round trips, not hundreds.
import { sql } from "kysely";
import type { Db } from "./open.ts";
import type { DagRunRow, TaskInstanceRow } from "./schema.ts";

export type RecentRun = Pick<DagRunRow, "dag_id" | "run_id" | "state">;

/** The newest `perDag` runs (by run_after, as Airflow's grid orders them) of each DAG named, newest
 *  first within a DAG. Only the columns a square shows: making the row objects is most of this
 *  statement's cost (100 DAGs x 10 runs, best of 10: 3.0 ms with seven columns, 1.7-2.2 ms with these three; with
 *  conf and dates too it was 8 ms). */
export async function listRecentRunsPerDag(db: Db, dagIds: readonly string[], perDag: number): Promise<RecentRun[]> {
  if (dagIds.length === 0 || perDag <= 0) return [];
  const ranked = db
    .selectFrom("dag_run")
    .select(["dag_id", "run_id", "state"])
    .select(sql<number>`row_number() over (partition by dag_id order by run_after desc, id desc)`.as("rn"))
    .where("dag_id", "in", dagIds);
  return db.selectFrom(ranked.as("r")).select(["dag_id", "run_id", "state"]).where("rn", "<=", perDag).orderBy("dag_id").orderBy("rn").execute();
}

/** The newest `limit` runs of one DAG by run_after, oldest first (the grid's left-to-right order). */
export async function listLatestRuns(db: Db, dagId: string, limit: number): Promise<DagRunRow[]> {
  const rows = await db.selectFrom("dag_run").selectAll().where("dag_id", "=", dagId).orderBy("run_after", "desc").orderBy("id", "desc").limit(limit).execute();
  return rows.reverse();
}

export type GridCell = Pick<TaskInstanceRow, "id" | "run_id" | "task_id" | "map_index" | "state" | "try_number">;

/** Every task instance of the given runs of one DAG, with the columns a grid cell shows (all
 *  columns made a 25 x 30 grid's query take twice as long). */
export async function listTaskInstancesOfRuns(db: Db, dagId: string, runIds: readonly string[]): Promise<GridCell[]> {
  if (runIds.length === 0) return [];
  return db
    .selectFrom("task_instance")
    .select(["id", "run_id", "task_id", "map_index", "state", "try_number"])
    .where("dag_id", "=", dagId)
    .where("run_id", "in", runIds)
    .orderBy("id")
    .execute();
}

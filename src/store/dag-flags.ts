// Small edits users make from the CLI: pausing a DAG, a run's note.
import type { Db } from "./open.ts";

export async function setDagPaused(db: Db, dagId: string, paused: boolean): Promise<void> {
  await db.updateTable("dag").set({ is_paused: paused ? 1 : 0 }).where("dag_id", "=", dagId).execute();
}

export async function isDagPaused(db: Db, dagId: string): Promise<boolean> {
  const row = await db.selectFrom("dag").select("is_paused").where("dag_id", "=", dagId).executeTakeFirst();
  return row?.is_paused === 1;
}

export async function setDagRunNote(db: Db, dagRunId: number, note: string | null): Promise<void> {
  await db.updateTable("dag_run").set({ note }).where("id", "=", dagRunId).execute();
}

// Small edits users make from the CLI: whether a DAG is paused (setDagPaused is in dags.ts), a run's note.
import type { Db } from "./open.ts";

export async function isDagPaused(db: Db, dagId: string): Promise<boolean> {
  const row = await db.selectFrom("dag").select("is_paused").where("dag_id", "=", dagId).executeTakeFirst();
  return row?.is_paused === 1;
}

export async function setDagRunNote(db: Db, dagRunId: number, note: string | null): Promise<void> {
  await db.updateTable("dag_run").set({ note }).where("id", "=", dagRunId).execute();
}

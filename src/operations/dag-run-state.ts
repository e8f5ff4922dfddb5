// Marking a whole DAG run (Airflow's set_dag_run_state_to_success / _failed / _queued), shared by
// the REST API and the CLI.
import type { Store } from "../store/index.ts";
import { notifyScheduler } from "../store/notify.ts";
import { setDagRunState } from "../store/run-edits.ts";
import type { DagRunRow, TaskInstanceRow } from "../store/schema.ts";
import { FINISHED_STATES, listTaskInstances, markTaskInstancesByUser } from "../store/task-instances.ts";

export type MarkableRunState = "queued" | "success" | "failed";

/** What marking a run changes (Airflow's set_dag_run_state_to_*): to success, every unfinished
 *  task instance succeeds; to failed, what runs fails and what has not started is skipped. */
export function plannedRunMarks(tis: readonly TaskInstanceRow[], state: MarkableRunState): { ti: TaskInstanceRow; to: "success" | "failed" | "skipped" }[] {
  if (state === "queued") return [];
  const unfinished = tis.filter((t) => t.state === null || !FINISHED_STATES.includes(t.state));
  if (state === "success") return unfinished.map((ti) => ({ ti, to: "success" as const }));
  return unfinished.map((ti) => ({ ti, to: ti.state === "running" ? ("failed" as const) : ("skipped" as const) }));
}

export async function markDagRun(store: Store, run: DagRunRow, state: MarkableRunState): Promise<void> {
  const tis = await listTaskInstances(store.db, run.dag_id, run.run_id);
  const planned = plannedRunMarks(tis, state);
  const reason = `run marked ${state} by a user`;
  await store.writeTransaction(async (trx) => {
    for (const to of ["success", "failed", "skipped"] as const) {
      const ids = planned.filter((p) => p.to === to).map((p) => p.ti.id);
      if (ids.length) await markTaskInstancesByUser(trx, ids, to, reason);
    }
    await setDagRunState(trx, run.id, state);
  });
  await notifyScheduler(store);
}

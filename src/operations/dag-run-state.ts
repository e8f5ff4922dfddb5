// Marking a whole DAG run (Airflow's set_dag_run_state_to_success / _failed / _queued), shared by
// the REST API and the CLI.
import type { Store } from "../store/index.ts";
import { notifyScheduler } from "../store/notify.ts";
import { setDagRunState } from "../store/run-edits.ts";
import type { DagRunRow } from "../store/schema.ts";
import { FINISHED_STATES, listTaskInstances, markTaskInstancesByUser } from "../store/task-instances.ts";

export type MarkableRunState = "queued" | "success" | "failed";

export async function markDagRun(store: Store, run: DagRunRow, state: MarkableRunState): Promise<void> {
  const tis = await listTaskInstances(store.db, run.dag_id, run.run_id);
  const unfinished = tis.filter((t) => t.state === null || !FINISHED_STATES.includes(t.state));
  await store.writeTransaction(async (trx) => {
    if (state === "success") {
      await markTaskInstancesByUser(trx, unfinished.map((t) => t.id), "success", "run marked success by a user");
    } else if (state === "failed") {
      // Airflow: what runs fails, what has not started is skipped.
      const running = unfinished.filter((t) => t.state === "running");
      const rest = unfinished.filter((t) => t.state !== "running");
      await markTaskInstancesByUser(trx, running.map((t) => t.id), "failed", "run marked failed by a user");
      await markTaskInstancesByUser(trx, rest.map((t) => t.id), "skipped", "run marked failed by a user");
    }
    await setDagRunState(trx, run.id, state);
  });
  await notifyScheduler(store);
}

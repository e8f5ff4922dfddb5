// What a TriggerDagRun task asks the scheduler to do (Airflow's TriggerDagRunOperator.execute):
// create a run of another DAG with the task's conf, or with reset_dag_run clear an existing one
// and queue it again. Validates as `orch dags trigger` does (unknown DAG, bad conf).
import { OrchError } from "../errors.ts";
import type { SerializedDag } from "../serialization/serialized-dag.ts";
import { getDagRun, getDagRunByLogicalDate, requeueDagRun } from "../store/dag-runs.ts";
import type { Store } from "../store/index.ts";
import { notifyScheduler } from "../store/notify.ts";
import { clearTaskInstances } from "../store/task-instances.ts";
import { toSchedulable } from "./dag-bag.ts";
import { triggerDagRun } from "./run-creation.ts";

export async function triggerFromTask(
  store: Store,
  r: { dagId: string; conf: Record<string, unknown>; logicalDate: string | null; runId: string | null; resetDagRun: boolean },
): Promise<{ runId: string; logicalDate: string | null }> {
  const row = await store.db.selectFrom("serialized_dag").selectAll().where("dag_id", "=", r.dagId).executeTakeFirst();
  if (!row) throw new OrchError("ORCH_NOT_FOUND", `trigger_dag_id "${r.dagId}" is not a DAG orch knows`, { dag_id: r.dagId });
  const d = toSchedulable(JSON.parse(row.data) as SerializedDag, row.dag_hash, row.fileloc);
  const logical = r.logicalDate ? new Date(r.logicalDate) : undefined;
  if (logical && Number.isNaN(logical.getTime())) throw new OrchError("ORCH_USAGE", `logical_date "${r.logicalDate}" is not a date`, { field: "logical_date" });
  const existing = r.runId ? await getDagRun(store.db, r.dagId, r.runId) : logical ? await getDagRunByLogicalDate(store.db, r.dagId, logical.toISOString()) : undefined;
  if (existing) {
    if (!r.resetDagRun) {
      throw new OrchError("ORCH_ALREADY_EXISTS", `DAG run ${existing.run_id} of ${r.dagId} already exists; set reset_dag_run: true to clear and re-run it`, { dag_id: r.dagId, run_id: existing.run_id });
    }
    const tis = await store.db.selectFrom("task_instance").select(["id", "task_id"]).where("dag_id", "=", r.dagId).where("run_id", "=", existing.run_id).execute();
    await store.writeTransaction(async (trx) => {
      await clearTaskInstances(trx, tis.map((t) => ({ id: t.id, retries: d.tasks.get(t.task_id)?.retries ?? 0 })));
      await requeueDagRun(trx, existing.id);
    });
    await notifyScheduler(store).catch(() => {});
    return { runId: existing.run_id, logicalDate: existing.logical_date };
  }
  const run = await triggerDagRun(store, d, { conf: r.conf, logicalDate: logical, runId: r.runId ?? undefined, triggeredBy: "operator" });
  await notifyScheduler(store).catch(() => {});
  return { runId: run.run_id, logicalDate: run.logical_date };
}

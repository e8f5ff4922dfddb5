// Asset-triggered runs (Airflow's SchedulerJobRunner._create_dag_runs_asset_triggered): a DAG with
// `schedule: [a, b]` (or AssetAll / AssetAny) gets a run once its queue of new asset events
// satisfies the condition; the run consumes the queue and sees the events in
// ctx.triggering_asset_events.
import type { AssetCondition, AssetRef } from "../sdk/timetable-spec.ts";
import { assetKey, consumeAssetQueue, listQueuedAssets } from "../store/assets.ts";
import { createDagRun, generateRunId } from "../store/dag-runs.ts";
import { refreshPlannerStatistics } from "../store/planner-statistics.ts";
import type { Store } from "../store/index.ts";
import { lockDags } from "../store/locks.ts";
import type { DagRunRow } from "../store/schema.ts";
import type { SchedulableDag } from "./dag-bag.ts";
import { taskSeeds } from "./run-creation.ts";

/** Whether the assets with new events satisfy the condition (Airflow's BaseAsset.evaluate). */
export function conditionHolds(c: AssetCondition, fresh: ReadonlySet<string>): boolean {
  switch (c.type) {
    case "asset":
      return fresh.has(assetKey(c.asset));
    case "all":
      return c.items.every((i) => conditionHolds(i, fresh));
    case "any":
      return c.items.some((i) => conditionHolds(i, fresh));
  }
}

/** What condition the DAG is scheduled on, or null for a DAG not scheduled on assets. */
export function assetCondition(d: SchedulableDag): AssetCondition | null {
  const t = d.dag.timetable;
  return t.type === "asset" ? t.condition : null;
}

/**
 * Creates the asset-triggered run when the DAG's queue satisfies its condition; null otherwise.
 * One transaction under the DAG's run-creation lock, so two schedulers never both consume the queue.
 */
export async function createAssetTriggeredRun(store: Store, d: SchedulableDag, now: Date): Promise<DagRunRow | null> {
  const cond = assetCondition(d);
  if (!cond) return null;
  const dagId = d.dag.dag_id;
  const created = await store.writeTransaction(async (trx) => {
    await lockDags(trx, store.dialect, "max_active_runs", [dagId]);
    const queued = await listQueuedAssets(trx, dagId);
    if (queued.length === 0) return null;
    if (!conditionHolds(cond, new Set(queued.map(assetKey)))) return null;
    const runAfter = now.toISOString();
    // Airflow's data_interval_for_events: from the oldest to the newest triggering event.
    const since = queued.map((q) => q.created_at).sort()[0];
    const run = await createDagRun(
      trx,
      {
        dag_id: dagId,
        run_id: generateRunId("asset_triggered", null, runAfter),
        run_type: "asset_triggered",
        logical_date: null,
        data_interval_start: since,
        data_interval_end: runAfter,
        run_after: runAfter,
        conf: {},
        triggered_by: "asset",
      },
      taskSeeds(d),
    );
    await consumeAssetQueue(trx, dagId, run.id, queued);
    return run;
  });
  if (created) await refreshPlannerStatistics(store, d.tasks.size);
  return created;
}


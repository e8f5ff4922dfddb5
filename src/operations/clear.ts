// Clearing task instances (Airflow's clear_task_instances) and marking them, shared by
// `orch tasks clear` and the REST API, so a command and its endpoint differ only in parsing and
// printing. A running task instance goes to `restarting`: its scheduler terminates the running try
// and discards its outcome (finishTry's guard), then it runs again as a new try.
import { allDownstream, type SchedulableDag } from "../scheduler/dag-bag.ts";
import { clearAlsoIncludes } from "../scheduler/setup-teardown.ts";
import { requeueDagRun } from "../store/dag-runs.ts";
import type { Store } from "../store/index.ts";
import { notifyScheduler } from "../store/notify.ts";
import { reopenFinishedRun } from "../store/run-edits.ts";
import type { DagRunRow, TaskInstanceRow } from "../store/schema.ts";
import { clearTaskInstances, markTaskInstancesByUser } from "../store/task-instances.ts";

export interface ClearSelection {
  /** Task ids to clear; all the DAG's tasks when omitted. */
  taskIds?: ReadonlySet<string>;
  includeDownstream?: boolean;
  includeUpstream?: boolean;
  onlyFailed?: boolean;
}

function allUpstream(d: SchedulableDag, taskId: string): Set<string> {
  const out = new Set<string>();
  const stack = [...(d.tasks.get(taskId)?.upstream_task_ids ?? [])];
  while (stack.length) {
    const id = stack.pop() as string;
    if (out.has(id)) continue;
    out.add(id);
    stack.push(...(d.tasks.get(id)?.upstream_task_ids ?? []));
  }
  return out;
}

/** The task ids a selection names, with upstream/downstream as asked. */
export function selectTaskIds(d: SchedulableDag, sel: ClearSelection): Set<string> {
  const matched = new Set(sel.taskIds ?? d.dag.tasks.map((t) => t.task_id));
  // A cleared work task reruns with its setups and teardowns (Airflow's partial_subset).
  const also = sel.taskIds ? clearAlsoIncludes(d, matched, sel) : new Set<string>();
  for (const id of [...matched]) {
    if (sel.includeDownstream) for (const x of allDownstream(d, id)) matched.add(x);
    if (sel.includeUpstream) for (const x of allUpstream(d, id)) matched.add(x);
  }
  for (const x of also) matched.add(x);
  return matched;
}

/** The task instances of `runs` a clear would reset. */
export function clearTargets(runsTis: readonly { run: DagRunRow; tis: readonly TaskInstanceRow[] }[], taskIds: ReadonlySet<string>, onlyFailed: boolean) {
  const out: { run: DagRunRow; ti: TaskInstanceRow }[] = [];
  for (const { run, tis } of runsTis) {
    for (const ti of tis) {
      if (!taskIds.has(ti.task_id) || ti.state === null) continue;
      if (onlyFailed && ti.state !== "failed" && ti.state !== "upstream_failed") continue;
      out.push({ run, ti });
    }
  }
  return out;
}

/** Resets the targets to none and puts their runs back to queued, in one transaction; wakes the scheduler. */
export async function applyClear(store: Store, d: SchedulableDag, targets: readonly { run: DagRunRow; ti: TaskInstanceRow }[], opts: { resetDagRuns?: boolean } = {}): Promise<number> {
  if (targets.length === 0) return 0;
  await store.writeTransaction(async (trx) => {
    await clearTaskInstances(trx, targets.map((t) => ({ id: t.ti.id, retries: d.tasks.get(t.ti.task_id)?.retries ?? 0 })));
    if (opts.resetDagRuns !== false) for (const id of new Set(targets.map((t) => t.run.id))) await requeueDagRun(trx, id);
  });
  await notifyScheduler(store);
  return targets.length;
}

/** The states a person may set a task instance to (Airflow's PatchTaskInstanceBody.new_state). */
export const SETTABLE_TI_STATES = ["success", "failed", "skipped"] as const;
export type SettableTiState = (typeof SETTABLE_TI_STATES)[number];

/** Marks task instances (Airflow's set_task_instance_state); their run is then evaluated again. */
export async function markTaskInstances(store: Store, tis: readonly TaskInstanceRow[], state: SettableTiState): Promise<number> {
  const ids = tis.filter((t) => t.state !== state).map((t) => t.id);
  const n = await store.writeTransaction((trx) => markTaskInstancesByUser(trx, ids, state, "set by a user"));
  for (const key of new Set(tis.map((t) => `${t.dag_id}\u0000${t.run_id}`))) {
    const [dagId, runId] = key.split("\u0000");
    await reopenFinishedRun(store.db, dagId, runId);
  }
  await notifyScheduler(store);
  return n;
}

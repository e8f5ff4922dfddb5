// How a DAG run's state follows from its task instances: Airflow's DagRun.update_state
// (airflow-core/src/airflow/models/dagrun.py). In order:
//   1. no unfinished task instance and any leaf failed/upstream_failed      -> failed ("task_failure")
//   2. no unfinished task instance and every leaf success/skipped           -> success
//   3. unfinished ones remain, none deferred, and none of them can run      -> failed ("all_tasks_deadlocked")
//   4. otherwise                                                            -> running
// Leaves are the tasks without downstream tasks; leaf task instances in state `removed` are left
// out (_tis_for_dagrun_state), so a run whose leaves were all removed succeeds once nothing is left.
// Note (1) and (2) need ALL task instances finished, not just the leaves: a failed leaf does not end
// the run while another branch still runs.

import { UNFINISHED_STATES } from "./types.ts";

export type DagRunState = "running" | "success" | "failed";

export interface DagRunStateInput {
  leafStates: readonly (string | null)[];
  allStates: readonly (string | null)[];
  /**
   * Whether some unfinished task instance can run now or soon (its deps pass, ignoring the retry
   * period), or some state changed in this pass (Airflow's are_runnable_tasks). When omitted it is
   * inferred for a caller that has just applied every trigger-rule verdict: a task instance still in
   * state none could not run, and any other unfinished state (scheduled, queued, running,
   * up_for_retry, ...) is on its way.
   */
  anyRunnable?: boolean;
}

export interface DagRunDecision {
  state: DagRunState;
  reason: "task_failure" | "success" | "all_tasks_deadlocked" | null;
}

const isUnfinished = (s: string | null): boolean => UNFINISHED_STATES.includes(s);
const isNone = (s: string | null): boolean => s === null || s === "none";

export function dagRunDecision({ leafStates, allStates, anyRunnable }: DagRunStateInput): DagRunDecision {
  const unfinished = allStates.filter(isUnfinished);
  const leaves = leafStates.filter((s) => s !== "removed");
  if (unfinished.length === 0 && leaves.some((s) => s === "failed" || s === "upstream_failed")) {
    return { state: "failed", reason: "task_failure" };
  }
  if (unfinished.length === 0 && leaves.every((s) => s === "success" || s === "skipped")) {
    return { state: "success", reason: "success" };
  }
  // _UnfinishedStates.should_schedule: a deferred task instance is waiting on its trigger, not stuck.
  const shouldSchedule = unfinished.length > 0 && !unfinished.includes("deferred");
  const runnable = anyRunnable ?? unfinished.some((s) => !isNone(s));
  if (shouldSchedule && !runnable) return { state: "failed", reason: "all_tasks_deadlocked" };
  return { state: "running", reason: null };
}

export function decideDagRunState(input: DagRunStateInput): DagRunState {
  return dagRunDecision(input).state;
}

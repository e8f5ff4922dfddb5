// The deps that decide one task instance beyond its direct trigger rule, combined as Airflow's
// are_dependencies_met does with flag_upstream_failed: the setup constraint (a relevant setup that
// failed or was skipped decides the task's state at once), the trigger rule (with setup counts for
// a teardown's all_done_setup_success), and PrevDagrunDep (depends_on_past). A state a dep decides
// is applied even if another dep fails, except a skip while wait_for_past_depends_before_skipping
// and the past depends are not met: then the task waits.
import type { SerializedTask } from "../serialization/serialized-dag.ts";
import type { SchedulableDag } from "./dag-bag.ts";
import { evaluateTriggerRule, type UpstreamStates } from "./deps/trigger-rule.ts";
import { setupConstraint } from "./deps/setup-constraint.ts";
import type { PastDepends } from "./past-depends.ts";

export interface TaskVerdict {
  passed: boolean;
  reason: string;
  newState?: "skipped" | "upstream_failed" | "removed";
}

const PAST_NOT_MET = "Task should be skipped but the past depends are not met";

/** Waits instead of skipping when the task asks to and its past depends are not met. */
export async function holdSkipForPast(task: SerializedTask, past: PastDepends): Promise<TaskVerdict | null> {
  if (!task.wait_for_past_depends_before_skipping) return null;
  const p = await past.check(task);
  return p.passed ? null : { passed: false, reason: `${PAST_NOT_MET}: ${p.reason}` };
}

export async function decideTask(
  d: SchedulableDag,
  task: SerializedTask,
  mapIndex: number,
  upstream: UpstreamStates,
  setups: readonly string[],
  /** The states of the instances of `taskId` this instance depends on: one for an unmapped
   *  task; in a mapped task group, a setup inside the group has its instance at the same index. */
  statesOf: (taskId: string) => (string | null)[],
  past: PastDepends,
): Promise<TaskVerdict> {
  const withPastHold = async (v: TaskVerdict): Promise<TaskVerdict> => (v.newState === "skipped" ? ((await holdSkipForPast(task, past)) ?? v) : v);

  const constraint = setups.length
    ? setupConstraint({ setups: setups.flatMap((taskId) => statesOf(taskId).map((state) => ({ taskId, state }))), directUpstream: new Set(task.upstream_task_ids) })
    : null;
  if (constraint?.newState) return withPastHold(constraint);

  let counts = upstream;
  if (task.trigger_rule === "all_done_setup_success") {
    const direct = task.upstream_task_ids.filter((u) => d.tasks.get(u)?.is_setup).flatMap(statesOf);
    counts = {
      ...upstream,
      setup_total: direct.length,
      success_setup: direct.filter((s) => s === "success").length,
      skipped_setup: direct.filter((s) => s === "skipped").length,
    };
  }
  const rule = evaluateTriggerRule({ rule: task.trigger_rule, upstream: counts, mapIndex });
  if (rule.newState) return withPastHold(rule);
  if (!rule.passed) return rule;
  if (constraint && !constraint.passed) return constraint;
  if (task.depends_on_past) {
    const p = await past.check(task);
    if (!p.passed) return p;
  }
  return rule;
}

// Airflow's NotPreviouslySkippedDep (ti_deps/deps/not_previously_skipped_dep.py): a branch or
// short-circuit task records which direct downstream tasks it follows or skips (the "skipmixin_key"
// XCom, {followed: [...]} or {skipped: [...]}); a downstream it did not follow is skipped whatever
// its trigger rule says.
//
// Airflow 3 does both: at run time the branch task's SkipMixin asks the API server to set the
// non-followed direct downstream task instances to skipped (DownstreamTasksSkipped), and this dep
// catches any that were not (e.g. a task instance created or cleared afterwards). orch's worker
// should do the former; the scheduler runs this dep before the trigger rule for the latter.

import type { DepStatus } from "./types.ts";

/** The decision a finished branch parent recorded; null if it recorded none. */
export interface BranchDecision {
  followed?: readonly string[];
  skipped?: readonly string[];
}

export interface NotPreviouslySkippedInput {
  taskId: string;
  /** Direct upstream tasks that are branch / short-circuit operators (inherit SkipMixin). */
  branchParents: readonly { taskId: string; finished: boolean; decision: BranchDecision | null }[];
}

export interface NotPreviouslySkippedStatus extends DepStatus {
  newState?: "skipped";
}

export function notPreviouslySkipped({ taskId, branchParents }: NotPreviouslySkippedInput): NotPreviouslySkippedStatus {
  const dep = "Not Previously Skipped";
  for (const parent of branchParents) {
    // A parent that has not run yet (or recorded nothing) has not decided anything.
    if (!parent.finished || parent.decision === null) continue;
    const { followed, skipped } = parent.decision;
    const shouldSkip = followed !== undefined ? !followed.includes(taskId) : skipped !== undefined && skipped.includes(taskId);
    if (shouldSkip) {
      return {
        dep,
        passed: false,
        reason: `Skipping because of previous XCom result from parent task ${parent.taskId}`,
        newState: "skipped",
      };
    }
  }
  return { dep, passed: true, reason: "No branching parent decided to skip this task." };
}

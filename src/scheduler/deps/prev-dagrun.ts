// Airflow's PrevDagrunDep (ti_deps/deps/prev_dagrun_dep.py): a task with depends_on_past runs only
// when its instance in the previous DAG run (by logical date) succeeded or was skipped; with
// wait_for_downstream, also the previous run's instances of its direct downstream tasks. The first
// run (no previous one) and the first run a backfill makes pass. "Unsuccessful" is Airflow's: any
// state but success and skipped, so an unfinished previous instance holds the task back too.
import type { DepStatus } from "./types.ts";

export interface PrevDagrunInput {
  taskId: string;
  dependsOnPast: boolean;
  waitForDownstream: boolean;
  ignoreFirstDependsOnPast: boolean;
  /** The run is the first of its backfill (sort_ordinal 1). */
  firstInBackfill: boolean;
  previousRun: { run_id: string } | null;
  /** The task's instance states in the previous run; empty when it has none there. */
  previousStates: readonly (string | null)[];
  /** Some earlier run has an instance of the task (consulted for ignore_first_depends_on_past only). */
  hasEarlierInstance: boolean;
  /** The previous run's instances of the task's direct downstream tasks (wait_for_downstream). */
  downstreamStates: readonly { taskId: string; state: string | null }[];
}

const SUCCESSFUL = new Set(["success", "skipped"]);
const DEP = "Previous Dagrun State";

export function prevDagrunDep(i: PrevDagrunInput): DepStatus {
  if (!i.dependsOnPast) return { dep: DEP, passed: true, reason: "The task did not have depends_on_past set." };
  if (i.firstInBackfill) return { dep: DEP, passed: true, reason: "Task instance is first run in a backfill." };
  if (!i.previousRun) return { dep: DEP, passed: true, reason: "This task instance was the first task instance for its task." };
  const prev = i.previousRun.run_id;
  if (i.previousStates.length === 0) {
    if (i.ignoreFirstDependsOnPast && !i.hasEarlierInstance) {
      return { dep: DEP, passed: true, reason: "ignore_first_depends_on_past is true for this task and it is the first task instance for its task." };
    }
    return { dep: DEP, passed: false, reason: `depends_on_past is true for this task's DAG, but the previous task instance has not run yet (run ${prev} has no instance of "${i.taskId}").` };
  }
  const bad = i.previousStates.filter((s) => s === null || !SUCCESSFUL.has(s));
  if (bad.length) {
    const states = [...new Set(bad.map((s) => s ?? "none"))].join(", ");
    return {
      dep: DEP,
      passed: false,
      reason: `depends_on_past is true for this task, but ${bad.length} previous task instance(s) are not in a successful state: the previous run's (${prev}) task "${i.taskId}" is ${states}.`,
    };
  }
  if (i.waitForDownstream) {
    const waiting = i.downstreamStates.filter((d) => d.state === null || !SUCCESSFUL.has(d.state));
    if (waiting.length) {
      return {
        dep: DEP,
        passed: false,
        reason: `The tasks downstream of the previous task instance(s) haven't completed, and wait_for_downstream is True: in run ${prev}, ${waiting
          .map((d) => `"${d.taskId}" is ${d.state ?? "none"}`)
          .join(", ")}.`,
      };
    }
  }
  return { dep: DEP, passed: true, reason: `The previous run's (${prev}) task instance(s) succeeded or were skipped.` };
}

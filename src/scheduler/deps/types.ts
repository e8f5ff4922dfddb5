// Glossary: a "dep" is one readiness check on a task instance (Airflow's ti_deps). It returns
// { dep, passed, reason } so the API and status page can say why a task waits; the scheduler runs
// a task instance only when every dep passes. Deps are pure: they see plain states, not the store.

import { FINISHED_STATES } from "../../store/task-instances.ts";
/** Airflow's TaskInstanceState, plus null for "none" (not yet scheduled). */
export type { TaskInstanceState } from "../../store/task-instances.ts";

export interface DepStatus {
  dep: string;
  passed: boolean;
  reason: string;
}

/** State.finished: the states a task instance does not leave by itself. */
export { FINISHED_STATES } from "../../store/task-instances.ts";

/** State.unfinished: None plus the states on the way to finishing. */
export const UNFINISHED_STATES: readonly (string | null)[] = [
  null, "none", "scheduled", "queued", "running", "restarting", "up_for_retry", "up_for_reschedule", "deferred",
];

export function isFinished(state: string | null): boolean {
  return state !== null && FINISHED_STATES.includes(state);
}

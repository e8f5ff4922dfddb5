// Task readiness deps (Airflow's ti_deps) and the DAG run's final state. Each check returns
// { dep, passed, reason }; the scheduler runs a task instance only when all pass.
export type { DepStatus, TaskInstanceState } from "./types.ts";
export { FINISHED_STATES, UNFINISHED_STATES, isFinished } from "./types.ts";
export { evaluateTriggerRule, countUpstreamStates, upstreamStatesFromCounts, TRIGGER_RULES } from "./trigger-rule.ts";
export type { TriggerRule, TriggerRuleInput, TriggerRuleStatus, UpstreamStates } from "./trigger-rule.ts";
export { notPreviouslySkipped } from "./not-previously-skipped.ts";
export type { BranchDecision, NotPreviouslySkippedInput, NotPreviouslySkippedStatus } from "./not-previously-skipped.ts";
export { notInRetryPeriod } from "./not-in-retry-period.ts";
export type { RetryPeriodInput } from "./not-in-retry-period.ts";
export { nextRetryAt, MAX_RETRY_DELAY_SECONDS, pythonDatetimeString } from "./retry-delay.ts";
export type { RetryDelayInput } from "./retry-delay.ts";
export { decideDagRunState, dagRunDecision } from "./dag-run-state.ts";
export type { DagRunDecision, DagRunState, DagRunStateInput } from "./dag-run-state.ts";

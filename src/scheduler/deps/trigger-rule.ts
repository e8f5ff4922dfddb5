// Airflow's TriggerRuleDep (airflow-core/src/airflow/ti_deps/deps/trigger_rule_dep.py,
// _evaluate_direct_relatives) with flag_upstream_failed=True, as the scheduler's _get_ready_tis
// uses it. Counts are over the task's DIRECT upstream task instances, each mapped instance counted
// as one. For a mapped instance (map_index >= 0) `removed` upstream instances, left by a shorter
// re-expansion, are not counted as non-successes, and under all_success an instance whose index is
// past the upstream's successes is itself removed. The setup constraint (indirect setups) is its own
// dep, ./setup-constraint.ts; the setup counts below serve all_done_setup_success.
//
// Two separate outputs, as in Airflow: `newState` is the state the task must be put in now (it can
// never run: skipped or upstream_failed), decided first and fail-fast; `passed` is whether the
// rule holds. A caller applies `newState` whenever present, even if `passed` is true (that happens
// for none_failed_min_one_success with every upstream skipped: Airflow sets skipped and the dep
// "passes", but the task is no longer in a schedulable state).

import type { DepStatus, TaskInstanceState } from "./types.ts";
import { isFinished } from "./types.ts";

// One list of rules, the SDK's: what a DAG may name is what the scheduler evaluates.
export { TRIGGER_RULES } from "../../sdk/trigger-rule.ts";
export type { TriggerRuleName as TriggerRule } from "../../sdk/trigger-rule.ts";
import type { TriggerRuleName as TriggerRule } from "../../sdk/trigger-rule.ts";

/** _UpstreamTIStates over the direct upstreams; `done` counts finished ones, `total` all of them. */
export interface UpstreamStates {
  total: number;
  success: number;
  skipped: number;
  failed: number;
  upstream_failed: number;
  removed: number;
  done: number;
  /** Of the direct upstreams, how many are setup tasks, and how many of those succeeded / were
   *  skipped (Airflow's upstream_setup, success_setup, skipped_setup); 0 when not counted. */
  setup_total?: number;
  success_setup?: number;
  skipped_setup?: number;
}

export interface TriggerRuleInput {
  rule: TriggerRule | (string & {});
  upstream: UpstreamStates;
  /** The task instance's map_index: -1 unmapped (the default), 0..n-1 a mapped instance. */
  mapIndex?: number;
}

export interface TriggerRuleStatus extends DepStatus {
  dep: "Trigger Rule";
  newState?: "skipped" | "upstream_failed" | "removed";
}

/** Counts direct upstream states (null = none) into UpstreamStates. */
export function countUpstreamStates(states: readonly (TaskInstanceState | string | null)[]): UpstreamStates {
  const c: UpstreamStates = { total: states.length, success: 0, skipped: 0, failed: 0, upstream_failed: 0, removed: 0, done: 0 };
  for (const s of states) {
    if (s === "success") c.success++;
    else if (s === "skipped") c.skipped++;
    else if (s === "failed") c.failed++;
    else if (s === "upstream_failed") c.upstream_failed++;
    else if (s === "removed") c.removed++;
    if (isFinished(s)) c.done++;
  }
  return c;
}

/** The same counts from an aggregate (state → how many upstream task instances are in it), for a
 *  task with many upstreams whose states are counted by the store rather than read one by one. */
export function upstreamStatesFromCounts(counts: readonly { state: TaskInstanceState | string | null; n: number }[]): UpstreamStates {
  const c: UpstreamStates = { total: 0, success: 0, skipped: 0, failed: 0, upstream_failed: 0, removed: 0, done: 0 };
  for (const { state: s, n } of counts) {
    c.total += n;
    if (s === "success") c.success += n;
    else if (s === "skipped") c.skipped += n;
    else if (s === "failed") c.failed += n;
    else if (s === "upstream_failed") c.upstream_failed += n;
    else if (s === "removed") c.removed += n;
    if (isFinished(s)) c.done += n;
  }
  return c;
}

/** The state Airflow sets before evaluating the rule (the `if dep_context.flag_upstream_failed` block). */
function decideNewState(rule: string, u: UpstreamStates, mapIndex: number): "skipped" | "upstream_failed" | "removed" | undefined {
  const { success, skipped, failed, upstream_failed, removed, done, total } = u;
  const upstreamDone = done >= total;
  switch (rule) {
    case "all_success":
      if (upstream_failed || failed) return "upstream_failed";
      if (skipped) return "skipped";
      if (removed && success && mapIndex > -1 && mapIndex >= success) return "removed";
      return undefined;
    case "all_failed":
      return success || skipped ? "skipped" : undefined;
    case "one_success":
      if (upstreamDone && done === skipped) return "skipped";
      if (upstreamDone && success <= 0) return "upstream_failed";
      return undefined;
    case "one_failed":
      return upstreamDone && !(failed || upstream_failed) ? "skipped" : undefined;
    case "one_done":
      return upstreamDone && !(failed || success) ? "skipped" : undefined;
    case "none_failed":
      return upstream_failed || failed ? "upstream_failed" : undefined;
    case "none_failed_min_one_success":
      if (upstream_failed || failed) return "upstream_failed";
      if (skipped === total) return "skipped";
      return undefined;
    case "none_skipped":
      return skipped ? "skipped" : undefined;
    case "all_skipped":
      return success || failed || upstream_failed ? "skipped" : undefined;
    case "all_done_min_one_success": {
      // Skipped upstreams do not count as "done" for this rule.
      const nonSkippedDone = success + failed + upstream_failed + removed;
      if (skipped > 0) return "skipped";
      if (nonSkippedDone >= total - skipped && success === 0) return "upstream_failed";
      return undefined;
    }
    case "all_done_setup_success": {
      const setups = u.setup_total ?? 0;
      // Every upstream setup skipped: skip; none succeeded (some failed): upstream_failed.
      if (upstreamDone && setups && (u.skipped_setup ?? 0) >= setups) return "skipped";
      if (upstreamDone && setups && (u.success_setup ?? 0) === 0) return "upstream_failed";
      return undefined;
    }
    default:
      return undefined;
  }
}

function statesText(u: UpstreamStates): string {
  return `upstream_states={success: ${u.success}, skipped: ${u.skipped}, failed: ${u.failed}, ` +
    `upstream_failed: ${u.upstream_failed}, removed: ${u.removed}, done: ${u.done}, total: ${u.total}}`;
}

/** null when the rule holds, else Airflow's failing reason. */
function failingReason(rule: string, u: UpstreamStates, mapIndex: number): string | null {
  const { success, skipped, failed, upstream_failed, removed, done, total } = u;
  // A mapped instance does not count removed upstream instances against its rule.
  const gone = mapIndex > -1 ? removed : 0;
  const tail = statesText(u);
  const r = `Task's trigger rule '${rule}'`;
  switch (rule) {
    case "one_success":
      return success <= 0 ? `${r} requires one upstream task success, but none were found. ${tail}` : null;
    case "one_failed":
      return !failed && !upstream_failed ? `${r} requires one upstream task failure, but none were found. ${tail}` : null;
    case "one_done":
      return success + failed <= 0
        ? `${r} requires at least one upstream task failure or success but none were failed or success. ${tail}` : null;
    case "all_success": {
      const n = total - success - gone;
      return n > 0 ? `${r} requires all upstream tasks to have succeeded, but found ${n} non-success(es). ${tail}` : null;
    }
    case "all_failed": {
      const n = total - failed - upstream_failed - gone;
      return n > 0 ? `${r} requires all upstream tasks to have failed, but found ${n} non-failure(s). ${tail}` : null;
    }
    case "all_done":
      return done < total
        ? `${r} requires all upstream tasks to have completed, but found ${total - done} task(s) that were not done. ${tail}` : null;
    case "none_failed":
    case "none_failed_min_one_success": {
      const n = total - success - skipped - gone;
      return n > 0
        ? `${r} requires all upstream tasks to have succeeded or been skipped, but found ${n} non-success(es). ${tail}` : null;
    }
    case "none_skipped":
      return done < total || skipped > 0
        ? `${r} requires all upstream tasks to not have been skipped, but found ${skipped} task(s) skipped. ${tail}` : null;
    case "all_skipped": {
      const n = total - skipped - gone;
      return n > 0 ? `${r} requires all upstream tasks to have been skipped, but found ${n} task(s) in non skipped state. ${tail}` : null;
    }
    case "all_done_min_one_success": {
      const nonSkippedDone = success + failed + upstream_failed + removed;
      const nonSkippedTotal = total - skipped;
      if (skipped > 0) return `${r} requires all non-skipped upstream tasks to have completed, but found ${skipped} skipped task(s). ${tail}`;
      if (nonSkippedDone < nonSkippedTotal) {
        return `${r} requires all non-skipped upstream tasks to have completed, but found ${nonSkippedTotal - nonSkippedDone} task(s) that were not done. ${tail}`;
      }
      if (success === 0) {
        return `${r} requires all non-skipped upstream tasks to have completed and at least one upstream task has succeeded, but found ${success} successful task(s). ${tail}`;
      }
      return null;
    }
    case "all_done_setup_success": {
      const setups = u.setup_total ?? 0;
      const ok = u.success_setup ?? 0;
      if (done < total) return `${r} requires all upstream tasks to have completed, but found ${total - done} task(s) that were not done. ${tail}`;
      if (setups && !ok) return `${r} requires at least one upstream setup task be successful, but found ${setups - ok} task(s) that were not. ${tail}`;
      return null;
    }
    default:
      return `No strategy to evaluate trigger rule '${rule}'.`;
  }
}

export function evaluateTriggerRule({ rule, upstream, mapIndex = -1 }: TriggerRuleInput): TriggerRuleStatus {
  // TriggerRuleDep._get_dep_statuses: these two pass before any counting.
  if (upstream.total === 0) return { dep: "Trigger Rule", passed: true, reason: "The task instance did not have any upstream tasks." };
  if (rule === "always") return { dep: "Trigger Rule", passed: true, reason: "The task had a always trigger rule set." };
  const newState = decideNewState(rule, upstream, mapIndex);
  const failing = failingReason(rule, upstream, mapIndex);
  const status: TriggerRuleStatus = {
    dep: "Trigger Rule",
    passed: failing === null,
    reason: failing ?? `Task's trigger rule '${rule}' was met. ${statesText(upstream)}`,
  };
  if (newState) status.newState = newState;
  return status;
}

// Airflow 3's trigger rules (airflow/task/trigger_rule.py), as a const object and a union type.

export const TRIGGER_RULES = [
  "all_success",
  "all_failed",
  "all_done",
  "all_done_min_one_success",
  "one_success",
  "one_failed",
  "one_done",
  "none_failed",
  "none_skipped",
  "always",
  "none_failed_min_one_success",
  "all_skipped",
  "all_done_setup_success",
] as const;

export type TriggerRuleName = (typeof TRIGGER_RULES)[number];

/** `TriggerRule.ALL_DONE` etc., as Airflow spells them. */
export const TriggerRule = {
  ALL_SUCCESS: "all_success",
  ALL_FAILED: "all_failed",
  ALL_DONE: "all_done",
  ALL_DONE_MIN_ONE_SUCCESS: "all_done_min_one_success",
  ONE_SUCCESS: "one_success",
  ONE_FAILED: "one_failed",
  ONE_DONE: "one_done",
  NONE_FAILED: "none_failed",
  NONE_SKIPPED: "none_skipped",
  ALWAYS: "always",
  NONE_FAILED_MIN_ONE_SUCCESS: "none_failed_min_one_success",
  ALL_SKIPPED: "all_skipped",
  /** A teardown's rule: all upstream done, and at least one upstream setup succeeded (if any). */
  ALL_DONE_SETUP_SUCCESS: "all_done_setup_success",
} as const satisfies Record<string, TriggerRuleName>;

export function isTriggerRule(v: unknown): v is TriggerRuleName {
  return typeof v === "string" && (TRIGGER_RULES as readonly string[]).includes(v);
}

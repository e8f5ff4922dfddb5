// The setup constraint of Airflow's TriggerRuleDep (_evaluate_setup_constraint): a work task runs
// only once every relevant setup upstream of it succeeded, even a setup that is not its direct
// upstream (direct ones are the trigger rule's business). A failed or upstream_failed setup makes
// the task upstream_failed at once, a skipped one skipped, without waiting for the other setups;
// that decision then cascades down the work as any other.
import type { DepStatus } from "./types.ts";

export interface SetupConstraintInput {
  /** The task's relevant setups (src/scheduler/setup-teardown.ts relevantSetups) and their states. */
  setups: readonly { taskId: string; state: string | null }[];
  /** The task's direct upstream ids: those setups are counted by the trigger rule instead. */
  directUpstream: ReadonlySet<string>;
}

export interface SetupConstraintStatus extends DepStatus {
  newState?: "skipped" | "upstream_failed";
}

export function setupConstraint({ setups, directUpstream }: SetupConstraintInput): SetupConstraintStatus {
  const dep = "Trigger Rule";
  const indirect = setups.filter((s) => !directUpstream.has(s.taskId));
  if (indirect.length === 0) return { dep, passed: true, reason: "The task has no indirect setup tasks." };
  const count = (st: string) => indirect.filter((s) => s.state === st).length;
  const success = count("success");
  const failed = count("failed");
  const upstreamFailed = count("upstream_failed");
  const skipped = count("skipped");
  const text = `Relevant setups: ${indirect.map((s) => s.taskId).join(", ")}: upstream_states={success: ${success}, skipped: ${skipped}, failed: ${failed}, upstream_failed: ${upstreamFailed}, total: ${indirect.length}}`;
  if (failed || upstreamFailed) {
    return { dep, passed: false, newState: "upstream_failed", reason: `A setup task this task depends on did not succeed. ${text}` };
  }
  if (skipped) return { dep, passed: false, newState: "skipped", reason: `A setup task this task depends on was skipped. ${text}` };
  if (success < indirect.length) return { dep, passed: false, reason: `All setup tasks must complete successfully. ${text}` };
  return { dep, passed: true, reason: `Every setup task this task depends on succeeded. ${text}` };
}

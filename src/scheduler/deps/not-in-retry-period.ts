// Airflow's NotInRetryPeriodDep (ti_deps/deps/not_in_retry_period_dep.py): an up_for_retry task
// instance waits until its next retry time has passed (TaskInstance.ready_for_retry is strict:
// next_retry_datetime < now).

import type { DepStatus } from "./types.ts";
import { pythonDatetimeString } from "./retry-delay.ts";

export interface RetryPeriodInput {
  state: string | null;
  /** From nextRetryAt(), computed when the try failed. */
  nextRetryAt: Date | null;
  now: Date;
}

export function notInRetryPeriod({ state, nextRetryAt, now }: RetryPeriodInput): DepStatus {
  const dep = "Not In Retry Period";
  if (state !== "up_for_retry") return { dep, passed: true, reason: "The task instance was not marked for retrying." };
  if (nextRetryAt !== null && nextRetryAt.getTime() >= now.getTime()) {
    return {
      dep,
      passed: false,
      reason: "Task is not ready for retry yet but will be retried automatically. " +
        `Current date is ${pythonDatetimeString(now, "T")} and task will be retried at ${pythonDatetimeString(nextRetryAt, "T")}.`,
    };
  }
  return { dep, passed: true, reason: "The task instance's retry period has passed." };
}

// When a failed try may run again: Airflow's TaskInstance.next_retry_datetime
// (airflow-core/src/airflow/models/taskinstance.py). Exponential backoff doubles retry_delay per
// try and adds a jitter that is deterministic per (dag_id, task_id, logical_date, try_number), so
// many tasks failing together do not retry in lockstep, yet a given try always gets the same time.

import { createHash } from "node:crypto";

/** airflow.sdk.definitions._internal.abstractoperator.MAX_RETRY_DELAY: 24 hours, in seconds. */
export const MAX_RETRY_DELAY_SECONDS = 24 * 60 * 60;

export interface RetryDelayInput {
  /** The try that just failed (TaskInstance.try_number, 1 for the first try). */
  tryNumber: number;
  retryDelaySeconds: number;
  /** true = doubling (Airflow 3.0/3.1); a number = that multiplier (newer Airflow); false, 0 or 1 = none. */
  retryExponentialBackoff: boolean | number;
  maxRetryDelaySeconds?: number | null;
  /** When the failed try ended. */
  endDate: Date;
  /**
   * The task instance, for the jitter. The structured form hashes Airflow's exact text
   * ("dag#task#logical_date#try"); a string is hashed as given (still deterministic per try).
   */
  taskKey: { dagId: string; taskId: string; logicalDate: Date | null } | string;
}

/** Python's str() of an aware UTC datetime: "2024-01-01 00:00:00+00:00" (microseconds only if any). */
export function pythonDatetimeString(d: Date, sep: " " | "T" = " "): string {
  const base = d.toISOString().slice(0, 19).replace("T", sep);
  const ms = d.getUTCMilliseconds();
  return `${base}${ms ? `.${String(ms * 1000).padStart(6, "0")}` : ""}+00:00`;
}

function multiplierOf(backoff: boolean | number): number {
  if (backoff === true) return 2;
  if (backoff === false || backoff === 0) return 1;
  return backoff;
}

/** The jittered delay in seconds before capping by max_retry_delay. */
function backoffSeconds(input: RetryDelayInput, multiplier: number): number {
  let minBackoff = Math.ceil(input.retryDelaySeconds * multiplier ** (input.tryNumber - 1));
  // Python raises OverflowError past float range and Airflow then uses MAX_RETRY_DELAY.
  if (!Number.isFinite(minBackoff)) minBackoff = MAX_RETRY_DELAY_SECONDS;
  // A zero delay would make the modulo below divide by zero; Airflow bounds it at 1 second.
  if (minBackoff < 1) minBackoff = 1;
  const key = input.taskKey;
  const text = typeof key === "string"
    ? key
    : `${key.dagId}#${key.taskId}#${key.logicalDate ? pythonDatetimeString(key.logicalDate) : "None"}#${input.tryNumber}`;
  const digest = createHash("sha1").update(text, "utf8").digest("hex");
  const jitter = Number(BigInt(`0x${digest}`) % BigInt(minBackoff));
  return Math.min(minBackoff + jitter, MAX_RETRY_DELAY_SECONDS);
}

export function nextRetryAt(input: RetryDelayInput): Date {
  let delaySeconds = input.retryDelaySeconds;
  const multiplier = multiplierOf(input.retryExponentialBackoff);
  if (multiplier !== 1 && multiplier > 0) {
    delaySeconds = backoffSeconds(input, multiplier);
    if (input.maxRetryDelaySeconds) delaySeconds = Math.min(input.maxRetryDelaySeconds, delaySeconds);
  }
  return new Date(input.endDate.getTime() + delaySeconds * 1000);
}

// Retry timing, branch skips and the run's final state, as case tables. Expected retry times were
// computed with Airflow's formula in Python (sha1 of "dag#task#logical_date#try", modulo min_backoff).
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  dagRunDecision, decideDagRunState, nextRetryAt, notInRetryPeriod, notPreviouslySkipped,
} from "../../../src/scheduler/deps/index.ts";
import type { DagRunStateInput, RetryDelayInput } from "../../../src/scheduler/deps/index.ts";

const end = new Date("2024-05-01T10:00:00Z");
const key = (logical: string | null) => ({ dagId: "dag", taskId: "task", logicalDate: logical ? new Date(logical) : null });

describe("nextRetryAt (TaskInstance.next_retry_datetime)", () => {
  const rows: { name: string; input: Omit<RetryDelayInput, "endDate">; delaySeconds: number }[] = [
    { name: "fixed delay", input: { tryNumber: 3, retryDelaySeconds: 300, retryExponentialBackoff: false, taskKey: key(null) }, delaySeconds: 300 },
    { name: "fixed delay ignores max_retry_delay", input: { tryNumber: 1, retryDelaySeconds: 300, retryExponentialBackoff: false, maxRetryDelaySeconds: 10, taskKey: key(null) }, delaySeconds: 300 },
    { name: "backoff, first try", input: { tryNumber: 1, retryDelaySeconds: 300, retryExponentialBackoff: true, taskKey: key("2024-01-01T00:00:00Z") }, delaySeconds: 455 },
    { name: "backoff, third try", input: { tryNumber: 3, retryDelaySeconds: 300, retryExponentialBackoff: true, taskKey: key("2024-01-01T00:00:00Z") }, delaySeconds: 1496 },
    { name: "backoff without logical date hashes 'None'", input: { tryNumber: 2, retryDelaySeconds: 60, retryExponentialBackoff: true, taskKey: { dagId: "etl", taskId: "load", logicalDate: null } }, delaySeconds: 199 },
    { name: "backoff capped at 24h", input: { tryNumber: 10, retryDelaySeconds: 600, retryExponentialBackoff: true, taskKey: { dagId: "etl", taskId: "load", logicalDate: new Date("2024-03-10T12:30:00.123Z") } }, delaySeconds: 86400 },
    { name: "backoff capped by max_retry_delay", input: { tryNumber: 3, retryDelaySeconds: 300, retryExponentialBackoff: true, maxRetryDelaySeconds: 1000, taskKey: key("2024-01-01T00:00:00Z") }, delaySeconds: 1000 },
    { name: "backoff over a zero delay waits 1 second", input: { tryNumber: 1, retryDelaySeconds: 0, retryExponentialBackoff: true, taskKey: key(null) }, delaySeconds: 1 },
    { name: "multiplier 1 is no backoff", input: { tryNumber: 4, retryDelaySeconds: 30, retryExponentialBackoff: 1, taskKey: key(null) }, delaySeconds: 30 },
    { name: "huge try number does not overflow", input: { tryNumber: 5000, retryDelaySeconds: 300, retryExponentialBackoff: true, taskKey: key(null) }, delaySeconds: 86400 },
  ];
  for (const r of rows) {
    it(r.name, () => {
      assert.equal((nextRetryAt({ ...r.input, endDate: end }).getTime() - end.getTime()) / 1000, r.delaySeconds);
    });
  }
  it("a string key is deterministic", () => {
    const a = nextRetryAt({ tryNumber: 2, retryDelaySeconds: 60, retryExponentialBackoff: true, endDate: end, taskKey: "k" });
    const b = nextRetryAt({ tryNumber: 2, retryDelaySeconds: 60, retryExponentialBackoff: true, endDate: end, taskKey: "k" });
    assert.equal(a.getTime(), b.getTime());
    assert.ok(a.getTime() - end.getTime() >= 120_000 && a.getTime() - end.getTime() < 240_000, "expected a.getTime() - end.getTime() >= 120_000 && a.getTime() - end.getTime() < 240_000");
  });
});

describe("notInRetryPeriod", () => {
  const now = new Date("2024-05-01T10:00:00Z");
  const rows: { state: string | null; at: string | null; passed: boolean }[] = [
    { state: "up_for_retry", at: "2024-05-01T10:05:00Z", passed: false },
    { state: "up_for_retry", at: "2024-05-01T10:00:00Z", passed: false }, // ready_for_retry is strict
    { state: "up_for_retry", at: "2024-05-01T09:59:59Z", passed: true },
    { state: null, at: "2024-05-01T10:05:00Z", passed: true },
    { state: "scheduled", at: null, passed: true },
  ];
  for (const r of rows) {
    it(`${r.state ?? "none"} retrying at ${r.at} -> ${r.passed}`, () => {
      const s = notInRetryPeriod({ state: r.state, nextRetryAt: r.at ? new Date(r.at) : null, now });
      assert.equal(s.passed, r.passed);
      assert.equal(s.dep, "Not In Retry Period");
    });
  }
  it("says when the retry will happen", () => {
    const s = notInRetryPeriod({ state: "up_for_retry", nextRetryAt: new Date("2024-05-01T10:05:00Z"), now });
    assert.equal(s.reason, "Task is not ready for retry yet but will be retried automatically. Current date is 2024-05-01T10:00:00+00:00 and task will be retried at 2024-05-01T10:05:00+00:00.");
  });
});

describe("notPreviouslySkipped (branch decisions)", () => {
  const rows: { name: string; finished: boolean; decision: { followed?: string[]; skipped?: string[] } | null; skip: boolean }[] = [
    { name: "not followed by the branch", finished: true, decision: { followed: ["a"] }, skip: true },
    { name: "followed by the branch", finished: true, decision: { followed: ["a", "me"] }, skip: false },
    { name: "listed as skipped (short-circuit)", finished: true, decision: { skipped: ["me"] }, skip: true },
    { name: "not listed as skipped", finished: true, decision: { skipped: ["b"] }, skip: false },
    { name: "branch has not run", finished: false, decision: { followed: ["a"] }, skip: false },
    { name: "branch recorded nothing", finished: true, decision: null, skip: false },
  ];
  for (const r of rows) {
    it(r.name, () => {
      const s = notPreviouslySkipped({ taskId: "me", branchParents: [{ taskId: "branch", finished: r.finished, decision: r.decision }] });
      assert.equal(s.passed, !r.skip);
      assert.equal(s.newState, r.skip ? "skipped" : undefined);
      if (r.skip) assert.match(s.reason, /parent task branch/);
    });
  }
});

describe("decideDagRunState (DagRun.update_state)", () => {
  const rows: { name: string; input: DagRunStateInput; want: string; reason: string | null }[] = [
    { name: "all leaves succeeded", input: { leafStates: ["success"], allStates: ["success", "success"] }, want: "success", reason: "success" },
    { name: "leaves success or skipped", input: { leafStates: ["success", "skipped"], allStates: ["success", "skipped", "success"] }, want: "success", reason: "success" },
    { name: "a failed leaf, all finished", input: { leafStates: ["failed", "success"], allStates: ["success", "failed", "success"] }, want: "failed", reason: "task_failure" },
    { name: "an upstream_failed leaf", input: { leafStates: ["upstream_failed"], allStates: ["failed", "upstream_failed"] }, want: "failed", reason: "task_failure" },
    { name: "a failed leaf while another branch runs", input: { leafStates: ["failed", "running"], allStates: ["failed", "running"] }, want: "running", reason: null },
    { name: "a failed non-leaf under a successful all_done leaf", input: { leafStates: ["success"], allStates: ["failed", "success"] }, want: "success", reason: "success" },
    { name: "still running", input: { leafStates: [null], allStates: ["running", null] }, want: "running", reason: null },
    { name: "waiting on a retry", input: { leafStates: ["up_for_retry"], allStates: ["success", "up_for_retry"] }, want: "running", reason: null },
    { name: "deadlock: only tasks that cannot run", input: { leafStates: [null], allStates: ["success", "removed", null] }, want: "failed", reason: "all_tasks_deadlocked" },
    { name: "no deadlock when the caller says something can run", input: { leafStates: [null], allStates: ["success", null], anyRunnable: true }, want: "running", reason: null },
    { name: "no deadlock while a task is deferred", input: { leafStates: [null], allStates: ["deferred", null], anyRunnable: false }, want: "running", reason: null },
    { name: "removed leaves are ignored", input: { leafStates: ["removed", "success"], allStates: ["removed", "success"] }, want: "success", reason: "success" },
    { name: "a run with no tasks succeeds", input: { leafStates: [], allStates: [] }, want: "success", reason: "success" },
  ];
  for (const r of rows) {
    it(r.name, () => {
      assert.equal(decideDagRunState(r.input), r.want);
      assert.equal(dagRunDecision(r.input).reason, r.reason);
    });
  }
});

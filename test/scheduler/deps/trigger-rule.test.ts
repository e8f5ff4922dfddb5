// Trigger rules over direct upstream states. Each row's expectation is read off
// trigger_rule_dep.py's _evaluate_direct_relatives with flag_upstream_failed=True: `newState` from
// the "if dep_context.flag_upstream_failed" block, `passed` from the failing-status block below it.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { countUpstreamStates, evaluateTriggerRule, TRIGGER_RULES } from "../../../src/scheduler/deps/index.ts";

const S = "success", F = "failed", K = "skipped", U = "upstream_failed", R = "running", N = null;
type Row = [rule: string, upstream: (string | null)[], passed: boolean, newState?: "skipped" | "upstream_failed"];

const rows: Row[] = [
  ["all_success", [S, S, S], true],
  ["all_success", [S, S, N], false],
  ["all_success", [S, F, N], false, "upstream_failed"], // fail-fast: a failed upstream, others unfinished
  ["all_success", [S, U, S], false, "upstream_failed"],
  ["all_success", [S, K, R], false, "skipped"], // skip propagates
  ["all_success", [F, K], false, "upstream_failed"], // failure is checked before skip
  ["all_failed", [F, U], true],
  ["all_failed", [F, N], false],
  ["all_failed", [F, S], false, "skipped"],
  ["all_failed", [F, K], false, "skipped"],
  ["all_done", [S, F, K, U], true],
  ["all_done", [S, N], false],
  ["all_done", [F, R], false],
  ["all_done_min_one_success", [S, F], true],
  ["all_done_min_one_success", [S, U], true],
  ["all_done_min_one_success", [F, U], false, "upstream_failed"],
  ["all_done_min_one_success", [S, K], false, "skipped"], // skipped upstreams are not "done" for this rule
  ["all_done_min_one_success", [S, N], false],
  ["all_done_min_one_success", [F, N], false],
  ["all_skipped", [K, K], true],
  ["all_skipped", [K, N], false],
  ["all_skipped", [K, S], false, "skipped"],
  ["all_skipped", [K, F], false, "skipped"],
  ["all_skipped", [K, U], false, "skipped"],
  ["one_success", [S, N], true], // fires as soon as one succeeded
  ["one_success", [S, F], true],
  ["one_success", [F, N], false],
  ["one_success", [F, U], false, "upstream_failed"],
  ["one_success", [K, K], false, "skipped"],
  ["one_success", [K, F], false, "upstream_failed"],
  ["one_failed", [F, N], true], // fires as soon as one failed, others still running
  ["one_failed", [U, R], true],
  ["one_failed", [S, N], false],
  ["one_failed", [S, K], false, "skipped"],
  ["one_done", [S, N], true],
  ["one_done", [F, R], true],
  ["one_done", [K, N], false],
  ["one_done", [K, U], false, "skipped"], // upstream_failed is neither success nor failed here
  ["none_failed", [S, K], true],
  ["none_failed", [K, K], true],
  ["none_failed", [S, N], false],
  ["none_failed", [S, F], false, "upstream_failed"],
  ["none_failed", [K, U], false, "upstream_failed"],
  ["none_failed_min_one_success", [S, K], true],
  ["none_failed_min_one_success", [K, K], true, "skipped"], // Airflow sets skipped although the count check passes
  ["none_failed_min_one_success", [K, N], false],
  ["none_failed_min_one_success", [S, F], false, "upstream_failed"],
  ["none_skipped", [S, F], true],
  ["none_skipped", [S, U], true],
  ["none_skipped", [S, N], false],
  ["none_skipped", [K, N], false, "skipped"],
  ["always", [F, N], true],
  ["always", [U, K], true],
  // Without upstream setups a teardown's rule is all_done (setup counts: setup-teardown-past.test.ts).
  ["all_done_setup_success", [S, F], true],
  ["all_done_setup_success", [F, N], false],
  ["all_success", [], true], // no upstream tasks
  ["one_failed", [], true],
];

describe("evaluateTriggerRule", () => {
  for (const [rule, upstream, passed, newState] of rows) {
    it(`${rule} over [${upstream.map((s) => s ?? "none").join(", ")}] -> ${passed ? "passes" : "waits"}${newState ? `, ${newState}` : ""}`, () => {
      const status = evaluateTriggerRule({ rule, upstream: countUpstreamStates(upstream) });
      assert.equal(status.dep, "Trigger Rule");
      assert.equal(status.passed, passed, status.reason);
      assert.equal(status.newState, newState);
    });
  }

  it("every rule is covered by the table", () => {
    const covered = new Set(rows.map(([rule]) => rule));
    assert.deepEqual([...TRIGGER_RULES].filter((r) => !covered.has(r)), [], "rules without a row");
    assert.deepEqual([...covered].filter((r) => !(TRIGGER_RULES as readonly string[]).includes(r)), [], "rows for rules that do not exist");
  });

  it("a waiting task's reason names the rule and the counts", () => {
    const status = evaluateTriggerRule({ rule: "all_success", upstream: countUpstreamStates([S, N, R]) });
    assert.match(status.reason, /trigger rule 'all_success' requires all upstream tasks to have succeeded, but found 2 non-success\(es\)/);
    assert.match(status.reason, /success: 1, .*done: 1, total: 3/);
  });

  it("an unknown rule never passes and says so", () => {
    const status = evaluateTriggerRule({ rule: "sometimes", upstream: countUpstreamStates([S]) });
    assert.equal(status.passed, false);
    assert.equal(status.reason, "No strategy to evaluate trigger rule 'sometimes'.");
  });

  it("counts finished states as done", () => {
    assert.deepEqual(countUpstreamStates([S, F, K, U, "removed", R, N, "up_for_retry"]), {
      total: 8, success: 1, failed: 1, skipped: 1, upstream_failed: 1, removed: 1, done: 5,
    });
  });
});

// Mapped instances (map_index >= 0): Airflow subtracts `removed` upstream instances (left by a
// shorter re-expansion) from the non-successes, and under all_success an instance whose index is
// at or past the upstream's successes is itself removed. An unmapped instance (-1) counts them.
const M = "removed";
type MappedRow = [rule: string, upstream: (string | null)[], mapIndex: number, passed: boolean, newState?: "skipped" | "upstream_failed" | "removed"];
const mappedRows: MappedRow[] = [
  ["all_success", [S, S, M], 0, true],
  ["all_success", [S, S, M], 1, true],
  ["all_success", [S, S, M], 2, true, "removed"], // index 2 is past the 2 successes
  ["all_success", [S, S, M], -1, false], // unmapped: the removed one is a non-success
  ["all_success", [S, M, N], 0, false], // an unfinished upstream still holds it
  ["all_success", [F, M], 0, false, "upstream_failed"],
  ["all_failed", [F, M], 0, true],
  ["all_failed", [F, M], -1, false],
  ["none_failed", [S, K, M], 0, true],
  ["none_failed", [S, K, M], -1, false],
  ["all_skipped", [K, M], 0, true],
  ["all_skipped", [K, M], -1, false],
  ["all_done", [S, M], -1, true], // removed is finished
  ["all_done", [S, M], 0, true],
];

describe("trigger rules for mapped task instances", () => {
  for (const [rule, upstream, mapIndex, passed, newState] of mappedRows) {
    it(`${rule} over [${upstream.map((s) => s ?? "none").join(", ")}] at map_index ${mapIndex}`, () => {
      const r = evaluateTriggerRule({ rule, upstream: countUpstreamStates(upstream), mapIndex });
      assert.equal(r.passed, passed, r.reason);
      assert.equal(r.newState, newState, r.reason);
    });
  }
});

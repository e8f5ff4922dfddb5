// Which upstream instances a task instance counts (src/scheduler/run-states.ts): every instance of
// an upstream outside the task's mapped task group, and only the relevant ones of an upstream in
// the same group. Rows restate Airflow's _iter_upstream_conditions with
// get_relevant_upstream_map_indexes (the common mapped group, not further mapped inside): the
// upstream's unexpanded instance (map_index -1) while it exists, and its instance at the task
// instance's own map index.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { RunStates } from "../../src/scheduler/run-states.ts";
import { countUpstreamStates, evaluateTriggerRule } from "../../src/scheduler/deps/index.ts";

const S = "success", F = "failed", R = "running", N = null;
// up: in the candidate's mapped group; out: a mapped task outside it; plain: an unmapped task.
const expanded = new RunStates([
  { task_id: "up", map_index: 0, state: S },
  { task_id: "up", map_index: 1, state: R },
  { task_id: "up", map_index: 2, state: F },
  { task_id: "out", map_index: 0, state: S },
  { task_id: "out", map_index: 1, state: S },
  { task_id: "plain", map_index: -1, state: S },
]);
const unexpanded = new RunStates([{ task_id: "up", map_index: -1, state: N }, { task_id: "plain", map_index: -1, state: S }]);
const sameGroup = (id: string) => id === "up";

type Row = [what: string, states: RunStates, upstream: string[], mapIndex: number, counted: (string | null)[], allSuccess: boolean];
const rows: Row[] = [
  ["placeholder before the upstream in the group expanded: its placeholder", unexpanded, ["up"], -1, [N], false],
  ["placeholder after it expanded: nothing of it (the task may expand)", expanded, ["up"], -1, [], true],
  ["instance 0: the upstream's instance 0 only", expanded, ["up"], 0, [S], true],
  ["instance 1: instance 1 still running", expanded, ["up"], 1, [R], false],
  ["instance 2: instance 2 failed", expanded, ["up"], 2, [F], false],
  ["an index the upstream lacks: nothing", expanded, ["up"], 7, [], true],
  ["an upstream outside the group: every instance", expanded, ["out"], 1, [S, S], true],
  ["mixed: own index inside, all outside, the unmapped one", expanded, ["up", "out", "plain"], 0, [S, S, S, S], true],
];

describe("scheduler: upstream instances in a mapped task group", () => {
  for (const [what, states, upstream, mapIndex, counted, allSuccess] of rows) {
    it(what, () => {
      const got = states.upstream(upstream, false, { mapIndex, sameGroup });
      assert.deepEqual(got, counted);
      assert.equal(evaluateTriggerRule({ rule: "all_success", upstream: countUpstreamStates(got), mapIndex }).passed, allSuccess);
    });
  }
  it("without a group every instance counts, as before", () => {
    assert.deepEqual(expanded.upstream(["up"], false), [S, R, F]);
  });
});

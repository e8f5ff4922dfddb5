// Setup/teardown and depends_on_past deps as case tables, restated from Airflow's
// test_trigger_rule_dep.py (all_done_setup_success, the setup constraint), test_prev_dagrun_dep.py
// (test_dagrun_dep's parametrized cases) and test_dagrun.py (teardowns and the run's state), plus
// DAG.partial_subset's setup/teardown cases for clearing.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { countUpstreamStates, evaluateTriggerRule, dagRunDecision } from "../../../src/scheduler/deps/index.ts";
import { setupConstraint } from "../../../src/scheduler/deps/setup-constraint.ts";
import { prevDagrunDep, type PrevDagrunInput } from "../../../src/scheduler/deps/prev-dagrun.ts";
import { clearAlsoIncludes, effectiveLeaves, relevantSetups } from "../../../src/scheduler/setup-teardown.ts";
import type { SerializedDag, SerializedTask } from "../../../src/serialization/serialized-dag.ts";

describe("all_done_setup_success (a teardown's rule)", () => {
  // [name, upstream states, which of them are setups, expected newState, expected passed]
  const rows: [string, (string | null)[], boolean[], string | undefined, boolean][] = [
    ["setup ok, work failed: runs", ["success", "failed"], [true, false], undefined, true],
    ["setup ok, work upstream_failed: runs", ["success", "upstream_failed"], [true, false], undefined, true],
    ["work still running: waits", ["success", "running"], [true, false], undefined, false],
    ["the only setup failed: upstream_failed", ["failed", "upstream_failed"], [true, false], "upstream_failed", false],
    ["the only setup skipped: skipped", ["skipped", "skipped"], [true, false], "skipped", false],
    ["one of two setups succeeded: runs", ["success", "failed", "success"], [true, true, false], undefined, true],
    ["all setups skipped, work done: skipped", ["skipped", "skipped", "success"], [true, true, false], "skipped", false],
    ["no setup upstream: all_done", ["failed", "success"], [false, false], undefined, true],
  ];
  for (const [name, states, setups, newState, passed] of rows) {
    it(name, () => {
      const upstream = {
        ...countUpstreamStates(states),
        setup_total: setups.filter(Boolean).length,
        success_setup: states.filter((s, i) => setups[i] && s === "success").length,
        skipped_setup: states.filter((s, i) => setups[i] && s === "skipped").length,
      };
      const v = evaluateTriggerRule({ rule: "all_done_setup_success", upstream });
      assert.equal(v.newState, newState, v.reason);
      assert.equal(v.passed, passed, v.reason);
    });
  }
});

describe("the setup constraint (indirect setups)", () => {
  // [name, indirect setup states, expected newState, expected passed]
  const rows: [string, (string | null)[], string | undefined, boolean][] = [
    ["all succeeded", ["success", "success"], undefined, true],
    ["one failed: upstream_failed at once, not waiting for the other", ["failed", "running"], "upstream_failed", false],
    ["one upstream_failed", ["upstream_failed"], "upstream_failed", false],
    ["one skipped: skipped", ["skipped", "success"], "skipped", false],
    ["failure wins over skip", ["skipped", "failed"], "upstream_failed", false],
    ["one still running: waits", ["success", "running"], undefined, false],
    ["not started: waits", [null], undefined, false],
  ];
  for (const [name, states, newState, passed] of rows) {
    it(name, () => {
      const v = setupConstraint({ setups: states.map((state, i) => ({ taskId: `s${i}`, state })), directUpstream: new Set() });
      assert.equal(v.newState, newState, v.reason);
      assert.equal(v.passed, passed, v.reason);
    });
  }
  it("direct setups are left to the trigger rule", () => {
    const v = setupConstraint({ setups: [{ taskId: "s", state: "failed" }], directUpstream: new Set(["s"]) });
    assert.deepEqual([v.passed, v.newState], [true, undefined], v.reason);
  });
});

describe("PrevDagrunDep", () => {
  const base: PrevDagrunInput = {
    taskId: "t", dependsOnPast: true, waitForDownstream: false, ignoreFirstDependsOnPast: false, firstInBackfill: false,
    previousRun: { run_id: "scheduled__2024-01-02" }, previousStates: ["success"], hasEarlierInstance: true, downstreamStates: [],
  };
  // [name (Airflow's test id where there is one), overrides, expected passed, reason fragment]
  const rows: [string, Partial<PrevDagrunInput>, boolean, RegExp][] = [
    ["not_depends_on_past", { dependsOnPast: false, previousStates: [null] }, true, /did not have depends_on_past/],
    ["first_task_run", { previousRun: null }, true, /first task instance/],
    ["first run of a backfill", { firstInBackfill: true, previousStates: ["failed"] }, true, /first run in a backfill/],
    ["prev_ti_bad_state (none)", { previousStates: [null] }, false, /1 previous task instance\(s\) are not in a successful state: the previous run's \(scheduled__2024-01-02\) task "t" is none/],
    ["previous failed", { previousStates: ["failed"] }, false, /task "t" is failed/],
    ["previous running", { previousStates: ["running"] }, false, /is running/],
    ["previous skipped", { previousStates: ["skipped"] }, true, /succeeded or were skipped/],
    ["failed_wait_for_downstream", { waitForDownstream: true, downstreamStates: [{ taskId: "d", state: "running" }] }, false, /wait_for_downstream is True: in run scheduled__2024-01-02, "d" is running/],
    ["all_met (wait_for_downstream)", { waitForDownstream: true, downstreamStates: [{ taskId: "d", state: "skipped" }] }, true, /succeeded/],
    ["previous run without the task", { previousStates: [] }, false, /has not run yet/],
    ["test_first_task_run_of_new_task (ignore_first_depends_on_past)", { previousStates: [], ignoreFirstDependsOnPast: true, hasEarlierInstance: false }, true, /ignore_first_depends_on_past/],
    ["ignore_first but the task ran before", { previousStates: [], ignoreFirstDependsOnPast: true, hasEarlierInstance: true }, false, /has not run yet/],
  ];
  for (const [name, o, passed, reason] of rows) {
    it(name, () => {
      const v = prevDagrunDep({ ...base, ...o });
      assert.equal(v.passed, passed, v.reason);
      assert.match(v.reason, reason);
    });
  }
});

const task = (task_id: string, up: string[], o: Partial<SerializedTask> = {}): SerializedTask =>
  ({ task_id, upstream_task_ids: up, downstream_task_ids: [], kind: "empty", trigger_rule: "all_success", ...o }) as SerializedTask;

function graph(tasks: SerializedTask[]) {
  for (const t of tasks) t.downstream_task_ids = tasks.filter((x) => x.upstream_task_ids.includes(t.task_id)).map((x) => x.task_id);
  const dag = { tasks } as SerializedDag;
  return { dag, tasks: new Map(tasks.map((t) => [t.task_id, t])) };
}

describe("teardowns and the run's state (DagRun._tis_for_dagrun_state)", () => {
  // setup >> work >> teardown, setup >> teardown
  const g = (fail: boolean) =>
    graph([
      task("setup", [], { is_setup: true }),
      task("work", ["setup"]),
      task("teardown", ["work", "setup"], { is_teardown: true, trigger_rule: "all_done_setup_success", on_failure_fail_dagrun: fail }),
    ]);
  it("the teardown is not a leaf; the work it follows is", () => assert.deepEqual(effectiveLeaves(g(false).dag), ["work"]));
  it("with on_failure_fail_dagrun the teardown is the leaf", () => assert.deepEqual(effectiveLeaves(g(true).dag), ["teardown"]));
  it("a DAG of teardowns only falls back to its plain leaves", () => {
    assert.deepEqual(effectiveLeaves(graph([task("t", [], { is_teardown: true })]).dag), ["t"]);
  });
  // [name, work, teardown, on_failure_fail_dagrun, run state] (test_dagrun.py's teardown cases)
  const rows: [string, string, string, boolean, string][] = [
    ["work fails, teardown succeeds: failed", "failed", "success", false, "failed"],
    ["work succeeds, teardown fails: success", "success", "failed", false, "success"],
    ["work succeeds, teardown fails, on_failure_fail_dagrun: failed", "success", "failed", true, "failed"],
    // The teardown is then an ordinary leaf: as in Airflow, its success decides, as any all_done leaf's would.
    ["work fails, teardown succeeds, on_failure_fail_dagrun: the leaf succeeded", "failed", "success", true, "success"],
  ];
  for (const [name, work, teardown, fail, expected] of rows) {
    it(name, () => {
      const leaves = effectiveLeaves(g(fail).dag);
      const st: Record<string, string> = { setup: "success", work, teardown };
      const d = dagRunDecision({ leafStates: leaves.map((l) => st[l]), allStates: Object.values(st) });
      assert.equal(d.state, expected);
    });
  }
});

describe("relevant setups and what a clear pulls in (DAG.partial_subset)", () => {
  // s1 >> w1 >> w2 >> t1 (t1 tears down s1); s2 >> w2 (s2 has no teardown); w2 >> after
  const g = graph([
    task("s1", [], { is_setup: true }),
    task("s2", [], { is_setup: true }),
    task("w1", ["s1"]),
    task("w2", ["w1", "s2"]),
    task("t1", ["w2", "s1"], { is_teardown: true, trigger_rule: "all_done_setup_success" }),
    task("after", ["w2"]),
    task("lone", []),
  ]);
  it("a work task's relevant setups are its upstream setups, direct or not", () => {
    assert.deepEqual(relevantSetups(g, "w2").sort(), ["s1", "s2"]);
    assert.deepEqual(relevantSetups(g, "t1"), []);
  });
  it("a task past the teardown no longer depends on the torn-down setup", () => assert.deepEqual(relevantSetups(g, "after"), ["s2"]));
  // [name, matched, options, also included]
  const rows: [string, string[], { includeUpstream?: boolean; includeDownstream?: boolean }, string[]][] = [
    ["a work task: its setups and their teardowns", ["w1"], {}, ["s1", "t1"]],
    ["an indirect work task: both setups, s1's teardown", ["w2"], {}, ["s1", "s2", "t1"]],
    ["a setup: its teardown", ["s1"], {}, ["t1"]],
    ["a teardown alone: nothing more", ["t1"], {}, []],
    ["a plain task: nothing more", ["lone"], {}, []],
    ["with upstream: upstream and their setups' teardowns", ["w1"], { includeUpstream: true }, ["s1", "t1"]],
    ["with downstream: downstream and their setups", ["w1"], { includeDownstream: true }, ["s1", "s2", "t1", "w2", "after"]],
  ];
  for (const [name, matched, o, expected] of rows) {
    it(name, () => assert.deepEqual([...clearAlsoIncludes(g, new Set(matched), o)].sort(), [...expected].sort()));
  }
});

// A wide fan-in (more than 16 direct upstreams) has its upstream states counted by one aggregate
// in focused steps (src/scheduler/evaluate-run.ts), or its wait proved by one unfinished upstream
// (src/scheduler/fan-in-witness.ts): the verdicts must be those of the row-by-row count, through a
// real run of a real DAG file.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { dagsTest, migrateHome, writeDag, type RunStates } from "../helpers/engine.ts";
import { tempHome, type TempHome } from "../helpers/home.ts";
import { assertNoLeakedProcesses } from "../helpers/leaks.ts";

const WIDTH = 24;

const SOURCE = `import { dag, task, empty, chain } from "orch";
export default dag({ dag_id: "wide", schedule: null, start_date: "2024-01-01", max_active_tasks: 4 }, () => {
  const ok = Array.from({ length: ${WIDTH} }, (_, i) => empty({ task_id: "ok" + i }));
  const mixed = Array.from({ length: ${WIDTH} }, (_, i) =>
    i === ${WIDTH - 1} ? task({ task_id: "bad" }, async () => { throw new Error("boom"); })() : empty({ task_id: "m" + i }));
  chain(ok, empty({ task_id: "all_ok" }));
  chain(mixed, empty({ task_id: "mixed_all_success" }));
  chain(mixed, empty({ task_id: "mixed_one_failed", trigger_rule: "one_failed" }));
  chain(mixed, empty({ task_id: "mixed_all_done", trigger_rule: "all_done" }));
  // Tasks that run (not empties), one failing early in the list: the witness, found from the end,
  // is unfinished when it fails, and its failure must still decide the fan-in at once.
  const early = Array.from({ length: ${WIDTH} }, (_, i) =>
    i === 2 ? task({ task_id: "early_bad" }, async () => { throw new Error("boom"); })() : task({ task_id: "e" + i }, async () => i)());
  chain(early, empty({ task_id: "early_all_success" }));
  chain(early, empty({ task_id: "early_none_failed_min_one_success", trigger_rule: "none_failed_min_one_success" }));
  chain(early, empty({ task_id: "early_all_done", trigger_rule: "all_done" }));
  const good = Array.from({ length: ${WIDTH} }, (_, i) => task({ task_id: "g" + i }, async () => i)());
  chain(good, empty({ task_id: "good_all_success" }));
});
`;

describe("a fan-in of 24 upstreams", () => {
  let h: TempHome;
  let r: RunStates;
  before(async () => {
    h = await tempHome();
    await migrateHome(h.home);
    await writeDag(h.dags, "wide.ts", SOURCE);
    r = await dagsTest(h.home, "wide");
  });
  after(async () => {
    await assertNoLeakedProcesses(h.home);
    await h.cleanup();
  });

  it("decides each downstream as the trigger rule says", () => {
    const want = {
      all_ok: "success",
      mixed_all_success: "upstream_failed",
      mixed_one_failed: "success",
      mixed_all_done: "success",
      bad: "failed",
      early_bad: "failed",
      early_all_success: "upstream_failed",
      early_none_failed_min_one_success: "upstream_failed",
      early_all_done: "success",
      good_all_success: "success",
    };
    const got = Object.keys(want).map((t) => [t, r.states[t]]);
    assert.deepEqual(
      Object.fromEntries(got),
      want,
      r.cli.stdout + r.cli.stderr,
    );
  });

  it("every upstream ran", () => {
    const upstream = Object.entries(r.states).filter(([t]) => /^(ok|m|e|g)\d+$/.test(t));
    assert.equal(upstream.length, 4 * 24 - 2, JSON.stringify(r.states));
    assert.ok(upstream.every(([, s]) => s === "success"), JSON.stringify(upstream));
  });
});

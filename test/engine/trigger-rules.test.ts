// Every trigger rule over mixed upstream states, through a real run of a real DAG file. Expected
// states follow Airflow 3's trigger_rule_dep.py with flag_upstream_failed (what the scheduler uses).
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { dagsTest, migrateHome, writeDag, type RunStates } from "../helpers/engine.ts";
import { tempHome, type TempHome } from "../helpers/home.ts";
import { assertNoLeakedProcesses } from "../helpers/leaks.ts";

// Upstream combinations: B = success + failed, C = success + skipped, D = failed + upstream_failed,
// E = skipped + skipped, F = success + failed + skipped + upstream_failed.
const COMBOS: Record<string, string[]> = {
  B: ["ok", "bad"],
  C: ["ok", "skip"],
  D: ["bad", "uf"],
  E: ["skip", "skip2"],
  F: ["ok", "bad", "skip", "uf"],
};

// rule -> combo -> expected state of the downstream task ("success" = it ran).
const EXPECTED: Record<string, Partial<Record<keyof typeof COMBOS, string>>> = {
  all_success: { B: "upstream_failed", C: "skipped", D: "upstream_failed", E: "skipped", F: "upstream_failed" },
  all_failed: { B: "skipped", C: "skipped", D: "success", E: "skipped", F: "skipped" },
  all_done: { B: "success", C: "success", D: "success", E: "success", F: "success" },
  all_skipped: { B: "skipped", C: "skipped", D: "skipped", E: "success", F: "skipped" },
  one_success: { B: "success", C: "success", D: "upstream_failed", F: "success" },
  one_failed: { B: "success", C: "skipped", D: "success", E: "skipped", F: "success" },
  one_done: { B: "success", C: "success", D: "success", E: "skipped", F: "success" },
  none_failed: { B: "upstream_failed", C: "success", D: "upstream_failed", E: "success", F: "upstream_failed" },
  none_failed_min_one_success: { B: "upstream_failed", C: "success", D: "upstream_failed", E: "skipped", F: "upstream_failed" },
  none_skipped: { B: "success", C: "skipped", D: "success", E: "skipped", F: "skipped" },
  always: { B: "success", C: "success", D: "success", E: "success", F: "success" },
};

function dagSource(): string {
  const targets: string[] = [];
  for (const [rule, combos] of Object.entries(EXPECTED)) {
    for (const combo of Object.keys(combos)) {
      const id = `${rule}__${combo}`;
      targets.push(`    const ${id} = empty({ task_id: "${id}", trigger_rule: "${rule}" });\n    chain([${COMBOS[combo].join(", ")}], ${id});`);
    }
  }
  return `import { dag, task, empty, chain, AirflowSkipException } from "orch";
export default dag({ dag_id: "rules", schedule: null, start_date: "2024-01-01" }, () => {
    const ok = empty({ task_id: "ok" });
    const bad = task({ task_id: "bad" }, async () => { throw new Error("boom"); })();
    const skip = task({ task_id: "skip" }, async () => { throw new AirflowSkipException("nothing to do"); })();
    const skip2 = task({ task_id: "skip2" }, async () => { throw new AirflowSkipException("nothing to do"); })();
    const uf = empty({ task_id: "uf" });
    bad.then(uf);
${targets.join("\n")}
});
`;
}

describe("trigger rules in real runs", () => {
  let h: TempHome;
  let r: RunStates;
  before(async () => {
    h = await tempHome();
    await migrateHome(h.home);
    await writeDag(h.dags, "rules.ts", dagSource());
    r = await dagsTest(h.home, "rules");
  });
  after(async () => {
    await assertNoLeakedProcesses(h.home);
    await h.cleanup();
  });

  it("the upstream tasks end as designed", () => {
    assert.deepEqual(
      { ok: r.states.ok, bad: r.states.bad, skip: r.states.skip, skip2: r.states.skip2, uf: r.states.uf },
      { ok: "success", bad: "failed", skip: "skipped", skip2: "skipped", uf: "upstream_failed" },
      r.cli.stdout + r.cli.stderr,
    );
  });

  for (const [rule, combos] of Object.entries(EXPECTED)) {
    it(`${rule}`, () => {
      const got = Object.fromEntries(Object.keys(combos).map((c) => [c, r.states[`${rule}__${c}`]]));
      assert.deepEqual(got, combos);
    });
  }

  it("a run whose leaves include a failed or upstream_failed task fails, and `dags test` exits non-zero", () => {
    assert.equal(r.runState, "failed");
    assert.notEqual(r.cli.code, 0);
  });
});

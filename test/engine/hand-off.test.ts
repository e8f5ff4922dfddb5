// The mini-scheduler (src/scheduler/scheduler.ts handOff): a finished try's outcome transaction
// also decides its downstream and starts the next try for the same worker. Through real runs of
// real DAG files: a chain runs in order with one try each and every log written, and a hand-off
// that throws (here a SQLite trigger refusing to schedule one task) never takes the outcome with
// it: the finished task stays success, the run fails by the step's evaluation, nothing stays running.
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import Database from "better-sqlite3";
import { dagsTest, migrateHome, writeDag, type RunStates } from "../helpers/engine.ts";
import { tempHome, type TempHome } from "../helpers/home.ts";
import { assertNoLeakedProcesses } from "../helpers/leaks.ts";

const CHAIN = `import { dag, task, chain } from "orch";
const step = (i: number) => task({ task_id: "s" + i }, async () => { console.log("step " + i); return i; })();
export default dag({ dag_id: "handchain", schedule: null, start_date: "2024-01-01" }, () => {
  chain(...Array.from({ length: 8 }, (_, i) => step(i)));
});
`;

const REFUSED = `import { dag, task } from "orch";
export default dag({ dag_id: "refused", schedule: null, start_date: "2024-01-01" }, () => {
  task({ task_id: "a" }, async () => 1)().then(task({ task_id: "b" }, async () => 2)());
});
`;

describe("the hand-off", () => {
  let h: TempHome;
  let chain: RunStates;
  let refused: RunStates;
  before(async () => {
    h = await tempHome();
    await migrateHome(h.home);
    await writeDag(h.dags, "chain.ts", CHAIN);
    await writeDag(h.dags, "refused.ts", REFUSED);
    chain = await dagsTest(h.home, "handchain");
    const db = new Database(join(h.home, "orch.db"));
    db.exec(`create trigger refuse_b before update of state on task_instance when new.task_id = 'b' and new.state = 'scheduled' begin select raise(abort, 'injected: b may not be scheduled'); end`);
    db.close();
    refused = await dagsTest(h.home, "refused");
  });
  after(async () => {
    await assertNoLeakedProcesses(h.home);
    await h.cleanup();
  });

  it("runs a chain in order, each task once, each try's log holding its lines", () => {
    assert.equal(chain.runState, "success", chain.cli.stdout + chain.cli.stderr);
    for (let i = 0; i < 8; i++) {
      assert.equal(chain.states["s" + i], "success");
      assert.equal(chain.tries["s" + i], 1);
      const log = join(h.home, "logs", "dag_id=handchain", `run_id=${chain.runId}`, `task_id=s${i}`, "attempt=1.log");
      assert.ok(existsSync(log), log);
      assert.match(readFileSync(log, "utf8"), new RegExp(`step ${i}\\n[\\s\\S]*Marking task as SUCCESS`));
    }
  });

  it("a hand-off that throws keeps the finished try's outcome; the step's evaluation then fails the run", () => {
    assert.equal(refused.states.a, "success", refused.cli.stdout + refused.cli.stderr);
    assert.equal(refused.states.b, null);
    // Failed by the step after its evaluation failed three times in a row (b cannot be scheduled).
    assert.equal(refused.runState, "failed");
  });
});

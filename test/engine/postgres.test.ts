// The engine on PostgreSQL: the same CLI, scheduler, executor and worker, with ORCH_DATABASE_URL.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { runOrch } from "../helpers/cli.ts";
import { dagsTest, migrateHome, writeDag } from "../helpers/engine.ts";
import { tempHome, type TempHome } from "../helpers/home.ts";
import { assertNoLeakedProcesses } from "../helpers/leaks.ts";
import { freshPgDatabase, pgSkipReason, type FreshDatabase } from "../helpers/pg.ts";

const SOURCE = `import { dag, task, bash, empty, Param } from "orch";
export default dag({ dag_id: "pg_engine", schedule: null, start_date: "2024-01-01", params: { n: Param(2, { type: "integer" }) } }, () => {
  const pick = task.branch({ task_id: "pick" }, async (ctx) => (ctx.params.n > 1 ? "big" : "small"))();
  const big = task({ task_id: "big", retries: 1, retry_delay: 0 }, async (ctx) => {
    if (ctx.ti.try_number === 1) throw new Error("first try fails");
    return ctx.params.n * 10;
  })();
  const small = empty({ task_id: "small" });
  const report = bash({ task_id: "report", trigger_rule: "none_failed_min_one_success", command: "echo big={{ ti.xcom_pull('big') }}" });
  pick.then([big, small]);
  big.then(report);
  small.then(report);
});
`;

describe("postgres: engine", { skip: await pgSkipReason() }, () => {
  let h: TempHome;
  let db: FreshDatabase;
  let env: Record<string, string>;
  before(async () => {
    h = await tempHome();
    db = await freshPgDatabase("engine");
    env = { ORCH_DATABASE_URL: db.url };
    await migrateHome(h.home, env);
    await writeDag(h.dags, "pg_engine.ts", SOURCE);
  });
  after(async () => {
    await assertNoLeakedProcesses(h.home);
    await db.drop();
    await h.cleanup();
  });

  it("runs a DAG with a branch, a retry and an XCom into a template", async () => {
    const r = await dagsTest(h.home, "pg_engine", ["2024-05-01", "--conf", '{"n": 4}'], env);
    assert.equal(r.runState, "success", r.cli.stdout + r.cli.stderr);
    assert.deepEqual(r.states, { pick: "success", big: "success", small: "skipped", report: "success" });
    assert.equal(r.tries.big, 2);
    assert.match(r.cli.stdout, /big=40/);
    const listed = await runOrch(["tasks", "states-for-dag-run", "pg_engine", r.runId!, "-o", "json"], { home: h.home, env });
    assert.equal((JSON.parse(listed.stdout) as unknown[]).length, 4);
  });
});

// Variables and connections as tasks see them: Variable.get / Connection.get in code, var/conn in
// templates, env-provided ones, SqliteHook.fromConnection, and the password masked in the task log
// and in `orch dags test` output.
import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { runOrch } from "./helpers/cli.ts";
import { dagsTest, migrateHome, writeDag } from "./helpers/engine.ts";
import { tempHome, type TempHome } from "./helpers/home.ts";
import { assertNoLeakedProcesses } from "./helpers/leaks.ts";
import { ADMIN_URL, pgSkipReason } from "./helpers/pg.ts";

const STORED_PW = "st0red-Pa55word";
const ENV_PW = "env-Pa55word-9";

const SOURCE = `import { dag, task, bash, Variable, Connection } from "orch";
import { PostgresHook, SqliteHook } from "orch/providers";

export default dag({ dag_id: "secrets_dag", schedule: null, start_date: "2024-01-01" }, () => {
  const read = task({ task_id: "read" }, async () => {
    const wh = await Connection.get("warehouse");
    const env = await Connection.get("env_db");
    console.log("stored password is", wh.password);
    console.log("env password is", env.password, "on", env.host);
    const cfg = await Variable.get("cfg", { deserialize_json: true });
    const dflt = await Variable.get("absent", { default: "dflt" });
    let missing = "no error";
    try { await Variable.get("absent"); } catch (e) { missing = (e as Error).message; }
    console.log("api key is", await Variable.get("api_key"));
    return { months: (cfg as { months: number }).months, dflt, missing, region: await Variable.get("region"), host: wh.host, sslmode: wh.extra_dejson.sslmode };
  });
  const hook = task({ task_id: "hook" }, async () => {
    const h = await SqliteHook.fromConnection("local_wh");
    await h.run("create table if not exists t (x integer)");
    await h.run("insert into t values (?)", [41]);
    const rows = await h.getRecords("select x + 1 as y from t");
    return rows[0];
  });
  const pgq = task({ task_id: "pgq" }, async () => {
    const pg = await PostgresHook.fromConnection("pgwh");
    try {
      return await pg.getRecords("select 41 + 1 as answer");
    } finally {
      await pg.close();
    }
  });
  const templ = bash({ task_id: "templ", command: "echo host={{ conn.warehouse.host }} pw={{ conn.warehouse.password }} region={{ var.value.region }} months={{ var.json.cfg.months }}" });
  read().then(hook()).then(templ);
  if (process.env.ORCH_CONN_PGWH) templ.then(pgq());
});
`;

function logOf(home: string, taskId: string): string {
  const base = join(home, "logs", "dag_id=secrets_dag");
  const run = readdirSync(base).sort().at(-1)!;
  return readFileSync(join(base, run, `task_id=${taskId}`, "attempt=1.log"), "utf8");
}

// PostgresHook.fromConnection runs against the test server when there is one (always under CI=true).
const pgUp = (await pgSkipReason()) === undefined;

describe("variables and connections in tasks", () => {
  let h: TempHome;
  before(async () => {
    h = await tempHome();
    await migrateHome(h.home);
    await writeDag(h.dags, "secrets_dag.ts", SOURCE);
    const cmds = [
      ["connections", "add", "warehouse", "--conn-uri", `postgres://etl:${STORED_PW}@wh.internal:5432/taxi?sslmode=require`],
      ["connections", "add", "local_wh", "--conn-type", "sqlite", "--conn-host", join(h.home, "hook.db")],
      ["variables", "set", "cfg", '{"months": 18}'],
      ["variables", "set", "api_key", "sk-secret-77"],
    ];
    for (const c of cmds) {
      const r = await runOrch(c, { home: h.home });
      assert.equal(r.code, 0, r.stderr);
    }
  });
  after(async () => {
    await assertNoLeakedProcesses(h.home);
    await h.cleanup();
  });

  it("reads them in code and templates; secrets are masked in logs and in dags test output", async () => {
    const r = await dagsTest(h.home, "secrets_dag", ["2024-03-01"], {
      AIRFLOW_CONN_ENV_DB: `postgres://u:${ENV_PW}@envhost:6543/db`,
      ORCH_VAR_REGION: "eu-north-1",
      ...(pgUp ? { ORCH_CONN_PGWH: ADMIN_URL } : {}),
    });
    assert.equal(r.runState, "success", r.cli.stdout + r.cli.stderr);
    const out = r.cli.stdout + r.cli.stderr;
    for (const secret of [STORED_PW, ENV_PW, "sk-secret-77"]) {
      assert.ok(!out.includes(secret), `dags test output shows ${secret}`);
      for (const t of ["read", "templ"]) assert.ok(!logOf(h.home, t).includes(secret), `${t}'s log shows ${secret}`);
    }
    assert.match(logOf(h.home, "read"), /stored password is \*\*\*/);
    assert.match(logOf(h.home, "read"), /env password is \*\*\* on envhost/);
    assert.match(logOf(h.home, "read"), /api key is \*\*\*/);
    assert.match(logOf(h.home, "templ"), /host=wh.internal pw=\*\*\* region=eu-north-1 months=18/);
    assert.match(out, /stored password is \*\*\*/);
    assert.equal(r.states.hook, "success");
  });

  it("Variable.get defaults, JSON and a missing key's error reach the task", async () => {
    const log = logOf(h.home, "read");
    assert.ok(log.includes("Marking task as SUCCESS"), log);
    const store = await import("../src/store/index.ts");
    const s = await store.openStore(`sqlite:///${join(h.home, "orch.db")}`);
    try {
      const rows = await s.db.selectFrom("xcom").select(["task_id", "value"]).where("dag_id", "=", "secrets_dag").where("key", "=", "return_value").execute();
      const byTask = Object.fromEntries(rows.map((x) => [x.task_id, JSON.parse(x.value) as Record<string, unknown>]));
      assert.deepEqual(byTask.read, { months: 18, dflt: "dflt", missing: "Variable absent does not exist", region: "eu-north-1", host: "wh.internal", sslmode: "require" });
      assert.deepEqual(byTask.hook, { y: 42 });
      if (pgUp) assert.deepEqual(byTask.pgq, [{ answer: 42 }]);
    } finally {
      await s.close();
    }
  });
});

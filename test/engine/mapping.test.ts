// Dynamic task mapping through real runs of real DAG files, on SQLite and PostgreSQL: mapping over
// a literal, an upstream's output, an empty list; partial, cross product, zip, expand_kwargs, bash;
// a reduce, mapped -> mapped index by index; max_map_length; a shorter re-expansion after a clear
// (removed instances); the CLI's --map-index. Airflow's cases from tests/unit/models/
// test_mappedoperator.py and test_dagrun.py (test_mapped_literal_length_*, test_mapped_reduce_*).
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { openStore } from "../../src/store/index.ts";
import { ORCH_BIN, runOrch } from "../helpers/cli.ts";
import { dagsTest, migrateHome, writeDag } from "../helpers/engine.ts";
import { tempHome, type TempHome } from "../helpers/home.ts";
import { assertNoLeakedProcesses } from "../helpers/leaks.ts";
import { freshPgDatabase, pgSkipReason, type FreshDatabase } from "../helpers/pg.ts";

const SOURCE = `import { dag, task, bash } from "orch";

const double = task({ task_id: "double" }, async ({ x }: { x: number }) => x * 2);
const times = task({ task_id: "times" }, async ({ x, k }: { x: number; k: number }) => x * k);
const sum = task({ task_id: "sum" }, async (xs: number[]) => xs.reduce((a, b) => a + b, 0));
const list = task({ task_id: "list" }, async (xs: unknown[]) => xs);
const join = task({ task_id: "join" }, async ({ x, y }: { x: number; y: string }) => \`\${x}\${y}\`);

export const literal = dag({ dag_id: "map_literal", schedule: null, start_date: "2024-01-01" }, () => {
  sum(double.expand({ x: [1, 2, 3] }));
});

export const upstream = dag({ dag_id: "map_upstream", schedule: null, start_date: "2024-01-01" }, () => {
  const nums = task({ task_id: "nums" }, async () => [1, 2, 3, 4])();
  const m = times.partial({ k: 10 }).expand({ x: nums });
  sum(m);
  // mapped -> mapped: one instance per upstream instance, index by index, then a reduce
  list(task({ task_id: "plus_one" }, async ({ v }: { v: number }) => v + 1).expand({ v: m }));
});

export const empty = dag({ dag_id: "map_empty", schedule: null, start_date: "2024-01-01" }, () => {
  const none = task({ task_id: "none" }, async () => [] as number[])();
  sum(double.expand({ x: none }));
});

export const shapes = dag({ dag_id: "map_shapes", schedule: null, start_date: "2024-01-01", max_active_tasks: 4 }, () => {
  list(join.expand({ x: [1, 2], y: ["a", "b", "c"] }));
  list(join.expand({ x: [1, 2, 3], y: ["a", "b"] }).zip());
  const pairs = task({ task_id: "pairs" }, async () => [{ x: 7, y: "q" }, { x: 8, y: "r" }])();
  list(join.partial({ y: "z" }).expand_kwargs([{ x: 5 }, { x: 6, y: "w" }]));
  list(join.expand_kwargs(pairs));
  list(bash.partial({ task_id: "echo" }).expand({ command: ["echo one", "echo two {{ ds }}"] }));
  bash.partial({ task_id: "envs", command: "echo $WHO" }).expand({ env: [{ WHO: "ann" }, { WHO: "bob" }] });
});

export const named = dag({ dag_id: "map_named", schedule: null, start_date: "2024-01-01" }, () => {
  task({ task_id: "load", map_index_template: "file {{ task.path }}" }, async ({ path }: { path: string }) => path.length).expand({ path: ["a.csv", "bb.csv"] });
});

export const shrink = dag({ dag_id: "map_shrink", schedule: null, start_date: "2024-01-01", is_paused_upon_creation: false }, () => {
  const n = task({ task_id: "n" }, async (ctx) => Array.from({ length: Number(await ctx.var.get("map_n")) }, (_, i) => i))();
  list(double.expand({ x: n }));
});
`;

type Row = { task_id: string; map_index: number; state: string | null; state_reason: string | null; rendered_map_index: string | null };

async function readRun(url: string, dagId: string) {
  const store = await openStore(url);
  try {
    const run = await store.db.selectFrom("dag_run").selectAll().where("dag_id", "=", dagId).orderBy("id", "desc").executeTakeFirstOrThrow();
    const tis: Row[] = await store.db
      .selectFrom("task_instance")
      .select(["task_id", "map_index", "state", "state_reason", "rendered_map_index"])
      .where("dag_id", "=", dagId)
      .where("run_id", "=", run.run_id)
      .orderBy("task_id")
      .orderBy("map_index")
      .execute();
    const xcoms = await store.db.selectFrom("xcom").select(["task_id", "map_index", "value"]).where("dag_run_id", "=", run.id).where("key", "=", "return_value").execute();
    const value = (taskId: string, mapIndex = -1) => {
      const x = xcoms.find((r) => r.task_id === taskId && r.map_index === mapIndex);
      return x ? (JSON.parse(x.value) as unknown) : undefined;
    };
    const of = (taskId: string) => tis.filter((t) => t.task_id === taskId).map((t) => [t.map_index, t.state] as const);
    return { run, tis, value, of };
  } finally {
    await store.close();
  }
}

async function waitFor<T>(what: string, fn: () => Promise<T | undefined | false>, timeoutMs = 120_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

function exited(child: ChildProcess): Promise<number | null> {
  return new Promise((r) => (child.exitCode !== null ? r(child.exitCode) : child.once("exit", (code) => r(code))));
}

const pgSkip = await pgSkipReason();

for (const dialect of ["sqlite", "postgres"] as const) {
  describe(`${dialect}: dynamic task mapping`, { skip: dialect === "postgres" ? pgSkip : undefined }, () => {
    let h: TempHome;
    let pg: FreshDatabase | undefined;
    let env: Record<string, string>;
    let url: string;
    before(async () => {
      h = await tempHome();
      if (dialect === "postgres") {
        pg = await freshPgDatabase("mapping");
        env = { ORCH_DATABASE_URL: pg.url };
        url = pg.url;
      } else {
        env = {};
        url = `sqlite:///${join(h.home, "orch.db")}`;
      }
      await migrateHome(h.home, env);
      await writeDag(h.dags, "mapping.ts", SOURCE);
    });
    after(async () => {
      await assertNoLeakedProcesses(h.home);
      await pg?.drop();
      await h.cleanup();
    });

    it("maps over a literal list and reduces the results in map-index order", async () => {
      const r = await dagsTest(h.home, "map_literal", ["2024-03-01"], env);
      assert.equal(r.runState, "success", r.cli.stdout + r.cli.stderr);
      const run = await readRun(url, "map_literal");
      assert.deepEqual(run.of("double"), [[0, "success"], [1, "success"], [2, "success"]]);
      assert.deepEqual([0, 1, 2].map((i) => run.value("double", i)), [2, 4, 6]);
      assert.equal(run.value("sum"), 12);
      // Log paths carry map_index for mapped instances only (Airflow's log_filename_template).
      const runDir = join(h.home, "logs", "dag_id=map_literal", `run_id=${run.run.run_id}`);
      assert.ok(existsSync(join(runDir, "task_id=double", "map_index=2", "attempt=1.log")), `no map_index=2 log under ${runDir}: ${readdirSync(join(runDir, "task_id=double"))}`);
      assert.ok(existsSync(join(runDir, "task_id=sum", "attempt=1.log")), "the unmapped reduce's log has no map_index folder");
      const one = await runOrch(["tasks", "state", "map_literal", "double", "2024-03-01", "--map-index", "1"], { home: h.home, env });
      assert.equal(one.stdout.trim(), "success", one.stderr);
      const missing = await runOrch(["tasks", "state", "map_literal", "double", "2024-03-01", "--map-index", "7"], { home: h.home, env });
      assert.notEqual(missing.code, 0);
      assert.match(missing.stderr, /no map_index 7; it has 0, 1, 2/);
    });

    it("maps over an upstream's output with partial, mapped -> mapped index by index", async () => {
      const r = await dagsTest(h.home, "map_upstream", ["2024-03-01"], env);
      assert.equal(r.runState, "success", r.cli.stdout + r.cli.stderr);
      const run = await readRun(url, "map_upstream");
      assert.equal(run.of("times").length, 4);
      assert.deepEqual([0, 1, 2, 3].map((i) => run.value("times", i)), [10, 20, 30, 40]);
      assert.equal(run.value("sum"), 100);
      assert.deepEqual(run.of("plus_one").map(([i]) => i), [0, 1, 2, 3]);
      assert.deepEqual(run.value("list"), [11, 21, 31, 41]);
    });

    it("an empty list gives one skipped instance, and its reduce is skipped", async () => {
      const r = await dagsTest(h.home, "map_empty", ["2024-03-01"], env);
      assert.equal(r.runState, "success", r.cli.stdout + r.cli.stderr);
      const run = await readRun(url, "map_empty");
      assert.deepEqual(run.of("double"), [[-1, "skipped"]]);
      assert.match(run.tis.find((t) => t.task_id === "double")!.state_reason ?? "", /empty list/);
      assert.deepEqual(run.of("sum"), [[-1, "skipped"]]);
    });

    it("cross product, zip, expand_kwargs (literal and upstream), bash command and env", async () => {
      const r = await dagsTest(h.home, "map_shapes", ["2024-03-01"], env);
      assert.equal(r.runState, "success", r.cli.stdout + r.cli.stderr);
      const run = await readRun(url, "map_shapes");
      // The last key varies fastest, as in Airflow.
      assert.deepEqual(run.value("list"), ["1a", "1b", "1c", "2a", "2b", "2c"]);
      assert.deepEqual(run.value("list__1"), ["1a", "2b"], "zip stops at the shorter list");
      assert.deepEqual(run.value("list__2"), ["5z", "6w"], "expand_kwargs over partial");
      assert.deepEqual(run.value("list__3"), ["7q", "8r"]);
      assert.deepEqual(run.value("list__4"), ["one", "two 2024-03-01"]);
      assert.deepEqual([0, 1].map((i) => run.value("envs", i)), ["ann", "bob"]);
    });

    it("names instances from map_index_template (rendered_map_index, REST shape too)", async () => {
      const r = await dagsTest(h.home, "map_named", ["2024-03-01"], env);
      assert.equal(r.runState, "success", r.cli.stdout + r.cli.stderr);
      const run = await readRun(url, "map_named");
      assert.deepEqual(run.tis.map((t) => t.rendered_map_index), ["file a.csv", "file bb.csv"]);
      const listed = await runOrch(["tasks", "states-for-dag-run", "map_named", run.run.run_id, "-o", "json"], { home: h.home, env });
      assert.equal(listed.code, 0, listed.stderr);
      const rows = (JSON.parse(listed.stdout) as { map_index: number; rendered_map_index: string | null }[]).sort((a, b) => a.map_index - b.map_index);
      assert.deepEqual(rows.map((t) => [t.map_index, t.rendered_map_index]), [[0, "file a.csv"], [1, "file bb.csv"]]);
      const table = await runOrch(["tasks", "states-for-dag-run", "map_named", run.run.run_id], { home: h.home, env });
      assert.match(table.stdout, /map_index/);
    });

    it("more than [core] max_map_length elements fails the task, saying so", async () => {
      const r = await dagsTest(h.home, "map_literal", ["2024-03-02"], { ...env, ORCH__CORE__MAX_MAP_LENGTH: "2" });
      assert.equal(r.runState, "failed", r.cli.stdout + r.cli.stderr);
      const run = await readRun(url, "map_literal");
      assert.deepEqual(run.of("double"), [[-1, "failed"]]);
      assert.match(run.tis.find((t) => t.task_id === "double")!.state_reason ?? "", /3 task instances, more than \[core\] max_map_length \(2\)/);
      assert.deepEqual(run.of("sum"), [[-1, "upstream_failed"]]);
    });

    it("tasks test --map-index runs one instance; a mapped task without it is refused", async () => {
      const ok = await runOrch(["tasks", "test", "map_upstream", "times", "2024-03-01", "--map-index", "2"], { home: h.home, env });
      assert.equal(ok.code, 0, ok.stderr);
      assert.match(ok.stdout, /XCom return_value: 30/);
      const refused = await runOrch(["tasks", "test", "map_upstream", "times", "2024-03-01"], { home: h.home, env });
      assert.equal(refused.code, 2, "a usage error");
      assert.match(refused.stderr, /mapped: say which instance with --map-index/);
    });

    it("a shorter re-expansion after a clear marks the extra instances removed; tasks clear --map-index", async () => {
      const set3 = await runOrch(["variables", "set", "map_n", "3"], { home: h.home, env });
      assert.equal(set3.code, 0, set3.stderr);
      const first = await dagsTest(h.home, "map_shrink", ["2024-03-01"], env);
      assert.equal(first.runState, "success", first.cli.stdout + first.cli.stderr);
      assert.deepEqual((await readRun(url, "map_shrink")).value("list"), [0, 2, 4]);

      // One instance only: the others stay as they are.
      const one = await runOrch(["tasks", "clear", "map_shrink", "-t", "^double$", "--map-index", "1", "-y"], { home: h.home, env });
      assert.equal(one.code, 0, one.stderr);
      assert.match(one.stdout, /cleared 1 task instance/);
      assert.deepEqual((await readRun(url, "map_shrink")).of("double"), [[0, "success"], [1, null], [2, "success"]]);

      await runOrch(["variables", "set", "map_n", "1"], { home: h.home, env });
      const all = await runOrch(["tasks", "clear", "map_shrink", "-y"], { home: h.home, env });
      assert.equal(all.code, 0, all.stderr);
      const childEnv: NodeJS.ProcessEnv = { ...process.env, ORCH_HOME: h.home, ...env };
      if (dialect === "sqlite") delete childEnv.ORCH_DATABASE_URL;
      const child = spawn(process.execPath, [ORCH_BIN, "scheduler"], { env: childEnv, stdio: ["ignore", "pipe", "pipe"] });
      let out = "";
      child.stdout!.on("data", (b) => (out += b));
      child.stderr!.on("data", (b) => (out += b));
      try {
        const run = await waitFor("the cleared run to finish", async () => {
          const r = await readRun(url, "map_shrink");
          return r.run.state === "success" || r.run.state === "failed" ? r : undefined;
        });
        assert.equal(run.run.state, "success", out);
        assert.deepEqual(run.of("double"), [[0, "success"], [1, "removed"], [2, "removed"]]);
        assert.deepEqual(run.value("list"), [0], "the reduce sees only the instances of the new expansion");
      } finally {
        child.kill("SIGTERM");
        await exited(child);
      }
    });
  });
}

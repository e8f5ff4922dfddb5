// Mapped task groups through real runs of real DAG files (the built CLI, the scheduler and its
// workers), on SQLite and PostgreSQL. Expected states follow Airflow 3: a task in a mapped group
// depends only on the instance at its own map index of an upstream in the same group
// (taskinstance.py get_relevant_upstream_map_indexes, trigger_rule_dep.py
// _iter_upstream_conditions), a task outside depends on every instance; Airflow's
// test_mapped_task_group_simple / test_mapped_task_group_work_fail_or_skip
// (tests/unit/models/test_dagrun.py, setup/teardown in a mapped group) restated as tables.
import assert from "node:assert/strict";
import { join } from "node:path";
import { before, describe, it } from "node:test";
import { runOrch } from "../helpers/cli.ts";
import { dagsTest, schedulerSuite, writeDag } from "../helpers/engine.ts";
import { pgSkipReason } from "../helpers/pg.ts";
import { waitFor, withStoreOf } from "../helpers/scheduler-process.ts";

const DAGS = `import { dag, task, empty, taskGroup, AirflowSkipException, type GroupArgs } from "orch";

// Named by the group's arguments at its index (map_index_template).
const size = task({ task_id: "size", map_index_template: "file {{ task.path }}" }, async (path: string) => path.length);
const label = task({ task_id: "label" }, async (n: number, path: string, mode: string) => \`\${mode}:\${path}=\${n}\`);
const collect = task({ task_id: "collect" }, async (xs: unknown[]) => xs);

// files -> per_file[i] { size -> label, inner.mark } -> collect (a reduce of label)
export const basic = dag({ dag_id: "mtg_basic", schedule: null, start_date: "2024-01-01" }, () => {
  const files = task({ task_id: "files" }, async () => ["a", "bb", "ccc"])();
  const perFile = taskGroup({ group_id: "per_file" }, ({ path, mode }: GroupArgs<{ path: string; mode: string }>) => {
    const out = label(size(path), path, mode);
    taskGroup({ group_id: "inner", default_args: { retries: 1 } }, () => empty({ task_id: "mark" }));
    return out;
  });
  collect(perFile.partial({ mode: "m" }).expand({ path: files }).result);
});

// A literal list, expand_kwargs, and a group mapped over nothing.
export const shapes = dag({ dag_id: "mtg_shapes", schedule: null, start_date: "2024-01-01" }, () => {
  const pair = taskGroup({ group_id: "pair" }, ({ path, mode }: GroupArgs<{ path: string; mode: string }>) => label(size(path), path, mode));
  collect(pair.expand_kwargs([{ path: "x", mode: "p" }, { path: "yy", mode: "q" }]).result);
  const none = task({ task_id: "none" }, async () => [] as string[])();
  const g = taskGroup({ group_id: "nothing" }, ({ path }: GroupArgs<{ path: string }>) => {
    size(path).then(empty({ task_id: "after_size", trigger_rule: "all_done" }));
  });
  g.expand({ path: none }).then([empty({ task_id: "joined" }), empty({ task_id: "done_anyway", trigger_rule: "all_done" })]);
  // Over a mapped task's output; inside, that mapped task's output (from outside the group) is its
  // whole list.
  const doubled = task({ task_id: "dbl" }, async ({ v }: { v: number }) => v * 2).expand({ v: [1, 2] });
  const combine = task({ task_id: "combine" }, async (n: number, all: number[]) => \`\${n}/\${all.join(",")}\`);
  taskGroup({ group_id: "over_mapped" }, ({ n }: GroupArgs<{ n: number }>) => combine(n, doubled)).expand({ n: doubled });
});

// Trigger rules inside the group count only the upstream instance at the same index.
export const rules = dag({ dag_id: "mtg_rules", schedule: null, start_date: "2024-01-01" }, () => {
  const g = taskGroup({ group_id: "g" }, ({ x }: GroupArgs<{ x: number }>) => {
    const first = task({ task_id: "first" }, async (v: number) => {
      if (v === 2) throw new Error("two fails");
      if (v === 3) throw new AirflowSkipException("three skips");
      return v;
    })(x);
    first.then([
      empty({ task_id: "all_success" }),
      empty({ task_id: "all_done", trigger_rule: "all_done" }),
      empty({ task_id: "one_failed", trigger_rule: "one_failed" }),
      empty({ task_id: "none_failed", trigger_rule: "none_failed" }),
    ]);
  });
  g.expand({ x: [1, 2, 3] }).then(empty({ task_id: "outside_all_done", trigger_rule: "all_done" }));
});

// Airflow's test_mapped_task_group_simple and test_mapped_task_group_work_fail_or_skip: setup ->
// work -> teardown per file; the setup (or the work) fails for data2 and skips for data3.
const outcome = (v: string) => {
  if (v === "data2.json") throw new Error("fail!");
  if (v === "data3.json") throw new AirflowSkipException("skip!");
  return v;
};
for (const [dag_id, failing] of [["mtg_setup_fails", "setup"], ["mtg_work_fails", "work"]] as const) {
  dag({ dag_id, schedule: null, start_date: "2024-01-01" }, () => {
    taskGroup({ group_id: "file_transforms" }, ({ filename }: GroupArgs<{ filename: string }>) => {
      const s = task({ task_id: "my_setup" }, async (v: string) => (failing === "setup" ? outcome(v) : v))(filename).asSetup();
      const w = task({ task_id: "my_work" }, async (v: string) => (failing === "work" ? outcome(v) : v))(filename);
      const t = task({ task_id: "my_teardown" }, async (v: string) => v)(filename).asTeardown({ setups: s });
      s.then(w).then(t);
    }).expand({ filename: ["data1.json", "data2.json", "data3.json"] });
  });
}

// A shorter re-expansion after a clear: the group maps over a Variable's length.
export const shrink = dag({ dag_id: "mtg_shrink", schedule: null, start_date: "2024-01-01", is_paused_upon_creation: false }, () => {
  const n = task({ task_id: "n" }, async (ctx) => Array.from({ length: Number(await ctx.var.get("mtg_n")) }, (_, i) => i))();
  const g = taskGroup({ group_id: "g" }, ({ x }: GroupArgs<{ x: number }>) => {
    const first = task({ task_id: "first" }, async (v: number) => v + 1)(x);
    return task({ task_id: "second" }, async (v: number) => v * 10)(first);
  });
  collect(g.expand({ x: n }).result);
});
`;

// Per-index release: first[1] holds until second[0] has finished (a file second[0] writes), so the
// run can only succeed if second[0] ran while first[1] was still running.
// first[1] holds until second[0]'s return value is committed (XCom reads are on demand): it can
// only end after second[0] has ended, whatever the machine's speed.
const gateDag = `import { dag, task, taskGroup, type GroupArgs } from "orch";
export default dag({ dag_id: "mtg_release", schedule: "@once", start_date: "2024-01-01", is_paused_upon_creation: false }, () => {
  taskGroup({ group_id: "g" }, ({ x }: GroupArgs<{ x: number }>) => {
    const first = task({ task_id: "first" }, async (v: number, ctx) => {
      if (v === 1) {
        const until = Date.now() + 120_000;
        for (;;) {
          const seen = await ctx.ti.xcom_pull("g.second");
          if ((Array.isArray(seen) ? seen : [seen]).includes(0)) break;
          if (Date.now() > until) throw new Error("second[0] never finished while first[1] held");
          await new Promise((r) => setTimeout(r, 100));
        }
      }
      return v;
    })(x);
    task({ task_id: "second" }, async (v: number) => v * 10)(first);
  }).expand({ x: [0, 1, 2] });
});
`;

type Row = { task_id: string; map_index: number; state: string | null; start_date: string | null; end_date: string | null; try_number: number; rendered_map_index: string | null };

const dialects: { name: string; skip: string | undefined }[] = [
  { name: "sqlite", skip: undefined },
  { name: "postgres", skip: await pgSkipReason() },
];

for (const dialect of dialects) {
  describe(`${dialect.name}: mapped task groups in real runs`, { skip: dialect.skip }, () => {
    const h = schedulerSuite({ stop: "SIGKILL", ...(dialect.name === "postgres" ? { postgres: "mtg" } : {}) });
    const readRun = (dagId: string) =>
      withStoreOf(h.home, async (s) => {
        const run = await s.db.selectFrom("dag_run").selectAll().where("dag_id", "=", dagId).orderBy("id", "desc").executeTakeFirst();
        if (!run) return undefined;
        const tis: Row[] = await s.db
          .selectFrom("task_instance")
          .select(["task_id", "map_index", "state", "start_date", "end_date", "try_number", "rendered_map_index"])
          .where("dag_id", "=", dagId)
          .where("run_id", "=", run.run_id)
          .orderBy("task_id")
          .orderBy("map_index")
          .execute();
        const xcoms = await s.db.selectFrom("xcom").select(["task_id", "map_index", "value"]).where("dag_run_id", "=", run.id).where("key", "=", "return_value").execute();
        const value = (taskId: string, mapIndex = -1) => {
          const x = xcoms.find((r) => r.task_id === taskId && r.map_index === mapIndex);
          return x ? (JSON.parse(x.value) as unknown) : undefined;
        };
        // task_id -> { map_index: state }, Airflow's get_states shape in its tests
        const states: Record<string, Record<number, string | null>> = {};
        for (const t of tis) (states[t.task_id] ??= {})[t.map_index] = t.state;
        return { run, tis, value, states };
      }, h.env.ORCH_DATABASE_URL);
    before(() => writeDag(h.dags, "mtg.ts", DAGS));

    it("every task of the group runs per element of an upstream's list; inside, a task gets the group's argument and its upstream's value at its own index; outside, a reduce in map-index order", async () => {
      const r = await dagsTest(h.home, "mtg_basic", ["2024-03-01"], h.env);
      assert.equal(r.runState, "success", r.cli.stdout + r.cli.stderr);
      const run = (await readRun("mtg_basic"))!;
      assert.deepEqual(run.states, {
        collect: { [-1]: "success" },
        files: { [-1]: "success" },
        "per_file.inner.mark": { 0: "success", 1: "success", 2: "success" },
        "per_file.label": { 0: "success", 1: "success", 2: "success" },
        "per_file.size": { 0: "success", 1: "success", 2: "success" },
      });
      assert.deepEqual([0, 1, 2].map((i) => run.value("per_file.size", i)), [1, 2, 3]);
      assert.deepEqual(run.tis.filter((t) => t.task_id === "per_file.size").map((t) => t.rendered_map_index), ["file a", "file bb", "file ccc"]);
      assert.deepEqual([0, 1, 2].map((i) => run.value("per_file.label", i)), ["m:a=1", "m:bb=2", "m:ccc=3"]);
      assert.deepEqual(run.value("collect"), ["m:a=1", "m:bb=2", "m:ccc=3"]);
      // A task downstream of the group waits for every instance of it.
      const collectStart = run.tis.find((t) => t.task_id === "collect")!.start_date!;
      for (const t of run.tis.filter((x) => x.task_id.startsWith("per_file."))) assert.ok(t.end_date! <= collectStart, `${t.task_id}[${t.map_index}] ended before collect started`);
      // The CLI lists the group's tasks with their map_index.
      const listed = await runOrch(["tasks", "states-for-dag-run", "mtg_basic", run.run.run_id, "-o", "json"], { home: h.home, env: h.env });
      assert.equal(listed.code, 0, listed.stderr);
      const rows = (JSON.parse(listed.stdout) as { task_id: string; map_index: number; state: string }[])
        .filter((t) => t.task_id === "per_file.label")
        .map((t) => [t.map_index, t.state])
        .sort();
      assert.deepEqual(rows, [[0, "success"], [1, "success"], [2, "success"]]);
      // One instance of a task in the group, by map index.
      const one = await runOrch(["tasks", "test", "mtg_basic", "per_file.label", "2024-03-01", "--map-index", "1"], { home: h.home, env: h.env });
      assert.equal(one.code, 0, one.stderr);
      assert.match(one.stdout, /XCom return_value: "m:bb=2"/);
    });

    it("expand_kwargs over a literal list; a group mapped over an empty list skips its instances; a group over a mapped task's output", async () => {
      const r = await dagsTest(h.home, "mtg_shapes", ["2024-03-01"], h.env);
      assert.equal(r.runState, "success", r.cli.stdout + r.cli.stderr);
      const run = (await readRun("mtg_shapes"))!;
      assert.deepEqual(run.value("collect"), ["p:x=1", "q:yy=2"]);
      assert.deepEqual(run.states["pair.size"], { 0: "success", 1: "success" });
      // Empty: one skipped instance per task of the group (an all_done task inside is mapped over
      // nothing too); after the group, all_success is skipped, all_done runs.
      assert.deepEqual(run.states["nothing.size"], { [-1]: "skipped" });
      assert.deepEqual(run.states["nothing.after_size"], { [-1]: "skipped" });
      assert.deepEqual(run.states.joined, { [-1]: "skipped" });
      assert.deepEqual(run.states.done_anyway, { [-1]: "success" });
      assert.deepEqual([0, 1].map((i) => run.value("over_mapped.combine", i)), ["2/2,4", "4/2,4"]);
    });

    it("trigger rules inside the group count only the upstream instance at the same map index", async () => {
      const r = await dagsTest(h.home, "mtg_rules", ["2024-03-01"], h.env);
      const run = (await readRun("mtg_rules"))!;
      // Table: task -> state by map index (x = 1 succeeds, 2 fails, 3 skips).
      assert.deepEqual(run.states, {
        "g.first": { 0: "success", 1: "failed", 2: "skipped" },
        "g.all_success": { 0: "success", 1: "upstream_failed", 2: "skipped" },
        "g.all_done": { 0: "success", 1: "success", 2: "success" },
        "g.one_failed": { 0: "skipped", 1: "success", 2: "skipped" },
        "g.none_failed": { 0: "success", 1: "upstream_failed", 2: "success" },
        outside_all_done: { [-1]: "success" },
      }, r.cli.stdout + r.cli.stderr);
      // The DAG's only leaf is outside_all_done (the group's leaves lead to it): it decides the run.
      assert.equal(r.runState, "success");
    });

    // Airflow's expected states, index by index.
    const setupCases: [string, Record<string, Record<number, string>>, string][] = [
      ["mtg_setup_fails", {
        "file_transforms.my_setup": { 0: "success", 1: "failed", 2: "skipped" },
        "file_transforms.my_work": { 0: "success", 1: "upstream_failed", 2: "skipped" },
        "file_transforms.my_teardown": { 0: "success", 1: "upstream_failed", 2: "skipped" },
      }, "failed"],
      ["mtg_work_fails", {
        "file_transforms.my_setup": { 0: "success", 1: "success", 2: "success" },
        "file_transforms.my_work": { 0: "success", 1: "failed", 2: "skipped" },
        "file_transforms.my_teardown": { 0: "success", 1: "success", 2: "success" },
      }, "failed"],
    ];
    for (const [dagId, expected, runState] of setupCases) {
      it(`setup/teardown inside a mapped group decide each index on its own (${dagId})`, async () => {
        const r = await dagsTest(h.home, dagId, ["2024-03-01"], h.env);
        const run = (await readRun(dagId))!;
        assert.deepEqual(run.states, expected, r.cli.stdout + r.cli.stderr);
        assert.equal(r.runState, runState);
      });
    }

    it("a shorter re-expansion after a clear removes the extra instances of every task in the group", async () => {
      const set3 = await runOrch(["variables", "set", "mtg_n", "3"], { home: h.home, env: h.env });
      assert.equal(set3.code, 0, set3.stderr);
      const first = await dagsTest(h.home, "mtg_shrink", ["2024-03-01"], h.env);
      assert.equal(first.runState, "success", first.cli.stdout + first.cli.stderr);
      assert.deepEqual((await readRun("mtg_shrink"))!.value("collect"), [10, 20, 30]);
      await runOrch(["variables", "set", "mtg_n", "1"], { home: h.home, env: h.env });
      const c = await runOrch(["tasks", "clear", "mtg_shrink", "-y"], { home: h.home, env: h.env });
      assert.equal(c.code, 0, c.stderr);
      const child = h.start();
      const run = await waitFor("the cleared mtg_shrink run to finish", async () => {
        const r = await readRun("mtg_shrink");
        return r && (r.run.state === "success" || r.run.state === "failed") ? r : undefined;
      }, 240_000);
      assert.deepEqual(run.states, {
        n: { [-1]: "success" },
        "g.first": { 0: "success", 1: "removed", 2: "removed" },
        "g.second": { 0: "success", 1: "removed", 2: "removed" },
        collect: { [-1]: "success" },
      }, child.output());
      assert.deepEqual(run.value("collect"), [10], "the reduce sees only the new expansion");
    });

    it("releases per map index: second[0] runs and finishes while first[1] is still running", async () => {
      await writeDag(h.dags, "release.ts", gateDag);
      const child = h.start(["-p", "3"]);
      const run = await waitFor("mtg_release to finish", async () => {
        const r = await readRun("mtg_release");
        return r && (r.run.state === "success" || r.run.state === "failed") ? r : undefined;
      }, 240_000);
      assert.deepEqual(run.states, { "g.first": { 0: "success", 1: "success", 2: "success" }, "g.second": { 0: "success", 1: "success", 2: "success" } }, child.output());
      assert.equal(run.run.state, "success");
      const at = (taskId: string, i: number) => run.tis.find((t) => t.task_id === taskId && t.map_index === i)!;
      // first[1] waited for second[0]'s committed value: second[0] ended before first[1] did, in one try each.
      assert.ok(at("g.second", 0).end_date! <= at("g.first", 1).end_date!, "second[0] ended before first[1]");
      assert.equal(at("g.first", 1).try_number, 1);
      assert.deepEqual([0, 1, 2].map((i) => run.value("g.second", i)), [0, 10, 20]);
    });
  });
}

// Assets through real runs: a producer's outlet triggers a consumer (with the extra it set), an AND
// and an OR condition, an event created from the CLI, and a bad URI refused at parse time.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { runOrch } from "../helpers/cli.ts";
import { schedulerSuite, writeDag } from "../helpers/engine.ts";
import { waitFor, withStoreOf } from "../helpers/scheduler-process.ts";

const DAGS = `import { dag, task, empty, Asset, AssetAny, type TaskContext } from "orch";
const a = new Asset("s3://bucket/a.parquet");
const b = Asset({ name: "b", uri: "warehouse://b" });

export const producer = dag({ dag_id: "producer", schedule: null, start_date: "2024-01-01", is_paused_upon_creation: false }, () => {
  task({ task_id: "make_a", outlets: [a] }, async (ctx: TaskContext) => {
    ctx.outlet_events[a.uri].extra = { rows: 42 };
    return "made";
  })();
});

export const both = dag({ dag_id: "needs_both", schedule: [a, b], start_date: "2024-01-01", is_paused_upon_creation: false }, () => {
  task({ task_id: "seen" }, async (ctx: TaskContext) =>
    Object.entries(ctx.triggering_asset_events).map(([uri, evs]) => ({ uri, extra: evs.map((e) => e.extra), from: evs.map((e) => e.source_task_id) })),
  )();
});

export const either = dag({ dag_id: "needs_either", schedule: a.or(b), start_date: "2024-01-01", is_paused_upon_creation: false }, () => {
  empty({ task_id: "t" });
});

export const nested = dag({ dag_id: "nested", schedule: AssetAny(a.and(b), Asset("file:///never/happens")), start_date: "2024-01-01", is_paused_upon_creation: false }, () => {
  empty({ task_id: "t" });
});
`;

type Run = { dag_id: string; run_type: string; state: string | null; id: number };

async function runsOf(home: string, dagId: string): Promise<Run[]> {
  return withStoreOf(home, (s) => s.db.selectFrom("dag_run").select(["dag_id", "run_type", "state", "id"]).where("dag_id", "=", dagId).orderBy("id").execute());
}

describe("assets", () => {
  const h = schedulerSuite();

  it("parsing alone records the assets (outlets and schedules) and the references; a changed schedule replaces them", async () => {
    await writeDag(h.dags, "assets.ts", DAGS);
    const r = await runOrch(["dags", "reserialize"], { home: h.home });
    assert.equal(r.code, 0, r.stderr);
    const refs = () =>
      withStoreOf(h.home, async (s) =>
        (await s.db.selectFrom("dag_schedule_asset_reference").innerJoin("asset", "asset.id", "dag_schedule_asset_reference.asset_id").select(["dag_id", "uri"]).execute())
          .map((x) => `${x.dag_id} ${x.uri}`)
          .sort(),
      );
    assert.deepEqual(await refs(), [
      "needs_both s3://bucket/a.parquet",
      "needs_both warehouse://b",
      "needs_either s3://bucket/a.parquet",
      "needs_either warehouse://b",
      "nested file:///never/happens",
      "nested s3://bucket/a.parquet",
      "nested warehouse://b",
    ]);
    const list = await runOrch(["assets", "list", "-o", "json"], { home: h.home });
    assert.deepEqual((JSON.parse(list.stdout) as { uri: string }[]).map((x) => x.uri), ["file:///never/happens", "s3://bucket/a.parquet", "warehouse://b"]);
    // needs_either now waits on b alone, and nested is gone from the file: its references go with
    // the new version of needs_either; nested's stay until it is deleted (it is stale).
    await writeDag(h.dags, "assets.ts", DAGS.replace('schedule: a.or(b)', 'schedule: [b]').replace(/export const nested[\s\S]*$/, ""));
    assert.equal((await runOrch(["dags", "reserialize"], { home: h.home })).code, 0);
    const after = await refs();
    assert.deepEqual(after.filter((x) => x.startsWith("needs_either")), ["needs_either warehouse://b"]);
  });

  it("a producer's outlet triggers the OR consumer at once; the AND consumer waits for the second asset, which an external event supplies", async () => {
    await writeDag(h.dags, "assets.ts", DAGS);
    const child = h.start();
    await waitFor("DAGs parsed and referenced", () =>
      withStoreOf(h.home, async (s) => (await s.db.selectFrom("dag_schedule_asset_reference").select("dag_id").execute()).length >= 4),
    );
    const t = await runOrch(["dags", "trigger", "producer"], { home: h.home });
    assert.equal(t.code, 0, t.stderr);

    // OR: one event of `a` is enough.
    await waitFor("needs_either ran", async () => (await runsOf(h.home, "needs_either")).some((r) => r.state === "success"));
    const either = await runsOf(h.home, "needs_either");
    assert.equal(either.length, 1);
    assert.equal(either[0].run_type, "asset_triggered");

    // The producer's event carries the extra the task set, and names its source.
    const events = await runOrch(["assets", "events", "s3://bucket/a.parquet", "-o", "json"], { home: h.home });
    assert.equal(events.code, 0, events.stderr);
    const evs = JSON.parse(events.stdout) as { extra: Record<string, unknown>; source_dag_id: string; source_task_id: string }[];
    assert.equal(evs.length, 1);
    assert.deepEqual(evs[0].extra, { rows: 42 });
    assert.equal(evs[0].source_task_id, "make_a");

    // AND: `a` alone does not run needs_both (nor the nested a&b | never).
    await withStoreOf(h.home, async (s) => {
      const q = await s.db.selectFrom("asset_dag_run_queue").select("target_dag_id").execute();
      assert.deepEqual(q.map((r) => r.target_dag_id).sort(), ["needs_both", "nested"]);
    });
    assert.equal((await runsOf(h.home, "needs_both")).length, 0);

    // An external event of `b` (by URI) completes both.
    const c = await runOrch(["assets", "event", "create", "warehouse://b", "--extra", '{"loaded_by": "cli"}', "-o", "json"], { home: h.home });
    assert.equal(c.code, 0, c.stderr);
    await waitFor("needs_both ran", async () => (await runsOf(h.home, "needs_both")).some((r) => r.state === "success"));
    await waitFor("nested ran", async () => (await runsOf(h.home, "nested")).some((r) => r.state === "success"));
    const both = await runsOf(h.home, "needs_both");
    assert.equal(both.length, 1);
    // The run saw both triggering events, with their extras and sources.
    const seen = await withStoreOf(h.home, (s) =>
      s.db.selectFrom("xcom").select("value").where("dag_id", "=", "needs_both").where("task_id", "=", "seen").where("key", "=", "return_value").executeTakeFirstOrThrow(),
    );
    const value = (JSON.parse(seen.value as string) as { uri: string; extra: unknown[]; from: unknown[] }[]).sort((x, y) => x.uri.localeCompare(y.uri));
    assert.deepEqual(value, [
      { uri: "s3://bucket/a.parquet", extra: [{ rows: 42 }], from: ["make_a"] },
      { uri: "warehouse://b", extra: [{ loaded_by: "cli" }], from: [null] },
    ]);
    // b's event made one more needs_either run (OR), the queues are now empty.
    await waitFor("second needs_either run", async () => (await runsOf(h.home, "needs_either")).filter((r) => r.state === "success").length === 2);
    await withStoreOf(h.home, async (s) => assert.equal((await s.db.selectFrom("asset_dag_run_queue").selectAll().execute()).length, 0));

    const details = await runOrch(["assets", "details", "warehouse://b", "-o", "json"], { home: h.home });
    assert.equal(details.code, 0, details.stderr);
    const d = JSON.parse(details.stdout) as { name: string; scheduled_dags: string[] }[];
    assert.equal(d[0].name, "b");
    assert.deepEqual(d[0].scheduled_dags, ["needs_both", "needs_either", "nested"]);
    const list = await runOrch(["assets", "list", "-o", "json"], { home: h.home });
    assert.deepEqual(
      (JSON.parse(list.stdout) as { uri: string }[]).map((x) => x.uri),
      ["file:///never/happens", "s3://bucket/a.parquet", "warehouse://b"],
    );
  });

  it("an unknown asset or bad --extra is a clear error", async () => {
    const r = await runOrch(["assets", "event", "create", "s3://nope/x"], { home: h.home });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /asset "s3:\/\/nope\/x" not found; known assets: .*warehouse:\/\/b/);
    const bad = await runOrch(["assets", "event", "create", "warehouse://b", "--extra", "[1]"], { home: h.home });
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--extra must be a JSON object/);
  });

  it("an invalid asset URI is an import error naming the DAG, the task and the bad part", async () => {
    await writeDag(
      h.dags,
      "bad_outlet.ts",
      `import { dag, empty, Asset } from "orch";
export default dag({ dag_id: "bad_outlet", schedule: null, start_date: "2024-01-01" }, () => {
  empty({ task_id: "writes", outlets: [Asset("s3://")] });
});
`,
    );
    await writeDag(
      h.dags,
      "bad_schedule.ts",
      `import { dag, empty, Asset } from "orch";
export default dag({ dag_id: "bad_schedule", schedule: [Asset({ name: "x", uri: "no-scheme-here" })], start_date: "2024-01-01" }, () => {
  empty({ task_id: "t" });
});
`,
    );
    const r = await runOrch(["dags", "list-import-errors", "-o", "json"], { home: h.home });
    assert.equal(r.code, 0, r.stderr);
    const errors = JSON.parse(r.stdout) as { filepath: string; error: string }[];
    const outlet = errors.find((e) => e.filepath.endsWith("bad_outlet.ts"));
    assert.ok(outlet, r.stdout);
    assert.match(outlet.error, /task "writes" in DAG "bad_outlet": outlet has an invalid asset URI "s3:\/\/": there is no path after "s3:\/\/"/);
    const sched = errors.find((e) => e.filepath.endsWith("bad_schedule.ts"));
    assert.ok(sched, r.stdout);
    assert.match(sched.error, /DAG "bad_schedule": invalid asset URI "no-scheme-here": expected scheme:\/\/path/);
  });

  it("every assets command's (and orch triggerer's) --help has an example", async () => {
    const commands = [["assets", "list"], ["assets", "details"], ["assets", "events"], ["assets", "event", "create"], ["triggerer"]];
    for (const c of commands) {
      const r = await runOrch([...c, "--help"], { home: h.home });
      assert.equal(r.code, 0, c.join(" "));
      assert.match(r.stdout, /Examples:\n(\s+#.*\n)?\s+(\S+=\S+\s+)*orch /, `${c.join(" ")} --help has no example`);
    }
  });
});

// The authoring API in-process: what dag() builds, what it refuses, how schedules map.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  Asset,
  AssetAny,
  CronDataIntervalTimetable,
  CronTriggerTimetable,
  DagDefinitionError,
  DeltaDataIntervalTimetable,
  Param,
  bash,
  chain,
  dag,
  empty,
  resolveXComArgs,
  task,
  type CallableTask,
  type Dag,
  type TaskContext,
} from "../../src/sdk/index.ts";
import { serializeDag } from "../../src/dag-processing/serialize.ts";

const edges = (d: Dag) =>
  [...d.tasks.values()].flatMap((t) => [...t.downstream_task_ids].map((x) => `${t.task_id}>${x}`)).sort();

describe("sdk: dag()", () => {
  it("wires TaskFlow arguments, then() and chain()", () => {
    const d = dag({ dag_id: "wires" }, () => {
      const a = task({ task_id: "a" }, async () => 1);
      const b = task({ task_id: "b" }, async (n: number, ctx: TaskContext) => n + ctx.ds.length);
      const out = b(a());
      const c = empty({ task_id: "c" });
      const x = empty({ task_id: "x" });
      const y = empty({ task_id: "y" });
      const z = empty({ task_id: "z" });
      out.then([c, x]);
      chain(c, [y, z]);
    });
    assert.deepEqual(edges(d), ["a>b", "b>c", "b>x", "c>y", "c>z"]);
    const b = d.tasks.get("b") as CallableTask;
    assert.equal(b.kind, "task");
    // The worker's half: XComArgs resolve to pulled values; ctx goes last.
    const args = resolveXComArgs(b.args, (taskId, key) => `${taskId}:${key}`) as unknown[];
    assert.deepEqual(args, ["a:return_value"]);
  });

  it("gives a TaskFlow function called twice distinct ids", () => {
    const d = dag({ dag_id: "twice" }, () => {
      const t = task({ task_id: "t" }, () => 1);
      t();
      t();
    });
    assert.deepEqual([...d.tasks.keys()], ["t", "t__1"]);
  });

  it("applies default_args and reads durations", () => {
    const d = dag({ dag_id: "defaults", default_args: { retries: 2, retry_delay: { minutes: 1 }, owner: "data" } }, () => {
      bash({ task_id: "b", command: "true", retries: 5, execution_timeout: { hours: 1 } });
      empty({ task_id: "e" });
    });
    const b = d.tasks.get("b")!;
    const e = d.tasks.get("e")!;
    assert.equal(b.retries, 5);
    assert.equal(e.retries, 2);
    assert.equal(e.retry_delay_seconds, 60);
    assert.equal(b.execution_timeout_seconds, 3600);
    assert.equal(e.owner, "data");
    assert.equal(serializeDag(d, { fileloc: "/x.ts", relative_fileloc: "x.ts" }).owner, "data");
  });

  it("maps schedules as Airflow 3 does", () => {
    const spec = (schedule: Parameters<typeof dag>[0]["schedule"], timezone?: string) => dag({ dag_id: "s", schedule, timezone }, () => {}).timetable;
    assert.deepEqual(spec("@daily"), { type: "cron_trigger", expression: "0 0 * * *", timezone: "UTC" });
    assert.deepEqual(spec("@quarterly"), { type: "cron_trigger", expression: "0 0 1 */3 *", timezone: "UTC" });
    assert.deepEqual(spec("*/5 * * * *", "Europe/Paris"), { type: "cron_trigger", expression: "*/5 * * * *", timezone: "Europe/Paris" });
    assert.deepEqual(spec("@once"), { type: "once" });
    assert.deepEqual(spec(null), { type: "null" });
    assert.deepEqual(spec(undefined), { type: "null" });
    assert.deepEqual(spec({ hours: 6 }), { type: "delta_trigger", delta: { hours: 6 } });
    assert.deepEqual(spec(CronDataIntervalTimetable("0 6 * * *", { timezone: "UTC" })), { type: "cron_data_interval", expression: "0 6 * * *", timezone: "UTC" });
    assert.deepEqual(spec(CronTriggerTimetable("@hourly", { timezone: "UTC", interval: { hours: 1 } })), {
      type: "cron_trigger", expression: "0 * * * *", timezone: "UTC", interval: { hours: 1 },
    });
    assert.deepEqual(spec(DeltaDataIntervalTimetable({ months: 1 })), { type: "delta_data_interval", delta: { months: 1 } });
    const a = Asset("s3://b/a");
    const b = Asset({ name: "b", uri: "s3://b/b" });
    assert.deepEqual(spec([a, b]), {
      type: "asset",
      condition: { type: "all", items: [{ type: "asset", asset: { name: "s3://b/a", uri: "s3://b/a", group: "asset", extra: {} } }, { type: "asset", asset: { name: "b", uri: "s3://b/b", group: "asset", extra: {} } }] },
    });
    assert.equal((spec(AssetAny(a, b)) as { condition: { type: string } }).condition.type, "any");
  });

  it("reads a date-only start_date in the DAG's timezone", () => {
    assert.equal(dag({ dag_id: "tz", start_date: "2024-01-01", timezone: "Europe/Paris" }, () => {}).start_date?.toISOString(), "2023-12-31T23:00:00.000Z");
    assert.equal(dag({ dag_id: "tz2", start_date: "2024-07-01T06:00" }, () => {}).start_date?.toISOString(), "2024-07-01T06:00:00.000Z");
  });

  it("keeps Param schemas and plain defaults", () => {
    const d = dag({ dag_id: "p", params: { limit: Param(100, { type: "integer", minimum: 1, description: "rows" }), name: "x" } }, () => {});
    assert.deepEqual(d.params.limit.schema, { type: "integer", minimum: 1 });
    assert.equal(d.params.limit.description, "rows");
    assert.equal(d.params.name.default, "x");
  });

  const refusals: [string, () => unknown, RegExp][] = [
    ["bad dag_id", () => dag({ dag_id: "no spaces" }, () => {}), /dag_id "no spaces".*invalid/],
    ["unknown option", () => dag({ dag_id: "o", schedul: "@daily" } as never, () => {}), /unknown option "schedul"/],
    ["bad cron", () => dag({ dag_id: "c", schedule: "* * *" }, () => {}), /invalid cron expression "\* \* \*": expected 5 fields/],
    ["bad preset", () => dag({ dag_id: "c", schedule: "@fortnightly" }, () => {}), /unknown preset/],
    ["bad timezone", () => dag({ dag_id: "z", timezone: "Mars/Base" }, () => {}), /unknown timezone "Mars\/Base"/],
    ["bad date", () => dag({ dag_id: "d", start_date: "yesterday" }, () => {}), /start_date "yesterday" is not a date/],
    ["task outside dag", () => empty({ task_id: "lonely" }), /outside a dag\(\) body/],
    ["self edge", () => dag({ dag_id: "self" }, () => { const a = empty({ task_id: "a" }); a.then(a); }), /cycle: a -> a/],
    ["uncalled task fn in then()", () => dag({ dag_id: "u" }, () => { const f = task({ task_id: "f" }, () => 1); empty({ task_id: "e" }).then(f as never); }), /call it first/],
    ["chain lists of different length", () => dag({ dag_id: "ch" }, () => { chain([empty({ task_id: "a" })], [empty({ task_id: "b" }), empty({ task_id: "c" })]); }), /same length/],
    ["async body", () => dag({ dag_id: "as" }, (async () => {}) as never), /must be synchronous/],
    ["negative retries", () => dag({ dag_id: "r" }, () => { empty({ task_id: "a", retries: -1 }); }), /retries must be a non-negative integer/],
  ];
  for (const [name, fn, re] of refusals) {
    it(`refuses: ${name}`, () => {
      assert.throws(fn, (e: unknown) => e instanceof DagDefinitionError && e.code === "ORCH_DAG_INVALID" && re.test(e.message));
    });
  }
});

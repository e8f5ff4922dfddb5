// Airflow's clock at the edges: the cases of airflow-core/tests/unit/timetables/
// (test_interval_timetable.py, test_trigger_timetable.py) restated as tables: DST gaps and folds
// (New York, Zurich, Lord Howe's 30-minute shift), a zero-length last interval, calendar deltas
// without catchup, run_immediately as a duration, MultipleCronTriggerTimetable, and cron fields
// out of range.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { isOrchError } from "../../src/errors.ts";
import { CronTriggerTimetable, MultipleCronTriggerTimetable } from "../../src/sdk/index.ts";
import type { TimetableSpec } from "../../src/sdk/timetable-spec.ts";
import { CronSchedule } from "../../src/timetables/cron.ts";
import { createTimetable, type DagRunInfo, type DataInterval, type TimeRestriction } from "../../src/timetables/index.ts";

const d = (s: string): Date => new Date(s);
const iso = (x: Date): string => x.toISOString().replace(".000Z", "Z");
const interval = (i: DataInterval) => `[${iso(i.start)}, ${iso(i.end)}]`;
const info = (i: DagRunInfo | null) => (i ? `${interval(i.dataInterval)} after ${iso(i.runAfter)}` : null);
const exact = (at: string) => `[${at}, ${at}] after ${at}`;
const r = (earliest: string | null, catchup: boolean): TimeRestriction => ({ earliest: earliest ? d(earliest) : null, latest: null, catchup });
const cronInterval = (expression: string, timezone: string): TimetableSpec => ({ type: "cron_data_interval", expression, timezone });

const NY = "America/New_York", ZRH = "Europe/Zurich", LHI = "Australia/Lord_Howe";

describe("timetables: the previous tick is strictly earlier, across DST", () => {
  // Around each transition, every 15 minutes for a day: getPrev(t) < t <= getNext(getPrev(t)).
  const cases: [expression: string, timezone: string, from: string][] = [
    ["0 2 * * *", NY, "2024-03-09T18:00Z"], // spring-forward gap: 02:00 does not exist
    ["30 2 * * *", NY, "2024-03-09T18:00Z"],
    ["0 2 * * *", ZRH, "2023-03-25T12:00Z"],
    ["0 2 * * *", LHI, "2024-10-05T00:00Z"], // 02:00 -> 02:30, a 30-minute gap
    ["15 2 * * *", LHI, "2024-10-05T00:00Z"],
    ["0 1 * * *", NY, "2024-11-02T18:00Z"], // autumn fold: 01:00 happens twice
    ["30 1 * * *", NY, "2024-11-02T18:00Z"],
    ["0 2 * * *", ZRH, "2023-10-28T12:00Z"],
    ["0 7-8 * * *", "America/Los_Angeles", "2020-03-07T12:00Z"],
  ];
  for (const [expression, timezone, from] of cases) {
    it(`${expression} in ${timezone} from ${from}`, () => {
      const s = new CronSchedule(expression, timezone);
      for (let t = d(from).getTime(), end = t + 86_400_000 * 1.5; t < end; t += 15 * 60_000) {
        const at = new Date(t);
        const prev = s.getPrev(at);
        assert.ok(prev < at, `getPrev(${iso(at)}) = ${iso(prev)} is not earlier`);
        const next = s.getNext(at);
        assert.ok(next > at, `getNext(${iso(at)}) = ${iso(next)} is not later`);
        assert.ok(s.getNext(prev) <= next, `getNext(getPrev(${iso(at)})) skips past getNext`);
      }
    });
  }
});

describe("timetables: manual runs across DST (test_cron_infer_manual_data_interval_dst)", () => {
  const rows: [name: string, spec: TimetableSpec, runAfter: string, want: string][] = [
    ["new-york-dst-gap", cronInterval("0 2 * * *", NY), "2024-03-10T07:30:00Z", "[2024-03-09T07:00:00Z, 2024-03-10T07:00:00Z]"],
    ["new-york-dst-gap-exact", cronInterval("0 2 * * *", NY), "2024-03-10T07:00:00Z", "[2024-03-09T07:00:00Z, 2024-03-10T07:00:00Z]"],
    ["zurich-dst-gap", cronInterval("0 2 * * *", ZRH), "2023-03-26T01:30:00Z", "[2023-03-25T01:00:00Z, 2023-03-26T01:00:00Z]"],
    ["lord-howe-half-hour-dst-gap", cronInterval("0 2 * * *", LHI), "2024-10-05T15:30:00Z", "[2024-10-04T15:30:00Z, 2024-10-05T15:30:00Z]"],
    // fold=1: the 01:00 tick on the fold day is its second occurrence (06:00Z), not yet at 05:30Z.
    ["new-york-fold", cronInterval("0 1 * * *", NY), "2024-11-03T05:30:00Z", "[2024-11-01T05:00:00Z, 2024-11-02T05:00:00Z]"],
  ];
  for (const [name, spec, runAfter, want] of rows) {
    it(name, () => {
      const i = createTimetable(spec).inferManualDataInterval(d(runAfter));
      assert.equal(interval(i), want);
      assert.ok(i.start < i.end, "zero-length");
      assert.ok(i.end <= d(runAfter), "ends after run_after");
    });
  }

  const after: [name: string, spec: TimetableSpec, runAfter: string, want: string][] = [
    ["new-york-dst-gap", cronInterval("0 2 * * *", NY), "2024-03-10T07:30:00Z", "[2024-03-10T07:00:00Z, 2024-03-11T06:00:00Z] after 2024-03-11T06:00:00Z"],
    ["zurich-dst-gap", cronInterval("0 2 * * *", ZRH), "2023-03-26T01:30:00Z", "[2023-03-26T01:00:00Z, 2023-03-27T00:00:00Z] after 2023-03-27T00:00:00Z"],
  ];
  for (const [name, spec, runAfter, want] of after) {
    it(`the scheduled run after a manual one: ${name}`, () => {
      const tt = createTimetable(spec);
      const manual = tt.inferManualDataInterval(d(runAfter));
      assert.equal(info(tt.nextDagRunInfo({ lastAutomatedDataInterval: manual, restriction: r(null, true), now: d(runAfter) })), want);
    });
  }
});

describe("timetables: no catchup across DST never proposes a future run (test_cron_next_dagrun_info_no_catchup_dst)", () => {
  const rows: [name: string, spec: TimetableSpec, now: string, want: string][] = [
    ["new-york-dst-gap", cronInterval("0 2 * * *", NY), "2024-03-10T07:30:00Z", "[2024-03-09T07:00:00Z, 2024-03-10T07:00:00Z]"],
    ["new-york-dst-gap-exact", cronInterval("0 2 * * *", NY), "2024-03-10T07:00:00Z", "[2024-03-09T07:00:00Z, 2024-03-10T07:00:00Z]"],
    ["zurich-dst-gap", cronInterval("0 2 * * *", ZRH), "2023-03-26T01:30:00Z", "[2023-03-25T01:00:00Z, 2023-03-26T01:00:00Z]"],
    ["lord-howe-half-hour-dst-gap", cronInterval("0 2 * * *", LHI), "2024-10-05T15:30:00Z", "[2024-10-04T15:30:00Z, 2024-10-05T15:30:00Z]"],
    ["new-york-fold", cronInterval("0 1 * * *", NY), "2024-11-03T05:30:00Z", "[2024-11-01T05:00:00Z, 2024-11-02T05:00:00Z]"],
  ];
  for (const [name, spec, now, want] of rows) {
    it(name, () => {
      const got = createTimetable(spec).nextDagRunInfo({ lastAutomatedDataInterval: null, restriction: r(null, false), now: d(now) });
      assert.ok(got, "expected got");
      assert.equal(interval(got.dataInterval), want);
      assert.ok(got.runAfter <= d(now), "run_after in the future");
    });
  }
});

describe("timetables: Zurich's transitions step by step (TestCronIntervalDst)", () => {
  const rows: [name: string, expression: string, earliest: string, want: string[]][] = [
    ["entering, exact", "0 3 * * *", "2023-03-24T00:00Z",
      ["[2023-03-24T02:00:00Z, 2023-03-25T02:00:00Z]", "[2023-03-25T02:00:00Z, 2023-03-26T01:00:00Z]", "[2023-03-26T01:00:00Z, 2023-03-27T01:00:00Z]"]],
    ["entering, skip", "0 2 * * *", "2023-03-24T00:00Z",
      ["[2023-03-24T01:00:00Z, 2023-03-25T01:00:00Z]", "[2023-03-25T01:00:00Z, 2023-03-26T01:00:00Z]", "[2023-03-26T01:00:00Z, 2023-03-27T00:00:00Z]"]],
    ["exiting, exact", "0 3 * * *", "2023-10-27T00:00Z",
      ["[2023-10-27T01:00:00Z, 2023-10-28T01:00:00Z]", "[2023-10-28T01:00:00Z, 2023-10-29T02:00:00Z]", "[2023-10-29T02:00:00Z, 2023-10-30T02:00:00Z]"]],
    ["exiting, fold", "0 2 * * *", "2023-10-27T00:00Z",
      ["[2023-10-27T00:00:00Z, 2023-10-28T00:00:00Z]", "[2023-10-28T00:00:00Z, 2023-10-29T01:00:00Z]", "[2023-10-29T01:00:00Z, 2023-10-30T01:00:00Z]"]],
  ];
  for (const [name, expression, earliest, want] of rows) {
    it(name, () => {
      const tt = createTimetable(cronInterval(expression, ZRH));
      const got: string[] = [];
      let last: DataInterval | null = null;
      for (let i = 0; i < want.length; i++) {
        const next = tt.nextDagRunInfo({ lastAutomatedDataInterval: last, restriction: r(earliest, true), now: d("2024-01-01T00:00Z") });
        assert.ok(next, "expected next");
        got.push(interval(next.dataInterval));
        last = next.dataInterval;
      }
      assert.deepEqual(got, want);
    });
  }
});

describe("timetables: a zero-length last interval does not re-emit its date", () => {
  // A DAG scheduled by CronTriggerTimetable, then switched to CronDataIntervalTimetable.
  for (const catchup of [true, false]) {
    it(`catchup ${catchup}`, () => {
      const tt = createTimetable(cronInterval("0 17 * * *", "UTC"));
      const last = { start: d("2021-09-05T17:00Z"), end: d("2021-09-05T17:00Z") };
      const got = tt.nextDagRunInfo({ lastAutomatedDataInterval: last, restriction: r(null, catchup), now: d("2021-09-07T15:00Z") });
      assert.equal(info(got), "[2021-09-06T17:00:00Z, 2021-09-07T17:00:00Z] after 2021-09-07T17:00:00Z");
    });
  }
});

describe("timetables: calendar deltas without catchup step from start_date", () => {
  const monthly: TimetableSpec = { type: "delta_data_interval", delta: { months: 1 } };
  const yearly: TimetableSpec = { type: "delta_data_interval", delta: { years: 1 } };
  const hourly: TimetableSpec = { type: "delta_data_interval", delta: { hours: 1 } };
  const prior = { start: d("2020-01-01T00:00Z"), end: d("2020-02-01T00:00Z") };
  const rows: [name: string, spec: TimetableSpec, last: DataInterval | null, earliest: string | null, now: string, want: string][] = [
    ["monthly, first run", monthly, null, "2025-01-15T00:00Z", "2026-06-29T00:00Z", "[2026-05-15T00:00:00Z, 2026-06-15T00:00:00Z]"],
    ["monthly, subsequent", monthly, prior, "2025-01-15T00:00Z", "2026-06-29T00:00Z", "[2026-05-15T00:00:00Z, 2026-06-15T00:00:00Z]"],
    ["yearly, first run", yearly, null, "2020-03-10T00:00Z", "2026-06-29T00:00Z", "[2025-03-10T00:00:00Z, 2026-03-10T00:00:00Z]"],
    ["yearly, subsequent", yearly, prior, "2020-03-10T00:00Z", "2026-06-29T00:00Z", "[2025-03-10T00:00:00Z, 2026-03-10T00:00:00Z]"],
    ["monthly without start_date ends now", monthly, null, null, "2026-06-29T12:00Z", "[2026-05-29T12:00:00Z, 2026-06-29T12:00:00Z]"],
    // Jan 31 -> Feb 28 -> Mar 28 -> ... : the 28th sticks (one jump of 16 months would give the 31st or 30th).
    ["a 31st clamps to the 28th and stays there", monthly, null, "2025-01-31T00:00Z", "2026-06-29T00:00Z", "[2026-05-28T00:00:00Z, 2026-06-28T00:00:00Z]"],
    ["start_date in the future", monthly, null, "2027-01-31T00:00Z", "2026-06-29T00:00Z", "[2027-01-31T00:00:00Z, 2027-02-28T00:00:00Z]"],
    // Fixed lengths keep Airflow's epoch grid: the interval ends at now rounded down.
    ["hourly timedelta: ends at now", hourly, null, "2021-09-04T00:00Z", "2021-09-07T00:00Z", "[2021-09-06T23:00:00Z, 2021-09-07T00:00:00Z]"],
  ];
  for (const [name, spec, last, earliest, now, want] of rows) {
    it(name, () => {
      const got = createTimetable(spec).nextDagRunInfo({ lastAutomatedDataInterval: last, restriction: r(earliest, false), now: d(now) });
      assert.ok(got, "expected got");
      assert.equal(interval(got.dataInterval), want);
    });
  }
});

describe("timetables: run_immediately (test_run_immediately)", () => {
  const rows: [runImmediately: boolean | { minutes: number }, now: string, want: string][] = [
    [true, "2024-08-15T12:05Z", exact("2024-08-15T03:00:00Z")],
    [false, "2024-08-15T03:05Z", exact("2024-08-15T03:00:00Z")],
    [false, "2024-08-15T12:05Z", exact("2024-08-16T03:00:00Z")],
    [{ minutes: 10 }, "2024-08-15T03:05Z", exact("2024-08-15T03:00:00Z")],
    [{ minutes: 10 }, "2024-08-15T12:05Z", exact("2024-08-16T03:00:00Z")],
  ];
  for (const catchup of [true, false]) {
    for (const [runImmediately, now, want] of rows) {
      it(`run_immediately ${JSON.stringify(runImmediately)} at ${now}, catchup ${catchup}`, () => {
        const spec = CronTriggerTimetable("0 3 * * *", { run_immediately: runImmediately }).spec;
        assert.equal(info(createTimetable(spec).nextDagRunInfo({ lastAutomatedDataInterval: null, restriction: r(null, catchup), now: d(now) })), want);
      });
    }
    it(`a fast DAG falls back to the 5-minute buffer, catchup ${catchup}`, () => {
      const spec: TimetableSpec = { type: "cron_trigger", expression: "*/10 3 * * *", timezone: "UTC", run_immediately: false };
      const got = createTimetable(spec).nextDagRunInfo({ lastAutomatedDataInterval: null, restriction: r(null, catchup), now: d("2024-08-15T03:05Z") });
      assert.equal(info(got), exact("2024-08-15T03:00:00Z"));
    });
  }
});

describe("timetables: MultipleCronTriggerTimetable", () => {
  const spec = MultipleCronTriggerTimetable("@hourly", "30 * * * *", { timezone: "UTC" }).spec;
  const tt = createTimetable(spec);
  const point = (at: string): DataInterval => ({ start: d(at), end: d(at) });
  const rows: [name: string, last: DataInterval | null, restriction: TimeRestriction, now: string, want: string][] = [
    // test_multi_run_first
    ["first run on a tick", null, r("2025-01-01T00:00Z", true), "2025-06-01T00:00Z", exact("2025-01-01T00:00:00Z")],
    ["first run between ticks takes the nearer", null, r("2025-01-01T00:05Z", true), "2025-06-01T00:00Z", exact("2025-01-01T00:30:00Z")],
    ["first run after :30 takes the hour", null, r("2025-01-01T00:35Z", true), "2025-06-01T00:00Z", exact("2025-01-01T01:00:00Z")],
    // test_multi_run_next_catchup
    ["catchup after :00", point("2025-01-01T00:00Z"), r(null, true), "2025-06-01T00:00Z", exact("2025-01-01T00:30:00Z")],
    ["catchup after :30", point("2025-01-01T00:30Z"), r(null, true), "2025-06-01T00:00Z", exact("2025-01-01T01:00:00Z")],
    // test_multi_run_next_no_catchup
    ["no catchup: exact", point("2025-02-01T00:00Z"), r(null, false), "2025-02-01T00:30Z", exact("2025-02-01T00:30:00Z")],
    ["no catchup: the closest past tick", point("2025-02-01T00:00Z"), r(null, false), "2025-02-01T01:59Z", exact("2025-02-01T01:30:00Z")],
    ["no catchup: no past tick, the closest future one", point("2025-02-01T00:00Z"), r(null, false), "2025-02-01T00:29Z", exact("2025-02-01T00:30:00Z")],
  ];
  for (const [name, last, restriction, now, want] of rows) {
    it(name, () => {
      assert.equal(info(tt.nextDagRunInfo({ lastAutomatedDataInterval: last, restriction, now: d(now) })), want);
    });
  }
  it("summary lists the expressions; the SDK validates each", () => {
    assert.equal(tt.summary, "0 * * * *, 30 * * * *");
    assert.throws(() => MultipleCronTriggerTimetable("0 * * * *", "0 0 1 13 *"), (e: unknown) => e instanceof Error && /month field "13" holds 13/.test(e.message));
  });
});

describe("timetables: a cron field out of range names the field and the value written", () => {
  const rows: [expression: string, field: string, value: number][] = [
    ["0 0 1 13 0", "month", 13], // croner alone says "Invalid value for month: 12"
    ["61 * * * *", "minute", 61],
    ["0 24 * * *", "hour", 24],
    ["0 0 32 * *", "day of month", 32],
    ["0 0 0 * *", "day of month", 0],
    ["0 0 * * 8", "day of week", 8],
    ["0 0 1-40 * *", "day of month", 40],
  ];
  for (const [expression, field, value] of rows) {
    it(expression, () => {
      const escaped = expression.replace(/[*+?^${}()|[\]\\/.-]/g, "\\$&");
      const want = new RegExp(`the ${field} field "[^"]*" holds ${value}, outside .*\\[${escaped}\\] is not acceptable, out of range`);
      assert.throws(() => createTimetable({ type: "cron_trigger", expression, timezone: "UTC" }).validate(), (e: unknown) => isOrchError(e, "ORCH_DAG_INVALID") && want.test(e.message));
      assert.throws(() => CronTriggerTimetable(expression), (e: unknown) => e instanceof Error && want.test(e.message));
    });
  }
});

// Case tables for src/timetables, with expectations derived from airflow/timetables/{interval,
// trigger,simple,_cron,_delta}.py (each case names the code path it exercises).
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { createTimetable, listDagRunInfos } from "../../src/timetables/index.ts";
import type { DagRunInfo, DataInterval, TimeRestriction } from "../../src/timetables/index.ts";
import type { TimetableSpec } from "../../src/sdk/timetable-spec.ts";
import { isOrchError } from "../../src/errors.ts";

const d = (s: string): Date => new Date(s);
const iso = (x: Date): string => x.toISOString().replace(".000Z", "Z");
const fmt = (i: DagRunInfo | null): string | null =>
  i && `${iso(i.logicalDate)} [${iso(i.dataInterval.start)}, ${iso(i.dataInterval.end)}] after ${iso(i.runAfter)}`;

const daily: TimetableSpec = { type: "cron_data_interval", expression: "@daily", timezone: "UTC" };
const dailyTrigger: TimetableSpec = { type: "cron_trigger", expression: "0 0 * * *", timezone: "UTC" };
const r = (earliest: string | null, catchup: boolean, latest: string | null = null): TimeRestriction => ({
  earliest: earliest === null ? null : d(earliest),
  latest: latest === null ? null : d(latest),
  catchup,
});
const last = (start: string, end: string): DataInterval => ({ start: d(start), end: d(end) });

interface NextCase {
  name: string;
  spec: TimetableSpec;
  last: DataInterval | null;
  restriction: TimeRestriction;
  now: string;
  want: string | null;
}

const nextCases: NextCase[] = [
  // _DataIntervalTimetable.next_dagrun_info, catchup=True: first run at start_date aligned to the schedule.
  { name: "data interval: first run at start_date", spec: daily, last: null, restriction: r("2024-01-01T00:00Z", true),
    now: "2024-03-10T12:00Z", want: "2024-01-01T00:00:00Z [2024-01-01T00:00:00Z, 2024-01-02T00:00:00Z] after 2024-01-02T00:00:00Z" },
  { name: "data interval: start_date off the schedule aligns to the next tick", spec: daily, last: null,
    restriction: r("2024-01-01T05:00Z", true), now: "2024-03-10T12:00Z",
    want: "2024-01-02T00:00:00Z [2024-01-02T00:00:00Z, 2024-01-03T00:00:00Z] after 2024-01-03T00:00:00Z" },
  { name: "data interval: catchup continues from the last interval", spec: daily,
    last: last("2024-01-01T00:00Z", "2024-01-02T00:00Z"), restriction: r("2024-01-01T00:00Z", true), now: "2024-03-10T12:00Z",
    want: "2024-01-02T00:00:00Z [2024-01-02T00:00:00Z, 2024-01-03T00:00:00Z] after 2024-01-03T00:00:00Z" },
  // CronDataIntervalTimetable._skip_to_latest: the latest complete interval.
  { name: "data interval: no catchup skips to the latest complete interval", spec: daily,
    last: last("2024-01-01T00:00Z", "2024-01-02T00:00Z"), restriction: r("2024-01-01T00:00Z", false), now: "2024-03-10T12:00Z",
    want: "2024-03-09T00:00:00Z [2024-03-09T00:00:00Z, 2024-03-10T00:00:00Z] after 2024-03-10T00:00:00Z" },
  { name: "data interval: no catchup with now exactly on a tick", spec: daily, last: null,
    restriction: r("2024-01-01T00:00Z", false), now: "2024-03-10T00:00Z",
    want: "2024-03-09T00:00:00Z [2024-03-09T00:00:00Z, 2024-03-10T00:00:00Z] after 2024-03-10T00:00:00Z" },
  { name: "data interval: no catchup, start_date in the future wins", spec: daily, last: null,
    restriction: r("2024-06-01T00:00Z", false), now: "2024-03-10T12:00Z",
    want: "2024-06-01T00:00:00Z [2024-06-01T00:00:00Z, 2024-06-02T00:00:00Z] after 2024-06-02T00:00:00Z" },
  { name: "data interval: end_date before the next start", spec: daily,
    last: last("2024-01-01T00:00Z", "2024-01-02T00:00Z"), restriction: r("2024-01-01T00:00Z", true, "2024-01-01T12:00Z"),
    now: "2024-03-10T12:00Z", want: null },
  { name: "data interval: end_date is inclusive", spec: daily,
    last: last("2024-01-01T00:00Z", "2024-01-02T00:00Z"), restriction: r("2024-01-01T00:00Z", true, "2024-01-02T00:00Z"),
    now: "2024-03-10T12:00Z", want: "2024-01-02T00:00:00Z [2024-01-02T00:00:00Z, 2024-01-03T00:00:00Z] after 2024-01-03T00:00:00Z" },
  { name: "data interval: no start_date and catchup -> nothing", spec: daily, last: null, restriction: r(null, true),
    now: "2024-03-10T12:00Z", want: null },
  { name: "data interval: monthly", spec: { type: "cron_data_interval", expression: "@monthly", timezone: "UTC" },
    last: last("2024-01-01T00:00Z", "2024-02-01T00:00Z"), restriction: r("2024-01-01T00:00Z", true), now: "2024-06-10T00:00Z",
    want: "2024-02-01T00:00:00Z [2024-02-01T00:00:00Z, 2024-03-01T00:00:00Z] after 2024-03-01T00:00:00Z" },
  // _TriggerTimetable.next_dagrun_info.
  { name: "trigger: first run at start_date tick", spec: dailyTrigger, last: null, restriction: r("2024-01-01T00:00Z", true),
    now: "2024-03-10T12:00Z", want: "2024-01-01T00:00:00Z [2024-01-01T00:00:00Z, 2024-01-01T00:00:00Z] after 2024-01-01T00:00:00Z" },
  { name: "trigger: catchup takes the tick after the last run", spec: dailyTrigger,
    last: last("2024-01-01T00:00Z", "2024-01-01T00:00Z"), restriction: r("2024-01-01T00:00Z", true), now: "2024-03-10T12:00Z",
    want: "2024-01-02T00:00:00Z [2024-01-02T00:00:00Z, 2024-01-02T00:00:00Z] after 2024-01-02T00:00:00Z" },
  { name: "trigger: no catchup takes the latest tick <= now", spec: dailyTrigger,
    last: last("2024-03-05T00:00Z", "2024-03-05T00:00Z"), restriction: r("2024-01-01T00:00Z", false), now: "2024-03-10T12:00Z",
    want: "2024-03-10T00:00:00Z [2024-03-10T00:00:00Z, 2024-03-10T00:00:00Z] after 2024-03-10T00:00:00Z" },
  { name: "trigger: no catchup after today's run waits for the next tick", spec: dailyTrigger,
    last: last("2024-03-10T00:00Z", "2024-03-10T00:00Z"), restriction: r("2024-01-01T00:00Z", false), now: "2024-03-10T12:00Z",
    want: "2024-03-11T00:00:00Z [2024-03-11T00:00:00Z, 2024-03-11T00:00:00Z] after 2024-03-11T00:00:00Z" },
  { name: "trigger: interval makes the data interval [tick - interval, tick]",
    spec: { type: "cron_trigger", expression: "0 0 * * *", timezone: "UTC", interval: { hours: 6 } }, last: null,
    restriction: r("2024-01-01T00:00Z", true), now: "2024-03-10T12:00Z",
    want: "2023-12-31T18:00:00Z [2023-12-31T18:00:00Z, 2024-01-01T00:00:00Z] after 2024-01-01T00:00:00Z" },
  { name: "trigger: end_date before the tick", spec: dailyTrigger, last: last("2024-01-01T00:00Z", "2024-01-01T00:00Z"),
    restriction: r("2024-01-01T00:00Z", true, "2024-01-01T23:00Z"), now: "2024-03-10T12:00Z", want: null },
  // CronTriggerTimetable._calc_first_run: no start_date; buffer max(gap / 10, 5 min) = 2h24m for daily.
  { name: "trigger: no start_date, now just after a tick runs that tick", spec: dailyTrigger, last: null,
    restriction: r(null, true), now: "2024-03-10T01:00Z",
    want: "2024-03-10T00:00:00Z [2024-03-10T00:00:00Z, 2024-03-10T00:00:00Z] after 2024-03-10T00:00:00Z" },
  { name: "trigger: no start_date, now well after a tick waits", spec: dailyTrigger, last: null,
    restriction: r(null, true), now: "2024-03-10T12:00Z",
    want: "2024-03-11T00:00:00Z [2024-03-11T00:00:00Z, 2024-03-11T00:00:00Z] after 2024-03-11T00:00:00Z" },
  { name: "trigger: run_immediately takes the past tick",
    spec: { type: "cron_trigger", expression: "0 0 * * *", timezone: "UTC", run_immediately: true }, last: null,
    restriction: r(null, true), now: "2024-03-10T12:00Z",
    want: "2024-03-10T00:00:00Z [2024-03-10T00:00:00Z, 2024-03-10T00:00:00Z] after 2024-03-10T00:00:00Z" },
  // Delta timetables (_delta.py): aligned to start_date, calendar-aware months.
  { name: "delta data interval: one day from start_date", spec: { type: "delta_data_interval", delta: { days: 1 } },
    last: null, restriction: r("2024-01-01T05:00Z", true), now: "2024-03-10T12:00Z",
    want: "2024-01-01T05:00:00Z [2024-01-01T05:00:00Z, 2024-01-02T05:00:00Z] after 2024-01-02T05:00:00Z" },
  { name: "delta data interval: no catchup rounds now down to the delta", spec: { type: "delta_data_interval", delta: { days: 1 } },
    last: null, restriction: r("2024-01-01T00:00Z", false), now: "2024-03-10T12:00Z",
    want: "2024-03-09T00:00:00Z [2024-03-09T00:00:00Z, 2024-03-10T00:00:00Z] after 2024-03-10T00:00:00Z" },
  { name: "delta data interval: months clamp to the month's end", spec: { type: "delta_data_interval", delta: { months: 1 } },
    last: last("2023-12-31T00:00Z", "2024-01-31T00:00Z"), restriction: r("2023-12-31T00:00Z", true), now: "2024-06-10T00:00Z",
    want: "2024-01-31T00:00:00Z [2024-01-31T00:00:00Z, 2024-02-29T00:00:00Z] after 2024-02-29T00:00:00Z" },
  { name: "delta trigger: every 6 hours from start_date", spec: { type: "delta_trigger", delta: { hours: 6 } },
    last: last("2024-01-01T03:00Z", "2024-01-01T03:00Z"), restriction: r("2024-01-01T03:00Z", true), now: "2024-03-10T12:00Z",
    want: "2024-01-01T09:00:00Z [2024-01-01T09:00:00Z, 2024-01-01T09:00:00Z] after 2024-01-01T09:00:00Z" },
  { name: "delta trigger: no start_date runs now", spec: { type: "delta_trigger", delta: { hours: 6 } }, last: null,
    restriction: r(null, false), now: "2024-03-10T12:00Z",
    want: "2024-03-10T12:00:00Z [2024-03-10T12:00:00Z, 2024-03-10T12:00:00Z] after 2024-03-10T12:00:00Z" },
  // simple.py.
  { name: "once: at start_date whatever catchup says", spec: { type: "once" }, last: null, restriction: r("2024-01-01T00:00Z", false),
    now: "2024-03-10T12:00Z", want: "2024-01-01T00:00:00Z [2024-01-01T00:00:00Z, 2024-01-01T00:00:00Z] after 2024-01-01T00:00:00Z" },
  { name: "once: never twice", spec: { type: "once" }, last: last("2024-01-01T00:00Z", "2024-01-01T00:00Z"),
    restriction: r("2024-01-01T00:00Z", true), now: "2024-03-10T12:00Z", want: null },
  { name: "once: start_date after end_date", spec: { type: "once" }, last: null,
    restriction: r("2024-01-02T00:00Z", true, "2024-01-01T00:00Z"), now: "2024-03-10T12:00Z", want: null },
  { name: "null: never", spec: { type: "null" }, last: null, restriction: r("2024-01-01T00:00Z", true), now: "2024-03-10T12:00Z", want: null },
  { name: "asset: never by time", spec: { type: "asset", condition: { type: "asset", asset: { name: "a", uri: "file:///a" } } },
    last: null, restriction: r("2024-01-01T00:00Z", true), now: "2024-03-10T12:00Z", want: null },
];

describe("timetables: nextDagRunInfo", () => {
  for (const c of nextCases) {
    it(c.name, () => {
      const info = createTimetable(c.spec).nextDagRunInfo({ lastAutomatedDataInterval: c.last, restriction: c.restriction, now: d(c.now) });
      assert.equal(fmt(info), c.want);
    });
  }
});

// DST: _cron.py makes non-hourly ticks aware with fold=1 (gap -> moved forward by the gap; fold ->
// the second occurrence) and moves every-hour crons by elapsed time.
const dstCases: { name: string; expression: string; timezone: string; start: string; end: string; want: string[] }[] = [
  { name: "Zurich spring-forward gap: 02:30 runs at 03:30 CEST", expression: "30 2 * * *", timezone: "Europe/Zurich",
    start: "2024-03-30T00:00Z", end: "2024-04-01T12:00Z", want: ["2024-03-30T01:30:00Z", "2024-03-31T01:30:00Z", "2024-04-01T00:30:00Z"] },
  { name: "Zurich fall-back fold: 02:30 runs once, at the second (CET) occurrence", expression: "30 2 * * *", timezone: "Europe/Zurich",
    start: "2024-10-26T00:00Z", end: "2024-10-28T12:00Z", want: ["2024-10-26T00:30:00Z", "2024-10-27T01:30:00Z", "2024-10-28T01:30:00Z"] },
  { name: "New York fall-back fold: 01:30 runs at 01:30 EST", expression: "30 1 * * *", timezone: "America/New_York",
    start: "2024-11-02T00:00Z", end: "2024-11-04T12:00Z", want: ["2024-11-02T05:30:00Z", "2024-11-03T06:30:00Z", "2024-11-04T06:30:00Z"] },
  { name: "New York fall-back fold: 01:00 runs at 01:00 EST", expression: "0 1 * * *", timezone: "America/New_York",
    start: "2024-11-02T00:00Z", end: "2024-11-04T12:00Z", want: ["2024-11-02T05:00:00Z", "2024-11-03T06:00:00Z", "2024-11-04T06:00:00Z"] },
  { name: "New York spring-forward gap: 02:30 runs at 03:30 EDT", expression: "30 2 * * *", timezone: "America/New_York",
    start: "2024-03-09T00:00Z", end: "2024-03-11T12:00Z", want: ["2024-03-09T07:30:00Z", "2024-03-10T07:30:00Z", "2024-03-11T06:30:00Z"] },
  { name: "hourly through New York's fall-back: every real hour, the repeated hour twice", expression: "0 * * * *",
    timezone: "America/New_York", start: "2024-11-03T04:00Z", end: "2024-11-03T07:00Z",
    want: ["2024-11-03T04:00:00Z", "2024-11-03T05:00:00Z", "2024-11-03T06:00:00Z", "2024-11-03T07:00:00Z"] },
  { name: "hourly through Zurich's spring-forward: every real hour, no run at the skipped hour", expression: "0 * * * *",
    timezone: "Europe/Zurich", start: "2024-03-30T23:00Z", end: "2024-03-31T02:00Z",
    want: ["2024-03-30T23:00:00Z", "2024-03-31T00:00:00Z", "2024-03-31T01:00:00Z", "2024-03-31T02:00:00Z"] },
];

describe("timetables: DST gaps and folds (cron_trigger)", () => {
  for (const c of dstCases) {
    it(c.name, () => {
      const tt = createTimetable({ type: "cron_trigger", expression: c.expression, timezone: c.timezone });
      const got = listDagRunInfos(tt, { start: d(c.start), end: d(c.end) }).map((i) => iso(i.logicalDate));
      assert.deepEqual(got, c.want);
    });
  }
  it("data interval across Zurich's spring-forward: [previous tick, tick)", () => {
    const tt = createTimetable({ type: "cron_data_interval", expression: "30 2 * * *", timezone: "Europe/Zurich" });
    const infos = listDagRunInfos(tt, { start: d("2024-03-30T00:00Z"), end: d("2024-03-31T12:00Z") });
    assert.deepEqual(infos.map(fmt), [
      "2024-03-30T01:30:00Z [2024-03-30T01:30:00Z, 2024-03-31T01:30:00Z] after 2024-03-31T01:30:00Z",
      "2024-03-31T01:30:00Z [2024-03-31T01:30:00Z, 2024-04-01T00:30:00Z] after 2024-04-01T00:30:00Z",
    ]);
  });
});

describe("timetables: iterateDagRunInfos (backfill)", () => {
  const cases: { name: string; spec: TimetableSpec; start: string; end: string; restriction?: TimeRestriction; want: string[] }[] = [
    { name: "monthly data intervals whose logical date is in range", spec: { type: "cron_data_interval", expression: "@monthly", timezone: "UTC" },
      start: "2024-01-15T00:00Z", end: "2024-04-01T00:00Z", want: ["2024-02-01T00:00:00Z", "2024-03-01T00:00:00Z", "2024-04-01T00:00:00Z"] },
    { name: "daily trigger, both ends inclusive", spec: dailyTrigger, start: "2024-01-01T00:00Z", end: "2024-01-03T00:00Z",
      want: ["2024-01-01T00:00:00Z", "2024-01-02T00:00:00Z", "2024-01-03T00:00:00Z"] },
    { name: "clamped to the DAG's end_date", spec: dailyTrigger, start: "2024-01-01T00:00Z", end: "2024-01-05T00:00Z",
      restriction: r("2023-01-01T00:00Z", true, "2024-01-02T00:00Z"), want: ["2024-01-01T00:00:00Z", "2024-01-02T00:00:00Z"] },
    { name: "delta months aligned to start", spec: { type: "delta_data_interval", delta: { months: 1 } }, start: "2024-01-31T00:00Z",
      end: "2024-04-30T00:00Z", want: ["2024-01-31T00:00:00Z", "2024-02-29T00:00:00Z", "2024-03-29T00:00:00Z", "2024-04-29T00:00:00Z"] },
    { name: "once yields one run", spec: { type: "once" }, start: "2024-01-01T00:00Z", end: "2024-02-01T00:00Z", want: ["2024-01-01T00:00:00Z"] },
    { name: "null yields nothing", spec: { type: "null" }, start: "2024-01-01T00:00Z", end: "2024-02-01T00:00Z", want: [] },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const got = listDagRunInfos(createTimetable(c.spec), { start: d(c.start), end: d(c.end), restriction: c.restriction });
      assert.deepEqual(got.map((i) => iso(i.logicalDate)), c.want);
    });
  }
});

describe("timetables: manual runs, summaries, validation", () => {
  const manual: { spec: TimetableSpec; runAfter: string; want: [string, string] }[] = [
    // CronDataIntervalTimetable.infer_manual_data_interval: the last complete period.
    { spec: daily, runAfter: "2024-01-25T01:00Z", want: ["2024-01-24T00:00:00Z", "2024-01-25T00:00:00Z"] },
    { spec: daily, runAfter: "2024-01-25T00:00Z", want: ["2024-01-24T00:00:00Z", "2024-01-25T00:00:00Z"] },
    { spec: dailyTrigger, runAfter: "2024-01-25T01:00Z", want: ["2024-01-25T01:00:00Z", "2024-01-25T01:00:00Z"] },
    { spec: { type: "delta_data_interval", delta: { hours: 1 } }, runAfter: "2024-01-25T01:30Z", want: ["2024-01-25T00:30:00Z", "2024-01-25T01:30:00Z"] },
    { spec: { type: "null" }, runAfter: "2024-01-25T01:30Z", want: ["2024-01-25T01:30:00Z", "2024-01-25T01:30:00Z"] },
  ];
  for (const c of manual) {
    it(`inferManualDataInterval ${c.spec.type} at ${c.runAfter}`, () => {
      const i = createTimetable(c.spec).inferManualDataInterval(d(c.runAfter));
      assert.deepEqual([iso(i.start), iso(i.end)], c.want);
    });
  }

  const shown: { spec: TimetableSpec; summary: string; description: string; periodic: boolean; canBeScheduled: boolean }[] = [
    { spec: daily, summary: "0 0 * * *", description: "At 00:00", periodic: true, canBeScheduled: true },
    { spec: { type: "cron_trigger", expression: "@weekly", timezone: "UTC" }, summary: "0 0 * * 0", description: "At 00:00, only on Sunday", periodic: true, canBeScheduled: true },
    { spec: { type: "cron_trigger", expression: "*/5 * * * *", timezone: "UTC" }, summary: "*/5 * * * *", description: "Every 5 minutes", periodic: true, canBeScheduled: true },
    { spec: { type: "cron_trigger", expression: "@quarterly", timezone: "UTC" }, summary: "0 0 1 */3 *", description: "At 00:00, on day 1 of the month, every 3 months", periodic: true, canBeScheduled: true },
    { spec: { type: "delta_trigger", delta: { days: 1 } }, summary: "1 day, 0:00:00", description: "", periodic: true, canBeScheduled: true },
    { spec: { type: "delta_data_interval", delta: { months: 1 } }, summary: "relativedelta(months=+1)", description: "", periodic: true, canBeScheduled: true },
    { spec: { type: "once" }, summary: "@once", description: "Once, as soon as possible", periodic: false, canBeScheduled: true },
    { spec: { type: "null" }, summary: "None", description: "Never, external triggers only", periodic: false, canBeScheduled: false },
  ];
  for (const c of shown) {
    it(`summary of ${JSON.stringify(c.spec)}`, () => {
      const tt = createTimetable(c.spec);
      assert.deepEqual([tt.summary, tt.description, tt.periodic, tt.canBeScheduled], [c.summary, c.description, c.periodic, c.canBeScheduled]);
      tt.validate();
    });
  }

  const invalid: { spec: TimetableSpec; mentions: string }[] = [
    { spec: { type: "cron_trigger", expression: "61 * * * *", timezone: "UTC" }, mentions: "61 * * * *" },
    { spec: { type: "cron_data_interval", expression: "0 0 * *", timezone: "UTC" }, mentions: "0 0 * *" },
    { spec: { type: "cron_data_interval", expression: "0 0 * * *", timezone: "Mars/Olympus" }, mentions: "Mars/Olympus" },
    { spec: { type: "delta_trigger", delta: { days: 0 } }, mentions: "must be positive" },
    { spec: { type: "delta_data_interval", delta: { months: -1 } }, mentions: "must be positive" },
  ];
  for (const c of invalid) {
    it(`validate rejects ${JSON.stringify(c.spec)}`, () => {
      assert.throws(() => createTimetable(c.spec).validate(), (e: unknown) => isOrchError(e, "ORCH_DAG_INVALID") && e.message.includes(c.mentions));
    });
  }
});

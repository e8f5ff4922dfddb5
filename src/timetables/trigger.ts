// Trigger timetables (airflow/timetables/trigger.py): CronTriggerTimetable and DeltaTriggerTimetable.
// A run at each tick; data interval [tick - interval, tick] (interval defaults to 0), so the
// logical date (= data interval start, as everywhere in Airflow) is the tick when interval is 0.

import type { Duration } from "../sdk/timetable-spec.ts";
import type { DagRunInfo, NextDagRunInfoArgs, Timetable } from "./types.ts";
import { intervalRunInfo, maxDate } from "./types.ts";
import type { Schedule } from "./schedule.ts";
import { cronSchedule, deltaSchedule } from "./schedule.ts";
import { describeCron } from "./describe.ts";
import { addDuration, durationSummary, validateDuration } from "./delta.ts";

/** _TriggerTimetable.next_dagrun_info. */
function nextTriggerInfo(
  s: Schedule,
  interval: Duration,
  calcFirstRun: (now: Date) => Date,
  { lastAutomatedDataInterval: last, restriction, now }: NextDagRunInfoArgs,
): DagRunInfo | null {
  let next: Date;
  if (restriction.catchup) {
    if (last !== null) next = s.getNext(last.end);
    else if (restriction.earliest === null) next = calcFirstRun(now);
    else next = s.alignToNext(restriction.earliest);
  } else {
    // Without catchup: the latest tick at or before now, unless the last run or start_date is later.
    const candidates = [s.alignToPrev(now)];
    if (last !== null) candidates.push(s.getNext(last.end));
    else if (restriction.earliest === null) candidates.push(calcFirstRun(now));
    if (restriction.earliest !== null) candidates.push(s.alignToNext(restriction.earliest));
    next = maxDate(...candidates);
  }
  if (restriction.latest !== null && restriction.latest < next) return null;
  return intervalRunInfo(addDuration(next, interval, -1), next);
}

const FIVE_MINUTES = 300_000;

export function cronTriggerTimetable(
  expression: string,
  timezone: string,
  interval: Duration = {},
  runImmediately: boolean = false,
): Timetable {
  const s = cronSchedule(expression, timezone);
  // CronTriggerTimetable._calc_first_run (only without start_date): run the past tick when
  // run_immediately is True; otherwise when now is within max(10% of the gap, 5 minutes) of it.
  // Airflow computes that buffer for run_immediately=False too (only `is True` short-circuits).
  const calcFirstRun = (now: Date): Date => {
    const past = s.alignToPrev(now);
    const next = s.alignToNext(now);
    if (runImmediately) return past;
    const buffer = Math.max((next.getTime() - past.getTime()) / 10, FIVE_MINUTES);
    return now.getTime() - past.getTime() <= buffer ? past : next;
  };
  return {
    summary: s.expression,
    description: describeCron(s.expression),
    periodic: true,
    canBeScheduled: true,
    nextDagRunInfo: (args) => nextTriggerInfo(s, interval, calcFirstRun, args),
    inferManualDataInterval: (runAfter) => ({ start: addDuration(runAfter, interval, -1), end: runAfter }),
    validate: () => void s.cron(),
  };
}

export function deltaTriggerTimetable(delta: Duration, interval: Duration = {}): Timetable {
  const s = deltaSchedule(delta);
  return {
    summary: durationSummary(delta),
    description: "",
    periodic: true,
    canBeScheduled: true,
    // DeltaTriggerTimetable._calc_first_run: _align_to_prev(now), i.e. now.
    nextDagRunInfo: (args) => nextTriggerInfo(s, interval, (now) => now, args),
    inferManualDataInterval: (runAfter) => ({ start: addDuration(runAfter, interval, -1), end: runAfter }),
    validate: () => validateDuration(delta),
  };
}

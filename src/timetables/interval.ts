// Data-interval timetables (airflow/timetables/interval.py): CronDataIntervalTimetable and
// DeltaDataIntervalTimetable. Each run covers [start, end) and runs after `end`; logical date = start.

import type { Duration } from "../sdk/timetable-spec.ts";
import type { DataInterval, NextDagRunInfoArgs, DagRunInfo, Timetable } from "./types.ts";
import { intervalRunInfo, maxDate } from "./types.ts";
import type { Schedule } from "./schedule.ts";
import { cronSchedule, deltaSchedule } from "./schedule.ts";
import { describeCron } from "./describe.ts";
import { addDuration, durationSummary, isCalendarAware, roughSeconds, validateDuration } from "./delta.ts";

/** _DataIntervalTimetable.next_dagrun_info, with the subclass's _skip_to_latest. */
function nextIntervalInfo(
  s: Schedule,
  skipToLatest: (earliest: Date | null, now: Date) => Date,
  { lastAutomatedDataInterval: last, restriction, now }: NextDagRunInfoArgs,
): DagRunInfo | null {
  let earliest = restriction.earliest;
  if (!restriction.catchup) earliest = skipToLatest(earliest, now);
  else if (earliest !== null) earliest = s.alignToNext(earliest);
  let start: Date;
  if (last === null) {
    // First run: the first time matching the schedule; its interval is created retrospectively.
    if (earliest === null) return null;
    start = earliest;
  } else {
    // Re-aligning the last end matters when the DAG's schedule changed since that run.
    const alignedEnd = s.alignToPrev(last.end);
    start = earliest !== null ? maxDate(alignedEnd, earliest) : alignedEnd;
  }
  // A zero-length last interval (left by a trigger timetable before the DAG switched to this one)
  // aligns onto its own start: proposing it again would name a run that exists, and the
  // scheduler would stop on "already exists" for good. Move past it.
  if (last !== null && last.start.getTime() === last.end.getTime() && start.getTime() === last.start.getTime()) {
    start = s.getNext(start);
  }
  if (restriction.latest !== null && start > restriction.latest) return null;
  return intervalRunInfo(start, s.getNext(start));
}

export function cronDataIntervalTimetable(expression: string, timezone: string): Timetable {
  const s = cronSchedule(expression, timezone);
  // CronDataIntervalTimetable._skip_to_latest: the latest complete interval. When `now` is exactly a
  // tick, the interval ending now is due; otherwise the one that ended at the last tick.
  const skipToLatest = (earliest: Date | null, now: Date): Date => {
    const lastStart = s.getPrev(now);
    const nextStart = s.getNext(lastStart);
    const newStart = nextStart.getTime() === now.getTime() ? lastStart : s.getPrev(lastStart);
    return earliest === null ? newStart : maxDate(newStart, s.alignToNext(earliest));
  };
  return {
    summary: s.expression,
    description: describeCron(s.expression),
    periodic: true,
    canBeScheduled: true,
    nextDagRunInfo: (args) => nextIntervalInfo(s, skipToLatest, args),
    inferManualDataInterval(runAfter: Date): DataInterval {
      // The last complete period before runAfter: a daily DAG triggered at 01:00 on the 25th gets
      // [24th 00:00, 25th 00:00).
      const end = s.alignToPrev(runAfter);
      return { start: s.getPrev(end), end };
    },
    validate: () => void s.cron(),
  };
}

/** The start of the latest whole period before `now` on the calendar grid that starts at
 *  `earliest`, one delta at a time: a 31st clamps to the 28th in February and stays there, as
 *  relativedelta steps do (Jan 31 -> Feb 28 -> Mar 28), which one multiplied jump would not. */
function latestCalendarStart(earliest: Date, delta: Duration, now: Date): Date {
  let start = earliest;
  for (let next = addDuration(start, delta); addDuration(next, delta) <= now; next = addDuration(next, delta)) start = next;
  return start;
}

export function deltaDataIntervalTimetable(delta: Duration): Timetable {
  const s = deltaSchedule(delta);
  const calendar = isCalendarAware(delta);
  // DeltaDataIntervalTimetable._skip_to_latest. Months and years have no fixed length: the runs
  // stay on start_date's calendar grid (without a start_date, the interval ends now). Fixed
  // deltas: `now` rounded down to a multiple of the delta from the epoch, minus one delta.
  const skipToLatest = (earliest: Date | null, now: Date): Date => {
    if (calendar) {
      if (earliest === null) return s.getPrev(now);
      return earliest > now ? earliest : latestCalendarStart(earliest, delta, now);
    }
    const stepMs = roughSeconds(delta) * 1000;
    const rounded = new Date(now.getTime() - (now.getTime() % stepMs));
    const newStart = s.getPrev(rounded);
    return earliest === null ? newStart : maxDate(newStart, earliest);
  };
  return {
    summary: durationSummary(delta),
    description: "",
    periodic: true,
    canBeScheduled: true,
    nextDagRunInfo: (args) => nextIntervalInfo(s, skipToLatest, args),
    inferManualDataInterval: (runAfter) => ({ start: s.getPrev(runAfter), end: runAfter }),
    validate: () => validateDuration(delta),
  };
}

// Data-interval timetables (airflow/timetables/interval.py): CronDataIntervalTimetable and
// DeltaDataIntervalTimetable. Each run covers [start, end) and runs after `end`; logical date = start.

import type { Duration } from "../sdk/timetable-spec.ts";
import type { DataInterval, NextDagRunInfoArgs, DagRunInfo, Timetable } from "./types.ts";
import { intervalRunInfo, maxDate } from "./types.ts";
import type { Schedule } from "./schedule.ts";
import { cronSchedule, deltaSchedule } from "./schedule.ts";
import { describeCron } from "./describe.ts";
import { durationSummary, roughSeconds, validateDuration } from "./delta.ts";

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

export function deltaDataIntervalTimetable(delta: Duration): Timetable {
  const s = deltaSchedule(delta);
  // DeltaDataIntervalTimetable._skip_to_latest: `now` rounded down to a multiple of the delta
  // (counted from the epoch, months as 30 days), minus one delta.
  const skipToLatest = (earliest: Date | null, now: Date): Date => {
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

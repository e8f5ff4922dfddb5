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
import { OrchError } from "../errors.ts";

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
  runImmediately: boolean | Duration = false,
): Timetable {
  const s = cronSchedule(expression, timezone);
  // CronTriggerTimetable._calc_first_run (only without start_date): run the past tick when
  // run_immediately is True; when it is a duration, if now is within that long of the past tick;
  // when False, within max(10% of the gap, 5 minutes) of it.
  const calcFirstRun = (now: Date): Date => {
    const past = s.alignToPrev(now);
    const next = s.alignToNext(now);
    if (runImmediately === true) return past;
    const buffer =
      typeof runImmediately === "object"
        ? addDuration(past, runImmediately).getTime() - past.getTime()
        : Math.max((next.getTime() - past.getTime()) / 10, FIVE_MINUTES);
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

/**
 * MultipleCronTriggerTimetable: a run at every tick of any of the expressions (each a
 * CronTriggerTimetable with the same zone, interval and run_immediately). With catchup the
 * earliest proposal wins; without, the one closest to now, a past one before a future one
 * (Airflow's _dagrun_info_sort_key_no_catchup).
 */
export function multipleCronTriggerTimetable(
  expressions: readonly string[],
  timezone: string,
  interval: Duration = {},
  runImmediately: boolean | Duration = false,
): Timetable {
  const parts = expressions.map((e) => cronTriggerTimetable(e, timezone, interval, runImmediately));
  return {
    summary: parts.map((p) => p.summary).join(", "),
    description: parts.map((p) => p.description).filter(Boolean).join("; "),
    periodic: true,
    canBeScheduled: true,
    nextDagRunInfo(args) {
      const now = args.now.getTime();
      const key = (i: DagRunInfo): [number, number] => {
        if (args.restriction.catchup) return [0, i.logicalDate.getTime()];
        const at = i.runAfter.getTime();
        return at <= now ? [0, now - at] : [1, at - now];
      };
      let best: DagRunInfo | null = null;
      for (const p of parts) {
        const info = p.nextDagRunInfo(args);
        if (info === null) continue;
        if (best === null) best = info;
        else {
          const [a, b] = [key(info), key(best)];
          if (a[0] < b[0] || (a[0] === b[0] && a[1] < b[1])) best = info;
        }
      }
      return best;
    },
    inferManualDataInterval: (runAfter) => ({ start: addDuration(runAfter, interval, -1), end: runAfter }),
    validate: () => {
      if (parts.length === 0) throw new OrchError("ORCH_DAG_INVALID", "MultipleCronTriggerTimetable needs at least one cron expression");
      for (const p of parts) p.validate();
    },
  };
}

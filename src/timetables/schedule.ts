// The four primitives both timetable families are built on (Airflow's _get_next, _get_prev,
// _align_to_next, _align_to_prev), for a cron expression or a delta.

import type { Duration } from "../sdk/timetable-spec.ts";
import { CronSchedule } from "./cron.ts";
import { addDuration } from "./delta.ts";

export interface Schedule {
  getNext(current: Date): Date;
  getPrev(current: Date): Date;
  alignToNext(current: Date): Date;
  alignToPrev(current: Date): Date;
}

export function cronSchedule(expression: string, timezone: string): CronSchedule {
  return new CronSchedule(expression, timezone);
}

/** DeltaMixin: next/prev add or subtract the delta; every instant is "aligned". */
export function deltaSchedule(delta: Duration): Schedule {
  return {
    getNext: (current) => addDuration(current, delta, 1),
    getPrev: (current) => addDuration(current, delta, -1),
    alignToNext: (current) => current,
    alignToPrev: (current) => current,
  };
}

// Durations as Airflow's DeltaMixin uses them (timetables/_delta.py): a timedelta when the Duration
// has no months/years, else a dateutil relativedelta. Arithmetic is on UTC calendar fields, since
// _get_next/_get_prev convert to UTC before adding.

import type { Duration } from "../sdk/timetable-spec.ts";
import { OrchError } from "../errors.ts";

const MS = { weeks: 604_800_000, days: 86_400_000, hours: 3_600_000, minutes: 60_000, seconds: 1000 };

export function isCalendarAware(d: Duration): boolean {
  return Boolean(d.years || d.months);
}

/** The fixed part (weeks..seconds) in ms. */
function fixedMs(d: Duration): number {
  return (d.weeks ?? 0) * MS.weeks + (d.days ?? 0) * MS.days + (d.hours ?? 0) * MS.hours +
    (d.minutes ?? 0) * MS.minutes + (d.seconds ?? 0) * MS.seconds;
}

/**
 * `current + sign * delta` as relativedelta.__add__ does it: years and months first, the day clamped
 * to the month's length (Jan 31 + 1 month = Feb 29 in 2024), then the fixed part. Subtraction is
 * adding the negated delta (relativedelta.__rsub__), so it clamps the same way.
 */
export function addDuration(current: Date, d: Duration, sign: 1 | -1 = 1): Date {
  let t = current.getTime();
  const months = sign * ((d.years ?? 0) * 12 + (d.months ?? 0));
  if (months !== 0) {
    const total = current.getUTCFullYear() * 12 + current.getUTCMonth() + months;
    const year = Math.floor(total / 12);
    const month = total - year * 12;
    const lastDay = new Date(Date.UTC(year, month + 1, 0)).getUTCDate();
    const day = Math.min(current.getUTCDate(), lastDay);
    const moved = new Date(current.getTime());
    moved.setUTCFullYear(year, month, day);
    t = moved.getTime();
  }
  return new Date(t + sign * fixedMs(d));
}

/**
 * Seconds of one delta as DeltaDataIntervalTimetable._round counts them: a timedelta's
 * total_seconds, or for a relativedelta years as 365 days and months as 30 (its weeks are days).
 */
export function roughSeconds(d: Duration): number {
  return (d.years ?? 0) * 365 * 86400 + (d.months ?? 0) * 30 * 86400 + fixedMs(d) / 1000;
}

function timedeltaString(totalMs: number): string {
  // str(datetime.timedelta): "1 day, 0:00:00", "-1 day, 23:00:00", "0:05:00".
  const totalSeconds = Math.floor(totalMs / 1000);
  const days = Math.floor(totalSeconds / 86400);
  const rest = totalSeconds - days * 86400;
  const hms = `${Math.floor(rest / 3600)}:${String(Math.floor((rest % 3600) / 60)).padStart(2, "0")}:${String(rest % 60).padStart(2, "0")}`;
  return days !== 0 ? `${days} day${Math.abs(days) === 1 ? "" : "s"}, ${hms}` : hms;
}

/** The summary Airflow shows: str(timedelta) or repr(relativedelta). */
export function durationSummary(d: Duration): string {
  if (!isCalendarAware(d)) return timedeltaString(fixedMs(d));
  const parts: string[] = [];
  const days = (d.weeks ?? 0) * 7 + (d.days ?? 0);
  for (const [k, v] of [["years", d.years], ["months", d.months], ["days", days], ["hours", d.hours],
    ["minutes", d.minutes], ["seconds", d.seconds]] as const) {
    if (v) parts.push(`${k}=${v > 0 ? "+" : ""}${v}`);
  }
  return `relativedelta(${parts.join(", ")})`;
}

/** DeltaMixin.validate: the delta must move time forward. */
export function validateDuration(d: Duration): void {
  const now = Date.UTC(2000, 0, 31);
  if (addDuration(new Date(now), d).getTime() <= now) {
    throw new OrchError("ORCH_DAG_INVALID", `schedule interval must be positive, not ${durationSummary(d)}`, {
      delta: d,
    });
  }
}

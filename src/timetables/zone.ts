// Wall-clock <-> instant conversion in an IANA zone, the way Airflow does it with pendulum.
//
// A "naive" time is a wall-clock reading stored in a Date's UTC fields (so 02:30 in Zurich is the
// Date 02:30Z). croniter works on naive times; so does our cron code, then converts back here.

import { OrchError } from "../errors.ts";

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timezone: string): Intl.DateTimeFormat {
  let f = formatters.get(timezone);
  if (!f) {
    try {
      f = new Intl.DateTimeFormat("en-US", {
        timeZone: timezone,
        hourCycle: "h23",
        year: "numeric",
        month: "numeric",
        day: "numeric",
        hour: "numeric",
        minute: "numeric",
        second: "numeric",
      });
    } catch {
      throw new OrchError("ORCH_DAG_INVALID", `Unknown timezone "${timezone}" in the DAG's schedule`, { timezone });
    }
    formatters.set(timezone, f);
  }
  return f;
}

/** Throws ORCH_DAG_INVALID naming the zone when it is not a known IANA zone. */
export function assertTimezone(timezone: string): void {
  formatter(timezone);
}

/** The zone's UTC offset in ms at an instant. */
export function offsetAt(utcMs: number, timezone: string): number {
  if (timezone === "UTC" || timezone === "Etc/UTC") return 0;
  const parts = formatter(timezone).formatToParts(new Date(utcMs));
  const get = (type: string): number => Number(parts.find((p) => p.type === type)?.value);
  const wall = Date.UTC(get("year"), get("month") - 1, get("day"), get("hour"), get("minute"), get("second"));
  const wholeSeconds = utcMs - (((utcMs % 1000) + 1000) % 1000);
  return wall - wholeSeconds;
}

/** make_naive(value, tz): the wall-clock reading of an instant. */
export function toNaive(instant: Date, timezone: string): Date {
  return new Date(instant.getTime() + offsetAt(instant.getTime(), timezone));
}

const DAY = 86_400_000;

/**
 * Airflow's make_aware(naive, tz) followed by convert_to_utc. make_aware sets fold=1 and calls
 * pendulum's Timezone.convert, which means:
 * - a repeated wall time (fall-back fold) is the SECOND occurrence, in the post-transition offset
 *   (01:30 on New York's fall-back day is 01:30 EST = 06:30Z, not 01:30 EDT);
 * - a skipped wall time (spring-forward gap) is moved forward by the gap: 02:30 on Zurich's
 *   spring-forward day becomes 03:30 CEST = 01:30Z (pendulum adds offset_after - offset_before).
 * Both come to: instant = wall - offsetAfter when that is a real reading, else wall - offsetBefore.
 * Zones change offset at most once in a day, so the offsets a day either side are the two candidates.
 */
export function fromNaive(naive: Date, timezone: string): Date {
  const wall = naive.getTime();
  const before = offsetAt(wall - DAY, timezone);
  const after = offsetAt(wall + DAY, timezone);
  if (offsetAt(wall - after, timezone) === after) return new Date(wall - after);
  return new Date(wall - before);
}

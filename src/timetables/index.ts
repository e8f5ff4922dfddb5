// Timetables: a DAG's schedule (src/sdk/timetable-spec.ts, plain data) turned into the functions the
// scheduler asks "when is the next run, over which data interval". Pure: no I/O, no clock.

import type { TimetableSpec } from "../sdk/timetable-spec.ts";
import type { DagRunInfo, Timetable, TimeRestriction } from "./types.ts";
import { cronDataIntervalTimetable, deltaDataIntervalTimetable } from "./interval.ts";
import { cronTriggerTimetable, deltaTriggerTimetable, multipleCronTriggerTimetable } from "./trigger.ts";
import { assetTimetable, nullTimetable, onceTimetable } from "./simple.ts";

export type { DagRunInfo, DataInterval, NextDagRunInfoArgs, Timetable, TimeRestriction } from "./types.ts";
export { CRON_PRESETS } from "./cron.ts";

export function createTimetable(spec: TimetableSpec): Timetable {
  switch (spec.type) {
    case "null":
      return nullTimetable();
    case "once":
      return onceTimetable();
    case "asset":
      return assetTimetable();
    case "cron_trigger":
      return cronTriggerTimetable(spec.expression, spec.timezone, spec.interval, spec.run_immediately);
    case "multiple_cron_trigger":
      return multipleCronTriggerTimetable(spec.expressions, spec.timezone, spec.interval, spec.run_immediately);
    case "cron_data_interval":
      return cronDataIntervalTimetable(spec.expression, spec.timezone);
    case "delta_trigger":
      return deltaTriggerTimetable(spec.delta);
    case "delta_data_interval":
      return deltaDataIntervalTimetable(spec.delta);
    default: {
      const never: never = spec;
      throw new Error(`unknown timetable spec ${JSON.stringify(never)}`);
    }
  }
}

/**
 * Every run whose schedule falls in [start, end], in order: Airflow's DAG.iter_dagrun_infos_between
 * (align=True), which backfills use. Like Airflow it asks the timetable with a catchup=True
 * restriction of [start, end]; orch additionally narrows that to the DAG's own start_date/end_date
 * when `restriction` is given, so a backfill never creates runs the DAG could not have had.
 */
export function* iterateDagRunInfos(
  timetable: Timetable,
  args: { start: Date; end: Date; restriction?: TimeRestriction },
): Generator<DagRunInfo> {
  let earliest = args.start;
  let latest = args.end;
  if (args.restriction?.earliest && args.restriction.earliest > earliest) earliest = args.restriction.earliest;
  if (args.restriction?.latest && args.restriction.latest < latest) latest = args.restriction.latest;
  const restriction: TimeRestriction = { earliest, latest, catchup: true };
  // `now` is never read with catchup=True except by @once without a start, which has one here.
  const now = earliest;
  let info = timetable.nextDagRunInfo({ lastAutomatedDataInterval: null, restriction, now });
  while (info !== null) {
    yield info;
    info = timetable.nextDagRunInfo({ lastAutomatedDataInterval: info.dataInterval, restriction, now });
  }
}

/** iterateDagRunInfos as an array. */
export function listDagRunInfos(
  timetable: Timetable,
  args: { start: Date; end: Date; restriction?: TimeRestriction },
): DagRunInfo[] {
  return [...iterateDagRunInfos(timetable, args)];
}

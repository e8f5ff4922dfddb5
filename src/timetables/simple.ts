// Timetables with nothing periodic (airflow/timetables/simple.py): schedule=None, "@once", assets.

import type { DataInterval, Timetable } from "./types.ts";
import { exactRunInfo } from "./types.ts";

const exact = (runAfter: Date): DataInterval => ({ start: runAfter, end: runAfter });

/** NullTimetable: never scheduled; manual and API triggers only. */
export function nullTimetable(): Timetable {
  return {
    summary: "None",
    description: "Never, external triggers only",
    periodic: false,
    canBeScheduled: false,
    nextDagRunInfo: () => null,
    inferManualDataInterval: exact,
    validate: () => undefined,
  };
}

/** OnceTimetable: one run at start_date (or now without one), whatever catchup says. */
export function onceTimetable(): Timetable {
  return {
    summary: "@once",
    description: "Once, as soon as possible",
    periodic: false,
    canBeScheduled: true,
    nextDagRunInfo({ lastAutomatedDataInterval, restriction, now }) {
      if (lastAutomatedDataInterval !== null) return null;
      const runAfter = restriction.earliest ?? now;
      if (restriction.latest !== null && runAfter > restriction.latest) return null;
      return exactRunInfo(runAfter);
    },
    inferManualDataInterval: exact,
    validate: () => undefined,
  };
}

/**
 * AssetTriggeredTimetable: runs come from asset events, never from time. Airflow leaves
 * can_be_scheduled True here (only NullTimetable sets it False); next_dagrun_info is always None.
 */
export function assetTimetable(): Timetable {
  return {
    summary: "Asset",
    description: "Triggered by assets",
    periodic: false,
    canBeScheduled: true,
    nextDagRunInfo: () => null,
    inferManualDataInterval: exact,
    validate: () => undefined,
  };
}

// How a DAG's schedule is serialized: plain data, written by the SDK (src/sdk) into the
// serialized DAG and turned into a computing timetable by src/timetables. Neither side imports
// the other; this file is the contract between them.

/** A calendar-aware length of time, as dateutil's relativedelta / a Python timedelta. */
export interface Duration {
  years?: number;
  months?: number;
  weeks?: number;
  days?: number;
  hours?: number;
  minutes?: number;
  seconds?: number;
}

/** A reference to an asset by name and URI (Airflow 3's Asset). */
export interface AssetRef {
  name: string;
  uri: string;
  group?: string;
  extra?: Record<string, unknown>;
}

/** Asset conditions: `[a, b]` means all of them (Airflow's default for a list). */
export type AssetCondition =
  | { type: "asset"; asset: AssetRef }
  | { type: "all"; items: AssetCondition[] }
  | { type: "any"; items: AssetCondition[] };

export type TimetableSpec =
  /** No schedule: manual and asset-less triggers only (schedule: null). */
  | { type: "null" }
  /** One run at start_date (schedule: "@once"). */
  | { type: "once" }
  /** A run at each cron tick; logical_date = the tick; data interval is empty unless `interval`. */
  | { type: "cron_trigger"; expression: string; timezone: string; interval?: Duration; run_immediately?: boolean | Duration }
  /** A run at each tick of any of the expressions (Airflow's MultipleCronTriggerTimetable). */
  | { type: "multiple_cron_trigger"; expressions: string[]; timezone: string; interval?: Duration; run_immediately?: boolean | Duration }
  /** Data interval [previous tick, tick); run after its end; logical_date = its start. */
  | { type: "cron_data_interval"; expression: string; timezone: string }
  /** A run every `delta` from start_date; logical_date = the run time (Airflow 3's DeltaTriggerTimetable). */
  | { type: "delta_trigger"; delta: Duration }
  /** Data interval [start, start + delta) aligned to start_date; logical_date = its start. */
  | { type: "delta_data_interval"; delta: Duration }
  /** Runs when asset events satisfy `condition`. */
  | { type: "asset"; condition: AssetCondition };

// Glossary (Airflow's words, airflow-core/src/airflow/timetables/base.py):
//   data interval  - the period of data a run works on, [start, end].
//   run after      - the earliest moment the run may be created and its tasks scheduled.
//   logical date   - the run's name in time; always the data interval's start (DagRunInfo.logical_date).
//   restriction    - start_date (earliest), end_date (latest), both inclusive, and catchup.
// Everything here is a plain value: timetables do no I/O and read no clock; `now` is an argument.

export interface DataInterval {
  start: Date;
  end: Date;
}

export interface DagRunInfo {
  runAfter: Date;
  dataInterval: DataInterval;
  logicalDate: Date;
}

export interface TimeRestriction {
  earliest: Date | null;
  latest: Date | null;
  catchup: boolean;
}

export interface NextDagRunInfoArgs {
  /** The data interval of the DAG's last scheduled or backfilled run (manual runs not considered). */
  lastAutomatedDataInterval: DataInterval | null;
  restriction: TimeRestriction;
  now: Date;
}

export interface Timetable {
  readonly summary: string;
  readonly description: string;
  readonly periodic: boolean;
  readonly canBeScheduled: boolean;
  nextDagRunInfo(args: NextDagRunInfoArgs): DagRunInfo | null;
  inferManualDataInterval(runAfter: Date): DataInterval;
  validate(): void;
}

/** DagRunInfo.interval: the run happens when its interval ends; logical date = interval start. */
export function intervalRunInfo(start: Date, end: Date): DagRunInfo {
  return { runAfter: end, dataInterval: { start, end }, logicalDate: start };
}

/** DagRunInfo.exact: a run at one instant, with an empty data interval. */
export function exactRunInfo(at: Date): DagRunInfo {
  return { runAfter: at, dataInterval: { start: at, end: at }, logicalDate: at };
}

export function maxDate(...dates: Date[]): Date {
  return new Date(Math.max(...dates.map((d) => d.getTime())));
}

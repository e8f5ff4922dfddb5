// Glossary and row types of the metadata store (Airflow's tables where Airflow has one).
//
// Conventions, the same on SQLite and PostgreSQL so one query layer serves both:
// - timestamps are ISO-8601 UTC text with milliseconds ("2024-01-01T00:00:00.000Z"): they sort
//   as text and read back identically from both drivers;
// - booleans are integers 0/1;
// - JSON documents (conf, params, XCom values, serialized DAGs) are text.
import type { ColumnType, Generated, Insertable, Selectable, Updateable } from "kysely";

type Bool = number;
type Ts = string;
type Json = string;

export interface OrchVersionTable {
  version: number;
  name: string;
  orch_version: string;
  applied_at: Ts;
}

export interface DagTable {
  dag_id: string;
  is_paused: Bool;
  /** 1 when the file that defined it is gone or no longer defines it (Airflow 3's is_stale). */
  is_stale: Bool;
  fileloc: string;
  relative_fileloc: string | null;
  owners: string | null;
  description: string | null;
  timetable_summary: string | null;
  timetable_description: string | null;
  tags: Json;
  max_active_runs: number | null;
  max_active_tasks: number | null;
  has_import_errors: Bool;
  last_parsed_time: Ts | null;
  next_dagrun: Ts | null;
  next_dagrun_data_interval_start: Ts | null;
  next_dagrun_data_interval_end: Ts | null;
  next_dagrun_create_after: Ts | null;
}

export interface SerializedDagTable {
  dag_id: string;
  fileloc: string;
  /** sha256 of the DAG file's source. */
  file_hash: string;
  /** sha256 of `data`: changes when the DAG's structure does. */
  dag_hash: string;
  data: Json;
  created_at: Ts;
  last_updated: Ts;
}

export interface ImportErrorTable {
  id: Generated<number>;
  filename: string;
  line: number | null;
  stacktrace: string;
  timestamp: Ts;
  /** Content hash of the file when the error was recorded; null: retry on every pass. */
  file_hash: string | null;
}

export interface DagRunTable {
  id: Generated<number>;
  dag_id: string;
  run_id: string;
  logical_date: Ts | null;
  data_interval_start: Ts | null;
  data_interval_end: Ts | null;
  run_after: Ts;
  queued_at: Ts | null;
  start_date: Ts | null;
  end_date: Ts | null;
  state: string;
  run_type: string;
  conf: Json | null;
  triggered_by: string | null;
  last_scheduling_decision: Ts | null;
  backfill_id: number | null;
  clear_number: ColumnType<number, number | undefined, number>;
  note: string | null;
}

export interface TaskInstanceTable {
  id: Generated<number>;
  dag_id: string;
  run_id: string;
  task_id: string;
  map_index: ColumnType<number, number | undefined, number>;
  try_number: ColumnType<number, number | undefined, number>;
  max_tries: ColumnType<number, number | undefined, number>;
  /** null is Airflow's "none": not yet considered. */
  state: string | null;
  start_date: Ts | null;
  end_date: Ts | null;
  duration: number | null;
  hostname: string | null;
  pid: number | null;
  queue: string | null;
  pool: string | null;
  priority_weight: ColumnType<number, number | undefined, number>;
  operator: string | null;
  scheduled_dttm: Ts | null;
  queued_dttm: Ts | null;
  /** When an up_for_retry try may run again. */
  next_retry_at: Ts | null;
  next_method: string | null;
  next_kwargs: Json | null;
  trigger_id: number | null;
  trigger_timeout: Ts | null;
  /** The last reason a dependency held this task back, or why it ended (shown to users). */
  state_reason: string | null;
  rendered_fields: Json | null;
  /** A mapped instance's name from the task's map_index_template (migration 005); null without one. */
  rendered_map_index: ColumnType<string | null, string | null | undefined, string | null>;
  updated_at: Ts | null;
  /** The job (scheduler, `dags test`) that claimed the current try; its heartbeat says whether
   *  the try still has someone behind it. */
  queued_by_job_id: ColumnType<number | null, number | null | undefined, number | null>;
}

export interface TaskInstanceHistoryTable {
  id: Generated<number>;
  task_instance_id: number;
  dag_id: string;
  run_id: string;
  task_id: string;
  map_index: number;
  try_number: number;
  max_tries: number;
  state: string | null;
  start_date: Ts | null;
  end_date: Ts | null;
  duration: number | null;
  hostname: string | null;
  pid: number | null;
  operator: string | null;
  state_reason: string | null;
  /** 1 when the try ended because its scheduler died (not the task's fault: no retry spent). */
  interrupted: ColumnType<number, number | undefined, number>;
}

export interface XcomTable {
  dag_run_id: number;
  task_id: string;
  map_index: number;
  key: string;
  dag_id: string;
  run_id: string;
  value: Json;
  timestamp: Ts;
}

export interface VariableTable {
  id: Generated<number>;
  key: string;
  val: string | null;
  description: string | null;
  is_encrypted: Bool;
}

export interface ConnectionTable {
  id: Generated<number>;
  conn_id: string;
  conn_type: string;
  description: string | null;
  host: string | null;
  schema: string | null;
  login: string | null;
  password: string | null;
  port: number | null;
  extra: string | null;
  is_encrypted: Bool;
  is_extra_encrypted: Bool;
}

export interface AssetTable {
  id: Generated<number>;
  name: string;
  uri: string;
  group: string;
  extra: Json;
  created_at: Ts;
  updated_at: Ts;
}

export interface AssetEventTable {
  id: Generated<number>;
  asset_id: number;
  extra: Json;
  source_task_id: string | null;
  source_dag_id: string | null;
  source_run_id: string | null;
  source_map_index: number | null;
  timestamp: Ts;
}

export interface DagScheduleAssetReferenceTable {
  asset_id: number;
  dag_id: string;
  created_at: Ts;
  updated_at: Ts;
}

export interface AssetDagRunQueueTable {
  asset_id: number;
  target_dag_id: string;
  created_at: Ts;
}

/** Which asset events an asset-triggered run consumed (ctx.triggering_asset_events). */
export interface DagRunAssetEventTable {
  dag_run_id: number;
  event_id: number;
}

export interface BackfillTable {
  id: Generated<number>;
  dag_id: string;
  from_date: Ts;
  to_date: Ts;
  dag_run_conf: Json;
  is_paused: Bool;
  reprocess_behavior: string;
  max_active_runs: number;
  created_at: Ts;
  completed_at: Ts | null;
  updated_at: Ts;
}

export interface BackfillDagRunTable {
  id: Generated<number>;
  backfill_id: number;
  dag_run_id: number | null;
  exception_reason: string | null;
  logical_date: Ts;
  sort_ordinal: number;
}

export interface TriggerTable {
  id: Generated<number>;
  classpath: string;
  kwargs: Json;
  created_date: Ts;
  triggerer_id: number | null;
}

/** A person's note on a task instance (Airflow's TaskInstanceNote), by the instance's natural key. */
export interface TaskInstanceNoteTable {
  dag_id: string;
  run_id: string;
  task_id: string;
  map_index: number;
  content: string;
  user_id: string | null;
  created_at: Ts;
  updated_at: Ts;
}

export interface LogTable {
  id: Generated<number>;
  dttm: Ts;
  dag_id: string | null;
  task_id: string | null;
  map_index: number | null;
  event: string;
  logical_date: Ts | null;
  run_id: string | null;
  owner: string | null;
  extra: string | null;
  try_number: number | null;
}

export interface UserTable {
  id: Generated<number>;
  username: string;
  password_hash: string;
  role: string;
  created_at: Ts;
}

export interface JobTable {
  id: Generated<number>;
  job_type: string;
  state: string;
  hostname: string | null;
  pid: number | null;
  start_date: Ts;
  end_date: Ts | null;
  latest_heartbeat: Ts;
}

export interface Database {
  orch_version: OrchVersionTable;
  dag: DagTable;
  serialized_dag: SerializedDagTable;
  import_error: ImportErrorTable;
  dag_run: DagRunTable;
  task_instance: TaskInstanceTable;
  task_instance_history: TaskInstanceHistoryTable;
  task_instance_note: TaskInstanceNoteTable;
  xcom: XcomTable;
  variable: VariableTable;
  connection: ConnectionTable;
  asset: AssetTable;
  asset_event: AssetEventTable;
  dag_schedule_asset_reference: DagScheduleAssetReferenceTable;
  asset_dag_run_queue: AssetDagRunQueueTable;
  dagrun_asset_event: DagRunAssetEventTable;
  backfill: BackfillTable;
  backfill_dag_run: BackfillDagRunTable;
  trigger: TriggerTable;
  log: LogTable;
  user: UserTable;
  job: JobTable;
}

export type DagRow = Selectable<DagTable>;
export type DagRunRow = Selectable<DagRunTable>;
export type NewDagRun = Insertable<DagRunTable>;
export type TaskInstanceRow = Selectable<TaskInstanceTable>;
export type NewTaskInstance = Insertable<TaskInstanceTable>;
export type TaskInstanceUpdate = Updateable<TaskInstanceTable>;
export type ImportErrorRow = Selectable<ImportErrorTable>;
export type SerializedDagRow = Selectable<SerializedDagTable>;

/** The current instant as the store writes it. */
export function nowIso(date: Date = new Date()): string {
  return date.toISOString();
}

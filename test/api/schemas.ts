// JSON Schemas (2020-12) for the response shapes orch serves, restated from Airflow 3's
// v2-rest-api-generated.yaml (components/schemas): the same required fields, types and enums. The
// contract tests validate every response body the API tests receive against these.
import { Ajv2020, type ValidateFunction } from "ajv/dist/2020.js";

const nullable = (s: object) => ({ anyOf: [s, { type: "null" }] });
const str = { type: "string" };
const int = { type: "integer" };
const num = { type: "number" };
const bool = { type: "boolean" };
const dt = { type: "string", format: "date-time" };
const obj = { type: "object" };
const nstr = nullable(str);
const ndt = nullable(dt);

function model(properties: Record<string, object>, required: string[] = Object.keys(properties)) {
  return { type: "object", properties, required };
}

const DagRunState = { enum: ["queued", "running", "success", "failed"] };
const DagRunType = { enum: ["backfill", "scheduled", "manual", "asset_triggered"] };
const DagRunTriggeredByType = { enum: ["cli", "operator", "rest_api", "ui", "test", "timetable", "asset", "backfill"] };
const TaskInstanceState = { enum: ["removed", "scheduled", "queued", "running", "success", "restarting", "failed", "up_for_retry", "up_for_reschedule", "upstream_failed", "skipped", "deferred"] };

const DagTagResponse = model({ name: str, dag_id: str, dag_display_name: str });

const dagFields = {
  dag_id: str,
  dag_display_name: str,
  is_paused: bool,
  is_stale: bool,
  last_parsed_time: ndt,
  last_expired: ndt,
  bundle_name: nstr,
  bundle_version: nstr,
  relative_fileloc: nstr,
  fileloc: str,
  description: nstr,
  timetable_summary: nstr,
  timetable_description: nstr,
  tags: { type: "array", items: DagTagResponse },
  max_active_tasks: int,
  max_active_runs: nullable(int),
  max_consecutive_failed_dag_runs: int,
  has_task_concurrency_limits: bool,
  has_import_errors: bool,
  next_dagrun_logical_date: ndt,
  next_dagrun_data_interval_start: ndt,
  next_dagrun_data_interval_end: ndt,
  next_dagrun_run_after: ndt,
  owners: { type: "array", items: str },
  file_token: str,
};

export const DAGResponse = model(dagFields);

export const DAGDetailsResponse = model(
  {
    ...dagFields,
    catchup: bool,
    dag_run_timeout: nullable({ type: "string", format: "duration" }),
    asset_expression: nullable(obj),
    doc_md: nstr,
    start_date: ndt,
    end_date: ndt,
    is_paused_upon_creation: nullable(bool),
    params: nullable(obj),
    render_template_as_native_obj: bool,
    template_search_path: nullable({ type: "array", items: str }),
    timezone: nstr,
    last_parsed: ndt,
    default_args: nullable(obj),
    owner_links: nullable({ type: "object", additionalProperties: str }),
    concurrency: int,
    latest_dag_version: nullable(obj),
  },
  [...Object.keys(dagFields), "catchup", "dag_run_timeout", "asset_expression", "doc_md", "start_date", "end_date", "is_paused_upon_creation", "params", "render_template_as_native_obj", "template_search_path", "timezone", "last_parsed", "default_args", "concurrency", "latest_dag_version"],
);

export const DAGCollectionResponse = model({ dags: { type: "array", items: DAGResponse }, total_entries: int });

export const DAGRunResponse = model({
  dag_run_id: str,
  dag_id: str,
  logical_date: ndt,
  queued_at: ndt,
  start_date: ndt,
  end_date: ndt,
  duration: nullable(num),
  data_interval_start: ndt,
  data_interval_end: ndt,
  run_after: dt,
  last_scheduling_decision: ndt,
  run_type: DagRunType,
  state: DagRunState,
  triggered_by: nullable(DagRunTriggeredByType),
  triggering_user_name: nstr,
  conf: nullable(obj),
  note: nstr,
  dag_versions: { type: "array" },
  bundle_version: nstr,
  dag_display_name: str,
});

export const DAGRunCollectionResponse = model({ dag_runs: { type: "array", items: DAGRunResponse }, total_entries: int });

export const TaskInstanceResponse = model({
  id: str,
  task_id: str,
  dag_id: str,
  dag_run_id: str,
  map_index: int,
  logical_date: ndt,
  run_after: dt,
  start_date: ndt,
  end_date: ndt,
  duration: nullable(num),
  state: nullable(TaskInstanceState),
  try_number: int,
  max_tries: int,
  task_display_name: str,
  dag_display_name: str,
  hostname: nstr,
  unixname: nstr,
  pool: str,
  pool_slots: int,
  queue: nstr,
  priority_weight: nullable(int),
  operator: nstr,
  operator_name: nstr,
  queued_when: ndt,
  scheduled_when: ndt,
  pid: nullable(int),
  executor: nstr,
  executor_config: str,
  note: nstr,
  rendered_map_index: nstr,
  rendered_fields: obj,
  trigger: nullable(obj),
  triggerer_job: nullable(obj),
  dag_version: nullable(obj),
}, ["id", "task_id", "dag_id", "dag_run_id", "map_index", "logical_date", "run_after", "start_date", "end_date", "duration", "state", "try_number", "max_tries", "task_display_name", "dag_display_name", "hostname", "unixname", "pool", "pool_slots", "queue", "priority_weight", "operator", "operator_name", "queued_when", "scheduled_when", "pid", "executor", "executor_config", "note", "rendered_map_index", "trigger", "triggerer_job", "dag_version"]);

export const TaskInstanceCollectionResponse = model({ task_instances: { type: "array", items: TaskInstanceResponse }, total_entries: int });

export const TaskInstanceHistoryResponse = model({
  task_id: str,
  dag_id: str,
  dag_run_id: str,
  map_index: int,
  start_date: ndt,
  end_date: ndt,
  duration: nullable(num),
  state: nullable(TaskInstanceState),
  try_number: int,
  max_tries: int,
  task_display_name: str,
  dag_display_name: str,
  hostname: nstr,
  unixname: nstr,
  pool: str,
  pool_slots: int,
  queue: nstr,
  priority_weight: nullable(int),
  operator: nstr,
  operator_name: nstr,
  queued_when: ndt,
  scheduled_when: ndt,
  pid: nullable(int),
  executor: nstr,
  executor_config: str,
  dag_version: nullable(obj),
});

export const TaskInstanceHistoryCollectionResponse = model({ task_instances: { type: "array", items: TaskInstanceHistoryResponse }, total_entries: int });

const xcomFields = { key: str, timestamp: dt, logical_date: ndt, map_index: int, task_id: str, dag_id: str, run_id: str, dag_display_name: str, task_display_name: str };
export const XComResponse = model(xcomFields);
export const XComResponseNative = model({ ...xcomFields, value: {} });
export const XComResponseString = model({ ...xcomFields, value: nstr });
export const XComCollectionResponse = model({ xcom_entries: { type: "array", items: XComResponse }, total_entries: int });

export const VariableResponse = model({ key: str, value: str, description: nstr, is_encrypted: bool });
export const VariableCollectionResponse = model({ variables: { type: "array", items: VariableResponse }, total_entries: int });

export const ConnectionResponse = model({ connection_id: str, conn_type: str, description: nstr, host: nstr, login: nstr, schema: nstr, port: nullable(int), password: nstr, extra: nstr });
export const ConnectionCollectionResponse = model({ connections: { type: "array", items: ConnectionResponse }, total_entries: int });

export const ImportErrorResponse = model({ import_error_id: int, timestamp: dt, filename: str, bundle_name: nstr, stack_trace: str });
export const ImportErrorCollectionResponse = model({ import_errors: { type: "array", items: ImportErrorResponse }, total_entries: int });

export const DAGSourceResponse = model({ content: nstr, dag_id: str, version_number: nullable(int), dag_display_name: str });

export const HealthInfoResponse = model(
  {
    metadatabase: model({ status: nstr }),
    scheduler: model({ status: nstr, latest_scheduler_heartbeat: nstr }),
    triggerer: model({ status: nstr, latest_triggerer_heartbeat: nstr }),
    dag_processor: nullable(model({ status: nstr, latest_dag_processor_heartbeat: nstr })),
  },
  ["metadatabase", "scheduler", "triggerer"],
);

export const VersionInfo = model({ version: str, git_version: nstr });

const StructuredLogMessage = { type: "object", properties: { timestamp: dt, event: str }, required: ["event"] };
export const TaskInstancesLogResponse = model({
  content: { anyOf: [{ type: "array", items: StructuredLogMessage }, { type: "array", items: str }] },
  continuation_token: nstr,
});

const ReprocessBehavior = { enum: ["failed", "completed", "none"] };
export const BackfillResponse = model({
  id: int,
  dag_id: str,
  from_date: dt,
  to_date: dt,
  dag_run_conf: obj,
  is_paused: bool,
  reprocess_behavior: ReprocessBehavior,
  max_active_runs: int,
  created_at: dt,
  completed_at: ndt,
  updated_at: dt,
  dag_display_name: str,
});
export const BackfillCollectionResponse = model({ backfills: { type: "array", items: BackfillResponse }, total_entries: int });
export const DryRunBackfillCollectionResponse = model({ backfills: { type: "array", items: model({ logical_date: dt }) }, total_entries: int });

const DagScheduleAssetReference = model({ dag_id: str, created_at: dt, updated_at: dt });
export const AssetResponse = model(
  {
    id: int,
    name: str,
    uri: str,
    group: str,
    extra: nullable(obj),
    created_at: dt,
    updated_at: dt,
    consuming_dags: { type: "array", items: DagScheduleAssetReference },
    producing_tasks: { type: "array", items: model({ task_id: str, dag_id: str, created_at: dt, updated_at: dt }) },
    aliases: { type: "array", items: model({ id: int, name: str, group: str }) },
    last_asset_event: nullable(model({ id: nullable(int), timestamp: ndt })),
  },
  ["id", "name", "uri", "group", "created_at", "updated_at", "consuming_dags", "producing_tasks", "aliases"],
);
export const AssetCollectionResponse = model({ assets: { type: "array", items: AssetResponse }, total_entries: int });
export const AssetEventResponse = model(
  {
    id: int,
    asset_id: int,
    uri: nstr,
    name: nstr,
    group: nstr,
    extra: nullable(obj),
    source_task_id: nstr,
    source_dag_id: nstr,
    source_run_id: nstr,
    source_map_index: int,
    created_dagruns: { type: "array", items: obj },
    timestamp: dt,
  },
  ["id", "asset_id", "source_map_index", "created_dagruns", "timestamp"],
);
export const AssetEventCollectionResponse = model({ asset_events: { type: "array", items: AssetEventResponse }, total_entries: int });

export const HTTPExceptionResponse = model({ detail: { anyOf: [str, obj] } });
export const HTTPValidationError = {
  type: "object",
  properties: { detail: { type: "array", items: model({ loc: { type: "array", items: { anyOf: [str, int] } }, msg: str, type: str }) } },
  required: ["detail"],
};

export const TokenResponse = model({ access_token: str });

export const SCHEMAS = {
  DAGResponse,
  DAGDetailsResponse,
  DAGCollectionResponse,
  DAGRunResponse,
  DAGRunCollectionResponse,
  TaskInstanceResponse,
  TaskInstanceCollectionResponse,
  TaskInstanceHistoryResponse,
  TaskInstanceHistoryCollectionResponse,
  XComResponse,
  XComResponseNative,
  XComResponseString,
  XComCollectionResponse,
  VariableResponse,
  VariableCollectionResponse,
  ConnectionResponse,
  ConnectionCollectionResponse,
  ImportErrorResponse,
  ImportErrorCollectionResponse,
  DAGSourceResponse,
  HealthInfoResponse,
  VersionInfo,
  TaskInstancesLogResponse,
  HTTPExceptionResponse,
  HTTPValidationError,
  TokenResponse,
  BackfillResponse,
  BackfillCollectionResponse,
  DryRunBackfillCollectionResponse,
  AssetResponse,
  AssetCollectionResponse,
  AssetEventResponse,
  AssetEventCollectionResponse,
} as const;

export type SchemaName = keyof typeof SCHEMAS;

// RFC 3339 date-time as pydantic emits and accepts it; and ISO 8601 durations.
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;
const ajv = new Ajv2020({ allErrors: true, strict: true, strictRequired: false });
ajv.addFormat("date-time", (s: string) => DATE_TIME.test(s) && !Number.isNaN(Date.parse(s)));
ajv.addFormat("duration", /^P(\d+D)?(T(\d+(\.\d+)?[HMS])+)?$/);
const validators = new Map<SchemaName, ValidateFunction>();

/** Throws, naming the schema and each violation, unless `body` fits. Counts what was checked. */
export function assertShape(name: SchemaName, body: unknown): void {
  let fn = validators.get(name);
  if (!fn) {
    fn = ajv.compile(SCHEMAS[name]);
    validators.set(name, fn);
  }
  checked.set(name, (checked.get(name) ?? 0) + 1);
  if (!fn(body)) {
    throw new Error(`response does not fit ${name}: ${ajv.errorsText(fn.errors)}\n${JSON.stringify(body).slice(0, 2000)}`);
  }
}

/** How many bodies of each schema were validated (the contract test asserts coverage). */
export const checked = new Map<SchemaName, number>();

// Store rows as Airflow 3's response models (DAGResponse, DAGRunResponse, TaskInstanceResponse, …),
// in their field order. Fields orch has no counterpart for (bundles, DAG versions, executors) are
// null or empty, as Airflow answers for a DAG that has none. The CLI's `-o json|yaml` listings print
// the same shapes, so a script written against `GET /api/v2/dags/{id}/dagRuns` reads them too.
import type { SerializedDag } from "../serialization/serialized-dag.ts";
import type { TaskInstanceWithRun } from "../store/listings.ts";
import type { DagRow, DagRunRow, ImportErrorRow } from "../store/schema.ts";

const TRIGGERED_BY = new Set(["cli", "operator", "rest_api", "ui", "test", "timetable", "asset", "backfill"]);

function jsonOr<T>(text: string | null, fallback: T): T {
  if (text === null) return fallback;
  try {
    return JSON.parse(text) as T;
  } catch {
    return fallback;
  }
}

export function fileToken(fileloc: string): string {
  return Buffer.from(fileloc).toString("base64url");
}

export function dagResponse(d: DagRow, defaults: { maxActiveTasks: number }) {
  const tags = jsonOr<string[]>(d.tags, []);
  return {
    dag_id: d.dag_id,
    dag_display_name: d.dag_id,
    is_paused: d.is_paused === 1,
    is_stale: d.is_stale === 1,
    last_parsed_time: d.last_parsed_time,
    last_expired: null,
    bundle_name: "dags-folder",
    bundle_version: null,
    relative_fileloc: d.relative_fileloc,
    fileloc: d.fileloc,
    description: d.description,
    timetable_summary: d.timetable_summary,
    timetable_description: d.timetable_description,
    tags: tags.map((name) => ({ name, dag_id: d.dag_id, dag_display_name: d.dag_id })),
    max_active_tasks: d.max_active_tasks ?? defaults.maxActiveTasks,
    max_active_runs: d.max_active_runs,
    max_consecutive_failed_dag_runs: 0,
    has_task_concurrency_limits: false,
    has_import_errors: d.has_import_errors === 1,
    next_dagrun_logical_date: d.next_dagrun,
    next_dagrun_data_interval_start: d.next_dagrun_data_interval_start,
    next_dagrun_data_interval_end: d.next_dagrun_data_interval_end,
    next_dagrun_run_after: d.next_dagrun_create_after,
    owners: (d.owners ?? "").split(",").map((o) => o.trim()).filter(Boolean),
    file_token: fileToken(d.fileloc),
  };
}

/** Seconds as an ISO-8601 duration (pydantic's timedelta form). */
function isoDuration(seconds: number | null): string | null {
  if (seconds === null) return null;
  const days = Math.floor(seconds / 86400);
  const rest = seconds - days * 86400;
  return `P${days ? `${days}D` : ""}T${rest}S`;
}

export function dagDetailsResponse(d: DagRow, s: SerializedDag | undefined, defaults: { maxActiveTasks: number }) {
  const base = dagResponse(d, defaults);
  return {
    ...base,
    max_consecutive_failed_dag_runs: s?.max_consecutive_failed_dag_runs ?? 0,
    catchup: s?.catchup ?? false,
    dag_run_timeout: isoDuration(s?.dagrun_timeout_seconds ?? null),
    asset_expression: null,
    doc_md: s?.doc_md ?? null,
    start_date: s?.start_date ?? null,
    end_date: s?.end_date ?? null,
    is_paused_upon_creation: s?.is_paused_upon_creation ?? null,
    params: s
      ? Object.fromEntries(
          Object.entries(s.params).map(([k, p]) => [k, { __class: "airflow.sdk.definitions.param.Param", value: p.default ?? null, description: p.description, schema: p.schema }]),
        )
      : null,
    render_template_as_native_obj: false,
    template_search_path: null,
    timezone: s?.timezone ?? null,
    last_parsed: d.last_parsed_time,
    default_args: null,
    owner_links: null,
    concurrency: base.max_active_tasks,
    latest_dag_version: null,
  };
}

export function dagRunResponse(r: DagRunRow) {
  const duration = r.start_date && r.end_date ? (Date.parse(r.end_date) - Date.parse(r.start_date)) / 1000 : null;
  return {
    dag_run_id: r.run_id,
    dag_id: r.dag_id,
    logical_date: r.logical_date,
    queued_at: r.queued_at,
    start_date: r.start_date,
    end_date: r.end_date,
    duration,
    data_interval_start: r.data_interval_start,
    data_interval_end: r.data_interval_end,
    run_after: r.run_after,
    last_scheduling_decision: r.last_scheduling_decision,
    run_type: r.run_type,
    state: r.state,
    triggered_by: r.triggered_by && TRIGGERED_BY.has(r.triggered_by) ? r.triggered_by : null,
    triggering_user_name: null,
    conf: jsonOr<Record<string, unknown> | null>(r.conf, null),
    note: r.note,
    dag_versions: [],
    bundle_version: null,
    dag_display_name: r.dag_id,
  };
}

/** Airflow's TaskInstanceResponse, plus orch's `state_reason` (why the try waits or ended). */
export function taskInstanceResponse(t: TaskInstanceWithRun) {
  return {
    id: String(t.id),
    task_id: t.task_id,
    dag_id: t.dag_id,
    dag_run_id: t.run_id,
    map_index: t.map_index,
    logical_date: t.logical_date,
    run_after: t.run_after,
    start_date: t.start_date,
    end_date: t.end_date,
    duration: t.duration,
    state: t.state,
    try_number: t.try_number,
    max_tries: t.max_tries,
    task_display_name: t.task_id,
    dag_display_name: t.dag_id,
    hostname: t.hostname,
    unixname: null,
    pool: t.pool ?? "default_pool",
    pool_slots: 1,
    queue: t.queue,
    priority_weight: t.priority_weight,
    operator: t.operator,
    operator_name: t.operator,
    queued_when: t.queued_dttm,
    scheduled_when: t.scheduled_dttm,
    pid: t.pid,
    executor: null,
    executor_config: "{}",
    note: t.note ?? null,
    rendered_map_index: t.rendered_map_index ?? null,
    rendered_fields: jsonOr<Record<string, unknown>>(t.rendered_fields, {}),
    trigger: null,
    triggerer_job: null,
    dag_version: null,
    state_reason: t.state_reason,
  };
}

export interface TryRow {
  dag_id: string;
  run_id: string;
  task_id: string;
  map_index: number;
  try_number: number;
  max_tries: number;
  state: string | null;
  start_date: string | null;
  end_date: string | null;
  duration: number | null;
  hostname: string | null;
  pid: number | null;
  operator: string | null;
}

export function taskInstanceHistoryResponse(h: TryRow, ti: { pool: string | null; queue: string | null; priority_weight: number; queued_dttm: string | null; scheduled_dttm: string | null }) {
  return {
    task_id: h.task_id,
    dag_id: h.dag_id,
    dag_run_id: h.run_id,
    map_index: h.map_index,
    start_date: h.start_date,
    end_date: h.end_date,
    duration: h.duration,
    state: h.state,
    try_number: h.try_number,
    max_tries: h.max_tries,
    task_display_name: h.task_id,
    dag_display_name: h.dag_id,
    hostname: h.hostname,
    unixname: null,
    pool: ti.pool ?? "default_pool",
    pool_slots: 1,
    queue: ti.queue,
    priority_weight: ti.priority_weight,
    operator: h.operator,
    operator_name: h.operator,
    queued_when: ti.queued_dttm,
    scheduled_when: ti.scheduled_dttm,
    pid: h.pid,
    executor: null,
    executor_config: "{}",
    dag_version: null,
  };
}

export function importErrorResponse(e: ImportErrorRow) {
  return {
    import_error_id: e.id,
    timestamp: e.timestamp,
    filename: e.filename,
    bundle_name: "dags-folder",
    stack_trace: e.line ? `${e.filename}:${e.line}\n${e.stacktrace}` : e.stacktrace,
  };
}

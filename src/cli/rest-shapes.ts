// The JSON a listing prints for `-o json|yaml`: every field of Airflow 3's REST DAGRunResponse and
// TaskInstanceResponse (api_fastapi/core_api/datamodels/{dag_run,task_instances}.py), so a script
// written against `GET /api/v2/dags/{id}/dagRuns` reads the CLI's output too; plus orch's own
// `state_reason` (why a task instance waits or ended). Fields orch has no notion of yet (DAG
// versions, bundles, executors, pools beyond default_pool) carry Airflow's empty value.
import type { DagRunRow, TaskInstanceRow } from "../store/schema.ts";

function seconds(start: string | null, end: string | null): number | null {
  if (!start || !end) return null;
  return (Date.parse(end) - Date.parse(start)) / 1000;
}

function parseJson(text: string | null): Record<string, unknown> | null {
  if (text === null) return null;
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch {
    return null;
  }
}

/** Airflow's DAGRunResponse, in its field order. */
export function dagRunResponse(r: DagRunRow, dagDisplayName: string = r.dag_id): Record<string, unknown> {
  return {
    dag_run_id: r.run_id,
    dag_id: r.dag_id,
    logical_date: r.logical_date,
    queued_at: r.queued_at,
    start_date: r.start_date,
    end_date: r.end_date,
    duration: seconds(r.start_date, r.end_date),
    data_interval_start: r.data_interval_start,
    data_interval_end: r.data_interval_end,
    run_after: r.run_after,
    last_scheduling_decision: r.last_scheduling_decision,
    run_type: r.run_type,
    state: r.state,
    triggered_by: r.triggered_by,
    triggering_user_name: null,
    conf: parseJson(r.conf) ?? {},
    note: r.note,
    dag_versions: [],
    bundle_version: null,
    dag_display_name: dagDisplayName,
  };
}

/** Airflow's TaskInstanceResponse, in its field order, plus orch's state_reason. */
export function taskInstanceResponse(t: TaskInstanceRow, run: Pick<DagRunRow, "logical_date" | "run_after">, note: string | null = null): Record<string, unknown> {
  return {
    id: String(t.id),
    task_id: t.task_id,
    dag_id: t.dag_id,
    dag_run_id: t.run_id,
    map_index: t.map_index,
    logical_date: run.logical_date,
    run_after: run.run_after,
    start_date: t.start_date,
    end_date: t.end_date,
    duration: t.duration,
    state: t.state,
    try_number: t.try_number,
    max_tries: t.max_tries,
    task_display_name: t.task_id,
    hostname: t.hostname,
    unixname: null,
    pool: t.pool ?? "default_pool",
    pool_slots: 1,
    queue: t.queue,
    priority_weight: t.priority_weight,
    operator: t.operator,
    queued_when: t.queued_dttm,
    scheduled_when: t.scheduled_dttm,
    pid: t.pid,
    executor: null,
    executor_config: "{}",
    note,
    // From the task's map_index_template; null without one (Airflow's column).
    rendered_map_index: t.rendered_map_index ?? null,
    rendered_fields: parseJson(t.rendered_fields) ?? {},
    trigger: null,
    triggerer_job: null,
    dag_version: null,
    state_reason: t.state_reason,
  };
}

// The first schema: every table DESIGN.md lists, so later work fills tables rather than adds them.
import type { Kysely } from "kysely";
import type { Dialect } from "../dialect.ts";

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations run against any schema state
export async function up(db: Kysely<any>, d: Dialect): Promise<void> {
  const s = db.schema;

  await s
    .createTable("dag")
    .addColumn("dag_id", "text", (c) => c.primaryKey())
    .addColumn("is_paused", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("is_stale", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("fileloc", "text", (c) => c.notNull())
    .addColumn("relative_fileloc", "text")
    .addColumn("owners", "text")
    .addColumn("description", "text")
    .addColumn("timetable_summary", "text")
    .addColumn("timetable_description", "text")
    .addColumn("tags", "text", (c) => c.notNull().defaultTo("[]"))
    .addColumn("max_active_runs", "integer")
    .addColumn("max_active_tasks", "integer")
    .addColumn("has_import_errors", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("last_parsed_time", "text")
    .addColumn("next_dagrun", "text")
    .addColumn("next_dagrun_data_interval_start", "text")
    .addColumn("next_dagrun_data_interval_end", "text")
    .addColumn("next_dagrun_create_after", "text")
    .execute();

  await s
    .createTable("serialized_dag")
    .addColumn("dag_id", "text", (c) => c.primaryKey())
    .addColumn("fileloc", "text", (c) => c.notNull())
    .addColumn("file_hash", "text", (c) => c.notNull())
    .addColumn("dag_hash", "text", (c) => c.notNull())
    .addColumn("data", "text", (c) => c.notNull())
    .addColumn("created_at", "text", (c) => c.notNull())
    .addColumn("last_updated", "text", (c) => c.notNull())
    .execute();

  await s
    .createTable("import_error")
    .addColumn("id", "integer", (c) => d.autoId(c))
    .addColumn("filename", "text", (c) => c.notNull())
    .addColumn("line", "integer")
    .addColumn("stacktrace", "text", (c) => c.notNull())
    .addColumn("timestamp", "text", (c) => c.notNull())
    .execute();
  await s.createIndex("idx_import_error_filename").on("import_error").column("filename").execute();

  await s
    .createTable("dag_run")
    .addColumn("id", "integer", (c) => d.autoId(c))
    .addColumn("dag_id", "text", (c) => c.notNull())
    .addColumn("run_id", "text", (c) => c.notNull())
    .addColumn("logical_date", "text")
    .addColumn("data_interval_start", "text")
    .addColumn("data_interval_end", "text")
    .addColumn("run_after", "text", (c) => c.notNull())
    .addColumn("queued_at", "text")
    .addColumn("start_date", "text")
    .addColumn("end_date", "text")
    .addColumn("state", "text", (c) => c.notNull())
    .addColumn("run_type", "text", (c) => c.notNull())
    .addColumn("conf", "text")
    .addColumn("triggered_by", "text")
    .addColumn("last_scheduling_decision", "text")
    .addColumn("backfill_id", "integer")
    .addColumn("clear_number", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("note", "text")
    .addUniqueConstraint("dag_run_dag_id_run_id_key", ["dag_id", "run_id"])
    .addUniqueConstraint("dag_run_dag_id_logical_date_key", ["dag_id", "logical_date"])
    .execute();
  await s.createIndex("idx_dag_run_state").on("dag_run").columns(["state", "dag_id"]).execute();

  await s
    .createTable("task_instance")
    .addColumn("id", "integer", (c) => d.autoId(c))
    .addColumn("dag_id", "text", (c) => c.notNull())
    .addColumn("run_id", "text", (c) => c.notNull())
    .addColumn("task_id", "text", (c) => c.notNull())
    .addColumn("map_index", "integer", (c) => c.notNull().defaultTo(-1))
    .addColumn("try_number", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("max_tries", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("state", "text")
    .addColumn("start_date", "text")
    .addColumn("end_date", "text")
    .addColumn("duration", "double precision")
    .addColumn("hostname", "text")
    .addColumn("pid", "integer")
    .addColumn("queue", "text")
    .addColumn("pool", "text")
    .addColumn("priority_weight", "integer", (c) => c.notNull().defaultTo(1))
    .addColumn("operator", "text")
    .addColumn("scheduled_dttm", "text")
    .addColumn("queued_dttm", "text")
    .addColumn("next_retry_at", "text")
    .addColumn("next_method", "text")
    .addColumn("next_kwargs", "text")
    .addColumn("trigger_id", "integer")
    .addColumn("trigger_timeout", "text")
    .addColumn("state_reason", "text")
    .addColumn("rendered_fields", "text")
    .addColumn("updated_at", "text")
    .addUniqueConstraint("task_instance_key", ["dag_id", "run_id", "task_id", "map_index"])
    .execute();
  await s.createIndex("idx_task_instance_state").on("task_instance").columns(["state", "dag_id"]).execute();

  await s
    .createTable("task_instance_history")
    .addColumn("id", "integer", (c) => d.autoId(c))
    .addColumn("task_instance_id", "integer", (c) => c.notNull())
    .addColumn("dag_id", "text", (c) => c.notNull())
    .addColumn("run_id", "text", (c) => c.notNull())
    .addColumn("task_id", "text", (c) => c.notNull())
    .addColumn("map_index", "integer", (c) => c.notNull().defaultTo(-1))
    .addColumn("try_number", "integer", (c) => c.notNull())
    .addColumn("max_tries", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("state", "text")
    .addColumn("start_date", "text")
    .addColumn("end_date", "text")
    .addColumn("duration", "double precision")
    .addColumn("hostname", "text")
    .addColumn("pid", "integer")
    .addColumn("operator", "text")
    .addColumn("state_reason", "text")
    .addUniqueConstraint("task_instance_history_key", ["dag_id", "run_id", "task_id", "map_index", "try_number"])
    .execute();

  await s
    .createTable("xcom")
    .addColumn("dag_run_id", "integer", (c) => c.notNull())
    .addColumn("task_id", "text", (c) => c.notNull())
    .addColumn("map_index", "integer", (c) => c.notNull().defaultTo(-1))
    .addColumn("key", "text", (c) => c.notNull())
    .addColumn("dag_id", "text", (c) => c.notNull())
    .addColumn("run_id", "text", (c) => c.notNull())
    .addColumn("value", "text", (c) => c.notNull())
    .addColumn("timestamp", "text", (c) => c.notNull())
    .addPrimaryKeyConstraint("xcom_pkey", ["dag_run_id", "task_id", "map_index", "key"])
    .execute();

  await s
    .createTable("variable")
    .addColumn("id", "integer", (c) => d.autoId(c))
    .addColumn("key", "text", (c) => c.notNull().unique())
    .addColumn("val", "text")
    .addColumn("description", "text")
    .addColumn("is_encrypted", "integer", (c) => c.notNull().defaultTo(0))
    .execute();

  await s
    .createTable("connection")
    .addColumn("id", "integer", (c) => d.autoId(c))
    .addColumn("conn_id", "text", (c) => c.notNull().unique())
    .addColumn("conn_type", "text", (c) => c.notNull())
    .addColumn("description", "text")
    .addColumn("host", "text")
    .addColumn("schema", "text")
    .addColumn("login", "text")
    .addColumn("password", "text")
    .addColumn("port", "integer")
    .addColumn("extra", "text")
    .addColumn("is_encrypted", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("is_extra_encrypted", "integer", (c) => c.notNull().defaultTo(0))
    .execute();

  await s
    .createTable("asset")
    .addColumn("id", "integer", (c) => d.autoId(c))
    .addColumn("name", "text", (c) => c.notNull())
    .addColumn("uri", "text", (c) => c.notNull())
    .addColumn("group", "text", (c) => c.notNull().defaultTo("asset"))
    .addColumn("extra", "text", (c) => c.notNull().defaultTo("{}"))
    .addColumn("created_at", "text", (c) => c.notNull())
    .addColumn("updated_at", "text", (c) => c.notNull())
    .addUniqueConstraint("asset_name_uri_key", ["name", "uri"])
    .execute();

  await s
    .createTable("asset_event")
    .addColumn("id", "integer", (c) => d.autoId(c))
    .addColumn("asset_id", "integer", (c) => c.notNull())
    .addColumn("extra", "text", (c) => c.notNull().defaultTo("{}"))
    .addColumn("source_task_id", "text")
    .addColumn("source_dag_id", "text")
    .addColumn("source_run_id", "text")
    .addColumn("source_map_index", "integer")
    .addColumn("timestamp", "text", (c) => c.notNull())
    .execute();

  await s
    .createTable("dag_schedule_asset_reference")
    .addColumn("asset_id", "integer", (c) => c.notNull())
    .addColumn("dag_id", "text", (c) => c.notNull())
    .addColumn("created_at", "text", (c) => c.notNull())
    .addColumn("updated_at", "text", (c) => c.notNull())
    .addPrimaryKeyConstraint("dsar_pkey", ["asset_id", "dag_id"])
    .execute();

  await s
    .createTable("asset_dag_run_queue")
    .addColumn("asset_id", "integer", (c) => c.notNull())
    .addColumn("target_dag_id", "text", (c) => c.notNull())
    .addColumn("created_at", "text", (c) => c.notNull())
    .addPrimaryKeyConstraint("adrq_pkey", ["asset_id", "target_dag_id"])
    .execute();

  await s
    .createTable("backfill")
    .addColumn("id", "integer", (c) => d.autoId(c))
    .addColumn("dag_id", "text", (c) => c.notNull())
    .addColumn("from_date", "text", (c) => c.notNull())
    .addColumn("to_date", "text", (c) => c.notNull())
    .addColumn("dag_run_conf", "text", (c) => c.notNull().defaultTo("{}"))
    .addColumn("is_paused", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("reprocess_behavior", "text", (c) => c.notNull().defaultTo("none"))
    .addColumn("max_active_runs", "integer", (c) => c.notNull().defaultTo(10))
    .addColumn("created_at", "text", (c) => c.notNull())
    .addColumn("completed_at", "text")
    .addColumn("updated_at", "text", (c) => c.notNull())
    .execute();

  await s
    .createTable("backfill_dag_run")
    .addColumn("id", "integer", (c) => d.autoId(c))
    .addColumn("backfill_id", "integer", (c) => c.notNull())
    .addColumn("dag_run_id", "integer")
    .addColumn("exception_reason", "text")
    .addColumn("logical_date", "text", (c) => c.notNull())
    .addColumn("sort_ordinal", "integer", (c) => c.notNull())
    .addUniqueConstraint("backfill_dag_run_key", ["backfill_id", "logical_date"])
    .execute();

  await s
    .createTable("trigger")
    .addColumn("id", "integer", (c) => d.autoId(c))
    .addColumn("classpath", "text", (c) => c.notNull())
    .addColumn("kwargs", "text", (c) => c.notNull())
    .addColumn("created_date", "text", (c) => c.notNull())
    .addColumn("triggerer_id", "integer")
    .execute();

  await s
    .createTable("log")
    .addColumn("id", "integer", (c) => d.autoId(c))
    .addColumn("dttm", "text", (c) => c.notNull())
    .addColumn("dag_id", "text")
    .addColumn("task_id", "text")
    .addColumn("map_index", "integer")
    .addColumn("event", "text", (c) => c.notNull())
    .addColumn("logical_date", "text")
    .addColumn("run_id", "text")
    .addColumn("owner", "text")
    .addColumn("extra", "text")
    .addColumn("try_number", "integer")
    .execute();

  await s
    .createTable("user")
    .addColumn("id", "integer", (c) => d.autoId(c))
    .addColumn("username", "text", (c) => c.notNull().unique())
    .addColumn("password_hash", "text", (c) => c.notNull())
    .addColumn("role", "text", (c) => c.notNull().defaultTo("Admin"))
    .addColumn("created_at", "text", (c) => c.notNull())
    .execute();

  await s
    .createTable("job")
    .addColumn("id", "integer", (c) => d.autoId(c))
    .addColumn("job_type", "text", (c) => c.notNull())
    .addColumn("state", "text", (c) => c.notNull())
    .addColumn("hostname", "text")
    .addColumn("pid", "integer")
    .addColumn("start_date", "text", (c) => c.notNull())
    .addColumn("end_date", "text")
    .addColumn("latest_heartbeat", "text", (c) => c.notNull())
    .execute();
}

// Claims name the job that made them, so any live scheduler can tell a dead job's tries from a live
// one's (issue 9, item 8), and a try lost with its scheduler is recorded as interrupted, not failed
// (item 9).
import type { Kysely } from "kysely";
import type { Dialect } from "../dialect.ts";

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a migration sees the schema as it was
export async function up(db: Kysely<any>, _dialect: Dialect): Promise<void> {
  const s = db.schema;
  // Airflow's task_instance.queued_by_job_id: the scheduler job that claimed the try.
  await s.alterTable("task_instance").addColumn("queued_by_job_id", "integer").execute();
  // 1 when the try ended because its scheduler died, not by anything the task did.
  await s.alterTable("task_instance_history").addColumn("interrupted", "integer", (c) => c.notNull().defaultTo(0)).execute();
  await s.createIndex("idx_job_state_heartbeat").on("job").columns(["state", "latest_heartbeat"]).execute();
  // The claim's order (priority first, then oldest): the claim walks this index and stops after
  // its limit instead of sorting every scheduled row (3,000 scheduled: 8 ms a claim without it).
  await s.createIndex("idx_task_instance_claim").on("task_instance").columns(["state", "priority_weight desc", "scheduled_dttm", "id"]).execute();
}

// Assets that trigger runs and triggers that resume deferred tasks (issue 12): which events an
// asset-triggered run consumed (Airflow's dagrun_asset_event), and the indexes the triggerer's claim
// and the event queries walk.
import type { Kysely } from "kysely";
import type { Dialect } from "../dialect.ts";

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a migration sees the schema as it was
export async function up(db: Kysely<any>, _dialect: Dialect): Promise<void> {
  const s = db.schema;
  await s
    .createTable("dagrun_asset_event")
    .addColumn("dag_run_id", "integer", (c) => c.notNull())
    .addColumn("event_id", "integer", (c) => c.notNull())
    .addPrimaryKeyConstraint("dagrun_asset_event_pkey", ["dag_run_id", "event_id"])
    .execute();
  await s.createIndex("idx_asset_event_asset").on("asset_event").columns(["asset_id", "id"]).execute();
  await s.createIndex("idx_dsar_dag").on("dag_schedule_asset_reference").columns(["dag_id"]).execute();
  // The triggerer claims unowned triggers and reassigns those of dead triggerers by this column.
  await s.createIndex("idx_trigger_triggerer").on("trigger").columns(["triggerer_id"]).execute();
  await s.createIndex("idx_task_instance_trigger").on("task_instance").columns(["trigger_id"]).execute();
}

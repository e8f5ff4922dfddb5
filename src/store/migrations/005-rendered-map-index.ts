// task_instance.rendered_map_index: a mapped task instance's name rendered from the task's
// map_index_template when its try ends (Airflow's column of the same name); NULL without a template.
import type { Kysely } from "kysely";

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations run against any schema state
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable("task_instance").addColumn("rendered_map_index", "text").execute();
}

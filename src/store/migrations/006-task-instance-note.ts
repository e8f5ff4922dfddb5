// task_instance_note: a person's note on a task instance (Airflow's TaskInstanceNote), set through
// PATCH .../taskInstances/{task_id} with `note`. Its own table, as Airflow keeps it, keyed by the
// task instance's natural key so that deleting a run or a DAG deletes its notes by the same
// dag_id/run_id filters, and clearing a task instance keeps its note.
import type { Kysely } from "kysely";
import type { Dialect } from "../dialect.ts";

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a migration sees the schema as it was
export async function up(db: Kysely<any>, _dialect: Dialect): Promise<void> {
  await db.schema
    .createTable("task_instance_note")
    .addColumn("dag_id", "text", (c) => c.notNull())
    .addColumn("run_id", "text", (c) => c.notNull())
    .addColumn("task_id", "text", (c) => c.notNull())
    .addColumn("map_index", "integer", (c) => c.notNull().defaultTo(-1))
    .addColumn("content", "text", (c) => c.notNull())
    .addColumn("user_id", "text")
    .addColumn("created_at", "text", (c) => c.notNull())
    .addColumn("updated_at", "text", (c) => c.notNull())
    .addPrimaryKeyConstraint("task_instance_note_pkey", ["dag_id", "run_id", "task_id", "map_index"])
    .execute();
}

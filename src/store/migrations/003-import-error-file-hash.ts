// import_error.file_hash: the content hash of the file an error came from, so a broken file that
// has not changed is not imported again by every CLI call (three files hanging at import made
// `orch dags list` take 14.6 s). NULL means "retry on every pass" (a dag_id lost to another file).
import type { Kysely } from "kysely";

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations run against any schema state
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable("import_error").addColumn("file_hash", "text").execute();
}

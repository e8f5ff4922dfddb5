// Versioned migrations. Each runs in one transaction that first inserts its version row, so a
// second migrator racing on the same database fails on the primary key and backs off instead of
// applying it twice. A database whose newest version this orch does not know is refused.
import { sql, type Kysely } from "kysely";
import { OrchError } from "../errors.ts";
import { ORCH_VERSION } from "../version.ts";
import type { Dialect } from "./dialect.ts";
import * as m001 from "./migrations/001-initial.ts";
import * as m002 from "./migrations/002-job-claims.ts";
import * as m003 from "./migrations/003-import-error-file-hash.ts";
import * as m004 from "./migrations/004-assets-triggers.ts";
import * as m005 from "./migrations/005-rendered-map-index.ts";
import * as m006 from "./migrations/006-task-instance-note.ts";
import type { Store } from "./open.ts";
import { nowIso } from "./schema.ts";

export interface Migration {
  version: number;
  name: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- a migration sees the schema as it was
  up(db: Kysely<any>, dialect: Dialect): Promise<void>;
}

export const MIGRATIONS: readonly Migration[] = [
  { version: 1, name: "initial", up: m001.up },
  { version: 2, name: "job-claims", up: m002.up },
  { version: 3, name: "import-error-file-hash", up: m003.up },
  { version: 4, name: "assets-triggers", up: m004.up },
  { version: 5, name: "rendered-map-index", up: m005.up },
  { version: 6, name: "task-instance-note", up: m006.up },
];

export const LATEST_SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1].version;

export interface SchemaStatus {
  /** Highest applied version; 0 for an empty database. */
  current: number;
  latest: number;
  pending: Migration[];
  /** The orch version that applied `current`, when known. */
  writtenBy?: string;
}

async function ensureVersionTable(store: Store): Promise<void> {
  await store.db.schema
    .createTable("orch_version")
    .ifNotExists()
    .addColumn("version", "integer", (c) => c.primaryKey())
    .addColumn("name", "text", (c) => c.notNull())
    .addColumn("orch_version", "text", (c) => c.notNull())
    .addColumn("applied_at", "text", (c) => c.notNull())
    .execute();
}

async function versionTableExists(store: Store): Promise<boolean> {
  const tables = await store.db.introspection.getTables();
  return tables.some((t) => t.name === "orch_version");
}

export async function schemaStatus(store: Store): Promise<SchemaStatus> {
  if (!(await versionTableExists(store))) {
    return { current: 0, latest: LATEST_SCHEMA_VERSION, pending: [...MIGRATIONS] };
  }
  const top = await store.db
    .selectFrom("orch_version")
    .select(["version", "orch_version"])
    .orderBy("version", "desc")
    .limit(1)
    .executeTakeFirst();
  const current = top?.version ?? 0;
  return {
    current,
    latest: LATEST_SCHEMA_VERSION,
    pending: MIGRATIONS.filter((m) => m.version > current),
    writtenBy: top?.orch_version,
  };
}

export function schemaTooNewError(status: SchemaStatus, displayUrl: string): OrchError {
  return new OrchError(
    "ORCH_DB_SCHEMA_TOO_NEW",
    `the database at ${displayUrl} has schema version ${status.current}` +
      (status.writtenBy ? ` (written by orch ${status.writtenBy})` : "") +
      `, newer than this orch ${ORCH_VERSION} knows (schema version ${status.latest}); upgrade orch to use it`,
    { current: status.current, latest: status.latest, writtenBy: status.writtenBy },
  );
}

/** Throws unless the schema is exactly the one this orch was built for. */
export async function assertSchemaCurrent(store: Store): Promise<void> {
  const status = await schemaStatus(store);
  if (status.current > status.latest) throw schemaTooNewError(status, store.displayUrl);
  if (status.pending.length > 0) {
    throw new OrchError(
      "ORCH_DB_NOT_MIGRATED",
      `the database at ${store.displayUrl} is at schema version ${status.current}, this orch needs ${status.latest}` +
        ` (${status.pending.length} migration(s) pending); run \`orch db migrate\``,
      { current: status.current, latest: status.latest },
    );
  }
}

// An arbitrary constant: the advisory lock key every orch migrator takes on PostgreSQL.
const MIGRATION_LOCK_KEY = 7_240_311;

/** Applies what is pending, in order; returns what this call applied (empty when current). */
export async function migrate(store: Store, onApplied?: (m: Migration) => void): Promise<Migration[]> {
  if (!store.dialect.supportsAdvisoryLocks) return migrateUnlocked(store, onApplied);
  return store.db.connection().execute(async (conn) => {
    await sql`select pg_advisory_lock(${MIGRATION_LOCK_KEY})`.execute(conn);
    try {
      return await migrateUnlocked({ ...store, db: conn, writeTransaction: (fn) => conn.transaction().execute(fn) }, onApplied);
    } finally {
      await sql`select pg_advisory_unlock(${MIGRATION_LOCK_KEY})`.execute(conn);
    }
  });
}

async function migrateUnlocked(store: Store, onApplied?: (m: Migration) => void): Promise<Migration[]> {
  await ensureVersionTable(store);
  const status = await schemaStatus(store);
  if (status.current > status.latest) throw schemaTooNewError(status, store.displayUrl);
  const applied: Migration[] = [];
  for (const m of status.pending) {
    try {
      await store.writeTransaction(async (trx) => {
        await trx
          .insertInto("orch_version")
          .values({ version: m.version, name: m.name, orch_version: ORCH_VERSION, applied_at: nowIso() })
          .execute();
        await m.up(trx, store.dialect);
      });
    } catch (e) {
      // Someone else applied it between our status read and our insert: that is success.
      const again = await schemaStatus(store);
      if (again.current >= m.version) continue;
      throw e;
    }
    applied.push(m);
    onApplied?.(m);
  }
  return applied;
}

/** Drops every table in the store (orch's and anything else in its schema), then nothing else. */
export async function dropAllTables(store: Store): Promise<string[]> {
  const tables = (await store.db.introspection.getTables()).map((t) => t.name);
  await store.writeTransaction(async (trx) => {
    for (const t of tables) {
      await sql`drop table if exists ${sql.table(t)}`.execute(trx);
    }
  });
  return tables;
}

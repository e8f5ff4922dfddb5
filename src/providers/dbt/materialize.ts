// Building a model's relation through a warehouse hook, each in one transaction: a view (drop,
// create view), a table (drop, create table as), an incremental model (the first time a table; after
// that the new rows into a temporary table, then delete+insert on unique_key, or append). A failure
// rolls the transaction back, leaving the relation as it was. SQL is kept to what PostgreSQL and
// SQLite share; where they differ, the difference is a named capability below.
import type { WarehouseHook } from "../types.ts";
import { quoteColumn, quoteIdent } from "../values.ts";
import type { ModelConfig } from "./render.ts";

export type RelationKind = "table" | "view";

interface Capabilities {
  /** DROP … CASCADE, so a view over a relation being replaced does not block it (PostgreSQL). */
  dropCascade: boolean;
  /**
   * ANALYZE a table once written. PostgreSQL plans a fresh table as if it held a handful of rows
   * until autovacuum gets to it: the incremental fct_trips of a real green month then took a nested
   * loop over 15 million pairs (4.7 s instead of 0.3 s). SQLite has no join choice this changes.
   */
  analyzeAfterWrite: boolean;
}

export const CAPABILITIES: Record<WarehouseHook["dialect"], Capabilities> = {
  postgres: { dropCascade: true, analyzeAfterWrite: true },
  // SQLite has no CASCADE; its views are resolved when queried, so none blocks a drop.
  sqlite: { dropCascade: false, analyzeAfterWrite: false },
};

/**
 * Fresh statistics for a table just written, where the planner needs them. The row count (what the
 * plans above went wrong on) comes with any column, so a wide table is analyzed on `columns` only:
 * the whole of raw_trips (21 columns, two months) took 0.5 s, its source_month alone a tenth of that.
 */
export async function analyzeIfUseful(hook: WarehouseHook, table: string, columns?: readonly string[]): Promise<void> {
  if (!CAPABILITIES[hook.dialect].analyzeAfterWrite) return;
  await hook.run(`ANALYZE ${quoteIdent(table)}${columns?.length ? ` (${columns.map(quoteColumn).join(", ")})` : ""}`);
}

/** What `name` is in the warehouse's default schema, if anything. */
export async function relationKind(hook: WarehouseHook, name: string): Promise<RelationKind | undefined> {
  if (hook.dialect === "postgres") {
    const rows = await hook.getRecords<{ t: string }>(
      `SELECT table_type AS t FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = $1`,
      [name],
    );
    if (!rows.length) return undefined;
    return rows[0]!.t === "VIEW" ? "view" : "table";
  }
  const rows = await hook.getRecords<{ t: string }>(`SELECT type AS t FROM sqlite_master WHERE name = $1 AND type IN ('table', 'view')`, [name]);
  return rows.length ? (rows[0]!.t as RelationKind) : undefined;
}

async function drop(hook: WarehouseHook, name: string, kind: RelationKind): Promise<void> {
  const cascade = CAPABILITIES[hook.dialect].dropCascade ? " CASCADE" : "";
  await hook.run(`DROP ${kind === "view" ? "VIEW" : "TABLE"} IF EXISTS ${quoteIdent(name)}${cascade}`);
}

async function count(hook: WarehouseHook, relation: string): Promise<number> {
  const [r] = await hook.getRecords<{ n: number | string }>(`SELECT count(*) AS n FROM ${quoteIdent(relation)}`);
  return Number(r!.n);
}

export interface MaterializeResult {
  /** What dbt prints: "created sql view model", "created sql table model", "created sql incremental model". */
  action: string;
  /** Rows in the relation (tables), or rows inserted (incremental runs); null for views. */
  rows: number | null;
}

/**
 * Builds model `name` from `sql` (a SELECT). `existing` is what relationKind answered before the
 * model was rendered (is_incremental() was decided from it).
 */
export async function materialize(hook: WarehouseHook, name: string, sql: string, config: ModelConfig, existing: RelationKind | undefined, incremental: boolean): Promise<MaterializeResult> {
  const target = quoteIdent(name);
  return hook.transaction(async () => {
    if (config.materialized === "view") {
      if (existing) await drop(hook, name, existing);
      await hook.run(`CREATE VIEW ${target} AS ${sql}`);
      return { action: "created sql view model", rows: null };
    }
    if (config.materialized === "table" || !incremental) {
      if (existing) await drop(hook, name, existing);
      await hook.run(`CREATE TABLE ${target} AS ${sql}`);
      await analyzeIfUseful(hook, name, config.materialized === "incremental" ? config.unique_key : undefined);
      return { action: `created sql ${config.materialized} model`, rows: await count(hook, name) };
    }
    // Incremental, into an existing table: the new rows first, so the delete sees exactly their keys.
    const tmp = `${name}__dbt_tmp`;
    await hook.run(`DROP TABLE IF EXISTS ${quoteIdent(tmp)}`);
    await hook.run(`CREATE TEMPORARY TABLE ${quoteIdent(tmp)} AS ${sql}`);
    const columns = (await hook.describeTable(name))?.map((c) => c.name) ?? [];
    if (config.incremental_strategy === "delete+insert") {
      // dbt's statement; IN over a subquery (not a correlated EXISTS) lets SQLite index the keys once.
      const keys = config.unique_key.map(quoteColumn).join(", ");
      const lhs = config.unique_key.length > 1 ? `(${keys})` : keys;
      await hook.run(`DELETE FROM ${target} WHERE ${lhs} IN (SELECT DISTINCT ${keys} FROM ${quoteIdent(tmp)})`);
    }
    const cols = columns.map(quoteColumn).join(", ");
    const { rowCount } = await hook.run(`INSERT INTO ${target} (${cols}) SELECT ${cols} FROM ${quoteIdent(tmp)}`);
    await hook.run(`DROP TABLE ${quoteIdent(tmp)}`);
    await analyzeIfUseful(hook, name, config.unique_key);
    return { action: "created sql incremental model", rows: rowCount };
  });
}

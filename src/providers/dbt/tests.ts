// dbt's four generic tests as queries that count failures (dbt's own SQL, reduced to what PostgreSQL
// and SQLite share). A test passes with 0 failures. accepted_values' values are bound parameters,
// never spliced into the SQL.
import type { SqlValue, WarehouseHook } from "../types.ts";
import { quoteColumn, quoteIdent } from "../values.ts";
import type { TestSpec } from "./project.ts";

export interface TestQuery {
  sql: string;
  params: SqlValue[];
}

/** `relation`: the tested table or view; `parent`: the relationships test's target relation. */
export function testQuery(t: TestSpec, relation: string, parent?: string): TestQuery {
  const rel = quoteIdent(relation);
  const col = quoteColumn(t.column);
  switch (t.test) {
    case "not_null":
      return { sql: `SELECT count(*) AS failures FROM ${rel} WHERE ${col} IS NULL`, params: [] };
    case "unique":
      return {
        sql: `SELECT count(*) AS failures FROM (SELECT ${col} FROM ${rel} WHERE ${col} IS NOT NULL GROUP BY ${col} HAVING count(*) > 1) AS dbt_test`,
        params: [],
      };
    case "accepted_values": {
      const quote = t.args.quote !== false;
      const values = (t.args.values as unknown[]).map((v) => (quote ? String(v) : (v as SqlValue)));
      const list = values.map((_, i) => `$${i + 1}`).join(", ");
      return {
        sql: `SELECT count(*) AS failures FROM (SELECT ${col} AS value_field FROM ${rel} GROUP BY ${col}) AS dbt_test WHERE value_field NOT IN (${list})`,
        params: values,
      };
    }
    case "relationships": {
      if (!parent) throw new Error(`relationships test ${t.name} needs its parent relation`);
      const field = quoteColumn(String(t.args.field));
      return {
        sql: `SELECT count(*) AS failures FROM (SELECT ${col} AS from_field FROM ${rel} WHERE ${col} IS NOT NULL) AS child
              LEFT JOIN (SELECT ${field} AS to_field FROM ${quoteIdent(parent)}) AS parent ON child.from_field = parent.to_field
              WHERE parent.to_field IS NULL`,
        params: [],
      };
    }
  }
}

export async function runTestQuery(hook: WarehouseHook, q: TestQuery): Promise<number> {
  const [r] = await hook.getRecords<{ failures: number | string }>(q.sql, q.params);
  return Number(r?.failures ?? 0);
}

// Child of test/store/pg-session.test.ts: through the store's pool (storePool, pipeline mode), one
// transaction of begin, a pipelined advisory lock another process holds, and a count of the rows that
// process inserts before it commits. Prints {"counted": N, "pipelined": M}.
import { Kysely, PostgresDialect, sql } from "kysely";
import pg from "pg";
import { PIPELINED, storePool } from "../../src/store/pg-session.ts";

const pool = storePool(new pg.Pool({ connectionString: process.argv[2], max: 1, pipeline: true }));
const db = new Kysely<{ counted: { id: number } }>({ dialect: new PostgresDialect({ pool }) });
const counted = await db.transaction().execute(async (trx) => {
  await sql`${sql.raw(PIPELINED)}select pg_advisory_xact_lock(${4242})`.execute(trx);
  const r = await sql<{ n: number }>`select count(*)::int as n from counted`.execute(trx);
  return r.rows[0]!.n;
});
await db.destroy();
console.log(JSON.stringify({ counted, pipelined: pool.stats.pipelined }));

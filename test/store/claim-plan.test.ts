// The claim's plan on PostgreSQL (src/store/task-instances.ts, candidatesQuery): it walks the
// claim index and stops at its window, however many task instances are scheduled and whatever the
// planner's statistics say. Joined to dag and dag_run, it read, counted and sorted every scheduled
// row first (300 here; 2.4-3.8 ms a claim for a fan-out of 998, quadratic over the fan-out). Read
// from EXPLAIN ANALYZE of the very statement the claim sends (captured from Kysely's query log):
// row counts, not times.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Kysely, PostgresDialect, sql, type CompiledQuery } from "kysely";
import pg from "pg";
import { postgresDialect } from "../../src/store/dialect.ts";
import type { Database } from "../../src/store/schema.ts";
import { claimScheduledTaskInstances } from "../../src/store/task-instances.ts";
import { dialectSkipReason, freshStore, type TestStore } from "../helpers/store.ts";
import { createRunningRun, seedSerializedDag, serializedDag, task } from "../helpers/ui-fixtures.ts";

interface PlanNode {
  "Node Type": string;
  "Relation Name"?: string;
  Alias?: string;
  "Actual Rows": number;
  "Actual Loops": number;
  Plans?: PlanNode[];
}

function nodes(n: PlanNode, out: PlanNode[] = []): PlanNode[] {
  out.push(n);
  for (const c of n.Plans ?? []) nodes(c, out);
  return out;
}

describe("postgres: the claim's plan", { skip: await dialectSkipReason("postgres") }, () => {
  let t: TestStore;
  let pool: pg.Pool;
  let db: Kysely<Database>;
  const sent: CompiledQuery[] = [];
  const WIDTH = 300;
  const RUNS = 50;
  const runIds: number[] = [];
  before(async () => {
    t = await freshStore("postgres", "claimplan");
    const ups = Array.from({ length: WIDTH }, (_, i) => `m${i}`);
    const s = serializedDag({ dag_id: "fan", schedule: null });
    s.tasks = [task("start", [], ups), ...ups.map((u) => task(u, ["start"], ["end"])), task("end", ups, [])];
    await seedSerializedDag(t.store, s);
    const run = await createRunningRun(t.store, "fan", 1, ["start", ...ups, "end"]);
    await t.store.db.updateTable("task_instance").set({ state: "success" }).where("run_id", "=", run.run_id).where("task_id", "=", "start").execute();
    await t.store.db
      .updateTable("task_instance")
      .set({ state: "scheduled", scheduled_dttm: new Date().toISOString() })
      .where("run_id", "=", run.run_id)
      .where("task_id", "in", ups)
      .execute();
    // And RUNS running runs of a 10-task chain, each with its first task scheduled (a backfill's,
    // or `orch dags test`'s narrowing to its own runs: the claim's onlyRunIds).
    const chain = serializedDag({ dag_id: "chain", schedule: null, tasks: 10 });
    await seedSerializedDag(t.store, chain);
    for (let i = 1; i <= RUNS; i++) {
      const r = await createRunningRun(t.store, "chain", i, chain.tasks.map((x) => x.task_id));
      runIds.push(r.id);
      await t.store.db.updateTable("task_instance").set({ state: "scheduled", scheduled_dttm: new Date().toISOString() }).where("run_id", "=", r.run_id).where("dag_id", "=", "chain").where("task_id", "=", "t0").execute();
    }
    pool = new pg.Pool({ connectionString: t.url, max: 1 });
    db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }), log: (e) => void (e.level === "query" && sent.push(e.query)) });
  });
  after(async () => {
    await db.destroy();
    await t.cleanup();
  });

  /** The claim's candidate statement as the claim sent it, run under EXPLAIN ANALYZE (rolled back). */
  async function candidatePlan(onlyRunIds?: number[], generic = false): Promise<PlanNode[]> {
    sent.length = 0;
    let plan: PlanNode | undefined;
    await db
      .transaction()
      .execute(async (trx) => {
        const got = await claimScheduledTaskInstances(trx, postgresDialect, { limit: 1, jobId: null, defaultMaxActiveTasks: 16, ...(onlyRunIds ? { onlyRunIds } : {}) });
        assert.equal(got.claimed.length, 1);
        const q = sent.find((x) => x.sql.startsWith('select "ti".*'));
        assert.ok(q, "the claim sent its candidate statement");
        let r;
        if (generic) {
          await sql`set local plan_cache_mode = force_generic_plan`.execute(trx);
          await sql.raw(`prepare claim_candidates as ${q.sql}`).execute(trx);
          r = await sql<{ "QUERY PLAN": { Plan: PlanNode }[] }>`explain (analyze, format json) execute claim_candidates (${sql.raw(q.parameters.map(literal).join(", "))})`.execute(trx);
          await sql`deallocate claim_candidates`.execute(trx);
        } else r = await sql<{ "QUERY PLAN": { Plan: PlanNode }[] }>`explain (analyze, format json) ${sql.raw(q.sql.replace(/\$(\d+)/g, (_, n: string) => literal(q.parameters[Number(n) - 1])))}`.execute(trx);
        plan = r.rows[0]!["QUERY PLAN"][0]!.Plan;
        throw new Rollback();
      })
      .catch((e: unknown) => {
        if (!(e instanceof Rollback)) throw e;
      });
    return nodes(plan!);
  }

  for (const [stats, narrowed, generic] of [
    ["stale statistics", false, false],
    ["stale statistics", true, false],
    ["stale statistics", false, true],
    ["stale statistics", true, true],
    ["fresh statistics", false, false],
    ["fresh statistics", true, false],
    ["fresh statistics", false, true],
    ["fresh statistics", true, true],
  ] as const) {
    it(`reads no more of ${WIDTH + RUNS} scheduled rows than its window of 4, sorting none, with ${stats}${narrowed ? `, narrowed to ${RUNS} runs` : ""}${generic ? ", as a prepared statement's generic plan" : ""}`, async () => {
      if (stats === "fresh statistics") await sql`analyze task_instance, dag_run, dag`.execute(t.store.db);
      const plan = await candidatePlan(narrowed ? runIds : undefined, generic);
      const scans = plan.filter((n) => n["Relation Name"] === "task_instance" && n.Alias === "ti");
      assert.equal(scans.length, 1, JSON.stringify(plan.map((n) => n["Node Type"])));
      assert.ok(scans[0]!["Actual Rows"] * scans[0]!["Actual Loops"] <= 4, `rows read of the scheduled ones: ${scans[0]!["Actual Rows"]} x ${scans[0]!["Actual Loops"]}`);
      assert.deepEqual(plan.filter((n) => n["Node Type"] === "Sort").length, 0);
    });
  }
});

class Rollback extends Error {}

/** A parameter as an SQL literal, for EXPLAIN of the statement as sent. */
function literal(v: unknown): string {
  if (v === null || v === undefined) return "null";
  if (typeof v === "number") return String(v);
  if (Array.isArray(v)) return `array[${v.map(literal).join(", ")}]`;
  return `'${String(v).replace(/'/g, "''")}'`;
}

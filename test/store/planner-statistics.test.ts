// Run creation keeps PostgreSQL's planner statistics in step with a big run (src/store/
// planner-statistics.ts): without an ANALYZE, a fresh database planned the hand-off's reads of a
// 1,000-task run as scans of the whole run until autovacuum came by. Read through pg_class, whose
// reltuples an ANALYZE sets (and -1 before the first one).
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { sql } from "kysely";
import { triggerDagRun } from "../../src/scheduler/run-creation.ts";
import { refreshPlannerStatistics } from "../../src/store/planner-statistics.ts";
import { dialectSkipReason, freshStore, type TestStore } from "../helpers/store.ts";
import { seedDag } from "../helpers/ui-fixtures.ts";

describe("postgres: planner statistics after run creation", { skip: await dialectSkipReason("postgres") }, () => {
  let t: TestStore;
  before(async () => {
    t = await freshStore("postgres", "plannerstats");
  });
  after(() => t.cleanup());

  const believed = async () => Number((await sql<{ n: number }>`select reltuples::float8 as n from pg_class where oid = 'task_instance'::regclass`.execute(t.store.db)).rows[0]!.n);

  it("a first run of 100 task instances leaves statistics that know them", async () => {
    const d = await seedDag(t.store, { dag_id: "wide", tasks: 100, schedule: null });
    assert.ok((await believed()) <= 0, "a fresh table has never been analyzed");
    await triggerDagRun(t.store, d, { logicalDate: new Date(Date.UTC(2024, 0, 1)), triggeredBy: "test" });
    assert.equal(await believed(), 100);
  });

  it("analyzes again once the task instances added since are more than half of what it believes", async () => {
    // 100 believed: 50 added since are half of that, one more is more.
    assert.equal(await refreshPlannerStatistics(t.store, 50), false);
    assert.equal(await refreshPlannerStatistics(t.store, 1), true);
    assert.equal(await believed(), 100);
  });
});

describe("postgres: many small runs add up", { skip: await dialectSkipReason("postgres") }, () => {
  let t: TestStore;
  before(async () => {
    t = await freshStore("postgres", "plannersmall");
  });
  after(() => t.cleanup());

  it("runs of 10 task instances: the fifth brings the statistics up to date", async () => {
    const d = await seedDag(t.store, { dag_id: "small", tasks: 10, schedule: null });
    const believed = async () => Number((await sql<{ n: number }>`select reltuples::float8 as n from pg_class where oid = 'task_instance'::regclass`.execute(t.store.db)).rows[0]!.n);
    for (let i = 1; i <= 4; i++) await triggerDagRun(t.store, d, { logicalDate: new Date(Date.UTC(2024, 0, i)), triggeredBy: "test" });
    assert.ok((await believed()) <= 0, "40 task instances: not looked at yet");
    await triggerDagRun(t.store, d, { logicalDate: new Date(Date.UTC(2024, 0, 5)), triggeredBy: "test" });
    assert.equal(await believed(), 50);
  });
});

describe("sqlite: planner statistics after run creation", () => {
  let t: TestStore;
  before(async () => {
    t = await freshStore("sqlite", "plannerstats");
  });
  after(() => t.cleanup());

  it("does nothing: SQLite plans without statistics unless asked", async () => {
    assert.equal(await refreshPlannerStatistics(t.store, 10_000), false);
    const stat = await sql<{ n: number }>`select count(*) as n from sqlite_master where name = 'sqlite_stat1'`.execute(t.store.db);
    assert.equal(Number(stat.rows[0]!.n), 0);
  });
});

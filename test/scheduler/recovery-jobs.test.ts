// Recovery's verdict on job rows: the components of one `orch standalone` (scheduler, triggerer,
// DAG processor, API server) share a pid, so a job with our pid is alive when this process started
// it; only a job with our pid that this process did not start is an earlier incarnation. Before
// this held, every recovery pass declared the standalone's own triggerer dead.
import assert from "node:assert/strict";
import { hostname } from "node:os";
import { after, before, describe, it } from "node:test";
import { recoverOrphanedTaskInstances } from "../../src/scheduler/recovery.ts";
import { startJob } from "../../src/store/jobs.ts";
import { dialectSkipReason, freshStore, testDialects, type TestStore } from "../helpers/store.ts";

for (const dialect of testDialects()) {
  describe(`${dialect}: recovery and this process's jobs`, { skip: await dialectSkipReason(dialect) }, () => {
    let t: TestStore;
    before(async () => {
      t = await freshStore(dialect, "recjobs");
    });
    after(async () => {
      await t.cleanup();
    });

    const opts = (jobId: number) => ({ jobId, heartbeatTimeoutSeconds: 300, maxInterruptedTries: 3 });
    const stateOf = async (id: number) => (await t.store.db.selectFrom("job").select("state").where("id", "=", id).executeTakeFirstOrThrow()).state;

    it("a triggerer job started by this process stays running when the scheduler's recovery runs", async () => {
      const scheduler = await startJob(t.store.db, { jobType: "SchedulerJob", hostname: hostname(), pid: process.pid });
      const triggerer = await startJob(t.store.db, { jobType: "TriggererJob", hostname: hostname(), pid: process.pid });
      const report = await recoverOrphanedTaskInstances(t.store, opts(scheduler));
      assert.deepEqual(report.deadJobs, []);
      assert.equal(await stateOf(triggerer), "running");
    });

    it("a row with our pid that this process did not start (an earlier incarnation) is declared dead", async () => {
      const scheduler = await startJob(t.store.db, { jobType: "SchedulerJob", hostname: hostname(), pid: process.pid });
      const now = new Date().toISOString();
      const stale = await t.store.db
        .insertInto("job")
        .values({ job_type: "TriggererJob", state: "running", hostname: hostname(), pid: process.pid, start_date: now, end_date: null, latest_heartbeat: now })
        .returning("id")
        .executeTakeFirstOrThrow();
      const report = await recoverOrphanedTaskInstances(t.store, opts(scheduler));
      assert.ok(report.deadJobs.includes(stale.id), JSON.stringify(report));
      assert.equal(await stateOf(stale.id), "failed");
    });
  });
}

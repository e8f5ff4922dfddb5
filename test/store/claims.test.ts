// The claim and the guarded writes of a try, on both dialects: limits counted in the claim's SQL,
// `dags test` claiming only its own run, final writes that lose to a clear or a recovery, and the
// job rows that vouch for claims.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { createDagRun, generateRunId } from "../../src/store/dag-runs.ts";
import type { Db } from "../../src/store/index.ts";
import { declareJobDead, endJob, heartbeatJob, latestHeartbeats, startJob } from "../../src/store/jobs.ts";
import {
  claimScheduledTaskInstances,
  clearTaskInstances,
  finishRestartedTry,
  finishTry,
  getTaskInstanceById,
  interruptTry,
  listOrphanedClaims,
  listTaskInstances,
  startTry,
  unclaim,
} from "../../src/store/task-instances.ts";
import { dialectSkipReason, freshStore, testDialects, type TestStore } from "../helpers/store.ts";

function seeds(n: number, prefix = "t", priority = 1) {
  return Array.from({ length: n }, (_, i) => ({ task_id: `${prefix}${i}`, retries: 0, priority_weight: priority, operator: "@task" }));
}

async function runningRun(db: TestStore, dagId: string, n: number, priority = 1) {
  const logical = new Date(Date.UTC(2024, 0, 1)).toISOString();
  const run = await db.store.writeTransaction((trx) =>
    createDagRun(
      trx,
      { dag_id: dagId, run_id: generateRunId("manual", logical, logical), run_type: "manual", logical_date: logical, data_interval_start: logical, data_interval_end: logical, run_after: logical, conf: {}, triggered_by: "test", state: "running" },
      seeds(n, "t", priority),
    ),
  );
  return { run, tis: await listTaskInstances(db.store.db, dagId, run.run_id) };
}

/** Arranges states directly (a test's setup, not a transition). */
async function setState(db: Db, ids: readonly number[], state: string): Promise<void> {
  await db.updateTable("task_instance").set({ state, scheduled_dttm: new Date().toISOString() }).where("id", "in", ids).execute();
}

async function addDag(db: Db, dagId: string, maxActiveTasks: number | null): Promise<void> {
  await db
    .insertInto("dag")
    .values({ dag_id: dagId, is_paused: 0, is_stale: 0, fileloc: "/x.ts", relative_fileloc: null, owners: null, description: null, timetable_summary: null, timetable_description: null, tags: "[]", max_active_runs: 16, max_active_tasks: maxActiveTasks, has_import_errors: 0, last_parsed_time: null, next_dagrun: null, next_dagrun_data_interval_start: null, next_dagrun_data_interval_end: null, next_dagrun_create_after: null })
    .execute();
}

for (const dialect of testDialects()) {
  describe(`${dialect}: claims`, { skip: await dialectSkipReason(dialect) }, () => {
    let t: TestStore;
    before(async () => {
      t = await freshStore(dialect, "claims");
    });
    after(() => t.cleanup());

    it("a hand-off's claim starts the try it picks in the claim's own statement, or only claims it when no one can run it", async () => {
      const { tis } = await runningRun(t, "handoff", 2);
      await setState(t.store.db, tis.map((x) => x.id), "scheduled");
      const before = t.store.stats.statements;
      const asked: string[] = [];
      const got = await t.store.writeTransaction((trx) =>
        claimScheduledTaskInstances(trx, t.store.dialect, {
          limit: 1,
          jobId: null,
          defaultMaxActiveTasks: 16,
          startWith: async (picked) => (asked.push(picked.task_id), { hostname: "host-a", pid: 4242 }),
        }),
      );
      const statements = t.store.stats.statements - before;
      assert.deepEqual(asked, ["t0"]);
      assert.equal(got.startedTryNumber, 1);
      assert.equal(got.claimed.length, 1);
      const row = await getTaskInstanceById(t.store.db, got.claimed[0]!.id);
      assert.equal(row?.state, "running");
      assert.equal(row?.try_number, 1);
      assert.equal(row?.hostname, "host-a");
      assert.equal(row?.pid, 4242);
      assert.ok(row?.queued_dttm && row?.start_date, "stamped as claimed and as started");
      // Only claimed: no one to run it (no worker, its run gone). The start's statement is the claim's.
      const second = await t.store.writeTransaction((trx) =>
        claimScheduledTaskInstances(trx, t.store.dialect, { limit: 1, jobId: null, defaultMaxActiveTasks: 16, startWith: async () => undefined }),
      );
      assert.equal(second.startedTryNumber, undefined);
      assert.equal((await getTaskInstanceById(t.store.db, second.claimed[0]!.id))?.state, "queued");
      // begin, candidates, (PostgreSQL: the per-DAG lock and its count), the one update, commit.
      assert.equal(statements, t.store.dialect.supportsAdvisoryLocks ? 6 : 4);
    });

    it("a DAG at max_active_tasks does not starve the others, whatever their priority", async () => {
      await addDag(t.store.db, "capped", 1);
      await addDag(t.store.db, "other", 16);
      const capped = await runningRun(t, "capped", 41, 100);
      const other = await runningRun(t, "other", 1, 1);
      await setState(t.store.db, [capped.tis[0].id], "running");
      await setState(t.store.db, capped.tis.slice(1).map((x) => x.id), "scheduled");
      await setState(t.store.db, [other.tis[0].id], "scheduled");
      // Forty higher-priority candidates of the capped DAG used to fill the whole window.
      const got = await t.store.writeTransaction((trx) => claimScheduledTaskInstances(trx, t.store.dialect, { limit: 1, jobId: null, defaultMaxActiveTasks: 16 })).then((c) => c.claimed);
      assert.deepEqual(got.map((x) => x.dag_id), ["other"]);
    });

    it("claims only the named runs' task instances when told to (orch dags test)", async () => {
      const a = await runningRun(t, "mine", 2);
      const b = await runningRun(t, "theirs", 2);
      await setState(t.store.db, [...a.tis, ...b.tis].map((x) => x.id), "scheduled");
      const got = await t.store.writeTransaction((trx) =>
        claimScheduledTaskInstances(trx, t.store.dialect, { limit: 10, jobId: null, defaultMaxActiveTasks: 16, onlyRunIds: [a.run.id] }),
      ).then((c) => c.claimed);
      assert.deepEqual(got.map((x) => x.dag_id).sort(), ["mine", "mine"]);
      const theirs = await listTaskInstances(t.store.db, "theirs", b.run.run_id);
      assert.deepEqual(theirs.map((x) => x.state), ["scheduled", "scheduled"]);
    });

    it("a claim says whether it left runnable ones behind; unclaim gives a job's claims back in their place", async () => {
      const job = await startJob(t.store.db, { jobType: "SchedulerJob", hostname: "h", pid: 1 });
      const other = await startJob(t.store.db, { jobType: "SchedulerJob", hostname: "h", pid: 2 });
      const { run, tis } = await runningRun(t, "ahead", 3);
      await setState(t.store.db, tis.map((x) => x.id), "scheduled");
      const before = await listTaskInstances(t.store.db, "ahead", run.run_id);
      const claim = (limit: number, jobId: number) =>
        t.store.writeTransaction((trx) => claimScheduledTaskInstances(trx, t.store.dialect, { limit, jobId, defaultMaxActiveTasks: 16, onlyRunIds: [run.id] }));
      const one = await claim(1, job);
      assert.deepEqual([one.claimed.length, one.more], [1, true]);
      const theirs = await claim(1, other);
      assert.deepEqual([theirs.claimed.length, theirs.more], [1, true]);
      // Asked for more than is left: nothing behind.
      const rest = await claim(5, job);
      assert.deepEqual([rest.claimed.length, rest.more], [1, false]);
      const none = await claim(1, job);
      assert.deepEqual([none.claimed.length, none.more], [0, false]);
      // Only this job's claims go back; another job's stays queued.
      const mine = [...one.claimed, ...rest.claimed].map((x) => x.id);
      assert.equal(await unclaim(t.store.db, [...mine, theirs.claimed[0]!.id], job), 2);
      const after = new Map((await listTaskInstances(t.store.db, "ahead", run.run_id)).map((x) => [x.id, x]));
      for (const id of mine) {
        assert.equal(after.get(id)!.state, "scheduled");
        assert.equal(after.get(id)!.queued_by_job_id, null);
        // Its place among equal priorities is kept.
        assert.equal(after.get(id)!.scheduled_dttm, before.find((b) => b.id === id)!.scheduled_dttm);
      }
      assert.equal(after.get(theirs.claimed[0]!.id)!.state, "queued");
      assert.equal(after.get(theirs.claimed[0]!.id)!.queued_by_job_id, other);
    });

    it("each claim size has its own candidate window (a literal in the statement's text)", async () => {
      const { run, tis } = await runningRun(t, "windows", 7);
      await setState(t.store.db, tis.map((x) => x.id), "scheduled");
      const claim = (limit: number) =>
        t.store.writeTransaction((trx) => claimScheduledTaskInstances(trx, t.store.dialect, { limit, jobId: null, defaultMaxActiveTasks: 16, onlyRunIds: [run.id] }));
      // The first claim compiles the statement with a window of 4; the next asks for 5 of the 6 left.
      assert.equal((await claim(1)).claimed.length, 1);
      const five = await claim(5);
      assert.deepEqual([five.claimed.length, five.more], [5, true]);
      assert.deepEqual([(await claim(1)).claimed.length, (await claim(1)).claimed.length], [1, 0]);
    });

    it("a claim carries its job; a try's end is written only while state and try number are what it read", async () => {
      const job = await startJob(t.store.db, { jobType: "SchedulerJob", hostname: "h", pid: 1 });
      const { run, tis } = await runningRun(t, "guarded", 1);
      await setState(t.store.db, [tis[0].id], "scheduled");
      const [claimed] = await t.store.writeTransaction((trx) =>
        claimScheduledTaskInstances(trx, t.store.dialect, { limit: 1, jobId: job, defaultMaxActiveTasks: 16, onlyRunIds: [run.id] }),
      ).then((c) => c.claimed);
      assert.equal((await getTaskInstanceById(t.store.db, claimed.id))!.queued_by_job_id, job);
      assert.equal(await startTry(t.store.db, claimed.id, { hostname: "h", pid: 1, jobId: job }), 1);
      const running = (await getTaskInstanceById(t.store.db, claimed.id))!;
      // Cleared while it ran: restarting, and the try's success may not overwrite that.
      await clearTaskInstances(t.store.db, [{ id: running.id, retries: 0 }]);
      assert.equal((await getTaskInstanceById(t.store.db, running.id))!.state, "restarting");
      assert.equal(await t.store.writeTransaction((trx) => finishTry(trx, t.store.dialect, running, { state: "success" })), false);
      const history = () => t.store.db.selectFrom("task_instance_history").select("state").where("task_instance_id", "=", running.id).execute();
      assert.deepEqual(await history(), [], "a refused finish writes no history row either");
      assert.equal(await t.store.writeTransaction((trx) => interruptTry(trx, running, "x")), false);
      assert.equal((await getTaskInstanceById(t.store.db, running.id))!.state, "restarting");
      // Its end discards the outcome and leaves the task to run again.
      assert.equal(await t.store.writeTransaction((trx) => finishRestartedTry(trx, running, "cleared")), true);
      const after = (await getTaskInstanceById(t.store.db, running.id))!;
      assert.equal(after.state, null);
      const hist = await t.store.db.selectFrom("task_instance_history").selectAll().where("task_instance_id", "=", running.id).execute();
      assert.deepEqual(hist.map((h) => [h.try_number, h.state]), [[1, "restarting"]]);
    });

    it("an interrupted try is scheduled again without spending a retry, and says so in its history", async () => {
      const { tis } = await runningRun(t, "interrupted", 1);
      await setState(t.store.db, [tis[0].id], "queued");
      await startTry(t.store.db, tis[0].id, { hostname: "h", pid: 1, jobId: null });
      const running = (await getTaskInstanceById(t.store.db, tis[0].id))!;
      assert.equal(await t.store.writeTransaction((trx) => interruptTry(trx, running, "interrupted: test")), true);
      const after = (await getTaskInstanceById(t.store.db, running.id))!;
      assert.equal(after.state, "scheduled");
      assert.equal(after.max_tries, running.max_tries + 1);
      const [h] = await t.store.db.selectFrom("task_instance_history").selectAll().where("task_instance_id", "=", running.id).execute();
      assert.equal(h.interrupted, 1);
      // Recorded once: a second recovery of the same try changes nothing.
      assert.equal(await t.store.writeTransaction((trx) => interruptTry(trx, running, "again")), false);
    });

    it("jobs heartbeat; a job declared dead is dead once, and its claims are orphaned", async () => {
      const job = await startJob(t.store.db, { jobType: "SchedulerJob", hostname: "h", pid: 2 });
      assert.equal(await heartbeatJob(t.store.db, job), true);
      assert.ok((await latestHeartbeats(t.store.db)).some((j) => j.id === job), "expected (await latestHeartbeats(t.store.db)).some((j) => j.id === job)");
      const { run, tis } = await runningRun(t, "orphans", 1);
      await setState(t.store.db, [tis[0].id], "scheduled");
      await t.store.writeTransaction((trx) => claimScheduledTaskInstances(trx, t.store.dialect, { limit: 1, jobId: job, defaultMaxActiveTasks: 16, onlyRunIds: [run.id] })).then((c) => c.claimed);
      assert.ok(!(await listOrphanedClaims(t.store.db)).some((x) => x.id === tis[0].id), "a live job's claim is not orphaned");
      assert.equal(await declareJobDead(t.store.db, job), true);
      assert.equal(await declareJobDead(t.store.db, job), false);
      assert.equal(await heartbeatJob(t.store.db, job), false, "a dead job learns it from its next heartbeat");
      assert.ok((await listOrphanedClaims(t.store.db)).some((x) => x.id === tis[0].id), "expected (await listOrphanedClaims(t.store.db)).some((x) => x.id === tis[0].id)");
      const ended = await startJob(t.store.db, { jobType: "SchedulerJob", hostname: "h", pid: 3 });
      await endJob(t.store.db, ended);
      assert.ok(!(await latestHeartbeats(t.store.db)).some((j) => j.id === ended), "expected !(await latestHeartbeats(t.store.db)).some((j) => j.id === ended)");
    });
  });
}

// Task groups, setup/teardown and depends_on_past through real runs of real DAG files (the built
// CLI, the scheduler and its workers), on SQLite and PostgreSQL. Expected states follow Airflow 3:
// trigger_rule_dep.py's setup constraint and all_done_setup_success, dagrun.py's
// _tis_for_dagrun_state, prev_dagrun_dep.py, DAG.partial_subset and models/backfill.py.
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, afterEach, before, describe, it } from "node:test";
import { runOrch } from "../helpers/cli.ts";
import { dagsTest, latestRunStates, migrateHome, writeDag } from "../helpers/engine.ts";
import { tempHome, type TempHome } from "../helpers/home.ts";
import { assertNoLeakedProcesses } from "../helpers/leaks.ts";
import { freshPgDatabase, pgSkipReason, type FreshDatabase } from "../helpers/pg.ts";
import { killHard, startScheduler, waitFor, withStoreOf, type SchedulerProcess } from "../helpers/scheduler-process.ts";

const groupsDag = (marker: string) => `import { existsSync, writeFileSync } from "node:fs";
import { dag, task, bash, empty, taskGroup } from "orch";
export default dag({ dag_id: "grouped", schedule: null, start_date: "2024-01-01", default_args: { owner: "dag" } }, () => {
  const start = empty({ task_id: "start" });
  const outer = taskGroup({ group_id: "outer", default_args: { retries: 1, retry_delay: 0 } }, () => {
    const flaky = task({ task_id: "flaky" }, async () => {
      if (!existsSync(${JSON.stringify(marker)})) { writeFileSync(${JSON.stringify(marker)}, "x"); throw new Error("first try fails"); }
      return 1;
    })();
    taskGroup({ group_id: "flat", prefix_group_id: false }, () => { bash({ task_id: "plain", command: "echo plain" }); });
    const inner = taskGroup({ group_id: "inner" }, () => empty({ task_id: "e" }));
    flaky.then(inner);
  });
  // end runs only after every leaf of the group: the marker flaky wrote must be there.
  const end = bash({ task_id: "end", command: "test -f ${marker}" });
  start.then(outer).then(end);
});
`;

const SETUP_DAGS = `import { dag, task, bash, empty, AirflowSkipException } from "orch";
const boom = async () => { throw new Error("boom"); };
const skip = async () => { throw new AirflowSkipException("nothing to set up"); };
// setup -> work (fails) -> teardown; work -> after
export const workFails = dag({ dag_id: "st_work_fails", schedule: null, start_date: "2024-01-01" }, () => {
  const setup = empty({ task_id: "setup" }).asSetup();
  const work = task({ task_id: "work" }, boom)();
  const teardown = empty({ task_id: "teardown" }).asTeardown({ setups: setup });
  setup.then(work).then(teardown);
  work.then(empty({ task_id: "after" }));
});
// setup (fails) -> w1 -> w2 (all_done: the setup constraint still fails it) -> teardown
export const setupFails = dag({ dag_id: "st_setup_fails", schedule: null, start_date: "2024-01-01" }, () => {
  const setup = task({ task_id: "setup" }, boom)().asSetup();
  const w1 = empty({ task_id: "w1" });
  const w2 = empty({ task_id: "w2", trigger_rule: "all_done" });
  const teardown = empty({ task_id: "teardown" }).asTeardown({ setups: setup });
  setup.then(w1).then(w2).then(teardown);
});
export const setupSkips = dag({ dag_id: "st_setup_skips", schedule: null, start_date: "2024-01-01" }, () => {
  const setup = task({ task_id: "setup" }, skip)().asSetup();
  const w1 = empty({ task_id: "w1" });
  const w2 = empty({ task_id: "w2", trigger_rule: "all_done" });
  const teardown = empty({ task_id: "teardown" }).asTeardown({ setups: setup });
  setup.then(w1).then(w2).then(teardown);
});
for (const fail of [true, false]) {
  dag({ dag_id: fail ? "st_teardown_fails_run" : "st_teardown_ignored", schedule: null, start_date: "2024-01-01" }, () => {
    const setup = empty({ task_id: "setup" }).asSetup();
    const work = empty({ task_id: "work" });
    const teardown = task({ task_id: "teardown" }, boom)().asTeardown({ setups: setup, on_failure_fail_dagrun: fail });
    setup.then(work).then(teardown);
  });
}
`;

const pastDags = (marker: string) => `import { bash, dag, empty } from "orch";
const days = { schedule: "@daily", start_date: "2024-01-01", end_date: "2024-01-03", catchup: true, is_paused_upon_creation: false } as const;
// t fails on 2024-01-02 until the marker exists; the run of 2024-01-03 waits on it.
export const past = dag({ dag_id: "past", ...days }, () => {
  const t = bash({ task_id: "t", depends_on_past: true, command: 'if [ "{{ ds }}" = "2024-01-02" ] && [ ! -f ${marker} ]; then exit 1; fi; echo ok' });
  t.then(empty({ task_id: "after" }));
});
// w waits for the previous run's "down" (which fails on 2024-01-01 until the marker exists).
export const downstream = dag({ dag_id: "past_down", ...days }, () => {
  const w = empty({ task_id: "w", wait_for_downstream: true });
  w.then(bash({ task_id: "down", command: 'if [ "{{ ds }}" = "2024-01-01" ] && [ ! -f ${marker} ]; then exit 1; fi; echo ok' }));
});
`;

const dialects: { name: string; skip: string | undefined }[] = [
  { name: "sqlite", skip: undefined },
  { name: "postgres", skip: await pgSkipReason() },
];

for (const dialect of dialects) {
  describe(`${dialect.name}: task groups, setup/teardown, depends_on_past in real runs`, { skip: dialect.skip }, () => {
    let h: TempHome;
    let db: FreshDatabase | undefined;
    let env: Record<string, string> = {};
    let child: SchedulerProcess | undefined;
    const url = () => env.ORCH_DATABASE_URL;
    before(async () => {
      h = await tempHome();
      if (dialect.name === "postgres") {
        db = await freshPgDatabase("groups");
        env = { ORCH_DATABASE_URL: db.url };
      }
      await migrateHome(h.home, env);
      await writeDag(h.dags, "grouped.ts", groupsDag(join(h.home, "flaky.marker")));
      await writeDag(h.dags, "setups.ts", SETUP_DAGS);
    });
    afterEach(async () => {
      await killHard(child);
      child = undefined;
    });
    after(async () => {
      await assertNoLeakedProcesses(h.home);
      await db?.drop();
      await h.cleanup();
    });

    it("nested groups: prefixed ids, prefix_group_id false, group default_args over the DAG's, edges to and from the group", async () => {
      const r = await dagsTest(h.home, "grouped", [], env);
      assert.equal(r.runState, "success", r.cli.stdout + r.cli.stderr);
      assert.deepEqual(r.states, { start: "success", "outer.flaky": "success", plain: "success", "outer.inner.e": "success", end: "success" });
      // retries: 1 came from the group's default_args; the DAG's owner reached the task too.
      assert.equal(r.tries["outer.flaky"], 2);
      const listed = await runOrch(["tasks", "list", "grouped", "-o", "json"], { home: h.home, env });
      assert.equal(listed.code, 0, listed.stderr);
      assert.match(listed.stdout, /outer\.inner\.e/);
    });

    it("setup -> work fails -> teardown runs; the run is failed (the teardown's success does not count)", async () => {
      const r = await dagsTest(h.home, "st_work_fails", [], env);
      assert.equal(r.runState, "failed", r.cli.stdout + r.cli.stderr);
      assert.deepEqual(r.states, { setup: "success", work: "failed", teardown: "success", after: "upstream_failed" });
    });

    it("a failed setup fails its work at once, an indirect all_done downstream too, and the teardown", async () => {
      const r = await dagsTest(h.home, "st_setup_fails", [], env);
      assert.equal(r.runState, "failed", r.cli.stdout + r.cli.stderr);
      assert.deepEqual(r.states, { setup: "failed", w1: "upstream_failed", w2: "upstream_failed", teardown: "upstream_failed" });
      assert.match(r.reasons.w2 ?? "", /setup task this task depends on did not succeed/);
    });

    it("a skipped setup skips its work, direct and indirect, and the teardown", async () => {
      const r = await dagsTest(h.home, "st_setup_skips", [], env);
      assert.equal(r.runState, "success", r.cli.stdout + r.cli.stderr);
      assert.deepEqual(r.states, { setup: "skipped", w1: "skipped", w2: "skipped", teardown: "skipped" });
    });

    it("a failing teardown fails the run only with on_failure_fail_dagrun", async () => {
      const fails = await dagsTest(h.home, "st_teardown_fails_run", [], env);
      assert.equal(fails.runState, "failed", fails.cli.stdout + fails.cli.stderr);
      assert.equal(fails.states.teardown, "failed");
      const ignored = await dagsTest(h.home, "st_teardown_ignored", [], env);
      assert.equal(ignored.runState, "success", ignored.cli.stdout + ignored.cli.stderr);
      assert.deepEqual(ignored.states, { setup: "success", work: "success", teardown: "failed" });
    });

    it("clearing a work task clears its setup and teardown, not the rest", async () => {
      const before = await latestRunStates(h.home, "st_work_fails", url());
      assert.equal(before.states.after, "upstream_failed");
      const c = await runOrch(["tasks", "clear", "st_work_fails", "-t", "^work$", "-y"], { home: h.home, env });
      assert.equal(c.code, 0, c.stderr);
      const r = await latestRunStates(h.home, "st_work_fails", url());
      assert.deepEqual(r.states, { setup: null, work: null, teardown: null, after: "upstream_failed" });
      assert.equal(r.runState, "queued");
    });

    it("depends_on_past across three runs: run 3 waits on run 2's failure and says why; wait_for_downstream too; clearing releases them", async () => {
      const marker = join(h.home, "past.marker");
      await writeDag(h.dags, "past.ts", pastDags(marker));
      child = startScheduler(h.home, ["-p", "2"], env);
      const tiState = (dagId: string, runDate: string, taskId: string) =>
        withStoreOf(
          h.home,
          (s) =>
            s.db
              .selectFrom("task_instance")
              .innerJoin("dag_run", (j) => j.onRef("dag_run.dag_id", "=", "task_instance.dag_id").onRef("dag_run.run_id", "=", "task_instance.run_id"))
              .select(["task_instance.state", "task_instance.state_reason", "dag_run.state as run_state"])
              .where("task_instance.dag_id", "=", dagId)
              .where("task_instance.task_id", "=", taskId)
              .where("dag_run.logical_date", "=", new Date(`${runDate}T00:00:00Z`).toISOString())
              .executeTakeFirst(),
          url(),
        );
      // Run 1 ignores depends_on_past (no previous run) and succeeds; run 2's t fails.
      await waitFor("run 2 of past failed", async () => (await tiState("past", "2024-01-02", "t"))?.state === "failed", 120_000);
      assert.equal((await tiState("past", "2024-01-01", "t"))?.state, "success");
      // Run 3's t waits, saying why; its run stays running (waiting on the past is no deadlock).
      const waiting = await waitFor("run 3's t to wait on run 2", async () => {
        const r = await tiState("past", "2024-01-03", "t");
        return r && /previous run's \(scheduled__2024-01-02T00:00:00\+00:00\) task "t" is failed/.test(r.state_reason ?? "") ? r : undefined;
      }, 120_000);
      assert.equal(waiting.state, null);
      assert.match(waiting.state_reason ?? "", /^depends_on_past is true for this task, but 1 previous task instance\(s\) are not in a successful state/);
      assert.equal(waiting.run_state, "running");
      // wait_for_downstream: run 2's w waits for run 1's down, which failed.
      const wfd = await waitFor("run 2's w to wait on run 1's down", async () => {
        const r = await tiState("past_down", "2024-01-02", "w");
        // The reason may first name down while it is still scheduled; it must come to say it failed.
        return r && /wait_for_downstream is True.*"down" is failed/.test(r.state_reason ?? "") ? r : undefined;
      }, 120_000);
      assert.match(wfd.state_reason ?? "", /"down" is failed/);
      assert.equal(wfd.state, null);

      // Fix the cause and clear the failures: the waiting runs go on by themselves.
      const { writeFileSync } = await import("node:fs");
      writeFileSync(marker, "x");
      for (const [dagId, regex, day] of [["past", "^t$", "2024-01-02"], ["past_down", "^down$", "2024-01-01"]]) {
        const c = await runOrch(["tasks", "clear", dagId, "-t", regex, "-s", day, "-e", day, "-d", "-y"], { home: h.home, env });
        assert.equal(c.code, 0, c.stderr);
      }
      for (const dagId of ["past", "past_down"]) {
        const runStates = () =>
          withStoreOf(h.home, async (s) => {
            const runs = await s.db.selectFrom("dag_run").select(["run_id", "state"]).where("dag_id", "=", dagId).orderBy("run_id").execute();
            const tis = await s.db.selectFrom("task_instance").select(["run_id", "task_id", "state", "state_reason"]).where("dag_id", "=", dagId).orderBy("run_id").execute();
            return { runs, tis };
          }, url());
        try {
          await waitFor(`every run of ${dagId} to succeed`, async () => {
            const { runs } = await runStates();
            return runs.length === 3 && runs.every((r) => r.state === "success");
          }, 120_000);
        } catch (e) {
          assert.fail(`${(e as Error).message}: ${JSON.stringify(await runStates())}\n${child.output().slice(-3000)}`);
        }
      }
    });

    it("backfill --run-backwards is refused for a DAG with depends_on_past, with Airflow's message", async () => {
      const r = await runOrch(["backfill", "create", "--dag-id", "past", "--from-date", "2024-01-01", "--to-date", "2024-01-03", "--reprocess-behavior", "failed", "--run-backwards"], { home: h.home, env });
      assert.notEqual(r.code, 0, r.stdout);
      assert.match(r.stderr, /Backfill cannot be run in reverse when the Dag has tasks where depends_on_past=True\./);
      const none = await runOrch(["backfill", "create", "--dag-id", "past", "--from-date", "2024-01-01", "--to-date", "2024-01-03", "--dry-run"], { home: h.home, env });
      assert.notEqual(none.code, 0, none.stdout);
      assert.match(none.stderr, /You must set reprocess behavior to reprocess completed or reprocess failed\./);
      const ok = await runOrch(["backfill", "create", "--dag-id", "past_down", "--from-date", "2024-01-01", "--to-date", "2024-01-03", "--reprocess-behavior", "completed", "--dry-run"], { home: h.home, env });
      assert.equal(ok.code, 0, ok.stderr);
    });
  });
}

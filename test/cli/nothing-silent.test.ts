// Nothing silent: Airflow habits get an answer, a paused DAG's trigger says it waits, an Airflow
// home's airflow.cfg and .py files are noticed, and a running orch says when a file starts or
// stops failing (and creates a missing dags folder, saying where to put files).
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { ORCH_BIN, runOrch } from "../helpers/cli.ts";
import { tempHome, type TempHome } from "../helpers/home.ts";
import { assertNoLeakedProcesses } from "../helpers/leaks.ts";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";

const GOOD = `import { dag, empty } from "orch";\nexport default dag({ dag_id: "quiet", schedule: null }, () => { empty({ task_id: "e" }); });\n`;

describe("nothing silent", () => {
  let h: TempHome;
  before(async () => {
    h = await tempHome();
    await writeFile(join(h.dags, "quiet.ts"), GOOD);
    assert.equal((await runOrch(["db", "migrate"], { home: h.home })).code, 0);
  });
  after(async () => {
    await assertNoLeakedProcesses(h.home);
    await h.cleanup();
  });

  it("an Airflow command orch lacks, and Airflow 2 flags, say what to do (exit 2)", async () => {
    const pools = await runOrch(["pools", "list"], { home: h.home });
    assert.equal(pools.code, 2);
    assert.match(pools.stderr, /orch has no "pools" command yet/);
    const runs = await runOrch(["dags", "list-runs", "-d", "quiet"], { home: h.home });
    assert.equal(runs.code, 2);
    assert.match(runs.stderr, /orch dags list-runs DAG_ID/);
    const backfill = await runOrch(["dags", "backfill", "-s", "2024-01-01", "-e", "2024-01-03", "quiet"], { home: h.home });
    assert.equal(backfill.code, 2);
    assert.match(backfill.stderr, /orch backfill create --dag-id DAG_ID --from-date START --to-date END/);
  });

  it("triggering a paused DAG warns and notes it on the run; --unpause unpauses first", async () => {
    assert.equal((await runOrch(["dags", "list"], { home: h.home })).code, 0);
    const paused = await runOrch(["dags", "trigger", "quiet", "-l", "2024-01-01", "-o", "json"], { home: h.home });
    assert.equal(paused.code, 0, paused.stderr);
    assert.match(paused.stderr, /warning: quiet is paused: this run waits/);
    const [run] = JSON.parse(paused.stdout) as { note: string | null; dag_run_id: string }[];
    assert.match(run.note ?? "", /quiet is paused/);
    const unpaused = await runOrch(["dags", "trigger", "quiet", "-l", "2024-01-02", "--unpause"], { home: h.home });
    assert.equal(unpaused.code, 0, unpaused.stderr);
    assert.match(unpaused.stderr, /Unpaused quiet/);
    assert.doesNotMatch(unpaused.stderr, /warning/);
    const list = await runOrch(["dags", "list", "-o", "json"], { home: h.home });
    assert.equal((JSON.parse(list.stdout) as { is_paused: boolean }[])[0].is_paused, false);
  });

  it("list-runs -o json carries Airflow's DAGRunResponse fields; states-for-dag-run its TaskInstanceResponse", async () => {
    const r = await runOrch(["dags", "list-runs", "quiet", "-o", "json"], { home: h.home });
    const runs = JSON.parse(r.stdout) as Record<string, unknown>[];
    const fields = ["dag_run_id", "dag_id", "logical_date", "queued_at", "start_date", "end_date", "duration", "data_interval_start", "data_interval_end", "run_after", "last_scheduling_decision", "run_type", "state", "triggered_by", "triggering_user_name", "conf", "note", "dag_versions", "bundle_version", "dag_display_name"];
    assert.deepEqual(Object.keys(runs[0]), fields);
    const tis = await runOrch(["tasks", "states-for-dag-run", "quiet", String(runs[0].dag_run_id), "-o", "json"], { home: h.home });
    const [ti] = JSON.parse(tis.stdout) as Record<string, unknown>[];
    for (const f of ["id", "task_id", "dag_id", "dag_run_id", "map_index", "logical_date", "run_after", "start_date", "end_date", "duration", "state", "try_number", "max_tries", "task_display_name", "hostname", "unixname", "pool", "pool_slots", "queue", "priority_weight", "operator", "queued_when", "scheduled_when", "pid", "executor", "executor_config", "note", "rendered_map_index", "rendered_fields", "trigger", "triggerer_job", "dag_version", "state_reason"]) {
      assert.ok(f in ti, `TaskInstanceResponse field ${f}`);
    }
    // The table keeps the short column set.
    const table = await runOrch(["tasks", "states-for-dag-run", "quiet", String(runs[0].dag_run_id)], { home: h.home });
    assert.doesNotMatch(table.stdout, /executor_config/);
  });

  it("an Airflow home's airflow.cfg and .py DAG files are noticed", async () => {
    await writeFile(join(h.home, "airflow.cfg"), "[core]\ndags_folder = /nowhere\n");
    await writeFile(join(h.dags, "old_dag.py"), "from airflow import DAG\n");
    const r = await runOrch(["dags", "list"], { home: h.home });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /airflow\.cfg is not read: orch reads .*orch\.toml/);
    assert.match(r.stderr, /1 \.py file in .* ignored: orch loads TypeScript and JavaScript DAG files/);
  });

  it("standalone creates a missing dags folder and says when a file starts and stops failing", async () => {
    const home = await mkdtemp(join(tmpdir(), "orch-silent-"));
    try {
      const child = spawn(process.execPath, [ORCH_BIN, "standalone"], { env: { ...process.env, ORCH_HOME: home, ORCH_DATABASE_URL: "" }, cwd: home, stdio: ["ignore", "pipe", "pipe"] });
      let out = "";
      child.stdout.on("data", (b: Buffer) => (out += b.toString()));
      child.stderr.on("data", (b: Buffer) => (out += b.toString()));
      const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
      const waitFor = async (re: RegExp) => {
        const until = Date.now() + 60_000;
        while (!re.test(out)) {
          if (Date.now() > until) throw new Error(`no ${re} in:\n${out}`);
          await new Promise((r) => setTimeout(r, 100));
        }
      };
      try {
        await waitFor(/created the dags folder .*dags: put DAG files/);
        assert.ok(existsSync(join(home, "dags")), "expected existsSync(join(home, \"dags\"))");
        await waitFor(/\[orch\] home/);
        await writeFile(join(home, "dags", "flaky.ts"), `throw new Error("not today");\n`);
        await waitFor(/flaky\.ts fails to load: .*not today/);
        await writeFile(join(home, "dags", "flaky.ts"), GOOD.replace("quiet", "flaky"));
        await waitFor(/flaky\.ts loads again \(1 DAG\)/);
      } finally {
        child.kill("SIGTERM");
        await exited;
      }
      await assertNoLeakedProcesses(home);
    } finally {
      await rm(home, { recursive: true, force: true });
    }
  });
});

describe("npm start", () => {
  it("runs orch in place of the shell (exec), so SIGTERM to it stops orch and leaves nothing running", async () => {
    const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { scripts: { start: string } };
    assert.match(pkg.scripts.start, /exec node dist\/orch\.mjs standalone/);
    const home = await mkdtemp(join(tmpdir(), "orch-start-"));
    try {
      // The script as npm runs it (sh -c), minus the build, on a throw-away home.
      const script = pkg.scripts.start.replace("node build.config.mjs && ", "").replace('"$PWD/airflow_home"', JSON.stringify(home));
      const root = new URL("../..", import.meta.url).pathname;
      const sh = spawn("sh", ["-c", script], { cwd: root, env: { ...process.env, ORCH_DATABASE_URL: "" }, stdio: ["ignore", "pipe", "pipe"] });
      let out = "";
      sh.stdout.on("data", (b: Buffer) => (out += b.toString()));
      const exited = new Promise<void>((resolve) => sh.once("exit", () => resolve()));
      const until = Date.now() + 60_000;
      while (!/\[orch\] home/.test(out)) {
        if (Date.now() > until) throw new Error(`standalone did not start:\n${out}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      sh.kill("SIGTERM");
      await exited;
      await assertNoLeakedProcesses(home);
    } finally {
      await rm(home, { recursive: true, force: true });
    }
  });
});

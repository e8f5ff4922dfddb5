// orch backfill through the built CLI and a real `orch scheduler` process: refusals and their exit
// codes, dry run, --wait's exit codes and per-run lines, reprocessing failed runs, a paused DAG,
// list/show/pause/unpause/cancel.
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { openStore } from "../../src/store/index.ts";
import { ORCH_BIN, runOrch } from "../helpers/cli.ts";
import { migrateHome, writeDag } from "../helpers/engine.ts";
import { tempHome, type TempHome } from "../helpers/home.ts";
import { assertNoLeakedProcesses } from "../helpers/leaks.ts";

const SOURCE = `import { dag, task, Param } from "orch";

export const bf = dag({ dag_id: "bf_cli", schedule: "@daily", start_date: "2024-01-01", params: { limit: Param(5, { type: "integer", minimum: 1 }) } }, () => {
  const work = task({ task_id: "work" }, async (ctx) => {
    if (ctx.dag_run.conf.fail_on === ctx.ds) throw new Error("boom on " + ctx.ds);
    return ctx.params.limit;
  });
  const report = task({ task_id: "report" }, async (n: number) => n + 1);
  report(work());
});

export const once = dag({ dag_id: "once_dag", schedule: "@once", start_date: "2024-01-01" }, () => {
  task({ task_id: "t" }, async () => 1)();
});
`;

function exited(child: ChildProcess): Promise<number | null> {
  return new Promise((r) => (child.exitCode !== null ? r(child.exitCode) : child.once("exit", (code) => r(code))));
}

describe("orch backfill", () => {
  let h: TempHome;
  let scheduler: ChildProcess | undefined;
  const orch = (args: string[], timeoutMs = 120_000) => runOrch(["backfill", ...args], { home: h.home, timeoutMs });
  const create = (args: string[]) => orch(["create", "--dag-id", "bf_cli", ...args]);
  const count = async (table: "dag_run" | "backfill") => {
    const s = await openStore(`sqlite:///${join(h.home, "orch.db")}`);
    try {
      return Number((await s.db.selectFrom(table).select((eb) => eb.fn.countAll<number>().as("n")).executeTakeFirstOrThrow()).n);
    } finally {
      await s.close();
    }
  };

  before(async () => {
    h = await tempHome();
    await migrateHome(h.home);
    await writeDag(h.dags, "bf.ts", SOURCE);
    const r = await runOrch(["dags", "reserialize"], { home: h.home });
    assert.equal(r.code, 0, r.stderr);
  });
  after(async () => {
    if (scheduler && scheduler.exitCode === null) {
      scheduler.kill("SIGTERM");
      await exited(scheduler);
    }
    await assertNoLeakedProcesses(h.home);
    await h.cleanup();
  });

  it("refuses with Airflow's messages and a non-zero exit", async () => {
    const cases: [string[], number, RegExp][] = [
      [["--from-date", "2024-01-05", "--to-date", "2024-01-01"], 1, /from_date \(2024-01-05T00:00:00\+00:00\) must not be after to_date/],
      [["--from-date", "2999-01-01", "--to-date", "2999-01-05"], 1, /Backfill cannot be executed for future dates\./],
      [["--from-date", "2024-01-01", "--to-date", "2024-01-02", "--dag-run-conf", "{nope"], 2, /Invalid JSON in --dag-run-conf/],
      [["--from-date", "2024-01-01", "--to-date", "2024-01-02", "--dag-run-conf", '{"limit": 0}'], 1, /invalid params for DAG bf_cli: limit: .*minimum/],
      [["--from-date", "2024-01-01T06:00:00", "--to-date", "2024-01-01T12:00:00"], 1, /No runs to create for Dag bf_cli/],
      [["--from-date", "yesterday", "--to-date", "2024-01-02"], 2, /--from-date: "yesterday" is not a date/],
    ];
    for (const [args, code, message] of cases) {
      const r = await create(args);
      assert.equal(r.code, code, `${args.join(" ")}: ${r.stderr}`);
      assert.match(r.stderr, message);
    }
    const once = await orch(["create", "--dag-id", "once_dag", "--from-date", "2024-01-01", "--to-date", "2024-01-02"]);
    assert.equal(once.code, 1);
    assert.match(once.stderr, /once_dag has a non-periodic schedule that does not support backfills/);
    assert.equal(await count("backfill"), 0);
    // dags trigger checks conf against the params the same way, naming the field.
    const trig = await runOrch(["dags", "trigger", "bf_cli", "--conf", '{"limit": "many"}'], { home: h.home });
    assert.equal(trig.code, 1);
    assert.match(trig.stderr, /invalid params for DAG bf_cli: limit: .*integer/);
    assert.equal(await count("dag_run"), 0);
  });

  it("--dry-run prints each date and what would happen, and creates nothing", async () => {
    const r = await create(["--from-date", "2024-01-01", "--to-date", "2024-01-03", "--run-backwards", "--dry-run"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Performing dry run/);
    const lines = r.stdout.split("\n").filter((l) => /^\d+ +\| 2024/.test(l));
    assert.deepEqual(lines.map((l) => l.split("|").map((x) => x.trim())), [
      ["1", "2024-01-03T00:00:00+00:00", "create"],
      ["2", "2024-01-02T00:00:00+00:00", "create"],
      ["3", "2024-01-01T00:00:00+00:00", "create"],
    ]);
    assert.deepEqual([await count("dag_run"), await count("backfill")], [0, 0]);
  });

  it("--wait follows the backfill on a paused DAG: exit 0 when all succeed, 1 when a run failed", async () => {
    const env: NodeJS.ProcessEnv = { ...process.env, ORCH_HOME: h.home };
    delete env.ORCH_DATABASE_URL;
    scheduler = spawn(process.execPath, [ORCH_BIN, "scheduler"], { env, stdio: ["ignore", "ignore", "pipe"] });
    scheduler.stderr!.resume();
    const ok = await create(["--from-date", "2024-01-01", "--to-date", "2024-01-03", "--max-active-runs", "2", "--wait"]);
    assert.equal(ok.code, 0, ok.stdout + ok.stderr);
    assert.match(ok.stdout, /Created backfill 1 of bf_cli: 3 run\(s\) queued/);
    const perRun = ok.stdout.split("\n").filter((l) => /^\[\d\/3\] /.test(l));
    assert.equal(perRun.length, 3, ok.stdout);
    assert.ok(perRun.every((l) => l.endsWith(": success")), "expected perRun.every((l) => l.endsWith(\": success\"))");
    assert.match(ok.stdout, /Backfill 1 finished: 3 success, 0 failed/);
    // --max-active-runs 2: never more than two of its runs running at once, although the scheduler
    // would start all three (the DAG's own max_active_runs is 16).
    const s = await openStore(`sqlite:///${join(h.home, "orch.db")}`);
    try {
      const runs = await s.db.selectFrom("dag_run").select(["start_date", "end_date"]).where("backfill_id", "=", 1).execute();
      const overlap = Math.max(...runs.map((r) => runs.filter((o) => o.start_date! <= r.start_date! && o.end_date! > r.start_date!).length));
      assert.ok(overlap <= 2, `${overlap} runs of the backfill were running at once`);
    } finally {
      await s.close();
    }

    const bad = await create(["--from-date", "2024-01-04", "--to-date", "2024-01-06", "--dag-run-conf", '{"fail_on": "2024-01-05"}', "--wait"]);
    assert.equal(bad.code, 1, bad.stdout + bad.stderr);
    assert.match(bad.stdout, /backfill__2024-01-05T00:00:00\+00:00: failed/);
    assert.match(bad.stdout, /2 success, 1 failed/);

    // Only the failed date runs again; the others "already exist".
    const again = await create(["--from-date", "2024-01-04", "--to-date", "2024-01-06", "--reprocess-behavior", "failed", "--dag-run-conf", "{}", "--wait"]);
    assert.equal(again.code, 0, again.stdout + again.stderr);
    assert.match(again.stdout, /0 run\(s\) queued, 1 re-queued, 2 date\(s\) skipped/);
    assert.match(again.stdout, /skipped 2024-01-04T00:00:00\+00:00: already exists/);
    const show = await orch(["show", "3", "-o", "json"]);
    const doc = (JSON.parse(show.stdout) as { dag_runs: { logical_date: string; state: string | null; exception_reason: string | null }[] }[])[0]!;
    assert.deepEqual(doc.dag_runs.map((r) => [r.logical_date.slice(0, 10), r.state, r.exception_reason]), [
      ["2024-01-04", null, "already exists"],
      ["2024-01-05", "success", null],
      ["2024-01-06", null, "already exists"],
    ]);
    const paused = await runOrch(["dags", "list", "-o", "json"], { home: h.home });
    assert.equal((JSON.parse(paused.stdout) as { dag_id: string; is_paused: unknown }[]).find((d) => d.dag_id === "bf_cli")?.is_paused, true, "the DAG stayed paused");
    scheduler.kill("SIGTERM");
    await exited(scheduler);
  });

  it("list, pause, unpause and cancel (no scheduler running)", async () => {
    const c = await create(["--from-date", "2024-02-01", "--to-date", "2024-02-03"]);
    assert.equal(c.code, 0, c.stderr);
    const second = await create(["--from-date", "2024-03-01", "--to-date", "2024-03-03"]);
    assert.equal(second.code, 1);
    assert.match(second.stderr, /Another backfill is running for Dag bf_cli/);
    assert.match((await orch(["pause", "4"])).stdout, /Backfill 4 of bf_cli, paused: True/);
    assert.match((await orch(["unpause", "4"])).stdout, /paused: False/);
    const list = JSON.parse((await orch(["list", "--active", "-o", "json"])).stdout) as { id: number; runs: number; queued: number }[];
    assert.deepEqual(list.map((b) => [b.id, b.runs, b.queued]), [[4, 3, 3]]);
    const cancel = await orch(["cancel", "4"]);
    assert.equal(cancel.code, 0, cancel.stderr);
    assert.match(cancel.stdout, /3 queued run\(s\) marked failed/);
    const shown = await orch(["show", "4"]);
    assert.match(shown.stdout, /3 run\(s\): 0 success, 3 failed, 0 running, 0 queued/);
    assert.equal((await orch(["cancel", "4"])).code, 2);
    assert.equal((await orch(["pause", "99"])).code, 1);
    assert.equal((JSON.parse((await orch(["list", "--active", "-o", "json"])).stdout) as unknown[]).length, 0);
  });

  it("every subcommand's --help has an example", async () => {
    for (const c of ["create", "list", "show", "cancel", "pause", "unpause"]) {
      const r = await orch([c, "--help"]);
      assert.equal(r.code, 0, c);
      assert.match(r.stdout, /Examples:\n(\s+#.*\n)?\s+orch /, c);
    }
  });
});

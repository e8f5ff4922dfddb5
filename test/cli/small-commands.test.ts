// Commands users reach for: init, dags next-execution, dags delete, info, cheat-sheet.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { runOrch } from "../helpers/cli.ts";
import { latestRunStates } from "../helpers/engine.ts";
import { assertNoLeakedProcesses } from "../helpers/leaks.ts";

const TSC = fileURLToPath(new URL("../../node_modules/typescript/bin/tsc", import.meta.url));

describe("small commands", () => {
  let base: string;
  let home: string;
  before(async () => {
    base = await mkdtemp(join(tmpdir(), "orch-init-"));
    home = join(base, "my_home");
  });
  after(async () => {
    await assertNoLeakedProcesses(home);
    await rm(base, { recursive: true, force: true });
  });

  it("init makes a home whose example DAG checks, type-checks with its tsconfig, and runs", async () => {
    const r = await runOrch(["init", home], { home: join(base, "unused"), cwd: base });
    assert.equal(r.code, 0, r.stderr);
    for (const f of ["orch.toml", "tsconfig.json", "dags/hello.ts"]) assert.ok(existsSync(join(home, f)), f);
    assert.match(r.stdout, new RegExp(`export ORCH_HOME=${home}`));
    // Every orch.toml line is a comment or a section: defaults stay defaults.
    const toml = readFileSync(join(home, "orch.toml"), "utf8");
    assert.ok(toml.split("\n").every((l) => l === "" || l.startsWith("#") || /^\[\w+\]$/.test(l)), toml);
    assert.match(toml, /# dags_folder = /);
    // An editor (tsc) resolves "orch" through the tsconfig alone.
    await promisify(execFile)(process.execPath, [TSC, "-p", home]);
    const check = await runOrch(["dags", "check"], { home });
    assert.equal(check.code, 0, check.stdout + check.stderr);
    assert.equal((await runOrch(["db", "migrate"], { home })).code, 0);
    const test = await runOrch(["dags", "test", "hello", "2024-01-01"], { home, timeoutMs: 120_000 });
    assert.equal(test.code, 0, test.stdout + test.stderr);
    assert.match(test.stdout, /HELLO, WORLD/);
    const again = await runOrch(["init", home], { home });
    assert.match(again.stdout, /kept {4}.*orch\.toml \(exists\)/);
  });

  it("dags next-execution prints the next logical dates and data intervals", async () => {
    const r = await runOrch(["dags", "next-execution", "hello", "-n", "2", "-o", "json"], { home });
    assert.equal(r.code, 0, r.stderr);
    const rows = JSON.parse(r.stdout) as { logical_date: string; data_interval_start: string; data_interval_end: string; run_after: string }[];
    assert.equal(rows.length, 2);
    assert.equal(Date.parse(rows[1].logical_date) - Date.parse(rows[0].logical_date), 24 * 3600 * 1000);
    assert.ok(Date.parse(rows[0].run_after) >= Date.now() - 24 * 3600 * 1000, "expected Date.parse(rows[0].run_after) >= Date.now() - 24 * 3600 * 1000");
    assert.match(r.stderr, /PAUSED/);
  });

  it("dags delete refuses without a terminal or --yes, and with --yes removes the DAG's runs", async () => {
    const refused = await runOrch(["dags", "delete", "hello"], { home });
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /pass --yes/);
    assert.equal((await latestRunStates(home, "hello")).runState, "success");
    const r = await runOrch(["dags", "delete", "hello", "--yes"], { home });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Removed 1 DAG run\(s\) and 3 task instance\(s\) of hello/);
    assert.equal((await latestRunStates(home, "hello")).runState, undefined);
  });

  it("info names version, home, database, executor, paths and Node", async () => {
    const r = await runOrch(["info", "-o", "json"], { home });
    assert.equal(r.code, 0, r.stderr);
    const [info] = JSON.parse(r.stdout) as Record<string, string>[];
    assert.equal(info.orch_home, home);
    assert.equal(info.node_version, process.version);
    for (const k of ["orch_version", "database", "executor", "dags_folder", "base_log_folder", "install"]) assert.ok(info[k], k);
  });

  it("cheat-sheet fits 80 columns and names DAGs of the example home", async () => {
    const r = await runOrch(["cheat-sheet"], { home });
    assert.equal(r.code, 0);
    for (const line of r.stdout.split("\n")) assert.ok(line.length <= 80, `too wide: ${line}`);
    assert.match(r.stdout, /orch dags test example_etl/);
  });
});

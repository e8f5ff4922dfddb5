// orch variables: set/get/list/delete/import/export through the built CLI, env-provided ones, masking.
import assert from "node:assert/strict";
import { readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { runOrch } from "../helpers/cli.ts";
import { migrateHome } from "../helpers/engine.ts";
import { tempHome, type TempHome } from "../helpers/home.ts";

describe("orch variables", () => {
  let h: TempHome;
  const orch = (args: string[], env: Record<string, string> = {}) => runOrch(["variables", ...args], { home: h.home, env });
  before(async () => {
    h = await tempHome();
    await migrateHome(h.home);
  });
  after(() => h.cleanup());

  it("set, get, get --json, get --default, a missing key fails", async () => {
    assert.equal((await orch(["set", "bucket", "s3://raw", "--description", "raw files"])).code, 0);
    assert.equal((await orch(["get", "bucket"])).stdout, "s3://raw\n");
    assert.equal((await orch(["set", "cfg", '{"months": [1, 2]}', "--json"])).code, 0);
    assert.equal((await orch(["get", "cfg", "--json"])).stdout, JSON.stringify({ months: [1, 2] }, null, 2) + "\n");
    assert.equal((await orch(["get", "nope", "--default", "fallback"])).stdout, "fallback\n");
    const missing = await orch(["get", "nope"]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /Variable nope does not exist/);
    const bad = await orch(["set", "x", "{not json", "--json"]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--json/);
  });

  it("list masks sensitive keys unless --show-secrets; get prints the value", async () => {
    await orch(["set", "api_key", "sk-live-123456"]);
    const list = await orch(["list", "-o", "json"]);
    const rows = JSON.parse(list.stdout) as { key: string; val: string; source: string }[];
    assert.equal(rows.find((r) => r.key === "api_key")?.val, "***");
    assert.equal(rows.find((r) => r.key === "bucket")?.val, "s3://raw");
    assert.ok(!list.stdout.includes("sk-live-123456"), "expected !list.stdout.includes(\"sk-live-123456\")");
    const shown = JSON.parse((await orch(["list", "-o", "json", "--show-secrets"])).stdout) as { key: string; val: string }[];
    assert.equal(shown.find((r) => r.key === "api_key")?.val, "sk-live-123456");
    assert.equal((await orch(["get", "api_key"])).stdout, "sk-live-123456\n");
  });

  it("ORCH_VAR_ and AIRFLOW_VAR_ are read first and listed as env", async () => {
    assert.equal((await orch(["get", "bucket"], { AIRFLOW_VAR_BUCKET: "from-airflow-env" })).stdout, "from-airflow-env\n");
    assert.equal((await orch(["get", "bucket"], { AIRFLOW_VAR_BUCKET: "a", ORCH_VAR_BUCKET: "from-orch-env" })).stdout, "from-orch-env\n");
    const rows = JSON.parse((await orch(["list", "-o", "json"], { ORCH_VAR_ONLY_ENV: "x" })).stdout) as { key: string; source: string }[];
    assert.deepEqual(rows.find((r) => r.key === "only_env"), { key: "only_env", val: "x", description: "from $ORCH_VAR_ONLY_ENV", source: "env" });
  });

  it("export writes a 0600 JSON file that import reads back; -a fail refuses an existing key", async () => {
    const file = join(h.home, "vars.json");
    const ex = await orch(["export", file]);
    assert.equal(ex.code, 0, ex.stderr);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    const doc = JSON.parse(readFileSync(file, "utf8")) as Record<string, unknown>;
    assert.deepEqual(doc.cfg, { months: [1, 2] });
    assert.equal(doc.api_key, "sk-live-123456");
    assert.equal((await orch(["delete", "bucket"])).code, 0);
    assert.equal((await orch(["delete", "bucket"])).code, 1);
    const im = await orch(["import", file]);
    assert.equal(im.code, 0, im.stderr);
    assert.match(im.stdout, /3 of 3 variables successfully updated/);
    assert.equal((await orch(["get", "bucket"])).stdout, "s3://raw\n");
    const more = join(h.home, "more.json");
    writeFileSync(more, JSON.stringify({ bucket: "other", fresh: { value: 7, description: "seven" } }));
    const failing = await orch(["import", more, "-a", "fail"]);
    assert.equal(failing.code, 1);
    assert.match(failing.stderr, /bucket exists already/);
    assert.equal((await orch(["get", "fresh", "--default", "absent"])).stdout, "absent\n", "a failed import writes nothing");
    const skip = await orch(["import", more, "-a", "skip"]);
    assert.match(skip.stdout, /1 of 2 variables/);
    assert.equal((await orch(["get", "fresh"])).stdout, "7\n");
    assert.equal((await orch(["get", "bucket"])).stdout, "s3://raw\n");
  });

  it("every subcommand's --help has an example", async () => {
    for (const c of ["get", "set", "delete", "list", "import", "export"]) {
      const r = await orch([c, "--help"]);
      assert.equal(r.code, 0, c);
      assert.match(r.stdout, /Examples:\n(\s+#.*\n)?\s+orch /, c);
    }
  });
});

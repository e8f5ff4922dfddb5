import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { loadConfig, resolveHome } from "../src/config.ts";
import { isOrchError } from "../src/errors.ts";
import { runOrch } from "./helpers/cli.ts";
import { tempHome, type TempHome } from "./helpers/home.ts";

describe("config", () => {
  let h: TempHome;
  before(async () => {
    h = await tempHome();
  });
  after(() => h.cleanup());

  it("ORCH_HOME falls back to AIRFLOW_HOME, then ~/orch", () => {
    assert.equal(resolveHome({ ORCH_HOME: "/a", AIRFLOW_HOME: "/b" }), "/a");
    assert.equal(resolveHome({ AIRFLOW_HOME: "/b" }), "/b");
    assert.equal(resolveHome({}), join(homedir(), "orch"));
  });

  it("defaults live under ORCH_HOME", () => {
    const c = loadConfig({ ORCH_HOME: h.home });
    assert.equal(c.getString("core", "dags_folder"), join(h.home, "dags"));
    assert.equal(c.getString("database", "url"), `sqlite:///${join(h.home, "orch.db")}`);
  });

  it("env ORCH__SECTION__KEY beats orch.toml, which beats the default", () => {
    writeFileSync(join(h.home, "orch.toml"), "[core]\nparallelism = 4\nmax_xcom_size = 100\n");
    const c = loadConfig({ ORCH_HOME: h.home, ORCH__CORE__PARALLELISM: "8" });
    assert.equal(c.getNumber("core", "parallelism"), 8);
    assert.equal(c.getNumber("core", "max_xcom_size"), 100);
    const sources = Object.fromEntries(c.list().map((s) => [`${s.section}.${s.key}`, s.source]));
    assert.equal(sources["core.parallelism"], "env");
    assert.equal(sources["core.max_xcom_size"], "orch.toml");
    assert.equal(sources["core.executor"], "default");
  });

  it("AIRFLOW__SECTION__KEY is honoured as Airflow users set it; ORCH__SECTION__KEY wins", () => {
    writeFileSync(join(h.home, "orch.toml"), "[core]\nparallelism = 4\n");
    const a = loadConfig({ ORCH_HOME: h.home, AIRFLOW__CORE__PARALLELISM: "6", AIRFLOW__API__PORT: "9090" });
    assert.equal(a.getNumber("core", "parallelism"), 6);
    assert.equal(a.getNumber("api", "port"), 9090);
    assert.equal(a.list().find((x) => x.key === "parallelism")?.source, "env");
    const both = loadConfig({ ORCH_HOME: h.home, AIRFLOW__CORE__PARALLELISM: "6", ORCH__CORE__PARALLELISM: "3" });
    assert.equal(both.getNumber("core", "parallelism"), 3);
    assert.throws(() => loadConfig({ ORCH_HOME: h.home, AIRFLOW__CORE__PARALLELISM: "many" }), /AIRFLOW__CORE__PARALLELISM: expected a number/);
  });

  it("ORCH_DATABASE_URL is the short form of ORCH__DATABASE__URL", () => {
    const c = loadConfig({ ORCH_HOME: h.home, ORCH_DATABASE_URL: "postgres://u:p@h/db" });
    assert.equal(c.getString("database", "url"), "postgres://u:p@h/db");
  });

  it("a malformed orch.toml names the file and line", () => {
    writeFileSync(join(h.home, "orch.toml"), "[core]\nparallelism = 4\nexecutor = \n");
    assert.throws(() => loadConfig({ ORCH_HOME: h.home }), (e) => {
      assert.ok(isOrchError(e, "ORCH_CONFIG_INVALID"), "expected isOrchError(e, \"ORCH_CONFIG_INVALID\")");
      assert.match(e.message, new RegExp(`${join(h.home, "orch.toml").replaceAll("/", "\\/")}:3:`));
      return true;
    });
  });

  it("an unknown key in orch.toml is refused with the known keys listed", () => {
    writeFileSync(join(h.home, "orch.toml"), "[core]\nparalelism = 4\n");
    assert.throws(() => loadConfig({ ORCH_HOME: h.home }), (e) => {
      assert.ok(isOrchError(e, "ORCH_CONFIG_UNKNOWN_KEY"), "expected isOrchError(e, \"ORCH_CONFIG_UNKNOWN_KEY\")");
      assert.match(e.message, /unknown key "paralelism" in \[core\]; known keys: .*parallelism/);
      return true;
    });
  });

  it("a bad env value names the variable", () => {
    writeFileSync(join(h.home, "orch.toml"), "");
    assert.throws(() => loadConfig({ ORCH_HOME: h.home, ORCH__API__PORT: "eighty" }), /ORCH__API__PORT: expected a number/);
  });

  it("orch config get-value and list work from the CLI; a broken orch.toml stops start-up", async () => {
    writeFileSync(join(h.home, "orch.toml"), "[api]\nport = 9090\n");
    const r = await runOrch(["config", "get-value", "api", "port"], { home: h.home });
    assert.equal(r.stdout.trim(), "9090");
    const l = await runOrch(["config", "list", "--output", "json"], { home: h.home });
    const rows = JSON.parse(l.stdout) as { section: string; key: string; source: string }[];
    assert.equal(rows.find((x) => x.key === "port")?.source, "orch.toml");
    writeFileSync(join(h.home, "orch.toml"), "[api\n");
    const bad = await runOrch(["db", "check"], { home: h.home });
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /orch\.toml:1:/);
  });
});

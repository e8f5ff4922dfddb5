// orch connections: add (URI, fields, JSON), get, list with masking, delete, import/export, env.
import assert from "node:assert/strict";
import { readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { runOrch } from "../helpers/cli.ts";
import { migrateHome } from "../helpers/engine.ts";
import { tempHome, type TempHome } from "../helpers/home.ts";

const PW = "Tr0ub4dor&3";

describe("orch connections", () => {
  let h: TempHome;
  const orch = (args: string[], env: Record<string, string> = {}) => runOrch(["connections", ...args], { home: h.home, env });
  before(async () => {
    h = await tempHome();
    await migrateHome(h.home);
  });
  after(() => h.cleanup());

  it("add by URI and by fields; a second add of the id is refused", async () => {
    const a = await orch(["add", "warehouse", "--conn-uri", `postgres://etl:${encodeURIComponent(PW)}@db.internal:5432/taxi?sslmode=require`]);
    assert.equal(a.code, 0, a.stderr);
    assert.ok(!a.stdout.includes(PW) && !a.stdout.includes(encodeURIComponent(PW)), "the confirmation masks the password");
    assert.match(a.stdout, /Successfully added `conn_id`=warehouse : postgres:\/\/etl:\*\*\*@db\.internal:5432\/taxi\?sslmode=require/);
    const b = await orch(["add", "api", "--conn-type", "http", "--conn-host", "api.example.com", "--conn-port", "443", "--conn-login", "me", "--conn-password", "hunter22", "--conn-extra", '{"api_key": "k-998877", "timeout": 5}']);
    assert.equal(b.code, 0, b.stderr);
    const again = await orch(["add", "warehouse", "--conn-uri", "postgres://x"]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /already exists/);
    const bad = await orch(["add", "y", "--conn-type", "http", "--conn-extra", "{oops"]);
    assert.equal(bad.code, 2, "a malformed flag is a usage error");
    assert.match(bad.stderr, /--conn-extra/);
    const none = await orch(["add", "z"]);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /--conn-uri/);
  });

  it("list masks passwords and sensitive extras; --show-secrets and get show them", async () => {
    const list = await orch(["list"]);
    assert.equal(list.code, 0, list.stderr);
    assert.ok(!list.stdout.includes(PW) && !list.stdout.includes("hunter22") && !list.stdout.includes("k-998877"), list.stdout);
    const rows = JSON.parse((await orch(["list", "-o", "json"])).stdout) as Record<string, unknown>[];
    const wh = rows.find((r) => r.conn_id === "warehouse")!;
    assert.deepEqual([wh.conn_type, wh.host, wh.port, wh.schema, wh.login, wh.password, wh.extra], ["postgres", "db.internal", 5432, "taxi", "etl", "***", '{"sslmode":"require"}']);
    assert.equal(JSON.parse(String(rows.find((r) => r.conn_id === "api")!.extra)).api_key, "***");
    const shown = JSON.parse((await orch(["list", "-o", "json", "--show-secrets"])).stdout) as Record<string, unknown>[];
    assert.equal(shown.find((r) => r.conn_id === "warehouse")!.password, PW);
    const got = JSON.parse((await orch(["get", "warehouse", "-o", "json"])).stdout) as Record<string, unknown>[];
    assert.equal(got[0]!.password, PW);
    assert.equal((await orch(["get", "nope"])).code, 1);
  });

  it("env connections (URI and JSON) are read and listed, masked", async () => {
    const env = { AIRFLOW_CONN_ENV_PG: "postgres://u:envsecret1@envhost:6543/db", ORCH_CONN_ENV_JSON: JSON.stringify({ conn_type: "sqlite", host: "/tmp/w.db", password: "jsonsecret" }) };
    const rows = JSON.parse((await orch(["list", "-o", "json"], env)).stdout) as Record<string, unknown>[];
    assert.deepEqual(rows.filter((r) => r.source === "env").map((r) => [r.conn_id, r.host, r.password]), [["env_json", "/tmp/w.db", "***"], ["env_pg", "envhost", "***"]]);
    const got = JSON.parse((await orch(["get", "env_pg", "-o", "json"], env)).stdout) as Record<string, unknown>[];
    assert.equal(got[0]!.password, "envsecret1");
    const broken = await orch(["get", "bad"], { AIRFLOW_CONN_BAD: "no-scheme-here" });
    assert.notEqual(broken.code, 0);
    assert.match(broken.stderr, /AIRFLOW_CONN_BAD/);
  });

  it("export (json, env) to 0600 files and import them back", async () => {
    const json = join(h.home, "conns.json");
    assert.equal((await orch(["export", json])).code, 0);
    assert.equal(statSync(json).mode & 0o777, 0o600);
    const doc = JSON.parse(readFileSync(json, "utf8")) as Record<string, Record<string, unknown>>;
    assert.equal(doc.warehouse!.password, PW);
    const envFile = join(h.home, "conns.env");
    assert.equal((await orch(["export", envFile])).code, 0);
    assert.match(readFileSync(envFile, "utf8"), /^warehouse=postgres:\/\/etl:/m);
    assert.equal((await orch(["delete", "warehouse"])).code, 0);
    assert.equal((await orch(["delete", "warehouse"])).code, 1);
    const im = await orch(["import", envFile]);
    assert.equal(im.code, 0, im.stderr);
    assert.match(im.stdout, /Imported connection warehouse/);
    assert.match(im.stdout, /Could not import connection api: connection already exists/);
    const got = JSON.parse((await orch(["get", "warehouse", "-o", "json"])).stdout) as Record<string, unknown>[];
    assert.equal(got[0]!.password, PW);
    const yaml = join(h.home, "c.yaml");
    writeFileSync(yaml, "api:\n  conn_type: http\n  host: new.example.com\n");
    assert.equal((await orch(["import", yaml, "--overwrite"])).code, 0);
    assert.equal((JSON.parse((await orch(["get", "api", "-o", "json"])).stdout) as Record<string, unknown>[])[0]!.host, "new.example.com");
  });

  it("every subcommand's --help has an example", async () => {
    for (const c of ["add", "get", "list", "delete", "import", "export"]) {
      const r = await orch([c, "--help"]);
      assert.equal(r.code, 0, c);
      assert.match(r.stdout, /Examples:\n(\s+#.*\n)?\s+orch /, c);
    }
  });
});

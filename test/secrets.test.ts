// src/secrets: Airflow's connection URI and JSON forms, the env-then-metastore search path, and the
// masking of listings, on both dialects.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import {
  connectionToUri,
  displayConnection,
  displayVariableValue,
  envConnection,
  envVariable,
  getConnection,
  getVariable,
  listConnections,
  listVariables,
  loadSecretsSnapshot,
  maskExtra,
  parseConnectionJson,
  parseConnectionUri,
} from "../src/secrets/index.ts";
import { insertConnection } from "../src/store/connections.ts";
import { setVariable } from "../src/store/variables.ts";
import { isOrchError } from "../src/errors.ts";
import { dialectSkipReason, freshStore, testDialects, type TestStore } from "./helpers/store.ts";

// Restated from Airflow's tests/models/test_connection.py (test_connection_from_uri / get_uri).
const URI_CASES: { uri: string; want: Partial<Record<string, unknown>>; roundTrip?: string }[] = [
  {
    uri: "type://user:pass@host:100/schema",
    want: { conn_type: "type", host: "host", login: "user", password: "pass", port: 100, schema: "schema", extra: null },
  },
  {
    uri: "postgresql://etl:s%40cr%2Fet@db.internal:5432/taxi",
    want: { conn_type: "postgres", host: "db.internal", login: "etl", password: "s@cr/et", port: 5432, schema: "taxi" },
    roundTrip: "postgres://etl:s%40cr%2Fet@db.internal:5432/taxi",
  },
  {
    uri: "type://user:pass@host:100/schema?param1=val1&param2=val2",
    want: { extra: JSON.stringify({ param1: "val1", param2: "val2" }) },
  },
  {
    uri: `type://host/?__extra__=${encodeURIComponent(JSON.stringify({ nested: { a: 1 } }))}`,
    want: { host: "host", schema: null, extra: JSON.stringify({ nested: { a: 1 } }) },
  },
  { uri: "sqlite://%2Ftmp%2Fwarehouse.db", want: { conn_type: "sqlite", host: "/tmp/warehouse.db", login: null, password: null } },
  { uri: "google-cloud-platform://", want: { conn_type: "google_cloud_platform", host: null } },
  { uri: "http://https://Example.COM:8443/", want: { conn_type: "http", host: "https://Example.COM", port: 8443 } },
  { uri: "type://User@Host", want: { login: "User", host: "Host", password: null } },
];

describe("connection URIs (Airflow's _parse_from_uri / get_uri)", () => {
  for (const c of URI_CASES) {
    it(`parses ${c.uri}`, () => {
      const got = parseConnectionUri("x", c.uri);
      for (const [k, v] of Object.entries(c.want)) assert.deepEqual(got[k as keyof typeof got], v, `${k} of ${c.uri}`);
      // get_uri of the parsed connection parses back to the same connection.
      const again = parseConnectionUri("x", connectionToUri(got));
      assert.deepEqual(again, got);
      if (c.roundTrip) assert.equal(connectionToUri(got), c.roundTrip);
    });
  }
  it("refuses what is not a URI, naming the source and hiding the password", () => {
    assert.throws(() => parseConnectionUri("x", "user:pw@host", "AIRFLOW_CONN_X"), (e) => isOrchError(e, "ORCH_USAGE") && /AIRFLOW_CONN_X/.test(e.message));
    assert.throws(() => parseConnectionUri("x", "a://b://c://d"), /more than two/);
    assert.throws(() => parseConnectionUri("x", "pg://u:topsecret@h@x:99999/"), (e) => !(e as Error).message.includes("topsecret"));
  });
  it("reads Airflow's JSON form, extra as an object or text", () => {
    const c = parseConnectionJson("wh", JSON.stringify({ conn_type: "postgres", host: "h", port: "5433", login: "u", password: "p", extra: { sslmode: "require" } }), "X");
    assert.deepEqual(c, { conn_id: "wh", conn_type: "postgres", host: "h", schema: null, login: "u", password: "p", port: 5433, extra: '{"sslmode":"require"}' });
    assert.throws(() => parseConnectionJson("wh", '{"conn_type": "x", "hots": "typo"}', "AIRFLOW_CONN_WH"), /unknown field "hots"/);
    assert.throws(() => parseConnectionJson("wh", '{"host": "h"}', "AIRFLOW_CONN_WH"), /conn_type is required/);
  });
});

describe("environment backend", () => {
  it("ORCH_VAR_ wins over AIRFLOW_VAR_; keys are upper-cased", () => {
    assert.equal(envVariable("bucket", { AIRFLOW_VAR_BUCKET: "a", ORCH_VAR_BUCKET: "o" }), "o");
    assert.equal(envVariable("bucket", { AIRFLOW_VAR_BUCKET: "a" }), "a");
    assert.equal(envVariable("bucket", { AIRFLOW_VAR_bucket: "lower" }), undefined);
  });
  it("a connection as a URI or as JSON", () => {
    assert.equal(envConnection("wh", { AIRFLOW_CONN_WH: "postgres://u:p@h:1/d" })?.password, "p");
    assert.equal(envConnection("wh", { ORCH_CONN_WH: '{"conn_type": "sqlite", "host": "/x.db"}', AIRFLOW_CONN_WH: "postgres://h" })?.host, "/x.db");
  });
});

describe("listing masks", () => {
  it("variables whose names look sensitive", () => {
    assert.equal(displayVariableValue("api_key", "abc123"), "***");
    assert.equal(displayVariableValue("DB_PASSWORD", "abc123"), "***");
    assert.equal(displayVariableValue("bucket", "s3://raw"), "s3://raw");
    assert.equal(displayVariableValue("api_key", "abc123", true), "abc123");
  });
  it("connection passwords and sensitive extras, at any depth", () => {
    const c = { conn_id: "a", conn_type: "http", host: "h", schema: null, login: "u", password: "pw123", port: null, extra: JSON.stringify({ timeout: 3, auth: { api_key: "K" }, headers: [{ Authorization: "Bearer x" }] }) };
    const shown = displayConnection(c);
    assert.equal(shown.password, "***");
    assert.deepEqual(JSON.parse(shown.extra!), { timeout: 3, auth: { api_key: "***" }, headers: [{ Authorization: "***" }] });
    assert.equal(displayConnection(c, true).password, "pw123");
    assert.equal(maskExtra(null), null);
  });
});

for (const dialect of testDialects()) {
  describe(`${dialect}: secrets search path`, { skip: await dialectSkipReason(dialect) }, () => {
    let s: TestStore;
    const saved = { ...process.env };
    before(async () => {
      s = await freshStore(dialect, "secrets");
      await setVariable(s.store.db, { key: "bucket", val: "stored" });
      await setVariable(s.store.db, { key: "region", val: "eu" });
      await insertConnection(s.store.db, { conn_id: "wh", conn_type: "postgres", host: "stored-host", schema: "d", login: "u", password: "stored-pw", port: 5432, extra: null, description: "the warehouse" });
      process.env.AIRFLOW_VAR_BUCKET = "from-env";
      process.env.ORCH_VAR_ONLY_ENV = "e";
      process.env.AIRFLOW_CONN_ENV_DB = "postgres://envuser:envpw@envhost:6543/envdb";
    });
    after(async () => {
      for (const k of ["AIRFLOW_VAR_BUCKET", "ORCH_VAR_ONLY_ENV", "AIRFLOW_CONN_ENV_DB"]) if (saved[k] === undefined) delete process.env[k];
      await s.cleanup();
    });

    it("the environment first, then the metastore", async () => {
      assert.equal(await getVariable(s.store, "bucket"), "from-env");
      assert.equal(await getVariable(s.store, "region"), "eu");
      assert.equal(await getVariable(s.store, "only_env"), "e");
      assert.equal(await getVariable(s.store, "missing"), undefined);
      assert.equal((await getConnection(s.store, "wh"))?.password, "stored-pw");
      assert.equal((await getConnection(s.store, "env_db"))?.host, "envhost");
      assert.equal(await getConnection(s.store, "nope"), undefined);
    });

    it("listings show both sources, env hiding a stored key", async () => {
      const vars = await listVariables(s.store);
      assert.deepEqual(vars.map((v) => [v.key, v.val, v.source]), [["bucket", "from-env", "env"], ["only_env", "e", "env"], ["region", "eu", "metastore"]]);
      const conns = await listConnections(s.store);
      assert.deepEqual(conns.map((c) => [c.conn_id, c.source]), [["env_db", "env"], ["wh", "metastore"]]);
    });

    it("the run-task snapshot carries env-provided ones", async () => {
      const snap = await loadSecretsSnapshot(s.store);
      assert.equal(snap.variables.bucket, "from-env");
      assert.equal(snap.variables.only_env, "e");
      assert.equal(snap.connections.env_db?.password, "envpw");
      assert.equal(snap.connections.wh?.password, "stored-pw");
    });
  });
}

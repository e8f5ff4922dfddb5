// The SDK's Variable.get / Connection.get over an installed reader (what the worker installs per
// task), their types, and their errors outside a task.
import assert from "node:assert/strict";
import { afterEach, describe, it } from "node:test";
import { Connection, SecretNotFoundError, Variable } from "../src/sdk/index.ts";
import { setSecretsReader } from "../src/sdk/secrets.ts";

describe("sdk: Variable and Connection", () => {
  afterEach(() => setSecretsReader(undefined));

  it("refuse to run outside a task", async () => {
    await assert.rejects(Variable.get("x"), /only be called while a task runs/);
    await assert.rejects(Connection.get("x"), /only be called while a task runs/);
  });

  it("read through the reader: text, defaults, JSON, extra_dejson, not-found errors", async () => {
    const vars: Record<string, string> = { bucket: "s3://raw", cfg: '{"months": 3}', broken: "{" };
    setSecretsReader({
      getVariable: async (k) => vars[k],
      getConnection: async (id) => (id === "wh" ? { conn_id: "wh", conn_type: "postgres", host: "h", schema: "d", login: "u", password: "p", port: 5432, extra: '{"sslmode":"require"}' } : undefined),
    });
    const bucket: string = await Variable.get("bucket");
    assert.equal(bucket, "s3://raw");
    const region: string | number = await Variable.get("region", { default: 7 });
    assert.equal(region, 7);
    const cfg = await Variable.get<{ months: number }>("cfg", { deserialize_json: true });
    assert.equal(cfg.months, 3);
    await assert.rejects(Variable.get("broken", { deserialize_json: true }), /Variable broken is not valid JSON/);
    await assert.rejects(Variable.get("nope"), (e) => e instanceof SecretNotFoundError && e.code === "ORCH_NOT_FOUND" && e.message === "Variable nope does not exist");
    const wh = await Connection.get("wh");
    assert.deepEqual([wh.host, wh.port, wh.extra_dejson.sslmode], ["h", 5432, "require"]);
    await assert.rejects(Connection.get("nope"), /The conn_id `nope` isn't defined/);
    // Types only: a plain get is a string, not unknown.
    const typeErrors = async () => {
      // @ts-expect-error a variable's text is not a number
      const n: number = await Variable.get("bucket");
      void n;
    };
    void typeErrors;
  });
});

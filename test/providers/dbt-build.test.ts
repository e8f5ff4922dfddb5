// dbtBuild: the real dbt when an executable called dbt is on PATH (a stand-in script here that
// records its arguments and environment), the SQL fallback otherwise, with one log line saying why.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { isOrchError } from "../../src/errors.ts";
import { dbtBuild, dbtProfileEnv, findExecutable } from "../../src/providers/dbt/build.ts";
import { PostgresHook } from "../../src/providers/postgres.ts";
import { SqliteHook } from "../../src/providers/sqlite.ts";
import { DBT_PROJECT } from "../helpers/taxi.ts";

let dir: string;
let bin: string;
let record: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "orch-dbt-build-"));
  bin = join(dir, "bin");
  record = join(dir, "dbt-args.json");
  await mkdir(bin);
});
after(() => rm(dir, { recursive: true, force: true }));

/** A `dbt` that writes its argv and the profile's environment to `record`, prints, and exits `code`. */
async function standInDbt(code: number): Promise<void> {
  const script = `#!${process.execPath}
const fs = require("node:fs");
const keys = ["DBT_TARGET", "ORCH_WAREHOUSE_PATH", "ORCH_WAREHOUSE_DIR", "ORCH_WAREHOUSE_HOST", "ORCH_WAREHOUSE_DBNAME", "DBT_ENV_SECRET_WAREHOUSE_PASSWORD"];
fs.writeFileSync(${JSON.stringify(record)}, JSON.stringify({ args: process.argv.slice(2), env: Object.fromEntries(keys.filter((k) => k in process.env).map((k) => [k, process.env[k]])) }));
console.log("Running with dbt=1.9.0 (stand-in)");
console.error("stand-in stderr line");
process.exit(${code});
`;
  await writeFile(join(bin, "dbt"), script);
  await chmod(join(bin, "dbt"), 0o755);
}

describe("dbtBuild", () => {
  it("runs `dbt build` with the project, profiles and vars when dbt is on PATH, its output into the log", async () => {
    await standInDbt(0);
    const hook = new SqliteHook(join(dir, "w.db"));
    const lines: string[] = [];
    const path = `${bin}${delimiter}${process.env.PATH}`;
    const r = await dbtBuild(hook, { projectDir: DBT_PROJECT, profilesDir: DBT_PROJECT, vars: { month: "2024-01-01", taxi_type: "green" }, log: (l) => lines.push(l), path });
    await hook.close();
    assert.equal(r.runner, "dbt");
    const seen = JSON.parse(await readFile(record, "utf8")) as { args: string[]; env: Record<string, string> };
    assert.deepEqual(seen.args, ["build", "--project-dir", DBT_PROJECT, "--profiles-dir", DBT_PROJECT, "--vars", '{"month":"2024-01-01","taxi_type":"green"}']);
    assert.deepEqual(seen.env, { DBT_TARGET: "sqlite", ORCH_WAREHOUSE_PATH: join(dir, "w.db"), ORCH_WAREHOUSE_DIR: dir });
    assert.ok(lines.includes("Running with dbt=1.9.0 (stand-in)"), lines.join("\n"));
    assert.ok(lines.includes("stand-in stderr line"), "expected lines.includes(\"stand-in stderr line\")");
    assert.ok(lines[0]!.startsWith(`Running ${join(bin, "dbt")} build --project-dir`), lines[0]);
  });

  it("fails when dbt exits non-zero, with the exit code and dbt's last lines", async () => {
    await standInDbt(2);
    const hook = new SqliteHook(join(dir, "w.db"));
    try {
      await assert.rejects(
        dbtBuild(hook, { projectDir: DBT_PROJECT, vars: { month: "2024-01-01" }, log: () => {}, path: `${bin}${delimiter}${process.env.PATH}` }),
        (e) => isOrchError(e, "ORCH_DBT_FAILED") && /exited with code 2/.test(e.message) && /stand-in stderr line/.test(e.message),
      );
    } finally {
      await hook.close();
    }
  });

  it("without dbt on PATH runs the SQL fallback and says why in one line", async () => {
    assert.equal(findExecutable("dbt", "/nonexistent"), undefined);
    const hook = new SqliteHook(join(dir, "fallback.db"));
    const lines: string[] = [];
    try {
      await hook.run(`CREATE TABLE raw_trips ("VendorID" integer, tpep_pickup_datetime text, tpep_dropoff_datetime text, "PULocationID" integer, "DOLocationID" integer, passenger_count integer, trip_distance real, "RatecodeID" integer, payment_type integer, fare_amount real, tip_amount real, tolls_amount real, total_amount real, source_month text)`);
      await hook.run(`INSERT INTO raw_trips VALUES (1, '2024-01-02 03:04:05', '2024-01-02 03:14:05', 132, 265, 1, 2.5, 1, 1, 10, 2, 0, 13.5, '2024-01')`);
      const r = await dbtBuild(hook, { projectDir: DBT_PROJECT, vars: { month: "2024-01-01" }, log: (l) => lines.push(l), path: "/nonexistent" });
      assert.equal(r.runner, "fallback");
      assert.equal(lines.filter((l) => /dbt is not on PATH/.test(l)).length, 1);
      const rows = await hook.getRecords<{ pickup_zone: string; dropoff_zone: string }>(`SELECT pickup_zone, dropoff_zone FROM fct_trips`);
      assert.deepEqual(rows.map((x) => ({ ...x })), [{ pickup_zone: "JFK Airport", dropoff_zone: "NA" }]);
    } finally {
      await hook.close();
    }
  });

  it("gives dbt-postgres the server's coordinates, the password only as DBT_ENV_SECRET_*", async (t) => {
    const { pgSkipReason, ADMIN_URL } = await import("../helpers/pg.ts");
    const why = await pgSkipReason();
    if (why) return t.skip(why);
    const hook = new PostgresHook(ADMIN_URL);
    try {
      const env = await dbtProfileEnv(hook);
      const u = new URL(ADMIN_URL);
      assert.deepEqual(env, {
        DBT_TARGET: "postgres",
        ORCH_WAREHOUSE_HOST: u.hostname,
        ORCH_WAREHOUSE_PORT: u.port || "5432",
        ORCH_WAREHOUSE_USER: decodeURIComponent(u.username),
        ORCH_WAREHOUSE_DBNAME: u.pathname.slice(1),
        ORCH_WAREHOUSE_SCHEMA: "public",
        DBT_ENV_SECRET_WAREHOUSE_PASSWORD: decodeURIComponent(u.password),
      });
    } finally {
      await hook.close();
    }
  });
});

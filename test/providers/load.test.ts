// The partition loader on both warehouses: counts, idempotent reloads, untouched neighbours, bad
// inputs that change nothing, schema mismatch, and the zone lookup's NA / N/A kept as text.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { isOrchError } from "../../src/errors.ts";
import { loadCsv, loadPartition } from "../../src/providers/load.ts";
import { inspectParquet } from "../../src/providers/parquet.ts";
import { PostgresHook } from "../../src/providers/postgres.ts";
import { SqliteHook } from "../../src/providers/sqlite.ts";
import type { WarehouseHook } from "../../src/providers/types.ts";
import { freshPgDatabase, pgSkipReason, type FreshDatabase } from "../helpers/pg.ts";
import { fixtures, HAVE_REAL_TLC, REAL_TLC_DIR, type Fixtures } from "./fixtures.ts";

let fx: Fixtures;
let jan: string;
let feb: string;
let janSum: number;
before(async () => {
  fx = await fixtures();
  const a = fx.file("yellow", "2024-01", 3000, 1200);
  jan = a.path;
  janSum = a.sumTotalAmount;
  feb = fx.file("yellow", "2024-02", 2000).path;
});
after(() => fx.cleanup());

const dialects: { name: "sqlite" | "postgres"; skip: () => Promise<string | undefined> }[] = [
  { name: "sqlite", skip: async () => undefined },
  { name: "postgres", skip: pgSkipReason },
];

describe("SqliteHook", () => {
  it("defaults to $ORCH_HOME/warehouse.db and maps $n placeholders outside quoted text", async () => {
    const saved = process.env.ORCH_HOME;
    process.env.ORCH_HOME = join(fx.dir, "home");
    try {
      const hook = new SqliteHook();
      assert.equal(hook.path, join(fx.dir, "home", "warehouse.db"));
      const [r] = await hook.getRecords<{ a: unknown; b: unknown; c: unknown }>(`SELECT $2 AS a, '$1' AS b, $1 AS c`, ["one", "two"]);
      assert.deepEqual([r.a, r.b, r.c], ["two", "$1", "one"]);
      const [m] = await hook.getRecords<{ journal_mode: string }>("PRAGMA journal_mode");
      assert.equal(m.journal_mode, "wal");
      await hook.close();
    } finally {
      if (saved === undefined) delete process.env.ORCH_HOME;
      else process.env.ORCH_HOME = saved;
    }
  });
});

for (const d of dialects) {
  describe(`${d.name}: loadPartition`, { skip: await d.skip() }, () => {
    let hook: WarehouseHook;
    let db: FreshDatabase | undefined;
    before(async () => {
      if (d.name === "postgres") {
        db = await freshPgDatabase("providers_load");
        hook = new PostgresHook(db.url);
      } else {
        hook = new SqliteHook(join(fx.dir, "warehouse.db"));
      }
    });
    after(async () => {
      await hook.close();
      await db?.drop();
    });

    const count = async (where = "") => Number((await hook.getRecords<{ n: number | string }>(`SELECT count(*) AS n FROM yellow_trips ${where}`))[0].n);
    const byMonth = async () =>
      (await hook.getRecords<{ m: string; n: number | string; s: number | string }>(
        `SELECT source_month AS m, count(*) AS n, round(sum(total_amount)::numeric, 2) AS s FROM yellow_trips GROUP BY source_month ORDER BY 1`.replace(
          "::numeric",
          d.name === "sqlite" ? "" : "::numeric",
        ),
      )).map((r) => [r.m, Number(r.n), Number(r.s)]);

    it("creates the table from the Parquet schema and loads exact counts and values", async () => {
      const n = await loadPartition(hook, "yellow_trips", { partition: { column: "source_month", value: "2024-01" }, source: jan });
      assert.equal(n, 3000);
      assert.deepEqual(await byMonth(), [["2024-01", 3000, janSum]]);
      const cols = await hook.describeTable("yellow_trips");
      const type = (c: string) => cols?.find((x) => x.name === c)?.declaredType;
      if (d.name === "postgres") {
        assert.equal(type("tpep_pickup_datetime"), "timestamp without time zone");
        assert.equal(type("passenger_count"), "bigint");
        assert.equal(type("VendorID"), "integer");
        assert.equal(type("source_month"), "text");
      } else {
        assert.equal(type("tpep_pickup_datetime"), "TIMESTAMP");
        assert.equal(type("fare_amount"), "REAL");
      }
      const early = await hook.getRecords<{ p: unknown }>(
        `SELECT tpep_pickup_datetime AS p FROM yellow_trips WHERE tpep_pickup_datetime < '2024-01-01' ORDER BY 1 LIMIT 1`,
      );
      assert.equal(early.length, 1, "a pickup from December 2023 is loaded with the January partition");
      const text = d.name === "postgres" ? "to_char(tpep_pickup_datetime, 'YYYY-MM-DD HH24:MI:SS')" : "tpep_pickup_datetime";
      const [first] = await hook.getRecords<{ t: string }>(`SELECT ${text} AS t FROM yellow_trips ORDER BY tpep_pickup_datetime DESC LIMIT 1`);
      assert.match(first.t, /^2024-01-31 \d\d:\d\d:\d\d$/);
      assert.equal(await count(`WHERE passenger_count IS NULL`), await count(`WHERE store_and_fwd_flag IS NULL`));
      assert.ok((await count(`WHERE passenger_count IS NULL`)) > 0, "expected (await count(`WHERE passenger_count IS NULL`)) > 0");
    });

    it("re-loading the partition leaves the counts unchanged; another partition is untouched", async () => {
      await loadPartition(hook, "yellow_trips", { partition: { column: "source_month", value: "2024-02" }, source: feb });
      const before = await byMonth();
      assert.equal(before.length, 2);
      assert.equal(await loadPartition(hook, "yellow_trips", { partition: { column: "source_month", value: "2024-01" }, source: jan }), 3000);
      assert.equal(await loadPartition(hook, "yellow_trips", { partition: { column: "source_month", value: "2024-01" }, source: jan }), 3000);
      assert.deepEqual(await byMonth(), before);
      assert.equal(await count(), 5000);
    });

    for (const bad of ["truncated", "html", "empty"] as const) {
      it(`a ${bad} file fails with its message and leaves the rows exactly as they were`, async () => {
        const before = await byMonth();
        const path = bad === "truncated" ? await fx.truncated(jan) : bad === "html" ? await fx.html() : await fx.empty();
        const re = { truncated: /truncated/, html: /HTML/, empty: /empty file/ }[bad];
        await assert.rejects(
          loadPartition(hook, "yellow_trips", { partition: { column: "source_month", value: "2024-01" }, source: path }),
          (e) => isOrchError(e, "ORCH_PARQUET_INVALID") && re.test(e.message),
        );
        assert.deepEqual(await byMonth(), before);
      });
    }

    it("a file that fails mid-decode (footer intact, a later row group's pages garbage) rolls back: the old partition is intact", async () => {
      const before = await byMonth();
      const info = await inspectParquet(jan);
      assert.ok(info.rowGroups.length >= 3, "expected several row groups, so the COPY has begun when the decode fails");
      const chunk = info.metadata.row_groups.at(-1)!.columns[0]!.meta_data!;
      const dict = Number(chunk.dictionary_page_offset ?? 0);
      const start = dict > 0 && dict < Number(chunk.data_page_offset) ? dict : Number(chunk.data_page_offset);
      const bytes = await readFile(jan);
      bytes.fill(0xff, start, start + Number(chunk.total_compressed_size));
      const path = join(fx.dir, "corrupt-pages.parquet");
      await writeFile(path, bytes);
      let progress = 0;
      await assert.rejects(
        loadPartition(hook, "yellow_trips", { partition: { column: "source_month", value: "2024-01" }, source: path, onProgress: (n) => (progress = n) }),
        (e) => isOrchError(e, "ORCH_PARQUET_INVALID") && /could not be decoded in row group 2/.test(e.message),
      );
      assert.ok(progress >= 2400, `expected the first row groups to have been written before the failure, got ${progress}`);
      assert.deepEqual(await byMonth(), before);
    });

    it("a file whose schema does not fit the table is refused, naming the column; rows unchanged", async () => {
      const before = await byMonth();
      const green = fx.file("green", "2024-01", 100).path;
      await assert.rejects(
        loadPartition(hook, "yellow_trips", { partition: { column: "source_month", value: "2024-01" }, source: green }),
        (e) => isOrchError(e, "ORCH_SCHEMA_MISMATCH") && /lpep_pickup_datetime/.test(e.message) && e.message.includes("yellow_trips"),
      );
      await hook.run(`CREATE TABLE typed (fare_amount text, source_month text)`);
      await assert.rejects(
        loadPartition(hook, "typed", {
          partition: { column: "source_month", value: "x" },
          source: { name: "mem", columns: [{ name: "fare_amount", type: "double", nullable: true }], batches: async function* () {} },
        }),
        (e) => isOrchError(e, "ORCH_SCHEMA_MISMATCH") && /fare_amount is double in the file but text in the table/i.test(e.message),
      );
      assert.deepEqual(await byMonth(), before);
    });

    it("loads into an existing table whose types are wider (bigint, double, numeric) with exact values", async () => {
      const cols = (await hook.describeTable("yellow_trips"))!.filter((c) => c.name !== "source_month");
      const wider: Record<string, string> = { VendorID: "bigint", PULocationID: "double precision", passenger_count: "numeric" };
      const defs = cols.map((c) => `"${c.name}" ${wider[c.name] ?? c.declaredType}`).join(", ");
      await hook.run(`CREATE TABLE wide_trips (${defs}, source_month text, loaded_by text)`);
      assert.equal(await loadPartition(hook, "wide_trips", { partition: { column: "source_month", value: "2024-01" }, source: jan }), 3000);
      const sums = async (t: string) =>
        (await hook.getRecords<Record<string, unknown>>(
          `SELECT count(*) AS n, sum("VendorID") AS v, sum("PULocationID") AS p, sum(passenger_count) AS c, count(tpep_dropoff_datetime) AS d, min(tpep_pickup_datetime) AS m FROM ${t} WHERE source_month = '2024-01'`,
        )).map((r) => Object.values(r).map(String));
      assert.deepEqual(await sums("wide_trips"), await sums("yellow_trips"));
    });

    it("copyFrom and insertRows take rows (arrays and objects) with quoted identifiers and odd text", async () => {
      await hook.run(`CREATE TABLE "odd ""name""" ("a b" bigint, "t" text)`);
      const tricky = "tab\there, newline\nhere, back\\slash, 'quote' and \"dq\"";
      assert.equal(await hook.copyFrom(`odd "name"`, [[1n, tricky], { "a b": 2, t: null }], { columns: ["a b", "t"] }), 2);
      assert.equal(await hook.insertRows(`odd "name"`, [[3, "NA"], [4, "N/A"], [5, "x"]], { columns: ["a b", "t"], batchSize: 2 }), 3);
      const rows = await hook.getRecords<{ a: unknown; t: unknown }>(`SELECT "a b" AS a, t FROM "odd ""name""" ORDER BY 1`);
      assert.deepEqual(
        rows.map((r) => [Number(r.a), r.t]),
        [[1, tricky], [2, null], [3, "NA"], [4, "N/A"], [5, "x"]],
      );
      const [r] = await hook.getRecords<{ n: unknown }>(`SELECT count(*) AS n FROM "odd ""name""" WHERE t = $1`, ["N/A"]);
      assert.equal(Number(r.n), 1);
    });

    it("the zone lookup CSV keeps NA and N/A as text", async () => {
      const csv = join(fx.dir, "taxi_zone_lookup.csv");
      await writeFile(
        csv,
        '"LocationID","Borough","Zone","service_zone"\r\n1,"EWR","Newark Airport","EWR"\r\n264,"Unknown","N/A","N/A"\r\n265,"N/A","NA","N/A"\r\n',
      );
      assert.equal(await loadCsv(hook, "zones", { source: csv }), 3);
      assert.equal(await loadCsv(hook, "zones", { source: csv }), 3, "a reload replaces the rows");
      const rows = await hook.getRecords<{ id: unknown; b: unknown; z: unknown; s: unknown }>(
        `SELECT "LocationID" AS id, "Borough" AS b, "Zone" AS z, service_zone AS s FROM zones ORDER BY 1`,
      );
      assert.deepEqual(rows.map((r) => [Number(r.id), r.b, r.z, r.s]), [
        [1, "EWR", "Newark Airport", "EWR"],
        [264, "Unknown", "N/A", "N/A"],
        [265, "N/A", "NA", "N/A"],
      ]);
    });

    if (d.name === "postgres") {
      it("PostgresHook takes a connection record (the connection table's fields) as well as a URI", async () => {
        const u = new URL(db!.url);
        const h = new PostgresHook({
          conn_type: "postgres",
          host: u.hostname,
          port: Number(u.port),
          login: decodeURIComponent(u.username),
          password: decodeURIComponent(u.password),
          schema: u.pathname.slice(1),
          extra: JSON.stringify({ application_name: "orch-test" }),
        });
        try {
          const [r] = await h.getRecords<{ db: string; app: string }>(`SELECT current_database() AS db, current_setting('application_name') AS app`);
          assert.deepEqual([r.db, r.app], [db!.name, "orch-test"]);
        } finally {
          await h.close();
        }
        assert.throws(() => new PostgresHook({ conn_type: "mysql", host: "h", port: 1, login: null, password: null, schema: null, extra: null }), (e) => isOrchError(e, "ORCH_USAGE") && /conn_type/.test(e.message));
      });
    }

    it("the real zone lookup and a real green month", { skip: HAVE_REAL_TLC ? false : `no ${REAL_TLC_DIR}` }, async () => {
      assert.equal(await loadCsv(hook, "real_zones", { source: join(REAL_TLC_DIR, "taxi_zone_lookup.csv") }), 265);
      const [z] = await hook.getRecords<{ z: unknown; s: unknown }>(`SELECT "Zone" AS z, service_zone AS s FROM real_zones WHERE "LocationID" = 265`);
      assert.deepEqual([z.z, z.s], ["NA", "N/A"]);
      const n = await loadPartition(hook, "green_trips", { partition: { column: "source_month", value: "2024-01" }, source: join(REAL_TLC_DIR, "green_tripdata_2024-01.parquet") });
      assert.equal(n, 56_551);
      const [s] = await hook.getRecords<{ s: unknown; e: unknown }>(
        `SELECT round(sum(total_amount)${d.name === "postgres" ? "::numeric" : ""}, 2) AS s, count(*) - count(ehail_fee) AS e FROM green_trips`,
      );
      assert.equal(Number(s.s), 1_266_922.59);
      assert.equal(Number(s.e), 56_551);
    });
  });
}

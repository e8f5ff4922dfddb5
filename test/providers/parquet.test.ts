import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { isOrchError } from "../../src/errors.ts";
import { formatTimestamps, inspectParquet, readParquetBatches } from "../../src/providers/parquet.ts";
import { naiveFromMicros } from "../../src/providers/values.ts";
import { TAXI_COLUMNS, taxiColumns, writeTaxiParquet, type TaxiKind } from "../../scripts/gen-taxi-parquet.ts";
import { fixtures, HAVE_REAL_TLC, REAL_TLC_DIR, type Fixtures } from "./fixtures.ts";

let fx: Fixtures;
before(async () => {
  fx = await fixtures();
});
after(() => fx.cleanup());

async function decodeAll(path: string, batchRows: number) {
  const info = await inspectParquet(path);
  const cols = info.columns.map(() => [] as unknown[]);
  let batches = 0;
  for await (const b of readParquetBatches(path, { info, batchRows })) {
    batches++;
    assert.ok(b.numRows <= batchRows, "expected b.numRows <= batchRows");
    b.columns.forEach((c, j) => {
      for (let i = 0; i < b.numRows; i++) cols[j].push(c[i]);
    });
  }
  return { info, cols, batches };
}

describe("parquet: page codecs (decompressors loaded on first use, src/providers/codecs.ts)", () => {
  // SNAPPY is every generated file above; ZSTD is the real green months below.
  for (const codec of ["UNCOMPRESSED", "GZIP", "BROTLI"] as const) {
    it(`${codec} pages decode to the same values as SNAPPY ones`, async () => {
      const path = join(fx.dir, `green-${codec}.parquet`);
      writeTaxiParquet({ kind: "green", month: "2024-01", rows: 1500, rowGroupRows: 1000, path, codec });
      const info = await inspectParquet(path);
      assert.ok(info.metadata.row_groups[0].columns.every((c) => c.meta_data?.codec === codec), `expected ${codec} column chunks`);
      const got = await decodeAll(path, 600);
      const want = await decodeAll(fx.file("green", "2024-01", 1500, 1000).path, 600);
      assert.equal(got.info.rows, 1500);
      assert.deepEqual(got.cols, want.cols);
    });
  }
});

describe("parquet: generated TLC files round-trip", () => {
  for (const kind of ["yellow", "green"] as TaxiKind[]) {
    it(`${kind}: every column, type and null, over several row groups and ranges`, async () => {
      const rows = 5000;
      const s = fx.file(kind, "2024-01", rows, 2000);
      const { info, cols, batches } = await decodeAll(s.path, 700);
      assert.equal(info.rows, rows);
      assert.deepEqual(info.rowGroups, [2000, 2000, 1000]);
      assert.equal(batches, 3 + 3 + 2);
      assert.deepEqual(
        info.columns.map((c) => c.name),
        TAXI_COLUMNS[kind].map((c) => c.name),
      );
      const expected = taxiColumns(kind, "2024-01", 0, rows);
      const nulls = new Map<string, number>();
      TAXI_COLUMNS[kind].forEach((def, j) => {
        const spec = info.columns[j];
        const want = { int32: "integer", int64: "bigint", double: "double", string: "text", timestamp: "timestamp" }[def.kind];
        assert.equal(spec.type, want, def.name);
        for (let i = 0; i < rows; i++) {
          const e = expected[j][i];
          const g = cols[j][i];
          if (e === null) nulls.set(def.name, (nulls.get(def.name) ?? 0) + 1);
          // INT64 and timestamps (µs) come back as exact numbers
          const e2 = typeof e === "bigint" ? Number(e) : e;
          assert.equal(g, e2, `${def.name} row ${i}`);
        }
      });
      // realistic nulls: a few percent in the "unknown" fields, none in the ids
      const unknown = nulls.get("passenger_count") ?? 0;
      assert.ok(unknown > rows * 0.02 && unknown < rows * 0.1, `passenger_count nulls ${unknown}`);
      assert.equal(nulls.get("store_and_fwd_flag"), unknown);
      assert.equal(nulls.get("PULocationID") ?? 0, 0);
      if (kind === "green") assert.equal(nulls.get("ehail_fee"), rows);
      // a few pickups from the previous month, as in the real files
      const pick = info.columns.findIndex((c) => c.name.endsWith("pickup_datetime"));
      const early = cols[pick].filter((v) => naiveFromMicros(v as number) < "2024-01-01").length;
      assert.ok(early >= 1 && early < 10, `early pickups ${early}`);
    });
  }

  it("formatTimestamps turns µs into naive text without shifting the zone", async () => {
    const s = fx.file("green", "2024-03", 50);
    const batches = [];
    for await (const b of readParquetBatches(s.path)) batches.push(b);
    const b = batches[0];
    const f = formatTimestamps(b);
    const j = 1;
    const us = Number(taxiColumns("green", "2024-03", 0, 1)[j][0]);
    assert.equal(f.columns[j][0], new Date(us / 1000).toISOString().replace("T", " ").slice(0, 19));
    assert.match(String(f.columns[j][0]), /^2024-0[23]-\d\d \d\d:\d\d:\d\d$/);
  });
});

describe("parquet: bad files fail before anything is read, saying which", () => {
  it("truncated (no footer)", async () => {
    const s = fx.file("yellow", "2024-02", 3000);
    const p = await fx.truncated(s.path);
    await assert.rejects(inspectParquet(p), (e) => isOrchError(e, "ORCH_PARQUET_INVALID") && /truncated/.test(e.message) && e.message.includes(p));
  });
  it("empty file", async () => {
    const p = await fx.empty();
    await assert.rejects(inspectParquet(p), (e) => isOrchError(e, "ORCH_PARQUET_INVALID") && /empty file/.test(e.message));
  });
  it("an HTML error page saved as .parquet", async () => {
    const p = await fx.html();
    await assert.rejects(inspectParquet(p), (e) => isOrchError(e, "ORCH_PARQUET_INVALID") && /HTML/.test(e.message));
  });
  it("a missing file", async () => {
    await assert.rejects(inspectParquet(join(fx.dir, "nope.parquet")), (e) => isOrchError(e, "ORCH_PARQUET_INVALID") && /cannot read/.test(e.message));
  });
});

describe("parquet: the real TLC green months", { skip: HAVE_REAL_TLC ? false : `no ${REAL_TLC_DIR}` }, () => {
  const facts = [
    { month: "2024-01", rows: 56_551, inMonth: 56_549, sum: 1_266_922.59, nulls: 3_415, tripTypeNulls: 3_418, vendors: [7_338, 49_213], first: "2023-12-31 14:38:47", last: "2024-01-31 23:57:29" },
    { month: "2023-12", rows: 64_215, inMonth: 64_211, sum: 1_557_922.15, nulls: 4_912, tripTypeNulls: 4_914, vendors: [8_577, 55_638], first: "2023-11-24 21:03:34", last: "2023-12-31 23:59:19" },
  ];
  for (const f of facts) {
    it(`green ${f.month}: ${f.rows} rows, sums, nulls and pickups as SOURCES.md says`, async () => {
      const { info, cols } = await decodeAll(join(REAL_TLC_DIR, `green_tripdata_${f.month}.parquet`), 20_000);
      assert.equal(info.rows, f.rows);
      const col = (n: string) => cols[info.columns.findIndex((c) => c.name === n)];
      assert.equal(info.columns.find((c) => c.name === "lpep_pickup_datetime")?.type, "timestamp");
      assert.equal(info.columns.find((c) => c.name === "RatecodeID")?.type, "bigint");
      const sum = col("total_amount").reduce((a: number, v) => a + (v as number), 0);
      assert.equal(Math.round(sum * 100) / 100, f.sum);
      for (const n of ["store_and_fwd_flag", "RatecodeID", "passenger_count", "payment_type", "congestion_surcharge"]) {
        assert.equal(col(n).filter((v) => v === null).length, f.nulls, n);
      }
      assert.equal(col("trip_type").filter((v) => v === null).length, f.tripTypeNulls);
      assert.equal(col("ehail_fee").filter((v) => v === null).length, f.rows);
      assert.equal(typeof col("RatecodeID").find((v) => v !== null), "number");
      const pickups = col("lpep_pickup_datetime").map((v) => naiveFromMicros(v as number)).sort();
      assert.equal(pickups[0], f.first);
      assert.equal(pickups.at(-1), f.last);
      assert.equal(pickups.filter((p) => p.startsWith(f.month)).length, f.inMonth);
      const vendor = col("VendorID");
      assert.deepEqual([vendor.filter((v) => v === 1).length, vendor.filter((v) => v === 2).length], f.vendors);
    });
  }
});

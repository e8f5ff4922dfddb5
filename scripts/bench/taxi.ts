// `npm run bench taxi`: the real TLC green months (../shared/data/tlc) through the taxi pipeline's
// steps into PostgreSQL, with per-step times: download over loopback HTTP, the Parquet check, the
// load (decode + COPY into raw_trips' partition), the dbt project through the SQL fallback; and, in
// the same run, `psql \copy` of the same rows from CSV into an empty copy of the table as the baseline.
//
//   node --import tsx scripts/bench/taxi.ts [--runs 2] [--yellow-rows 3000000]
// Each step runs `--runs` times (default 2, the machine may be shared) and keeps the fastest.
// --yellow-rows N also sends a generated N-row yellow month through ingest_taxi_month (in a child
// process, for its own peak RSS) against psql \copy of the same rows (file cached in $TMPDIR).
// PostgreSQL: ORCH_BENCH_DATABASE_URL (default postgres://postgres:postgres@127.0.0.1:5432/postgres);
// a scratch database is created and dropped.
import { execFile, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { runDbtFallback } from "../../src/providers/dbt/run.ts";
import { download } from "../../src/providers/download.ts";
import { readParquetBatches } from "../../src/providers/parquet.ts";
import { PostgresHook } from "../../src/providers/postgres.ts";
import { ingestTaxiMonth } from "../../src/providers/taxi.ts";
import { writeTaxiParquet } from "../gen-taxi-parquet.ts";
import { serveData } from "../serve-data.ts";

const ADMIN = process.env.ORCH_BENCH_DATABASE_URL ?? "postgres://postgres:postgres@127.0.0.1:5432/postgres";
const TLC = fileURLToPath(new URL("../../../shared/data/tlc/", import.meta.url));
const PROJECT = fileURLToPath(new URL("../../airflow_home/include/dbt_project/", import.meta.url));
const MONTHS = ["2023-12", "2024-01"];

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : def;
}
const RUNS = Math.max(1, Number(arg("runs", "2")));
const YELLOW_ROWS = Number(arg("yellow-rows", "0"));
const SELF = fileURLToPath(import.meta.url);

const secs = (t0: number) => (performance.now() - t0) / 1000;
const peakRssMB = () => Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync("/proc/self/status", "utf8"))?.[1] ?? 0) / 1024;

function psql(db: string, command: string): number {
  const t0 = performance.now();
  const r = spawnSync("psql", [db, "-v", "ON_ERROR_STOP=1", "-q", "-c", command], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`psql failed: ${r.stderr || r.error?.message}`);
  return secs(t0);
}

/** Child: one ingest_taxi_month of the generated yellow month; prints its times and peak RSS. */
async function yellowChild(baseUrl: string, db: string): Promise<void> {
  const hook = new PostgresHook(db);
  const r = await ingestTaxiMonth(hook, { baseUrl, taxiType: "yellow", month: "2024-01", table: "raw_yellow" });
  await hook.close();
  const total = r.seconds.download + r.seconds.check + r.seconds.load + r.seconds.analyze;
  console.log(JSON.stringify({ rows: r.rows, seconds: total, load: r.seconds.load, peakRssMB: peakRssMB() }));
}

/** The generated yellow month through ingest_taxi_month (best of RUNS child processes) vs psql \copy. */
async function yellow(db: string, tmp: string): Promise<void> {
  const cache = join(tmpdir(), "orch-bench-taxi");
  const file = join(cache, `yellow_tripdata_2024-01.parquet`);
  const stamp = join(cache, `rows-${YELLOW_ROWS}`);
  if (!existsSync(stamp)) {
    spawnSync("mkdir", ["-p", cache]);
    writeTaxiParquet({ kind: "yellow", month: "2024-01", rows: YELLOW_ROWS, path: file });
    spawnSync("sh", ["-c", `rm -f ${cache}/rows-*; touch ${stamp}`]);
  }
  const server = await serveData({ dir: cache });
  try {
    let best = { seconds: Infinity, load: Infinity, peakRssMB: 0, rows: 0 };
    for (let run = 0; run < RUNS; run++) {
      // Not spawnSync: this process serves the file the child downloads.
      const out = await new Promise<string>((resolve, reject) =>
        execFile(process.execPath, ["--import", "tsx", SELF, "--yellow-child", `${server.url}/trip-data`, db], { maxBuffer: 1 << 20 }, (err, stdout, stderr) =>
          err ? reject(new Error(`yellow child failed: ${stderr}`)) : resolve(stdout),
        ),
      );
      const r = JSON.parse(out.trim().split("\n").at(-1)!) as typeof best;
      best = { seconds: Math.min(best.seconds, r.seconds), load: Math.min(best.load, r.load), peakRssMB: Math.max(best.peakRssMB, r.peakRssMB), rows: r.rows };
    }
    const csv = join(tmp, "yellow.csv");
    psql(db, `\\copy (SELECT * FROM raw_yellow WHERE source_month = '2024-01') TO '${csv}' WITH (FORMAT csv)`);
    let ref = Infinity;
    for (let run = 0; run < RUNS; run++) {
      psql(db, `DROP TABLE IF EXISTS ref_yellow; CREATE TABLE ref_yellow (LIKE raw_yellow)`);
      ref = Math.min(ref, psql(db, `\\copy ref_yellow FROM '${csv}' WITH (FORMAT csv)`));
    }
    const ratio = ref / best.seconds;
    console.log(`\ngenerated yellow month, ${best.rows.toLocaleString("en-US")} rows, through ingest_taxi_month (download + check + load + analyze; a reload of the partition):`);
    console.log(`  orch ${best.seconds.toFixed(2)} s (load ${best.load.toFixed(2)} s), psql \\copy of the same rows from CSV ${ref.toFixed(2)} s`);
    console.log(`  orch / psql speed = ${ratio.toFixed(2)} (goal >= 0.5: ${ratio >= 0.5 ? "met" : "NOT met"}); peak RSS ${best.peakRssMB.toFixed(0)} MB (goal <= 500: ${best.peakRssMB <= 500 ? "met" : "NOT met"})`);
  } finally {
    await server.close();
  }
}

async function main(): Promise<void> {
  const child = process.argv.indexOf("--yellow-child");
  if (child >= 0) return yellowChild(process.argv[child + 1]!, process.argv[child + 2]!);
  if (!existsSync(join(TLC, "green_tripdata_2024-01.parquet"))) {
    console.error(`the real TLC green months are not at ${TLC}; this benchmark needs them`);
    process.exit(2);
  }
  const name = `orch_bench_taxi_${randomBytes(4).toString("hex")}`;
  const admin = new pg.Client({ connectionString: ADMIN });
  await admin.connect();
  await admin.query(`CREATE DATABASE "${name}"`);
  const u = new URL(ADMIN);
  u.pathname = `/${name}`;
  const db = u.toString();
  const server = await serveData({ dir: TLC });
  const tmp = await mkdtemp(join(tmpdir(), "orch-bench-taxi-"));
  const hook = new PostgresHook(db);
  const baseUrl = `${server.url}/trip-data`;
  try {
    const rows: string[][] = [];
    for (const month of MONTHS) {
      const best = { download: Infinity, check: Infinity, load: Infinity, analyze: Infinity, decode: Infinity, transform: Infinity, psql: Infinity };
      let n = 0;
      for (let run = 0; run < RUNS; run++) {
        // The DAG's steps: ingest_taxi_month (download, check, load), then dbt_run's fallback.
        const r = await ingestTaxiMonth(hook, { baseUrl, taxiType: "green", month });
        n = r.rows;
        best.download = Math.min(best.download, r.seconds.download);
        best.check = Math.min(best.check, r.seconds.check);
        best.load = Math.min(best.load, r.seconds.load);
        best.analyze = Math.min(best.analyze, r.seconds.analyze);
        const t0 = performance.now();
        await runDbtFallback(hook, { projectDir: PROJECT, vars: { month: `${month}-01`, taxi_type: "green" } });
        best.transform = Math.min(best.transform, secs(t0));
      }
      // Decode alone (every value touched), from a local copy: part of the load above.
      const file = join(tmp, `green_${month}.parquet`);
      await download(`${baseUrl}/green_tripdata_${month}.parquet`, file);
      for (let run = 0; run < RUNS; run++) {
        const t0 = performance.now();
        let touched = 0;
        for await (const b of readParquetBatches(file, { reuseBuffers: true })) {
          for (const c of b.flat ?? []) for (let i = 0; i < b.numRows; i++) if (!(c.nulls && c.nulls[i])) touched++;
        }
        if (touched === 0) throw new Error("decoded nothing");
        best.decode = Math.min(best.decode, secs(t0));
      }
      // Baseline: psql \copy of the same rows (raw_trips' month, as CSV) into an empty copy of the table.
      const csv = join(tmp, `green_${month}.csv`);
      psql(db, `\\copy (SELECT * FROM raw_trips WHERE source_month = '${month}') TO '${csv}' WITH (FORMAT csv)`);
      for (let run = 0; run < RUNS; run++) {
        psql(db, `DROP TABLE IF EXISTS ref_copy; CREATE TABLE ref_copy (LIKE raw_trips)`);
        best.psql = Math.min(best.psql, psql(db, `\\copy ref_copy FROM '${csv}' WITH (FORMAT csv)`));
      }
      const [{ c }] = (await hook.getRecords<{ c: string }>(`SELECT count(*) AS c FROM ref_copy`)) as [{ c: string }];
      if (Number(c) !== n) throw new Error(`psql \\copy loaded ${c} rows, expected ${n}`);
      const e2e = best.download + best.check + best.load + best.analyze + best.transform;
      rows.push([
        month,
        n.toLocaleString("en-US"),
        best.download.toFixed(3),
        best.check.toFixed(3),
        best.decode.toFixed(3),
        best.load.toFixed(3),
        best.analyze.toFixed(3),
        best.transform.toFixed(3),
        e2e.toFixed(3),
        best.psql.toFixed(3),
        (best.psql / best.load).toFixed(2),
      ]);
    }
    const head = ["month", "rows", "download s", "check s", "(decode s)", "load s", "analyze s", "transform s", "end to end s", "psql \\copy s", "psql/load"];
    const widths = head.map((h, j) => Math.max(h.length, ...rows.map((r) => r[j]!.length)));
    const line = (r: string[]) => r.map((v, j) => v.padStart(widths[j]!)).join("  ");
    console.log(`taxi pipeline steps, real TLC green months, PostgreSQL ${(await hook.getRecords<{ v: string }>("SELECT current_setting('server_version') AS v"))[0]!.v}, best of ${RUNS}`);
    console.log(line(head));
    for (const r of rows) console.log(line(r));
    console.log(`\nload = loadPartition from the downloaded file (decode + COPY BINARY into raw_trips' partition, one transaction);`);
    console.log(`(decode) = the same file decoded alone, part of load; transform = the dbt project through the SQL fallback`);
    console.log(`(seed, stg_trips view, dim_zones table, fct_trips incremental month, 13 tests); analyze = ANALYZE raw_trips after the load;`);
    console.log(`end to end = download + check + load + analyze + transform.`);
    console.log(`psql/load = psql \\copy time of the same rows from CSV / orch's load time (>= 1 means orch's load is as fast or faster).`);
    const worst = rows.reduce((m, r) => Math.max(m, Number(r[8])), 0);
    const worstLoad = rows.reduce((m, r) => Math.max(m, Number(r[5])), 0);
    console.log(`goals: end to end <= 2 s: ${worst <= 2 ? "met" : "NOT met"} (${worst.toFixed(2)} s); load <= 0.5 s: ${worstLoad <= 0.5 ? "met" : "NOT met"} (${worstLoad.toFixed(2)} s); peak RSS ${peakRssMB().toFixed(0)} MB`);
    if (YELLOW_ROWS > 0) await yellow(db, tmp);
  } finally {
    await hook.close();
    await server.close();
    await rm(tmp, { recursive: true, force: true });
    await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    await admin.end();
  }
}

main().catch((e: Error) => {
  console.error(e.stack ?? e.message);
  process.exit(1);
});

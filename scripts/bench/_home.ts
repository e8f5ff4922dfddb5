// The home a benchmark runs in: a temp ORCH_HOME holding one DAG file, its store on SQLite (the
// home's orch.db) or on a fresh PostgreSQL database, migrated and with the DAGs processed; all of
// it removed afterwards. Shared by the scheduler and backfill benchmarks (the leading _ keeps index.ts from
// running it as one).
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { createDagProcessor } from "../../src/dag-processing/processor.ts";
import type { WorkerEntry } from "../../src/executor/worker-process.ts";
import { loadConfig } from "../../src/config.ts";
import { migrate, openStore, storeOptions, type Store } from "../../src/store/index.ts";

export type BenchDialect = "sqlite" | "postgres";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
let built: WorkerEntry | undefined;

/**
 * The worker users run: dist/worker.mjs, built from the current sources first (node
 * build.config.mjs, under a second). A benchmark runs the scheduler from source, and orch run from
 * source spawns its workers from source too, through tsx: each worker then paid tsx's loader (its
 * hooks thread, TypeScript transforms) on top of its own work, 0.5 s of CPU to start instead of
 * 0.2-0.35 s, and the SQLite chain of 1,000 measured 419 TI/s where the shipped worker gives 649.
 */
export function shippedWorker(): WorkerEntry {
  if (!built) {
    execFileSync(process.execPath, [join(ROOT, "build.config.mjs")], { cwd: ROOT, stdio: "ignore" });
    built = { entry: join(ROOT, "dist", "worker.mjs"), execArgv: [] };
  }
  return built;
}

export const ADMIN_URL = process.env.ORCH_TEST_DATABASE_URL ?? "postgres://postgres:postgres@127.0.0.1:5432/postgres";

async function admin(sql: string): Promise<void> {
  const c = new pg.Client({ connectionString: ADMIN_URL });
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}

/**
 * Runs `fn` with a store on `dialect` whose DAGs (`dags`, written to dags/bench.ts) are processed.
 * `name` labels the temp folder (orch-bench-NAME-) and the PostgreSQL database (orch_bench_NAME_PID).
 */
export async function withBenchHome<T>(
  dialect: BenchDialect,
  opts: { name: string; dags: string },
  fn: (store: Store, home: string, url: string) => Promise<T>,
): Promise<T> {
  const home = mkdtempSync(join(tmpdir(), `orch-bench-${opts.name}-`));
  mkdirSync(join(home, "dags"));
  writeFileSync(join(home, "dags", "bench.ts"), opts.dags);
  let url = `sqlite:///${join(home, "orch.db")}`;
  let drop = async () => {};
  if (dialect === "postgres") {
    const db = `orch_bench_${opts.name.replace(/\W/g, "_")}_${process.pid}`;
    await admin(`DROP DATABASE IF EXISTS "${db}"`);
    await admin(`CREATE DATABASE "${db}"`);
    const u = new URL(ADMIN_URL);
    u.pathname = `/${db}`;
    url = u.toString();
    drop = () => admin(`DROP DATABASE IF EXISTS "${db}" WITH (FORCE)`);
  }
  // As orch opens it: [database] settings from the environment (ORCH__DATABASE__PREPARED_STATEMENTS=false
  // for an A/B of named statements).
  const store = await openStore(url, storeOptions(loadConfig({ ...process.env, ORCH_HOME: home })));
  try {
    await migrate(store);
    const processor = createDagProcessor({ store, dagsFolder: join(home, "dags"), home, importTimeoutSeconds: 60 });
    await processor.processAll();
    await processor.stop();
    return await fn(store, home, url);
  } finally {
    await store.close();
    await drop();
    rmSync(home, { recursive: true, force: true });
  }
}

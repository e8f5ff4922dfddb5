// DAG parsing: 200 generated DAG files of 20 tasks each in a temp home, on SQLite.
// Reports the cold pass (empty compile cache, empty store), a warm rescan with nothing changed,
// and the time from one file's save to its new version in the store (processor started, fs.watch).
// Baseline, measured in the same run: a fresh import process per file (what a naive processor,
// or Airflow's process-per-file parsing, pays), on a sample of files.
// Goals (2 cores): cold <= 3000 ms for all 200, warm <= 200 ms, one change <= 500 ms.
import { mkdtemp, rm, writeFile, mkdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createDagProcessor } from "../../src/dag-processing/processor.ts";
import { compileDagFile } from "../../src/dag-processing/load.ts";
import { createImportPool } from "../../src/dag-processing/pool.ts";
import { getSerializedDag } from "../../src/store/dags.ts";
import { migrate, openStore } from "../../src/store/index.ts";

const FILES = 200;
const TASKS = 20;
const BASELINE_SAMPLE = 10;
const CHANGES = 5;

function dagFile(i: number, tag = "bench"): string {
  const lines = [`import { dag, task, bash, empty, chain } from "orch";`, ``];
  lines.push(`export default dag({ dag_id: "bench_${i}", schedule: "@daily", start_date: "2024-01-01", tags: ["${tag}"], default_args: { retries: 1 } }, () => {`);
  lines.push(`  const first = task({ task_id: "t0" }, async (ctx) => ctx.ds);`);
  lines.push(`  let prev = first();`);
  for (let t = 1; t < TASKS - 2; t++) {
    lines.push(`  prev = task({ task_id: "t${t}" }, async (x: string) => x + "${t}")(prev);`);
  }
  lines.push(`  const b = bash({ task_id: "report", command: "echo {{ ds }}" });`);
  lines.push(`  chain(prev, b, empty({ task_id: "done", trigger_rule: "all_done" }));`);
  lines.push(`});`, ``);
  return lines.join("\n");
}

const home = await mkdtemp(join(tmpdir(), "orch-bench-parse-"));
const dags = join(home, "dags");
await mkdir(dags);
for (let i = 0; i < FILES; i++) await writeFile(join(dags, `dag_${String(i).padStart(3, "0")}.ts`), dagFile(i));
const store = await openStore(`sqlite:///${join(home, "orch.db")}`);
await migrate(store);

// Baseline: a new import process for each file (compile cached first, so only spawn + import count).
const sample = Array.from({ length: BASELINE_SAMPLE }, (_, i) => join(dags, `dag_${String(i).padStart(3, "0")}.ts`));
const baselineCache = join(home, ".cache-baseline");
const tb = performance.now();
for (const f of sample) {
  const { compiledPath } = await compileDagFile(f, { cacheDir: baselineCache });
  const pool = createImportPool({ size: 1, timeoutMs: 30_000, cwd: home });
  const r = await pool.run({ compiledPath, fileloc: f, relative_fileloc: f });
  if (r.problems.length) throw new Error(`baseline import failed: ${r.problems[0].message}`);
  await pool.close();
}
const baselinePerFile = (performance.now() - tb) / BASELINE_SAMPLE;

let onChange: ((ids: string[]) => void) | undefined;
const processor = createDagProcessor({ store, dagsFolder: dags, home, importTimeoutSeconds: 30, onDagsChanged: (ids) => onChange?.(ids) });

const t0 = performance.now();
const cold = await processor.processAll();
const coldMs = performance.now() - t0;
if (cold.importErrors) throw new Error(`${cold.importErrors} import errors in generated files`);

const warmRuns: number[] = [];
for (let i = 0; i < 5; i++) {
  const t = performance.now();
  const r = await processor.processAll();
  warmRuns.push(performance.now() - t);
  if (r.parsed !== 0) throw new Error("warm rescan re-parsed files");
}
const warmMs = warmRuns.sort((a, b) => a - b)[2];

processor.start();
const changeRuns: number[] = [];
for (let c = 0; c < CHANGES; c++) {
  const i = 17 + c;
  const tag = `changed_${c}`;
  const seen = new Promise<void>((resolve) => {
    onChange = (ids) => {
      if (ids.includes(`bench_${i}`)) resolve();
    };
  });
  const t = performance.now();
  await writeFile(join(dags, `dag_${String(i).padStart(3, "0")}.ts`), dagFile(i, tag));
  await seen;
  const elapsed = performance.now() - t;
  const stored = await getSerializedDag(store.db, `bench_${i}`);
  if (!stored?.tags.includes(tag)) throw new Error("change not in the store");
  changeRuns.push(elapsed);
}
const changeMs = changeRuns.sort((a, b) => a - b)[Math.floor(CHANGES / 2)];
await processor.stop();
await store.close();
await rm(home, { recursive: true, force: true });

const rssMb = process.resourceUsage().maxRSS / 1024;
const row = (name: string, ms: number, goal: number | null, perFile?: number) =>
  console.log(
    `${name.padEnd(44)} ${ms.toFixed(0).padStart(7)} ms${perFile === undefined ? "" : `  (${perFile.toFixed(2)} ms/file, ${(perFile / baselinePerFile).toFixed(3)}x baseline)`}${goal === null ? "" : `  goal <= ${goal} ms: ${ms <= goal ? "met" : "MISSED"}`}`,
  );
console.log(`${FILES} files x ${TASKS} tasks, SQLite`);
row(`baseline: fresh import process per file (${BASELINE_SAMPLE})`, baselinePerFile * BASELINE_SAMPLE, null, baselinePerFile);
row("cold pass (compile + import + store)", coldMs, 3000, coldMs / FILES);
row("warm rescan, nothing changed (median of 5)", warmMs, 200, warmMs / FILES);
row(`one file saved -> in store (median of ${CHANGES})`, changeMs, 500);
console.log(`peak RSS of the processor process: ${rssMb.toFixed(0)} MB (import children not included)`);

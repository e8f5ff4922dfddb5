// Dynamic task mapping: a DAG mapping 1,000 no-op elements (over an upstream's output) then
// reducing them, against the same 1,000 tasks written out statically (start -> 1,000 -> reduce),
// measured in the same run, through the real scheduler, executor and worker processes on SQLite,
// with one worker and with four (-p 4). Reports TI/s, the time from the upstream's end to the first
// mapped (or static middle) instance starting, and the mapped/static ratio. Goal: within 20%.
//
//   npm run bench mapping            ORCH_BENCH_MAPPING_N=200 for a quicker look
//   ORCH_BENCH_STATEMENTS=1          after each scenario, its costliest statements (count, total ms)
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "../../src/config.ts";
import { createDagProcessor } from "../../src/dag-processing/processor.ts";
import { createLocalExecutor } from "../../src/executor/local-executor.ts";
import { toSchedulable } from "../../src/scheduler/dag-bag.ts";
import { triggerDagRun } from "../../src/scheduler/run-creation.ts";
import { createScheduler } from "../../src/scheduler/scheduler.ts";
import type { SerializedDag } from "../../src/serialization/serialized-dag.ts";
import { migrate, openStore, type Store } from "../../src/store/index.ts";
import { shippedWorker } from "./_home.ts";

const N = Number(process.env.ORCH_BENCH_MAPPING_N ?? 1000);

const DAGS = `import { dag, task, chain } from "orch";
export const mapped = dag({ dag_id: "mapped", schedule: null, start_date: "2024-01-01", max_active_tasks: 64 }, () => {
  const start = task({ task_id: "start" }, async () => Array.from({ length: ${N} }, (_, i) => i))();
  const noop = task({ task_id: "noop" }, async ({ x }: { x: number }) => undefined);
  const reduce = task({ task_id: "reduce" }, async (xs: unknown[]) => xs.length);
  reduce(noop.expand({ x: start }));
});
export const written = dag({ dag_id: "written", schedule: null, start_date: "2024-01-01", max_active_tasks: 64 }, () => {
  const start = task({ task_id: "start" }, async () => undefined)();
  const mid = Array.from({ length: ${N} }, (_, i) => task({ task_id: "m" + i }, async () => undefined)());
  const reduce = task({ task_id: "reduce" }, async () => undefined)();
  chain(start, mid, reduce);
});
`;

async function scenario(store: Store, home: string, dagId: string, parallelism: number, at: number) {
  const config = loadConfig({ ...process.env, ORCH_HOME: home });
  const row = await store.db.selectFrom("serialized_dag").selectAll().where("dag_id", "=", dagId).executeTakeFirstOrThrow();
  const d = toSchedulable(JSON.parse(row.data) as SerializedDag, row.dag_hash, row.fileloc);
  const run = await triggerDagRun(store, d, { logicalDate: new Date(Date.UTC(2024, 0, 1) + at * 60_000), triggeredBy: "bench" });
  const executor = createLocalExecutor({ parallelism, worker: shippedWorker() });
  let done!: () => void;
  const finished = new Promise<void>((r) => (done = r));
  let state = "";
  const scheduler = createScheduler({ store, config, executor, onlyRunIds: new Set([run.id]), log: () => {}, onRunFinished: (r) => ((state = r.state), done()) });
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const statements0 = store.stats.statements;
  if (process.env.ORCH_BENCH_STATEMENTS) store.stats.durations = new Map();
  await scheduler.start();
  await finished;
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const statements = store.stats.statements - statements0;
  await scheduler.stop();
  if (store.stats.durations) {
    const hot = [...store.stats.durations].map(([q, t]) => ({ q, n: t.length, total: t.reduce((a, b) => a + b, 0) })).sort((a, b) => b.total - a.total).slice(0, 8);
    for (const h of hot) console.log(`    ${String(h.n).padStart(6)} ${h.total.toFixed(0).padStart(6)} ms  ${h.q.replace(/\s+/g, " ").slice(0, 110)}`);
    store.stats.durations = undefined;
  }
  const tis = await store.db.selectFrom("task_instance").select(["task_id", "state", "start_date", "end_date"]).where("dag_id", "=", dagId).where("run_id", "=", run.run_id).execute();
  const ok = tis.filter((t) => t.state === "success");
  const start = tis.find((t) => t.task_id === "start")!;
  const firstMid = Math.min(...tis.filter((t) => t.task_id !== "start" && t.task_id !== "reduce" && t.start_date).map((t) => Date.parse(t.start_date!)));
  return {
    state,
    tis: ok.length,
    seconds,
    tiPerSecond: ok.length / seconds,
    handoffMs: firstMid - Date.parse(start.end_date!),
    statementsPerTi: statements / ok.length,
    cpuMsPerTi: (cpu.user + cpu.system) / 1000 / ok.length,
  };
}

async function main() {
  const home = mkdtempSync(join(tmpdir(), "orch-bench-mapping-"));
  mkdirSync(join(home, "dags"));
  writeFileSync(join(home, "dags", "bench.ts"), DAGS);
  const store = await openStore(`sqlite:///${join(home, "orch.db")}`);
  try {
    await migrate(store);
    const processor = createDagProcessor({ store, dagsFolder: join(home, "dags"), home, importTimeoutSeconds: 120 });
    await processor.processAll();
    await processor.stop();
    console.log(`${N} mapped no-op instances + reduce vs the same ${N} tasks written out (SQLite)`);
    let at = 0;
    for (const p of [1, 4]) {
      // Alternated, so load from other processes on the machine falls on both alike.
      const w = await scenario(store, home, "written", p, at++);
      const m = await scenario(store, home, "mapped", p, at++);
      for (const [name, r] of [["written", w], ["mapped", m]] as const) {
        if (r.state !== "success") throw new Error(`${name} -p ${p} ended ${r.state}`);
        console.log(
          `  -p ${p} ${name.padEnd(8)} ${r.tis} TIs in ${r.seconds.toFixed(1)} s: ${r.tiPerSecond.toFixed(1)} TI/s; upstream end -> first instance start ${r.handoffMs} ms; ` +
            `${r.statementsPerTi.toFixed(1)} statements and ${r.cpuMsPerTi.toFixed(2)} ms scheduler CPU per TI`,
        );
      }
      console.log(`  -p ${p} ratio mapped/written TI/s: ${(m.tiPerSecond / w.tiPerSecond).toFixed(2)} (goal >= 0.80)`);
    }
  } finally {
    await store.close();
    rmSync(home, { recursive: true, force: true });
  }
}

await main();

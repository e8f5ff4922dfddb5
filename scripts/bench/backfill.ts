// Backfill benchmark, on SQLite and PostgreSQL:
//  1. a 36-month backfill of a 5-task DAG whose tasks each sleep 50 ms, through the real scheduler
//     and one worker (Airflow's SequentialExecutor). Wall time from scheduler start to the last run's
//     end, against the sum of the tasks' own run times (each task measures its callable and returns
//     the figure as its XCom). Goal: overhead under 15 %.
//  2. `backfill create` of 10 years of a daily DAG (3,650 runs with their task instances): the time
//     createBackfill takes. Goal: <= 2 s.
//  3. the first 100 runs of that backfill (a 1-task DAG), with the other 3,550 waiting: what a
//     scheduler step costs with many queued runs (no goal; it should not depend on how many wait).
//
// Next to the wall clock, figures the machine's load does not move: statements and write
// transactions (each a commit: on PostgreSQL an fsync of the WAL) per task, and the scheduler
// process's CPU per task.
//
//   npm run bench backfill            ORCH_BENCH_DIALECTS=sqlite for one store
import { loadConfig } from "../../src/config.ts";
import { createLocalExecutor } from "../../src/executor/local-executor.ts";
import { createBackfill } from "../../src/scheduler/backfill.ts";
import { toSchedulable, type SchedulableDag } from "../../src/scheduler/dag-bag.ts";
import { createScheduler } from "../../src/scheduler/scheduler.ts";
import type { SerializedDag } from "../../src/serialization/serialized-dag.ts";
import { getBackfill } from "../../src/store/backfills.ts";
import type { Store } from "../../src/store/index.ts";
import { shippedWorker, withBenchHome } from "./_home.ts";

const DAGS = `import { dag, task, chain } from "orch";
const sleepy = (id: string) =>
  task({ task_id: id }, async () => {
    const t0 = performance.now();
    await new Promise((r) => setTimeout(r, 50));
    return performance.now() - t0;
  })();
export const monthly5 = dag({ dag_id: "monthly5", schedule: "@monthly", start_date: "2021-01-01" }, () => {
  chain(...Array.from({ length: 5 }, (_, i) => sleepy("t" + i)));
});
export const daily1 = dag({ dag_id: "daily1", schedule: "@daily", start_date: "2010-01-01" }, () => {
  task({ task_id: "t" }, async () => 1)();
});
`;

async function schedulable(store: Store, dagId: string): Promise<SchedulableDag> {
  const row = await store.db.selectFrom("serialized_dag").selectAll().where("dag_id", "=", dagId).executeTakeFirstOrThrow();
  return toSchedulable(JSON.parse(row.data) as SerializedDag, row.dag_hash, row.fileloc);
}

let typicalOverhead = NaN;
/** Time for the scheduler's warm worker process to be ready (Node and tsx start: ~0.3 s). */
const WORKER_START_MS = 1500;

async function months36(store: Store, home: string) {
  const config = loadConfig({ ...process.env, ORCH_HOME: home });
  const d = await schedulable(store, "monthly5");
  // Paused, so that only the backfill runs (a backfill runs on a paused DAG, as in Airflow 3).
  await store.db.updateTable("dag").set({ is_paused: 1 }).execute();
  const executor = createLocalExecutor({ parallelism: 1, worker: shippedWorker() });
  let left = 36;
  let done!: () => void;
  const finished = new Promise<void>((r) => (done = r));
  const counted = counting(store);
  const scheduler = createScheduler({ store: counted.store, config, executor, log: () => {}, onRunFinished: () => --left === 0 && done() });
  // The scheduler is up and idle, its worker started, when the backfill is created (as under
  // `orch standalone`, where `orch backfill create` notifies it); the first task still pays for
  // importing the DAG file in the worker.
  await scheduler.start();
  await scheduler.idle();
  await new Promise((r) => setTimeout(r, WORKER_START_MS));
  const b = await createBackfill(store, d, { fromDate: new Date("2021-01-01T00:00:00Z"), toDate: new Date("2023-12-01T00:00:00Z") });
  if (b.created !== 36) throw new Error(`expected 36 runs, got ${b.created}`);
  const t0 = performance.now();
  const wall0 = Date.now();
  counted.start();
  scheduler.nudge();
  await finished;
  // Done when the scheduler has marked the backfill complete (the step after the last run ends).
  while (!(await getBackfill(store.db, b.backfill.id))?.completed_at) await new Promise((r) => setTimeout(r, 5));
  const wallMs = performance.now() - t0;
  const work = counted.read();
  await scheduler.stop();
  const xcoms = await store.db.selectFrom("xcom").select(["run_id", "task_id", "value"]).where("dag_id", "=", "monthly5").where("key", "=", "return_value").execute();
  const ownMs = xcoms.reduce((s, x) => s + Number(JSON.parse(x.value)), 0);
  // Where the overhead goes: before the first task starts; between one task's end and the next
  // one's start (the scheduler); inside a try beyond the callable (worker hand-off, log, outcome).
  const own = new Map(xcoms.map((x) => [`${x.run_id}/${x.task_id}`, Number(JSON.parse(x.value))]));
  const tis = await store.db.selectFrom("task_instance").select(["run_id", "task_id", "start_date", "end_date", "duration"]).where("dag_id", "=", "monthly5").orderBy("start_date").execute();
  const startupMs = Date.parse(tis[0]!.start_date!) - wall0;
  const endMs = wall0 + wallMs - Math.max(...tis.map((t) => Date.parse(t.end_date!)));
  const gaps = tis.slice(1).map((t, i) => Date.parse(t.start_date!) - Date.parse(tis[i]!.end_date!));
  // From the row's start_date (stamped as the try starts, in the transaction that starts it) to
  // its end_date: the column `duration` starts later, at the runner's own clock after the commit.
  const inside = tis.map((t) => Date.parse(t.end_date!) - Date.parse(t.start_date!) - own.get(`${t.run_id}/${t.task_id}`)!);
  const median = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)]!;
  // The same at the medians: what a typical task costs, which a loaded machine's outliers do not move.
  typicalOverhead = ((median(gaps) + median(inside)) * tis.length) / ownMs;
  console.log(`  startup ${startupMs} ms; the last task's end to the backfill's completion ${endMs.toFixed(0)} ms; between tasks: median ${median(gaps).toFixed(1)} ms, total ${(gaps.reduce((a, b) => a + b, 0) / 1000).toFixed(2)} s; in a try beyond the callable: median ${median(inside).toFixed(1)} ms, total ${(inside.reduce((a, b) => a + b, 0) / 1000).toFixed(2)} s`);
  // The run level: between a run's last task and the next task (its run ends; with 10 runs active
  // the next task is another run's, and a queued run starts meanwhile) against between two tasks.
  const afterLast = gaps.filter((_, i) => tis[i]!.task_id === "t4");
  const afterOther = gaps.filter((_, i) => tis[i]!.task_id !== "t4");
  const total = (a: number[]) => (a.reduce((x, y) => x + y, 0) / 1000).toFixed(2);
  console.log(`  between tasks, after a run's last task: median ${median(afterLast).toFixed(1)} ms, total ${total(afterLast)} s (${afterLast.length}); after any other: median ${median(afterOther).toFixed(1)} ms, total ${total(afterOther)} s (${afterOther.length})`);
  const failed = await store.db.selectFrom("dag_run").select("run_id").where("dag_id", "=", "monthly5").where("state", "!=", "success").execute();
  return { wallMs, ownMs, tasks: xcoms.length, failed: failed.length, work };
}

/** The store with its write transactions counted, and the statements and CPU from start() to read(). */
function counting(store: Store) {
  let writes = 0;
  let statements = 0;
  let cpu = process.cpuUsage();
  const counted: Store = Object.create(store) as Store;
  counted.writeTransaction = (fn) => {
    writes++;
    return store.writeTransaction(fn);
  };
  return {
    store: counted,
    start() {
      writes = 0;
      statements = store.stats.statements;
      cpu = process.cpuUsage();
    },
    read() {
      const c = process.cpuUsage(cpu);
      return { writes, statements: store.stats.statements - statements, cpuMs: (c.user + c.system) / 1000 };
    },
  };
}

/** The first `n` runs of the 3,650-run backfill of daily1 (created by create3650), the rest queued. */
async function first100(store: Store, home: string, n = 100) {
  const config = loadConfig({ ...process.env, ORCH_HOME: home });
  const executor = createLocalExecutor({ parallelism: 1, worker: shippedWorker() });
  let left = n;
  let done!: () => void;
  const finished = new Promise<void>((r) => (done = r));
  const counted = counting(store);
  const scheduler = createScheduler({ store: counted.store, config, executor, log: () => {}, onRunFinished: (r) => r.dag_id === "daily1" && --left === 0 && done() });
  const t0 = performance.now();
  counted.start();
  await scheduler.start();
  await finished;
  const wallMs = performance.now() - t0;
  const work = counted.read();
  await scheduler.stop();
  return { msPerRun: wallMs / n, statementsPerRun: work.statements / n, writesPerRun: work.writes / n, cpuMsPerRun: work.cpuMs / n };
}

async function create3650(store: Store) {
  const d = await schedulable(store, "daily1");
  const t0 = performance.now();
  const b = await createBackfill(store, d, { fromDate: new Date("2010-01-01T00:00:00Z"), toDate: new Date("2019-12-29T00:00:00Z") });
  return { ms: performance.now() - t0, runs: b.created };
}

const rows: string[][] = [];
for (const dialect of (process.env.ORCH_BENCH_DIALECTS ?? "sqlite,postgres").split(",") as ("sqlite" | "postgres")[]) {
  try {
    await withBenchHome(dialect, { name: "backfill", dags: DAGS }, async (store, home) => {
      const m = await months36(store, home);
      const c = await create3650(store);
      const f = await first100(store, home);
      const overhead = (m.wallMs / m.ownMs - 1) * 100;
      const per = (x: number) => (x / m.tasks).toFixed(1);
      rows.push([
        dialect,
        String(m.tasks),
        (m.wallMs / 1000).toFixed(2),
        (m.ownMs / 1000).toFixed(2),
        `${overhead.toFixed(1)} %`,
        `${(typicalOverhead * 100).toFixed(1)} %`,
        `${m.failed}`,
        per(m.work.writes),
        per(m.work.statements),
        per(m.work.cpuMs),
        String(c.runs),
        (c.ms / 1000).toFixed(2),
        f.msPerRun.toFixed(1),
        f.statementsPerRun.toFixed(1),
        f.cpuMsPerRun.toFixed(1),
      ]);
      console.log(`${dialect}: 36 months in ${(m.wallMs / 1000).toFixed(2)} s (tasks' own ${(m.ownMs / 1000).toFixed(2)} s, overhead ${overhead.toFixed(1)} %); per task ${per(m.work.writes)} commits, ${per(m.work.statements)} statements, ${per(m.work.cpuMs)} ms scheduler CPU; create 3,650 runs: ${(c.ms / 1000).toFixed(2)} s; its first 100 runs: ${f.msPerRun.toFixed(1)} ms, ${f.statementsPerRun.toFixed(1)} statements, ${f.writesPerRun.toFixed(1)} commits, ${f.cpuMsPerRun.toFixed(1)} ms CPU a run`);
    });
  } catch (e) {
    console.log(`${dialect}: skipped (${(e as Error).message})`);
  }
}
const header = ["store", "tasks run", "wall s", "tasks' own s", "overhead", "at the medians", "runs not success", "commits/task", "statements/task", "CPU ms/task", "create: runs", "create: s", "next 100: ms/run", "statements/run", "CPU ms/run"];
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
console.log("\n" + header.map((h, i) => h.padEnd(widths[i]!)).join(" | "));
console.log(widths.map((w) => "-".repeat(w)).join("-|-"));
for (const r of rows) console.log(r.map((c, i) => c.padEnd(widths[i]!)).join(" | "));
console.log("\ngoals: overhead < 15 % (36 months x 5 tasks x 50 ms, one worker); backfill create of 3,650 daily runs <= 2 s");

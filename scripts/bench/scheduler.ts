// Scheduler throughput: 1,000 no-op TaskFlow tasks as a chain and as one fan-out/fan-in, and 100
// runs of a 10-task DAG, on SQLite and PostgreSQL, through the real scheduler, executor and
// worker processes. On PostgreSQL also two schedulers racing for the same runs: TI/s, and the
// highest concurrency seen of a DAG with max_active_tasks: 1 (which must be 1). Reports task instances per second, the hand-off time from one task's end to
// its successor's start (median, p95), peak RSS, and CPU while idle for 30 s afterwards.
//
// Also statements and scheduler CPU per task instance (they depend less on the machine's load),
// the whole machine's CPU per task instance and how busy its CPUs were during each scenario (from
// /proc/stat: workers, PostgreSQL and the kernel included), and 100 runs x 10 tasks with 4 workers. "scheduler alone" runs the chain with an executor that
// ends each try at once in this process (no worker process): the scheduler's own share of a hop.
// "kill" SIGKILLs a real `orch scheduler` process in the middle of the chain and starts a fresh
// one: how soon the chain goes on, and that no task whose success was committed runs again.
// Workers (and the killed scheduler) run from dist/, as users run them, built first from the
// current sources; the scheduler under measurement runs in this process, from source.
//
// Baselines, measured in the same run: a fresh Node process per task instance (Airflow's model of a
// process per task try), i.e. what reusing worker processes buys; on PostgreSQL, graphile-worker
// running the same chain on the same server (the ratio orch/graphile-worker is printed).
//
//   npm run bench scheduler                  ORCH_BENCH_IDLE_S=5 for a shorter idle window
//   ORCH_BENCH_DIALECTS=sqlite ORCH_BENCH_SCENARIOS=chain,fan   a subset
//   ORCH_BENCH_KEEP_MARKS=/tmp/marks   keeps each one-worker scenario's task marks ("start end" per
//                                      task) as /tmp/marks-DAG_ID.txt, to read the hand-offs' spread
//   ORCH_BENCH_STATEMENTS=1            after each scenario, its statements run once per task instance
//                                      or more: count, median and total ms as Kysely timed them
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "../../src/config.ts";
import { createDagProcessor } from "../../src/dag-processing/processor.ts";
import { createLocalExecutor, type Executor } from "../../src/executor/local-executor.ts";
import { toSchedulable } from "../../src/scheduler/dag-bag.ts";
import { triggerDagRun } from "../../src/scheduler/run-creation.ts";
import { createScheduler } from "../../src/scheduler/scheduler.ts";
import type { SerializedDag } from "../../src/serialization/serialized-dag.ts";
import { migrate, openStore, storeOptions, type Store } from "../../src/store/index.ts";
import { shippedWorker, withBenchHome, type BenchDialect } from "./_home.ts";
import { Logger as GraphileLogger, run as runGraphileWorker, type Task as GraphileTask } from "graphile-worker";

const IDLE_S = Number(process.env.ORCH_BENCH_IDLE_S ?? 30);

// Each task appends "start end" (epoch ms, sub-ms precision) to $BENCH_MARKS: the hand-off as the
// tasks see it, from one task's end to the next one's start, worker messages and log files included.
const DAGS = `import { dag, task, chain } from "orch";
import { appendFileSync } from "node:fs";
const now = () => performance.timeOrigin + performance.now();
const noop = (id: string) => task({ task_id: id }, async () => {
  const start = now();
  if (process.env.BENCH_MARKS) appendFileSync(process.env.BENCH_MARKS, start + " " + now() + "\\n");
  return undefined;
})();
export const chain1000 = dag({ dag_id: "chain1000", schedule: null, start_date: "2024-01-01", max_active_tasks: 64 }, () => {
  const ts = Array.from({ length: 1000 }, (_, i) => noop("t" + i));
  chain(...ts);
});
export const fan1000 = dag({ dag_id: "fan1000", schedule: null, start_date: "2024-01-01", max_active_tasks: 64 }, () => {
  const mid = Array.from({ length: 998 }, (_, i) => noop("m" + i));
  chain(noop("start"), mid, noop("end"));
});
export const capped1 = dag({ dag_id: "capped1", schedule: null, start_date: "2024-01-01", max_active_tasks: 1 }, () => {
  Array.from({ length: 40 }, (_, i) => noop("c" + i));
});
export const wide200 = dag({ dag_id: "wide200", schedule: null, start_date: "2024-01-01", max_active_tasks: 64 }, () => {
  Array.from({ length: 200 }, (_, i) => noop("w" + i));
});
export const small10 = dag({ dag_id: "small10", schedule: null, start_date: "2024-01-01", max_active_runs: 100 }, () => {
  chain(...Array.from({ length: 10 }, (_, i) => noop("s" + i)));
});
`;


/** The statements a scenario ran at least once per task instance, costliest first. */
function printStatementTimes(label: string, durations: Map<string, number[]>, tis: number): void {
  console.log(`${label}: statements run at least once per task instance (count, median ms, total ms)`);
  const hot = [...durations].filter(([, t]) => t.length >= tis * 0.9).map(([sql, t]) => ({ sql, n: t.length, median: pct([...t].sort((a, b) => a - b), 50), total: t.reduce((a, b) => a + b, 0) }));
  for (const h of hot.sort((a, b) => b.total - a.total)) {
    console.log(`  ${String(h.n).padStart(6)} ${h.median.toFixed(3).padStart(7)} ${h.total.toFixed(0).padStart(6)}  ${h.sql.replace(/\s+/g, " ").slice(0, 110)}`);
  }
}

function pct(sorted: number[], p: number): number {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/** Hand-off: from one task's end to the start of the next task the worker runs, as the tasks
 *  themselves timed it. With one worker that is exactly orch's overhead between tasks, whatever
 *  the DAG's shape (the store's start_date/end_date leave out the worker messages and log files). */
function handoffs(marksFile: string): number[] {
  const marks = readFileSync(marksFile, "utf8").trim().split("\n").map((l) => l.split(" ").map(Number));
  marks.sort((a, b) => a[0] - b[0]);
  const out: number[] = [];
  for (let i = 1; i < marks.length; i++) out.push(marks[i][0] - marks[i - 1][1]);
  return out.sort((a, b) => a - b);
}

let logicalMinute = 0;

/**
 * The scheduler alone: an executor that ends each try as a success at once, in this process (no
 * worker process, no channel, no task code), marking each try's start and end as the tasks do.
 * Not a configuration orch offers (tasks always run in worker processes): it shows how much of a
 * hop is the scheduler's own (the store, the hand-off, the log files) and how much the worker's.
 */
function inlineExecutor(marks: string[]): Executor {
  const reserved = new Set<number>();
  let busy = 0;
  const now = () => performance.timeOrigin + performance.now();
  return {
    parallelism: 1,
    freeSlots: () => 1 - busy - reserved.size,
    reserve: (tiId) => (reserved.add(tiId), process.pid),
    release: (tiId) => void reserved.delete(tiId),
    async execute(request) {
      reserved.delete(request.tiId);
      busy++;
      const start = now();
      // A turn of the event loop, as a worker's answer would take at the least.
      await new Promise((r) => setImmediate(r));
      marks.push(`${start} ${now()}`);
      busy--;
      return { state: "success", xcoms: [] };
    },
    terminate: () => false,
    warm() {},
    async stop() {},
  };
}

async function scenario(store: Store, home: string, dagId: string, runs: number, parallelism = 1, inline = false) {
  const marks = join(home, `marks-${dagId}-${parallelism}.txt`);
  writeFileSync(marks, "");
  process.env.BENCH_MARKS = marks;
  const env = { ...process.env, ORCH_HOME: home };
  const config = loadConfig(env);
  const row = await store.db.selectFrom("serialized_dag").selectAll().where("dag_id", "=", dagId).executeTakeFirstOrThrow();
  const d = toSchedulable(JSON.parse(row.data) as SerializedDag, row.dag_hash, row.fileloc);
  const ids = new Set<number>();
  for (let i = 0; i < runs; i++) {
    // Logical dates never repeat across scenarios of one DAG (a DAG's run per date is unique).
    const r = await triggerDagRun(store, d, { logicalDate: new Date(Date.UTC(2024, 0, 1) + logicalMinute++ * 60_000), triggeredBy: "bench" });
    ids.add(r.id);
  }
  const inlineMarks: string[] = [];
  const executor = inline ? inlineExecutor(inlineMarks) : createLocalExecutor({ parallelism, worker: shippedWorker() });
  let left = runs;
  let done!: () => void;
  const finished = new Promise<void>((r) => (done = r));
  const scheduler = createScheduler({ store, config, executor, onlyRunIds: ids, log: () => {}, onRunFinished: () => --left === 0 && done() });
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const machine0 = machineTicks();
  const statements0 = store.stats.statements;
  await scheduler.start();
  await finished;
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const machine1 = machineTicks();
  const statements = store.stats.statements - statements0;
  await scheduler.stop();
  // This scenario's runs only: "100 runs x 10 tasks -p 4" follows the same DAG's "100 runs x 10
  // tasks", whose task instances were counted too (2,000, halving its CPU and statements per TI).
  const tiCount = Number(
    (
      await store.db
        .selectFrom("task_instance as ti")
        .innerJoin("dag_run as dr", (j) => j.onRef("dr.dag_id", "=", "ti.dag_id").onRef("dr.run_id", "=", "ti.run_id"))
        .select((eb) => eb.fn.countAll().as("n"))
        .where("ti.dag_id", "=", dagId)
        .where("ti.state", "=", "success")
        .where("dr.id", "in", [...ids])
        .executeTakeFirstOrThrow()
    ).n,
  );
  if (inline) writeFileSync(marks, inlineMarks.join("\n"));
  // With several workers tasks overlap: a hand-off is then meaningful only with one.
  const h = parallelism === 1 ? handoffs(marks) : [];
  if (process.env.ORCH_BENCH_KEEP_MARKS) writeFileSync(process.env.ORCH_BENCH_KEEP_MARKS + "-" + dagId + ".txt", readFileSync(marks));
  // The whole machine while the scenario ran: how busy its CPUs were, and CPU ms per task instance
  // (scheduler, workers, PostgreSQL, kernel; and whatever else the machine ran meanwhile).
  const busy = machine0 && machine1 ? machine1.busy - machine0.busy : NaN;
  const idle = machine0 && machine1 ? machine1.idle - machine0.idle : NaN;
  const machine = { busyShare: busy / (busy + idle), cpuMsPerTi: (busy * 10) / tiCount };
  return { tiPerSecond: tiCount / seconds, seconds, tis: tiCount, median: pct(h, 50), p95: pct(h, 95), cpuMsPerTi: (cpu.user + cpu.system) / 1000 / tiCount, statementsPerTi: statements / tiCount, machine };
}

/** The machine's CPU time so far (all CPUs, all processes: workers, PostgreSQL, the kernel), from
 *  /proc/stat in clock ticks: busy and idle. Undefined off Linux. */
function machineTicks(): { busy: number; idle: number } | undefined {
  try {
    const f = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal
    return { busy: f[0]! + f[1]! + f[2]! + f[5]! + f[6]! + f[7]!, idle: f[3]! + f[4]! };
  } catch {
    return undefined;
  }
}

/** The most intervals open at one instant (touching is not overlapping). */
function maxOverlap(intervals: { start: number; end: number }[]): number {
  const points = intervals.flatMap((i) => [
    [i.start, 1],
    [i.end, -1],
  ]);
  points.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let open = 0;
  let most = 0;
  for (const [, d] of points) most = Math.max(most, (open += d));
  return most;
}

/** Two schedulers (each its own pool of connections and two workers) on one PostgreSQL database,
 *  racing for the same runs: a DAG capped at max_active_tasks: 1 beside a wide one. */
async function twoSchedulers(store: Store, home: string, url: string) {
  const config = loadConfig({ ...process.env, ORCH_HOME: home });
  const ids = new Set<number>();
  for (const dagId of ["capped1", "wide200"]) {
    const row = await store.db.selectFrom("serialized_dag").selectAll().where("dag_id", "=", dagId).executeTakeFirstOrThrow();
    const d = toSchedulable(JSON.parse(row.data) as SerializedDag, row.dag_hash, row.fileloc);
    ids.add((await triggerDagRun(store, d, { logicalDate: new Date(Date.UTC(2024, 0, 1)), triggeredBy: "bench" })).id);
  }
  const second = await openStore(url, storeOptions(config));
  let left = ids.size;
  let done!: () => void;
  const finished = new Promise<void>((r) => (done = r));
  const onRunFinished = () => --left === 0 && done();
  const schedulers = [store, second].map((s) =>
    createScheduler({ store: s, config, executor: createLocalExecutor({ parallelism: 2, worker: shippedWorker() }), onlyRunIds: ids, log: () => {}, onRunFinished }),
  );
  const t0 = performance.now();
  await Promise.all(schedulers.map((x) => x.start()));
  await finished;
  const seconds = (performance.now() - t0) / 1000;
  await Promise.all(schedulers.map((x) => x.stop()));
  await second.close();
  const tis = await store.db.selectFrom("task_instance").select(["dag_id", "state", "start_date", "end_date", "queued_by_job_id"]).where("dag_id", "in", ["capped1", "wide200"]).execute();
  const ok = tis.filter((t) => t.state === "success");
  const capped = ok.filter((t) => t.dag_id === "capped1").map((t) => ({ start: Date.parse(t.start_date!), end: Date.parse(t.end_date!) }));
  return { tis: ok.length, seconds, tiPerSecond: ok.length / seconds, cappedConcurrency: maxOverlap(capped), jobs: new Set(ok.map((t) => t.queued_by_job_id)).size };
}

/** The CLI users run (dist/orch.mjs; shippedWorker() builds it from the current sources). */
const CLI_ENTRY = new URL("../../dist/orch.mjs", import.meta.url).pathname;

/**
 * A SIGKILL of `orch scheduler` (a real process, the built CLI, with its worker) in the middle of the
 * chain of 1,000, then a fresh one: how soon the chain goes on after the kill and after the fresh
 * scheduler's spawn, and whether any task whose success was committed ran again (it must not: the
 * try the kill interrupted runs again as a new try, Airflow's semantics; a finished one never).
 */
async function killAndResume(store: Store, home: string, url: string, dialect: BenchDialect) {
  const row = await store.db.selectFrom("serialized_dag").selectAll().where("dag_id", "=", "chain1000").executeTakeFirstOrThrow();
  const d = toSchedulable(JSON.parse(row.data) as SerializedDag, row.dag_hash, row.fileloc);
  const run = await triggerDagRun(store, d, { logicalDate: new Date(Date.UTC(2024, 0, 1) + logicalMinute++ * 60_000), triggeredBy: "bench" });
  const marks = join(home, "marks-kill.txt");
  writeFileSync(marks, "");
  const env: NodeJS.ProcessEnv = { ...process.env, ORCH_HOME: home, BENCH_MARKS: marks };
  if (dialect === "postgres") env.ORCH_DATABASE_URL = url;
  else delete env.ORCH_DATABASE_URL;
  shippedWorker(); // builds dist/
  const start = () => spawn(process.execPath, [CLI_ENTRY, "scheduler"], { env, stdio: ["ignore", "ignore", "ignore"] });
  const exited = (c: ChildProcess) => new Promise<void>((r) => (c.exitCode !== null || c.signalCode !== null ? r() : c.once("exit", () => r())));
  const lines = () => readFileSync(marks, "utf8").split("\n").filter(Boolean).map((l) => l.split(" ").map(Number) as [number, number]);
  const until = async (what: string, ok: () => Promise<boolean> | boolean, ms = 120_000) => {
    const deadline = Date.now() + ms;
    while (!(await ok())) {
      if (Date.now() > deadline) throw new Error(`kill scenario: timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  const first = start();
  await until("300 tasks before the kill", () => lines().length >= 300);
  first.kill("SIGKILL");
  const killedAt = performance.timeOrigin + performance.now();
  await exited(first);
  const second = start();
  const spawnedAt = performance.timeOrigin + performance.now();
  const runState = async () => (await store.db.selectFrom("dag_run").select("state").where("id", "=", run.id).executeTakeFirstOrThrow()).state;
  await until("the run's end", async () => !["running", "queued"].includes(await runState()));
  second.kill("SIGTERM");
  await exited(second);
  const resumed = Math.min(...lines().map(([s]) => s).filter((s) => s > killedAt));
  const tis = await store.db.selectFrom("task_instance").select(["id", "state", "try_number"]).where("dag_id", "=", "chain1000").where("run_id", "=", run.run_id).execute();
  const history = await store.db
    .selectFrom("task_instance_history")
    .select(["task_instance_id", "state", "interrupted"])
    .where("task_instance_id", "in", tis.map((t) => t.id))
    .execute();
  const successes = new Map<number, number>();
  for (const h of history) if (h.state === "success") successes.set(h.task_instance_id, (successes.get(h.task_instance_id) ?? 0) + 1);
  return {
    runState: await runState(),
    afterKillMs: resumed - killedAt,
    afterSpawnMs: resumed - spawnedAt,
    succeededTwice: [...successes.values()].filter((n) => n > 1).length,
    interrupted: history.filter((h) => h.interrupted === 1).length,
    notSuccess: tis.filter((t) => t.state !== "success").length,
  };
}

function withDialect(dialect: BenchDialect, fn: (store: Store, home: string, url: string) => Promise<void>) {
  return withBenchHome(dialect, { name: "sched", dags: DAGS }, fn);
}

/** The PostgreSQL baseline: graphile-worker (a PostgreSQL job queue) on the same server and
 *  database, one worker, the same chain of 1,000 no-op jobs, each job queueing the next. Hand-off
 *  timed inside the jobs, as for orch's tasks. */
async function graphileChain(url: string, n = 1000) {
  const marks: [number, number][] = [];
  let done!: () => void;
  const finished = new Promise<void>((r) => (done = r));
  const hop: GraphileTask = async (payload, helpers) => {
    const start = performance.timeOrigin + performance.now();
    const i = (payload as { i: number }).i;
    if (i + 1 < n) await helpers.addJob("hop", { i: i + 1 });
    marks.push([start, performance.timeOrigin + performance.now()]);
  };
  const runner = await runGraphileWorker({ connectionString: url, concurrency: 1, noHandleSignals: true, pollInterval: 2000, taskList: { hop }, logger: quietLogger() });
  runner.events.on("job:success", ({ job }) => {
    if ((job.payload as { i: number }).i === n - 1) done();
  });
  const t0 = performance.now();
  await runner.addJob("hop", { i: 0 });
  await finished;
  const seconds = (performance.now() - t0) / 1000;
  await runner.stop();
  const h: number[] = [];
  for (let i = 1; i < marks.length; i++) h.push(marks[i][0] - marks[i - 1][1]);
  h.sort((a, b) => a - b);
  return { tis: n, seconds, tiPerSecond: n / seconds, median: pct(h, 50), p95: pct(h, 95) };
}

function quietLogger() {
  // graphile-worker logs every job at info; only its errors are worth a line here.
  return new GraphileLogger((scope) => (level, message) => {
    if (level === "error") console.error(`[graphile-worker] ${message}`, scope);
  });
}

function processPerTaskBaseline(n: number): number {
  const t0 = performance.now();
  for (let i = 0; i < n; i++) spawnSync(process.execPath, ["-e", "0"]);
  return n / ((performance.now() - t0) / 1000);
}

async function idleCpu(seconds: number): Promise<number> {
  // A started scheduler with nothing to do: CPU time used per wall second.
  const home = mkdtempSync(join(tmpdir(), "orch-bench-idle-"));
  mkdirSync(join(home, "dags"));
  writeFileSync(join(home, "dags", "bench.ts"), DAGS);
  const store = await openStore(`sqlite:///${join(home, "orch.db")}`);
  await migrate(store);
  const config = loadConfig({ ...process.env, ORCH_HOME: home });
  const processor = createDagProcessor({ store, dagsFolder: join(home, "dags"), home, importTimeoutSeconds: 60 });
  await processor.processAll();
  processor.start();
  const executor = createLocalExecutor({ parallelism: 1, worker: shippedWorker() });
  const scheduler = createScheduler({ store, config, executor, listen: true, log: () => {} });
  await scheduler.start();
  await new Promise((r) => setTimeout(r, 1000));
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const c = process.cpuUsage(c0);
  const wall = (performance.now() - t0) * 1000;
  await scheduler.stop();
  await processor.stop();
  await store.close();
  rmSync(home, { recursive: true, force: true });
  return ((c.user + c.system) / wall) * 100;
}

const baseline = processPerTaskBaseline(50);
const rows: string[][] = [];
let twoSchedulerNote: string | undefined;
let graphileNote: string | undefined;
const dialects = (process.env.ORCH_BENCH_DIALECTS ?? "sqlite,postgres").split(",") as ("sqlite" | "postgres")[];
// ORCH_BENCH_SCENARIOS=chain,inline,fan,small,small-p4,two,graphile,kill narrows the run (all by default).
const scenarios = (process.env.ORCH_BENCH_SCENARIOS ?? "chain,inline,fan,small,small-p4,two,graphile,kill").split(",");
const killNotes: string[] = [];
const chainRate = new Map<string, number>();
for (const dialect of dialects) {
  try {
    await withDialect(dialect, async (store, home, url) => {
      for (const [key, name, dagId, runs, parallelism] of [
        ["chain", "chain of 1,000", "chain1000", 1, 1],
        ["inline", "chain of 1,000, scheduler alone", "chain1000", 1, 1],
        ["fan", "fan-out/fan-in of 1,000", "fan1000", 1, 1],
        ["small", "100 runs x 10 tasks", "small10", 100, 1],
        ["small-p4", "100 runs x 10 tasks -p 4", "small10", 100, 4],
      ] as const) {
        if (!scenarios.includes(key)) continue;
        if (process.env.ORCH_BENCH_STATEMENTS) store.stats.durations = new Map();
        const r = await scenario(store, home, dagId, runs, parallelism, key === "inline");
        if (store.stats.durations) printStatementTimes(`${dialect} ${name}`, store.stats.durations, r.tis);
        rows.push([dialect, name, r.tis.toString(), r.seconds.toFixed(2), r.tiPerSecond.toFixed(0), (r.tiPerSecond / baseline).toFixed(1) + "x", r.median.toFixed(2), r.p95.toFixed(2), r.cpuMsPerTi.toFixed(2), r.statementsPerTi.toFixed(1)]);
        console.log(
          `${dialect} ${name}: ${r.tiPerSecond.toFixed(0)} TI/s; scheduler CPU ${r.cpuMsPerTi.toFixed(2)} ms per TI; ${r.statementsPerTi.toFixed(1)} statements per TI; ` +
            `the machine's ${cpus().length} CPUs ${(r.machine.busyShare * 100).toFixed(0)} % busy, ${r.machine.cpuMsPerTi.toFixed(2)} ms of CPU per TI in all (workers, PostgreSQL, kernel)`,
        );
        if (key === "chain") chainRate.set(dialect, r.tiPerSecond);
      }
      if (dialect === "postgres" && scenarios.includes("graphile")) {
        const r = await graphileChain(url);
        rows.push(["postgres", "graphile-worker chain of 1,000", r.tis.toString(), r.seconds.toFixed(2), r.tiPerSecond.toFixed(0), (r.tiPerSecond / baseline).toFixed(1) + "x", r.median.toFixed(2), r.p95.toFixed(2), "-", "-"]);
        const orch = chainRate.get("postgres");
        graphileNote = `PostgreSQL chain of 1,000: orch ${orch?.toFixed(0) ?? "-"} TI/s, graphile-worker ${r.tiPerSecond.toFixed(0)} jobs/s in the same run: ratio ${orch ? (orch / r.tiPerSecond).toFixed(2) : "-"} (goal >= 1)`;
        console.log(graphileNote);
      }
      if (scenarios.includes("kill")) {
        const r = await killAndResume(store, home, url, dialect);
        const note = `${dialect}: SIGKILL of orch scheduler at task 300+ of the chain, then a fresh one: the next task started ${(r.afterKillMs / 1000).toFixed(2)} s after the kill (${(r.afterSpawnMs / 1000).toFixed(2)} s after the fresh scheduler's spawn); run ${r.runState}, ${r.notSuccess} task(s) not success; tasks whose committed success ran again: ${r.succeededTwice} (must be 0); tries the kill interrupted, run again: ${r.interrupted}`;
        killNotes.push(note);
        console.log(note);
      }
      if (dialect === "postgres" && scenarios.includes("two")) {
        const r = await twoSchedulers(store, home, url);
        rows.push([dialect, "two schedulers, 240 tasks", r.tis.toString(), r.seconds.toFixed(2), r.tiPerSecond.toFixed(0), (r.tiPerSecond / baseline).toFixed(1) + "x", "-", "-", "-", "-"]);
        twoSchedulerNote = `two schedulers on PostgreSQL: ${r.tiPerSecond.toFixed(0)} TI/s over ${r.jobs} job(s); highest concurrency of the max_active_tasks: 1 DAG: ${r.cappedConcurrency} (must be 1)`;
        console.log(twoSchedulerNote);
      }
    });
  } catch (e) {
    console.log(`${dialect}: skipped (${(e as Error).message})`);
  }
}
// The kernel's high-water mark: no sampling timer, which would itself cost CPU in the idle window.
const peakRss = process.resourceUsage().maxRSS * 1024;
const idle = await idleCpu(IDLE_S);

const header = ["store", "scenario", "task instances", "seconds", "TI/s", "vs process-per-task", "hand-off median ms", "p95 ms", "CPU ms/TI", "statements/TI"];
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
console.log("\n" + header.map((h, i) => h.padEnd(widths[i])).join(" | "));
console.log(widths.map((w) => "-".repeat(w)).join("-|-"));
for (const r of rows) console.log(r.map((c, i) => c.padEnd(widths[i])).join(" | "));
console.log(`\nbaseline: a fresh Node process per task instance: ${baseline.toFixed(0)} TI/s (spawn only, no work, no store)`);
if (twoSchedulerNote) console.log(twoSchedulerNote);
for (const n of killNotes) console.log(n);
if (graphileNote) console.log(graphileNote);
console.log(`peak RSS of the scheduler process: ${(peakRss / 2 ** 20).toFixed(0)} MB (workers not included)`);
console.log(`CPU while idle for ${IDLE_S} s: ${idle.toFixed(2)} % of one core`);
console.log(
  "goals (issue 17): SQLite chain >= 1,000 TI/s, hand-off median <= 1 ms; SQLite fan-out/fan-in >= 500 TI/s; " +
    "PostgreSQL chain >= graphile-worker's rate; 100 runs x 10 tasks -p 4 >= 1,500 TI/s on SQLite; idle CPU < 1 %",
);

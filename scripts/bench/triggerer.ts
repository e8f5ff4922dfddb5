// Triggerer benchmark: 10,000 task instances deferred at once on time-delta (date-time) triggers,
// run by one triggerer in this process on a SQLite store.
//   node --import tsx scripts/bench/triggerer.ts [count]
// Reports RSS above the idle process while they wait, CPU while they wait, and the lag from each
// trigger's fire time to its task instance being scheduled to resume (median, p99). The resumed
// try itself starts when a scheduler claims it (not measured here).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "../../src/config.ts";
import { createDagRun } from "../../src/store/dag-runs.ts";
import { migrate, openStore } from "../../src/store/index.ts";
import { deferTry } from "../../src/store/triggers.ts";
import { createTriggerer } from "../../src/triggerer/triggerer.ts";

const N = Number(process.argv[2] ?? 10_000);
const dir = mkdtempSync(join(tmpdir(), "orch-bench-triggerer-"));
process.env.ORCH_HOME = dir;
process.env.ORCH__TRIGGERER__CAPACITY = String(N);
const store = await openStore(`sqlite:///${join(dir, "orch.db")}`);
await migrate(store);
const config = loadConfig();
const mb = (b: number) => (b / 1024 / 1024).toFixed(1);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// N deferred task instances, one run; each on its own trigger firing WAIT_MS after setup ends.
const seeds = Array.from({ length: N }, (_, i) => ({ task_id: `t${i}`, retries: 0, priority_weight: 1, operator: "@task" }));
const run = await store.writeTransaction((trx) =>
  createDagRun(trx, { dag_id: "bench", run_id: "bench_run", run_type: "manual", logical_date: null, data_interval_start: null, data_interval_end: null, run_after: new Date().toISOString(), conf: {}, triggered_by: "cli", state: "running" }, seeds),
);
const WAIT_MS = Math.max(15_000, N * 2);
const fireAt = new Date(Date.now() + 10_000 + WAIT_MS);
await store.db.updateTable("task_instance").set({ state: "running", try_number: 1 }).where("run_id", "=", run.run_id).execute();
const tis = await store.db.selectFrom("task_instance").selectAll().where("run_id", "=", run.run_id).execute();
const moments = new Map<number, number>();
await store.writeTransaction(async (trx) => {
  for (const [i, ti] of tis.entries()) {
    // Spread over 1 s, as real deferrals are.
    const moment = new Date(fireAt.getTime() + (i % 1000));
    moments.set(ti.id, moment.getTime());
    await deferTry(trx, ti, { classpath: "orch.triggers.DateTimeTrigger", kwargs: { moment: moment.toISOString() }, method: "execute_complete", methodKwargs: {}, timeoutAt: null });
  }
});

global.gc?.();
await sleep(500);
const idleRss = process.memoryUsage().rss;
const triggerer = createTriggerer({ store, config, log: () => {} });
const t0 = Date.now();
await triggerer.start();
console.log(`armed ${triggerer.armed} triggers in ${Date.now() - t0} ms`);
await sleep(2000);
global.gc?.();
const waitingRss = process.memoryUsage().rss;
const cpu0 = process.cpuUsage();
const w0 = Date.now();
await sleep(Math.min(8000, fireAt.getTime() - Date.now() - 1000));
const cpu = process.cpuUsage(cpu0);
const cpuPct = ((cpu.user + cpu.system) / 1000 / (Date.now() - w0)) * 100;

for (;;) {
  const left = await store.db.selectFrom("task_instance").select((eb) => eb.fn.countAll<number>().as("n")).where("state", "=", "deferred").executeTakeFirstOrThrow();
  if (Number(left.n) === 0) break;
  await sleep(200);
}
const rows = await store.db.selectFrom("task_instance").select(["id", "scheduled_dttm"]).where("run_id", "=", run.run_id).execute();
const lags = rows.map((r) => Date.parse(r.scheduled_dttm!) - moments.get(r.id)!).sort((a, b) => a - b);
const q = (p: number) => lags[Math.min(lags.length - 1, Math.floor(p * lags.length))];
await triggerer.stop();
await store.close();
rmSync(dir, { recursive: true, force: true });

console.log(`${N} deferred task instances on date-time triggers, one triggerer, SQLite`);
console.log(`RSS idle ${mb(idleRss)} MB; while waiting ${mb(waitingRss)} MB (+${mb(waitingRss - idleRss)} MB)`);
console.log(`CPU while waiting: ${cpuPct.toFixed(2)}% of a core`);
console.log(`fire -> scheduled to resume: median ${q(0.5)} ms, p99 ${q(0.99)} ms, max ${lags[lags.length - 1]} ms`);

// Producer -> consumer: a real `orch scheduler` (dist/orch.mjs; `npm run build` first) on a temp
// home; the producer's outlet event makes the consumer's asset-triggered run. Lag: from the
// producer task's end_date to the consumer run's start_date.
const { spawn, spawnSync } = await import("node:child_process");
const { writeFileSync, mkdirSync } = await import("node:fs");
const bin = new URL("../../dist/orch.mjs", import.meta.url).pathname;
const home = mkdtempSync(join(tmpdir(), "orch-bench-assets-"));
mkdirSync(join(home, "dags"));
writeFileSync(
  join(home, "dags", "assets.ts"),
  `import { dag, task, Asset } from "orch";
const a = Asset("bench://a");
export const p = dag({ dag_id: "producer", schedule: null, start_date: "2024-01-01", is_paused_upon_creation: false }, () => { task({ task_id: "make", outlets: [a] }, async () => 1)(); });
export const c = dag({ dag_id: "consumer", schedule: [a], start_date: "2024-01-01", is_paused_upon_creation: false }, () => { task({ task_id: "use" }, async () => 1)(); });
`,
);
const env: NodeJS.ProcessEnv = { ...process.env, ORCH_HOME: home };
delete env.ORCH_DATABASE_URL;
spawnSync(process.execPath, [bin, "db", "migrate"], { env });
const sched = spawn(process.execPath, [bin, "scheduler"], { env, stdio: "ignore" });
const s2 = await openStore(`sqlite:///${join(home, "orch.db")}`);
const count = async (dagId: string) =>
  Number((await s2.db.selectFrom("dag_run").select((eb) => eb.fn.countAll<number>().as("n")).where("dag_id", "=", dagId).where("state", "=", "success").executeTakeFirstOrThrow()).n);
const ROUNDS = 20;
while (!(await s2.db.selectFrom("dag_schedule_asset_reference").select("dag_id").executeTakeFirst())) await sleep(100);
for (let i = 0; i < ROUNDS; i++) {
  spawnSync(process.execPath, [bin, "dags", "trigger", "producer"], { env });
  while ((await count("consumer")) < i + 1) await sleep(50);
}
const made = await s2.db.selectFrom("task_instance").select(["end_date"]).where("dag_id", "=", "producer").orderBy("end_date").execute();
const used = await s2.db.selectFrom("dag_run").select(["start_date"]).where("dag_id", "=", "consumer").orderBy("start_date").execute();
const assetLags = made.map((m, i) => Date.parse(used[i].start_date!) - Date.parse(m.end_date!)).sort((x, y) => x - y);
sched.kill("SIGTERM");
await new Promise((r) => sched.once("exit", r));
await s2.close();
rmSync(home, { recursive: true, force: true });
console.log(`producer success -> consumer run start (${ROUNDS} rounds, SQLite, orch scheduler): median ${assetLags[Math.floor(ROUNDS / 2)]} ms, max ${assetLags[ROUNDS - 1]} ms`);

// Cost of one request, independent of the machine's load: CPU time (process.cpuUsage) and SQL
// statements (store.stats) per request for the status pages of issue 15 (100 DAGs, a grid of 25
// runs x 30 tasks) and the REST listings of issue 14 (GET /api/v2/dags, a DAG's dagRuns with 200
// runs). Requests go to the real Hono app in this process (app.request, no port), one at a time,
// so HTTP parsing is left out; wall-clock figures under load are in ui.ts and standalone.ts.
// Each is measured twice: "kept", the database unchanged between requests (src/api/read-cache.ts
// serves what it read), and "after a write", one variable written before each request so every
// read is loaded again (the write's own cost included; it is printed on its own line).
//
//   npm run bench api-requests
import { loadavg } from "node:os";
import { seedDag, seedRuns, uiFixture } from "../../test/helpers/ui-fixtures.ts";

const N = Number(process.env.ORCH_BENCH_REQUESTS ?? 500);
const WARMUP = 50;

const fx = await uiFixture();
for (let i = 0; i < 99; i++) {
  const d = await seedDag(fx.store, { dag_id: `dag_${String(i).padStart(3, "0")}`, tasks: 5, tags: [`team${i % 7}`, "bench"], paused: i % 3 === 0 });
  await seedRuns(fx.store, d, 10, i % 5 === 0 ? "failed" : "success");
}
const big = await seedDag(fx.store, { dag_id: "grid_30x25", tasks: 30, tags: ["bench"] });
const runIds = await seedRuns(fx.store, big, 25);
const many = await seedDag(fx.store, { dag_id: "runs_200", tasks: 3, tags: ["bench"] });
await seedRuns(fx.store, many, 200, null);
const { cookie } = await fx.session();
const token = cookie.slice(cookie.indexOf("=") + 1);

const last = encodeURIComponent(runIds[runIds.length - 1]);
const targets: [string, string, Record<string, string>][] = [
  ["page: DAG list, 100 DAGs", "/dags", { cookie }],
  ["page: DAG, grid 25 runs x 30 tasks", "/dags/grid_30x25", { cookie }],
  ["page: run, 30 task instances", `/dags/grid_30x25/runs/${last}`, { cookie }],
  ["page: try", `/dags/grid_30x25/runs/${last}/tasks/t15`, { cookie }],
  ["GET /api/v2/dags (page of 50)", "/api/v2/dags", { authorization: `Bearer ${token}` }],
  ["GET /api/v2/dags/runs_200/dagRuns", "/api/v2/dags/runs_200/dagRuns?order_by=-logical_date", { authorization: `Bearer ${token}` }],
];

let k = 0;
const write = () => fx.store.db.insertInto("variable").values({ key: "bench", val: String(k++), description: null, is_encrypted: 0 }).onConflict((oc) => oc.column("key").doUpdateSet({ val: String(k) })).execute();

async function measure(path: string, headers: Record<string, string>, before?: () => Promise<unknown>) {
  for (let i = 0; i < WARMUP; i++) {
    await before?.();
    await (await fx.app.request(path, { headers })).text();
  }
  const s0 = fx.store.stats.statements;
  const c0 = process.cpuUsage();
  let bytes = 0;
  for (let i = 0; i < N; i++) {
    await before?.();
    const r = await fx.app.request(path, { headers });
    const body = await r.text();
    if (r.status !== 200) throw new Error(`${path}: ${r.status} ${body.slice(0, 200)}`);
    bytes = body.length;
  }
  const c = process.cpuUsage(c0);
  return { cpu: (c.user + c.system) / 1000 / N, stmts: (fx.store.stats.statements - s0) / N - (before ? 1 : 0), bytes };
}

const w0 = process.cpuUsage();
for (let i = 0; i < N; i++) await write();
const wc = process.cpuUsage(w0);
console.log(`the write alone: ${((wc.user + wc.system) / 1000 / N).toFixed(3)} ms CPU`);
for (const [name, path, headers] of targets) {
  const kept = await measure(path, headers);
  const fresh = await measure(path, headers, write);
  console.log(
    `${name.padEnd(36)} kept ${kept.cpu.toFixed(2).padStart(5)} ms CPU, ${kept.stmts.toFixed(1)} statements   after a write ${fresh.cpu.toFixed(2).padStart(5)} ms CPU, ${fresh.stmts.toFixed(1)} statements   ${(kept.bytes / 1024).toFixed(0)} KiB`,
  );
}
console.log(`${N} requests each after ${WARMUP} to warm up; load average ${loadavg().map((l) => l.toFixed(1)).join(" ")}`);
await fx.cleanup();

// Status page response times: the DAG list with 100 DAGs (10 runs each), the DAG page of a
// 30-task DAG with 25 runs (its grid is 25 x 30), its run page and a try page. The server is a real
// `orch api-server` process (the API server `orch standalone` runs, from dist/) on a SQLite home
// seeded beforehand; this process only sends requests over HTTP on 127.0.0.1, one at a time.
// Reports min, median, p95 and max of 200 requests per page after 20 to warm up, and the load
// average (on a shared machine the figures follow it; min is the closest to an idle machine).
// Budget (issue 15): 50 ms.
// The server keeps a page's data until the database changes (src/api/read-cache.ts); with
// ORCH_BENCH_UI_WRITES=1 this process writes a variable (through its own connection, as the
// scheduler in another process would) before every request, so every page is read afresh.
//
//   npm run bench ui            (builds nothing: run `npm run build` first)
//   ORCH_BENCH_UI_WRITES=1 npm run bench ui
import { spawn } from "node:child_process";
import { loadavg } from "node:os";
import { join } from "node:path";
import { request } from "undici";
import { hashPassword } from "../../src/api/auth/passwords.ts";
import { openStore } from "../../src/store/index.ts";
import { createUser } from "../../src/store/users.ts";
import { setVariable } from "../../src/store/variables.ts";
import { seedDag, seedRuns, uiFixture } from "../../test/helpers/ui-fixtures.ts";

const N = 200;
const WARMUP = 20;

const fx = await uiFixture();
const t0 = Date.now();
for (let i = 0; i < 99; i++) {
  const d = await seedDag(fx.store, { dag_id: `dag_${String(i).padStart(3, "0")}`, tasks: 5, tags: [`team${i % 7}`, "bench"], paused: i % 3 === 0 });
  await seedRuns(fx.store, d, 10, i % 5 === 0 ? "failed" : "success");
}
const big = await seedDag(fx.store, { dag_id: "grid_30x25", tasks: 30, tags: ["bench"] });
const runIds = await seedRuns(fx.store, big, 25);
console.log(`seeded 100 DAGs, ${99 * 10 + 25} runs in ${((Date.now() - t0) / 1000).toFixed(1)} s`);

await createUser(fx.store.db, { username: "bench", passwordHash: await hashPassword("bench-password"), role: "admin" });
await fx.store.close();
// Extra node flags for the server, e.g. ORCH_BENCH_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof".
const nodeArgs = (process.env.ORCH_BENCH_NODE_ARGS ?? "").split(" ").filter(Boolean);
const bin = join(import.meta.dirname, "..", "..", "dist", "orch.mjs");
const child = spawn(process.execPath, [...nodeArgs, bin, "api-server", "--port", "0"], { env: { ...process.env, ORCH_HOME: fx.home.home, ORCH_DATABASE_URL: "" }, stdio: ["ignore", "pipe", "inherit"] });
let out = "";
child.stdout.on("data", (d: Buffer) => (out += d.toString()));
const url = await new Promise<string>((resolve, reject) => {
  const timer = setInterval(() => {
    const m = /ready: (http:\/\/\S+) /.exec(out);
    if (m) {
      clearInterval(timer);
      resolve(m[1]);
    }
  }, 50);
  child.once("exit", (code) => reject(new Error(`orch api-server exited (${code}): ${out}`)));
});
// Log in through the form, as a browser does.
const loginPage = await request(`${url}/login`);
const csrf = /orch_login_csrf=([\w-]+)/.exec(String(loginPage.headers["set-cookie"]))?.[1] ?? "";
await loginPage.body.text();
const login = await request(`${url}/login`, {
  method: "POST",
  headers: { cookie: `orch_login_csrf=${csrf}`, "content-type": "application/x-www-form-urlencoded" },
  body: new URLSearchParams({ _csrf: csrf, username: "bench", password: "bench-password" }).toString(),
});
await login.body.text();
const session = /orch_session=[^;]+/.exec(String(login.headers["set-cookie"]))?.[0];
if (!session) throw new Error(`login failed: ${login.statusCode}`);

const last = encodeURIComponent(runIds[runIds.length - 1]);
const pages: [string, string][] = [
  ["DAG list, 100 DAGs", "/dags"],
  ["DAG page, grid 25 runs x 30 tasks", "/dags/grid_30x25"],
  ["run page, 30 task instances", `/dags/grid_30x25/runs/${last}`],
  ["try page", `/dags/grid_30x25/runs/${last}/tasks/t15`],
];

const writer = process.env.ORCH_BENCH_UI_WRITES === "1" ? await openStore(`sqlite:///${join(fx.home.home, "orch.db")}`) : undefined;
let writes = 0;
console.log(writer ? "a write before every request: every page is read afresh" : "no writes: pages' data kept between requests");

let worst = 0;
for (const [name, path] of pages) {
  const times: number[] = [];
  let bytes = 0;
  for (let i = 0; i < WARMUP + N; i++) {
    if (writer) await setVariable(writer.db, { key: "bench", val: String(writes++) });
    const s = process.hrtime.bigint();
    const r = await request(`${url}${path}`, { headers: { cookie: session } });
    const body = await r.body.text();
    const ms = Number(process.hrtime.bigint() - s) / 1e6;
    if (r.statusCode !== 200) throw new Error(`${path}: ${r.statusCode} ${body.slice(0, 200)}`);
    bytes = body.length;
    if (i >= WARMUP) times.push(ms);
  }
  times.sort((a, b) => a - b);
  const p = (q: number) => times[Math.min(times.length - 1, Math.floor(q * times.length))];
  worst = Math.max(worst, p(0.95));
  console.log(`${name.padEnd(36)} min ${times[0].toFixed(1).padStart(5)} ms   median ${p(0.5).toFixed(1).padStart(5)} ms   p95 ${p(0.95).toFixed(1).padStart(5)} ms   max ${times[times.length - 1].toFixed(1).padStart(6)} ms   ${(bytes / 1024).toFixed(0)} KiB`);
}
console.log(`worst p95 ${worst.toFixed(1)} ms (budget 50 ms): ${worst <= 50 ? "within" : "OVER"}; load average ${loadavg().map((l) => l.toFixed(1)).join(" ")} on ${(await import("node:os")).cpus().length} cores`);
await writer?.close();
child.kill("SIGTERM");
await new Promise((r) => child.once("exit", r));
await fx.home.cleanup();

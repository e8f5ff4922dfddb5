// Status page response times: the DAG list with 100 DAGs (10 runs each), the DAG page of a
// 30-task DAG with 25 runs (its grid is 25 x 30), its run page and a try page; over real HTTP on
// 127.0.0.1 (the api server of `orch standalone`), SQLite store. Reports median, p95 and max of
// 200 requests each after 20 to warm up. Budget (issue 15): 50 ms.
//
//   npm run bench ui
import { request } from "undici";
import { startApiServer } from "../../src/api/server.ts";
import { createUser } from "../../src/store/users.ts";
import { hashPassword } from "../../src/api/auth/passwords.ts";
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
const server = await startApiServer({ store: fx.store, config: fx.home && (await import("../../src/config.ts")).loadConfig({ ...process.env, ORCH_HOME: fx.home.home, ORCH_DATABASE_URL: "" }), port: 0, onChange: () => undefined, log: () => undefined });
const { cookie } = await fx.session();
// The server signs with its own key: log in through the form for a cookie it accepts.
const loginPage = await request(`${server.url}/login`);
const csrf = /orch_login_csrf=([\w-]+)/.exec(String(loginPage.headers["set-cookie"]))?.[1] ?? "";
await loginPage.body.text();
const login = await request(`${server.url}/login`, {
  method: "POST",
  headers: { cookie: `orch_login_csrf=${csrf}`, "content-type": "application/x-www-form-urlencoded" },
  body: new URLSearchParams({ _csrf: csrf, username: "bench", password: "bench-password" }).toString(),
});
await login.body.text();
const session = /orch_session=[^;]+/.exec(String(login.headers["set-cookie"]))?.[0] ?? cookie;

const last = encodeURIComponent(runIds[runIds.length - 1]);
const pages: [string, string][] = [
  ["DAG list, 100 DAGs", "/dags"],
  ["DAG page, grid 25 runs x 30 tasks", "/dags/grid_30x25"],
  ["run page, 30 task instances", `/dags/grid_30x25/runs/${last}`],
  ["try page", `/dags/grid_30x25/runs/${last}/tasks/t15`],
];

let worst = 0;
for (const [name, path] of pages) {
  const times: number[] = [];
  let bytes = 0;
  for (let i = 0; i < WARMUP + N; i++) {
    const s = process.hrtime.bigint();
    const r = await request(`${server.url}${path}`, { headers: { cookie: session } });
    const body = await r.body.text();
    const ms = Number(process.hrtime.bigint() - s) / 1e6;
    if (r.statusCode !== 200) throw new Error(`${path}: ${r.statusCode} ${body.slice(0, 200)}`);
    bytes = body.length;
    if (i >= WARMUP) times.push(ms);
  }
  times.sort((a, b) => a - b);
  const p = (q: number) => times[Math.min(times.length - 1, Math.floor(q * times.length))];
  worst = Math.max(worst, p(0.95));
  console.log(`${name.padEnd(36)} median ${p(0.5).toFixed(1).padStart(5)} ms   p95 ${p(0.95).toFixed(1).padStart(5)} ms   max ${times[times.length - 1].toFixed(1).padStart(6)} ms   ${(bytes / 1024).toFixed(0)} KiB`);
}
console.log(`worst p95 ${worst.toFixed(1)} ms (budget 50 ms): ${worst <= 50 ? "within" : "OVER"}`);
await server.close();
await fx.cleanup();

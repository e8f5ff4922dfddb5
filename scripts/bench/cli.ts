// `npm run bench cli`: CLI start-up. Median wall time of `orch dags list` (and `orch version`) over
// N runs against a home holding the example DAGs, beside `node -e 0` measured in the same run,
// interleaved so that load from other processes colours all three alike. Goal (issue 17):
// `orch dags list` ≤ 200 ms on a warm cache. Builds dist/ first. ORCH_BENCH_RUNS sets N (default 15).
// Beside wall time, the CPU time (user + system) of each run, read through /usr/bin/time where it
// exists: on a machine shared with other work, wall time mostly measures the queue for a core.
import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../..", import.meta.url));
const runs = Number(process.env.ORCH_BENCH_RUNS ?? 15);
const home = mkdtempSync(join(tmpdir(), "orch-bench-cli-"));
const env: NodeJS.ProcessEnv = { ...process.env, ORCH_HOME: home };
delete env.ORCH_DATABASE_URL;

const TIME = existsSync("/usr/bin/time") ? "/usr/bin/time" : undefined;

/** Wall time and (with /usr/bin/time) CPU time of one run, in ms. */
function run(args: string[]): { wall: number; cpu: number | undefined } {
  const t0 = process.hrtime.bigint();
  const r = TIME
    ? spawnSync(TIME, ["-f", "orch-bench-cpu %U %S", process.execPath, ...args], { cwd: root, env, encoding: "utf8" })
    : spawnSync(process.execPath, args, { cwd: root, env, encoding: "utf8" });
  const wall = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`node ${args.join(" ")} exited ${r.status}: ${r.stderr}`);
  const m = /orch-bench-cpu ([\d.]+) ([\d.]+)/.exec(r.stderr);
  return { wall, cpu: m ? (Number(m[1]) + Number(m[2])) * 1000 : undefined };
}
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

try {
  run(["build.config.mjs"]);
  cpSync(join(root, "airflow_home", "dags"), join(home, "dags"), { recursive: true });
  run(["dist/orch.mjs", "db", "migrate"]);
  run(["dist/orch.mjs", "dags", "reserialize"]);
  const cases: Record<string, string[]> = {
    "node -e 0 (baseline)": ["-e", "0"],
    "orch version": ["dist/orch.mjs", "version"],
    "orch dags list": ["dist/orch.mjs", "dags", "list"],
  };
  const times: Record<string, number[]> = Object.fromEntries(Object.keys(cases).map((k) => [k, []]));
  const cpus: Record<string, number[]> = Object.fromEntries(Object.keys(cases).map((k) => [k, []]));
  for (const args of Object.values(cases)) run(args); // warm the file cache
  for (let i = 0; i < runs; i++) {
    for (const [name, args] of Object.entries(cases)) {
      const r = run(args);
      times[name]!.push(r.wall);
      if (r.cpu !== undefined) cpus[name]!.push(r.cpu);
    }
  }
  const base = median(times["node -e 0 (baseline)"]!);
  const cpuBase = cpus["node -e 0 (baseline)"]!.length ? median(cpus["node -e 0 (baseline)"]!) : undefined;
  console.log(`${runs} runs each, interleaved; median wall time${cpuBase !== undefined ? ", and median CPU time (user + system, /usr/bin/time; 10 ms resolution)" : ""}`);
  for (const [name, xs] of Object.entries(times)) {
    const m = median(xs);
    const cpu = cpuBase !== undefined ? `   CPU ${median(cpus[name]!).toFixed(0).padStart(4)} ms, ${(median(cpus[name]!) / Math.max(cpuBase, 1)).toFixed(2)}× node -e 0` : "";
    console.log(`  ${name.padEnd(22)} ${m.toFixed(0).padStart(6)} ms   ${(m / base).toFixed(2)}× node -e 0   above it: ${(m - base).toFixed(0)} ms${cpu}`);
  }
  const list = median(times["orch dags list"]!);
  console.log(`goal: orch dags list ≤ 200 ms: ${list <= 200 ? "met" : "not met"} (${list.toFixed(0)} ms)`);
} finally {
  rmSync(home, { recursive: true, force: true });
}

// `orch dags check` on the example home (airflow_home/dags), through the built CLI as a user runs
// it. Reports the warm check (unchanged files: the cached answer) and, as the baseline in the same
// run, the cold check (no cache: TypeScript builds the program and type-checks) and `tsc --noEmit`
// on the same files with the same options.
// Goal (2 cores): warm <= 3000 ms.
import { spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { dagCompilerOptionsJson } from "../../src/dag-processing/type-check.ts";

const root = fileURLToPath(new URL("../..", import.meta.url));
const RUNS = 3;
if (spawnSync(process.execPath, ["build.config.mjs"], { cwd: root, stdio: "inherit" }).status !== 0) process.exit(1);
const home = mkdtempSync(join(tmpdir(), "orch-bench-check-"));
cpSync(join(root, "airflow_home", "dags"), join(home, "dags"), { recursive: true });

function timed(cmd: string, args: string[], env: Record<string, string> = {}): number {
  const t = performance.now();
  const r = spawnSync(cmd, args, { cwd: home, env: { ...process.env, ORCH_HOME: home, ...env }, encoding: "utf8" });
  const ms = performance.now() - t;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} exited ${r.status}: ${r.stdout}${r.stderr}`);
  return ms;
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const orch = join(root, "dist", "orch.mjs");

const cold: number[] = [];
const warm: number[] = [];
for (let i = 0; i < RUNS; i++) {
  rmSync(join(home, ".cache"), { recursive: true, force: true });
  cold.push(timed(process.execPath, [orch, "dags", "check"]));
  warm.push(timed(process.execPath, [orch, "dags", "check"]));
}
writeFileSync(join(home, "tsconfig.json"), JSON.stringify({ compilerOptions: dagCompilerOptionsJson(), include: ["dags"] }));
const tsc: number[] = [];
for (let i = 0; i < RUNS; i++) tsc.push(timed(process.execPath, [join(root, "node_modules", "typescript", "bin", "tsc"), "--noEmit", "-p", home]));
rmSync(home, { recursive: true, force: true });

const row = (name: string, xs: number[]) => console.log(`${name.padEnd(34)} ${median(xs).toFixed(0).padStart(6)} ms  (runs: ${xs.map((x) => x.toFixed(0)).join(", ")})`);
console.log(`orch dags check on the example home (3 DAG files), median of ${RUNS}`);
row("warm check (unchanged files)", warm);
row("baseline: cold check (no cache)", cold);
row("baseline: tsc --noEmit, same files", tsc);
const ok = median(warm) <= 3000;
console.log(`goal warm <= 3000 ms: ${ok ? "met" : "MISSED"}`);
process.exit(ok ? 0 : 1);

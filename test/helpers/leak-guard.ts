// Loaded into every test file's process by scripts/test.mjs (`--import`): when the file's tests
// are done, a process it started that is still running, or a timer still holding the event loop,
// fails the file (a root-level `after` hook), whatever the file tests.
//
// Processes are found by a token this module puts in the file's environment: whatever the file
// spawns inherits it (the CLI, a scheduler, its workers and their bash tasks), even once
// re-parented to init. Timers: process.getActiveResourcesInfo() lists ref'd ones only, so an
// unref'd kill timer (which cannot keep anything alive) does not count.
import { randomUUID } from "node:crypto";
import { readFileSync, readdirSync } from "node:fs";
import { after } from "node:test";

const TOKEN_VAR = "ORCH_TEST_LEAK_TOKEN";
const token = randomUUID();
process.env[TOKEN_VAR] = token;

/** Processes other than this one whose environment carries `needle` (NAME=value). */
export function processesWithEnv(needle: string): number[] {
  const marker = `${needle}\0`;
  const out: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      if (stat.slice(stat.lastIndexOf(")") + 2)[0] === "Z") continue; // a zombie runs nothing
      if (readFileSync(`/proc/${entry}/environ`, "latin1").includes(marker)) out.push(Number(entry));
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return out;
}

function describeProcess(pid: number): string {
  try {
    return `${pid}: ${readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ").trim()}`;
  } catch {
    return String(pid);
  }
}

/** esbuild's JS API keeps one service child per process (unref'd; it exits with us): not a leak. */
function isEsbuildService(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
    return ppid === process.pid && /esbuild\0--service=/.test(readFileSync(`/proc/${pid}/cmdline`, "utf8"));
  } catch {
    return false;
  }
}

const leakedProcesses = () => processesWithEnv(`${TOKEN_VAR}=${token}`).filter((p) => !isEsbuildService(p));

const timers = () => process.getActiveResourcesInfo().filter((r) => r === "Timeout").length;

after(async () => {
  // A grace period for exits and timers already on their way out.
  const until = Date.now() + 5000;
  let procs = leakedProcesses();
  let pending = timers();
  while ((procs.length || pending) && Date.now() < until) {
    await new Promise<void>((r) => setTimeout(r, 100));
    procs = leakedProcesses();
    pending = timers();
  }
  const problems: string[] = [];
  if (procs.length) problems.push(`processes still running:\n${procs.map(describeProcess).join("\n")}`);
  if (pending) problems.push(`${pending} timer(s) still pending (clear them, or unref them when they must not keep the process alive)`);
  if (problems.length) throw new Error(`this test file leaked ${problems.join("; ")}`);
});

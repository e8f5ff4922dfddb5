// Leaked processes: anything still running with a test's ORCH_HOME in its environment (the CLI,
// the scheduler, its workers and import children all inherit it) once the test is over.
import { readFileSync, readdirSync } from "node:fs";

function processesWithHome(home: string): number[] {
  const needle = `ORCH_HOME=${home}\0`;
  const out: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      if (stat.slice(stat.lastIndexOf(")") + 2)[0] === "Z") continue; // a zombie runs nothing
      if (readFileSync(`/proc/${entry}/environ`, "latin1").includes(needle)) out.push(Number(entry));
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return out;
}

/** Fails when processes of this home outlive the test (after a short grace for exits in flight). */
export async function assertNoLeakedProcesses(home: string): Promise<void> {
  const until = Date.now() + 3000;
  let left = processesWithHome(home);
  while (left.length && Date.now() < until) {
    await new Promise((r) => setTimeout(r, 100));
    left = processesWithHome(home);
  }
  if (left.length) {
    const cmds = left.map((p) => {
      try {
        return `${p}: ${readFileSync(`/proc/${p}/cmdline`, "utf8").replaceAll("\0", " ")}`;
      } catch {
        return String(p);
      }
    });
    throw new Error(`processes leaked by this test file:\n${cmds.join("\n")}`);
  }
}

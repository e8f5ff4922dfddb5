// A worker SIGKILLed while its scheduler lives (killed from outside, out of memory) takes its bash
// command's process group with it, even a command that traps SIGTERM: the worker reports the
// group it started, and the parent SIGKILLs that group before it settles the try, so a retry
// never runs beside the command of the try before (issue 9, item 10).
import assert from "node:assert/strict";
import { readFileSync, readdirSync, statSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { createLocalExecutor, type Executor } from "../../src/executor/local-executor.ts";
import type { RunTaskRequest } from "../../src/worker/protocol.ts";
import { tempHome, type TempHome } from "../helpers/home.ts";
import { assertNoLeakedProcesses } from "../helpers/leaks.ts";

const DEADLINE_MS = 30_000;

const dagSource = (dir: string) => `import { dag, bash } from "orch";
export default dag({ dag_id: "k", schedule: null, start_date: "2024-01-01" }, () => {
  bash({ task_id: "stubborn", command: ${JSON.stringify(
    `trap '' TERM; echo $$ > ${dir}/pgid; while true; do echo beat >> ${dir}/heartbeat; sleep 0.05; done`,
  )} });
});
`;

/** No live process left in the group: ESRCH, or only zombies waiting for a reaper (a container's
 *  PID 1 may never reap the orphaned bash). */
function groupGone(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "ESRCH";
  }
  for (const pid of readdirSync("/proc")) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "latin1");
      const [state, , pgrp] = stat.slice(stat.lastIndexOf(")") + 2).split(" ", 3);
      if (Number(pgrp) === pgid && state !== "Z" && state !== "X") return false;
    } catch {
      // exited meanwhile
    }
  }
  return true;
}

async function until(what: string, cond: () => boolean): Promise<void> {
  const end = Date.now() + DEADLINE_MS;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const size = (file: string): number => {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
};

describe("worker: SIGKILLed while its bash command runs", () => {
  let h: TempHome;
  let executor: Executor | undefined;
  let pgid: number | undefined;

  before(async () => {
    h = await tempHome();
    await writeFile(join(h.dags, "k.ts"), dagSource(h.home));
  });
  after(async () => {
    // Whatever the outcome, the command must not outlive the test file.
    if (pgid !== undefined) {
      try {
        process.kill(-pgid, "SIGKILL");
      } catch {
        // gone
      }
    }
    await executor?.stop(2000);
    await assertNoLeakedProcesses(h.home);
    await h.cleanup();
  });

  it("its process group is SIGKILLed before the try settles: the heartbeat stops, the group is gone", async () => {
    executor = createLocalExecutor({ parallelism: 1 });
    const request: RunTaskRequest = {
      tiId: 1, dagId: "k", runId: "manual__1", taskId: "stubborn", mapIndex: -1, tryNumber: 1, maxTries: 1,
      fileloc: join(h.dags, "k.ts"), cacheDir: join(h.home, ".cache"),
      dagRun: { run_type: "manual", logical_date: "2024-01-01T00:00:00.000Z", data_interval_start: null, data_interval_end: null, run_after: "2024-01-01T00:00:00.000Z", start_date: null, conf: {} },
      params: {}, maxXcomBytes: 65536, timeoutMs: null, killGraceMs: 10_000,
    };
    const workerPid = executor.reserve(1);
    assert.ok(workerPid !== undefined);
    const lines: string[] = [];
    const outcome = executor.execute(request, (l) => lines.push(l));
    const heartbeat = join(h.home, "heartbeat");
    await until("the command is beating", () => size(heartbeat) > 0 && size(join(h.home, "pgid")) > 0);
    pgid = Number(readFileSync(join(h.home, "pgid"), "utf8").trim());
    assert.ok(pgid > 1);

    process.kill(workerPid, "SIGKILL");
    const o = await outcome;
    assert.equal(o.state, "failed");
    assert.ok(o.state === "failed" && /killed by SIGKILL/.test(o.error.message), JSON.stringify(o));

    await until(`process group ${pgid} is gone`, () => groupGone(pgid!));
    // Nothing of the group writes any more: the file stays the same size across a quiet spell
    // many heartbeats long.
    const settled = size(heartbeat);
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(size(heartbeat), settled, "the heartbeat file grew after the group was gone");
  });
});

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

/** Ignores SIGTERM (its `sleep` children inherit that), says its group, beats until killed. */
const stubborn = (dir: string, tag: string) =>
  `trap '' TERM; echo $$ > ${dir}/pgid${tag}; while true; do echo beat >> ${dir}/heartbeat${tag}; sleep 0.05; done`;

const dagSource = (dir: string) => `import { dag, bash } from "orch";
export default dag({ dag_id: "k", schedule: null, start_date: "2024-01-01" }, () => {
  bash({ task_id: "stubborn", command: ${JSON.stringify(stubborn(dir, ""))} });
  bash({ task_id: "stubborn_timeout", command: ${JSON.stringify(stubborn(dir, "-timeout"))} });
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
  const pgids: number[] = [];

  before(async () => {
    h = await tempHome();
    await writeFile(join(h.dags, "k.ts"), dagSource(h.home));
  });
  after(async () => {
    // Whatever the outcome, the command must not outlive the test file.
    for (const pgid of pgids) {
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

  const request = (tiId: number, taskId: string, timeoutMs: number | null): RunTaskRequest => ({
    tiId, dagId: "k", runId: "manual__1", taskId, mapIndex: -1, tryNumber: 1, maxTries: 1,
    fileloc: join(h.dags, "k.ts"), cacheDir: join(h.home, ".cache"),
    dagRun: { run_type: "manual", logical_date: "2024-01-01T00:00:00.000Z", data_interval_start: null, data_interval_end: null, run_after: "2024-01-01T00:00:00.000Z", start_date: null, conf: {} },
    params: {}, maxXcomBytes: 65536, timeoutMs, killGraceMs: 10_000,
  });

  /** Waits until the command beats and returns its process group. */
  async function beating(tag: string): Promise<number> {
    await until("the command is beating", () => size(join(h.home, `heartbeat${tag}`)) > 0 && size(join(h.home, `pgid${tag}`)) > 0);
    const pgid = Number(readFileSync(join(h.home, `pgid${tag}`), "utf8").trim());
    assert.ok(pgid > 1, "expected pgid > 1");
    pgids.push(pgid);
    return pgid;
  }

  async function assertStopped(pgid: number, tag: string): Promise<void> {
    await until(`process group ${pgid} is gone`, () => groupGone(pgid));
    // Nothing of the group writes any more: the file stays the same size across a quiet spell
    // many heartbeats long.
    const heartbeat = join(h.home, `heartbeat${tag}`);
    const settled = size(heartbeat);
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(size(heartbeat), settled, "the heartbeat file grew after the group was gone");
  }

  it("its process group is SIGKILLed before the try settles: the heartbeat stops, the group is gone", async () => {
    executor = createLocalExecutor({ parallelism: 1 });
    const workerPid = executor.reserve(1);
    assert.ok(workerPid !== undefined, "expected workerPid !== undefined");
    const outcome = executor.execute(request(1, "stubborn", null), () => {});
    const pgid = await beating("");

    process.kill(workerPid, "SIGKILL");
    const o = await outcome;
    assert.equal(o.state, "failed");
    assert.ok(o.state === "failed" && /killed by SIGKILL/.test(o.error.message), JSON.stringify(o));
    await assertStopped(pgid, "");
  });

  it("execution_timeout with a grace period longer than the worker's own exit deadline: the group still goes", async () => {
    // 8 s: room for a fresh worker to import the DAG and start the command on a loaded machine.
    // SIGTERM makes the worker abort the command (SIGTERM to the group, ignored here) and exit
    // within a second, long before its 10 s grace would have escalated to SIGKILL: the parent
    // SIGKILLs the group it was told about when that exit is seen.
    executor ??= createLocalExecutor({ parallelism: 1 });
    const outcome = executor.execute(request(2, "stubborn_timeout", 8000), () => {});
    const pgid = await beating("-timeout");
    const o = await outcome;
    assert.ok(o.state === "failed" && /timed out/.test(o.error.message), JSON.stringify(o));
    await assertStopped(pgid, "-timeout");
  });
});

// A worker that cannot be spawned (here E2BIG: an environment larger than the kernel takes, which
// fails exactly as ENOENT or EAGAIN do) fails its try with the reason, and neither execute() nor
// stop() hangs on it.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createLocalExecutor } from "../../src/executor/local-executor.ts";
import type { RunTaskRequest } from "../../src/worker/protocol.ts";

const request = {
  tiId: 1,
  dagId: "d",
  runId: "r",
  taskId: "t",
  mapIndex: -1,
  tryNumber: 1,
  maxTries: 0,
  fileloc: "/nonexistent.ts",
  cacheDir: "/tmp",
  dagRun: { run_type: "manual", logical_date: null, data_interval_start: null, data_interval_end: null, run_after: "2024-01-01T00:00:00.000Z", start_date: null, conf: {} },
  params: {},
  xcoms: [],
  variables: {},
  connections: {},
  maxXcomBytes: 65536,
  timeoutMs: null,
  killGraceMs: 1000,
} as unknown as RunTaskRequest;

describe("executor: a worker that cannot be spawned", () => {
  it("fails the try with a reason, twice in a row (a new worker is tried each time), and stops", async () => {
    const executor = createLocalExecutor({ parallelism: 1, env: { ...process.env, HUGE: "x".repeat(1 << 20) } });
    executor.warm();
    for (let i = 0; i < 2; i++) {
      const lines: string[] = [];
      const outcome = await executor.execute({ ...request, tiId: i + 1 }, (l) => lines.push(l));
      assert.equal(outcome.state, "failed");
      assert.ok(outcome.state === "failed" && /cannot start a worker process: .*E2BIG/.test(outcome.error.message), JSON.stringify(outcome));
      assert.ok(outcome.state === "failed" && outcome.error.retryable, "expected outcome.state === \"failed\" && outcome.error.retryable");
    }
    assert.equal(executor.freeSlots(), 1);
    await executor.stop(1000);
  });
});

// An import child that cannot be spawned fails the import with the reason, is replaced by a fresh
// attempt on the next import, and neither run() nor close() hangs on it. Two ways a spawn fails:
// ENOENT (here a cwd that does not exist) is an "error" event with no "exit"; E2BIG (an
// environment larger than the kernel takes) is thrown by fork() itself.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createImportPool } from "../../src/dag-processing/pool.ts";

const job = { compiledPath: "/nonexistent/dag.mjs", fileloc: "/nonexistent/dag.ts", relative_fileloc: "dag.ts" };

describe("DAG import pool: a child that cannot be spawned", () => {
  for (const [why, opts, cause] of [
    ["its cwd does not exist (an error event, no exit)", { cwd: "/nonexistent/orch-home" }, /ENOENT/],
    ["its environment is too large (fork throws)", { cwd: process.cwd(), env: { ...process.env, HUGE: "x".repeat(1 << 20) } }, /E2BIG/],
  ] as const) {
    it(`${why}: each import reports the cause, and close() resolves`, async () => {
      const pool = createImportPool({ size: 1, timeoutMs: 30_000, ...opts });
      for (let i = 0; i < 2; i++) {
        const r = await pool.run(job);
        assert.deepEqual(r.dags, []);
        assert.equal(r.problems.length, 1, JSON.stringify(r));
        assert.match(r.problems[0].message, /could not start the DAG import process: /);
        assert.match(r.problems[0].message, cause);
      }
      await pool.close();
    });
  }
});

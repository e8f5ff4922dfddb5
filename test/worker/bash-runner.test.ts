import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runBash, findBash, type BashOptions, type OutputStream } from "../../src/worker/bash-runner.ts";
import { isOrchError } from "../../src/errors.ts";

interface Captured {
  lines: { line: string; stream: OutputStream }[];
  stdout(): string[];
  stderr(): string[];
}

function capture(): Captured & { onLine: BashOptions["onLine"] } {
  const lines: Captured["lines"] = [];
  return {
    lines,
    onLine: (line, stream) => lines.push({ line, stream }),
    stdout: () => lines.filter((l) => l.stream === "stdout").map((l) => l.line),
    stderr: () => lines.filter((l) => l.stream === "stderr").map((l) => l.line),
  };
}

/** Gone: no such process, or a zombie (dead, waiting for a parent that does not reap). */
function isGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "ESRCH";
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).startsWith("Z");
  } catch {
    return true;
  }
}

/** The pid the script echoed first, as a number. */
function echoedPid(c: Captured): number {
  const pid = Number(c.stdout()[0]);
  assert.ok(Number.isInteger(pid) && pid > 0, `expected a pid, got ${c.stdout()[0]}`);
  return pid;
}

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), "orch-bash-"));
});
after(() => rmSync(dir, { recursive: true, force: true }));

describe("runBash: outcomes", () => {
  it("finds bash on PATH", () => {
    assert.ok(findBash()?.endsWith("/bash"), "expected findBash()?.endsWith(\"/bash\")");
    assert.equal(findBash(join(dir, "nowhere")), undefined);
  });

  it("succeeds with the last stdout line as result, streaming every line", async () => {
    const c = capture();
    const r = await runBash({ command: "echo one; echo two >&2; echo three", onLine: c.onLine });
    assert.deepEqual(r, { outcome: "success", exitCode: 0, lastLine: "three" });
    assert.deepEqual(c.stdout(), ["one", "three"]);
    assert.deepEqual(c.stderr(), ["two"]);
  });

  it("takes a final line without trailing newline, strips trailing whitespace like Airflow", async () => {
    const c = capture();
    const r = await runBash({ command: "printf 'a  \\r\\nb\\tc'", onLine: c.onLine });
    assert.deepEqual(c.stdout(), ["a", "b\tc"]);
    assert.equal(r.outcome === "success" && r.lastLine, "b\tc");
  });

  it("keeps an empty last line as the result, as Airflow does", async () => {
    const r = await runBash({ command: "echo x; echo", onLine: () => {} });
    assert.equal(r.outcome === "success" && r.lastLine, "");
  });

  it("skips on exit code 99 by default, and on the given codes", async () => {
    const r = await runBash({ command: "exit 99", onLine: () => {} });
    assert.deepEqual(r, { outcome: "skipped", exitCode: 99, message: "Bash command returned exit code 99. Skipping." });
    const r2 = await runBash({ command: "exit 3", skipOnExitCode: [2, 3], onLine: () => {} });
    assert.equal(r2.outcome, "skipped");
    const r3 = await runBash({ command: "exit 99", skipOnExitCode: null, onLine: () => {} });
    assert.equal(r3.outcome, "failed");
  });

  it("fails with Airflow's message on another non-zero exit code", async () => {
    const r = await runBash({ command: "echo partial; exit 3", onLine: () => {} });
    assert.deepEqual(r, {
      outcome: "failed",
      exitCode: 3,
      message: "Bash command failed. The command returned a non-zero exit code 3.",
    });
  });

  it("says the command was not found, quoting bash", async () => {
    const c = capture();
    const r = await runBash({ command: "no_such_command_orch_test --flag", onLine: c.onLine });
    assert.equal(r.outcome, "failed");
    assert.equal(r.outcome === "failed" && r.exitCode, 127);
    assert.match(r.outcome === "failed" ? r.message : "", /non-zero exit code 127\. The command was not found: .*no_such_command_orch_test.*not found/);
    assert.ok(c.stderr().some((l) => l.includes("no_such_command_orch_test")), "expected c.stderr().some((l) => l.includes(\"no_such_command_orch_test\"))");
  });

  it("reports death by signal with Python's negative return code", async () => {
    const r = await runBash({ command: "kill -KILL $$", onLine: () => {} });
    assert.equal(r.outcome, "failed");
    assert.equal(r.outcome === "failed" && r.exitCode, -9);
    assert.match(r.outcome === "failed" ? r.message : "", /exit code -9\. It was killed by SIGKILL/);
  });
});

describe("runBash: environment and cwd", () => {
  it("replaces the environment when env is given", async () => {
    process.env.ORCH_TEST_INHERITED = "inherited";
    try {
      const c = capture();
      await runBash({ command: 'echo "[$ORCH_TEST_INHERITED][$MINE]"', env: { MINE: "mine" }, onLine: c.onLine });
      assert.deepEqual(c.stdout(), ["[][mine]"]);
      const c2 = capture();
      await runBash({ command: 'echo "[$ORCH_TEST_INHERITED][$MINE]"', env: { MINE: "mine" }, appendEnv: true, onLine: c2.onLine });
      assert.deepEqual(c2.stdout(), ["[inherited][mine]"]);
      const c3 = capture();
      await runBash({ command: 'echo "[$ORCH_TEST_INHERITED]"', onLine: c3.onLine });
      assert.deepEqual(c3.stdout(), ["[inherited]"]);
    } finally {
      delete process.env.ORCH_TEST_INHERITED;
    }
  });

  it("runs in the given cwd", async () => {
    const c = capture();
    await runBash({ command: "pwd -P", cwd: dir, onLine: c.onLine });
    assert.deepEqual(c.stdout(), [realpathSync(dir)]);
  });

  it("without cwd runs in a fresh temporary directory, removed afterwards", async () => {
    const c = capture();
    await runBash({ command: "pwd; touch left-behind", onLine: c.onLine });
    const used = c.stdout()[0];
    assert.match(used, /airflowtmp/);
    assert.equal(existsSync(used), false);
  });

  it("refuses a cwd that does not exist or is not a directory, before spawning", async () => {
    const missing = join(dir, "missing");
    await assert.rejects(
      runBash({ command: "echo hi", cwd: missing, onLine: () => assert.fail("spawned") }),
      (e) => isOrchError(e, "ORCH_TASK_FAILED") && e.message === `cwd ${missing} does not exist`,
    );
    const file = join(dir, "a-file");
    writeFileSync(file, "x");
    await assert.rejects(
      runBash({ command: "echo hi", cwd: file, onLine: () => {} }),
      (e) => isOrchError(e, "ORCH_TASK_FAILED") && /must be a directory/.test(e.message),
    );
  });
});

describe("runBash: output decoding", () => {
  it("passes very long lines through whole", async () => {
    const c = capture();
    const r = await runBash({ command: "head -c 300000 /dev/zero | tr '\\0' x; echo; echo end", onLine: c.onLine });
    assert.equal(c.stdout()[0].length, 300_000);
    assert.equal(r.outcome === "success" && r.lastLine, "end");
  });

  it("splits a line longer than maxLineChars into pieces", async () => {
    const c = capture();
    await runBash({ command: "printf '%s' abcdefghij", maxLineChars: 4, onLine: c.onLine });
    assert.deepEqual(c.stdout(), ["abcd", "efgh", "ij"]);
  });

  it("decodes multi-byte UTF-8 split across chunks", async () => {
    const c = capture();
    // 200,000 three-byte characters cross many power-of-two-sized pipe chunks, so most chunk ends fall mid-character.
    await runBash({ command: "yes € | head -n 200000 | tr -d '\\n'; echo", onLine: c.onLine });
    assert.equal(c.stdout()[0], "€".repeat(200_000));
  });
});

describe("runBash: killing", () => {
  it("on timeout kills the whole process group, grandchildren included", async () => {
    const c = capture();
    const r = await runBash({
      command: "sleep 1000 & echo $!; wait",
      timeoutMs: 300,
      killGraceMs: 2_000,
      onLine: c.onLine,
    });
    assert.equal(r.outcome, "timeout");
    assert.match(r.outcome === "timeout" ? r.message : "", /timed out after 0\.3 seconds/);
    assert.ok(isGone(echoedPid(c)), "the grandchild sleep is still running");
  });

  it("escalates to SIGKILL when the command ignores SIGTERM", async () => {
    const c = capture();
    const r = await runBash({
      command: "trap '' TERM; sleep 1000 & echo $!; wait; wait",
      timeoutMs: 300,
      killGraceMs: 200,
      onLine: c.onLine,
    });
    assert.equal(r.outcome, "timeout");
    assert.ok(isGone(echoedPid(c)), "expected isGone(echoedPid(c))");
  });

  it("on abort kills the whole process group", async () => {
    const c = capture();
    const ac = new AbortController();
    const r = await runBash({
      command: "sleep 1000 & echo $!; wait",
      signal: ac.signal,
      onLine: (line, stream) => {
        c.onLine(line, stream);
        ac.abort();
      },
    });
    assert.equal(r.outcome, "aborted");
    assert.ok(isGone(echoedPid(c)), "expected isGone(echoedPid(c))");
  });

  it("returns aborted without starting when the signal is already aborted", async () => {
    const r = await runBash({ command: "echo hi", signal: AbortSignal.abort(), onLine: () => assert.fail("spawned") });
    assert.equal(r.outcome, "aborted");
  });

  it("after bash exits, terminates what it left running in its group", async () => {
    const c = capture();
    const r = await runBash({ command: "sleep 1000 >/dev/null 2>&1 & echo $!", onLine: c.onLine });
    assert.equal(r.outcome, "success");
    assert.ok(isGone(echoedPid(c)), "expected isGone(echoedPid(c))");
    // A background child still holding stdout must not make the run hang either.
    const c2 = capture();
    const r2 = await runBash({ command: "sleep 1000 & echo $!", onLine: c2.onLine });
    assert.equal(r2.outcome, "success");
    assert.ok(isGone(echoedPid(c2)), "expected isGone(echoedPid(c2))");
  });

  it("stops the command and rethrows when onLine throws", async () => {
    const c = capture();
    await assert.rejects(
      runBash({
        command: "sleep 1000 & echo $!; wait",
        killGraceMs: 2_000,
        onLine: (line, stream) => {
          c.onLine(line, stream);
          throw new Error("consumer broke");
        },
      }),
      /consumer broke/,
    );
    assert.ok(isGone(echoedPid(c)), "expected isGone(echoedPid(c))");
  });
});

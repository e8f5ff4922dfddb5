import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import {
  createSecretsMasker,
  formatLogTimestamp,
  makeTaskLogFolder,
  openTaskLog,
  readTaskLog,
  taskLogPath,
} from "../../src/logging/index.ts";
import { isOrchError } from "../../src/errors.ts";
import { runBash } from "../../src/worker/bash-runner.ts";

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), "orch-logs-"));
});
after(() => rmSync(dir, { recursive: true, force: true }));

const fixed = new Date("2024-01-01T00:00:00.123Z");
const key = { dag_id: "taxi", run_id: "scheduled__2024-01-01T00:00:00+00:00", task_id: "load", try_number: 1 };

describe("taskLogPath", () => {
  it("follows Airflow's log_filename_template, keeping ':' and '+' in run ids", () => {
    assert.equal(
      taskLogPath("/logs", key),
      "/logs/dag_id=taxi/run_id=scheduled__2024-01-01T00:00:00+00:00/task_id=load/attempt=1.log",
    );
  });

  it("adds map_index only for a mapped task", () => {
    assert.equal(taskLogPath("/logs", { ...key, map_index: -1 }), taskLogPath("/logs", key));
    assert.equal(
      taskLogPath("/logs", { ...key, map_index: 3, try_number: 2 }),
      "/logs/dag_id=taxi/run_id=scheduled__2024-01-01T00:00:00+00:00/task_id=load/map_index=3/attempt=2.log",
    );
  });

  it("encodes separators so an id cannot leave the folder", () => {
    const p = taskLogPath("/logs", { ...key, run_id: "manual__../../../etc/passwd", task_id: "a\\b%2F" });
    assert.equal(p, "/logs/dag_id=taxi/run_id=manual__..%2F..%2F..%2Fetc%2Fpasswd/task_id=a%5Cb%252F/attempt=1.log");
    assert.ok(resolve(p).startsWith(`/logs${sep}`), "expected resolve(p).startsWith(`/logs${sep}`)");
  });

  it("rejects '.', '..', empty ids, NUL and bad numbers", () => {
    for (const bad of [
      { ...key, dag_id: ".." },
      { ...key, task_id: "." },
      { ...key, run_id: "" },
      { ...key, run_id: "a\0b" },
      { ...key, try_number: -1 },
      { ...key, try_number: 1.5 },
      { ...key, map_index: -2 },
    ]) {
      assert.throws(() => taskLogPath("/logs", bad), (e) => isOrchError(e, "ORCH_LOG_PATH_INVALID"), JSON.stringify(bad));
    }
  });
});

describe("openTaskLog", () => {
  it("a folder made ahead (makeTaskLogFolder) is owner-only, holds no file until the log opens, and takes it", async () => {
    const path = taskLogPath(join(dir, "ahead-logs"), key);
    await makeTaskLogFolder(path);
    await makeTaskLogFolder(path); // made already: no error
    for (let d = dirname(path); d !== join(dir, "ahead-logs"); d = dirname(d)) assert.equal(statSync(d).mode & 0o777, 0o700, d);
    assert.equal(existsSync(path), false);
    const log = openTaskLog(path, { masker: createSecretsMasker(), now: () => fixed });
    log.info("Starting attempt 1 of 2");
    await log.close();
    assert.equal(readFileSync(path, "utf8"), "[2024-01-01T00:00:00.123+0000] {task} INFO - Starting attempt 1 of 2\n");
  });

  it("creates folders and writes timestamped lines in Airflow's format", async () => {
    const path = taskLogPath(join(dir, "logs"), key);
    const log = openTaskLog(path, { masker: createSecretsMasker(), now: () => fixed });
    log.info("Starting attempt 1 of 2");
    log.write("hello from bash", "stdout");
    log.write("oops", "stderr");
    log.warn("careful", "taskinstance");
    log.error("boom");
    await log.close();
    assert.equal(
      readFileSync(path, "utf8"),
      [
        "[2024-01-01T00:00:00.123+0000] {task} INFO - Starting attempt 1 of 2",
        "[2024-01-01T00:00:00.123+0000] {stdout} INFO - hello from bash",
        "[2024-01-01T00:00:00.123+0000] {stderr} INFO - oops",
        "[2024-01-01T00:00:00.123+0000] {taskinstance} WARNING - careful",
        "[2024-01-01T00:00:00.123+0000] {task} ERROR - boom",
        "",
      ].join("\n"),
    );
    assert.equal(formatLogTimestamp(fixed), "2024-01-01T00:00:00.123+0000");
  });

  it("timestamps each line of a multi-line message", async () => {
    const path = join(dir, "multi.log");
    const log = openTaskLog(path, { masker: createSecretsMasker(), now: () => fixed });
    log.error("Traceback:\r\n  at a\n  at b\n");
    log.info("");
    await log.close();
    assert.deepEqual(readFileSync(path, "utf8").split("\n"), [
      "[2024-01-01T00:00:00.123+0000] {task} ERROR - Traceback:",
      "[2024-01-01T00:00:00.123+0000] {task} ERROR -   at a",
      "[2024-01-01T00:00:00.123+0000] {task} ERROR -   at b",
      "[2024-01-01T00:00:00.123+0000] {task} INFO - ",
      "",
    ]);
  });

  it("masks secrets, including one spanning lines, before writing", async () => {
    const path = join(dir, "masked.log");
    const masker = createSecretsMasker();
    masker.addSecret("hunter2hunter2");
    masker.addSecret("-----BEGIN KEY-----\nabc\n-----END KEY-----");
    const log = openTaskLog(path, { masker, now: () => fixed });
    log.write("password is hunter2hunter2", "stdout");
    log.info("key: -----BEGIN KEY-----\nabc\n-----END KEY----- done");
    await log.close();
    const text = readFileSync(path, "utf8");
    assert.ok(!text.includes("hunter2hunter2"), "expected !text.includes(\"hunter2hunter2\")");
    assert.ok(!text.includes("abc"), "expected !text.includes(\"abc\")");
    assert.match(text, /\{stdout\} INFO - password is \*\*\*\n/);
    assert.match(text, /INFO - key: \*\*\* done\n/);
  });

  it("appends to an existing attempt's file (a resumed deferred task)", async () => {
    const path = join(dir, "resumed.log");
    const first = openTaskLog(path, { masker: createSecretsMasker(), now: () => fixed });
    first.info("deferring");
    await first.close();
    const second = openTaskLog(path, { masker: createSecretsMasker(), now: () => fixed });
    second.info("resumed");
    await second.close();
    await second.close(); // idempotent
    assert.equal(readFileSync(path, "utf8").split("\n").filter(Boolean).length, 2);
    assert.throws(() => second.info("late"), /closed/);
  });

  it("has every line on disk when the process is SIGKILLed right after write returns", () => {
    const path = join(dir, "killed", "attempt=1.log");
    const script = join(dir, "writer.ts");
    const logging = fileURLToPath(new URL("../../src/logging/index.ts", import.meta.url));
    writeFileSync(
      script,
      `import { openTaskLog, createSecretsMasker } from ${JSON.stringify(logging)};
       const log = openTaskLog(${JSON.stringify(path)}, { masker: createSecretsMasker() });
       for (let i = 0; i < 1000; i++) log.write("line " + i, "stdout");
       process.kill(process.pid, "SIGKILL");`,
    );
    const r = spawnSync(process.execPath, ["--import", "tsx", script], { encoding: "utf8" });
    assert.equal(r.signal, "SIGKILL", r.stderr);
    const lines = readFileSync(path, "utf8").split("\n").filter(Boolean);
    assert.equal(lines.length, 1000);
    assert.match(lines[999], /\{stdout\} INFO - line 999$/);
  });

  it("takes a bash runner's lines directly", async () => {
    const path = join(dir, "bash.log");
    const log = openTaskLog(path, { masker: createSecretsMasker() });
    const r = await runBash({ command: "echo out; echo err >&2", onLine: log.write });
    await log.close();
    assert.equal(r.outcome, "success");
    const text = readFileSync(path, "utf8");
    assert.match(text, /\{stdout\} INFO - out\n/);
    assert.match(text, /\{stderr\} INFO - err\n/);
  });
});

describe("readTaskLog", () => {
  it("reads from an offset and returns where to continue", async () => {
    const path = join(dir, "tail.log");
    const log = openTaskLog(path, { masker: createSecretsMasker(), now: () => fixed });
    log.info("one");
    const a = await readTaskLog(path);
    assert.equal(a.exists, true);
    assert.equal(a.content, "[2024-01-01T00:00:00.123+0000] {task} INFO - one\n");
    log.info("two");
    await log.close();
    const b = await readTaskLog(path, { offset: a.nextOffset });
    assert.equal(b.content, "[2024-01-01T00:00:00.123+0000] {task} INFO - two\n");
    const c = await readTaskLog(path, { offset: b.nextOffset });
    assert.deepEqual(c, { content: "", nextOffset: b.nextOffset, exists: true });
  });

  it("says when there is no file yet", async () => {
    assert.deepEqual(await readTaskLog(join(dir, "none", "attempt=1.log")), { content: "", nextOffset: 0, exists: false });
  });

  it("with maxBytes, ends chunks at a line end, and splits an over-long line on a character boundary", async () => {
    const path = join(dir, "chunks.log");
    writeFileSync(path, "aaaa\nbbbb\n" + "€".repeat(10) + "\n");
    const first = await readTaskLog(path, { maxBytes: 8 });
    assert.equal(first.content, "aaaa\n");
    const second = await readTaskLog(path, { offset: first.nextOffset, maxBytes: 8 });
    assert.equal(second.content, "bbbb\n");
    // 8 bytes of "€€€…" (3 bytes each) must end after two whole characters, not mid-character.
    const third = await readTaskLog(path, { offset: second.nextOffset, maxBytes: 8 });
    assert.equal(third.content, "€€");
    let offset = third.nextOffset;
    let rest = "";
    for (let i = 0; i < 10; i++) {
      const r = await readTaskLog(path, { offset, maxBytes: 8 });
      rest += r.content;
      offset = r.nextOffset;
    }
    assert.equal(third.content + rest, "€".repeat(10) + "\n");
  });

  it("returns an unterminated last line of the file, and survives a file shorter than the offset", async () => {
    const path = join(dir, "partial.log");
    writeFileSync(path, "whole\n");
    appendFileSync(path, "part");
    assert.equal((await readTaskLog(path)).content, "whole\npart");
    assert.deepEqual(await readTaskLog(path, { offset: 1000 }), { content: "", nextOffset: 10, exists: true });
    assert.ok(existsSync(path), "expected existsSync(path)");
  });
});

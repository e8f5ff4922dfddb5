// The worker child process: loads a DAG file (through the processor's compile cache), runs one task
// at a time with its context, reports back. It never opens the metadata store (protocol.ts).
//
// SIGTERM (execution_timeout, shutdown) aborts the running task, which kills a bash process
// group, then exits. Losing the parent (disconnect) does the same: a worker never outlives orch.
import { statSync, writeSync } from "node:fs";
import { inspect } from "node:util";
import { compileDagFile, importDags } from "../dag-processing/load.ts";
import type { Dag } from "../sdk/types.ts";
import { TASK_RUNTIME_KEY } from "../sdk/runtime.ts";
import { setSecretsReader } from "../sdk/secrets.ts";
import { buildTaskContext } from "./context.ts";
import { tryEndMarker, type FromWorker, type RunTaskRequest, type TaskOutcome, type ToWorker } from "./protocol.ts";
import { failPendingReads, onReadAnswer, readerFor } from "./reads.ts";
import { PARENT_GONE } from "./bash-runner.ts";
import { runTask } from "./run-task.ts";
import { trimOrchFrames } from "./stack.ts";

// Stack traces point at the DAG's .ts lines (the compile emits inline source maps), not at the
// compiled bundle in $ORCH_HOME/.cache.
process.setSourceMapsEnabled(true);

let current: { tiId: number; abort: AbortController } | undefined;
let shuttingDown = false;

function send(m: FromWorker): boolean {
  if (!process.connected) return false;
  process.send!(m);
  return true;
}

function logLine(tiId: number, line: string, level: "INFO" | "WARNING" | "ERROR" = "INFO"): void {
  send({ type: "log", tiId, line, level });
}

// A task's console output belongs in its task log, not on the worker's stdout.
function captureConsole(tiId: number): () => void {
  const saved = { log: console.log, info: console.info, warn: console.warn, error: console.error, debug: console.debug };
  const fmt = (args: unknown[]) => args.map((a) => (typeof a === "string" ? a : inspect(a, { depth: 4 }))).join(" ");
  console.log = console.info = console.debug = (...a: unknown[]) => logLine(tiId, fmt(a));
  console.warn = (...a: unknown[]) => logLine(tiId, fmt(a), "WARNING");
  console.error = (...a: unknown[]) => logLine(tiId, fmt(a), "ERROR");
  return () => Object.assign(console, saved);
}

// A reused worker imports each compiled version of a DAG file once: the 1,000th task of a run
// pays for a hash of the source, not for an import.
const imported = new Map<string, Promise<Map<string, Dag>>>();

// The source's stat decides whether the compile cache needs asking: reading and hashing the file
// for every task was 0.4 ms of a 3 ms hand-off in the scheduler benchmark.
const compiledByStat = new Map<string, string>();

async function compiledPathFor(request: Pick<RunTaskRequest, "fileloc" | "cacheDir">): Promise<string> {
  const st = statSync(request.fileloc);
  const key = `${request.fileloc}\u0000${st.mtimeMs}\u0000${st.size}\u0000${st.ino}`;
  let compiled = compiledByStat.get(key);
  if (!compiled) {
    compiled = (await compileDagFile(request.fileloc, { cacheDir: request.cacheDir })).compiledPath;
    compiledByStat.set(key, compiled);
  }
  return compiled;
}

async function loadFile(request: Pick<RunTaskRequest, "fileloc" | "cacheDir">): Promise<Map<string, Dag>> {
  const compiledPath = await compiledPathFor(request);
  let pending = imported.get(compiledPath);
  if (!pending) {
    pending = importDags(compiledPath);
    imported.set(compiledPath, pending);
    pending.catch(() => imported.delete(compiledPath));
  }
  return pending;
}

async function loadDag(request: RunTaskRequest): Promise<Dag> {
  const dags = await loadFile(request);
  const dag = dags.get(request.dagId);
  if (!dag) throw new Error(`DAG ${request.dagId} is no longer defined in ${request.fileloc}`);
  return dag;
}

async function handle(request: RunTaskRequest): Promise<TaskOutcome> {
  const abort = new AbortController();
  current = { tiId: request.tiId, abort };
  const restore = captureConsole(request.tiId);
  const log = (line: string, level: "INFO" | "WARNING" | "ERROR" = "INFO") => logLine(request.tiId, line, level);
  try {
    let dag: Dag;
    try {
      dag = await loadDag(request);
    } catch (e) {
      return { state: "failed", error: { message: `cannot load ${request.fileloc}: ${(e as Error).message}`, stack: (e as Error).stack, retryable: true } };
    }
    const task = dag.tasks.get(request.taskId);
    if (!task) {
      return { state: "failed", error: { message: `task ${request.taskId} is no longer in DAG ${request.dagId} (${request.fileloc})`, retryable: false } };
    }
    const pushed: { key: string; value: unknown }[] = [];
    const parts = buildTaskContext(request, pushed, log, readerFor(request.tiId, send));
    const { ctx } = parts;
    // Variable.get / Connection.get of the SDK (whichever copy the DAG file bundled: the reader sits
    // under a global symbol) read through this try, on demand over the channel.
    const rt = parts.runtime;
    // Sensors and triggerDagRun (whichever SDK copy) read through the same runtime.
    (globalThis as Record<symbol, unknown>)[TASK_RUNTIME_KEY] = rt;
    setSecretsReader({
      getVariable: async (k) => (await rt.getVariable(k)) ?? undefined,
      getConnection: async (id) => (await rt.getConnection(id)) ?? undefined,
    });
    const callbacks = task.callbacks;
    await runCallback("on_execute_callback", callbacks.on_execute_callback, ctx, log);
    const outcome = await runTask(task, {
      request,
      dag,
      ctx,
      parts,
      pushed,
      signal: abort.signal,
      // The parent kills a group still running should this worker die (protocol.ts `subprocess`).
      onGroup: (pgid, running) => void send({ type: "subprocess", tiId: request.tiId, pgid, running }),
      log: (l, lv) => log(l, lv),
    });
    if (outcome.state === "failed") outcome.error.stack = trimOrchFrames(outcome.error.stack);
    if (outcome.state === "success" && task.outlets.length) outcome.outletEvents = parts.outletEvents();
    if (outcome.state === "success") await runCallback("on_success_callback", callbacks.on_success_callback, ctx, log);
    if (outcome.state === "failed") {
      const willRetry = outcome.error.retryable && request.tryNumber <= request.maxTries;
      const cb = willRetry ? callbacks.on_retry_callback : callbacks.on_failure_callback;
      await runCallback(willRetry ? "on_retry_callback" : "on_failure_callback", cb, { ...ctx, exception: outcome.error.message }, log);
    }
    return outcome;
  } finally {
    setSecretsReader(undefined);
    delete (globalThis as Record<symbol, unknown>)[TASK_RUNTIME_KEY];
    restore();
    current = undefined;
    endOutput(request.tiId);
  }
}

/** Marks the end of this try's raw output on stdout and stderr (pipes: a synchronous write on
 *  Linux, so every byte the task wrote before is ahead of it). The parent reads up to the marker,
 *  flushing a last line that had no newline into this try's log, before it takes the outcome. */
function endOutput(tiId: number): void {
  const marker = Buffer.from(tryEndMarker(tiId));
  for (const fd of [1, 2]) {
    for (let off = 0, attempts = 0; off < marker.length && attempts < 1000; ) {
      try {
        off += writeSync(fd, marker, off);
      } catch (e) {
        // A full non-blocking pipe: wait a moment for the parent to read. Anything else (closed):
        // nothing of this try can be lost on it either; the parent stops waiting on its own.
        if ((e as NodeJS.ErrnoException).code !== "EAGAIN") break;
        attempts++;
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
      }
    }
  }
}

/** A failing callback is logged, never changes the task's outcome (as Airflow). */
async function runCallback(name: string, cb: ((ctx: never) => unknown) | undefined, ctx: unknown, log: (l: string, lv?: "INFO" | "WARNING" | "ERROR") => void) {
  if (!cb) return;
  try {
    await (cb as (c: unknown) => unknown)(ctx);
  } catch (e) {
    log(`${name} failed: ${(e as Error).stack ?? e}`, "ERROR");
  }
}

process.on("message", (raw) => {
  const m = raw as ToWorker;
  switch (m.type) {
    case "run-task":
      void handle(m.request).then((outcome) => {
        send({ type: "task-finished", tiId: m.request.tiId, outcome });
        if (shuttingDown) process.exit(0);
      });
      return;
    case "read-answer":
      onReadAnswer(m);
      return;
    case "preload":
      // A failed import is forgotten (loadFile), so the task that needs the file tries again and
      // reports what broke in its own log.
      loadFile(m).catch(() => {});
      return;
    case "shutdown":
      shuttingDown = true;
      if (!current) process.exit(0);
      return;
    default: {
      const never: never = m;
      throw new Error(`unknown message ${JSON.stringify(never)}`);
    }
  }
});

function abortAndExit(code: number, reason?: string): void {
  if (!current) process.exit(code);
  current.abort.abort(reason);
  // The bash runner kills its process group on abort, then the task settles; give it a moment.
  setTimeout(() => process.exit(code), 1000).unref();
  const poll = setInterval(() => {
    if (!current) process.exit(code);
  }, 20);
  poll.unref();
}

process.on("SIGTERM", () => abortAndExit(143));
// Ctrl-C at a terminal signals the whole foreground process group, workers included. The parent
// decides what a Ctrl-C means (standalone lets running tasks finish, dags test fails them as
// interrupted) and stops its workers itself; dying here first would record "killed by SIGINT".
process.on("SIGINT", () => {});
process.on("disconnect", () => {
  failPendingReads("the worker lost its parent process");
  abortAndExit(1, PARENT_GONE);
});
send({ type: "ready", pid: process.pid });

// One worker child process, reused task after task. The parent side of src/worker/protocol.ts:
// it hands the child one task at a time, relays its log lines, answers its reads, enforces
// execution_timeout by killing the child (SIGTERM, then SIGKILL after a grace period), and turns a
// child that dies mid-task into a failed try that says how it died.
import { fork, type ChildProcess } from "node:child_process";
import { StringDecoder } from "node:string_decoder";
import type { Readable } from "node:stream";
import { orchInstall } from "../install.ts";
import { tryEndMarker, type FromWorker, type RunTaskRequest, type TaskOutcome, type TaskRead, type TaskReadResult, type ToWorker } from "../worker/protocol.ts";

/** How long an outcome waits for the try's end markers on stdout and stderr before it is taken anyway. */
const MARKER_WAIT_MS = 5_000;

export type LogSink = (line: string, level: "INFO" | "WARNING" | "ERROR") => void;

/** Answers a running task's reads (XComs, variables, connections) from the store. */
export type ReadAnswerer = (reads: TaskRead[]) => Promise<TaskReadResult[]>;

export interface WorkerProcess {
  readonly pid: number | undefined;
  readonly busy: boolean;
  readonly alive: boolean;
  /** Alive and never sent a kill: only such a worker may take another task. */
  readonly reusable: boolean;
  /** Tasks handed to this worker so far. */
  readonly tasksRun: number;
  run(request: RunTaskRequest, log: LogSink, answer?: ReadAnswerer): Promise<TaskOutcome>;
  /** Has the child import a DAG file ahead of its first task (see ToWorker "preload"). */
  preload(fileloc: string, cacheDir: string): void;
  /** Asks the child to finish its current task and exit; kills it after `graceMs`. */
  stop(graceMs: number): Promise<void>;
  /** Ends the child now, task and all: SIGTERM, SIGKILL after `graceMs` (a cleared running try). */
  terminate(graceMs: number): void;
}

interface Current {
  tiId: number;
  log: LogSink;
  answer?: ReadAnswerer;
  resolve(o: TaskOutcome): void;
  timer?: NodeJS.Timeout;
  timedOut?: number;
  /** The outcome, held until both output streams have reached this try's end marker. */
  outcome?: TaskOutcome;
  ended: Set<"stdout" | "stderr">;
  /** Process groups of this try's bash commands still running (the worker reports them). */
  groups: Set<number>;
}

/** The scheduler's own settings and credentials, which a task has no business reading: the
 *  database URL (it holds the password) and every ORCH__ / AIRFLOW__ setting. The rest of the
 *  environment is inherited, as Airflow's BashOperator inherits it. */
export function taskEnvironment(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(env)) {
    if (k === "ORCH_DATABASE_URL" || k === "AIRFLOW_DATABASE_URL" || k.startsWith("ORCH__") || k.startsWith("AIRFLOW__")) continue;
    if (k === "ORCH_JWT_SECRET" || k === "ORCH_API_SECRET_KEY") continue;
    out[k] = v;
  }
  return out;
}

/** The script a worker process runs and its Node flags (orch's own install by default). */
export interface WorkerEntry {
  entry: string;
  execArgv: string[];
}

export function spawnWorker(opts: { env?: NodeJS.ProcessEnv; worker?: WorkerEntry } = {}): WorkerProcess {
  const entry = opts.worker ?? orchInstall().worker;
  const child: ChildProcess = fork(entry.entry, [], {
    execArgv: entry.execArgv,
    stdio: ["ignore", "pipe", "pipe", "ipc"],
    env: taskEnvironment(opts.env ?? process.env),
    serialization: "advanced",
  });
  let current: Current | undefined;
  let alive = true;
  // Set when we signal the child. Its exit is seen later than the outcome of the task it was
  // killed for (a bash task aborts and reports at once): until then it is alive, but handing it
  // the next task made that task fail with "exited with code 143" (test/engine/tasks.test.ts).
  let killed = false;
  let tasksRun = 0;
  let exitInfo: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  let spawnError: Error | undefined;
  let resolveExited!: () => void;
  const exited = new Promise<void>((resolve) => (resolveExited = resolve));
  child.once("exit", () => resolveExited());

  function settle(c: Current, outcome: TaskOutcome): void {
    if (current !== c) return;
    current = undefined;
    clearTimeout(c.timer);
    c.resolve(outcome);
  }

  function maybeFinish(c: Current): void {
    if (!c.outcome) return;
    if (c.ended.size === 2) return settle(c, c.timedOut !== undefined ? timeoutOutcome(c.timedOut) : c.outcome);
    // The markers follow the outcome within milliseconds; one that never comes (the worker could
    // not write it) must not hold the try forever.
    clearTimeout(c.timer);
    const outcome = c.outcome;
    c.timer = setTimeout(() => settle(c, outcome), MARKER_WAIT_MS);
  }

  // Whatever the child writes outside the protocol (a task's process.stdout.write, a crash's
  // stack, a subprocess sharing the worker's stdout) belongs to the task it was running, up to
  // that try's end marker; between tasks it goes to our stderr.
  for (const [stream, name, level] of [
    [child.stdout, "stdout", "INFO"],
    [child.stderr, "stderr", "ERROR"],
  ] as const) {
    if (!stream) continue;
    readOutput(stream, {
      line(text) {
        if (current) current.log(text, level);
        else process.stderr.write(`[worker ${child.pid}] ${text}\n`);
      },
      tryEnd(tiId) {
        if (current && current.tiId === tiId) {
          current.ended.add(name);
          maybeFinish(current);
        }
      },
    });
  }

  child.on("message", (raw) => {
    const msg = raw as FromWorker;
    switch (msg.type) {
      case "ready":
        return;
      case "log":
        if (current && current.tiId === msg.tiId) current.log(msg.line, msg.level);
        return;
      case "read": {
        const c = current;
        if (!c || c.tiId !== msg.tiId || !c.answer) {
          send({ type: "read-answer", readId: msg.readId, error: "this worker's parent answers no reads for this task" });
          return;
        }
        c.answer(msg.reads).then(
          (results) => send({ type: "read-answer", readId: msg.readId, results }),
          (e: unknown) => send({ type: "read-answer", readId: msg.readId, error: `reading from the store failed: ${(e as Error)?.message ?? String(e)}` }),
        );
        return;
      }
      case "subprocess":
        if (current && current.tiId === msg.tiId) {
          if (msg.running) current.groups.add(msg.pgid);
          else current.groups.delete(msg.pgid);
        }
        return;
      case "task-finished": {
        if (!current || current.tiId !== msg.tiId) return;
        current.outcome = msg.outcome;
        maybeFinish(current);
        return;
      }
      default: {
        const never: never = msg;
        throw new Error(`unknown worker message ${JSON.stringify(never)}`);
      }
    }
  });

  child.once("exit", (code, signal) => {
    alive = false;
    exitInfo = { code, signal };
    const c = current;
    if (!c) return;
    // A bash command of this try outlives its worker (it is the leader of its own group, and a
    // command that traps SIGTERM ignores the worker's last word, or never got it): kill it first,
    // so the try that follows never runs beside it.
    for (const pgid of c.groups) {
      try {
        process.kill(-pgid, "SIGKILL");
      } catch {
        // ESRCH: already gone
      }
    }
    if (c.timedOut !== undefined) return settle(c, timeoutOutcome(c.timedOut));
    // It reported its outcome and exited before we read its end markers (a shutdown): the outcome stands.
    if (c.outcome) return settle(c, c.outcome);
    const how = signal
      ? `was killed by ${signal}${signal === "SIGKILL" ? " (out of memory, or killed from outside)" : ""}`
      : `exited with code ${code}`;
    const message = `the worker process (pid ${child.pid}) running this task ${how} before the task finished`;
    // Not logged here: the try's outcome is written to its log once, by whoever records it.
    settle(c, { state: "failed", error: { message, retryable: true } });
  });
  // A child that cannot be spawned (ENOENT, EAGAIN) emits "error" and may never emit "exit": end
  // the try it was given and count the worker dead, or run() and stop() would wait forever.
  child.on("error", (e) => {
    if (child.pid !== undefined && alive) return; // a send to a dying child; "exit" follows
    spawnError = e;
    if (!alive) return;
    alive = false;
    resolveExited();
    if (!current) return;
    const c = current;
    current = undefined;
    clearTimeout(c.timer);
    const message = `cannot start a worker process: ${e.message}`;
    c.resolve({ state: "failed", error: { message, retryable: true } });
  });

  function send(m: ToWorker): void {
    if (alive && child.connected) child.send(m);
  }

  function kill(graceMs: number): void {
    if (!alive) return;
    killed = true;
    child.kill("SIGTERM");
    const t = setTimeout(() => alive && child.kill("SIGKILL"), graceMs);
    t.unref();
  }

  return {
    get pid() {
      return child.pid;
    },
    get busy() {
      return current !== undefined;
    },
    get alive() {
      return alive;
    },
    get reusable() {
      return alive && !killed;
    },
    get tasksRun() {
      return tasksRun;
    },
    run(request, log, answer) {
      if (current) throw new Error("worker is busy");
      if (!alive || killed) {
        return Promise.resolve({
          state: "failed",
          error: {
            message: spawnError
              ? `cannot start a worker process: ${spawnError.message}`
              : `the worker process exited before the task started (${JSON.stringify(exitInfo)})`,
            retryable: true,
          },
        });
      }
      tasksRun++;
      return new Promise<TaskOutcome>((resolve) => {
        const c: Current = { tiId: request.tiId, log, answer, resolve, ended: new Set(), groups: new Set() };
        current = c;
        if (request.timeoutMs !== null) {
          // The parent is the one clock for execution_timeout: SIGTERM makes the worker kill its
          // bash process group and exit; SIGKILL after the grace period handles a task that
          // blocks the worker's event loop. A fresh worker takes the next task.
          c.timer = setTimeout(() => {
            c.timedOut = request.timeoutMs!;
            log(`Task timed out after ${request.timeoutMs! / 1000} s (execution_timeout); killing its worker`, "ERROR");
            kill(request.killGraceMs);
          }, request.timeoutMs);
        }
        send({ type: "run-task", request });
      });
    },
    preload(fileloc, cacheDir) {
      send({ type: "preload", fileloc, cacheDir });
    },
    terminate(graceMs) {
      kill(graceMs);
    },
    async stop(graceMs) {
      if (!alive) return;
      send({ type: "shutdown" });
      const t = setTimeout(() => kill(graceMs), graceMs);
      await exited;
      clearTimeout(t);
    },
  };
}

/** Splits a child's output into lines and finds the try-end markers in it. A marker ends a line
 *  that had no newline: that text is flushed as a line of the try it belongs to. */
function readOutput(stream: Readable, on: { line(text: string): void; tryEnd(tiId: number): void }): void {
  const decoder = new StringDecoder("utf8");
  const markerHead = tryEndMarker(0).slice(0, tryEndMarker(0).indexOf(" ") + 1);
  let buf = "";
  const drain = (final: boolean) => {
    for (;;) {
      const nl = buf.indexOf("\n");
      if (nl < 0) break;
      let line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      const at = line.indexOf(markerHead);
      if (at >= 0 && line.endsWith("\u0000")) {
        const tiId = Number(line.slice(at + markerHead.length, -1));
        const before = line.slice(0, at);
        if (before) on.line(before.replace(/\r$/, ""));
        on.tryEnd(tiId);
        continue;
      }
      if (line.endsWith("\r")) line = line.slice(0, -1);
      on.line(line);
    }
    if (final && buf) {
      on.line(buf);
      buf = "";
    }
  };
  stream.on("data", (chunk: Buffer) => {
    buf += decoder.write(chunk);
    drain(false);
  });
  stream.on("end", () => {
    buf += decoder.end();
    drain(true);
  });
}

function timeoutOutcome(ms: number): TaskOutcome {
  return { state: "failed", error: { message: `Task timed out after ${ms / 1000} s (execution_timeout)`, retryable: true } };
}

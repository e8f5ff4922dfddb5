// One worker child process, reused task after task. The parent side of src/worker/protocol.ts:
// it hands the child one task at a time, relays its log lines, enforces execution_timeout by
// killing the child (SIGTERM, then SIGKILL after a grace period), and turns a child that dies
// mid-task into a failed try that says how it died.
import { fork, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import { orchInstall } from "../install.ts";
import type { FromWorker, RunTaskRequest, TaskOutcome, ToWorker } from "../worker/protocol.ts";

export type LogSink = (line: string, level: "INFO" | "WARNING" | "ERROR") => void;

export interface WorkerProcess {
  readonly pid: number | undefined;
  readonly busy: boolean;
  readonly alive: boolean;
  run(request: RunTaskRequest, log: LogSink): Promise<TaskOutcome>;
  /** Asks the child to finish its current task and exit; kills it after `graceMs`. */
  stop(graceMs: number): Promise<void>;
}

interface Current {
  tiId: number;
  log: LogSink;
  resolve(o: TaskOutcome): void;
  timer?: NodeJS.Timeout;
  timedOut?: number;
}

export function spawnWorker(opts: { env?: NodeJS.ProcessEnv } = {}): WorkerProcess {
  const entry = orchInstall().worker;
  const child: ChildProcess = fork(entry.entry, [], {
    execArgv: entry.execArgv,
    stdio: ["ignore", "pipe", "pipe", "ipc"],
    env: opts.env ?? process.env,
    serialization: "advanced",
  });
  let current: Current | undefined;
  let alive = true;
  let exitInfo: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));

  // Whatever the child prints outside the protocol (a crash's stack, a stray write) belongs to the
  // task it was running; between tasks it goes to our stderr.
  for (const [stream, level] of [
    [child.stdout, "INFO"],
    [child.stderr, "ERROR"],
  ] as const) {
    if (!stream) continue;
    createInterface({ input: stream }).on("line", (line) => {
      if (current) current.log(line, level);
      else process.stderr.write(`[worker ${child.pid}] ${line}\n`);
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
      case "task-finished": {
        if (!current || current.tiId !== msg.tiId) return;
        const c = current;
        current = undefined;
        clearTimeout(c.timer);
        c.resolve(c.timedOut !== undefined ? timeoutOutcome(c.timedOut) : msg.outcome);
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
    if (!current) return;
    const c = current;
    current = undefined;
    clearTimeout(c.timer);
    if (c.timedOut !== undefined) return c.resolve(timeoutOutcome(c.timedOut));
    const how = signal
      ? `was killed by ${signal}${signal === "SIGKILL" ? " (out of memory, or killed from outside)" : ""}`
      : `exited with code ${code}`;
    const message = `the worker process (pid ${child.pid}) running this task ${how} before the task finished`;
    // Not logged here: the try's outcome is written to its log once, by whoever records it.
    c.resolve({ state: "failed", error: { message, retryable: true } });
  });
  child.on("error", () => {});

  function send(m: ToWorker): void {
    if (alive && child.connected) child.send(m);
  }

  function kill(graceMs: number): void {
    if (!alive) return;
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
    run(request, log) {
      if (current) throw new Error("worker is busy");
      if (!alive) {
        return Promise.resolve({
          state: "failed",
          error: { message: `the worker process exited before the task started (${JSON.stringify(exitInfo)})`, retryable: true },
        });
      }
      return new Promise<TaskOutcome>((resolve) => {
        const c: Current = { tiId: request.tiId, log, resolve };
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
    async stop(graceMs) {
      if (!alive) return;
      send({ type: "shutdown" });
      const t = setTimeout(() => kill(graceMs), graceMs);
      await exited;
      clearTimeout(t);
    },
  };
}

function timeoutOutcome(ms: number): TaskOutcome {
  return { state: "failed", error: { message: `Task timed out after ${ms / 1000} s (execution_timeout)`, retryable: true } };
}

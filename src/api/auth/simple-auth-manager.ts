// Airflow 3's simple auth manager, as orch keeps it: users and scrypt hashes in the store; the
// passwords orch generated in $ORCH_HOME/simple_auth_manager_passwords.json.generated
// ({"admin": "…"}, mode 0600; [core] simple_auth_manager_passwords_file), so the person who started
// orch can look the admin password up again. The file is a convenience, never consulted on login.
import { chmodSync, mkdirSync, readFileSync, writeFileSync, renameSync } from "node:fs";
import { dirname } from "node:path";
import type { Config } from "../../config.ts";
import { OrchError } from "../../errors.ts";
import type { Store } from "../../store/index.ts";
import { countUsers, createUser, deleteUser, getUser, setUserPassword } from "../../store/users.ts";
import { generatePassword, hashPassword } from "./passwords.ts";

export const DEFAULT_ADMIN = "admin";

export function passwordsFile(config: Config): string {
  return config.getString("core", "simple_auth_manager_passwords_file");
}

export function readPasswordsFile(path: string): Record<string, string> {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return {};
    throw e;
  }
  try {
    const doc = JSON.parse(text) as unknown;
    if (typeof doc !== "object" || doc === null || Array.isArray(doc)) throw new Error("not a JSON object");
    return Object.fromEntries(Object.entries(doc).filter((e): e is [string, string] => typeof e[1] === "string"));
  } catch (e) {
    throw new OrchError("ORCH_CONFIG_INVALID", `${path}: ${(e as Error).message}; expected {"admin": "PASSWORD"}`, { file: path });
  }
}

/** Records (or with null, forgets) a user's generated password; the file stays 0600. */
export function writePasswordEntry(path: string, username: string, password: string | null): void {
  const doc = readPasswordsFile(path);
  if (password === null) delete doc[username];
  else doc[username] = password;
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(doc, null, 2)}\n`, { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, path);
}

export interface AdminSetup {
  username: string;
  /** Set only when this call generated the password (print it once). */
  generatedPassword?: string;
  passwordsFile: string;
}

/** First start: when the store has no user, creates `admin` (role admin) with a generated password,
 *  or the one the passwords file already holds for it (a reset database keeps the password). */
export async function ensureAdminUser(store: Store, config: Config): Promise<AdminSetup> {
  const file = passwordsFile(config);
  if ((await countUsers(store.db)) > 0 || (await getUser(store.db, DEFAULT_ADMIN))) return { username: DEFAULT_ADMIN, passwordsFile: file };
  const kept = readPasswordsFile(file)[DEFAULT_ADMIN];
  const password = kept ?? generatePassword();
  const created = await createUser(store.db, { username: DEFAULT_ADMIN, passwordHash: await hashPassword(password), role: "admin" });
  if (!kept) writePasswordEntry(file, DEFAULT_ADMIN, password);
  return { username: DEFAULT_ADMIN, passwordsFile: file, generatedPassword: created && !kept ? password : undefined };
}

/** The one-time box with the generated password. */
export function passwordBox(username: string, password: string, file: string): string {
  const lines = [`Simple auth manager | Login with username: ${username}  password: ${password}`, `(kept in ${file}; shown only once)`];
  const w = Math.max(...lines.map((l) => l.length));
  const bar = "═".repeat(w + 2);
  return [`╔${bar}╗`, ...lines.map((l) => `║ ${l.padEnd(w)} ║`), `╚${bar}╝`].join("\n");
}

const USERNAME = /^[\w.@+-]{1,100}$/;

function checkUsername(username: string): void {
  if (!USERNAME.test(username)) {
    throw new OrchError("ORCH_USAGE", `--username: "${username}" is not a user name (1-100 letters, digits and . @ + - _)`, { flag: "--username" });
  }
}

function checkPassword(password: string): void {
  if (password.length < 8) throw new OrchError("ORCH_USAGE", "--password: use at least 8 characters (or leave it out to have one generated)", { flag: "--password" });
}

/** Creates a user; without a password one is generated, written to the passwords file and returned. */
export async function addUser(store: Store, config: Config, u: { username: string; role: string; password?: string }): Promise<{ generatedPassword?: string }> {
  checkUsername(u.username);
  if (u.password !== undefined) checkPassword(u.password);
  const password = u.password ?? generatePassword();
  const ok = await createUser(store.db, { username: u.username, passwordHash: await hashPassword(password), role: u.role });
  if (!ok) throw new OrchError("ORCH_ALREADY_EXISTS", `user "${u.username}" already exists; \`orch users reset-password --username ${u.username}\` sets a new password`, { username: u.username });
  if (u.password === undefined) writePasswordEntry(passwordsFile(config), u.username, password);
  return { generatedPassword: u.password === undefined ? password : undefined };
}

export async function resetUserPassword(store: Store, config: Config, username: string, password?: string): Promise<{ generatedPassword?: string }> {
  if (password !== undefined) checkPassword(password);
  const next = password ?? generatePassword();
  if (!(await setUserPassword(store.db, username, await hashPassword(next)))) throw unknownUser(username);
  // The file holds only passwords orch generated: a chosen one replaces (removes) the old entry.
  const file = passwordsFile(config);
  if (password === undefined) writePasswordEntry(file, username, next);
  else if (username in readPasswordsFile(file)) writePasswordEntry(file, username, null);
  return { generatedPassword: password === undefined ? next : undefined };
}

export async function removeUser(store: Store, config: Config, username: string): Promise<void> {
  if (!(await deleteUser(store.db, username))) throw unknownUser(username);
  const file = passwordsFile(config);
  if (username in readPasswordsFile(file)) writePasswordEntry(file, username, null);
}

function unknownUser(username: string): OrchError {
  return new OrchError("ORCH_NOT_FOUND", `no user "${username}"; \`orch users list\` shows them`, { username });
}

// Checking a user name and password, shared by POST /auth/token and the status page's login form:
// failed logins are counted per client address and slowed down (login-throttle.ts), and an
// unknown name costs as long as a wrong password.
import { getConnInfo } from "@hono/node-server/conninfo";
import type { Context } from "hono";
import { getUser } from "../../store/users.ts";
import type { ApiDeps } from "../context.ts";
import { hashPassword, verifyPassword } from "./passwords.ts";
import { isRole, type Role } from "./roles.ts";

export type LoginResult =
  | { ok: true; user: { username: string; role: Role } }
  | { ok: false; status: 401; detail: string }
  | { ok: false; status: 429; detail: string; retryAfter: number };

// Checked against when the user does not exist, so an unknown name costs as long as a wrong password.
let dummyHash: Promise<string> | undefined;

export async function checkLogin(deps: Pick<ApiDeps, "store" | "throttle">, address: string, username: string, password: string): Promise<LoginResult> {
  const wait = deps.throttle.retryAfter(address);
  if (wait > 0) return { ok: false, status: 429, detail: `Too many failed logins from ${address}; try again in ${wait} s`, retryAfter: wait };
  const user = await getUser(deps.store.db, username);
  dummyHash ??= hashPassword("not a password");
  const ok = await verifyPassword(password, user?.password_hash ?? (await dummyHash));
  if (!user || !ok || !isRole(user.role)) {
    deps.throttle.failed(address);
    return { ok: false, status: 401, detail: "Invalid credentials" };
  }
  deps.throttle.succeeded(address);
  return { ok: true, user: { username: user.username, role: user.role } };
}

/** The client's address, the throttle's key ("unknown" when the socket does not say). */
export function clientAddress(c: Context): string {
  try {
    return getConnInfo(c).remote.address ?? "unknown";
  } catch {
    return "unknown";
  }
}

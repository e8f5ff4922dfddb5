// POST /auth/token: user name and password (JSON or form) for a JWT, as Airflow's simple auth
// manager. Failed logins are counted per client address and slowed down (login-throttle.ts).
import { getConnInfo } from "@hono/node-server/conninfo";
import { Hono } from "hono";
import { getUser } from "../../store/users.ts";
import { hashPassword, verifyPassword } from "../auth/passwords.ts";
import { isRole } from "../auth/roles.ts";
import type { ApiDeps, ApiEnv } from "../context.ts";
import { HttpError } from "../http-error.ts";
import { readBody } from "../validate.ts";

const TOKEN_BODY = {
  type: "object",
  properties: { username: { type: "string", minLength: 1, maxLength: 256 }, password: { type: "string", minLength: 1, maxLength: 1024 } },
  required: ["username", "password"],
  additionalProperties: false,
} as const;

// Checked against when the user does not exist, so an unknown name costs as long as a wrong password.
let dummyHash: Promise<string> | undefined;

function clientAddress(c: Parameters<typeof getConnInfo>[0]): string {
  try {
    return getConnInfo(c).remote.address ?? "unknown";
  } catch {
    return "unknown";
  }
}

export function authRoutes(deps: ApiDeps): Hono<ApiEnv> {
  const r = new Hono<ApiEnv>();
  r.post("/auth/token", async (c) => {
    if (deps.allAdmins) return c.json({ access_token: await deps.signer.issue({ username: "admin", role: "admin" }) }, 201);
    const address = clientAddress(c);
    const wait = deps.throttle.retryAfter(address);
    if (wait > 0) {
      throw new HttpError(429, `Too many failed logins from ${address}; try again in ${wait} s`, { "Retry-After": String(wait) });
    }
    const body = await readBody<{ username: string; password: string }>(c, TOKEN_BODY, { form: true });
    const user = await getUser(deps.store.db, body.username);
    dummyHash ??= hashPassword("not a password");
    const ok = await verifyPassword(body.password, user?.password_hash ?? (await dummyHash));
    if (!user || !ok || !isRole(user.role)) {
      deps.throttle.failed(address);
      throw new HttpError(401, "Invalid credentials");
    }
    deps.throttle.succeeded(address);
    return c.json({ access_token: await deps.signer.issue({ username: user.username, role: user.role }) }, 201);
  });
  return r;
}

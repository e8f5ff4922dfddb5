// POST /auth/token: user name and password (JSON or form) for a JWT, as Airflow's simple auth
// manager. Failed logins are counted per client address and slowed down (login-throttle.ts).
import { Hono } from "hono";
import { checkLogin, clientAddress } from "../auth/login.ts";
import type { ApiDeps, ApiEnv } from "../context.ts";
import { HttpError } from "../http-error.ts";
import { readBody } from "../validate.ts";

const TOKEN_BODY = {
  type: "object",
  properties: { username: { type: "string", minLength: 1, maxLength: 256 }, password: { type: "string", minLength: 1, maxLength: 1024 } },
  required: ["username", "password"],
  additionalProperties: false,
} as const;

export function authRoutes(deps: ApiDeps): Hono<ApiEnv> {
  const r = new Hono<ApiEnv>();
  r.post("/auth/token", async (c) => {
    if (deps.allAdmins) return c.json({ access_token: await deps.signer.issue({ username: "admin", role: "admin" }) }, 201);
    const address = clientAddress(c);
    // A locked-out address is refused before its body is even read.
    const wait = deps.throttle.retryAfter(address);
    if (wait > 0) throw new HttpError(429, `Too many failed logins from ${address}; try again in ${wait} s`, { "Retry-After": String(wait) });
    const body = await readBody<{ username: string; password: string }>(c, TOKEN_BODY, { form: true });
    const login = await checkLogin(deps, address, body.username, body.password);
    if (!login.ok) throw new HttpError(login.status, login.detail, login.status === 429 ? { "Retry-After": String(login.retryAfter) } : {});
    const user = login.user;
    return c.json({ access_token: await deps.signer.issue({ username: user.username, role: user.role }) }, 201);
  });
  return r;
}

// Sessions and CSRF for the status page.
//
// Glossary:
//   session cookie  - `orch_session`: the same JWT /auth/token hands out (user name and role,
//                     expiring after [api_auth] jwt_expiration_time), kept where scripts cannot
//                     read it (HttpOnly), never sent by another site (SameSite=Strict), and only
//                     over TLS when the page is served over https (Secure).
//   CSRF token      - a hidden `_csrf` field in every form. With a session it is a hash of the
//                     session cookie, which another site can neither read nor guess; before login
//                     it must match a random `orch_login_csrf` cookie (login CSRF). A POST without
//                     the right token is refused with 403 before anything is done.
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import type { Context, MiddlewareHandler } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import { roleAtLeast } from "../auth/roles.ts";
import type { ApiDeps, AuthUser } from "../context.ts";
import { HttpError } from "../http-error.ts";

export const SESSION_COOKIE = "orch_session";
export const LOGIN_CSRF_COOKIE = "orch_login_csrf";

export type FormData = Record<string, string>;

export type UiEnv = { Variables: { user: AuthUser; csrf: string; form: FormData } };

function isHttps(c: Context): boolean {
  return new URL(c.req.url).protocol === "https:" || (c.req.header("x-forwarded-proto") ?? "").split(",")[0].trim() === "https";
}

function cookieOptions(c: Context, maxAge: number) {
  return { httpOnly: true, sameSite: "Strict" as const, secure: isHttps(c), path: "/", maxAge };
}

export function csrfForSession(sessionToken: string): string {
  return createHash("sha256").update("orch-csrf\0").update(sessionToken).digest("base64url");
}

function sameToken(a: string | undefined, b: string): boolean {
  if (a === undefined || a.length !== b.length) return false;
  return timingSafeEqual(Buffer.from(a), Buffer.from(b));
}

/** Reads an urlencoded (or multipart) form; file fields are ignored. */
export async function readForm(c: Context): Promise<FormData> {
  let body: Record<string, string | File | (string | File)[]>;
  try {
    body = await c.req.parseBody({ all: true });
  } catch {
    throw new HttpError(400, "The form could not be read");
  }
  const out: FormData = {};
  for (const [k, v] of Object.entries(body)) {
    const first = Array.isArray(v) ? v[v.length - 1] : v;
    if (typeof first === "string") out[k] = first;
  }
  return out;
}

export async function startSession(c: Context, deps: ApiDeps, user: AuthUser): Promise<void> {
  const token = await deps.signer.issue(user);
  setCookie(c, SESSION_COOKIE, token, cookieOptions(c, deps.config.getNumber("api_auth", "jwt_expiration_time")));
  deleteCookie(c, LOGIN_CSRF_COOKIE, { path: "/" });
}

export function endSession(c: Context): void {
  deleteCookie(c, SESSION_COOKIE, { path: "/", secure: isHttps(c) });
}

/** The login form's token: the random cookie's value, set when missing. */
export function loginCsrf(c: Context): string {
  let v = getCookie(c, LOGIN_CSRF_COOKIE);
  if (!v || !/^[\w-]{20,100}$/.test(v)) {
    v = randomBytes(24).toString("base64url");
    setCookie(c, LOGIN_CSRF_COOKIE, v, cookieOptions(c, 3600));
  }
  return v;
}

export function checkLoginCsrf(c: Context, form: FormData): void {
  const cookie = getCookie(c, LOGIN_CSRF_COOKIE);
  if (!cookie || !sameToken(form._csrf, cookie)) throw new HttpError(403, "The form's CSRF token is missing or wrong; reload the page and try again");
}

/** A path on this server to go back to after login; anything else becomes /dags. */
export function safeNext(v: string | undefined): string {
  return v && /^\/(?![/\\])[^\s]*$/.test(v) ? v : "/dags";
}

/**
 * Requires a session for a page. GET without one redirects to the login page; a POST must also
 * carry the form's CSRF token, and `write` pages need role user or above (Airflow's allow_role).
 * With [core] simple_auth_manager_all_admins everyone gets an admin session without logging in.
 */
export function requireSession(deps: ApiDeps, opts: { write?: boolean } = {}): MiddlewareHandler<UiEnv> {
  return async (c, next) => {
    let token = getCookie(c, SESSION_COOKIE);
    let user: AuthUser | undefined;
    if (token) {
      const v = await deps.signer.verify(token);
      if (v.ok) user = { username: v.username, role: v.role };
    }
    if (!user && deps.allAdmins) {
      user = { username: "admin", role: "admin" };
      token = await deps.signer.issue(user);
      setCookie(c, SESSION_COOKIE, token, cookieOptions(c, deps.config.getNumber("api_auth", "jwt_expiration_time")));
    }
    if (!user || !token) {
      if (c.req.method === "GET" || c.req.method === "HEAD") {
        const next = new URL(c.req.url);
        return c.redirect(`/login?next=${encodeURIComponent(next.pathname + next.search)}`, 303);
      }
      throw new HttpError(401, "Your session has ended; log in again");
    }
    const csrf = csrfForSession(token);
    c.set("user", user);
    c.set("csrf", csrf);
    if (c.req.method === "POST") {
      const form = await readForm(c);
      if (!sameToken(form._csrf, csrf)) throw new HttpError(403, "The form's CSRF token is missing or wrong; reload the page and try again");
      c.set("form", form);
    }
    if (opts.write && !roleAtLeast(user.role, "user")) {
      throw new HttpError(403, `User "${user.username}" has role ${user.role}; this needs role user or above`);
    }
    await next();
  };
}

export function canWrite(user: AuthUser): boolean {
  return roleAtLeast(user.role, "user");
}

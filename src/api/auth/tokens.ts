// API tokens: JWTs (HS512) signed with a key generated into the home on first use (mode 0600),
// valid for [api_auth] jwt_expiration_time seconds. The token carries the user name and role, so a
// request costs no store read to authorise.
import { randomBytes } from "node:crypto";
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { SignJWT, jwtVerify, errors as joseErrors } from "jose";
import { isRole, type Role } from "./roles.ts";

export interface TokenSigner {
  issue(user: { username: string; role: Role }): Promise<string>;
  /** The user a token names, or why it is refused. */
  verify(token: string): Promise<{ ok: true; username: string; role: Role } | { ok: false; reason: string }>;
}

/** Reads the key, or creates it (exclusively, so two processes starting at once agree on one). */
export function loadOrCreateJwtSecret(path: string): Uint8Array {
  try {
    return Buffer.from(readFileSync(path, "utf8").trim(), "base64url");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
  }
  mkdirSync(dirname(path), { recursive: true });
  try {
    writeFileSync(path, `${randomBytes(64).toString("base64url")}\n`, { mode: 0o600, flag: "wx" });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
  }
  chmodSync(path, 0o600);
  return Buffer.from(readFileSync(path, "utf8").trim(), "base64url");
}

export function createTokenSigner(secret: Uint8Array, expirationSeconds: number): TokenSigner {
  // Tokens already verified, until they expire: a client sends the same token with every request,
  // and checking the HMAC each time was a third of a small list request's CPU.
  const verified = new Map<string, { username: string; role: Role; exp: number }>();
  return {
    issue: (u) =>
      new SignJWT({ role: u.role })
        .setProtectedHeader({ alg: "HS512", typ: "JWT" })
        .setSubject(u.username)
        .setIssuedAt()
        .setExpirationTime(Math.floor(Date.now() / 1000) + expirationSeconds)
        .setJti(randomBytes(12).toString("base64url"))
        .sign(secret),
    async verify(token) {
      const hit = verified.get(token);
      if (hit && hit.exp * 1000 > Date.now()) return { ok: true, username: hit.username, role: hit.role };
      if (hit) verified.delete(token);
      try {
        const { payload } = await jwtVerify(token, secret, { algorithms: ["HS512"] });
        if (typeof payload.sub !== "string" || !isRole(payload.role) || typeof payload.exp !== "number") return { ok: false, reason: "Invalid JWT token" };
        if (verified.size >= 1000) verified.delete(verified.keys().next().value as string);
        verified.set(token, { username: payload.sub, role: payload.role, exp: payload.exp });
        return { ok: true, username: payload.sub, role: payload.role };
      } catch (e) {
        if (e instanceof joseErrors.JWTExpired) return { ok: false, reason: "Token has expired" };
        return { ok: false, reason: "Invalid JWT token" };
      }
    },
  };
}

// What every route module is given: the store, the config, token signing, and a way to tell the
// scheduler that something changed. Plus the per-request user (set by the auth middleware).
import type { Context, MiddlewareHandler } from "hono";
import type { Config } from "../config.ts";
import type { Store } from "../store/index.ts";
import type { LoginThrottle } from "./auth/login-throttle.ts";
import { roleAtLeast, type Access, type Role } from "./auth/roles.ts";
import type { TokenSigner } from "./auth/tokens.ts";
import { HttpError } from "./http-error.ts";
import type { ReadCache } from "./read-cache.ts";

export interface AuthUser {
  username: string;
  role: Role;
}

export type ApiEnv = { Variables: { user: AuthUser } };

export interface ApiDeps {
  store: Store;
  config: Config;
  signer: TokenSigner;
  throttle: LoginThrottle;
  /** [core] simple_auth_manager_all_admins: every caller is admin, no token needed. */
  allAdmins: boolean;
  /** A run was triggered, tasks cleared, a DAG (un)paused: the scheduler should look now. */
  changed(): Promise<void>;
}

/** What route modules are given: the deps, and the read cache createApiApp makes over their store. */
export interface RouteDeps extends ApiDeps {
  reads: ReadCache;
}

/** Refuses (403) a user whose role is below what the resource needs for this method. */
export function requireAccess(access: Access): MiddlewareHandler<ApiEnv> {
  return async (c, next) => {
    const need = c.req.method === "GET" || c.req.method === "HEAD" ? access.read : access.write;
    const user = c.get("user");
    if (!roleAtLeast(user.role, need)) {
      throw new HttpError(403, `Forbidden: user "${user.username}" has role ${user.role}; ${c.req.method} ${c.req.path} needs ${need} or above`);
    }
    await next();
  };
}

/** A path parameter, decoded; ids are compared with the store's, never used as paths. */
export function pathParam(c: Context, name: string): string {
  return c.req.param(name) ?? "";
}

// The HTTP core: one Hono app with body limits, token auth, one error handler that maps HttpError
// and OrchError to Airflow's statuses and shapes, and the resource modules of routes/.
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { HTTPException } from "hono/http-exception";
import { OrchError } from "../errors.ts";
import type { ApiDeps, ApiEnv, RouteDeps } from "./context.ts";
import { errorStatus, HttpError } from "./http-error.ts";
import { createReadCache } from "./read-cache.ts";
import { assetRoutes } from "./routes/assets.ts";
import { authRoutes } from "./routes/auth.ts";
import { backfillRoutes } from "./routes/backfills.ts";
import { connectionRoutes } from "./routes/connections.ts";
import { dagRunRoutes } from "./routes/dag-runs.ts";
import { dagSourceRoutes } from "./routes/dag-sources.ts";
import { dagRoutes } from "./routes/dags.ts";
import { importErrorRoutes } from "./routes/import-errors.ts";
import { logRoutes } from "./routes/logs.ts";
import { monitorRoutes } from "./routes/monitor.ts";
import { taskInstanceRoutes } from "./routes/task-instances.ts";
import { variableRoutes } from "./routes/variables.ts";
import { xcomRoutes } from "./routes/xcom.ts";
import { uiRoutes } from "./ui/index.ts";

/** Paths anyone may call without a token (Airflow's public health and version). */
const PUBLIC = new Set(["/api/v2/monitor/health", "/api/v2/version"]);

export function createApiApp(apiDeps: ApiDeps, opts: { log?: (m: string) => void } = {}): Hono<ApiEnv> {
  const deps: RouteDeps = { ...apiDeps, reads: createReadCache(apiDeps.store) };
  const log = opts.log ?? ((m: string) => process.stderr.write(`[api-server] ${m}\n`));
  const app = new Hono<ApiEnv>();
  const maxBody = deps.config.getNumber("api", "max_body_size");

  const limitBody = bodyLimit({
    maxSize: maxBody,
    onError: (c) => c.json({ detail: `Request body larger than ${maxBody} bytes ([api] max_body_size)` }, 413),
  });
  // GET and HEAD handlers read no body. Asking for one (bodyLimit reads c.req.raw.body) made the
  // node adapter build a full fetch Request with its AbortSignal for every request: about a tenth
  // of the CPU of a kept GET /api/v2/dags.
  app.use("*", (c, next) => (c.req.method === "GET" || c.req.method === "HEAD" ? next() : limitBody(c, next)));

  app.route("/", authRoutes(deps));

  app.use("/api/v2/*", async (c, next) => {
    if (PUBLIC.has(c.req.path)) return next();
    if (deps.allAdmins) {
      c.set("user", { username: "admin", role: "admin" });
      return next();
    }
    const header = c.req.header("authorization") ?? "";
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!m) throw new HttpError(401, "Not authenticated", { "WWW-Authenticate": "Bearer" });
    const v = await deps.signer.verify(m[1]);
    if (!v.ok) throw new HttpError(401, v.reason, { "WWW-Authenticate": "Bearer" });
    c.set("user", { username: v.username, role: v.role });
    return next();
  });

  const v2 = new Hono<ApiEnv>();
  for (const r of [monitorRoutes, dagRoutes, dagRunRoutes, taskInstanceRoutes, logRoutes, xcomRoutes, variableRoutes, connectionRoutes, importErrorRoutes, dagSourceRoutes, backfillRoutes, assetRoutes]) {
    v2.route("/", r(deps));
  }
  app.route("/api/v2", v2);
  // The status page: HTML at /, /login, /dags/... (src/api/ui/), with its own sessions and errors.
  app.route("/", uiRoutes(deps));

  app.notFound((c) => c.json({ detail: "Not Found" }, 404));
  app.onError((err, c) => {
    if (err instanceof HttpError) {
      for (const [k, v] of Object.entries(err.headers)) c.header(k, v);
      return c.json({ detail: err.detail }, err.status as 400);
    }
    if (err instanceof OrchError) {
      const status = errorStatus(err);
      if (status >= 500) log(`${c.req.method} ${c.req.path}: ${err.code}: ${err.message}`);
      return c.json({ detail: err.message }, status as 400);
    }
    if (err instanceof HTTPException) return c.json({ detail: err.message || "Bad Request" }, err.status);
    // A bug: say little to the caller, everything to the log.
    log(`${c.req.method} ${c.req.path}: ${err.stack ?? err.message}`);
    return c.json({ detail: "Internal Server Error" }, 500);
  });
  return app;
}

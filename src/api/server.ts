// The API server: the Hono app on a real socket (@hono/node-server). Binds 127.0.0.1 unless told
// otherwise; a port in use is one clear error naming the port and the setting.
import type { AddressInfo } from "node:net";
import type { Server } from "node:http";
import { serve } from "@hono/node-server";
import type { Config } from "../config.ts";
import { OrchError } from "../errors.ts";
import type { Store } from "../store/index.ts";
import { notifyScheduler } from "../store/notify.ts";
import { createApiApp } from "./app.ts";
import { createLoginThrottle } from "./auth/login-throttle.ts";
import { createTokenSigner, loadOrCreateJwtSecret } from "./auth/tokens.ts";

export interface ApiServer {
  url: string;
  port: number;
  host: string;
  close(): Promise<void>;
}

export interface StartApiServerOptions {
  store: Store;
  config: Config;
  host?: string;
  port?: number;
  /** Called after a write the scheduler should see (in standalone: nudge it directly). */
  onChange?: () => void;
  log?: (m: string) => void;
}

export async function startApiServer(opts: StartApiServerOptions): Promise<ApiServer> {
  const { store, config } = opts;
  const host = opts.host ?? config.getString("api", "host");
  const port = opts.port ?? config.getNumber("api", "port");
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new OrchError("ORCH_CONFIG_INVALID", `API port ${port} is not a port number (0-65535); set --port or [api] port`, { port });
  }
  const signer = createTokenSigner(loadOrCreateJwtSecret(config.getString("api_auth", "jwt_secret_file")), config.getNumber("api_auth", "jwt_expiration_time"));
  const app = createApiApp(
    {
      store,
      config,
      signer,
      throttle: createLoginThrottle(),
      allAdmins: config.getBoolean("core", "simple_auth_manager_all_admins"),
      changed: async () => {
        if (opts.onChange) opts.onChange();
        else await notifyScheduler(store);
      },
    },
    { log: opts.log },
  );
  const server = await new Promise<Server>((resolve, reject) => {
    const s = serve({ fetch: app.fetch, hostname: host, port }) as Server;
    s.once("listening", () => resolve(s));
    s.once("error", (e: NodeJS.ErrnoException) => {
      if (e.code === "EADDRINUSE") {
        reject(new OrchError("ORCH_PORT_IN_USE", `port ${port} on ${host} is already in use; choose another with --port or [api] port (ORCH__API__PORT)`, { port, host }));
      } else if (e.code === "EACCES") {
        reject(new OrchError("ORCH_PORT_IN_USE", `not allowed to listen on port ${port} of ${host}; choose a port above 1023 with --port or [api] port`, { port, host }));
      } else if (e.code === "EADDRNOTAVAIL" || e.code === "ENOTFOUND") {
        reject(new OrchError("ORCH_CONFIG_INVALID", `cannot listen on host ${host}: ${e.message}; set --host or [api] host`, { host }));
      } else reject(e);
    });
  });
  // Keep-alive connections of idle clients must not hold a stopping process open for long.
  server.keepAliveTimeout = 5000;
  const actual = (server.address() as AddressInfo).port;
  const shownHost = host === "0.0.0.0" || host === "::" ? "127.0.0.1" : host.includes(":") ? `[${host}]` : host;
  return {
    url: `http://${shownHost}:${actual}`,
    port: actual,
    host,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections?.();
      }),
  };
}

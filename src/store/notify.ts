// Telling a scheduler in another process that something changed (a run was triggered, tasks were
// cleared, a DAG unpaused), so it needs no polling loop. PostgreSQL: NOTIFY/LISTEN. SQLite has no
// such thing, so a small file beside the database is touched and the scheduler watches it.
import { closeSync, openSync, utimesSync, watch, type FSWatcher } from "node:fs";
import pg from "pg";
import { sql } from "kysely";
import type { Store } from "./open.ts";

const CHANNEL = "orch_scheduler";

function nudgeFile(path: string): string {
  return `${path}.nudge`;
}

export async function notifyScheduler(store: Store): Promise<void> {
  if (store.location.kind === "postgres") {
    await sql`select pg_notify(${CHANNEL}, '')`.execute(store.db);
    return;
  }
  const f = nudgeFile(store.location.path);
  const now = new Date();
  try {
    utimesSync(f, now, now);
  } catch {
    closeSync(openSync(f, "a"));
  }
}

export interface NotificationListener {
  close(): Promise<void>;
}

/**
 * Calls `onNotify` whenever another process calls notifyScheduler on the same store.
 *
 * PostgreSQL: a dedicated LISTEN connection. When it drops (the server restarted, an admin ran
 * pg_terminate_backend) it is reconnected with backoff (1 s doubling to 30 s), said once, and
 * `onNotify` is called after each reconnect, since notifications sent meanwhile are lost. The
 * scheduler's safety poll covers the gap while it is down.
 */
export async function listenForNotifications(
  store: Store,
  onNotify: () => void,
  opts: { log?: (message: string) => void } = {},
): Promise<NotificationListener> {
  const log = opts.log ?? (() => {});
  if (store.location.kind === "postgres") {
    const url = store.location.url;
    let closed = false;
    let client: pg.Client | undefined;
    let retry: NodeJS.Timeout | undefined;
    let delay = 1000;
    let failures = 0;
    const connect = async (): Promise<void> => {
      const c = new pg.Client({ connectionString: url });
      c.on("error", (e) => lost(c, e));
      c.on("end", () => lost(c, new Error("connection ended")));
      await c.connect();
      c.on("notification", () => onNotify());
      await c.query(`LISTEN ${CHANNEL}`);
      if (closed) {
        await c.end().catch(() => {});
        return;
      }
      client = c;
    };
    const lost = (c: pg.Client, e: Error): void => {
      if (closed || client !== c) return;
      client = undefined;
      c.removeAllListeners("end");
      void c.end().catch(() => {});
      log(`the LISTEN connection to PostgreSQL dropped (${e.message}); reconnecting`);
      schedule();
    };
    const schedule = (): void => {
      if (closed || retry) return;
      retry = setTimeout(() => {
        retry = undefined;
        connect().then(
          () => {
            if (failures) log(`LISTEN connection back after ${failures} failed attempt(s)`);
            else log("LISTEN connection back");
            failures = 0;
            delay = 1000;
            onNotify();
          },
          (e: Error) => {
            failures++;
            if (failures === 1) log(`cannot reconnect the LISTEN connection: ${e.message}; retrying with backoff`);
            delay = Math.min(30_000, delay * 2);
            schedule();
          },
        );
      }, delay);
    };
    await connect();
    return {
      close: async () => {
        closed = true;
        if (retry) clearTimeout(retry);
        const c = client;
        client = undefined;
        await c?.end().catch(() => {});
      },
    };
  }
  const f = nudgeFile(store.location.path);
  closeSync(openSync(f, "a"));
  const watcher: FSWatcher = watch(f, () => onNotify());
  watcher.on("error", () => {});
  return {
    close: async () => watcher.close(),
  };
}

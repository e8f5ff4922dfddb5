// Telling a scheduler in another process that something changed (a run was triggered, tasks were
// cleared, a DAG unpaused), so it needs no polling loop. PostgreSQL: NOTIFY/LISTEN. SQLite has no
// such thing, so a small file beside the database is touched and the scheduler watches it.
//
// Two channels: the schedulers' (runs, tasks, fired triggers) and the triggerers' (a task deferred,
// triggers given back). Apart, so that a triggerer is not woken by its own fires, nor by every
// run a scheduler hears of: each wake-up is a claim transaction over all its triggers.
import { closeSync, openSync, utimesSync, watch, type FSWatcher } from "node:fs";
import type { Client as PgClient } from "pg";
import { sql } from "kysely";
import type { Store } from "./open.ts";

export type NotificationChannel = "scheduler" | "triggerer";

const CHANNELS: Record<NotificationChannel, { pg: string; fileSuffix: string }> = {
  scheduler: { pg: "orch_scheduler", fileSuffix: ".nudge" },
  triggerer: { pg: "orch_triggerer", fileSuffix: ".nudge-triggerer" },
};

function nudgeFile(path: string, channel: NotificationChannel): string {
  return `${path}${CHANNELS[channel].fileSuffix}`;
}

export function notifyScheduler(store: Store): Promise<void> {
  return notify(store, "scheduler");
}

/** A task deferred, or a stopping triggerer gave its triggers back: triggerers elsewhere claim now. */
export function notifyTriggerer(store: Store): Promise<void> {
  return notify(store, "triggerer");
}

async function notify(store: Store, channel: NotificationChannel): Promise<void> {
  if (store.location.kind === "postgres") {
    await sql`select pg_notify(${CHANNELS[channel].pg}, '')`.execute(store.db);
    return;
  }
  const f = nudgeFile(store.location.path, channel);
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
 * Calls `onNotify` whenever another process calls notifyScheduler (or, with `channel: "triggerer"`,
 * notifyTriggerer) on the same store.
 *
 * PostgreSQL: a dedicated LISTEN connection. When it drops (the server restarted, an admin ran
 * pg_terminate_backend) it is reconnected with backoff (1 s doubling to 30 s), said once, and
 * `onNotify` is called after each reconnect, since notifications sent meanwhile are lost. The
 * scheduler's safety poll covers the gap while it is down.
 */
export async function listenForNotifications(
  store: Store,
  onNotify: () => void,
  opts: { log?: (message: string) => void; channel?: NotificationChannel } = {},
): Promise<NotificationListener> {
  const log = opts.log ?? (() => {});
  const channel = opts.channel ?? "scheduler";
  if (store.location.kind === "postgres") {
    const url = store.location.url;
    // Imported here, as in openPostgres: a SQLite store never loads pg.
    const { default: pg } = await import("pg");
    let closed = false;
    let client: PgClient | undefined;
    let retry: NodeJS.Timeout | undefined;
    let delay = 1000;
    let failures = 0;
    const connect = async (): Promise<void> => {
      const c = new pg.Client({ connectionString: url });
      c.on("error", (e) => lost(c, e));
      c.on("end", () => lost(c, new Error("connection ended")));
      await c.connect();
      c.on("notification", () => onNotify());
      await c.query(`LISTEN ${CHANNELS[channel].pg}`);
      if (closed) {
        await c.end().catch(() => {});
        return;
      }
      client = c;
    };
    const lost = (c: PgClient, e: Error): void => {
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
  const f = nudgeFile(store.location.path, channel);
  closeSync(openSync(f, "a"));
  const watcher: FSWatcher = watch(f, () => onNotify());
  watcher.on("error", () => {});
  return {
    close: async () => watcher.close(),
  };
}

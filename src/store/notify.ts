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

/** Calls `onNotify` whenever another process calls notifyScheduler on the same store. */
export async function listenForNotifications(store: Store, onNotify: () => void): Promise<NotificationListener> {
  if (store.location.kind === "postgres") {
    const client = new pg.Client({ connectionString: store.location.url });
    client.on("error", () => {});
    await client.connect();
    client.on("notification", () => onNotify());
    await client.query(`LISTEN ${CHANNEL}`);
    return { close: () => client.end().catch(() => {}) };
  }
  const f = nudgeFile(store.location.path);
  closeSync(openSync(f, "a"));
  const watcher: FSWatcher = watch(f, () => onNotify());
  watcher.on("error", () => {});
  return {
    close: async () => watcher.close(),
  };
}

// The built-in triggers: each an async function of its stored kwargs that resolves with the event
// when it fires, rejects when it fails, and stops at once when its signal aborts (the trigger was
// taken away, or the triggerer stops). Waiting costs a timer or a watcher, never a process.
import { watch, type FSWatcher } from "node:fs";
import { readdir, stat } from "node:fs/promises";
import { basename, dirname } from "node:path";
import type { Store } from "../store/index.ts";
import { getAsset, listAssetEvents } from "../store/assets.ts";
import { externalStates } from "../store/triggers.ts";

export interface TriggerContext {
  store: Store;
  signal: AbortSignal;
  /** Stores new kwargs for this trigger, so a re-armed one carries on from there. */
  updateKwargs(kwargs: Record<string, unknown>): Promise<void>;
}

export type TriggerFn = (kwargs: Record<string, unknown>, ctx: TriggerContext) => Promise<unknown>;

const MAX_TIMER_MS = 2 ** 31 - 1;

class Aborted extends Error {}

/** Resolves after `ms`, or rejects with Aborted when the signal aborts first. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(new Aborted());
    const t = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, Math.max(0, Math.min(ms, MAX_TIMER_MS)));
    const onAbort = () => {
      clearTimeout(t);
      reject(new Aborted());
    };
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

export const isAborted = (e: unknown): boolean => e instanceof Aborted;

const num = (v: unknown, dflt: number) => (typeof v === "number" && Number.isFinite(v) && v > 0 ? v : dflt);
const strs = (v: unknown): string[] => (Array.isArray(v) ? v.map(String) : []);

/** A trigger that only waits for a moment: given its kwargs, when it fires and with what event
 *  (or throws, which fails the task). The triggerer keeps these on one shared timer. */
export type MomentTrigger = (kwargs: Record<string, unknown>) => { at: number; event: unknown };

const dateTimeMoment: MomentTrigger = (kw) => {
  const moment = new Date(String(kw.moment));
  if (Number.isNaN(moment.getTime())) throw new Error(`DateTimeTrigger: moment ${JSON.stringify(kw.moment)} is not a date`);
  return { at: moment.getTime(), event: { moment: moment.toISOString() } };
};

/** Triggers that wait only for a moment (date-time; time-delta is one underneath). 10,000 of them
 *  as async functions, each with its own timer, promise and abort listener, cost ~15 us a fire in
 *  timers and promises alone; on one shared timer the triggerer pops the due ones in a batch. */
export const MOMENT_TRIGGERS: Partial<Record<string, MomentTrigger>> = {
  "orch.triggers.DateTimeTrigger": dateTimeMoment,
};

const dateTime: TriggerFn = async (kw, { signal }) => {
  const { at, event } = dateTimeMoment(kw);
  // Long waits in chunks: one setTimeout cannot exceed ~24.8 days.
  for (let left = at - Date.now(); left > 0; left = at - Date.now()) await sleep(left, signal);
  return event;
};

/** A path, or a glob in its last segment (`*`, `?`): the names in its folder that match. */
async function findFile(pattern: string): Promise<string | null> {
  const dir = dirname(pattern);
  const name = basename(pattern);
  if (!/[*?[]/.test(name)) {
    try {
      await stat(pattern);
      return pattern;
    } catch {
      return null;
    }
  }
  const re = new RegExp(`^${name.replace(/[.+^${}()|\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".")}$`);
  try {
    const hit = (await readdir(dir)).find((f) => re.test(f));
    return hit ? `${dir}/${hit}` : null;
  } catch {
    return null;
  }
}

const file: TriggerFn = async (kw, { signal }) => {
  const pattern = String(kw.filepath);
  if (/[*?[]/.test(dirname(pattern))) throw new Error(`FileTrigger: a glob only in the file name is supported, got ${pattern}`);
  const pollMs = num(kw.poke_interval, 5) * 1000;
  let watcher: FSWatcher | undefined;
  let wake: (() => void) | undefined;
  try {
    // The watcher wakes the check at once; the slow poll covers folders that do not exist yet and
    // file systems where fs.watch says nothing (network mounts).
    try {
      watcher = watch(dirname(pattern), () => wake?.());
      watcher.on("error", () => {});
    } catch {
      watcher = undefined;
    }
    for (;;) {
      const found = await findFile(pattern);
      if (found) return { filepath: found };
      await new Promise<void>((resolve, reject) => {
        const t = setTimeout(done, pollMs);
        function done() {
          clearTimeout(t);
          signal.removeEventListener("abort", abort);
          wake = undefined;
          resolve();
        }
        function abort() {
          clearTimeout(t);
          wake = undefined;
          reject(new Aborted());
        }
        if (signal.aborted) return abort();
        wake = done;
        signal.addEventListener("abort", abort, { once: true });
      });
    }
  } finally {
    watcher?.close();
  }
};

const http: TriggerFn = async (kw, { signal }) => {
  const url = String(kw.url);
  const pollMs = num(kw.poke_interval, 5) * 1000;
  // undici (900 KB bundled, ~4 MB of heap once loaded) is imported by the first HTTP trigger,
  // not by every scheduler and standalone process that never defers on one.
  const { request } = await import("undici");
  for (;;) {
    try {
      const r = await request(url, { method: String(kw.method ?? "GET").toUpperCase() as "GET", headers: (kw.headers as Record<string, string>) ?? {}, signal });
      const body = await r.body.text();
      if (r.statusCode >= 200 && r.statusCode < 300) return { status: r.statusCode, body: body.slice(0, 64 * 1024) };
    } catch (e) {
      if (signal.aborted) throw new Aborted();
      // A refused connection is "not yet", as a non-2xx answer is.
      void e;
    }
    await sleep(pollMs, signal);
  }
};

/** Airflow's ExternalTaskSensor decision over the states found (the sensor's poke uses the same
 *  rule, sdk/sensors.ts). */
export function externalVerdict(states: string[], o: { allowed: string[]; failed: string[]; skipped: string[] }): "success" | "failed" | "skipped" | null {
  if (states.length === 0) return null;
  if (o.failed.length && states.some((s) => o.failed.includes(s))) return "failed";
  if (o.skipped.length && states.some((s) => o.skipped.includes(s))) return "skipped";
  return states.every((s) => o.allowed.includes(s)) ? "success" : null;
}

const externalTask: TriggerFn = async (kw, { store, signal }) => {
  const taskIds = kw.external_task_ids === null || kw.external_task_ids === undefined ? null : strs(kw.external_task_ids);
  const dates = strs(kw.logical_dates);
  const opts = { allowed: strs(kw.allowed_states), failed: strs(kw.failed_states), skipped: strs(kw.skipped_states) };
  for (;;) {
    const states = await externalStates(store.db, String(kw.external_dag_id), taskIds, dates);
    const v = externalVerdict(states, opts);
    if (v) return { status: v, states };
    await sleep(num(kw.poke_interval, 2) * 1000, signal);
  }
};

const dagRun: TriggerFn = async (kw, { store, signal }) => {
  const states = strs(kw.states);
  for (;;) {
    const r = await store.db.selectFrom("dag_run").select("state").where("dag_id", "=", String(kw.dag_id)).where("run_id", "=", String(kw.run_id)).executeTakeFirst();
    if (r && states.includes(r.state)) return { run_id: kw.run_id, state: r.state };
    await sleep(num(kw.poke_interval, 2) * 1000, signal);
  }
};

const assetEvent: TriggerFn = async (kw, { store, signal, updateKwargs }) => {
  const uri = String(kw.uri);
  let after = typeof kw.after_id === "number" ? kw.after_id : null;
  for (;;) {
    const a = await getAsset(store.db, uri);
    const [latest] = a ? await listAssetEvents(store.db, a.id, { limit: 1 }) : [];
    if (after === null) {
      // The first look fixes "new": events from now on, also after a restart.
      after = latest?.id ?? 0;
      await updateKwargs({ ...kw, after_id: after });
    } else if (latest && latest.id > after) {
      return { uri, extra: latest.extra, timestamp: latest.timestamp, source_dag_id: latest.source_dag_id, source_task_id: latest.source_task_id };
    }
    await sleep(num(kw.poke_interval, 2) * 1000, signal);
  }
};

export const BUILTIN_TRIGGERS: Record<string, TriggerFn> = {
  "orch.triggers.DateTimeTrigger": dateTime,
  "orch.triggers.FileTrigger": file,
  "orch.triggers.HttpTrigger": http,
  "orch.triggers.ExternalTaskTrigger": externalTask,
  "orch.triggers.DagRunTrigger": dagRun,
  "orch.triggers.AssetEventTrigger": assetEvent,
};

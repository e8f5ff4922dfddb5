// The triggerer (Airflow's TriggererJobRunner): runs the triggers of deferred tasks as async
// functions in this process, thousands at once, and resumes each task when its trigger fires.
//
// Glossary: a *trigger* is a row in `trigger` ({ classpath, kwargs }) that deferred task instances
// point at; *owning* one means trigger.triggerer_id is this triggerer's job id. A *sync* claims
// unowned triggers and those of triggerers whose heartbeat stopped (one transaction, SKIP LOCKED on
// PostgreSQL: one trigger runs in exactly one triggerer), arms the new ones and disarms the ones
// no longer owned. It runs on start, on a nudge (a task deferred here or, through the store's
// notification channel, elsewhere) and on each heartbeat.
import { hostname } from "node:os";
import type { Config } from "../config.ts";
import type { Store } from "../store/index.ts";
import { endJob, heartbeatJob, startJob } from "../store/jobs.ts";
import { listenForNotifications, notifyScheduler, type NotificationListener } from "../store/notify.ts";
import { claimTriggers, deleteUnusedTriggers, failTrigger, fireTrigger, lockOwnedTrigger, releaseTriggers, updateTriggerKwargs, type TriggerRow } from "../store/triggers.ts";
import { BUILTIN_TRIGGERS, isAborted } from "./builtins.ts";

export interface TriggererOptions {
  store: Store;
  config: Config;
  log?: (message: string) => void;
  /** A trigger fired or failed: its task is scheduled (the in-process scheduler's nudge). */
  onResumed?: () => void;
  /** Listen for other processes' notifications (a task deferred by a scheduler elsewhere). */
  listen?: boolean;
}

export interface Triggerer {
  start(): Promise<void>;
  /** Disarms every trigger and gives them back (another triggerer takes them at once); idempotent. */
  stop(): Promise<void>;
  /** A task deferred: sync soon. */
  nudge(): void;
  /** Triggers armed now. */
  readonly armed: number;
  readonly jobId: number | null;
}

interface Armed {
  abort: AbortController;
  timer?: NodeJS.Timeout;
}

export function createTriggerer(opts: TriggererOptions): Triggerer {
  const { store, config } = opts;
  const log = opts.log ?? ((m: string) => process.stderr.write(`[triggerer] ${m}\n`));
  const capacity = Math.max(1, config.getNumber("triggerer", "capacity"));
  const heartbeatMs = Math.max(100, config.getNumber("triggerer", "job_heartbeat_sec") * 1000);
  const thresholdMs = Math.max(1000, config.getNumber("triggerer", "triggerer_health_check_threshold") * 1000);
  const armed = new Map<number, Armed>();
  const finishing = new Set<Promise<void>>();
  // Triggers whose fire or failure is being recorded: still in the table meanwhile, never re-armed.
  const recording = new Set<number>();
  let jobId: number | null = null;
  let stopped = false;
  let syncing: Promise<void> | undefined;
  let wanted = false;
  let housekeeping: NodeJS.Timeout | undefined;
  let listener: NotificationListener | undefined;
  let ticks = 0;

  function nudge(): void {
    if (stopped || jobId === null) return;
    wanted = true;
    syncing ??= loop();
  }

  async function loop(): Promise<void> {
    try {
      while (wanted && !stopped) {
        wanted = false;
        try {
          await sync();
        } catch (e) {
          log(`sync failed (retried at the next heartbeat): ${(e as Error).message}`);
        }
      }
    } finally {
      syncing = undefined;
    }
  }

  async function sync(): Promise<void> {
    if (jobId === null) return;
    const me = jobId;
    const deadBefore = new Date(Date.now() - thresholdMs).toISOString();
    const rows = await store.writeTransaction((trx) => claimTriggers(trx, store.dialect, { triggererId: me, capacity, deadBefore }));
    const owned = new Set(rows.map((r) => r.id));
    for (const [id, a] of armed) if (!owned.has(id)) disarm(id, a);
    for (const r of rows) if (!armed.has(r.id) && !recording.has(r.id)) arm(r);
  }

  function disarm(id: number, a: Armed): void {
    if (a.timer) clearTimeout(a.timer);
    a.abort.abort();
    armed.delete(id);
  }

  function arm(row: TriggerRow): void {
    const fn = BUILTIN_TRIGGERS[row.classpath];
    const a: Armed = { abort: new AbortController() };
    armed.set(row.id, a);
    if (!fn) {
      finish(row.id, a, "fail", `unknown trigger ${row.classpath}; known: ${Object.keys(BUILTIN_TRIGGERS).join(", ")}`);
      return;
    }
    if (row.timeout) {
      const ms = Date.parse(row.timeout) - Date.now();
      a.timer = setTimeout(() => finish(row.id, a, "fail", `Trigger timeout: the trigger did not fire before the deferral's timeout (${row.timeout})`), Math.max(0, Math.min(ms, 2 ** 31 - 1)));
    }
    fn(row.kwargs, { store, signal: a.abort.signal, updateKwargs: (kw) => updateTriggerKwargs(store.db, row.id, kw) }).then(
      (event) => finish(row.id, a, "fire", event),
      (e: unknown) => {
        if (isAborted(e) || a.abort.signal.aborted) return;
        finish(row.id, a, "fail", `Trigger ${row.classpath} failed: ${(e as Error)?.message ?? String(e)}`);
      },
    );
  }

  // Fires and failures waiting to be written. They are written in batches, one transaction each:
  // 10,000 triggers firing within a second as 10,000 transactions queued behind each other on
  // SQLite gave a median fire -> scheduled lag of 1,025 ms (p99 2,022 ms).
  let pending: { id: number; kind: "fire" | "fail"; payload: unknown }[] = [];
  let flushing: Promise<void> | undefined;
  const BATCH = 500;

  /** Records the fire or failure, only while this triggerer still owns the trigger. */
  function finish(id: number, a: Armed, kind: "fire" | "fail", payload: unknown): void {
    if (armed.get(id) !== a || stopped) return;
    disarm(id, a);
    recording.add(id);
    pending.push({ id, kind, payload });
    if (!flushing) {
      flushing = flush().finally(() => (flushing = undefined));
      finishing.add(flushing);
      const f = flushing;
      void f.finally(() => finishing.delete(f));
    }
  }

  async function flush(): Promise<void> {
    // Let the fires of this timer tick gather first.
    await new Promise((r) => setImmediate(r));
    while (pending.length) {
      const batch = pending.slice(0, BATCH);
      pending = pending.slice(BATCH);
      const me = jobId;
      let resumed = 0;
      try {
        const counts = await store.writeTransaction(async (trx) => {
          const out: number[] = [];
          for (const f of batch) {
            if (!(await lockOwnedTrigger(trx, store.dialect, f.id, me))) out.push(0);
            else out.push(f.kind === "fire" ? await fireTrigger(trx, f.id, f.payload) : await failTrigger(trx, f.id, String(f.payload)));
          }
          return out;
        });
        batch.forEach((f, i) => {
          if (f.kind === "fail") log(`trigger ${f.id}: ${String(f.payload)}`);
          else if (counts[i] > 0) log(`trigger ${f.id} fired: ${counts[i]} task(s) resume`);
          resumed += counts[i];
        });
      } catch (e) {
        // Not recorded: re-armed at the next sync (the rows are still ours and unfired).
        log(`recording ${batch.length} trigger event(s) failed: ${(e as Error).message}; re-arming`);
        wanted = true;
      } finally {
        for (const f of batch) recording.delete(f.id);
      }
      if (resumed > 0) {
        opts.onResumed?.();
        await notifyScheduler(store).catch(() => {});
      }
    }
  }

  async function tick(): Promise<void> {
    if (stopped || jobId === null) return;
    try {
      if (!(await heartbeatJob(store.db, jobId))) {
        // Declared dead by another triggerer, which took our triggers: ours must not run too.
        log(`job ${jobId} was declared dead (heartbeat older than ${thresholdMs / 1000} s); disarming its triggers and starting a new job`);
        for (const [id, a] of armed) disarm(id, a);
        jobId = await startJob(store.db, { jobType: "TriggererJob", hostname: hostname(), pid: process.pid });
      }
      if (++ticks % 12 === 0) await deleteUnusedTriggers(store.db);
    } catch (e) {
      log(`heartbeat failed: ${(e as Error).message}`);
    }
    nudge();
  }

  return {
    get armed() {
      return armed.size;
    },
    get jobId() {
      return jobId;
    },
    async start() {
      jobId = await startJob(store.db, { jobType: "TriggererJob", hostname: hostname(), pid: process.pid });
      if (opts.listen) listener = await listenForNotifications(store, () => nudge(), { log });
      housekeeping = setInterval(() => void tick(), heartbeatMs);
      nudge();
      await syncing;
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      if (housekeeping) clearInterval(housekeeping);
      await listener?.close();
      await syncing;
      for (const [id, a] of armed) disarm(id, a);
      await Promise.all([...finishing]);
      if (jobId !== null) {
        await releaseTriggers(store.db, jobId).catch((e) => log(`cannot release triggers: ${(e as Error).message}`));
        await endJob(store.db, jobId).catch((e) => log(`cannot end job ${jobId}: ${(e as Error).message}`));
      }
    },
    nudge,
  };
}

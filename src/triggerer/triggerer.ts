// The triggerer (Airflow's TriggererJobRunner): runs the triggers of deferred tasks as async
// functions in this process, thousands at once, and resumes each task when its trigger fires.
//
// Glossary: a *trigger* is a row in `trigger` ({ classpath, kwargs }) that deferred task instances
// point at; *owning* one means trigger.triggerer_id is this triggerer's job id. A *sync* claims
// unowned triggers and those of triggerers whose heartbeat stopped (one transaction, SKIP LOCKED on
// PostgreSQL: one trigger runs in exactly one triggerer), arms the new ones and disarms the ones
// no longer owned. It runs on start, on a nudge (a task deferred here or, through the store's
// triggerer channel, elsewhere) and on each heartbeat.
//
// A *moment trigger* (date-time; time-delta is one underneath) is not an async function: its fire
// time waits in the moment queue (moments.ts), one timer for all of them, as do the deferrals'
// timeouts; the due ones are popped together. The other built-ins are async functions.
//
// A *fire* (or failure) is not written at once: fires within COALESCE_MS of the first, and those
// arriving while a batch is being written, go into the next batch, recorded by one transaction of
// four statements whatever its size (recordTriggerOutcomes). Then the in-process scheduler is
// nudged with the resumed runs; without one, schedulers elsewhere hear it on their channel.
import { hostname } from "node:os";
import type { Config } from "../config.ts";
import type { Store } from "../store/index.ts";
import { endJob, heartbeatJob, startJob } from "../store/jobs.ts";
import { listenForNotifications, notifyScheduler, notifyTriggerer, type NotificationListener } from "../store/notify.ts";
import {
  claimTriggers,
  deleteUnusedTriggers,
  listTriggers,
  recordTriggerOutcomes,
  releaseTriggers,
  updateTriggerKwargs,
  type ResumedTaskInstance,
  type TriggerOutcome,
  type TriggerRow,
  type TriggerScope,
} from "../store/triggers.ts";
import { BUILTIN_TRIGGERS, isAborted, MOMENT_TRIGGERS } from "./builtins.ts";
import { createMomentQueue } from "./moments.ts";

export interface TriggererOptions {
  store: Store;
  config: Config;
  log?: (message: string) => void;
  /** Triggers fired or failed: these task instances are scheduled (the in-process scheduler's
   *  nudge). Without it, schedulers in other processes are notified instead. */
  onResumed?: (resumed: readonly ResumedTaskInstance[]) => void;
  /** Listen for other processes' notifications (a task deferred by a scheduler elsewhere). */
  listen?: boolean;
  /** Run only the triggers of this run's deferred tasks (`orch dags test`). */
  scope?: TriggerScope;
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

/** How long the first fire waits for others to share its transaction. */
const COALESCE_MS = 3;
/** Outcomes per transaction: a burst is written in slices, so the write lock is never held long. */
const BATCH = 500;

interface Armed {
  /** An async trigger's; a moment trigger has nothing to abort. */
  abort?: AbortController;
}

/** The runs of resumed task instances, each with its resumed tasks: the scheduler's nudges. */
export function resumedRuns(tis: readonly ResumedTaskInstance[]): { run: { dag_id: string; run_id: string }; tasks: string[] }[] {
  const byRun = new Map<string, { run: { dag_id: string; run_id: string }; tasks: string[] }>();
  for (const ti of tis) {
    const key = `${ti.dag_id}\u0000${ti.run_id}`;
    let r = byRun.get(key);
    if (!r) byRun.set(key, (r = { run: { dag_id: ti.dag_id, run_id: ti.run_id }, tasks: [] }));
    r.tasks.push(ti.task_id);
  }
  return [...byRun.values()];
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
  // Moment triggers' fire times and every trigger's timeout, on one timer (src/triggerer/moments.ts).
  const moments = createMomentQueue<{ id: number; a: Armed; outcome: TriggerOutcome; settled: boolean }>((due) => {
    for (const d of due) finish(d.id, d.a, d.outcome, d.settled);
  }, (d) => armed.get(d.id) !== d.a);

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
    const ids = await store.writeTransaction((trx) => claimTriggers(trx, store.dialect, { triggererId: me, capacity, deadBefore, scope: opts.scope }));
    const owned = new Set(ids);
    for (const [id, a] of armed) if (!owned.has(id)) disarm(id, a);
    const fresh = ids.filter((id) => !armed.has(id) && !recording.has(id));
    if (fresh.length === 0) return;
    // Read after the claim committed: a trigger deleted meanwhile (its task cleared) is not there.
    for (const r of await listTriggers(store.db, fresh)) if (!stopped && jobId === me && !armed.has(r.id) && !recording.has(r.id)) arm(r);
  }

  /** Stops the trigger (`settled`: its function already returned, so nothing to abort; an abort
   *  builds a DOMException, a measurable cost for 10,000 fires in a second). */
  function disarm(id: number, a: Armed, settled = false): void {
    // Its entries in the moment queue stay until due and are skipped then (finish checks `armed`).
    if (!settled) a.abort?.abort();
    armed.delete(id);
    moments.forgetStale(armed.size);
  }

  function arm(row: TriggerRow): void {
    const moment = MOMENT_TRIGGERS[row.classpath];
    const fn = BUILTIN_TRIGGERS[row.classpath];
    const a: Armed = moment ? {} : { abort: new AbortController() };
    armed.set(row.id, a);
    if (!fn) {
      finish(row.id, a, { id: row.id, kind: "fail", error: `unknown trigger ${row.classpath}; known: ${Object.keys(BUILTIN_TRIGGERS).join(", ")}` });
      return;
    }
    if (row.timeout) {
      const error = `Trigger timeout: the trigger did not fire before the deferral's timeout (${row.timeout})`;
      moments.add(Date.parse(row.timeout), { id: row.id, a, outcome: { id: row.id, kind: "fail", error }, settled: false });
    }
    if (moment) {
      let m: ReturnType<typeof moment>;
      try {
        m = moment(row.kwargs);
      } catch (e) {
        finish(row.id, a, { id: row.id, kind: "fail", error: `Trigger ${row.classpath} failed: ${(e as Error).message}` });
        return;
      }
      moments.add(m.at, { id: row.id, a, outcome: { id: row.id, kind: "fire", event: m.event }, settled: true });
      return;
    }
    const abort = a.abort!;
    fn(row.kwargs, { store, signal: abort.signal, updateKwargs: (kw) => updateTriggerKwargs(store.db, row.id, kw) }).then(
      (event) => finish(row.id, a, { id: row.id, kind: "fire", event }),
      (e: unknown) => {
        if (isAborted(e) || abort.signal.aborted) return;
        finish(row.id, a, { id: row.id, kind: "fail", error: `Trigger ${row.classpath} failed: ${(e as Error)?.message ?? String(e)}` });
      },
    );
  }

  // Outcomes waiting to be written, and the flush writing them. One transaction per trigger
  // (10,000 within a second queued behind each other on SQLite) gave a median fire -> scheduled
  // lag of 1,025 ms; batches of 500 with four statements per trigger, 351 ms; one set-based batch,
  // see docs/assets-and-sensors.md.
  let pending: TriggerOutcome[] = [];
  let flushing: Promise<void> | undefined;

  /** Records the outcome, only while this triggerer still owns the trigger. `settled`: the
   *  trigger's function has returned or thrown (a timeout has not, and is aborted). */
  function finish(id: number, a: Armed, outcome: TriggerOutcome, settled = true): void {
    if (armed.get(id) !== a || stopped) return;
    disarm(id, a, settled);
    recording.add(id);
    pending.push(outcome);
    if (!flushing) {
      const f = flush();
      flushing = f;
      finishing.add(f);
      void f.finally(() => finishing.delete(f));
    }
  }

  async function flush(): Promise<void> {
    try {
      // Let the fires of the next few ms join the first one's batch.
      await new Promise((r) => setTimeout(r, COALESCE_MS));
      while (pending.length) {
        const batch = pending.splice(0, BATCH);
        await record(batch);
      }
    } finally {
      // Synchronously after the last check of `pending`: a fire arriving now starts a new flush.
      flushing = undefined;
    }
  }

  async function record(batch: TriggerOutcome[]): Promise<void> {
    const me = jobId;
    let resumed: ResumedTaskInstance[] = [];
    try {
      if (me === null) return;
      resumed = (await store.writeTransaction((trx) => recordTriggerOutcomes(trx, store.dialect, me, batch))).resumed;
    } catch (e) {
      // Not recorded: re-armed at the next sync (the rows are still ours and unfired).
      log(`recording ${batch.length} trigger event(s) failed: ${(e as Error).message}; re-arming`);
      wanted = true;
      return;
    } finally {
      for (const o of batch) recording.delete(o.id);
    }
    const fired = new Set<number>();
    for (const r of resumed) fired.add(r.trigger_id);
    for (const o of batch) if (o.kind === "fail" && fired.has(o.id)) log(`trigger ${o.id}: ${o.error}`);
    const fires = batch.filter((o) => o.kind === "fire" && fired.has(o.id)).map((o) => o.id);
    // One line per batch, not per trigger (10,000 fires are 20 lines); the ids, for the record.
    if (fires.length) log(`fired trigger(s) ${fires.join(", ")}: ${resumed.length} task(s) resume`);
    if (resumed.length === 0) return;
    if (opts.onResumed) opts.onResumed(resumed);
    else await notifyScheduler(store).catch(() => {});
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
      if (opts.listen) listener = await listenForNotifications(store, () => nudge(), { log, channel: "triggerer" });
      housekeeping = setInterval(() => void tick(), heartbeatMs);
      nudge();
      await syncing;
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      if (housekeeping) clearInterval(housekeeping);
      moments.stop();
      await listener?.close();
      await syncing;
      for (const [id, a] of armed) disarm(id, a);
      await Promise.all([...finishing]);
      if (jobId !== null) {
        await releaseTriggers(store.db, jobId).then(
          () => notifyTriggerer(store).catch(() => {}),
          (e) => log(`cannot release triggers: ${(e as Error).message}`),
        );
        await endJob(store.db, jobId).catch((e) => log(`cannot end job ${jobId}: ${(e as Error).message}`));
      }
    },
    nudge,
  };
}

// The scheduler: creates runs when timetables say so, moves task instances through Airflow's state
// machine, and hands runnable ones to the executor.
//
// It waits on events, never on a fixed sleep: a finished task, a new or changed DAG file, a
// trigger from another process (notifyScheduler) or `nudge()` runs a step at once; a timer is
// set only for the next cron time or retry delay. Steps never overlap: nudges during a step
// coalesce into one more step.
import type { Config } from "../config.ts";
import type { Executor } from "../executor/local-executor.ts";
import { listActiveDagRuns } from "../store/dag-runs.ts";
import type { Store } from "../store/index.ts";
import { listenForNotifications, type NotificationListener } from "../store/notify.ts";
import type { DagRunRow } from "../store/schema.ts";
import { claimScheduledTaskInstances } from "../store/task-instances.ts";
import { createDagBag, type DagBag } from "./dag-bag.ts";
import { loadRunGate } from "./backfill.ts";
import { evaluateDagRun } from "./evaluate-run.ts";
import { recoverOrphanedTaskInstances } from "./recovery.ts";
import { createDueScheduledRuns } from "./run-creation.ts";
import { runClaimedTaskInstance } from "./task-runner.ts";

export interface SchedulerOptions {
  store: Store;
  config: Config;
  executor: Executor;
  /** The clock; tests and `dags test` may pin it. */
  now?: () => Date;
  /** Look after only these runs, paused or not, and create no scheduled runs (`orch dags test`). */
  onlyRunIds?: ReadonlySet<number>;
  onRunFinished?: (run: { dag_id: string; run_id: string; state: "success" | "failed" }) => void;
  /** Listen for other processes' notifyScheduler (the long-running scheduler does). */
  listen?: boolean;
  log?: (message: string) => void;
}

export interface Scheduler {
  start(): Promise<void>;
  /** Takes no new task; lets running ones finish for up to graceMs; idempotent. */
  stop(graceMs?: number): Promise<void>;
  /** Something changed: run a step soon. `run` names the one run that changed; without it every
   *  active run is looked at. `dagsChanged` also re-reads DAGs and run creation. */
  nudge(opts?: { dagsChanged?: boolean; run?: { dag_id: string; run_id: string }; tasks?: readonly string[] }): void;
  /** Resolves when no step is running, no task is in flight, and nothing is due now. */
  idle(): Promise<void>;
  readonly bag: DagBag;
}

const MAX_TIMER_MS = 2 ** 31 - 1;

export function createScheduler(opts: SchedulerOptions): Scheduler {
  const { store, config, executor } = opts;
  const clock = opts.now ?? (() => new Date());
  const log = opts.log ?? ((m: string) => process.stderr.write(`[scheduler] ${m}\n`));
  const bag = createDagBag();
  const inFlight = new Set<Promise<void>>();
  let wanted = false;
  let looping: Promise<void> | undefined;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let runCreationDue = true;
  let nextRunCreation: Date | null = null;
  let listener: NotificationListener | undefined;
  let idleWaiters: (() => void)[] = [];
  // Runs whose task instances changed since their last evaluation. Only these are evaluated, so a
  // step costs what changed, not every active run (100 active runs cost 100 transactions a step).
  // Anything we cannot attribute (another process's write, a timer, a DAG change) marks all.
  // Per run: the tasks to look at (downstream of what finished), or "all".
  const dirtyRuns = new Map<string, Set<string> | "all">();
  let allRunsDirty = true;
  const runKey = (dagId: string, runId: string) => `${dagId}\u0000${runId}`;
  // The earliest retry time of each active run, kept across steps that skip a clean run.
  const retryAt = new Map<string, Date>();

  function nudge(o: { dagsChanged?: boolean; run?: { dag_id: string; run_id: string }; tasks?: readonly string[] } = {}): void {
    if (o.run) {
      const key = runKey(o.run.dag_id, o.run.run_id);
      const cur = dirtyRuns.get(key);
      if (!o.tasks) dirtyRuns.set(key, "all");
      else if (cur !== "all") dirtyRuns.set(key, new Set([...(cur ?? []), ...o.tasks]));
    } else allRunsDirty = true;
    if (o.dagsChanged) {
      runCreationDue = true;
      bag.invalidate();
    }
    if (stopped) return;
    wanted = true;
    looping ??= loop();
  }

  async function loop(): Promise<void> {
    try {
      while (wanted && !stopped) {
        wanted = false;
        try {
          await step();
        } catch (e) {
          // A failed step (a database hiccup) must not kill the scheduler; the next event retries.
          log(`step failed: ${(e as Error).stack ?? e}`);
          setTimer(new Date(clock().getTime() + 1000));
        }
      }
    } finally {
      looping = undefined;
      if (wanted && !stopped) looping = loop();
      else checkIdle();
    }
  }

  function checkIdle(): void {
    if (looping || inFlight.size || wanted) return;
    const w = idleWaiters;
    idleWaiters = [];
    for (const f of w) f();
  }

  function setTimer(at: Date | null): void {
    if (timer) clearTimeout(timer);
    timer = undefined;
    if (!at || stopped) return;
    const ms = Math.min(MAX_TIMER_MS, Math.max(0, at.getTime() - clock().getTime()));
    timer = setTimeout(() => {
      timer = undefined;
      runCreationDue = true;
      nudge();
    }, ms);
  }

  async function createRuns(now: Date): Promise<void> {
    if (opts.onlyRunIds) return;
    if (!runCreationDue && !(nextRunCreation && nextRunCreation <= now)) return;
    runCreationDue = false;
    nextRunCreation = null;
    const dags = await store.db.selectFrom("dag").select("dag_id").where("is_paused", "=", 0).where("is_stale", "=", 0).execute();
    for (const { dag_id } of dags) {
      const d = await bag.get(store.db, dag_id);
      if (!d) continue;
      try {
        const r = await createDueScheduledRuns(store, d, now);
        for (const run of r.created) log(`created ${run.run_id} of ${dag_id}`);
        if (r.wakeAt && (!nextRunCreation || r.wakeAt < nextRunCreation)) nextRunCreation = r.wakeAt;
      } catch (e) {
        log(`cannot schedule ${dag_id}: ${(e as Error).message}`);
      }
    }
  }

  async function activeRuns(): Promise<DagRunRow[]> {
    const runs = await listActiveDagRuns(store.db);
    if (opts.onlyRunIds) return runs.filter((r) => opts.onlyRunIds!.has(r.id));
    const paused = new Set(
      (await store.db.selectFrom("dag").select("dag_id").where("is_paused", "=", 1).execute()).map((r) => r.dag_id),
    );
    // Backfill runs go on while their DAG is paused, as in Airflow 3.
    return runs.filter((r) => !paused.has(r.dag_id) || r.backfill_id !== null);
  }

  async function step(): Promise<void> {
    const now = clock();
    bag.invalidate();
    await createRuns(now);

    let nextWake: Date | null = nextRunCreation;
    const runs = await activeRuns();
    const gate = await loadRunGate(store.db, runs);

    const evaluateAll = allRunsDirty;
    allRunsDirty = false;
    for (const run of runs) {
      const key = runKey(run.dag_id, run.run_id);
      const dirt = dirtyRuns.get(key);
      if (!evaluateAll && run.state === "running" && !dirt) continue;
      dirtyRuns.delete(key);
      const focus = evaluateAll || run.state !== "running" || dirt === "all" ? undefined : dirt;
      const d = await bag.get(store.db, run.dag_id);
      if (!d) continue;
      if (run.state === "queued" && !opts.onlyRunIds && !gate.admit(run, d.dag.max_active_runs)) continue;
      const ev = await store.writeTransaction((trx) => evaluateDagRun(trx, run, d, now, focus));
      if (ev.runState !== "running") retryAt.delete(key);
      else if (ev.complete) {
        if (ev.nextRetryAt) retryAt.set(key, ev.nextRetryAt);
        else retryAt.delete(key);
      } else if (ev.nextRetryAt && !(retryAt.get(key)! <= ev.nextRetryAt)) retryAt.set(key, ev.nextRetryAt);
      if (ev.runState !== "running") {
        log(`${run.dag_id} ${run.run_id} finished: ${ev.runState}`);
        runCreationDue = true;
        // A finished run frees a max_active_runs slot: queued runs get evaluated next step.
        wanted = true;
        opts.onRunFinished?.({ dag_id: run.dag_id, run_id: run.run_id, state: ev.runState });
      }
    }

    const active = new Set(runs.map((r) => runKey(r.dag_id, r.run_id)));
    for (const [key, at] of retryAt) {
      if (!active.has(key)) retryAt.delete(key);
      else if (!nextWake || at < nextWake) nextWake = at;
    }
    const maxActiveTasks = new Map<string, number>();
    for (const run of runs) {
      const d = await bag.get(store.db, run.dag_id);
      if (d) maxActiveTasks.set(run.dag_id, d.dag.max_active_tasks);
    }
    await dispatch(maxActiveTasks);
    setTimer(nextWake);
  }

  async function dispatch(maxActiveTasks: Map<string, number>): Promise<void> {
    const free = Math.min(executor.freeSlots(), executor.parallelism - inFlight.size);
    if (free <= 0 || stopped) return;
    const claimed = await store.writeTransaction((trx) =>
      claimScheduledTaskInstances(trx, store.dialect, {
        limit: free,
        maxActiveTasks: (dagId) => maxActiveTasks.get(dagId) ?? config.getNumber("core", "max_active_tasks_per_dag"),
      }),
    );
    for (const ti of claimed) {
      const d = await bag.get(store.db, ti.dag_id);
      if (!d) continue;
      const p: Promise<void> = runClaimedTaskInstance({ store, config, executor }, ti, d)
        .catch((e) => log(`running ${ti.dag_id}.${ti.task_id} failed: ${(e as Error).stack ?? e}`))
        .finally(() => {
          inFlight.delete(p);
          // The task itself (it may wait for a retry) and its downstream are what changed; a
          // branch or short-circuit may have skipped further afield, so those look at everything.
          const task = d.tasks.get(ti.task_id);
          const local = task && task.kind !== "branch" && task.kind !== "short_circuit";
          nudge({ run: ti, tasks: local ? [ti.task_id, ...task.downstream_task_ids] : undefined });
        });
      inFlight.add(p);
    }
  }

  return {
    bag,
    async start() {
      const r = await recoverOrphanedTaskInstances(store, bag, { baseLogFolder: config.getString("logging", "base_log_folder") });
      if (r.failed || r.retried || r.requeued) {
        log(`recovered orphaned task instances: ${r.failed} failed, ${r.retried} up for retry, ${r.requeued} re-queued`);
      }
      if (opts.listen) listener = await listenForNotifications(store, () => nudge({ dagsChanged: true }));
      executor.warm();
      nudge({ dagsChanged: true });
    },
    async stop(graceMs = config.getNumber("core", "killed_task_cleanup_time") * 1000) {
      if (stopped) return;
      stopped = true;
      if (timer) clearTimeout(timer);
      await listener?.close();
      await looping;
      const drained = Promise.all([...inFlight]);
      let t: NodeJS.Timeout | undefined;
      await Promise.race([drained, new Promise<void>((r) => (t = setTimeout(r, graceMs)))]);
      clearTimeout(t);
      await executor.stop(1000);
      await drained;
    },
    nudge,
    idle() {
      return new Promise<void>((resolve) => {
        idleWaiters.push(resolve);
        checkIdle();
      });
    },
  };
}

// The scheduler: creates runs when timetables say so, moves task instances through Airflow's state
// machine, and hands runnable ones to the executor.
//
// It waits on events, never on a fixed sleep: a finished task, a new or changed DAG file, a
// trigger from another process (notifyScheduler) or `nudge()` runs a step at once; a timer is
// set only for the next cron time or retry delay. Steps never overlap: nudges during a step
// coalesce into one more step.
import type { Config } from "../config.ts";
import { machineHostname } from "../hostname.ts";
import type { Executor } from "../executor/local-executor.ts";
import { makeTaskLogFolder, taskLogPath } from "../logging/index.ts";
import type { Kysely } from "kysely";
import { finishDagRun, getDagRun, listActiveDagRuns, listRunsToSchedule, startDagRunWithinLimit } from "../store/dag-runs.ts";
import { listSchedulableDagIds } from "../store/dags.ts";
import type { Store } from "../store/index.ts";
import { endJob, heartbeatJob, startJob } from "../store/jobs.ts";
import { listenForNotifications, type NotificationListener } from "../store/notify.ts";
import type { Database, DagRunRow, TaskInstanceRow } from "../store/schema.ts";
import { claimScheduledTaskInstances, listRestarting, startTry, unclaim, type ClaimedTaskInstances, type ClaimOptions } from "../store/task-instances.ts";
import { assetCondition, createAssetTriggeredRun } from "./asset-runs.ts";
import { createDagBag, type DagBag, type SchedulableDag } from "./dag-bag.ts";
import type { SerializedTask } from "../serialization/serialized-dag.ts";
import { loadRunGate, type RunGate } from "./backfill.ts";
import { evaluateDagRun, type RunEvaluation } from "./evaluate-run.ts";
import { createFanInWitnesses } from "./fan-in-witness.ts";
import { dagDependsOnPast } from "./past-depends.ts";
import { jobsOfThisProcess, recoverOrphanedTaskInstances } from "./recovery.ts";
import { createDueScheduledRuns } from "./run-creation.ts";
import { mayHoldXcoms, persist, runClaimedTaskInstance, type AheadStart, type HandOff, type NextTry, type TryEnd } from "./task-runner.ts";
import { clearTaskXcoms } from "../store/xcom.ts";

export interface SchedulerOptions {
  store: Store;
  config: Config;
  executor: Executor;
  /** The clock; tests and `dags test` may pin it. */
  now?: () => Date;
  /** Look after only these runs, paused or not, and create no scheduled runs (`orch dags test`). */
  onlyRunIds?: ReadonlySet<number>;
  onRunFinished?: (run: { dag_id: string; run_id: string; state: "success" | "failed" }) => void;
  /** A try deferred (the in-process triggerer's nudge). */
  onDeferred?: () => void;
  /** Listen for other processes' notifyScheduler (the long-running scheduler does). */
  listen?: boolean;
  /** The job row's job_type (Airflow's SchedulerJob; `dags test` is its own kind). */
  jobType?: string;
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
/** A run whose evaluation throws this many times in a row is failed with the reason. */
const MAX_RUN_EVALUATION_FAILURES = 3;
/** A failing step backs off from 1 s, doubling, to 30 s. */
const STEP_BACKOFF_MIN_MS = 1000;
const STEP_BACKOFF_MAX_MS = 30_000;
/** How long a try claimed ahead waits for a busy worker before it is given back. */
const HOLD_AHEAD_MS = 1000;
/** Tries shorter than this are not worth claiming ahead for (see worthAhead). */
const AHEAD_MIN_TRY_MS = 10;

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
  // The running runs of the latest step, by runKey: a claimed try takes its run's row from here
  // instead of reading it again (a run already running when listed has its start_date and conf).
  let listedRuns = new Map<string, DagRunRow>();
  // This process's row in `job`: claims carry it, heartbeats keep it alive.
  let jobId: number | null = null;
  let housekeeping: NodeJS.Timeout | undefined;
  let housekeepingTick: Promise<void> | undefined;
  // Tries in flight here, by task instance id: a clear of one of them terminates it.
  const running = new Map<number, TaskInstanceRow>();
  // Something outside this process may have changed (a notification, the safety poll): look for
  // cleared running tries too.
  let externalChange = false;
  // Consecutive evaluation failures per run (one bad run must not stop the others).
  const runFailures = new Map<string, number>();
  // A failing step: the first failure is logged with its stack, then only a count.
  let stepFailures = 0;
  let stepBackoffMs = STEP_BACKOFF_MIN_MS;
  const cleanupMs = config.getNumber("core", "killed_task_cleanup_time") * 1000;
  // Options of every run evaluation; the witnesses of wide fan-ins live as long as this scheduler
  // (fan-in-witness.ts).
  const evaluation = { maxMapLength: config.getNumber("core", "max_map_length"), witnesses: createFanInWitnesses() };
  /** A hand-off's and a follow-up's: the run must still be running (read with the first rows). */
  const runningOnly = { ...evaluation, requireRunning: true };

  function nudge(o: { dagsChanged?: boolean; run?: { dag_id: string; run_id: string }; tasks?: readonly string[]; external?: boolean } = {}): void {
    if (o.external) externalChange = true;
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
          if (stepFailures) log(`scheduling works again after ${stepFailures} failed step(s)`);
          stepFailures = 0;
          stepBackoffMs = STEP_BACKOFF_MIN_MS;
        } catch (e) {
          // A failed step (the database restarting, a full disk) must not kill the scheduler: it
          // is retried with backoff (1 s doubling to 30 s); said once with its stack, then counted.
          stepFailures++;
          if (stepFailures === 1) log(`step failed (retrying with backoff): ${(e as Error).stack ?? e}`);
          else if ((stepFailures & (stepFailures - 1)) === 0) log(`step still failing: ${stepFailures} failures in a row; latest: ${(e as Error).message}`);
          allRunsDirty = true;
          setTimer(new Date(clock().getTime() + stepBackoffMs));
          stepBackoffMs = Math.min(STEP_BACKOFF_MAX_MS, stepBackoffMs * 2);
        }
      }
    } finally {
      looping = undefined;
      if (wanted && !stopped) looping = loop();
      else checkIdle();
    }
  }

  function checkIdle(): void {
    if (looping || inFlight.size || wanted || pendingFollowUps) return;
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
    for (const dag_id of await listSchedulableDagIds(store.db)) {
      try {
        const d = await bag.get(store.db, dag_id);
        if (!d) continue;
        if (assetCondition(d)) {
          const run = await createAssetTriggeredRun(store, d, now);
          if (run) log(`created ${run.run_id} of ${dag_id} (asset-triggered)`);
          continue;
        }
        const r = await createDueScheduledRuns(store, d, now, log);
        for (const run of r.created) log(`created ${run.run_id} of ${dag_id}`);
        if (r.wakeAt && (!nextRunCreation || r.wakeAt < nextRunCreation)) nextRunCreation = r.wakeAt;
      } catch (e) {
        log(`cannot schedule ${dag_id}: ${(e as Error).message}`);
      }
    }
  }

  async function activeRuns(): Promise<DagRunRow[]> {
    if (opts.onlyRunIds) return (await listActiveDagRuns(store.db)).filter((r) => opts.onlyRunIds!.has(r.id));
    // Paused DAGs' runs left out, except a backfill's; a backfill's queued runs come from its gate
    // (loadRunGate), the few it may start now.
    return listRunsToSchedule(store.db);
  }

  async function step(): Promise<void> {
    const now = clock();
    bag.invalidate();
    await createRuns(now);

    let nextWake: Date | null = nextRunCreation;
    const runs = await activeRuns();
    listedRuns = new Map(runs.filter((r) => r.state === "running").map((r) => [runKey(r.dag_id, r.run_id), r]));
    if (externalChange) {
      externalChange = false;
      await terminateClearedTries();
    }
    const gate = await loadRunGate(store.db, runs);
    if (!opts.onlyRunIds) runs.push(...gate.backfillRuns);

    const evaluateAll = allRunsDirty;
    allRunsDirty = false;
    for (const run of runs) {
      const key = runKey(run.dag_id, run.run_id);
      const dirt = dirtyRuns.get(key);
      if (!evaluateAll && run.state === "running" && !dirt) continue;
      dirtyRuns.delete(key);
      const focus = evaluateAll || run.state !== "running" || dirt === "all" ? undefined : dirt;
      let ev: RunEvaluation | null;
      try {
        ev = await evaluateRun(run, now, focus, gate);
        runFailures.delete(key);
      } catch (e) {
        // One bad run (a corrupt row, a DAG that no longer matches it) must not stop the others.
        await runEvaluationFailed(run, key, e);
        continue;
      }
      if (!ev) continue;
      // A run just started while a worker is idle: its first task goes now, not after the other
      // runs this step starts (a backfill starts its 10 at once, a commit each).
      if (run.state === "queued") await dispatch();
      noteEvaluation(run, key, ev);
    }

    const active = new Set(runs.map((r) => runKey(r.dag_id, r.run_id)));
    for (const [key, at] of retryAt) {
      if (!active.has(key)) retryAt.delete(key);
      else if (!nextWake || at < nextWake) nextWake = at;
    }
    await dispatch();
    setTimer(nextWake);
  }

  /** What an evaluation decided, for the next steps: the run's retry time, a finished run. */
  function noteEvaluation(run: DagRunRow, key: string, ev: RunEvaluation): void {
    // Undecided tasks and nothing else unfinished, seen by a focused evaluation: the whole run is
    // looked at next (it schedules them, or calls the run deadlocked).
    if (ev.lookAgain) {
      dirtyRuns.set(key, "all");
      wake();
    }
    if (ev.runState !== "running") retryAt.delete(key);
    else if (ev.complete) {
      if (ev.nextRetryAt) retryAt.set(key, ev.nextRetryAt);
      else retryAt.delete(key);
    } else if (ev.nextRetryAt && !(retryAt.get(key)! <= ev.nextRetryAt)) retryAt.set(key, ev.nextRetryAt);
    // Said once: a step and a hand-off's follow-up may both see the run end (PostgreSQL: two
    // connections); the one whose update ended it tells.
    if (ev.ended && ev.runState !== "running") {
      log(`${run.dag_id} ${run.run_id} finished: ${ev.runState}`);
      runCreationDue = true;
      // A finished run frees a max_active_runs slot: queued runs get evaluated next step.
      wanted = true;
      opts.onRunFinished?.({ dag_id: run.dag_id, run_id: run.run_id, state: ev.runState });
    }
  }

  /** A step without marking any run dirty: a dispatch, a timer to set, queued runs to start. */
  function wake(): void {
    if (stopped) return;
    wanted = true;
    looping ??= loop();
  }

  /** Claims up to `limit` runnable task instances for this job (dispatch and the hand-off alike).
   *  A claim that took all it asked for and saw more notes the backlog: claiming ahead pays. */
  async function claim(trx: Kysely<Database>, limit: number, startWith?: ClaimOptions["startWith"]): Promise<ClaimedTaskInstances> {
    const got = await claimScheduledTaskInstances(trx, store.dialect, {
      limit,
      jobId,
      defaultMaxActiveTasks: config.getNumber("core", "max_active_tasks_per_dag"),
      onlyRunIds: opts.onlyRunIds ? [...opts.onlyRunIds] : undefined,
      ...(startWith ? { startWith } : {}),
    });
    backlog = got.more;
    return got;
  }

  /** The DAG and run of a try claimed in a finished try's transaction (the finished try's own when
   *  they are the same), and the worker reserved for it; undefined where one is missing. */
  async function prepareStart(trx: Kysely<Database>, c: TaskInstanceRow, run: DagRunRow, d: SchedulableDag) {
    const sameRun = c.dag_id === run.dag_id && c.run_id === run.run_id;
    const d2 = c.dag_id === run.dag_id ? d : await bag.get(trx, c.dag_id);
    const run2 = sameRun ? run : (listedRuns.get(runKey(c.dag_id, c.run_id)) ?? (await getDagRun(trx, c.dag_id, c.run_id)));
    const pid = d2 && run2 ? executor.reserve(c.id) : undefined;
    return { id: c.id, d2, run2, pid };
  }

  /** The transaction a start was prepared in rolls back: the worker reserved for it goes back. */
  function unprepare(prep: Awaited<ReturnType<typeof prepareStart>> | undefined): void {
    if (prep?.pid !== undefined) executor.release(prep.id);
  }

  /** The next try as a hand-off leaves it: started (its earlier try's XComs cleared), or claimed
   *  only. A throw leaves the worker reserved: the caller, whose transaction rolls back, gives it back. */
  async function startedOrClaimed(trx: Kysely<Database>, c: TaskInstanceRow, prep: Awaited<ReturnType<typeof prepareStart>>, tryNumber: number | null): Promise<NextTry> {
    const { d2, run2, pid } = prep;
    if (!d2 || !run2 || pid === undefined) return { ti: c, d: d2, ...(run2 ? { run: run2 } : {}) };
    if (tryNumber === null) {
      executor.release(c.id);
      return { ti: c, d: d2, run: run2 };
    }
    if (mayHoldXcoms(c, d2)) await clearTaskXcoms(trx, run2.id, c.task_id, c.map_index);
    return { ti: c, d: d2, started: { run: run2, tryNumber, pid } };
  }

  /** Starts a claimed try in the caller's transaction for the worker a finished try freed: its
   *  worker reserved, its row running, an earlier try's XComs cleared. Not started (no worker, the
   *  row moved on, its DAG or run gone): the ordinary start path takes it, or says why not. */
  async function startInTransaction(trx: Kysely<Database>, c: TaskInstanceRow, run: DagRunRow, d: SchedulableDag): Promise<NextTry> {
    const prep = await prepareStart(trx, c, run, d);
    try {
      const n = prep.d2 && prep.run2 && prep.pid !== undefined ? await startTry(trx, c.id, { hostname: machineHostname(), pid: prep.pid, jobId }) : null;
      return await startedOrClaimed(trx, c, prep, n);
    } catch (e) {
      unprepare(prep);
      throw e;
    }
  }

  /**
   * Airflow's mini-scheduler, in the finished try's outcome transaction: its direct downstream is
   * decided (the focused evaluation a step would make after the nudge), and the worker it freed
   * takes the next runnable try at once (claimed as dispatch claims, by priority, within the DAGs'
   * limits, and started in the same transaction). A chain's hop is then one transaction and one
   * message to the worker, instead of a step (three reads), an evaluation, a claim and a start,
   * each its own transaction. Left to the step: branch and short-circuit tasks (their skips reach
   * further than the direct downstream), depends_on_past DAGs (other runs wait on this one).
   *
   * With a try claimed ahead (see `ahead`), the outcome's transaction only starts it: the finished
   * try's downstream is decided by a follow-up transaction while the next try runs.
   */
  /** What a hand-off decides for a finished try: its task and direct downstream; undefined for
   *  what only a step may decide (see handOff), or once the scheduler stops. */
  function handOffScope(finished: TaskInstanceRow, d: SchedulableDag): { task: SerializedTask; downstream: Set<string> } | undefined {
    const task = d.tasks.get(finished.task_id);
    if (stopped || !task || task.kind === "branch" || task.kind === "short_circuit" || dagDependsOnPast(d)) return undefined;
    return { task, downstream: new Set([finished.task_id, ...task.downstream_task_ids]) };
  }

  async function handOff(trx: Kysely<Database>, finished: TaskInstanceRow, run: DagRunRow, d: SchedulableDag): Promise<HandOff | undefined> {
    const scope = handOffScope(finished, d);
    if (!scope) return undefined;
    const { task, downstream } = scope;
    const early = ahead.shift();
    if (early) {
      let next: NextTry;
      try {
        next = await startInTransaction(trx, early, run, d);
      } catch (e) {
        // The transaction rolls back and the outcome is written again alone (recordOutcome): the
        // claim stands, so the try goes back to the front of the queue for the ordinary start
        // path. Dropped here, it stayed queued by this job and was never started nor given back.
        ahead.unshift(early);
        throw e;
      }
      return {
        next,
        aborted: () => {
          // Rolled back: the claim stands (queued by this job), the worker is free again.
          if (next.started) executor.release(early.id);
          ahead.unshift(early);
        },
        committed: () => followUp({ finished, run, d, downstream, outlets: task.outlets.length > 0, ahead: worthAhead(finished) }),
      };
    }
    // The run as listed when the try started: its state may have moved since (marked by a user).
    const ev = await evaluateDagRun(trx, run, d, clock(), downstream, runningOnly, store.dialect);
    if (ev.notRunning) return undefined;
    let next: NextTry | undefined;
    // Claimed whether or not this run goes on: the worker takes another run's try as well (a
    // backfill's next month starts while this one's end is noted).
    if (executor.freeSlots() > 0) {
      // Started in the claim's own statement when its DAG, run and a worker are at hand.
      let prep: Awaited<ReturnType<typeof prepareStart>> | undefined;
      try {
        const got = await claim(trx, 1, async (picked) => {
          prep = await prepareStart(trx, picked, run, d);
          return prep.d2 && prep.run2 && prep.pid !== undefined ? { hostname: machineHostname(), pid: prep.pid } : undefined;
        });
        const [c] = got.claimed;
        if (c && prep) next = await startedOrClaimed(trx, c, prep, got.startedTryNumber ?? null);
      } catch (e) {
        unprepare(prep);
        throw e;
      }
    }
    const claimed = next ? 1 : 0;
    return {
      next,
      aborted: () => {
        if (next?.started) executor.release(next.ti.id);
      },
      committed: () => {
        decided(run, ev, task.outlets.length > 0, claimed);
        if (worthAhead(finished) && backlog) followUp();
      },
    };
  }

  /** For a plain success's one statement (finishSuccessAndStart, PostgreSQL): the try claimed
   *  ahead, its worker reserved, when it needs nothing looked up in the outcome's transaction (the
   *  finished try's DAG, its run listed, no earlier try's XComs to clear). After the statement the
   *  finished try's downstream is decided by the follow-up, as with a start in the transaction. */
  function takeAhead(finished: TaskInstanceRow, run: DagRunRow, d: SchedulableDag): AheadStart | undefined {
    const early = ahead[0];
    const scope = handOffScope(finished, d);
    if (!scope || !early || early.dag_id !== run.dag_id || mayHoldXcoms(early, d)) return undefined;
    const run2 = early.run_id === run.run_id ? run : listedRuns.get(runKey(early.dag_id, early.run_id));
    const pid = run2 ? executor.reserve(early.id) : undefined;
    if (!run2 || pid === undefined) return undefined;
    ahead.shift();
    const { downstream } = scope;
    return {
      ti: early,
      pid,
      aborted: () => {
        executor.release(early.id);
        ahead.unshift(early);
      },
      done: (tryNumber) => {
        if (tryNumber === null) executor.release(early.id);
        return {
          next: tryNumber === null ? { ti: early, d, run: run2 } : { ti: early, d, started: { run: run2, tryNumber, pid } },
          aborted: () => {},
          committed: () => followUp({ finished, run, d, downstream, outlets: false, ahead: worthAhead(finished) }),
        };
      },
    };
  }

  /** After a committed focused evaluation (a hand-off's or its follow-up's): the run needs no step
   *  for it, and what it decided is noted. Scheduled more than was claimed (a fan-out with free
   *  workers), a retry time to wait for, an outlet's event for asset-scheduled DAGs, a run ended: a
   *  step dispatches, sets the timer, creates runs. */
  function decided(run: DagRunRow, ev: RunEvaluation, outlets: boolean, claimed: number): void {
    const key = runKey(run.dag_id, run.run_id);
    dirtyRuns.delete(key);
    noteEvaluation(run, key, ev);
    if (outlets) runCreationDue = true;
    if (ev.scheduled > claimed || ev.nextRetryAt || ev.runState !== "running" || outlets) wake();
  }

  /**
   * The executor's queue (Airflow's queued task instances waiting for an open slot): while every
   * worker is busy and the latest claim left runnable tries behind, up to one try per worker is
   * claimed ahead (queued by this job). A worker that frees up starts one in its outcome's own
   * transaction, so the next try does not wait for the finished one's downstream to be decided and
   * a claim to be made: on PostgreSQL, 5 round trips between two tries of a backfill instead of 13.
   * A try claimed ahead keeps its place for HOLD_AHEAD_MS at most: a worker still busy then (a long
   * task) gives it back, so another scheduler's free worker can take it.
   */
  const ahead: TaskInstanceRow[] = [];
  let backlog = false;
  /** Whether the latest try handed off was worth claiming ahead for (dispatch asks too). */
  let lastTryLong = false;
  let aheadTimer: NodeJS.Timeout | undefined;
  let followUps: Promise<void> = Promise.resolve();
  let pendingFollowUps = 0;

  /** After a hand-off that only started a try claimed ahead: the finished try's downstream is
   *  decided, and tries are claimed ahead again; one follow-up at a time, after the next try's
   *  message is on its way to the worker. Without `work`: only the claim ahead. */
  function followUp(work?: { finished: TaskInstanceRow; run: DagRunRow; d: SchedulableDag; downstream: Set<string>; outlets: boolean; ahead: boolean }): void {
    pendingFollowUps++;
    followUps = followUps
      .then(() => new Promise<void>((r) => setImmediate(r)))
      .then(() => runFollowUp(work))
      .finally(() => {
        pendingFollowUps--;
        checkIdle();
      });
  }

  async function runFollowUp(work: Parameters<typeof followUp>[0]): Promise<void> {
    let out: { ev?: RunEvaluation; early: TaskInstanceRow[] };
    try {
      out = await store.writeTransaction(async (trx) => {
        let ev: RunEvaluation | undefined;
        if (work) ev = await evaluateDagRun(trx, work.run, work.d, clock(), work.downstream, runningOnly, store.dialect);
        if (ev?.notRunning) ev = undefined;
        const room = executor.parallelism - ahead.length;
        const early = !stopped && backlog && (work?.ahead ?? true) && room > 0 && executor.freeSlots() === 0 ? (await claim(trx, room)).claimed : [];
        return { ev, early };
      });
    } catch (e) {
      // The step decides instead (and claims as dispatch does).
      log(`deciding after ${work ? `${work.finished.dag_id}.${work.finished.task_id} (${work.finished.run_id})` : "a claim"} failed: ${(e as Error).message}; the next step looks again`);
      if (work) nudge({ run: work.finished, tasks: [...work.downstream] });
      return;
    }
    if (work) {
      if (out.ev) decided(work.run, out.ev, work.outlets, 0);
      else nudge({ run: work.finished, tasks: [...work.downstream] });
    }
    if (out.early.length === 0) return;
    ahead.push(...out.early);
    // Their log folders are made now, while the workers are busy: creating a try's folders was
    // most of opening its log (0.4-1.1 ms), in the gap between two tries.
    for (const t of out.early) {
      void makeTaskLogFolder(taskLogPath(config.getString("logging", "base_log_folder"), { ...t, try_number: t.try_number + 1 })).catch(() => {});
    }
    // A worker freed meanwhile (its try's hand-off found nothing claimed ahead): a step dispatches.
    if (executor.freeSlots() > 0 || stopped) wake();
    holdTimer();
  }

  /** Claiming ahead pays when tries leave the scheduler idle while they run: a try shorter than
   *  AHEAD_MIN_TRY_MS (a no-op) waits for the scheduler's work, not for its worker, and the claim's
   *  own transaction would only add to it (measured: 100 runs x 10 no-op tasks, 12% slower). */
  function worthAhead(t: TaskInstanceRow): boolean {
    // Noted for dispatch, which has no finished try to ask about.
    lastTryLong = Date.now() - Date.parse(t.start_date ?? "") >= AHEAD_MIN_TRY_MS;
    return lastTryLong;
  }

  const claimedAt = (t: TaskInstanceRow) => Date.parse(t.queued_dttm ?? "") || 0;

  function holdTimer(): void {
    if (aheadTimer || ahead.length === 0 || stopped) return;
    const oldest = Math.min(...ahead.map(claimedAt));
    aheadTimer = setTimeout(() => void giveBackAhead(false), Math.max(0, oldest + HOLD_AHEAD_MS - Date.now()));
    aheadTimer.unref();
  }

  /** Claims held ahead for HOLD_AHEAD_MS go back to scheduled; at a stop (`all`), every one. */
  async function giveBackAhead(all: boolean): Promise<void> {
    aheadTimer = undefined;
    const cutoff = Date.now() - HOLD_AHEAD_MS;
    const back: number[] = [];
    for (let i = ahead.length - 1; i >= 0; i--) {
      if (all || claimedAt(ahead[i]!) <= cutoff) back.push(ahead.splice(i, 1)[0]!.id);
    }
    holdTimer();
    if (back.length === 0) return;
    await persist("giving back tries claimed ahead", { log, stopping: () => stopped }, () => unclaim(store.db, back, jobId));
    if (!stopped) wake();
  }

  /** A queued run starts only below its DAG's max_active_runs, counted in the same transaction as
   *  the start (serialised per DAG on PostgreSQL); `dags test` runs its run regardless. Returns
   *  null when the run stays queued or its DAG is gone. */
  async function evaluateRun(run: DagRunRow, now: Date, focus: ReadonlySet<string> | undefined, gate: RunGate): Promise<RunEvaluation | null> {
    const d = await bag.get(store.db, run.dag_id);
    if (!d) return null;
    // A backfill's runs start under the backfill's own max_active_runs (the gate), apart from the DAG's.
    const backfill = run.backfill_id !== null;
    if (run.state === "queued" && backfill && !opts.onlyRunIds && !gate.admit(run, d.dag.max_active_runs)) return null;
    return store.writeTransaction(async (trx) => {
      if (run.state === "queued" && !(await startDagRunWithinLimit(trx, store.dialect, run, opts.onlyRunIds || backfill ? null : d.dag.max_active_runs))) return null;
      return evaluateDagRun(trx, run, d, now, focus, evaluation, store.dialect);
    });
  }

  async function runEvaluationFailed(run: DagRunRow, key: string, e: unknown): Promise<void> {
    const n = (runFailures.get(key) ?? 0) + 1;
    runFailures.set(key, n);
    const message = (e as Error).message ?? String(e);
    if (n === 1) log(`evaluating ${run.dag_id} ${run.run_id} (dag_run.id ${run.id}) failed: ${(e as Error).stack ?? e}`);
    if (n < MAX_RUN_EVALUATION_FAILURES) {
      // Looked at again after a pause, not in the next tight step.
      setTimer(new Date(clock().getTime() + STEP_BACKOFF_MIN_MS * n));
      dirtyRuns.set(key, "all");
      return;
    }
    runFailures.delete(key);
    try {
      await store.writeTransaction((trx) => finishDagRun(trx, run.id, "failed"));
      log(`${run.dag_id} ${run.run_id} (dag_run.id ${run.id}) failed: its evaluation failed ${n} times in a row; last error: ${message}`);
      opts.onRunFinished?.({ dag_id: run.dag_id, run_id: run.run_id, state: "failed" });
    } catch (e2) {
      log(`cannot fail ${run.dag_id} ${run.run_id}: ${(e2 as Error).message}`);
    }
  }

  /** Tries running here whose task instance was cleared (now `restarting`): terminated, SIGTERM
   *  then SIGKILL after [core] killed_task_cleanup_time; the runner then discards the outcome. */
  async function terminateClearedTries(): Promise<void> {
    if (running.size === 0) return;
    for (const r of await listRestarting(store.db, [...running.keys()])) {
      const ti = running.get(r.id);
      if (!ti || ti.try_number !== r.try_number) continue;
      if (executor.terminate(r.id, cleanupMs)) log(`${ti.dag_id}.${ti.task_id} (${ti.run_id}) was cleared while running: terminating try ${ti.try_number}`);
    }
  }

  /** Heartbeat, recovery of dead jobs' tries, and the safety poll: a lost notification delays
   *  work by at most [scheduler] safety_poll_interval, never forever. */
  function startHousekeeping(): void {
    const heartbeatTimeout = config.getNumber("scheduler", "task_instance_heartbeat_timeout");
    const heartbeatMs = Math.max(100, Math.min(config.getNumber("scheduler", "scheduler_heartbeat_sec"), heartbeatTimeout / 3) * 1000);
    const pollMs = Math.max(100, config.getNumber("scheduler", "safety_poll_interval") * 1000);
    let lastPoll = Date.now();
    let busy = false;
    let failures = 0;
    const tick = async () => {
      if (busy || stopped) return;
      busy = true;
      try {
        if (jobId !== null && !(await heartbeatJob(store.db, jobId))) {
          // Another scheduler found our heartbeat too old and recovered our tries: ours must not
          // run beside theirs. End them now and carry on as a new job.
          log(`job ${jobId} was declared dead by another scheduler (heartbeat older than ${heartbeatTimeout} s); terminating its tries and starting a new job`);
          for (const id of running.keys()) executor.terminate(id, 0);
          jobsOfThisProcess.delete(jobId);
          jobId = await startJob(store.db, { jobType: opts.jobType ?? "SchedulerJob", hostname: machineHostname(), pid: process.pid });
          jobsOfThisProcess.add(jobId);
        }
        await recover();
        if (failures) log(`heartbeat works again after ${failures} failure(s)`);
        failures = 0;
      } catch (e) {
        // Said once, then counted at powers of two: a database down for an hour is a few lines.
        failures++;
        if ((failures & (failures - 1)) === 0) log(`heartbeat failed${failures > 1 ? ` (${failures} times in a row)` : ""}: ${(e as Error).message}`);
      } finally {
        busy = false;
      }
      if (Date.now() - lastPoll >= pollMs) {
        lastPoll = Date.now();
        nudge({ dagsChanged: true, external: true });
      }
    };
    housekeeping = setInterval(() => {
      housekeepingTick = tick();
    }, Math.min(heartbeatMs, pollMs));
  }

  async function recover(): Promise<void> {
    const r = await recoverOrphanedTaskInstances(store, {
      jobId,
      heartbeatTimeoutSeconds: config.getNumber("scheduler", "task_instance_heartbeat_timeout"),
      maxInterruptedTries: config.getNumber("scheduler", "max_interrupted_tries"),
      baseLogFolder: config.getString("logging", "base_log_folder"),
    });
    if (r.deadJobs.length) log(`job(s) ${r.deadJobs.join(", ")} stopped heartbeating: recovering their tries`);
    if (r.failed || r.interrupted || r.requeued || r.restarted) {
      log(`recovered task instances: ${r.interrupted} interrupted (run again), ${r.failed} failed, ${r.requeued} re-queued, ${r.restarted} restarted`);
      nudge({ external: true });
    }
  }

  /** A claimed try's DAG: a store that fails here must not strand the claim, so it is read again
   *  until it answers (or the scheduler stops). */
  function readDag(dagId: string): Promise<SchedulableDag | undefined> {
    return persist(`reading DAG ${dagId}`, { log, stopping: () => stopped }, () => bag.get(store.db, dagId));
  }

  async function dispatch(): Promise<void> {
    const free = Math.min(executor.freeSlots(), executor.parallelism - inFlight.size);
    if (free <= 0 || stopped) return;
    // Tries claimed ahead go first: they were claimed before anything this claim would find.
    const claimed = ahead.splice(0, free);
    if (claimed.length < free) claimed.push(...(await store.writeTransaction((trx) => claim(trx, free - claimed.length))).claimed);
    for (const ti of claimed) {
      const d = await readDag(ti.dag_id);
      const p: Promise<void> = runSlot({ ti, d }).finally(() => {
        inFlight.delete(p);
        // A step's dispatch while this slot was between tries counted it busy, and its hand-off
        // found nothing yet (the step's runs not committed), or a try was claimed ahead as it
        // ended: a step looks now instead of the next heartbeat (seen: 2-3 s stalls).
        if (!stopped) wake();
      });
      inFlight.add(p);
    }
    if (backlog && claimed.length && lastTryLong) followUp();
  }

  /** One executor slot: the claimed try, then each next try its hand-off claimed for the same worker. */
  async function runSlot(first: NextTry): Promise<void> {
    const hooks = {
      jobId,
      log,
      stopping: () => stopped,
      onStarted: (t: TaskInstanceRow) => running.set(t.id, t),
      onDeferred: opts.onDeferred,
      handOff,
      takeAhead,
    };
    for (let cur: NextTry | undefined = first; cur; ) {
      const { ti, d } = cur;
      hooks.jobId = jobId;
      let end: TryEnd = { handedOff: false };
      try {
        end = await runClaimedTaskInstance({ store, config, executor }, ti, d, hooks, cur.started?.run ?? cur.run ?? listedRuns.get(runKey(ti.dag_id, ti.run_id)), cur.started);
      } catch (e) {
        log(`running ${ti.dag_id}.${ti.task_id} failed: ${(e as Error).stack ?? e}`);
      }
      running.delete(ti.id);
      cur = end.next;
      // No hand-off started another try: one claimed ahead takes the worker (its DAG read again
      // here: the ordinary start path starts it).
      if (!cur && !stopped) {
        const early = ahead.shift();
        if (early) cur = { ti: early, d: await readDag(early.dag_id) };
      }
      if (cur && stopped) {
        // Stopping takes no new task. A try its hand-off started as the stop came is left as the
        // job leaves it: recovery runs it again as interrupted (no retry spent), and a claim goes
        // back to scheduled; handing it to a stopping executor failed it instead.
        if (cur.started) executor.release(cur.ti.id);
        cur = undefined;
      }
      if (end.handedOff) continue;
      // The task itself (it may wait for a retry) and its downstream are what changed; a
      // branch or short-circuit may have skipped further afield, so those look at everything.
      const task = d?.tasks.get(ti.task_id);
      const local = task && task.kind !== "branch" && task.kind !== "short_circuit";
      // An outlet's event may complete a consumer's asset condition: look at run creation now.
      if (task?.outlets.length) runCreationDue = true;
      nudge({ run: ti, tasks: local ? [ti.task_id, ...task.downstream_task_ids] : undefined });
      // depends_on_past: the next run of the DAG may have been waiting on this one.
      if (d && dagDependsOnPast(d)) nudge();
    }
  }

  return {
    bag,
    async start() {
      jobId = await startJob(store.db, { jobType: opts.jobType ?? "SchedulerJob", hostname: machineHostname(), pid: process.pid });
      jobsOfThisProcess.add(jobId);
      await recover();
      if (opts.listen) listener = await listenForNotifications(store, () => nudge({ dagsChanged: true, external: true }), { log });
      startHousekeeping();
      executor.warm();
      nudge({ dagsChanged: true });
    },
    async stop(graceMs = config.getNumber("core", "killed_task_cleanup_time") * 1000) {
      if (stopped) return;
      stopped = true;
      if (timer) clearTimeout(timer);
      if (housekeeping) clearInterval(housekeeping);
      await housekeepingTick;
      await listener?.close();
      await looping;
      await followUps;
      if (aheadTimer) clearTimeout(aheadTimer);
      await giveBackAhead(true);
      const drained = Promise.all([...inFlight]);
      let t: NodeJS.Timeout | undefined;
      await Promise.race([drained, new Promise<void>((r) => (t = setTimeout(r, graceMs)))]);
      clearTimeout(t);
      await executor.stop(1000);
      await drained;
      // Hand-offs that came as the stop did may have claimed ahead.
      await followUps;
      await giveBackAhead(true);
      // Tries still unrecorded were given up: the job ends and the next recovery ends them.
      if (jobId !== null) {
        jobsOfThisProcess.delete(jobId);
        await endJob(store.db, jobId).catch((e) => log(`cannot end job ${jobId}: ${(e as Error).message}`));
      }
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

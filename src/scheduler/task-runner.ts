// Running one claimed task instance: build its run-task request (the worker never reads the store;
// what it reads while it runs is answered by worker-reads.ts), start the try, hand it to the executor, and record the outcome in one transaction
// (XComs, state, history row, the skips a branch decided, the retry time).
import { recordRenderedMapIndex } from "../store/mapped.ts";
import type { Config } from "../config.ts";
import { machineHostname } from "../hostname.ts";
import type { Executor } from "../executor/local-executor.ts";
import { createSecretsMasker, openTaskLog, taskLogPath, type TaskLog } from "../logging/index.ts";
import { listTriggeringAssetEvents, recordAssetEvent } from "../store/assets.ts";
import { getDagRun } from "../store/dag-runs.ts";
import type { Dialect } from "../store/dialect.ts";
import type { Store } from "../store/index.ts";
import type { Database, DagRunRow, TaskInstanceRow } from "../store/schema.ts";
import type { Kysely } from "kysely";
import { failUnstartedTry, finishRestartedTry, finishSuccessAndStart, finishTry, releaseClaim, skipTaskInstancesOfRun, startTry } from "../store/task-instances.ts";
import { notifyTriggerer } from "../store/notify.ts";
import { isTransientStoreError } from "../store/store-errors.ts";
import { deferTry, rescheduleTry } from "../store/triggers.ts";
import { clearTaskXcoms, setXcoms, SKIPMIXIN_KEY } from "../store/xcom.ts";
import type { RunTaskRequest, TaskOutcome } from "../worker/protocol.ts";
import { allDownstream, type SchedulableDag } from "./dag-bag.ts";
import { nextRetryAt } from "./deps/index.ts";
import { resolveParams } from "./run-creation.ts";
import { answerTaskReads, maskOutcome } from "./worker-reads.ts";

export interface TaskRunnerDeps {
  store: Store;
  config: Config;
  executor: Executor;
}

export function buildRequest(args: {
  ti: TaskInstanceRow;
  run: DagRunRow;
  d: SchedulableDag;
  config: Config;
  params: Record<string, unknown>;
  triggeringAssetEvents?: RunTaskRequest["triggeringAssetEvents"];
}): RunTaskRequest {
  const { ti, run, d, config } = args;
  const task = d.tasks.get(ti.task_id);
  const timeout = task?.execution_timeout_seconds;
  return {
    tiId: ti.id,
    dagId: ti.dag_id,
    runId: ti.run_id,
    taskId: ti.task_id,
    mapIndex: ti.map_index,
    tryNumber: ti.try_number,
    maxTries: ti.max_tries,
    fileloc: d.fileloc,
    cacheDir: `${config.home}/.cache`,
    dagRun: {
      run_type: run.run_type,
      logical_date: run.logical_date,
      data_interval_start: run.data_interval_start,
      data_interval_end: run.data_interval_end,
      run_after: run.run_after,
      start_date: run.start_date,
      conf: run.conf ? (JSON.parse(run.conf) as Record<string, unknown>) : {},
    },
    params: args.params,
    maxXcomBytes: config.getNumber("core", "max_xcom_size"),
    ...(args.triggeringAssetEvents ? { triggeringAssetEvents: args.triggeringAssetEvents } : {}),
    ...(ti.next_method ? { nextMethod: ti.next_method, nextKwargs: ti.next_kwargs ? (JSON.parse(ti.next_kwargs) as Record<string, unknown>) : {} } : {}),
    timeoutMs: timeout ? timeout * 1000 : null,
    killGraceMs: config.getNumber("core", "killed_task_cleanup_time") * 1000,
  };
}

/** Whether a try about to start may find XComs of an earlier try to clear. Not one resuming after
 *  deferral (it keeps what it pushed before it deferred), nor the first try of an unmapped task:
 *  XComs are written only by a task's own tries, and its row (try_number 0 until its first try
 *  starts) is never re-made. A mapped instance may be re-made by a new expansion at try 0, so it
 *  is cleared. One statement less per task, a round trip on PostgreSQL. */
export function mayHoldXcoms(ti: TaskInstanceRow, d: SchedulableDag): boolean {
  if (ti.next_method) return false;
  return ti.try_number > 0 || ti.map_index >= 0 || Boolean(d.tasks.get(ti.task_id)?.expand_input);
}

export interface RunHooks {
  jobId: number | null;
  /** Says what went wrong (one line; the caller decides where it goes). */
  log(message: string): void;
  /** true once the scheduler stops: a write that keeps failing is given up then (the next
   *  scheduler's recovery ends the try). */
  stopping(): boolean;
  /** The try was cleared while it ran: the runner tells its caller, which terminates it. */
  onStarted?(ti: TaskInstanceRow): void;
  /** The try deferred: the triggerer should look now. */
  onDeferred?(): void;
  /** Airflow's mini-scheduler: runs inside the outcome's transaction, after the outcome is
   *  written (a failure here rolls the transaction back and the outcome is written alone).
   *  It decides the finished task's direct downstream and may claim and start the next try for
   *  the worker just freed. undefined: it did nothing, the scheduler's step looks at the run. */
  handOff?(trx: Kysely<Database>, finished: TaskInstanceRow, run: DagRunRow, d: SchedulableDag): Promise<HandOff | undefined>;
  /** The try claimed ahead for the worker a plain success frees, when it can start in the
   *  success's own statement (finishSuccessAndStart; PostgreSQL): its worker reserved. undefined:
   *  the outcome's transaction and handOff take the finish. */
  takeAhead?(finished: TaskInstanceRow, run: DagRunRow, d: SchedulableDag): AheadStart | undefined;
}

/** A try claimed ahead, its worker reserved, to start in the statement that ends the finished try. */
export interface AheadStart {
  ti: TaskInstanceRow;
  pid: number;
  /** After the statement: the try started at `tryNumber`, or its row had moved on (null). */
  done(tryNumber: number | null): HandOff;
  /** The statement failed: the claim goes back to the queue, its worker is free. */
  aborted(): void;
}

/** The next try a hand-off claimed, started (its row is `running` at `tryNumber`, its worker
 *  reserved) or only claimed (`queued`: the ordinary start path takes it). */
export type NextTry =
  | { ti: TaskInstanceRow; d: SchedulableDag | undefined; started?: undefined; run?: DagRunRow }
  | { ti: TaskInstanceRow; d: SchedulableDag; started: { run: DagRunRow; tryNumber: number; pid: number }; run?: undefined };

export interface HandOff {
  next?: NextTry;
  /** After the commit: the scheduler notes what the evaluation decided. */
  committed(): void;
  /** The transaction did not commit: gives back what was reserved. */
  aborted(): void;
}

/** What became of a try's end: whether a hand-off looked at its downstream (then no step needs
 *  to), and the next try it claimed for the same slot. */
export interface TryEnd {
  handedOff: boolean;
  next?: NextTry;
}

/** Backoff for a store write that fails (database restarted, disk full): 1 s doubling to 30 s. */
const RETRY_MIN_MS = 1000;
const RETRY_MAX_MS = 30_000;

/**
 * Runs `fn` until it succeeds: an outcome the store could not take (PostgreSQL restarting, a
 * read-only or full disk) is written once the store is writable again, without a restart. Says so
 * once, then once more when it got through. Gives up only when the scheduler stops, or, with
 * `onlyTransient`, at once on an error that retrying cannot cure (isTransientStoreError), which it
 * throws.
 */
export async function persist<T>(what: string, hooks: Pick<RunHooks, "log" | "stopping">, fn: () => Promise<T>, onlyTransient = false): Promise<T | undefined> {
  let delay = RETRY_MIN_MS;
  let failures = 0;
  for (;;) {
    try {
      const out = await fn();
      if (failures) hooks.log(`${what}: written after ${failures} failed attempt(s)`);
      return out;
    } catch (e) {
      if (onlyTransient && !isTransientStoreError(e)) throw e;
      failures++;
      if (failures === 1) hooks.log(`${what} failed: ${(e as Error).message}; retrying with backoff`);
      if (hooks.stopping()) {
        hooks.log(`${what}: giving up after ${failures} attempt(s) as the scheduler stops; recovery will end the try`);
        return undefined;
      }
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(RETRY_MAX_MS, delay * 2);
    }
  }
}

function failure(message: string, e?: unknown): TaskOutcome {
  const err = e instanceof Error ? e : undefined;
  return { state: "failed", error: { message: err ? `${message}: ${err.message}` : message, stack: err?.stack, retryable: true } };
}

/**
 * Starts the try and runs it; resolves when the outcome is recorded. Whatever breaks between the
 * claim and the outcome (the run gone, variables, the log file, the executor, the outcome's own
 * transaction) ends the try with a reason that says what broke; nothing leaves it `running`.
 */
export async function runClaimedTaskInstance(
  deps: TaskRunnerDeps,
  claimed: TaskInstanceRow,
  d: SchedulableDag | undefined,
  hooks: RunHooks,
  listedRun?: DagRunRow,
  preStarted?: { run: DagRunRow; tryNumber: number; pid: number },
): Promise<TryEnd> {
  const { store, config, executor } = deps;
  const what = `${claimed.dag_id}.${claimed.task_id} (${claimed.run_id})`;
  const startOnce = async (): Promise<{ run: DagRunRow; tryNumber: number; pid: number } | null> => {
    // The run as the scheduler listed it this step, when it was running then (a read per try saved);
    // a run deleted since is caught by startTry, whose row went with it.
    const run = listedRun ?? (await getDagRun(store.db, claimed.dag_id, claimed.run_id));
    if (!run || !d) {
      const reason = !d ? `DAG ${claimed.dag_id} is no longer in the store` : `DAG run ${claimed.run_id} of ${claimed.dag_id} no longer exists`;
      await releaseClaim(store.db, claimed.id, `claim released: ${reason}`);
      hooks.log(`${what}: claim released: ${reason}`);
      return null;
    }
    // The worker is chosen before the try starts, so the try's row names the process that runs it.
    const pid = executor.reserve(claimed.id) ?? process.pid;
    const n = await store.writeTransaction(async (trx) => {
      const t = await startTry(trx, claimed.id, { hostname: machineHostname(), pid, jobId: hooks.jobId });
      // A try resuming after deferral keeps what it pushed before it deferred.
      if (t !== null && mayHoldXcoms(claimed, d)) await clearTaskXcoms(trx, run.id, claimed.task_id, claimed.map_index);
      return t;
    });
    return n === null ? null : { run, tryNumber: n, pid };
  };
  let started: Awaited<ReturnType<typeof startOnce>> | undefined;
  try {
    started = preStarted ?? (await persist(`starting ${what}`, hooks, startOnce, true));
  } catch (e) {
    // persist gave up at once: the store refuses this try's start for a reason of its row (a
    // constraint, a trigger), and would refuse every retry while the try held its worker. It ends
    // failed, saying why; its worker is free again.
    executor.release(claimed.id);
    const reason = `could not start the try: ${(e as Error).message}`;
    hooks.log(`${what}: ${reason}`);
    await persist(`failing ${what}`, hooks, () => failUnstartedTry(store.db, claimed.id, reason), true).catch((e2: unknown) =>
      hooks.log(`${what}: could not record that it could not start either: ${(e2 as Error).message}`),
    );
    return { handedOff: false };
  }
  if (!started || !d) {
    executor.release(claimed.id);
    return { handedOff: false };
  }
  const { run, tryNumber } = started;
  const ti: TaskInstanceRow = { ...claimed, state: "running", try_number: tryNumber, start_date: new Date().toISOString(), hostname: machineHostname(), pid: started.pid };
  hooks.onStarted?.(ti);
  let log: TaskLog | undefined;
  let outcome: TaskOutcome;
  try {
    // Filled with what the try reads (worker-reads.ts) before the task can print it.
    const masker = createSecretsMasker();
    try {
      log = tolerantLog(
        await openTaskLog(
          taskLogPath(config.getString("logging", "base_log_folder"), { dag_id: ti.dag_id, run_id: ti.run_id, task_id: ti.task_id, map_index: ti.map_index, try_number: tryNumber }),
          { masker },
        ),
        hooks.log,
      );
    } catch (e) {
      throw new StepError("cannot open the task log", e);
    }
    const taskLog = log;
    taskLog.info(`Starting attempt ${tryNumber} of ${ti.max_tries + 1}`);
    let params: Record<string, unknown> | undefined;
    try {
      params = resolveParams(d, run.conf ? (JSON.parse(run.conf) as Record<string, unknown>) : {});
    } catch (e) {
      outcome = { state: "failed", error: { message: (e as Error).message, retryable: false } };
    }
    if (params) {
      const triggeringAssetEvents = run.run_type === "asset_triggered" ? await triggeringEvents(store, run.id) : undefined;
      const request = buildRequest({ ti, run, d, config, params, triggeringAssetEvents });
      try {
        outcome = maskOutcome(await executor.execute(request, (line, level) => taskLog.log(level, line), answerTaskReads(store, run.id, masker, ti.id)), masker);
      } catch (e) {
        throw new StepError("the executor failed", e);
      }
    }
  } catch (e) {
    const err = e instanceof StepError ? e : new StepError("running the try failed", e);
    outcome = failure(err.message, err.cause);
    log?.error(outcome.state === "failed" ? outcome.error.message : "");
  }
  // A try that broke before reaching the executor gives its worker back.
  executor.release(claimed.id);
  try {
    const final = outcome!;
    const { handOff } = hooks;
    const r = await persist(`recording the outcome of ${what} try ${tryNumber}`, hooks, async () =>
      (await recordSuccessAndStart(store, ti, run, d, final, log, hooks)) ??
      recordOutcome(store, ti, run, d, final, log, handOff && ((trx) => handOff(trx, ti, run, d))),
    );
    if (r?.deferred) {
      hooks.onDeferred?.();
      // A triggerer in another process hears it on the store's triggerer channel.
      await notifyTriggerer(store).catch(() => {});
    }
    return r?.handOff ? { handedOff: true, next: r.handOff.next } : { handedOff: false };
  } finally {
    await log?.close().catch(() => {});
  }
}

async function triggeringEvents(store: Store, dagRunId: number): Promise<RunTaskRequest["triggeringAssetEvents"]> {
  return (await listTriggeringAssetEvents(store.db, dagRunId)).map((e) => ({
    uri: e.uri,
    name: e.name,
    extra: e.extra,
    timestamp: e.timestamp,
    source_dag_id: e.source_dag_id,
    source_task_id: e.source_task_id,
    source_run_id: e.source_run_id,
    source_map_index: e.source_map_index,
  }));
}

/** A task log whose writes never throw: a full disk or a read-only log folder loses log lines (said
 *  once in the scheduler's log), never the try's outcome or the scheduler (log lines are written
 *  from the worker's message handler, where a throw would be uncaught). */
function tolerantLog(inner: TaskLog, say: (m: string) => void): TaskLog {
  let failed = 0;
  const guard =
    <A extends unknown[]>(fn: (...a: A) => void) =>
    (...a: A): void => {
      try {
        fn(...a);
      } catch (e) {
        if (failed++ === 0) say(`cannot write task log ${inner.path}: ${(e as Error).message}; later lines of this try are lost`);
      }
    };
  return {
    ...inner,
    write: guard(inner.write),
    log: guard(inner.log),
    info: guard(inner.info),
    warn: guard(inner.warn),
    error: guard(inner.error),
    close: () => inner.close().catch(() => {}),
  };
}

class StepError extends Error {
  constructor(
    message: string,
    override readonly cause?: unknown,
  ) {
    super(message);
  }
}

/** Airflow's handle_failure / success bookkeeping, in one transaction. Each write is guarded by
 *  the state and try number this try holds: a clear or a recovery in between wins. A try cleared
 *  while it ran (`restarting`) has its outcome discarded and the task goes back to none. */
export async function recordOutcome(
  store: Store,
  ti: TaskInstanceRow,
  run: DagRunRow,
  d: SchedulableDag,
  outcome: TaskOutcome,
  log: TaskLog | undefined,
  handOff?: (trx: Kysely<Database>) => Promise<HandOff | undefined>,
): Promise<{ deferred: boolean; handOff?: HandOff }> {
  let handed: HandOff | undefined;
  let deferred = false;
  let handOffFailed = false;
  try {
    await store.writeTransaction(async (trx) => {
      deferred = await writeOutcome(trx, store.dialect, ti, run, d, outcome, log);
      if (!handOff) return;
      try {
        handed = await handOff(trx);
      } catch (e) {
        handOffFailed = true;
        throw e;
      }
    });
  } catch (e) {
    handed?.aborted();
    if (!handOffFailed) throw e;
    // The hand-off threw (a corrupt row, a DAG that no longer fits the run): the outcome must not
    // go with it. Written again alone (its log lines are already in the log), and the scheduler's
    // step looks at the run. A savepoint would do the same at two more statements per task, each
    // a round trip on PostgreSQL.
    const again = await store.writeTransaction((trx) => writeOutcome(trx, store.dialect, ti, run, d, outcome, undefined));
    return { deferred: again };
  }
  handed?.committed();
  return { deferred, ...(handed ? { handOff: handed } : {}) };
}

/** A plain success (no outlets, branch, rendered map index) while a try waits claimed ahead for
 *  this worker, on PostgreSQL: the finish, its XComs and the next try's start in one statement.
 *  undefined: it does not apply (the outcome's transaction takes it). */
async function recordSuccessAndStart(
  store: Store,
  ti: TaskInstanceRow,
  run: DagRunRow,
  d: SchedulableDag,
  outcome: TaskOutcome,
  log: TaskLog | undefined,
  hooks: RunHooks,
): Promise<{ deferred: boolean; handOff: HandOff } | undefined> {
  const { takeAhead } = hooks;
  if (!takeAhead || !store.dialect.supportsDataModifyingCtes || outcome.state !== "success" || outcome.decision || outcome.rendered_map_index !== undefined) return undefined;
  if (d.tasks.get(ti.task_id)?.outlets.length !== 0) return undefined;
  const next = takeAhead(ti, run, d);
  if (!next) return undefined;
  let r: { finished: boolean; tryNumber: number | null };
  try {
    r = await finishSuccessAndStart(store.db, ti, { dagRunId: run.id, entries: outcome.xcoms ?? [] }, { id: next.ti.id, hostname: machineHostname(), pid: next.pid, jobId: hooks.jobId });
  } catch (e) {
    next.aborted();
    throw e;
  }
  const handOff = next.done(r.tryNumber);
  handOff.committed();
  if (r.finished) log?.info(successLine(ti));
  // Its own transaction, retried on its own: the next try has started whatever happens here.
  else await persist(`discarding the outcome of ${ti.dag_id}.${ti.task_id} (${ti.run_id}) try ${ti.try_number}`, hooks, () => store.writeTransaction((trx) => discardRestartedTry(trx, ti, log)));
  return { deferred: false, handOff };
}

const successLine = (ti: TaskInstanceRow) => `Marking task as SUCCESS. dag_id=${ti.dag_id}, task_id=${ti.task_id}, run_id=${ti.run_id}`;

/** The outcome found its row moved on. Cleared while it ran (restarting): the outcome is discarded
 *  and the task runs again; anything else (a recovery, a mark): their decision stands. */
async function discardRestartedTry(trx: Kysely<Database>, ti: TaskInstanceRow, log: TaskLog | undefined): Promise<void> {
  if (await finishRestartedTry(trx, ti, "cleared while running: the try was terminated and its outcome discarded; it runs again as a new try")) {
    log?.info("Task instance was cleared while running: the try was terminated and its outcome discarded");
  }
}

/** The outcome's writes, in the caller's transaction; true when the try deferred. */
async function writeOutcome(trx: Kysely<Database>, dialect: Dialect, ti: TaskInstanceRow, run: DagRunRow, d: SchedulableDag, outcome: TaskOutcome, log: TaskLog | undefined): Promise<boolean> {
  const task = d.tasks.get(ti.task_id);
  let deferred = false;
  await (async () => {
    if (outcome.rendered_map_index !== undefined) await recordRenderedMapIndex(trx, ti.id, outcome.rendered_map_index);
    // finishTry wrote nothing: the row moved on.
    const notOurs = () => discardRestartedTry(trx, ti, log);
    switch (outcome.state) {
      case "success": {
        // With its XComs in one statement where the dialect allows (a round trip fewer per hop).
        const together = dialect.supportsDataModifyingCtes && (outcome.xcoms?.length ?? 0) > 0;
        const finished = together
          ? (await finishSuccessAndStart(trx, ti, { dagRunId: run.id, entries: outcome.xcoms ?? [] }, undefined)).finished
          : await finishTry(trx, dialect, ti, { state: "success" });
        if (!finished) return notOurs();
        // The outlets' events commit with the success, or neither does.
        for (const asset of task?.outlets ?? []) {
          const extra = outcome.outletEvents?.find((e) => e.uri === asset.uri)?.extra ?? {};
          await recordAssetEvent(trx, asset, { extra, source: { dag_id: ti.dag_id, task_id: ti.task_id, run_id: ti.run_id, map_index: ti.map_index } });
          log?.info(`Recorded an event of asset ${asset.uri}${Object.keys(extra).length ? ` with extra ${JSON.stringify(extra)}` : ""}`);
        }
        if (!together) await setXcoms(trx, { dagRunId: run.id, dagId: run.dag_id, runId: run.run_id }, ti.task_id, ti.map_index, outcome.xcoms);
        if (outcome.decision && task) {
          const skip = skipsFor(d, ti.task_id, outcome.decision);
          const reason =
            outcome.decision.kind === "branch"
              ? `skipped by branch ${ti.task_id}, which followed ${outcome.decision.follow.join(", ") || "nothing"}`
              : `skipped by short-circuit ${ti.task_id} (condition was falsy)`;
          await skipTaskInstancesOfRun(trx, run, skip, reason);
          // Airflow's skipmixin XCom: the decision outlives this transaction, so a downstream task
          // cleared later is skipped again by the Not Previously Skipped dep.
          await setXcoms(trx, { dagRunId: run.id, dagId: run.dag_id, runId: run.run_id }, ti.task_id, ti.map_index, [
            { key: SKIPMIXIN_KEY, value: { skipped: skip } },
          ]);
        }
        log?.info(successLine(ti));
        return;
      }
      case "skipped":
        if (!(await finishTry(trx, dialect, ti, { state: "skipped", reason: outcome.reason }))) return notOurs();
        log?.info(`Marking task as SKIPPED: ${outcome.reason}`);
        return;
      case "failed": {
        const { error } = outcome;
        const retry = error.retryable && ti.try_number <= ti.max_tries && task !== undefined;
        if (retry) {
          const at = nextRetryAt({
            tryNumber: ti.try_number,
            retryDelaySeconds: task.retry_delay_seconds,
            retryExponentialBackoff: task.retry_exponential_backoff,
            maxRetryDelaySeconds: task.max_retry_delay_seconds,
            endDate: new Date(),
            taskKey: `${ti.dag_id}${ti.task_id}${ti.run_id}${ti.try_number}`,
          });
          if (!(await finishTry(trx, dialect, ti, { state: "up_for_retry", reason: error.message, nextRetryAt: at.toISOString() }))) return notOurs();
          log?.error(`${error.message}`);
          log?.info(`Marking task as UP_FOR_RETRY; next try at ${at.toISOString()}`);
        } else {
          if (!(await finishTry(trx, dialect, ti, { state: "failed", reason: error.message }))) return notOurs();
          log?.error(error.stack ?? error.message);
          log?.info(`Marking task as FAILED. dag_id=${ti.dag_id}, task_id=${ti.task_id}, run_id=${ti.run_id}`);
        }
        return;
      }
      case "up_for_reschedule":
        if (!(await rescheduleTry(trx, ti, outcome.rescheduleAt, outcome.kwargs))) return notOurs();
        log?.info(`Rescheduling task, marking task as UP_FOR_RESCHEDULE; next poke at ${outcome.rescheduleAt}`);
        return;
      case "deferred": {
        const timeoutAt = outcome.timeoutSeconds === null ? null : new Date(Date.now() + outcome.timeoutSeconds * 1000).toISOString();
        const id = await deferTry(trx, ti, { classpath: outcome.trigger.classpath, kwargs: outcome.trigger.kwargs, method: outcome.method, methodKwargs: outcome.kwargs, timeoutAt });
        if (id === null) return notOurs();
        {
          deferred = true;
          if (outcome.xcoms?.length) await setXcoms(trx, { dagRunId: run.id, dagId: run.dag_id, runId: run.run_id }, ti.task_id, ti.map_index, outcome.xcoms);
          log?.info(`Pausing task as DEFERRED on trigger ${id} (${outcome.trigger.classpath}); resumes in ${outcome.method}${timeoutAt ? `, times out at ${timeoutAt}` : ""}`);
        }
        return;
      }
      default: {
        const never: never = outcome;
        throw new Error(`unknown outcome ${JSON.stringify(never)}`);
      }
    }
  })();
  return deferred;
}

/** Which tasks a branch or short-circuit decision skips (Airflow's skip_all_except and
 *  ShortCircuitOperator with ignore_downstream_trigger_rules=True). */
export function skipsFor(d: SchedulableDag, taskId: string, decision: NonNullable<Extract<TaskOutcome, { state: "success" }>["decision"]>): string[] {
  const task = d.tasks.get(taskId);
  if (!task) return [];
  if (decision.kind === "branch") {
    // A direct downstream task that is also downstream of a followed branch is not skipped: it
    // joins the branches (Airflow's skip_all_except, branch_downstream_task_ids).
    const keep = new Set(decision.follow);
    for (const f of decision.follow) for (const id of allDownstream(d, f)) keep.add(id);
    return task.downstream_task_ids.filter((id) => !keep.has(id));
  }
  return decision.proceed ? [] : [...allDownstream(d, taskId)];
}

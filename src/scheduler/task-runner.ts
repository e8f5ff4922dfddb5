// Running one claimed task instance: gather what its worker needs (the worker never reads the
// store), start the try, hand it to the executor, and record the outcome in one transaction
// (XComs, state, history row, the skips a branch decided, the retry time).
import { hostname } from "node:os";
import type { Config } from "../config.ts";
import type { Executor } from "../executor/local-executor.ts";
import { createSecretsMasker, openTaskLog, taskLogPath, type SecretsMasker, type SecretValue, type TaskLog } from "../logging/index.ts";
import { loadSecretsSnapshot } from "../secrets/index.ts";
import { getDagRun } from "../store/dag-runs.ts";
import type { Store } from "../store/index.ts";
import type { DagRunRow, TaskInstanceRow } from "../store/schema.ts";
import { finishTry, getTaskInstanceById, startTry, setTaskInstanceState } from "../store/task-instances.ts";
import { clearTaskXcoms, listRunXcoms, setXcoms, SKIPMIXIN_KEY } from "../store/xcom.ts";
import type { ConnectionInfo, RunTaskRequest, TaskOutcome } from "../worker/protocol.ts";
import { allDownstream, type SchedulableDag } from "./dag-bag.ts";
import { nextRetryAt } from "./deps/index.ts";
import { resolveParams } from "./run-creation.ts";

export interface TaskRunnerDeps {
  store: Store;
  config: Config;
  executor: Executor;
}

/** Every variable and connection a try may read, through the secrets search path (environment,
 *  then metastore), so env-provided ones reach tasks and their masker. */
export async function loadVariablesAndConnections(store: Store): Promise<{
  variables: Record<string, string>;
  connections: Record<string, ConnectionInfo>;
}> {
  return loadSecretsSnapshot(store);
}

/** A masker for one try's log: connection passwords, and variables and connection extras whose
 *  names look sensitive (the masker's own rule, Airflow's sensitive_var_conn_names). */
export function maskerFor(v: { variables: Record<string, string>; connections: Record<string, ConnectionInfo> }): SecretsMasker {
  const masker = createSecretsMasker();
  for (const [k, val] of Object.entries(v.variables)) masker.addSecret(val, k);
  for (const c of Object.values(v.connections)) {
    if (c.password) masker.addSecret(c.password);
    if (c.extra) {
      try {
        masker.addSecret(JSON.parse(c.extra) as SecretValue);
      } catch {
        // An extra that is not JSON holds no named fields to mask.
      }
    }
  }
  return masker;
}

export function buildRequest(args: {
  ti: TaskInstanceRow;
  run: DagRunRow;
  d: SchedulableDag;
  config: Config;
  xcoms: RunTaskRequest["xcoms"];
  variables: Record<string, string>;
  connections: Record<string, ConnectionInfo>;
  params: Record<string, unknown>;
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
    xcoms: args.xcoms,
    variables: args.variables,
    connections: args.connections,
    maxXcomBytes: config.getNumber("core", "max_xcom_size"),
    timeoutMs: timeout ? timeout * 1000 : null,
    killGraceMs: config.getNumber("core", "killed_task_cleanup_time") * 1000,
  };
}

/** Starts the try and runs it; resolves when the outcome is recorded. */
export async function runClaimedTaskInstance(deps: TaskRunnerDeps, claimed: TaskInstanceRow, d: SchedulableDag): Promise<void> {
  const { store, config, executor } = deps;
  const run = await getDagRun(store.db, claimed.dag_id, claimed.run_id);
  if (!run) return;
  const tryNumber = await store.writeTransaction(async (trx) => {
    const n = await startTry(trx, claimed.id, { hostname: hostname(), pid: process.pid });
    if (n !== null) await clearTaskXcoms(trx, run.id, claimed.task_id, claimed.map_index);
    return n;
  });
  if (tryNumber === null) return;
  const ti: TaskInstanceRow = { ...claimed, state: "running", try_number: tryNumber, start_date: new Date().toISOString() };
  const env = await loadVariablesAndConnections(store);
  const masker = maskerFor(env);
  const log = await openTaskLog(
    taskLogPath(config.getString("logging", "base_log_folder"), { dag_id: ti.dag_id, run_id: ti.run_id, task_id: ti.task_id, map_index: ti.map_index, try_number: tryNumber }),
    { masker },
  );
  let outcome: TaskOutcome;
  try {
    log.info(`Starting attempt ${tryNumber} of ${ti.max_tries + 1}`);
    let params: Record<string, unknown>;
    try {
      params = resolveParams(d, run.conf ? (JSON.parse(run.conf) as Record<string, unknown>) : {});
    } catch (e) {
      outcome = { state: "failed", error: { message: (e as Error).message, retryable: false } };
      await recordOutcome(store, ti, run, d, outcome, log);
      return;
    }
    const request = buildRequest({ ti, run, d, config, xcoms: await listRunXcoms(store.db, run.id), params, ...env });
    outcome = await executor.execute(request, (line, level) => log.log(level, line));
    await recordOutcome(store, ti, run, d, outcome, log);
  } finally {
    await log.close();
  }
}

/** Airflow's handle_failure / success bookkeeping, in one transaction. */
export async function recordOutcome(store: Store, ti: TaskInstanceRow, run: DagRunRow, d: SchedulableDag, outcome: TaskOutcome, log: TaskLog): Promise<void> {
  const task = d.tasks.get(ti.task_id);
  await store.writeTransaction(async (trx) => {
    const current = await getTaskInstanceById(trx, ti.id);
    // Cleared or marked by someone else while it ran: their decision stands.
    if (!current || current.state !== "running" || current.try_number !== ti.try_number) return;
    switch (outcome.state) {
      case "success": {
        await setXcoms(trx, { dagRunId: run.id, dagId: run.dag_id, runId: run.run_id }, ti.task_id, ti.map_index, outcome.xcoms);
        await finishTry(trx, current, { state: "success" });
        if (outcome.decision && task) {
          const skip = skipsFor(d, ti.task_id, outcome.decision);
          if (skip.length) {
            const ids = (
              await trx
                .selectFrom("task_instance")
                .select("id")
                .where("dag_id", "=", run.dag_id)
                .where("run_id", "=", run.run_id)
                .where("task_id", "in", skip)
                .execute()
            ).map((r) => r.id);
            const reason =
              outcome.decision.kind === "branch"
                ? `skipped by branch ${ti.task_id}, which followed ${outcome.decision.follow.join(", ") || "nothing"}`
                : `skipped by short-circuit ${ti.task_id} (condition was falsy)`;
            await setTaskInstanceState(trx, ids, "skipped", { from: [null, "scheduled", "up_for_retry"], reason, finished: true });
          }
          // Airflow's skipmixin XCom: the decision outlives this transaction, so a downstream task
          // cleared later is skipped again by the Not Previously Skipped dep.
          await setXcoms(trx, { dagRunId: run.id, dagId: run.dag_id, runId: run.run_id }, ti.task_id, ti.map_index, [
            { key: SKIPMIXIN_KEY, value: { skipped: skip } },
          ]);
        }
        log.info(`Marking task as SUCCESS. dag_id=${ti.dag_id}, task_id=${ti.task_id}, run_id=${ti.run_id}`);
        return;
      }
      case "skipped":
        await finishTry(trx, current, { state: "skipped", reason: outcome.reason });
        log.info(`Marking task as SKIPPED: ${outcome.reason}`);
        return;
      case "failed": {
        const { error } = outcome;
        const retry = error.retryable && current.try_number <= current.max_tries && task !== undefined;
        if (retry) {
          const at = nextRetryAt({
            tryNumber: current.try_number,
            retryDelaySeconds: task.retry_delay_seconds,
            retryExponentialBackoff: task.retry_exponential_backoff,
            maxRetryDelaySeconds: task.max_retry_delay_seconds,
            endDate: new Date(),
            taskKey: `${ti.dag_id}${ti.task_id}${ti.run_id}${current.try_number}`,
          });
          await finishTry(trx, current, { state: "up_for_retry", reason: error.message, nextRetryAt: at.toISOString() });
          log.error(`${error.message}`);
          log.info(`Marking task as UP_FOR_RETRY; next try at ${at.toISOString()}`);
        } else {
          await finishTry(trx, current, { state: "failed", reason: error.message });
          log.error(error.stack ?? error.message);
          log.info(`Marking task as FAILED. dag_id=${ti.dag_id}, task_id=${ti.task_id}, run_id=${ti.run_id}`);
        }
        return;
      }
      default: {
        const never: never = outcome;
        throw new Error(`unknown outcome ${JSON.stringify(never)}`);
      }
    }
  });
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

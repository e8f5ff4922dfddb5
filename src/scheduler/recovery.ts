// Recovery: tries whose scheduler is gone. Every scheduler (and `dags test`) is a `job` row that
// heartbeats; a claim carries the job that made it (task_instance.queued_by_job_id). A job is dead
// when its heartbeat is older than [scheduler] task_instance_heartbeat_timeout, or, on this host,
// at once when its process is gone. Any live scheduler then recovers the dead job's claims:
//
//   queued      → scheduled   (the try never started; someone else takes it)
//   running     → interrupted: recorded in task_instance_history (interrupted = 1) and scheduled
//                 again as a new try without spending a retry, up to [scheduler]
//                 max_interrupted_tries; past that, failed (a task that kills its host still ends)
//   restarting  → none        (it was cleared while it ran; it runs again)
//
// Before a recovered try may run again its previous try must be dead: on this host its worker
// (the pid the claim records) is killed here; a worker whose parent died kills its own task at
// once (src/worker/main.ts); on another host, the job's heartbeat timeout is the wait.
//
// A worker that dies while its scheduler lives is not recovered here: the executor reports it as
// the task's own failure (failed, or up_for_retry when retries remain).
import { readFileSync } from "node:fs";
import { hostname } from "node:os";
import { createSecretsMasker, openTaskLog, taskLogPath } from "../logging/index.ts";
import type { Store } from "../store/index.ts";
import { declareJobDead, jobsOfThisProcess, latestHeartbeats, listStaleJobs } from "../store/jobs.ts";
import type { TaskInstanceRow } from "../store/schema.ts";
import {
  countInterruptedTries,
  finishRestartedTry,
  finishTry,
  interruptTry,
  listOrphanedClaims,
  listClaimsWithoutJob,
  requeueClaim,
} from "../store/task-instances.ts";

export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Alive and not a zombie (a SIGKILLed orphan stays a zombie until init reaps it). */
function running(pid: number): boolean {
  if (!processAlive(pid)) return false;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const state = stat.slice(stat.lastIndexOf(")") + 2)[0];
    return state !== "Z" && state !== "X";
  } catch {
    return true; // no /proc: kill(0) is all we know
  }
}

/** Kills the process a dead job's try ran in, when it is still there on this host, and waits until
 *  it is gone: the recovered try must not run beside it (a TaskFlow busy loop never notices its
 *  parent died). Only an orch worker is killed (a recycled pid may now belong to anything else). */
async function killLeftover(pid: number | null): Promise<void> {
  if (pid === null || pid === process.pid || !running(pid)) return;
  try {
    const cmd = readFileSync(`/proc/${pid}/cmdline`, "utf8");
    if (!/worker/.test(cmd)) return;
  } catch {
    // no /proc (macOS): the pid was recorded by a job on this host; trust it
  }
  try {
    process.kill(pid, "SIGKILL");
  } catch {
    return; // gone meanwhile
  }
  // SIGKILL is not delayed by the process; the wait is for the kernel to tear it down.
  for (let i = 0; i < 100 && running(pid); i++) await new Promise((r) => setTimeout(r, 50));
}

export interface RecoveryReport {
  requeued: number;
  failed: number;
  interrupted: number;
  restarted: number;
  deadJobs: number[];
}

export interface RecoveryOptions {
  /** This process's job (never declared dead by itself). */
  jobId: number | null;
  heartbeatTimeoutSeconds: number;
  maxInterruptedTries: number;
  baseLogFolder?: string;
  now?: Date;
}

/** Appends the verdict to the orphaned attempt's log, which otherwise ends mid-sentence. */
function noteInLog(baseLogFolder: string | undefined, ti: TaskInstanceRow, line: string): void {
  if (!baseLogFolder) return;
  try {
    const log = openTaskLog(
      taskLogPath(baseLogFolder, { dag_id: ti.dag_id, run_id: ti.run_id, task_id: ti.task_id, map_index: ti.map_index, try_number: ti.try_number }),
      { masker: createSecretsMasker() },
    );
    log.error(line);
    void log.close();
  } catch {
    // A log we cannot write must not stop the recovery of the state.
  }
}

export { jobsOfThisProcess };

/** Jobs that are dead now: stale heartbeats anywhere, and, on this host, jobs whose process is gone. */
async function findDeadJobs(store: Store, opts: RecoveryOptions): Promise<number[]> {
  const now = opts.now ?? new Date();
  const me = hostname();
  const dead = new Set<number>();
  for (const j of await listStaleJobs(store.db, new Date(now.getTime() - opts.heartbeatTimeoutSeconds * 1000).toISOString())) {
    if (j.id !== opts.jobId && !jobsOfThisProcess.has(j.id)) dead.add(j.id);
  }
  for (const j of await latestHeartbeats(store.db)) {
    if (j.id === opts.jobId || jobsOfThisProcess.has(j.id) || j.hostname !== me || j.pid === null) continue;
    // Our own pid on another job row is an earlier incarnation (a container restarted).
    if (j.pid === process.pid || !processAlive(j.pid)) dead.add(j.id);
  }
  const declared: number[] = [];
  for (const id of dead) if (await declareJobDead(store.db, id)) declared.push(id);
  return declared;
}

async function recoverTry(store: Store, ti: TaskInstanceRow, opts: RecoveryOptions, report: RecoveryReport, who: string): Promise<void> {
  if (ti.state === "queued") {
    if (await requeueClaim(store.db, ti.id, ti.queued_by_job_id)) report.requeued++;
    return;
  }
  if (ti.hostname === hostname()) await killLeftover(ti.pid);
  if (ti.state === "restarting") {
    if (await store.writeTransaction((trx) => finishRestartedTry(trx, ti, `cleared while running; ${who}: it runs again as a new try`))) report.restarted++;
    return;
  }
  const reason = `interrupted: ${who} while this try ran (not the task's fault; no retry spent)`;
  const interrupted = await countInterruptedTries(store.db, ti.id);
  if (interrupted < opts.maxInterruptedTries) {
    if (await store.writeTransaction((trx) => interruptTry(trx, ti, reason))) {
      report.interrupted++;
      noteInLog(opts.baseLogFolder, ti, `${reason}. It runs again as a new try (interrupted ${interrupted + 1} of at most ${opts.maxInterruptedTries} times)`);
    }
    return;
  }
  const final = `${reason}; it was interrupted ${interrupted + 1} times, more than [scheduler] max_interrupted_tries = ${opts.maxInterruptedTries}`;
  if (await store.writeTransaction((trx) => finishTry(trx, store.dialect, ti, { state: "failed", reason: final }))) {
    report.failed++;
    noteInLog(opts.baseLogFolder, ti, `${final}. Marking task as FAILED`);
  }
}

/** One recovery pass; safe to run from several schedulers at once (every write is guarded). */
export async function recoverOrphanedTaskInstances(store: Store, opts: RecoveryOptions): Promise<RecoveryReport> {
  const report: RecoveryReport = { requeued: 0, failed: 0, interrupted: 0, restarted: 0, deadJobs: [] };
  report.deadJobs = await findDeadJobs(store, opts);
  for (const ti of await listOrphanedClaims(store.db)) {
    await recoverTry(store, ti, opts, report, `its scheduler (job ${ti.queued_by_job_id} on ${ti.hostname ?? "?"}) died or stopped`);
  }
  // Claims from before claims named a job: judged by host and pid, as they always were.
  const me = hostname();
  for (const ti of await listClaimsWithoutJob(store.db)) {
    if (ti.hostname !== null && ti.hostname !== me) continue;
    if (ti.pid !== null && ti.pid !== process.pid && processAlive(ti.pid)) continue;
    await recoverTry(store, ti, opts, report, `the process running this task (pid ${ti.pid ?? "?"} on ${ti.hostname ?? me}) is gone: orch was stopped or crashed`);
  }
  return report;
}

// SQL for the `job` table (Airflow's jobs): every long-running component (SchedulerJob,
// DagProcessorJob, TriggererJob, ApiServerJob; `dags test` too) has a row and heartbeats in it, so
// health checks and recovery in any process can tell a live component from a dead one. A job whose heartbeat is older than
// [scheduler] task_instance_heartbeat_timeout is dead, and any live scheduler recovers the tries it
// had claimed (see src/scheduler/recovery.ts).
import type { Db } from "./open.ts";
import { nowIso } from "./schema.ts";

export type JobState = "running" | "success" | "failed";

export type JobType = "SchedulerJob" | "DagProcessorJob" | "TriggererJob" | "ApiServerJob";

export interface JobRow {
  id: number;
  job_type: string;
  state: string;
  hostname: string | null;
  pid: number | null;
  start_date: string;
  end_date: string | null;
  latest_heartbeat: string;
}

/** Jobs started by this process and still running here (the scheduler, triggerer, DAG processor
 *  and API server of one `orch standalone` share a pid; a bench or a test may run several
 *  schedulers in one process): a job row with our pid is not an earlier incarnation when it is one
 *  of these. Without this, recovery declared a standalone's own triggerer dead every few seconds. */
export const jobsOfThisProcess = new Set<number>();

/** A new running job; returns its id (the claims it makes carry it). */
export async function startJob(db: Db, job: { jobType: string; hostname: string; pid: number }): Promise<number> {
  const now = nowIso();
  const row = await db
    .insertInto("job")
    .values({ job_type: job.jobType, state: "running", hostname: job.hostname, pid: job.pid, start_date: now, end_date: null, latest_heartbeat: now })
    .returning("id")
    .executeTakeFirstOrThrow();
  if (job.pid === process.pid) jobsOfThisProcess.add(row.id);
  return row.id;
}

/** Records that the job is alive. Returns false when the row is no longer running: another
 *  scheduler declared it dead (its heartbeat had stopped for too long) and recovered its tries. */
export async function heartbeatJob(db: Db, id: number): Promise<boolean> {
  const r = await db.updateTable("job").set({ latest_heartbeat: nowIso() }).where("id", "=", id).where("state", "=", "running").executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}

/** The job ended (cleanly: success; declared dead by another: failed). */
export async function endJob(db: Db, id: number, state: Exclude<JobState, "running"> = "success"): Promise<void> {
  jobsOfThisProcess.delete(id);
  await db.updateTable("job").set({ state, end_date: nowIso() }).where("id", "=", id).where("state", "=", "running").execute();
}

/** Running jobs with their latest heartbeat, newest first (health checks, recovery). */
export async function latestHeartbeats(db: Db, filter: { jobType?: string } = {}): Promise<JobRow[]> {
  let q = db.selectFrom("job").selectAll().where("state", "=", "running");
  if (filter.jobType) q = q.where("job_type", "=", filter.jobType);
  return q.orderBy("latest_heartbeat", "desc").execute();
}

/** Running jobs whose heartbeat is older than `before` (ISO), or that are on `hostname` with a
 *  pid in `deadPids`' judgement: the caller decides liveness of same-host processes. */
export async function listStaleJobs(db: Db, before: string): Promise<JobRow[]> {
  return db.selectFrom("job").selectAll().where("state", "=", "running").where("latest_heartbeat", "<", before).execute();
}

/** Marks a job dead, once: true for the caller that did it (two recovering schedulers race). */
export async function declareJobDead(db: Db, id: number): Promise<boolean> {
  const r = await db.updateTable("job").set({ state: "failed", end_date: nowIso() }).where("id", "=", id).where("state", "=", "running").executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}

export interface LatestHeartbeat {
  job_type: string;
  state: string;
  latest_heartbeat: string;
}

/** Per job type, the most recent job as Airflow's most_recent_job picks it: a running one with the
 *  newest heartbeat, else the newest of any state (health). One grouped query, whatever the job count. */
export async function latestHeartbeatByType(db: Db): Promise<Map<string, LatestHeartbeat>> {
  const rows = await db
    .selectFrom("job")
    .select(["job_type", "state", (eb) => eb.fn.max("latest_heartbeat").as("latest_heartbeat")])
    .groupBy(["job_type", "state"])
    .execute();
  const out = new Map<string, LatestHeartbeat>();
  for (const r of rows) {
    const row = { job_type: r.job_type, state: r.state, latest_heartbeat: String(r.latest_heartbeat) };
    const cur = out.get(r.job_type);
    const better =
      !cur ||
      (row.state === "running" && cur.state !== "running") ||
      (row.state === cur.state && row.latest_heartbeat > cur.latest_heartbeat) ||
      (cur.state !== "running" && row.state !== "running" && row.latest_heartbeat > cur.latest_heartbeat);
    if (better) out.set(r.job_type, row);
  }
  return out;
}

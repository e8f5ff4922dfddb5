// SQL for the job table: each long-running component (SchedulerJob, DagProcessorJob, TriggererJob,
// ApiServerJob) records that it runs and heartbeats, so health checks and recovery in any process
// can tell a live component from a dead one.
import { hostname } from "node:os";
import type { Db } from "./open.ts";
import { nowIso } from "./schema.ts";

export type JobType = "SchedulerJob" | "DagProcessorJob" | "TriggererJob" | "ApiServerJob";

export async function startJob(db: Db, jobType: JobType, now: Date = new Date()): Promise<number> {
  const t = nowIso(now);
  const row = await db
    .insertInto("job")
    .values({ job_type: jobType, state: "running", hostname: hostname(), pid: process.pid, start_date: t, end_date: null, latest_heartbeat: t })
    .returning("id")
    .executeTakeFirstOrThrow();
  return row.id;
}

export async function heartbeatJob(db: Db, id: number, now: Date = new Date()): Promise<void> {
  await db.updateTable("job").set({ latest_heartbeat: nowIso(now) }).where("id", "=", id).where("state", "=", "running").execute();
}

export async function endJob(db: Db, id: number, state: "success" | "failed" = "success", now: Date = new Date()): Promise<void> {
  await db.updateTable("job").set({ state, end_date: nowIso(now) }).where("id", "=", id).execute();
}

export interface LatestHeartbeat {
  job_type: string;
  state: string;
  latest_heartbeat: string;
}

/** Per job type, the most recent job as Airflow's most_recent_job picks it: a running one with the
 *  newest heartbeat, else the newest of any state. One grouped query, whatever the job count. */
export async function latestHeartbeats(db: Db): Promise<Map<string, LatestHeartbeat>> {
  const rows = await db
    .selectFrom("job")
    .select(["job_type", "state", (eb) => eb.fn.max("latest_heartbeat").as("latest_heartbeat")])
    .groupBy(["job_type", "state"])
    .execute();
  const out = new Map<string, LatestHeartbeat>();
  for (const r of rows) {
    const row = { job_type: r.job_type, state: r.state, latest_heartbeat: String(r.latest_heartbeat) };
    const cur = out.get(r.job_type);
    const better = !cur || (row.state === "running" && cur.state !== "running") || (row.state === cur.state && row.latest_heartbeat > cur.latest_heartbeat) || (cur.state !== "running" && row.state !== "running" && row.latest_heartbeat > cur.latest_heartbeat);
    if (better) out.set(r.job_type, row);
  }
  return out;
}

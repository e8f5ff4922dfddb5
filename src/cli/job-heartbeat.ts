// A component's row in `job` (the scheduler keeps its own, in src/scheduler/scheduler.ts): started when it starts, heartbeat every [scheduler] job_heartbeat_sec,
// ended (state success) when it stops cleanly. Health checks in any process read these.
import { hostname } from "node:os";
import type { Config } from "../config.ts";
import type { Store } from "../store/index.ts";
import { endJob, heartbeatJob, startJob, type JobType } from "../store/jobs.ts";

export interface JobHeartbeat {
  stop(): Promise<void>;
}

export async function startJobHeartbeat(store: Store, config: Config, type: JobType): Promise<JobHeartbeat> {
  const id = await startJob(store.db, { jobType: type, hostname: hostname(), pid: process.pid });
  const everyMs = Math.max(100, config.getNumber("scheduler", "job_heartbeat_sec") * 1000);
  let beating: Promise<void> | undefined;
  const timer = setInterval(() => {
    // A store that is briefly busy must not crash the component; the next beat tries again.
    beating ??= heartbeatJob(store.db, id)
      .then(() => {})
      .catch(() => {})
      .finally(() => {
        beating = undefined;
      });
  }, everyMs);
  let stopped: Promise<void> | undefined;
  return {
    stop: () =>
      (stopped ??= (async () => {
        clearInterval(timer);
        await beating;
        await endJob(store.db, id).catch(() => {});
      })()),
  };
}

// /api/v2/monitor/health and /api/v2/version: public, no token. Health as Airflow's: the
// metadatabase answers, and for each component the newest heartbeat in `job` and whether it is
// recent ([scheduler] scheduler_health_check_threshold). A component that never ran has status
// null (triggerer, dag processor) or unhealthy (scheduler), as Airflow reports them.
import { sql } from "kysely";
import { Hono } from "hono";
import { ORCH_VERSION } from "../../version.ts";
import { latestHeartbeatByType, type LatestHeartbeat } from "../../store/jobs.ts";
import type { ApiDeps, ApiEnv } from "../context.ts";

export function monitorRoutes(deps: ApiDeps): Hono<ApiEnv> {
  const r = new Hono<ApiEnv>();
  const thresholdMs = deps.config.getNumber("scheduler", "scheduler_health_check_threshold") * 1000;
  r.get("/monitor/health", async (c) => {
    let beats = new Map<string, LatestHeartbeat>();
    let db = "healthy";
    try {
      await sql`select 1`.execute(deps.store.db);
      beats = await latestHeartbeatByType(deps.store.db);
    } catch {
      db = "unhealthy";
    }
    const now = Date.now();
    const info = (type: string, missing: "unhealthy" | null) => {
      const b = beats.get(type);
      if (!b) return { status: db === "healthy" ? missing : "unhealthy", latest: null };
      const alive = b.state === "running" && now - Date.parse(b.latest_heartbeat) < thresholdMs;
      return { status: alive ? "healthy" : "unhealthy", latest: b.latest_heartbeat };
    };
    const s = info("SchedulerJob", "unhealthy");
    const t = info("TriggererJob", null);
    const p = info("DagProcessorJob", null);
    return c.json({
      metadatabase: { status: db },
      scheduler: { status: s.status, latest_scheduler_heartbeat: s.latest },
      triggerer: { status: t.status, latest_triggerer_heartbeat: t.latest },
      dag_processor: { status: p.status, latest_dag_processor_heartbeat: p.latest },
    });
  });
  r.get("/version", (c) => c.json({ version: ORCH_VERSION, git_version: null }));
  return r;
}

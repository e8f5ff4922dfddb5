// The components alone against one home: `orch api-server`, `orch scheduler`, `orch dag-processor`,
// each heartbeating in `job`; health reflects a stopped scheduler; tokens expire; a second
// standalone start prints no password; the no-login mode.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { writeDag, migrateHome } from "../helpers/engine.ts";
import { tempHome, type TempHome } from "../helpers/home.ts";
import { assertNoLeakedProcesses } from "../helpers/leaks.ts";
import { openStore } from "../../src/store/index.ts";
import { join } from "node:path";
import { call, generatedPassword, login, startOrch, waitFor, type OrchProcess } from "../api/helpers.ts";

// Fast heartbeats and a short threshold, so a stopped component shows within a second or two.
const FAST = { ORCH__SCHEDULER__JOB_HEARTBEAT_SEC: "0.2", ORCH__SCHEDULER__SCHEDULER_HEALTH_CHECK_THRESHOLD: "2" };

interface Health {
  scheduler: { status: string | null; latest_scheduler_heartbeat: string | null };
  dag_processor: { status: string | null; latest_dag_processor_heartbeat: string | null };
  triggerer: { status: string | null };
}

let home: TempHome;
const started: OrchProcess[] = [];

/** Every process a test starts is stopped by after(), even when an assertion failed midway. */
async function start(...args: Parameters<typeof startOrch>): Promise<OrchProcess> {
  const p = await startOrch(...args);
  started.push(p);
  return p;
}

describe("components alone", () => {
  before(async () => {
    home = await tempHome("orch-e2e-components-");
    await writeDag(home.dags, "tiny.ts", `import { dag, empty } from "orch";\nexport default dag({ dag_id: "tiny", schedule: null, start_date: "2024-01-01" }, () => { empty({ task_id: "a" }); });\n`);
    await migrateHome(home.home);
  });
  after(async () => {
    for (const p of started) {
      if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill("SIGKILL");
      await p.exited;
    }
    await assertNoLeakedProcesses(home.home);
    await home.cleanup();
  });

  test("api-server alone: health shows the scheduler and DAG processor healthy while they run, unhealthy once stopped", async () => {
    const api = await start(["api-server", "--port", "0"], home.home, { env: FAST });
    try {
      const health = async () => (await call(api.url, "GET", "/api/v2/monitor/health", { schema: "HealthInfoResponse" })).body as Health;
      const before = await health();
      assert.equal(before.scheduler.status, "unhealthy", "no scheduler ever ran");
      assert.equal(before.scheduler.latest_scheduler_heartbeat, null);
      assert.equal(before.dag_processor.status, null);
      assert.equal(before.triggerer.status, null);

      const scheduler = await start(["scheduler"], home.home, { env: FAST, waitFor: /\[orch\] home/ });
      const processor = await start(["dag-processor"], home.home, { env: FAST, waitFor: /\[orch\] home/ });
      const up = await waitFor("both healthy", async () => {
        const h = await health();
        return h.scheduler.status === "healthy" && h.dag_processor.status === "healthy" ? h : undefined;
      });
      assert.ok(up.scheduler.latest_scheduler_heartbeat, "expected up.scheduler.latest_scheduler_heartbeat");
      const first = up.scheduler.latest_scheduler_heartbeat;
      await waitFor("heartbeat moves on", async () => ((await health()).scheduler.latest_scheduler_heartbeat !== first ? true : undefined));

      assert.equal(await scheduler.stop(), 0, "SIGTERM stops the scheduler cleanly");
      const down = await waitFor("scheduler unhealthy", async () => {
        const h = await health();
        return h.scheduler.status === "unhealthy" ? h : undefined;
      });
      assert.ok(down.scheduler.latest_scheduler_heartbeat, "the last heartbeat is still reported");
      assert.equal(down.dag_processor.status, "healthy", "the DAG processor runs on");

      // A processor killed without a chance to say goodbye goes unhealthy when its heartbeat ages.
      processor.child.kill("SIGKILL");
      await processor.exited;
      await waitFor("dag processor unhealthy", async () => ((await health()).dag_processor.status === "unhealthy" ? true : undefined));

      const store = await openStore(`sqlite:///${join(home.home, "orch.db")}`);
      try {
        const jobs = await store.db.selectFrom("job").select(["job_type", "state"]).execute();
        assert.ok(jobs.some((j) => j.job_type === "SchedulerJob" && j.state === "success"), "expected jobs.some((j) => j.job_type === \"SchedulerJob\" && j.state === \"success\")");
        assert.ok(jobs.some((j) => j.job_type === "ApiServerJob" && j.state === "running"), "expected jobs.some((j) => j.job_type === \"ApiServerJob\" && j.state === \"running\")");
        assert.ok(jobs.some((j) => j.job_type === "DagProcessorJob"), "expected jobs.some((j) => j.job_type === \"DagProcessorJob\")");
      } finally {
        await store.close();
      }
    } finally {
      assert.equal(await api.stop(), 0);
    }
  });

  test("a token stops working when it expires ([api_auth] jwt_expiration_time)", async () => {
    const api = await start(["api-server", "--port", "0"], home.home, { env: { ORCH__API_AUTH__JWT_EXPIRATION_TIME: "1" } });
    try {
      const token = await login(api.url, "admin", generatedPassword(home.home));
      const ok = await call(api.url, "GET", "/api/v2/dags", { token });
      // Issued and used within the same second on a loaded machine is not guaranteed: accept an
      // early expiry here, the point is what comes after.
      assert.ok(ok.status === 200 || ok.status === 401, "expected ok.status === 200 || ok.status === 401");
      const expired = await waitFor("token expired", async () => {
        const r = await call(api.url, "GET", "/api/v2/dags", { token });
        return r.status === 401 ? r : undefined;
      }, 30_000);
      assert.equal((expired.body as { detail: string }).detail, "Token has expired");
    } finally {
      await api.stop();
    }
  });

  test("standalone on a home that has a user prints no password, only where it is kept", async () => {
    const s = await start(["standalone", "--port", "0"], home.home);
    try {
      assert.ok(!s.stdout().includes(generatedPassword(home.home)), "expected !s.stdout().includes(generatedPassword(home.home))");
      assert.doesNotMatch(s.stdout(), /╔/);
      assert.match(s.stdout(), /user admin; password in .*simple_auth_manager_passwords\.json\.generated/);
    } finally {
      assert.equal(await s.stop(), 0);
    }
  });

  test("[core] simple_auth_manager_all_admins = true: no login needed", async () => {
    const s = await start(["api-server", "--port", "0"], home.home, { env: { ORCH__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS: "true" } });
    try {
      assert.match(s.stdout(), /no login needed/);
      const r = await call(s.url, "GET", "/api/v2/variables", { schema: "VariableCollectionResponse" });
      assert.equal(r.status, 200);
    } finally {
      await s.stop();
    }
  });
  test("SIGTERM while still starting (DAG files being parsed) stops cleanly", { timeout: 120_000 }, async () => {
    for (let i = 0; i < 20; i++) {
      await writeDag(home.dags, `many_${i}.ts`, `import { dag, empty } from "orch";\nexport default dag({ dag_id: "many_${i}", schedule: null, start_date: "2024-01-01" }, () => { empty({ task_id: "a" }); });\n`);
    }
    const s = await start(["standalone", "--port", "0"], home.home, { waitFor: /\[api-server\] listening on (http:\/\/\S+)/ });
    const code = await s.stop();
    assert.equal(code, 0, s.stdout() + s.stderr());
    assert.match(s.stdout(), /\[orch\] stopped/);
  });
});

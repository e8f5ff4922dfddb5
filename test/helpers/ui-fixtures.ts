// The status page in-process: a migrated SQLite store with serialized DAGs written straight into
// it (no DAG processor), runs with finished task instances, and the real Hono app with a logged-in
// session cookie. Used by test/ui/pages.test.ts and scripts/bench/ui.ts.
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import type { Hono } from "hono";
import { createApiApp } from "../../src/api/app.ts";
import { createLoginThrottle } from "../../src/api/auth/login-throttle.ts";
import { createTokenSigner } from "../../src/api/auth/tokens.ts";
import type { ApiEnv, AuthUser } from "../../src/api/context.ts";
import { csrfForSession, SESSION_COOKIE } from "../../src/api/ui/session.ts";
import { loadConfig } from "../../src/config.ts";
import { toSchedulable, type SchedulableDag } from "../../src/scheduler/dag-bag.ts";
import { triggerDagRun } from "../../src/scheduler/run-creation.ts";
import type { SerializedDag, SerializedParam, SerializedTask } from "../../src/serialization/serialized-dag.ts";
import { createDagRun, finishDagRun } from "../../src/store/dag-runs.ts";
import { upsertDag, upsertSerializedDag } from "../../src/store/dags.ts";
import { migrate, openStore, type Store } from "../../src/store/index.ts";
import type { DagRunRow } from "../../src/store/schema.ts";
import { listTaskInstances, markTaskInstancesByUser } from "../../src/store/task-instances.ts";
import { tempHome, type TempHome } from "./home.ts";

export interface FixtureDag {
  dag_id: string;
  tasks?: number;
  params?: Record<string, SerializedParam>;
  doc_md?: string | null;
  tags?: string[];
  schedule?: string | null;
  paused?: boolean;
}

export function task(id: string, up: string[], down: string[]): SerializedTask {
  return {
    task_id: id,
    kind: "empty",
    operator: "EmptyOperator",
    upstream_task_ids: up,
    downstream_task_ids: down,
    trigger_rule: "all_success",
    retries: 0,
    retry_delay_seconds: 300,
    retry_exponential_backoff: false,
    max_retry_delay_seconds: null,
    execution_timeout_seconds: null,
    priority_weight: 1,
    owner: "airflow",
    outlets: [],
    doc_md: null,
    has_on_execute_callback: false,
    has_on_success_callback: false,
    has_on_failure_callback: false,
    has_on_retry_callback: false,
    multiple_outputs: false,
  };
}

/** A DAG of `tasks` empty tasks in a chain (t0 >> t1 >> ...). */
export function serializedDag(f: FixtureDag): SerializedDag {
  const n = f.tasks ?? 3;
  const ids = Array.from({ length: n }, (_, i) => `t${i}`);
  const schedule = f.schedule === undefined ? "0 6 * * *" : f.schedule;
  return {
    format_version: 1,
    dag_id: f.dag_id,
    fileloc: `/dags/${f.dag_id}.ts`,
    relative_fileloc: `${f.dag_id}.ts`,
    timetable: schedule === null ? { type: "null" } : { type: "cron_trigger", expression: schedule, timezone: "UTC" },
    timetable_summary: schedule ?? "None",
    start_date: "2024-01-01T00:00:00.000Z",
    end_date: null,
    timezone: "UTC",
    catchup: false,
    params: f.params ?? {},
    max_active_runs: 16,
    max_active_tasks: 16,
    max_consecutive_failed_dag_runs: 0,
    dagrun_timeout_seconds: null,
    tags: f.tags ?? [],
    owner: "airflow",
    description: null,
    doc_md: f.doc_md ?? null,
    is_paused_upon_creation: f.paused ?? true,
    has_on_success_callback: false,
    has_on_failure_callback: false,
    tasks: ids.map((id, i) => task(id, i > 0 ? [ids[i - 1]] : [], i < n - 1 ? [ids[i + 1]] : [])),
  };
}

export async function seedDag(store: Store, f: FixtureDag): Promise<SchedulableDag> {
  return seedSerializedDag(store, serializedDag(f));
}

/** A serialized DAG stored as the DAG processor would store it (a test's own shape of tasks). */
export async function seedSerializedDag(store: Store, d: SerializedDag): Promise<SchedulableDag> {
  const now = new Date().toISOString();
  await upsertSerializedDag(store.db, d, "hash", now);
  await upsertDag(store.db, d, { now, pausedByDefault: true, hasImportErrors: false, timetableDescription: d.timetable_summary === "None" ? null : "At 06:00" });
  const row = await store.db.selectFrom("serialized_dag").selectAll().where("dag_id", "=", d.dag_id).executeTakeFirstOrThrow();
  return toSchedulable(d, row.dag_hash, row.fileloc);
}

/** Manual run `n` of `dagId` (logical date 2024-01-n), running, with a task instance in state none
 *  for each of `taskIds` only (a task left out has no row): for evaluations at the store's level. */
export function createRunningRun(store: Store, dagId: string, n: number, taskIds: readonly string[]): Promise<DagRunRow> {
  const at = new Date(Date.UTC(2024, 0, n)).toISOString();
  return store.writeTransaction((trx) =>
    createDagRun(
      trx,
      { dag_id: dagId, run_id: `manual__${n}`, run_type: "manual", logical_date: at, data_interval_start: at, data_interval_end: at, run_after: at, conf: {}, triggered_by: "test", state: "running" },
      taskIds.map((task_id) => ({ task_id, retries: 0, priority_weight: 1, operator: "EmptyOperator" })),
    ),
  );
}

/** `count` manual runs, a day apart, every task instance finished in `state` (or left as is). */
export async function seedRuns(store: Store, d: SchedulableDag, count: number, state: "success" | "failed" | null = "success"): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const run = await triggerDagRun(store, d, { logicalDate: new Date(Date.UTC(2024, 0, 1 + i)), triggeredBy: "test" });
    ids.push(run.run_id);
    if (state === null) continue;
    const tis = await listTaskInstances(store.db, run.dag_id, run.run_id);
    await markTaskInstancesByUser(store.db, tis.map((t) => t.id), state, "seeded by a test");
    await finishDagRun(store.db, run.id, state);
  }
  return ids;
}

export interface UiFixture {
  home: TempHome;
  store: Store;
  app: Hono<ApiEnv>;
  /** A session cookie header for `user` (admin by default) and the CSRF token that goes with it. */
  session(user?: AuthUser): Promise<{ cookie: string; csrf: string }>;
  changes: number;
  cleanup(): Promise<void>;
}

export async function uiFixture(env: Record<string, string> = {}): Promise<UiFixture> {
  const home = await tempHome("orch-ui-");
  const store = await openStore(`sqlite:///${join(home.home, "orch.db")}`);
  await migrate(store);
  const config = loadConfig({ ...process.env, ORCH_HOME: home.home, ORCH_DATABASE_URL: "", ...env });
  const signer = createTokenSigner(randomBytes(64), 3600);
  const fx: UiFixture = {
    home,
    store,
    changes: 0,
    app: createApiApp(
      {
        store,
        config,
        signer,
        throttle: createLoginThrottle(),
        allAdmins: env.ORCH__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS === "true",
        changed: async () => {
          fx.changes++;
        },
      },
      { log: () => undefined },
    ),
    async session(user = { username: "admin", role: "admin" }) {
      const token = await signer.issue(user);
      return { cookie: `${SESSION_COOKIE}=${token}`, csrf: csrfForSession(token) };
    },
    async cleanup() {
      await store.close();
      await home.cleanup();
    },
  };
  return fx;
}

// The long-running components composed in one process: DAG processor, scheduler, executor and API
// server, and the triggerer. `orch standalone` runs them all; `orch scheduler`,
// `orch dag-processor` and `orch api-server` run some, against the same home or PostgreSQL store.
import type { Config } from "../config.ts";
import { announceHome, createConfiguredProcessor } from "./process-dags.ts";
import { ensureAdminUser, passwordBox, type AdminSetup } from "../api/auth/simple-auth-manager.ts";
import { startApiServer, type ApiServer } from "../api/server.ts";
import type { DagProcessor } from "../dag-processing/processor.ts";
import { createLocalExecutor } from "../executor/local-executor.ts";
import { createScheduler, type Scheduler } from "../scheduler/scheduler.ts";
import { createTriggerer, resumedRuns, type Triggerer } from "../triggerer/triggerer.ts";
import { migrate, openStoreForMaintenance, openCurrentStore, type Store } from "../store/index.ts";
import { startJobHeartbeat, type JobHeartbeat } from "./job-heartbeat.ts";

export function executorParallelism(config: Config): number {
  const kind = config.getString("core", "executor");
  return kind === "SequentialExecutor" ? 1 : Math.max(1, config.getNumber("core", "parallelism"));
}

export interface ComponentOptions {
  migrate: boolean;
  parallelism?: number;
  /** Run the scheduler and executor (default true). */
  scheduler?: boolean;
  /** Run the DAG processor (default true). */
  dagProcessor?: boolean;
  /** Run the API server on this address. */
  api?: { host?: string; port?: number };
  /** Run the triggerer with the scheduler (default true; `--no-triggerer`). */
  triggerer?: boolean;
}

/** Runs until SIGINT/SIGTERM; then takes no new task, lets running ones finish, exits 0. */
export async function runComponents(config: Config, opts: ComponentOptions): Promise<void> {
  // One store for the whole run: the one that migrated is current once migrate() returns.
  // Closing and reopening it cost start-up a SQLite close (a WAL checkpoint with its fsyncs,
  // ~100 ms on a busy disk) and a second schema check, before health could answer.
  let store: Store;
  if (opts.migrate) {
    store = await openStoreForMaintenance(config);
    try {
      const applied = await migrate(store);
      if (applied.length) console.log(`database ${store.displayUrl}: applied ${applied.length} migration(s)`);
    } catch (e) {
      await store.close();
      throw e;
    }
  } else {
    store = await openCurrentStore(config);
  }
  const beats: JobHeartbeat[] = [];
  let scheduler: Scheduler | undefined;
  let processor: DagProcessor | undefined;
  let api: ApiServer | undefined;
  let admin: AdminSetup | undefined;
  let processorStarted = false;
  const notice = (m: string) => console.log(`[dag-processor] ${m}`);
  let triggerer: Triggerer | undefined;

  let stopping: Promise<void> | undefined;
  // A signal may arrive while we are still starting (health answers before the DAG files are
  // parsed): then nothing more is started, or its watchers and timers would keep the process alive.
  const stopRequested = () => stopping !== undefined;
  const stop = (signal: string) => {
    stopping ??= (async () => {
      console.log(`[orch] ${signal}: ${scheduler ? "taking no new tasks; waiting for running ones to finish" : "stopping"}`);
      await api?.close();
      await processor?.stop();
      await triggerer?.stop();
      await scheduler?.stop();
      for (const b of beats) await b.stop();
      await store.close();
      console.log("[orch] stopped");
    })();
    return stopping;
  };
  const finished = new Promise<void>((resolve) => {
    for (const sig of ["SIGINT", "SIGTERM"] as const) process.once(sig, () => void stop(sig).then(resolve));
  });

  try {
    if (opts.scheduler !== false) {
      const executor = createLocalExecutor({
        parallelism: opts.parallelism ?? executorParallelism(config),
        maxTasksPerWorker: config.getNumber("core", "worker_max_tasks"),
      });
      // The triggerer shares the process (default): deferrals and fires nudge each other directly.
      scheduler = createScheduler({ store, config, executor, listen: true, log: (m) => console.log(`[scheduler] ${m}`), onDeferred: () => triggerer?.nudge() });
      const s = scheduler;
      if (opts.triggerer !== false) {
        triggerer = createTriggerer({ store, config, listen: true, log: (m) => console.log(`[triggerer] ${m}`), onResumed: (tis) => resumedRuns(tis).forEach((r) => s.nudge(r)) });
      }
    }
    if (opts.dagProcessor !== false) {
      // The first pass's failing files are listed once by announceHome; later changes line by line.
      processor = createConfiguredProcessor(store, config, { onDagsChanged: () => scheduler?.nudge({ dagsChanged: true }), log: (m) => processorStarted && notice(m) });
    }
    // The API first: health answers while the DAG files are still being parsed.
    if (opts.api) {
      if (!config.getBoolean("core", "simple_auth_manager_all_admins")) admin = await ensureAdminUser(store, config);
      const s = scheduler;
      api = await startApiServer({ store, config, host: opts.api.host, port: opts.api.port, onChange: s ? () => s.nudge({ dagsChanged: true }) : undefined });
      beats.push(await startJobHeartbeat(store, config, "ApiServerJob"));
      console.log(`[api-server] listening on ${api.url}`);
    }
    if (processor && !stopRequested()) {
      beats.push(await startJobHeartbeat(store, config, "DagProcessorJob"));
      const p = processor;
      await announceHome(store, config, notice, () => p.processAll());
      processorStarted = true;
      if (!stopRequested()) processor.start();
    }
    if (scheduler && !stopRequested()) {
      // The scheduler heartbeats in its own SchedulerJob row (its claims carry that job's id).
      await scheduler.start();
      await triggerer?.start();
    }
    if (stopRequested()) {
      // stop() ran while we started: it may have run before the last component started, so once more.
      await stopping;
      await processor?.stop();
      await triggerer?.stop();
      await scheduler?.stop();
      for (const b of beats) await b.stop();
      return;
    }
  } catch (e) {
    // A component that fails because it was being stopped is not an error.
    if (stopRequested()) {
      await stopping;
      return;
    }
    await stop("error");
    throw e;
  }
  const parts = [`home ${config.home}`, `database ${store.displayUrl}`];
  if (scheduler) parts.push(`executor parallelism ${opts.parallelism ?? executorParallelism(config)}`);
  if (triggerer) parts.push("triggerer on");
  if (processor) parts.push(`dags in ${config.getString("core", "dags_folder")}`);
  console.log(`[orch] ${parts.join("; ")}`);
  if (api) {
    if (admin?.generatedPassword) console.log(passwordBox(admin.username, admin.generatedPassword, admin.passwordsFile));
    const who = config.getBoolean("core", "simple_auth_manager_all_admins")
      ? "no login needed ([core] simple_auth_manager_all_admins = true)"
      : `user ${admin?.username ?? "admin"}; password in ${admin?.passwordsFile}`;
    console.log(`[orch] ready: ${api.url} (API ${api.url}/api/v2); ${who}`);
  }
  await finished;
}

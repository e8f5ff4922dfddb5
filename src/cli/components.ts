// The long-running components composed in one process: DAG processor, scheduler, executor (and,
// once they exist, triggerer and API server). Used by `orch scheduler` and `orch standalone`.
import type { Config } from "../config.ts";
import { createConfiguredProcessor } from "./process-dags.ts";
import { createLocalExecutor } from "../executor/local-executor.ts";
import { createScheduler } from "../scheduler/scheduler.ts";
import { createTriggerer, type Triggerer } from "../triggerer/triggerer.ts";
import { migrate, openStoreForMaintenance, openCurrentStore } from "../store/index.ts";

export function executorParallelism(config: Config): number {
  const kind = config.getString("core", "executor");
  return kind === "SequentialExecutor" ? 1 : Math.max(1, config.getNumber("core", "parallelism"));
}

/** Runs until SIGINT/SIGTERM; then takes no new task, lets running ones finish, exits 0. */
export async function runComponents(config: Config, opts: { migrate: boolean; parallelism?: number; triggerer?: boolean }): Promise<void> {
  if (opts.migrate) {
    const s = await openStoreForMaintenance(config);
    try {
      const applied = await migrate(s);
      if (applied.length) console.log(`database ${s.displayUrl}: applied ${applied.length} migration(s)`);
    } finally {
      await s.close();
    }
  }
  const store = await openCurrentStore(config);
  const executor = createLocalExecutor({
    parallelism: opts.parallelism ?? executorParallelism(config),
    maxTasksPerWorker: config.getNumber("core", "worker_max_tasks"),
  });
  // The triggerer shares the process (default): deferrals and fires nudge each other directly.
  let triggerer: Triggerer | undefined;
  const scheduler = createScheduler({ store, config, executor, listen: true, log: (m) => console.log(`[scheduler] ${m}`), onDeferred: () => triggerer?.nudge() });
  if (opts.triggerer !== false) {
    triggerer = createTriggerer({ store, config, listen: true, log: (m) => console.log(`[triggerer] ${m}`), onResumed: () => scheduler.nudge() });
  }
  const processor = createConfiguredProcessor(store, config, { onDagsChanged: () => scheduler.nudge({ dagsChanged: true }) });

  let stopping: Promise<void> | undefined;
  const stop = (signal: string) => {
    stopping ??= (async () => {
      console.log(`[orch] ${signal}: taking no new tasks; waiting for running ones to finish`);
      await processor.stop();
      await triggerer?.stop();
      await scheduler.stop();
      await store.close();
      console.log("[orch] stopped");
    })();
    return stopping;
  };
  const finished = new Promise<void>((resolve) => {
    for (const sig of ["SIGINT", "SIGTERM"] as const) process.once(sig, () => void stop(sig).then(resolve));
  });

  await processor.processAll();
  processor.start();
  await scheduler.start();
  await triggerer?.start();
  console.log(`[orch] home ${config.home}; database ${store.displayUrl}; executor parallelism ${executor.parallelism}; dags in ${config.getString("core", "dags_folder")}`);
  await finished;
}

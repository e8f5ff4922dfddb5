// Runs task instances in up to `parallelism` reused worker processes. parallelism 1 is Airflow's
// SequentialExecutor (the default); more is the LocalExecutor. A worker that died or was killed
// for a timeout is dropped and a fresh one takes the next task; so is one that has run
// `maxTasksPerWorker` tasks ([core] worker_max_tasks), since every DAG version it imported stays in
// its memory.
import type { RunTaskRequest, TaskOutcome } from "../worker/protocol.ts";
import { spawnWorker, type LogSink, type ReadAnswerer, type WorkerEntry, type WorkerProcess } from "./worker-process.ts";

export type { ReadAnswerer } from "./worker-process.ts";

/** [core] worker_max_tasks's default. */
export const DEFAULT_WORKER_MAX_TASKS = 500;

export interface Executor {
  readonly parallelism: number;
  /** How many more tasks it can start now. */
  freeSlots(): number;
  /** Runs one task instance; resolves with its outcome (never rejects). `answer` serves the
   *  task's reads (XComs, variables, connections); without it every read fails. */
  execute(request: RunTaskRequest, log: LogSink, answer?: ReadAnswerer): Promise<TaskOutcome>;
  /** Sets a worker aside for this task instance before its try starts, and returns the worker's
   *  pid, so the try's start records the process that will run it (recovery kills it if its
   *  scheduler dies). execute() with the same tiId uses it; release() gives it back unused.
   *  undefined: no worker could be started (execute() then reports why). */
  reserve(tiId: number): number | undefined;
  release(tiId: number): void;
  /** Terminates the running try of this task instance (it was cleared): SIGTERM, then SIGKILL after
   *  `graceMs`. Its execute() then resolves as failed; the caller discards that. */
  terminate(tiId: number, graceMs: number): boolean;
  /** Starts the worker processes now, so the first task does not pay for the spawn. */
  warm(): void;
  /** Lets running tasks finish for up to `graceMs`, then kills what is left. Idempotent. */
  stop(graceMs: number): Promise<void>;
}

export function createLocalExecutor(opts: {
  parallelism: number;
  env?: NodeJS.ProcessEnv;
  maxTasksPerWorker?: number;
  /** The worker script (default: orch's install's, dist/worker.mjs or, run from source, src/worker/main.ts through tsx). */
  worker?: WorkerEntry;
}): Executor {
  const parallelism = Math.max(1, Math.floor(opts.parallelism));
  const maxTasks = Math.max(1, Math.floor(opts.maxTasksPerWorker ?? DEFAULT_WORKER_MAX_TASKS));
  const idle: WorkerProcess[] = [];
  let running = 0;
  let stopping: Promise<void> | undefined;
  const all = new Set<WorkerProcess>();
  /** Recycled workers on their way out; stop() waits for them too. */
  const retiring = new Set<Promise<void>>();
  const byTi = new Map<number, WorkerProcess>();
  const reserved = new Map<number, WorkerProcess>();
  // A worker that has a fresh successor waiting (see spareFor).
  const succeeded = new WeakSet<WorkerProcess>();
  // Its successor starts when a worker has half of its tasks left: a fresh worker takes ~0.3 s to
  // start and another ~0.3 s to import a 1,000-task DAG file (the preload below), which a chain of
  // short tasks waited for at each recycling (a chain of 1,000 no-op tasks recycles once at the
  // default worker_max_tasks of 500). A fifth left was too late: 100 no-op tasks take ~0.3 s.
  const spareAfter = maxTasks - Math.ceil(maxTasks / 2);

  function take(): WorkerProcess {
    while (idle.length) {
      const w = idle.pop()!;
      if (w.reusable) return w;
      all.delete(w);
    }
    const w = spawnWorker({ env: opts.env, worker: opts.worker });
    all.add(w);
    return w;
  }

  return {
    parallelism,
    freeSlots: () => (stopping ? 0 : parallelism - running - reserved.size),
    reserve(tiId) {
      if (stopping) return undefined;
      let w = reserved.get(tiId);
      if (!w) {
        try {
          w = take();
        } catch {
          return undefined;
        }
        reserved.set(tiId, w);
      }
      return w.pid;
    },
    release(tiId) {
      const w = reserved.get(tiId);
      if (!w) return;
      reserved.delete(tiId);
      if (w.reusable && !stopping) idle.push(w);
      else all.delete(w);
    },
    warm() {
      while (all.size < parallelism && !stopping) {
        let w: WorkerProcess;
        try {
          w = spawnWorker({ env: opts.env, worker: opts.worker });
        } catch {
          return; // warming is an optimisation; execute() reports a worker that cannot start
        }
        all.add(w);
        idle.push(w);
      }
    },
    async execute(request, log, answer) {
      const spareFor = (w: WorkerProcess) => {
        if (w.tasksRun < spareAfter || succeeded.has(w) || stopping) return;
        succeeded.add(w);
        try {
          const spare = spawnWorker({ env: opts.env, worker: opts.worker });
          // It imports the DAG file its predecessor is running: a chain's next task, the likeliest
          // first task of the spare, then pays neither the spawn nor the import (~0.4 s for a
          // 1,000-task DAG file, a stall in the chain at each recycling).
          spare.preload(request.fileloc, request.cacheDir);
          all.add(spare);
          // At the bottom of the idle stack: warm workers still running tasks are taken first.
          idle.unshift(spare);
        } catch {
          // An optimisation only: the recycled worker's replacement is spawned when needed.
        }
      };
      const held = reserved.get(request.tiId);
      reserved.delete(request.tiId);
      if (stopping) {
        if (held) all.delete(held);
        return { state: "failed", error: { message: "the executor is shutting down", retryable: true } };
      }
      running++;
      let w: WorkerProcess;
      try {
        w = held && held.reusable ? held : take();
      } catch (e) {
        // fork() itself threw (EAGAIN: no processes left): this try fails and may be retried.
        running--;
        return { state: "failed", error: { message: `cannot start a worker process: ${(e as Error).message}`, retryable: true } };
      }
      byTi.set(request.tiId, w);
      spareFor(w);
      try {
        return await w.run(request, log, answer);
      } finally {
        byTi.delete(request.tiId);
        running--;
        // A worker killed for a timeout is alive until its exit is seen, but must not take a task.
        if (w.reusable && !stopping && w.tasksRun < maxTasks) idle.push(w);
        else {
          all.delete(w);
          // Recycled: it exits on its own (nothing is running in it); the next task spawns a fresh one.
          if (w.alive) {
            const exiting = w.stop(1000).finally(() => retiring.delete(exiting));
            retiring.add(exiting);
          }
        }
      }
    },
    terminate(tiId, graceMs) {
      const w = byTi.get(tiId);
      if (!w) return false;
      w.terminate(graceMs);
      return true;
    },
    stop(graceMs) {
      stopping ??= Promise.all([...[...all].map((w) => w.stop(graceMs)), ...retiring]).then(() => {
        all.clear();
        idle.length = 0;
      });
      return stopping;
    },
  };
}

// After a crash: task instances that a dead scheduler process had claimed. A `queued` one goes back
// to `scheduled`; a `running` one has lost its try, which fails (or is retried when it has retries
// left), so that no task instance and no run stays running forever.
import { hostname } from "node:os";
import { createSecretsMasker, openTaskLog, taskLogPath } from "../logging/index.ts";
import type { Store } from "../store/index.ts";
import type { TaskInstanceRow } from "../store/schema.ts";
import { finishTry, listUnfinishedClaims, setTaskInstanceState } from "../store/task-instances.ts";
import type { DagBag } from "./dag-bag.ts";
import { nextRetryAt } from "./deps/index.ts";

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

export interface RecoveryReport {
  requeued: number;
  failed: number;
  retried: number;
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

export async function recoverOrphanedTaskInstances(store: Store, bag: DagBag, opts: { baseLogFolder?: string } = {}): Promise<RecoveryReport> {
  const report: RecoveryReport = { requeued: 0, failed: 0, retried: 0 };
  const me = hostname();
  for (const ti of await listUnfinishedClaims(store.db)) {
    // Another machine's claims are its own business; on this one, a claim whose process is gone
    // (or is a leftover with our own pid from before a restart) is orphaned.
    if (ti.hostname !== null && ti.hostname !== me) continue;
    if (ti.pid !== null && ti.pid !== process.pid && processAlive(ti.pid)) continue;
    if (ti.state === "queued") {
      report.requeued += await setTaskInstanceState(store.db, [ti.id], "scheduled", { from: ["queued"] });
      continue;
    }
    const d = await bag.get(store.db, ti.dag_id);
    const task = d?.tasks.get(ti.task_id);
    const reason = `the process running this task (pid ${ti.pid ?? "?"} on ${ti.hostname ?? me}) is gone: orch was stopped or crashed while the task ran`;
    await store.writeTransaction(async (trx) => {
      if (task && ti.try_number <= ti.max_tries) {
        const at = nextRetryAt({
          tryNumber: ti.try_number,
          retryDelaySeconds: task.retry_delay_seconds,
          retryExponentialBackoff: task.retry_exponential_backoff,
          maxRetryDelaySeconds: task.max_retry_delay_seconds,
          endDate: new Date(),
          taskKey: `${ti.dag_id}${ti.task_id}${ti.run_id}${ti.try_number}`,
        });
        await finishTry(trx, ti, { state: "up_for_retry", reason, nextRetryAt: at.toISOString() });
        report.retried++;
        noteInLog(opts.baseLogFolder, ti, `${reason}. Marking task as UP_FOR_RETRY; next try at ${at.toISOString()}`);
      } else {
        await finishTry(trx, ti, { state: "failed", reason });
        report.failed++;
        noteInLog(opts.baseLogFolder, ti, `${reason}. Marking task as FAILED`);
      }
    });
  }
  return report;
}

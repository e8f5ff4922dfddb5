// A wide fan-in's readiness check in constant time per finishing upstream.
//
// A task with hundreds of upstreams is looked at each time one of them finishes. Counting their
// states (one aggregate, evaluate-run.ts) reads every upstream row each time: a fan-in of 998 read
// 998 rows per finish, about 1 ms of SQLite, so the fan-in's check grew with its width and the
// whole fan-out/fan-in quadratically. Yet while one upstream is still unfinished, and the upstream
// that just finished succeeded, most trigger rules cannot reach a verdict: all_success waits for
// every success, all_done for every finish. One unfinished upstream, the witness, proves it.
//
// So each such task keeps a witness: the last of its upstreams (in the DAG's order) not known to be
// finished. A check reads the witness's row; while it is unfinished the task waits (one row read).
// When it has finished, the search goes on towards the front of the list, a few rows at a time,
// until it finds an unfinished one; none left means the upstreams may all be done, and the full
// count decides, as before. Tasks run roughly in the DAG's order, so the witness found from the end
// tends to be the last to finish: a fan-in of N costs O(N) row reads in all, not O(N²).
//
// The witness is a hint kept in this process only; every "wait" it gives rests on a row read in
// the evaluation's own transaction, so a stale hint (another scheduler, a clear) costs a longer
// search, never a wrong verdict. A rule, a failed upstream or a setup that could decide while an
// upstream runs takes the full count (see `appliesTo`).
import type { Kysely } from "kysely";
import type { Database, DagRunRow } from "../store/schema.ts";
import { listRunTaskBriefs } from "../store/task-instances.ts";
import { isFinished } from "./deps/index.ts";

/** Rules under which a succeeded upstream, with another upstream still unfinished, leaves the
 *  task waiting with no new state (deps/trigger-rule.ts: each fails while an upstream is not done,
 *  and decides a state only on a failed, upstream_failed or skipped upstream). */
const WAITING_RULES = new Set(["all_success", "all_done", "none_failed", "none_failed_min_one_success", "none_skipped", "all_done_min_one_success"]);

/** Rows read at once when the witness has finished and the next one is looked for. */
const SEARCH_BATCH = 32;
/** Witnesses kept (one per wide task of each active run); the oldest go first. */
const MAX_WITNESSES = 4096;

export interface FanInWitnesses {
  /**
   * Whether `taskId` (of `run`, with these upstreams and trigger rule) provably still waits, read in
   * `trx`: true only when `finished` (its upstreams that just finished, their states as read) all
   * succeeded and an upstream is unfinished. `seen` gets the witness's state (it keeps the run
   * running). false: count every upstream.
   */
  stillWaits(
    trx: Kysely<Database>,
    run: DagRunRow,
    taskId: string,
    rule: string,
    upstream: readonly string[],
    finished: readonly (string | null)[],
    seen: Set<string | null>,
  ): Promise<boolean>;
  /** After a full count left the task waiting: look for a witness from the end next time. */
  reset(run: DagRunRow, taskId: string, upstream: readonly string[]): void;
}

function appliesTo(rule: string, finished: readonly (string | null)[]): boolean {
  return WAITING_RULES.has(rule) && finished.length > 0 && finished.every((s) => s === "success");
}

export function createFanInWitnesses(): FanInWitnesses {
  // run id and task id -> the index in the upstream list of the witness.
  const at = new Map<string, number>();
  const key = (run: DagRunRow, taskId: string) => `${run.id}\u0000${taskId}`;
  return {
    async stillWaits(trx, run, taskId, rule, upstream, finished, seen) {
      if (!appliesTo(rule, finished)) return false;
      const k = key(run, taskId);
      let cursor = at.get(k);
      if (cursor === undefined || cursor >= upstream.length) return false;
      // The witness alone first (the common case: still unfinished), then batches before it.
      for (let size = 1; cursor >= 0; size = SEARCH_BATCH) {
        const lo = Math.max(0, cursor - size + 1);
        const ids = upstream.slice(lo, cursor + 1);
        const rows = await listRunTaskBriefs(trx, run, ids);
        // Per task: an unfinished instance's state if it has one (a task in a mapped group has several).
        const state = new Map<string, string | null>();
        for (const r of rows) if (!state.has(r.task_id) || isFinished(state.get(r.task_id)!)) state.set(r.task_id, r.state);
        for (let i = cursor; i >= lo; i--) {
          // No row (a task added to the DAG after the run was made) counts as not done, as in the count.
          const s = state.get(upstream[i]!) ?? null;
          if (!isFinished(s)) {
            at.set(k, i);
            seen.add(s);
            return true;
          }
        }
        cursor = lo - 1;
      }
      at.delete(k);
      return false;
    },
    reset(run, taskId, upstream) {
      const k = key(run, taskId);
      at.delete(k);
      if (at.size >= MAX_WITNESSES) at.delete(at.keys().next().value!);
      at.set(k, upstream.length - 1);
    },
  };
}

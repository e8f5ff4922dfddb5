// PostgreSQL plans each statement by the statistics ANALYZE last gathered, and autovacuum gathers
// them only some time after a write (its naptime is a minute, and then only once a tenth of the
// table has changed). Task instances created faster than that (a fresh database, the first run of
// a wide DAG, a hundred runs triggered at once) were planned against a table the planner took for
// nearly empty: the hand-off's focused read of three task instances scanned all of the run's
// 1,000 rows, and the claim's count of a DAG's active tries every task instance the DAG ever had
// (0.14-0.2 ms each per hop on a 1,000-task chain, and 16 ms per claim with 100 runs of 10 tasks).
// So run creation counts the task instances it adds, and once they are more than half of what the
// planner believes task_instance holds, refreshes the statistics; a backfill does the same for its
// runs (src/scheduler/backfill.ts). SQLite plans without statistics.
import type { Store } from "./open.ts";

/** Below this many new task instances a stale estimate costs too little to be worth a look. */
const MIN_ADDED = 50;

/** Per store: task instances added since its last ANALYZE, and when to look at the estimate next. */
const pending = new WeakMap<Store, { added: number; lookAt: number }>();

/** After `added` task instances were created (and committed): ANALYZE task_instance and dag_run
 *  when the task instances added since the last one are more than half of the rows the planner
 *  believes task_instance holds. An optimisation: a failure is ignored (autovacuum refreshes the
 *  statistics later). Returns whether it analyzed. */
export async function refreshPlannerStatistics(store: Store, added: number): Promise<boolean> {
  const rowsQuery = store.dialect.plannerRowsQuery("task_instance");
  const analyze = store.dialect.analyzeQuery(["task_instance", "dag_run"]);
  if (!rowsQuery || !analyze) return false;
  let p = pending.get(store);
  if (!p) pending.set(store, (p = { added: 0, lookAt: MIN_ADDED }));
  p.added += added;
  if (p.added < p.lookAt) return false;
  try {
    const believed = Math.max(0, Number((await rowsQuery.execute(store.db)).rows[0]?.n ?? 0));
    if (believed >= p.added * 2) {
      // Not yet: looked at again once the additions reach half the estimate.
      p.lookAt = Math.max(MIN_ADDED, believed / 2);
      return false;
    }
    await analyze.execute(store.db);
    p.lookAt = Math.max(MIN_ADDED, (believed + p.added) / 2);
    p.added = 0;
    return true;
  } catch {
    return false;
  }
}

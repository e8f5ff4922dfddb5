// Reads what depends_on_past needs for one evaluation of one run, lazily and once: the previous
// run, whether this run is the first of its backfill, and the previous run's states of the tasks
// asked about and their direct downstream. A DAG without depends_on_past reads nothing.
import type { RunStates } from "./run-states.ts";
import type { Kysely } from "kysely";
import type { SerializedTask } from "../serialization/serialized-dag.ts";
import { getBackfillSortOrdinal, getPreviousDagRun, hasEarlierTaskInstance, listTaskStatesInRun, type PreviousRun } from "../store/past-runs.ts";
import type { Database, DagRunRow } from "../store/schema.ts";
import type { SchedulableDag } from "./dag-bag.ts";
import { prevDagrunDep } from "./deps/prev-dagrun.ts";
import type { DepStatus } from "./deps/types.ts";
import { FINISHED_STATES } from "../store/task-instances.ts";

export interface PastDepends {
  check(task: SerializedTask): Promise<DepStatus>;
}

export function dagDependsOnPast(d: SchedulableDag): boolean {
  return d.dag.tasks.some((t) => t.depends_on_past);
}

export function createPastDepends(trx: Kysely<Database>, run: DagRunRow, d: SchedulableDag): PastDepends {
  let context: Promise<{ previous: PreviousRun | null; firstInBackfill: boolean; states: Map<string, (string | null)[]> }> | undefined;
  const load = () =>
    (context ??= (async () => {
      const firstInBackfill = run.backfill_id !== null && (await getBackfillSortOrdinal(trx, run.backfill_id, run.id)) === 1;
      // Airflow: a catchup DAG looks at the previous non-manual run, others at the previous run.
      const previous = await getPreviousDagRun(trx, run, { excludeManual: d.dag.catchup });
      const wanted = new Set<string>();
      for (const t of d.dag.tasks) {
        if (!t.depends_on_past) continue;
        wanted.add(t.task_id);
        if (t.wait_for_downstream) for (const x of t.downstream_task_ids) wanted.add(x);
      }
      const states = previous ? await listTaskStatesInRun(trx, run.dag_id, previous.run_id, [...wanted]) : new Map<string, (string | null)[]>();
      return { previous, firstInBackfill, states };
    })());
  return {
    async check(task) {
      if (!task.depends_on_past) return prevDagrunDep({ taskId: task.task_id, dependsOnPast: false, waitForDownstream: false, ignoreFirstDependsOnPast: false, firstInBackfill: false, previousRun: null, previousStates: [], hasEarlierInstance: false, downstreamStates: [] });
      const { previous, firstInBackfill, states } = await load();
      const previousStates = states.get(task.task_id) ?? [];
      const hasEarlierInstance =
        previousStates.length === 0 && Boolean(task.ignore_first_depends_on_past) && run.logical_date !== null
          ? await hasEarlierTaskInstance(trx, run.dag_id, task.task_id, run.logical_date)
          : false;
      return prevDagrunDep({
        taskId: task.task_id,
        dependsOnPast: true,
        waitForDownstream: Boolean(task.wait_for_downstream),
        ignoreFirstDependsOnPast: Boolean(task.ignore_first_depends_on_past),
        firstInBackfill,
        previousRun: previous,
        previousStates,
        hasEarlierInstance,
        downstreamStates: task.downstream_task_ids.flatMap((x) => (states.get(x) ?? []).map((state) => ({ taskId: x, state }))),
      });
    },
  };
}

/** Whether some task with depends_on_past has an unfinished instance in the run; `known` are the
 *  run's states when the caller has them all, else the few depends_on_past rows are read. */
export async function unfinishedDependsOnPast(trx: Kysely<Database>, run: DagRunRow, d: SchedulableDag, known?: RunStates): Promise<boolean> {
  const ids = d.dag.tasks.filter((t) => t.depends_on_past).map((t) => t.task_id);
  if (ids.length === 0) return false;
  const states = known ? known.upstream(ids, false) : [...(await listTaskStatesInRun(trx, run.dag_id, run.run_id, ids)).values()].flat();
  return states.some((s) => s === null || !FINISHED_STATES.includes(s));
}

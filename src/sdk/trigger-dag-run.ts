// TriggerDagRun (Airflow's TriggerDagRunOperator): starts a run of another DAG, optionally waits
// for it (poking, or deferred on a DagRunTrigger), and fails when that run ends in failed_states.
// Pushes the run id as XCom "trigger_run_id" (Airflow's XCOM_RUN_ID).
import type { TaskContext } from "./context.ts";
import { currentRuntime } from "./runtime.ts";
import { durationSeconds } from "./schedule.ts";
import { task } from "./tasks.ts";
import type { Duration } from "./timetable-spec.ts";
import { DagRunTrigger } from "./triggers.ts";
import type { BaseTaskOptions } from "./types.ts";

export interface TriggerDagRunOptions extends BaseTaskOptions {
  trigger_dag_id: string;
  /** Values may be templates: `{ month: "{{ ds }}" }`. */
  conf?: Record<string, unknown>;
  /** A template, ISO string or Date; default now. */
  logical_date?: string | Date;
  trigger_run_id?: string;
  /** Clear and re-run a run that already exists at that logical date / run id. */
  reset_dag_run?: boolean;
  wait_for_completion?: boolean;
  allowed_states?: string[];
  failed_states?: string[];
  /** Seconds between looks while waiting; default 60 (Airflow's). */
  poke_interval?: number | Duration;
  /** Wait in the triggerer instead of holding the executor slot. */
  deferrable?: boolean;
}

export function triggerDagRun(o: TriggerDagRunOptions) {
  const { trigger_dag_id, conf, logical_date, trigger_run_id, reset_dag_run, wait_for_completion, allowed_states, failed_states, poke_interval, deferrable, ...base } = o;
  if (typeof trigger_dag_id !== "string" || trigger_dag_id === "") throw new TypeError(`triggerDagRun "${o.task_id}": trigger_dag_id is required`);
  const allowed = allowed_states ?? ["success"];
  const failed = failed_states ?? ["failed"];
  const pokeMs = durationSeconds(poke_interval ?? 60, "poke_interval") * 1000;
  const verdict = (runId: string, state: string | null): string | null => {
    if (state && failed.includes(state)) throw new Error(`${trigger_dag_id} failed with failed state ${state} (run ${runId})`);
    return state && allowed.includes(state) ? runId : null;
  };
  return task(
    {
      ...base,
      methods: {
        __run_done__: (event: { run_id: string; state: string }) => {
          const r = verdict(event.run_id, event.state);
          if (r === null) throw new Error(`${trigger_dag_id} run ${event.run_id} ended in ${event.state}, which is in neither allowed_states nor failed_states`);
          return r;
        },
      },
    },
    async (ctx: TaskContext) => {
      const rt = currentRuntime("triggerDagRun");
      const render = <T>(v: T) => (rt.renderTemplates ? rt.renderTemplates(v) : Promise.resolve(v));
      const renderedDate = logical_date === undefined ? null : logical_date instanceof Date ? logical_date.toISOString() : await render(logical_date);
      const r = await rt.triggerDagRun!({
        dagId: trigger_dag_id,
        conf: conf ? await render(conf) : {},
        logicalDate: renderedDate,
        runId: trigger_run_id ? await render(trigger_run_id) : null,
        resetDagRun: Boolean(reset_dag_run),
      });
      ctx.ti.xcom_push("trigger_run_id", r.runId);
      ctx.log.info(`Triggered ${trigger_dag_id} run ${r.runId}`);
      if (!wait_for_completion) return r.runId;
      if (deferrable) {
        ctx.defer({ trigger: DagRunTrigger({ dag_id: trigger_dag_id, run_id: r.runId, states: [...allowed, ...failed], poke_interval: pokeMs / 1000 }), method: "__run_done__" });
      }
      for (;;) {
        const state = await rt.getDagRunState!(trigger_dag_id, r.runId);
        const done = verdict(r.runId, state);
        if (done) return done;
        ctx.log.info(`Waiting for ${trigger_dag_id} run ${r.runId} (now ${state ?? "gone"}) ...`);
        await new Promise((res) => setTimeout(res, pokeMs));
      }
    },
  )();
}

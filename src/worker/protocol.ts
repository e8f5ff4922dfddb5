// The messages between the executor (parent) and a worker child process. Workers never open the
// metadata store. `run-task` carries what every try needs (the run, its params); what a task reads
// besides (XComs, variables, connections) it asks for while it runs, in `read` messages the
// parent answers with `read-answer` from the store, so a try holds only what it asked for. What it
// writes (XComs, its outcome) leaves in `task-finished`. The same protocol can later run over HTTP
// to a worker on another machine.

import type { ConnectionInfo } from "../sdk/context.ts";

export type { ConnectionInfo };

export interface XcomValue {
  task_id: string;
  map_index: number;
  key: string;
  value: unknown;
}

export interface RunTaskRequest {
  /** task_instance.id, echoed back so the parent can match replies. */
  tiId: number;
  dagId: string;
  runId: string;
  taskId: string;
  mapIndex: number;
  tryNumber: number;
  maxTries: number;
  /** The DAG file (source); the worker compiles it through the processor's content-hash cache. */
  fileloc: string;
  cacheDir: string;
  dagRun: {
    run_type: string;
    logical_date: string | null;
    data_interval_start: string | null;
    data_interval_end: string | null;
    run_after: string;
    start_date: string | null;
    conf: Record<string, unknown>;
  };
  /** Params after conf was merged over the defaults and validated. */
  params: Record<string, unknown>;
  maxXcomBytes: number;
  /** A try resuming after deferral: the task's method to call and its kwargs (with `event`).
   *  "__fail__" means the trigger failed or timed out: next_kwargs.error says why. */
  nextMethod?: string | null;
  nextKwargs?: Record<string, unknown> | null;
  /** The asset events an asset-triggered run was created for (ctx.triggering_asset_events). */
  triggeringAssetEvents?: TriggeringAssetEvent[];
  /** execution_timeout in ms; the parent enforces it by killing the worker (SIGTERM first). */
  timeoutMs: number | null;
  killGraceMs: number;
}

export interface TriggeringAssetEvent {
  uri: string;
  name: string;
  extra: Record<string, unknown>;
  timestamp: string;
  source_dag_id: string | null;
  source_task_id: string | null;
  source_run_id: string | null;
  source_map_index: number | null;
}

/** The `extra` a task set on one of its outlets (`ctx.outlet_events[asset].extra = {...}`). */
export interface OutletEventExtra {
  uri: string;
  extra: Record<string, unknown>;
}

/** What a branch or short-circuit task decided; the scheduler turns it into skips. */
export type FlowDecision = { kind: "branch"; follow: string[] } | { kind: "short_circuit"; proceed: boolean };

export interface TaskError {
  message: string;
  stack?: string;
  /** false for failures a retry cannot fix (bad XCom, bad template), as Airflow's AirflowFailException. */
  retryable: boolean;
}

/** How a try ended. A mapped task with a map_index_template also names its instance
 *  (`rendered_map_index`), whatever the state. */
export type TaskOutcome = TaskOutcomeOf & { rendered_map_index?: string };

type TaskOutcomeOf =
  | { state: "success"; xcoms: { key: string; value: unknown }[]; decision?: FlowDecision; outletEvents?: OutletEventExtra[] }
  | { state: "skipped"; reason: string }
  /** A sensor in reschedule mode: the same try pokes again at `rescheduleAt`, its slot freed. */
  | { state: "up_for_reschedule"; rescheduleAt: string; kwargs: Record<string, unknown> }
  /** The try waits on a trigger (ctx.defer): it leaves the executor, the triggerer takes it. */
  | {
      state: "deferred";
      trigger: { classpath: string; kwargs: Record<string, unknown> };
      method: string;
      kwargs: Record<string, unknown>;
      timeoutSeconds: number | null;
      /** XComs pushed before deferring: kept, as Airflow keeps them, for the resumed part to see. */
      xcoms?: { key: string; value: unknown }[];
    }
  | { state: "failed"; error: TaskError };

/** One read a task asks for. XComs: `taskIds` and `key` narrow the run's XComs (omitted: any). */
export type TaskRead =
  | { kind: "xcom"; taskIds?: string[]; key?: string }
  | { kind: "variable"; key: string }
  | { kind: "connection"; connId: string }
  /** States of another DAG's tasks (or runs, without task ids) at these logical dates, for the
   *  external task sensor's poke: "none" where no run or task instance exists. */
  | { kind: "external_states"; dagId: string; taskIds: string[] | null; logicalDates: string[] }
  /** TriggerDagRun: create (or, with resetDagRun, clear and re-queue) a run of another DAG. The
   *  one request that writes; the scheduler validates it as `orch dags trigger` does. */
  | { kind: "trigger_dag_run"; dagId: string; conf: Record<string, unknown>; logicalDate: string | null; runId: string | null; resetDagRun: boolean }
  | { kind: "dag_run_state"; dagId: string; runId: string }
  /** The task's templated fields as rendered, before it runs (Airflow's RTIF, which its task runner
   *  sends to the API server): the scheduler masks them and stores them on the task instance. */
  | { kind: "rendered_fields"; fields: Record<string, unknown> };

/** The answer to one TaskRead, in the same order; null: no such variable or connection. */
export type TaskReadResult =
  | { kind: "xcom"; entries: XcomValue[] }
  | { kind: "variable"; value: string | null }
  | { kind: "connection"; value: ConnectionInfo | null }
  | { kind: "external_states"; states: string[] }
  | { kind: "trigger_dag_run"; runId: string; logicalDate: string | null }
  | { kind: "dag_run_state"; state: string | null }
  | { kind: "rendered_fields" };

export type ToWorker =
  | { type: "run-task"; request: RunTaskRequest }
  | { type: "read-answer"; readId: number; results: TaskReadResult[] }
  | { type: "read-answer"; readId: number; error: string }
  /** Import this DAG file now (a fresh worker taking over from one being recycled): its first task
   *  then finds it loaded. No reply; a failed import is forgotten, and the task that needs the file
   *  imports it again and reports the failure in its own log. */
  | { type: "preload"; fileloc: string; cacheDir: string }
  | { type: "shutdown" };

export type FromWorker =
  | { type: "ready"; pid: number }
  /** One line for the task log (stdout/stderr of the task, or the worker's own notes). */
  | { type: "log"; tiId: number; line: string; level: "INFO" | "WARNING" | "ERROR" }
  /** Reads asked for together (a template's references, a task's XComArgs), answered at once. */
  | { type: "read"; tiId: number; readId: number; reads: TaskRead[] }
  /** A bash command's process group started (running) or is gone. Should the worker itself die
   *  (SIGKILL, out of memory), the parent SIGKILLs the groups still running before it settles
   *  the try: nothing else would, and a command that traps SIGTERM would run beside the retry. */
  | { type: "subprocess"; tiId: number; pgid: number; running: boolean }
  | { type: "task-finished"; tiId: number; outcome: TaskOutcome };

/** Written by the worker on its stdout and stderr when a try ends, after everything the try wrote
 *  there: the parent takes the outcome once it has read both, so a last line without a newline is
 *  flushed into that try's log, never into the next try's. */
export function tryEndMarker(tiId: number): string {
  return `\u0000orch-try-end ${tiId}\u0000\n`;
}

// The messages between the executor (parent) and a worker child process. Workers never open the
// metadata store: everything a task reads (XComs, variables, connections, params) arrives in
// `run-task`, and everything it writes (XComs, its outcome) leaves in `task-finished`, so that the
// same protocol can later run over HTTP to a worker on another machine.

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
  /** Every XCom of the run when the try starts: ti.xcom_pull is served from this. */
  xcoms: XcomValue[];
  variables: Record<string, string>;
  connections: Record<string, ConnectionInfo>;
  maxXcomBytes: number;
  /** execution_timeout in ms; the parent enforces it by killing the worker (SIGTERM first). */
  timeoutMs: number | null;
  killGraceMs: number;
}

/** What a branch or short-circuit task decided; the scheduler turns it into skips. */
export type FlowDecision = { kind: "branch"; follow: string[] } | { kind: "short_circuit"; proceed: boolean };

export interface TaskError {
  message: string;
  stack?: string;
  /** false for failures a retry cannot fix (bad XCom, bad template), as Airflow's AirflowFailException. */
  retryable: boolean;
}

export type TaskOutcome =
  | { state: "success"; xcoms: { key: string; value: unknown }[]; decision?: FlowDecision }
  | { state: "skipped"; reason: string }
  | { state: "failed"; error: TaskError };

export type ToWorker = { type: "run-task"; request: RunTaskRequest } | { type: "shutdown" };

export type FromWorker =
  | { type: "ready"; pid: number }
  /** One line for the task log (stdout/stderr of the task, or the worker's own notes). */
  | { type: "log"; tiId: number; line: string; level: "INFO" | "WARNING" | "ERROR" }
  | { type: "task-finished"; tiId: number; outcome: TaskOutcome };

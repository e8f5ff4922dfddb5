// The scheduler's answers to a running task's reads (src/worker/protocol.ts `read`): XComs of its
// run from the store, variables and connections through the secrets layer. Whatever a task is
// handed is added to its try's masker first (Airflow masks a connection's password and a
// sensitive-named variable when the task reads them), so the log line, the stored state_reason or
// the printed XCom that repeats it shows "***".
import { triggerFromTask } from "./trigger-from-task.ts";
import { getDagRun } from "../store/dag-runs.ts";
import { externalStates } from "../store/triggers.ts";
import type { ReadAnswerer } from "../executor/local-executor.ts";
import type { SecretValue, SecretsMasker } from "../logging/index.ts";
import { getConnection, getVariable } from "../secrets/index.ts";
import type { Store } from "../store/index.ts";
import { pullXcoms } from "../store/xcom.ts";
import type { ConnectionInfo, TaskOutcome, TaskReadResult } from "../worker/protocol.ts";

/** Registers what of a connection must never be shown: its password, and extra fields whose
 *  names look sensitive (the masker's own rule, Airflow's sensitive_var_conn_names). */
export function maskConnection(masker: SecretsMasker, c: ConnectionInfo): void {
  if (c.password) masker.addSecret(c.password);
  if (c.extra) {
    try {
      masker.addSecret(JSON.parse(c.extra) as SecretValue);
    } catch {
      // An extra that is not JSON holds no named fields to mask.
    }
  }
}

/** Answers reads for one try of a task in the run `dagRunId` (null: a run that is not stored, as
 *  `tasks test` on a new date, which has no XComs). */
export function answerTaskReads(store: Store, dagRunId: number | null, masker: SecretsMasker): ReadAnswerer {
  return (reads) =>
    Promise.all(
      reads.map(async (r): Promise<TaskReadResult> => {
        switch (r.kind) {
          case "xcom":
            return { kind: "xcom", entries: dagRunId === null ? [] : await pullXcoms(store.db, dagRunId, { taskIds: r.taskIds, key: r.key }) };
          case "variable": {
            const value = await getVariable(store, r.key);
            if (value !== undefined) masker.addSecret(value, r.key);
            return { kind: "variable", value: value ?? null };
          }
          case "connection": {
            const value = await getConnection(store, r.connId);
            if (value) maskConnection(masker, value);
            return { kind: "connection", value: value ?? null };
          }
          case "trigger_dag_run":
            return { kind: "trigger_dag_run", ...(await triggerFromTask(store, r)) };
          case "dag_run_state":
            return { kind: "dag_run_state", state: (await getDagRun(store.db, r.dagId, r.runId))?.state ?? null };
          case "external_states":
            return { kind: "external_states", states: await externalStates(store.db, r.dagId, r.taskIds, r.logicalDates) };
          default: {
            const never: never = r;
            throw new Error(`unknown read ${JSON.stringify(never)}`);
          }
        }
      }),
    );
}

/** The outcome with every secret the try was handed masked in its messages: they are stored as
 *  state_reason and printed by `dags test` and `tasks test`. */
export function maskOutcome(outcome: TaskOutcome, masker: SecretsMasker): TaskOutcome {
  switch (outcome.state) {
    case "success":
    case "deferred":
    case "up_for_reschedule":
      return outcome;
    case "skipped":
      return { ...outcome, reason: masker.mask(outcome.reason) };
    case "failed":
      return {
        ...outcome,
        error: { ...outcome.error, message: masker.mask(outcome.error.message), ...(outcome.error.stack ? { stack: masker.mask(outcome.error.stack) } : {}) },
      };
  }
}

// The scheduler's answers to a running task's reads (src/worker/protocol.ts `read`): XComs of its
// run from the store, variables and connections through the secrets layer. Whatever a task is
// handed is added to its try's masker first (Airflow masks a connection's password and a
// sensitive-named variable when the task reads them), so the log line, the stored state_reason or
// the printed XCom that repeats it shows "***".
import { triggerFromTask } from "./trigger-from-task.ts";
import { getDagRun } from "../store/dag-runs.ts";
import { externalStates } from "../store/triggers.ts";
import type { ReadAnswerer } from "../executor/local-executor.ts";
import type { SecretsMasker } from "../logging/index.ts";
import { getConnection, getVariable } from "../secrets/index.ts";
import { maskConnection, redactValue } from "../secrets/masking.ts";
import type { Store } from "../store/index.ts";
import { setRenderedFields } from "../store/task-instances.ts";
import { pullXcoms } from "../store/xcom.ts";
import type { TaskOutcome, TaskReadResult } from "../worker/protocol.ts";

/** Airflow's [core] max_templated_field_length default: a longer rendered field is stored cut. */
export const MAX_TEMPLATED_FIELD_LENGTH = 4096;
const TRUNCATED = "Truncated. You can change this behaviour in [core]max_templated_field_length. ";

/** Rendered fields as they may be stored and shown: values under sensitive-looking keys (an env's
 *  DB_PASSWORD) become "***", every secret the try was handed is masked in strings (Airflow's
 *  redact), and a field longer than MAX_TEMPLATED_FIELD_LENGTH as JSON is cut, saying so. */
export function redactRenderedFields(fields: Record<string, unknown>, masker: SecretsMasker): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(fields)) {
    const safe = redactValue(v, masker);
    const text = typeof safe === "string" ? safe : JSON.stringify(safe) ?? "null";
    out[k] = text.length > MAX_TEMPLATED_FIELD_LENGTH ? TRUNCATED + text.slice(0, MAX_TEMPLATED_FIELD_LENGTH - TRUNCATED.length) : safe;
  }
  return out;
}

/** Answers reads for one try of a task in the run `dagRunId` (null: a run that is not stored, as
 *  `tasks test` on a new date, which has no XComs). `tiId` is the task instance whose rendered
 *  fields are stored (none for a try that has no row). */
export function answerTaskReads(store: Store, dagRunId: number | null, masker: SecretsMasker, tiId?: number): ReadAnswerer {
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
          case "rendered_fields":
            if (tiId !== undefined) await setRenderedFields(store.db, tiId, redactRenderedFields(r.fields, masker));
            return { kind: "rendered_fields" };
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

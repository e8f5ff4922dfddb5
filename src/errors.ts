// User-facing errors. Each condition is one class with a stable `code` that tests and the API match
// on, and fields naming the culprit (file, line, flag, field) so the message can say what to fix.

export type OrchErrorCode =
  | "ORCH_CONFIG_INVALID"
  | "ORCH_CONFIG_UNKNOWN_KEY"
  | "ORCH_DB_UNREACHABLE"
  | "ORCH_DB_NOT_WRITABLE"
  | "ORCH_DB_SCHEMA_TOO_NEW"
  | "ORCH_DB_NOT_MIGRATED"
  | "ORCH_DB_URL_INVALID"
  | "ORCH_CONFIRMATION_REQUIRED"
  | "ORCH_USAGE"
  | "ORCH_NOT_FOUND"
  | "ORCH_ALREADY_EXISTS"
  | "ORCH_DAG_INVALID"
  | "ORCH_PARAMS_INVALID"
  | "ORCH_XCOM_TOO_LARGE"
  | "ORCH_XCOM_NOT_JSON"
  | "ORCH_TASK_FAILED"
  | "ORCH_DOWNLOAD_FAILED"
  | "ORCH_NOT_PUBLISHED"
  | "ORCH_PARQUET_INVALID"
  | "ORCH_SCHEMA_MISMATCH"
  | "ORCH_LOG_PATH_INVALID"
  | "ORCH_BACKFILL_ALREADY_RUNNING"
  | "ORCH_BACKFILL_NON_PERIODIC"
  | "ORCH_BACKFILL_INVALID_DATES"
  | "ORCH_BACKFILL_INVALID_DIRECTION"
  | "ORCH_BACKFILL_INVALID_REPROCESS"
  | "ORCH_BACKFILL_NO_RUNS"
  | "ORCH_DBT_PROJECT_INVALID"
  | "ORCH_DBT_UNSUPPORTED"
  | "ORCH_DBT_FAILED"
  | "ORCH_PORT_IN_USE"
  | "ORCH_CONFLICT"
  | "ORCH_BAD_REQUEST";

export class OrchError extends Error {
  readonly code: OrchErrorCode;
  readonly details: Record<string, unknown>;
  constructor(code: OrchErrorCode, message: string, details: Record<string, unknown> = {}) {
    super(message);
    this.name = "OrchError";
    this.code = code;
    this.details = details;
  }
}

export function isOrchError(e: unknown, code?: OrchErrorCode): e is OrchError {
  return e instanceof OrchError && (code === undefined || e.code === code);
}

/** Normalises anything thrown into an Error, keeping a non-Error's text. A thrown non-Error has
 *  no stack, so the message says so: `throw null` used to surface as the reason "null". */
export function coerceError(e: unknown): Error {
  if (e instanceof Error) return e;
  if (typeof e === "string") return new Error(e);
  let shown: string;
  try {
    shown = e === undefined ? "undefined" : typeof e === "bigint" ? `${e}n` : (JSON.stringify(e) ?? String(e));
  } catch {
    shown = Object.prototype.toString.call(e);
  }
  return new Error(`threw ${shown}, not an Error, so there is no stack trace saying where; throw new Error("what went wrong") instead`);
}

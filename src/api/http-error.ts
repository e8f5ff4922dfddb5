// HTTP errors in FastAPI's shapes, which Airflow's API answers with:
//   4xx/5xx                  {"detail": "what is wrong"}
//   422 (validation failed)  {"detail": [{"loc": ["body", "conf"], "msg": "...", "type": "dict_type"}]}
// Route code throws these (or an OrchError, mapped by errorStatus); app.ts renders them.
import { OrchError, type OrchErrorCode } from "../errors.ts";

export interface ValidationIssue {
  loc: (string | number)[];
  msg: string;
  type: string;
}

export class HttpError extends Error {
  readonly status: number;
  readonly detail: string | ValidationIssue[];
  readonly headers: Record<string, string>;
  constructor(status: number, detail: string | ValidationIssue[], headers: Record<string, string> = {}) {
    super(typeof detail === "string" ? detail : detail.map((d) => `${d.loc.join(".")}: ${d.msg}`).join("; "));
    this.status = status;
    this.detail = detail;
    this.headers = headers;
  }
}

export function validationError(issues: ValidationIssue[]): HttpError {
  return new HttpError(422, issues);
}

export function notFound(detail: string): HttpError {
  return new HttpError(404, detail);
}

export function badRequest(detail: string): HttpError {
  return new HttpError(400, detail);
}

export function conflict(detail: string): HttpError {
  return new HttpError(409, detail);
}

/** The HTTP status of each OrchError code a handler may meet; anything else is a 500. */
const STATUS_OF: Partial<Record<OrchErrorCode, number>> = {
  ORCH_NOT_FOUND: 404,
  ORCH_ALREADY_EXISTS: 409,
  ORCH_CONFLICT: 409,
  ORCH_PARAMS_INVALID: 400,
  ORCH_USAGE: 400,
  ORCH_BAD_REQUEST: 400,
  ORCH_LOG_PATH_INVALID: 400,
  ORCH_DAG_INVALID: 400,
  ORCH_XCOM_TOO_LARGE: 400,
  ORCH_XCOM_NOT_JSON: 400,
  ORCH_DB_UNREACHABLE: 503,
  ORCH_DB_NOT_MIGRATED: 503,
};

export function errorStatus(e: OrchError): number {
  return STATUS_OF[e.code] ?? 500;
}

// Request bodies and query parameters, checked before a handler runs. Bodies are checked against
// JSON Schemas restated from Airflow's spec (additionalProperties false, as Airflow's models
// forbid extra fields); each failure becomes one FastAPI-style issue naming the field.
import { Ajv2020, type ErrorObject, type ValidateFunction } from "ajv/dist/2020.js";
import type { Context } from "hono";
import { HttpError, validationError, type ValidationIssue } from "./http-error.ts";

const ajv = new Ajv2020({ allErrors: true, strict: false });
const compiled = new WeakMap<object, ValidateFunction>();

function issueOf(e: ErrorObject): ValidationIssue {
  const path = e.instancePath.split("/").slice(1).map((p) => (/^\d+$/.test(p) ? Number(p) : p.replace(/~1/g, "/").replace(/~0/g, "~")));
  switch (e.keyword) {
    case "additionalProperties": {
      const extra = (e.params as { additionalProperty: string }).additionalProperty;
      return { loc: ["body", ...path, extra], msg: "Extra inputs are not permitted", type: "extra_forbidden" };
    }
    case "required": {
      const missing = (e.params as { missingProperty: string }).missingProperty;
      return { loc: ["body", ...path, missing], msg: "Field required", type: "missing" };
    }
    case "type": {
      const t = (e.params as { type: string | string[] }).type;
      const want = Array.isArray(t) ? t.filter((x) => x !== "null").join(" or ") : t;
      const names: Record<string, string> = { object: "a valid dictionary", string: "a valid string", integer: "a valid integer", boolean: "a valid boolean", number: "a valid number", array: "a valid list" };
      return { loc: ["body", ...path], msg: `Input should be ${names[want] ?? want}`, type: `${want === "object" ? "dict" : want === "array" ? "list" : want === "integer" ? "int" : want === "boolean" ? "bool" : want}_type` };
    }
    case "enum": {
      const allowed = (e.params as { allowedValues: unknown[] }).allowedValues.filter((v) => v !== null);
      return { loc: ["body", ...path], msg: `Input should be ${allowed.map((a) => `'${String(a)}'`).join(", ")}`, type: "enum" };
    }
    case "format":
      return { loc: ["body", ...path], msg: "Input should be a valid datetime", type: "datetime_parsing" };
    case "maxLength":
      return { loc: ["body", ...path], msg: `String should have at most ${(e.params as { limit: number }).limit} characters`, type: "string_too_long" };
    default:
      return { loc: ["body", ...path], msg: e.message ?? "is invalid", type: e.keyword };
  }
}

/** Drops the anyOf/null echoes ajv adds next to the real failure. */
function simplify(errors: ErrorObject[]): ErrorObject[] {
  const real = errors.filter((e) => e.keyword !== "anyOf" && !(e.keyword === "type" && (e.params as { type: string }).type === "null"));
  const seen = new Set<string>();
  return (real.length ? real : errors).filter((e) => {
    const k = `${e.instancePath}|${e.keyword}|${JSON.stringify(e.params)}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

const ISO_DATE_TIME = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?$/i;
ajv.addFormat("date-time", { type: "string", validate: (s: string) => ISO_DATE_TIME.test(s) && !Number.isNaN(Date.parse(normalizeIso(s))) });

/** Reads and checks a JSON body (or, with `form`, an urlencoded form) against `schema`. */
export async function readBody<T>(c: Context, schema: object, opts: { form?: boolean } = {}): Promise<T> {
  const type = (c.req.header("content-type") ?? "").split(";")[0].trim().toLowerCase();
  let body: unknown;
  if (opts.form && (type === "application/x-www-form-urlencoded" || type === "multipart/form-data")) {
    let form: Record<string, string | File | (string | File)[]>;
    try {
      form = await c.req.parseBody();
    } catch {
      throw validationError([{ loc: ["body"], msg: "Form data could not be parsed", type: "value_error" }]);
    }
    body = Object.fromEntries(Object.entries(form).map(([k, v]) => [k, typeof v === "string" ? v : String(v)]));
  } else {
    const text = await c.req.text();
    if (text.trim() === "") throw validationError([{ loc: ["body"], msg: "Field required", type: "missing" }]);
    try {
      body = JSON.parse(text);
    } catch (e) {
      throw validationError([{ loc: ["body", 0], msg: `JSON decode error: ${(e as Error).message}`, type: "json_invalid" }]);
    }
  }
  let fn = compiled.get(schema);
  if (!fn) {
    fn = ajv.compile(schema);
    compiled.set(schema, fn);
  }
  if (!fn(body)) throw validationError(simplify(fn.errors ?? []).map(issueOf));
  return body as T;
}

/** "2024-01-01T00:00:00+0000" and "2024-01-01 00:00:00" as Date.parse reads them. */
export function normalizeIso(s: string): string {
  let v = s.replace(" ", "T").replace(/([+-]\d{2})(\d{2})$/, "$1:$2");
  if (/^\d{4}-\d{2}-\d{2}$/.test(v)) v += "T00:00:00Z";
  else if (!/[zZ]|[+-]\d{2}:\d{2}$/.test(v)) v += "Z";
  return v;
}

/** A date-time from a body or query field, as the store writes it; undefined stays undefined. */
export function parseIsoField(value: string, loc: (string | number)[]): string {
  const ok = ISO_DATE_TIME.test(value) || /^\d{4}-\d{2}-\d{2}$/.test(value);
  const t = ok ? Date.parse(normalizeIso(value)) : NaN;
  if (Number.isNaN(t)) throw validationError([{ loc, msg: `Input should be a valid datetime, got ${JSON.stringify(value).slice(0, 80)}`, type: "datetime_parsing" }]);
  return new Date(t).toISOString();
}

export { HttpError };

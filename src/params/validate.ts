// Param validation (Airflow's ParamsDict.validate): the run's conf is merged over the params'
// defaults and each value is checked against its param's JSON Schema. Conf keys that are not
// params pass through untouched, as in Airflow.
import { Ajv, type ValidateFunction } from "ajv";
import type { SerializedParam } from "../serialization/serialized-dag.ts";

export interface ParamError {
  /** The param's name. */
  field: string;
  /** The JSON Schema keyword that failed ("type", "minimum", ...), or "required". */
  rule: string;
  message: string;
}

export type ParamsValidation = { ok: true; values: Record<string, unknown> } | { ok: false; errors: ParamError[] };

// Formats Airflow's trigger form offers; checked loosely (shape only), as JSON Schema intends.
const FORMATS: Record<string, RegExp> = {
  date: /^\d{4}-\d{2}-\d{2}$/,
  "date-time": /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$/i,
  time: /^\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/,
  email: /^[^\s@]+@[^\s@]+$/,
  uri: /^[a-z][a-z0-9+.-]*:/i,
};

let ajv: Ajv | undefined;
const compiled = new Map<string, ValidateFunction>();

function validator(schema: Record<string, unknown>): ValidateFunction {
  const key = JSON.stringify(schema);
  let fn = compiled.get(key);
  if (!fn) {
    // Created lazily: most DAGs have no schemas, and an Ajv instance costs milliseconds.
    ajv ??= new Ajv({ allErrors: true, strict: false, formats: FORMATS });
    fn = ajv.compile(schema);
    compiled.set(key, fn);
  }
  return fn;
}

/** Checks one value against a param's schema; [] when it passes. */
export function checkParamValue(name: string, param: SerializedParam, value: unknown): ParamError[] {
  if (value === undefined) {
    return [{ field: name, rule: "required", message: `param "${name}" has no default and no value was passed` }];
  }
  if (Object.keys(param.schema).length === 0) return [];
  let fn: ValidateFunction;
  try {
    fn = validator(param.schema);
  } catch (e) {
    return [{ field: name, rule: "schema", message: `param "${name}" has an invalid schema: ${(e as Error).message}` }];
  }
  if (fn(value)) return [];
  return (fn.errors ?? []).map((err) => {
    const field = name + err.instancePath.replace(/\//g, ".");
    const allowed = err.keyword === "enum" ? `: ${(err.params as { allowedValues: unknown[] }).allowedValues.map((a) => JSON.stringify(a)).join(", ")}` : "";
    return { field, rule: err.keyword, message: `param "${field}" ${err.message ?? "is invalid"}${allowed} (got ${JSON.stringify(value)})` };
  });
}

export function validateParams(params: Record<string, SerializedParam>, conf: Record<string, unknown>): ParamsValidation {
  const values: Record<string, unknown> = {};
  for (const [k, p] of Object.entries(params)) if (p.default !== undefined) values[k] = p.default;
  Object.assign(values, conf);
  const errors: ParamError[] = [];
  for (const [name, p] of Object.entries(params)) {
    // null stands for "no value" (Airflow's NOTSET default) unless the schema accepts null.
    const v = values[name] === null && !schemaAllowsNull(p.schema) ? undefined : values[name];
    errors.push(...checkParamValue(name, p, v));
  }
  return errors.length ? { ok: false, errors } : { ok: true, values };
}

function schemaAllowsNull(schema: Record<string, unknown>): boolean {
  const t = schema.type;
  return t === undefined || t === "null" || (Array.isArray(t) && t.includes("null"));
}

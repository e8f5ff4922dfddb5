// Param: a DAG parameter with a default and a JSON Schema (Airflow's airflow.sdk.Param).
import { PARAM_BRAND, hasBrand } from "./brand.ts";

/** JSON Schema keywords Param accepts besides the default (Airflow passes **kwargs as the schema). */
export interface ParamSchemaOptions {
  type?: "string" | "number" | "integer" | "boolean" | "array" | "object" | "null" | readonly ("string" | "number" | "integer" | "boolean" | "array" | "object" | "null")[];
  description?: string;
  title?: string;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  multipleOf?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  format?: string;
  enum?: readonly unknown[];
  const?: unknown;
  items?: Record<string, unknown>;
  minItems?: number;
  maxItems?: number;
  uniqueItems?: boolean;
  properties?: Record<string, unknown>;
  required?: readonly string[];
  additionalProperties?: boolean | Record<string, unknown>;
  examples?: readonly unknown[];
}

export interface ParamSpec<T = unknown> {
  readonly [PARAM_BRAND]: true;
  /** undefined: no default (the run's conf must supply it). */
  readonly default: T | undefined;
  readonly schema: Record<string, unknown>;
  readonly description: string | null;
}

export function Param<T>(defaultValue?: T, options: ParamSchemaOptions = {}): ParamSpec<T> {
  const { description, ...schema } = options;
  return {
    [PARAM_BRAND]: true,
    default: defaultValue,
    schema: schema as Record<string, unknown>,
    description: description ?? null,
  };
}

export function isParam(v: unknown): v is ParamSpec {
  return hasBrand(v, PARAM_BRAND);
}

/** Params as dag() accepts them: Param(...) or a plain default value. */
export type ParamsInput = Record<string, ParamSpec | string | number | boolean | null | readonly unknown[] | Record<string, unknown>>;

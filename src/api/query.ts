// Query parameters in Airflow's shapes: limit (default 50) / offset paging, order_by with "-" for
// descending, *_pattern SQL LIKE filters, repeated list parameters, date ranges (_gte, _lte, ...).
// A malformed value is a 422 naming the parameter, as FastAPI answers.
import type { Context } from "hono";
import { sql, type RawBuilder } from "kysely";
import { badRequest, validationError } from "./http-error.ts";
import { parseIsoField } from "./validate.ts";

const MAX_LIMIT = 10_000;

export function intParam(c: Context, name: string, opts: { default?: number; min?: number } = {}): number | undefined {
  const raw = c.req.query(name);
  if (raw === undefined || raw === "") return opts.default;
  if (!/^-?\d{1,15}$/.test(raw.trim())) {
    throw validationError([{ loc: ["query", name], msg: "Input should be a valid integer, unable to parse string as an integer", type: "int_parsing" }]);
  }
  const n = Number(raw);
  if (opts.min !== undefined && n < opts.min) {
    throw validationError([{ loc: ["query", name], msg: `Input should be greater than or equal to ${opts.min}`, type: "greater_than_equal" }]);
  }
  return n;
}

export function boolParam(c: Context, name: string, def?: boolean): boolean | undefined {
  const raw = c.req.query(name);
  if (raw === undefined || raw === "") return def;
  const v = raw.trim().toLowerCase();
  if (["true", "1", "yes", "on", "t", "y"].includes(v)) return true;
  if (["false", "0", "no", "off", "f", "n"].includes(v)) return false;
  throw validationError([{ loc: ["query", name], msg: "Input should be a valid boolean, unable to interpret input", type: "bool_parsing" }]);
}

export function strParam(c: Context, name: string): string | undefined {
  const v = c.req.query(name);
  return v === undefined || v === "" ? undefined : v;
}

/** A repeated parameter (`?state=success&state=failed`); comma-separated values are split too. */
export function listParam(c: Context, name: string): string[] {
  return (c.req.queries(name) ?? []).flatMap((v) => v.split(",")).map((v) => v.trim()).filter(Boolean);
}

export function enumListParam<T extends string>(c: Context, name: string, allowed: readonly T[]): T[] {
  const values = listParam(c, name);
  for (const v of values) {
    if (!(allowed as readonly string[]).includes(v)) {
      throw validationError([{ loc: ["query", name], msg: `Input should be ${allowed.map((a) => `'${a}'`).join(", ")}; got '${v.slice(0, 80)}'`, type: "enum" }]);
    }
  }
  return values as T[];
}

export function dateParam(c: Context, name: string): string | undefined {
  const raw = strParam(c, name);
  return raw === undefined ? undefined : parseIsoField(raw, ["query", name]);
}

export interface DateRange {
  gte?: string;
  gt?: string;
  lte?: string;
  lt?: string;
}

/** `<field>_gte`, `_gt`, `_lte`, `_lt` as Airflow's range filters. */
export function dateRange(c: Context, field: string): DateRange {
  return { gte: dateParam(c, `${field}_gte`), gt: dateParam(c, `${field}_gt`), lte: dateParam(c, `${field}_lte`), lt: dateParam(c, `${field}_lt`) };
}

export interface Paging {
  limit: number;
  offset: number;
}

export function paging(c: Context): Paging {
  const limit = Math.min(intParam(c, "limit", { default: 50, min: 0 }) ?? 50, MAX_LIMIT);
  const offset = intParam(c, "offset", { default: 0, min: 0 }) ?? 0;
  return { limit, offset };
}

export interface OrderBy<C extends string> {
  column: C;
  desc: boolean;
}

/** order_by values mapped to columns; an unknown one is Airflow's 400. */
export function orderBy<C extends string>(c: Context, allowed: Record<string, C>, def: string): OrderBy<C>[] {
  const values = listParam(c, "order_by");
  const out: OrderBy<C>[] = [];
  for (const v of values.length ? values : [def]) {
    const desc = v.startsWith("-");
    const name = desc ? v.slice(1) : v;
    const column = allowed[name];
    if (!column) {
      throw badRequest(`Ordering with '${name.slice(0, 80)}' is disallowed or the attribute does not exist on the model; allowed: ${Object.keys(allowed).join(", ")}`);
    }
    out.push({ column, desc });
  }
  return out;
}

/** A *_pattern parameter as a case-insensitive SQL LIKE (Airflow uses ILIKE), the same on both dialects. */
export function likeFilter(column: string, pattern: string): RawBuilder<boolean> {
  return sql<boolean>`lower(${sql.ref(column)}) like lower(${pattern})`;
}

/** A *_pattern parameter applied in memory to a short listing (assets): LIKE's % and _, any case. */
export function likeFilterText(text: string, pattern: string): boolean {
  const re = pattern.replace(/[.*+?^${}()|[\]\\]/g, "\\$&").replace(/%/g, ".*").replace(/_/g, ".");
  return new RegExp(`^${re}$`, "is").test(text);
}

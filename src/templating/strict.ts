// Jinja's StrictUndefined (Airflow's default template_undefined) on nunjucks, which by itself
// renders a missing name as "". A missing name or attribute evaluates to a StrictUndefined value
// naming it; rendering it, formatting it or reading an attribute of it throws that name, while
// `is defined`, `is undefined` and `| default` still work on it, as in Jinja.
//
// Known difference: nunjucks cannot intercept truthiness, so `{% if missing %}` takes the true
// branch instead of raising. Use `{% if missing is defined %}` (which works in both).
//
// Plain objects and arrays in the context are wrapped in a read-only view so that `params.nope`
// is caught too; they also answer Python dict's `get`, `keys`, `values` and `items`, which Airflow
// templates use (`dag_run.conf.get('x', 'y')`). Dates become PyDate.

import { toPyDate } from "./python-datetime.ts";

export class UndefinedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UndefinedError";
  }
}

export class StrictUndefined {
  readonly message: string;
  constructor(message: string) {
    this.message = message;
    // Any use except `is defined` / `| default` (render.ts) reads a member and fails with the name.
    return new Proxy(this, {
      get(target, key) {
        if (key === "message") return target.message;
        if (key === Symbol.toPrimitive || key === "toString" || key === "valueOf" || key === "toJSON") {
          return () => { throw new UndefinedError(target.message); };
        }
        if (typeof key === "symbol") return undefined;
        throw new UndefinedError(target.message);
      },
    });
  }
}

export function isUndefined(value: unknown): boolean {
  return value === undefined || (value instanceof StrictUndefined);
}

const isPlain = (v: unknown): v is Record<string, unknown> => {
  if (v === null || typeof v !== "object") return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
};

const DICT_METHODS: Record<string, (target: Record<string, unknown>, path: string) => unknown> = {
  get: (t, path) => (key: string, fallback: unknown = null) => (Object.hasOwn(t, key) ? wrap(t[key], `${path}.${key}`) : fallback),
  keys: (t) => () => Object.keys(t),
  values: (t, path) => () => Object.keys(t).map((k) => wrap(t[k], `${path}.${k}`)),
  items: (t, path) => () => Object.keys(t).map((k) => [k, wrap(t[k], `${path}.${k}`)]),
};

const views = new WeakMap<object, object>();
const templateViews = new WeakMap<object, unknown>();

/**
 * Registers what templates see instead of `value` (e.g. the variable accessor, whose template
 * form wraps what it reads). Such values are never copied or wrapped themselves.
 */
export function setTemplateView(value: object, view: unknown): void {
  templateViews.set(value, view);
}

/** The strict, read-only view of a context value; `path` names it in error messages. */
export function wrap(value: unknown, path: string): unknown {
  if (value instanceof Date) return toPyDate(value);
  if (value !== null && typeof value === "object" && templateViews.has(value)) return templateViews.get(value);
  if (!isPlain(value) && !Array.isArray(value)) return value;
  const cached = views.get(value);
  if (cached) return cached;
  // A copy as the proxy target: a frozen object's properties could not be answered with views.
  const copy = (Array.isArray(value) ? [...value] : { ...value }) as Record<string | symbol, unknown>;
  const view = new Proxy(copy, {
    get(target, key, receiver) {
      if (key === Symbol.toPrimitive) return () => pythonRepr(value);
      if (typeof key === "symbol") return Reflect.get(target, key, receiver);
      if (Object.hasOwn(target, key) || (Array.isArray(target) && key in target)) {
        const member = Reflect.get(target, key, receiver);
        const memberPath = Array.isArray(target) ? `${path}[${key}]` : `${path}.${key}`;
        // What a context function returns (ti.xcom_pull, macros) is strict in templates too.
        if (typeof member === "function" && Object.hasOwn(target, key)) {
          return (...args: unknown[]) => wrap((member as (...a: unknown[]) => unknown).apply(target, args), `${memberPath}(...)`);
        }
        return wrap(member, memberPath);
      }
      if (!Array.isArray(target) && Object.hasOwn(DICT_METHODS, key)) return DICT_METHODS[key]!(target, path);
      // Printed as Jinja prints a dict or list (Python's repr), not "[object Object]".
      if (key === "toString") return () => pythonRepr(value);
      if (typeof (target as Record<string, unknown>)[key] === "function") return Reflect.get(target, key, receiver);
      return new StrictUndefined(`'${path}' has no attribute '${key}'`);
    },
    set() {
      throw new TypeError(`'${path}' is read-only in a template`);
    },
  });
  views.set(value, view);
  return view;
}

/** Python's repr of JSON-like data, which is what Jinja prints for a dict or list. */
export function pythonRepr(v: unknown): string {
  if (v === null || v === undefined) return "None";
  if (v === true) return "True";
  if (v === false) return "False";
  if (typeof v === "string") return `'${v.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;
  if (v instanceof Date) return toPyDate(v).toString();
  if (Array.isArray(v)) return `[${v.map(pythonRepr).join(", ")}]`;
  if (isPlain(v)) return `{${Object.entries(v).map(([k, x]) => `${pythonRepr(k)}: ${pythonRepr(x)}`).join(", ")}}`;
  return String(v);
}

/** The context as templates see it: every top-level value wrapped. */
export function strictContext(ctx: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(ctx)) out[k] = wrap(v, k);
  return out;
}

// Rendering templates the way Airflow renders template fields (task-sdk templater.py): Jinja
// syntax on nunjucks, autoescape off, StrictUndefined (strict.ts), and Airflow's five date filters.

import nunjucks from "nunjucks";
import { OrchError } from "../errors.ts";
import { isoformat, strftime, utc } from "./python-datetime.ts";
import { StrictUndefined, UndefinedError, isUndefined, strictContext } from "./strict.ts";
import { pythonJsonDumps } from "./macros.ts";

type DateFilter = (value: unknown) => string | null;

function dateFilter(name: string, format: (d: Date) => string): DateFilter {
  return (value) => {
    if (value === null || value === undefined) return null; // Airflow's filters map None to None
    if (!(value instanceof Date)) throw new Error(`filter '${name}' needs a datetime, got ${JSON.stringify(value)}`);
    return format(value);
  };
}

/** templater.py FILTERS. */
const FILTERS: Record<string, DateFilter> = {
  ds: dateFilter("ds", (d) => strftime(utc(d), "%Y-%m-%d")),
  ds_nodash: dateFilter("ds_nodash", (d) => strftime(utc(d), "%Y%m%d")),
  ts: dateFilter("ts", (d) => isoformat(utc(d))),
  ts_nodash: dateFilter("ts_nodash", (d) => strftime(utc(d), "%Y%m%dT%H%M%S")),
  ts_nodash_with_tz: dateFilter("ts_nodash_with_tz", (d) => isoformat(utc(d)).replace(/[-:]/g, "")),
};

/** Parts of nunjucks' Environment that @types/nunjucks leaves out. */
interface EnvironmentInternals {
  addTest(name: string, test: (value: unknown) => boolean): void;
  globals: Record<string, unknown>;
}

function createEnvironment(): nunjucks.Environment {
  const env = new nunjucks.Environment(null, { autoescape: false });
  const internals = env as unknown as EnvironmentInternals;
  for (const [name, fn] of Object.entries(FILTERS)) env.addFilter(name, fn);
  // Jinja's tests and default filter treat an undefined value as undefined, strict or not.
  internals.addTest("defined", (v) => !isUndefined(v));
  internals.addTest("undefined", (v) => isUndefined(v));
  const fallback = (v: unknown, def: unknown = "", boolean = false): unknown =>
    isUndefined(v) || (boolean && !v) ? def : v;
  // Jinja's tojson: json.dumps, made safe to embed in HTML/JS as jinja2's htmlsafe_json_dumps does.
  env.addFilter("tojson", (v: unknown) =>
    pythonJsonDumps(v).replace(/</g, "\\u003c").replace(/>/g, "\\u003e").replace(/&/g, "\\u0026").replace(/'/g, "\\u0027"));
  env.addFilter("default", fallback);
  env.addFilter("d", fallback);
  // Jinja spells its constants both ways; nunjucks only knows true/false/none.
  for (const [name, value] of [["True", true], ["False", false], ["None", null]] as const) env.addGlobal(name, value);
  // nunjucks asks its globals for any name the context lacks (Context.lookup); answering every
  // such name with a StrictUndefined that names it is how a missing top-level name is caught.
  internals.globals = new Proxy(internals.globals, {
    has: () => true,
    get: (target, key) =>
      typeof key === "symbol" || key in target ? Reflect.get(target, key) : new StrictUndefined(`'${key}' is undefined`),
  });
  return env;
}

let shared: nunjucks.Environment | null = null;

// Compiled templates by source. A task renders the same few fields on every try and mapped
// instance; compiling is most of a render's cost (see scripts/bench/templating.ts).
const COMPILED_MAX = 1000;
const compiled = new Map<string, nunjucks.Template>();

function compile(template: string): nunjucks.Template {
  shared ??= createEnvironment();
  let t = compiled.get(template);
  if (!t) {
    t = new nunjucks.Template(template, shared, undefined, true);
    if (compiled.size >= COMPILED_MAX) compiled.delete(compiled.keys().next().value!);
    compiled.set(template, t);
  }
  return t;
}

/** The context shape renderTemplate accepts: any plain record (buildTemplateContext makes one). */
export type RenderContext = object;

/**
 * Renders one template string. Errors (syntax, a missing name, a failing macro) become
 * ORCH_TASK_FAILED naming the template, since a bad template fails the task in Airflow.
 */
export function renderTemplate(template: string, context: RenderContext): string {
  try {
    return compile(template).render(strictContext(context as Record<string, unknown>));
  } catch (e) {
    const cause = e instanceof Error ? e : new Error(String(e));
    const undefinedName = findUndefinedError(cause);
    const message = undefinedName ? `UndefinedError: ${undefinedName.message}` : cause.message.replace(/^\(unknown path\)\s*/, "");
    throw new OrchError("ORCH_TASK_FAILED", `Could not render template ${JSON.stringify(template)}: ${message}`, {
      template,
    });
  }
}

/** nunjucks wraps thrown errors in a TemplateError that keeps the original as `cause`, or only its text. */
function findUndefinedError(e: Error): UndefinedError | null {
  for (let cur: unknown = e; cur instanceof Error; cur = (cur as { cause?: unknown }).cause) {
    if (cur instanceof UndefinedError) return cur;
  }
  const m = /UndefinedError: (.*)$/m.exec(e.message) ?? /('[^']*' (?:is undefined|has no attribute '[^']*'))/.exec(e.message);
  return m ? new UndefinedError(m[1]!) : null;
}

/**
 * Renders every string inside `value` (arrays and plain objects recursively, keys untouched), as
 * Airflow renders template_fields; other values are returned as they are.
 */
export function renderFields<T>(value: T, context: RenderContext): T {
  return renderValue(value, context, new Set()) as T;
}

function renderValue(value: unknown, context: RenderContext, seen: Set<object>): unknown {
  if (typeof value === "string") return renderTemplate(value, context);
  if (value === null || typeof value !== "object" || seen.has(value)) return value;
  if (Array.isArray(value)) {
    seen.add(value);
    return value.map((v) => renderValue(v, context, seen));
  }
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return value;
  seen.add(value);
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = renderValue(v, context, seen);
  return out;
}

// Airflow's `macros` (task-sdk/src/airflow/sdk/execution_time/macros.py) for templates and task code.
// Python modules Airflow re-exports (datetime, timedelta, random, json, uuid, time) are given as the
// small subset templates use: macros.datetime.now(), macros.timedelta(days=1), macros.random(), ...

import { randomUUID } from "node:crypto";
import { PyDate, strftime, strptime } from "./python-datetime.ts";

/** A nunjucks keyword-arguments object (`f(days=1)` arrives as `{ days: 1, __keywords: true }`). */
type Keywords = Record<string, unknown> & { __keywords?: true };

/**
 * Lets a function take Jinja keyword arguments: `macros.ds_add(ds, days=5)` reaches it from nunjucks
 * as `(ds, { days: 5, __keywords: true })`; named values are moved to their positions.
 */
export function acceptKeywords<A extends unknown[], R>(names: readonly string[], fn: (...args: A) => R): (...args: A) => R {
  return (...args: A): R => {
    const last = args[args.length - 1] as Keywords | undefined;
    if (last && typeof last === "object" && last.__keywords === true) {
      args.pop();
      names.forEach((name, i) => {
        if (name in last) args[i] = last[name];
      });
    }
    return fn(...args);
  };
}

/** ds_add("2015-01-01", 5) = "2015-01-06"; days may be negative; 0 returns ds unchanged. */
export function dsAdd(ds: string, days: number): string {
  if (!days) return String(ds);
  const { wall } = strptime(String(ds), "%Y-%m-%d");
  return strftime({ wall: new Date(wall.getTime() + days * 86_400_000), offset: null }, "%Y-%m-%d");
}

/** ds_format("2015-01-01", "%Y-%m-%d", "%m-%d-%y") = "01-01-15" (strptime then strftime). */
export function dsFormat(ds: string, inputFormat: string, outputFormat: string): string {
  return strftime(strptime(String(ds), inputFormat), outputFormat);
}

export interface TimeDelta {
  days: number;
  seconds: number;
  microseconds: number;
  total_seconds(): number;
  /** Milliseconds, for Date arithmetic in code: new Date(d.getTime() + delta.ms). */
  ms: number;
}

/** datetime.timedelta(days=, seconds=, minutes=, hours=, weeks=, milliseconds=, microseconds=). */
export function timedelta(daysOrKeywords: number | Keywords = 0, seconds = 0): TimeDelta {
  const k: Keywords = typeof daysOrKeywords === "object" ? daysOrKeywords : { days: daysOrKeywords, seconds };
  const n = (name: string): number => Number(k[name] ?? 0);
  const totalMs = n("weeks") * 604_800_000 + n("days") * 86_400_000 + n("hours") * 3_600_000 + n("minutes") * 60_000 +
    n("seconds") * 1000 + n("milliseconds") + n("microseconds") / 1000;
  const days = Math.floor(totalMs / 86_400_000);
  const restMs = totalMs - days * 86_400_000;
  return {
    days,
    seconds: Math.floor(restMs / 1000),
    microseconds: Math.round((restMs % 1000) * 1000),
    total_seconds: () => totalMs / 1000,
    ms: totalMs,
  };
}

/** json.dumps with Python's default separators (", " and ": "). */
export function pythonJsonDumps(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(pythonJsonDumps).join(", ")}]`;
  if (value !== null && typeof value === "object" && !(value instanceof Date)) {
    return `{${Object.entries(value).map(([k, v]) => `${JSON.stringify(k)}: ${pythonJsonDumps(v)}`).join(", ")}}`;
  }
  return JSON.stringify(value) ?? "null";
}

export interface Macros {
  ds_add(ds: string, days: number): string;
  ds_format(ds: string, input_format: string, output_format: string): string;
  datetime: {
    now(): PyDate;
    utcnow(): PyDate;
    strptime(text: string, format: string): PyDate;
    fromisoformat(text: string): PyDate;
  };
  timedelta: typeof timedelta;
  random(): number;
  uuid: { uuid4(): string };
  json: { dumps(value: unknown): string; loads(text: string): unknown };
  time: { time(): number };
}

/**
 * The macros object. `now` is injected (Airflow reads the clock; tests pass a fixed one) and the
 * strptime result, naive in Python, is read as UTC here.
 */
export function buildMacros(now: () => Date = () => new Date()): Macros {
  return {
    ds_add: acceptKeywords(["ds", "days"], dsAdd),
    ds_format: acceptKeywords(["ds", "input_format", "output_format"], dsFormat),
    datetime: {
      now: () => new PyDate(now().getTime()),
      utcnow: () => new PyDate(now().getTime()),
      strptime: (text, format) => {
        const t = strptime(text, format);
        return new PyDate(t.wall.getTime() - (t.offset ?? 0) * 60_000);
      },
      fromisoformat: (text) => new PyDate(Date.parse(/[zZ]|[+-]\d\d:?\d\d$/.test(text) ? text : `${text}Z`)),
    },
    timedelta,
    random: () => Math.random(),
    uuid: { uuid4: () => randomUUID() },
    json: { dumps: pythonJsonDumps, loads: (text) => JSON.parse(text) },
    time: { time: () => now().getTime() / 1000 },
  };
}

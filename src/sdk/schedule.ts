// Schedules: what `schedule:` accepts, turned into a TimetableSpec as Airflow 3 does
// (a cron string or preset -> CronTriggerTimetable, a duration -> DeltaTriggerTimetable,
// "@once" -> OnceTimetable, null -> no schedule, assets -> asset-triggered).
import { Cron } from "croner";
import { ASSET_BRAND, TIMETABLE_BRAND, hasBrand } from "./brand.ts";
import { cronRangeProblem } from "./cron-fields.ts";
import type { AssetCondition, AssetRef, Duration, TimetableSpec } from "./timetable-spec.ts";

export type { AssetCondition, AssetRef, Duration, TimetableSpec } from "./timetable-spec.ts";

/** Airflow's cron presets (airflow/utils/dates.py cron_presets). */
export const CRON_PRESETS: Record<string, string> = {
  "@hourly": "0 * * * *",
  "@daily": "0 0 * * *",
  "@midnight": "0 0 * * *",
  "@weekly": "0 0 * * 0",
  "@monthly": "0 0 1 * *",
  "@quarterly": "0 0 1 */3 *",
  "@yearly": "0 0 1 1 *",
  "@annually": "0 0 1 1 *",
};

const DURATION_KEYS = ["years", "months", "weeks", "days", "hours", "minutes", "seconds"] as const;

export class ScheduleError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ScheduleError";
  }
}

/** An explicit timetable object (CronTriggerTimetable etc.): carries its spec. */
export interface TimetableObject {
  readonly [TIMETABLE_BRAND]: true;
  readonly spec: TimetableSpec;
  readonly summary: string;
}

export interface Asset extends AssetRef {
  readonly [ASSET_BRAND]: true;
  /** Runs when this and `other` both have new events (Airflow's `a & b`). */
  and(other: Asset | AssetExpression): AssetExpression;
  /** Runs when this or `other` has a new event (Airflow's `a | b`). */
  or(other: Asset | AssetExpression): AssetExpression;
  /** The URI: `ctx.outlet_events[asset]` and `ctx.triggering_asset_events[asset]` key by it. */
  toString(): string;
}

/** An asset condition built with AssetAll / AssetAny (or `.and` / `.or`). */
export interface AssetExpression {
  readonly [ASSET_BRAND]: true;
  readonly condition: AssetCondition;
  and(other: Asset | AssetExpression): AssetExpression;
  or(other: Asset | AssetExpression): AssetExpression;
}

export type Schedule = string | null | Duration | TimetableObject | Asset | AssetExpression | readonly (Asset | AssetExpression)[];

export interface AssetOptions {
  name?: string;
  uri?: string;
  group?: string;
  extra?: Record<string, unknown>;
}

/** `Asset(...)` and `new Asset(...)` both work, as a DAG author coming from Python expects either. */
export interface AssetConstructor {
  (nameOrOptions: string | AssetOptions): Asset;
  new (nameOrOptions: string | AssetOptions): Asset;
}

// Why a URI is refused, kept on the asset (not thrown here) so the task or DAG using it can name
// itself in the import error: at `Asset(...)` time nothing knows which DAG it belongs to.
const URI_PROBLEM = Symbol.for("orch.asset.uri_problem");

/**
 * What is wrong with an asset URI, or null. A string with no ":" is a name (Airflow 3 lets a name
 * stand for the URI); anything else needs `scheme://path` (Airflow's _sanitize_uri): ASCII only, a
 * scheme of letters, digits, "+", "." and "-", something after "://", and not the reserved
 * "airflow" scheme.
 */
export function assetUriProblem(uri: string, explicitUri: boolean): string | null {
  if (uri === "") return "it is empty";
  // eslint-disable-next-line no-control-regex
  if (/[^\x00-\x7f]/.test(uri)) return "it must only consist of ASCII characters";
  if (/\s/.test(uri)) return "it contains whitespace";
  if (!explicitUri && !uri.includes(":")) return null;
  const sep = uri.indexOf("://");
  if (sep < 0) return `expected scheme://path (such as s3://bucket/key or file:///data/x.csv), got no "://"`;
  const scheme = uri.slice(0, sep);
  if (scheme === "") return `the scheme before "://" is missing`;
  if (!/^[a-zA-Z][a-zA-Z0-9+.-]*$/.test(scheme)) return `the scheme "${scheme}" must start with a letter and hold only letters, digits, "+", "." and "-"`;
  if (scheme.toLowerCase() === "airflow") return `the scheme "airflow" is reserved`;
  if (uri.slice(sep + 3).replace(/^\/+/, "") === "") return `there is no path after "${scheme}://"`;
  return null;
}

export function assetProblemOf(a: AssetRef): string | null {
  return ((a as unknown as Record<symbol, unknown>)[URI_PROBLEM] as string | undefined) ?? null;
}

function expression(condition: AssetCondition): AssetExpression {
  const e = { [ASSET_BRAND]: true, condition } as AssetExpression;
  Object.defineProperties(e, {
    and: { value: (o: Asset | AssetExpression) => AssetAll(e, o) },
    or: { value: (o: Asset | AssetExpression) => AssetAny(e, o) },
  });
  return e;
}

/** Asset("s3://bucket/key") or Asset({ name, uri, group, extra }), with or without `new`. A bare
 *  name is also its URI. A bad URI is reported by the task or DAG that uses the asset. */
export const Asset = function Asset(nameOrOptions: string | AssetOptions): Asset {
  if (typeof nameOrOptions !== "string" && (typeof nameOrOptions !== "object" || nameOrOptions === null)) {
    throw new ScheduleError(`Asset needs a URI string or { name, uri, group, extra }, got ${JSON.stringify(nameOrOptions)}`);
  }
  const o: AssetOptions = typeof nameOrOptions === "string" ? { uri: nameOrOptions } : nameOrOptions;
  const uri = o.uri ?? o.name;
  const name = o.name ?? o.uri;
  if (typeof name !== "string" || typeof uri !== "string") throw new ScheduleError("Asset needs a name or a uri");
  const a = { [ASSET_BRAND]: true, name, uri, group: o.group ?? "asset", extra: o.extra ?? {} } as Asset;
  const problem = assetUriProblem(uri, typeof nameOrOptions === "string" ? uri.includes(":") : o.uri !== undefined);
  Object.defineProperties(a, {
    and: { value: (other: Asset | AssetExpression) => AssetAll(a, other) },
    or: { value: (other: Asset | AssetExpression) => AssetAny(a, other) },
    toString: { value: () => uri },
    [URI_PROBLEM]: { value: problem },
  });
  return a;
} as AssetConstructor;

export function isAsset(v: unknown): v is Asset {
  return hasBrand(v, ASSET_BRAND) && typeof (v as Asset).uri === "string";
}

function isAssetExpression(v: unknown): v is AssetExpression {
  return hasBrand(v, ASSET_BRAND) && typeof (v as AssetExpression).condition === "object";
}

function toCondition(v: Asset | AssetExpression): AssetCondition {
  if (isAssetExpression(v)) return v.condition;
  const problem = assetProblemOf(v);
  if (problem) throw new ScheduleError(`invalid asset URI ${JSON.stringify(v.uri)}: ${problem}`);
  return { type: "asset", asset: assetRef(v) };
}

export function assetRef(a: AssetRef): AssetRef {
  return { name: a.name, uri: a.uri, group: a.group ?? "asset", extra: a.extra ?? {} };
}

/** Runs when all of the assets (or conditions) have new events (Airflow's AssetAll, `a & b`). */
export function AssetAll(...items: (Asset | AssetExpression)[]): AssetExpression {
  return expression({ type: "all", items: items.map(toCondition) });
}

/** Runs when any of them has a new event (Airflow's AssetAny, `a | b`). */
export function AssetAny(...items: (Asset | AssetExpression)[]): AssetExpression {
  return expression({ type: "any", items: items.map(toCondition) });
}

export function isDuration(v: unknown): v is Duration {
  if (typeof v !== "object" || v === null || Array.isArray(v)) return false;
  const keys = Object.keys(v);
  return keys.length > 0 && keys.every((k) => (DURATION_KEYS as readonly string[]).includes(k) && typeof (v as Record<string, unknown>)[k] === "number");
}

/** Seconds in a duration without calendar parts (years/months refused: they have no fixed length). */
export function durationSeconds(d: Duration | number, field: string): number {
  if (typeof d === "number") {
    if (!Number.isFinite(d) || d < 0) throw new ScheduleError(`${field} must be a non-negative number of seconds, got ${d}`);
    return d;
  }
  if (!isDuration(d)) throw new ScheduleError(`${field} must be seconds or a duration such as { minutes: 5 }, got ${JSON.stringify(d)}`);
  if (d.years || d.months) throw new ScheduleError(`${field} cannot use years or months (no fixed length)`);
  return (d.weeks ?? 0) * 604800 + (d.days ?? 0) * 86400 + (d.hours ?? 0) * 3600 + (d.minutes ?? 0) * 60 + (d.seconds ?? 0);
}

export function validateTimezone(tz: string): string {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: tz });
  } catch {
    throw new ScheduleError(`unknown timezone "${tz}" (expected an IANA name such as "Europe/Paris")`);
  }
  return tz;
}

/** The 5-field expression of a cron string or preset; throws naming the expression. */
export function validateCron(expr: string, timezone: string): string {
  const expanded = CRON_PRESETS[expr] ?? expr;
  if (expr.startsWith("@") && !(expr in CRON_PRESETS)) {
    throw new ScheduleError(`invalid cron expression "${expr}": unknown preset (known: ${Object.keys(CRON_PRESETS).join(", ")}, @once)`);
  }
  const fields = expanded.trim().split(/\s+/);
  if (fields.length !== 5) throw new ScheduleError(`invalid cron expression "${expr}": expected 5 fields (minute hour day month weekday), got ${fields.length}`);
  const outOfRange = cronRangeProblem(expanded);
  if (outOfRange) throw new ScheduleError(`invalid cron expression "${expr}": ${outOfRange}`);
  try {
    new Cron(expanded, { timezone, paused: true });
  } catch (e) {
    throw new ScheduleError(`invalid cron expression "${expr}": ${(e as Error).message.replace(/^CronPattern: /, "")}`);
  }
  return expanded;
}

function timetable(spec: TimetableSpec, summary: string): TimetableObject {
  return { [TIMETABLE_BRAND]: true, spec, summary };
}

export interface CronTriggerOptions {
  timezone?: string;
  /** The data interval before each tick (default none: logical date = the tick). */
  interval?: Duration;
  /** Without a start_date, whether the first run is the tick just past: true, false (only if
   *  now is within max(10% of the gap, 5 minutes) of it), or a duration (within that long). */
  run_immediately?: boolean | Duration;
}

function runImmediately(v: boolean | Duration): boolean | Duration {
  if (typeof v === "boolean") return v;
  if (!isDuration(v)) throw new ScheduleError(`run_immediately must be true, false or a duration such as { minutes: 10 }, got ${JSON.stringify(v)}`);
  return checkedDelta(v);
}

/** A run at each cron tick (Airflow 3's default for cron strings). */
export function CronTriggerTimetable(expression: string, opts: CronTriggerOptions = {}): TimetableObject {
  const timezone = validateTimezone(opts.timezone ?? "UTC");
  const expr = validateCron(expression, timezone);
  const spec: TimetableSpec = { type: "cron_trigger", expression: expr, timezone };
  if (opts.interval) spec.interval = opts.interval;
  if (opts.run_immediately !== undefined) spec.run_immediately = runImmediately(opts.run_immediately);
  return timetable(spec, expression);
}

/** A run at each tick of any of the expressions:
 *  `MultipleCronTriggerTimetable("0 9 * * 1-5", "0 12 * * 6,0", { timezone: "Europe/Paris" })`. */
export function MultipleCronTriggerTimetable(...args: [string, ...(string | CronTriggerOptions)[]]): TimetableObject {
  const last = args[args.length - 1];
  const opts: CronTriggerOptions = typeof last === "object" ? last : {};
  const expressions = args.filter((a): a is string => typeof a === "string");
  if (expressions.length === 0) throw new ScheduleError("MultipleCronTriggerTimetable needs at least one cron expression");
  const timezone = validateTimezone(opts.timezone ?? "UTC");
  const spec: TimetableSpec = { type: "multiple_cron_trigger", expressions: expressions.map((e) => validateCron(e, timezone)), timezone };
  if (opts.interval) spec.interval = opts.interval;
  if (opts.run_immediately !== undefined) spec.run_immediately = runImmediately(opts.run_immediately);
  return timetable(spec, expressions.join(", "));
}

/** Data intervals between cron ticks (Airflow 2's behaviour for cron strings). */
export function CronDataIntervalTimetable(expression: string, opts: { timezone?: string } = {}): TimetableObject {
  const timezone = validateTimezone(opts.timezone ?? "UTC");
  return timetable({ type: "cron_data_interval", expression: validateCron(expression, timezone), timezone }, expression);
}

export function DeltaTriggerTimetable(delta: Duration): TimetableObject {
  return timetable({ type: "delta_trigger", delta: checkedDelta(delta) }, describeDuration(delta));
}

export function DeltaDataIntervalTimetable(delta: Duration): TimetableObject {
  return timetable({ type: "delta_data_interval", delta: checkedDelta(delta) }, describeDuration(delta));
}

function checkedDelta(d: Duration): Duration {
  if (!isDuration(d)) throw new ScheduleError(`schedule duration must look like { hours: 6 } or { months: 1 }, got ${JSON.stringify(d)}`);
  if (Object.values(d).every((n) => n === 0) || Object.values(d).some((n) => n < 0 || !Number.isFinite(n))) {
    throw new ScheduleError(`schedule duration must be positive, got ${JSON.stringify(d)}`);
  }
  return { ...d };
}

/** "6:00:00" for fixed lengths (as Python prints a timedelta), "relativedelta(months=+1)" otherwise. */
export function describeDuration(d: Duration): string {
  if (d.years || d.months) {
    return `relativedelta(${DURATION_KEYS.filter((k) => d[k]).map((k) => `${k}=+${d[k]}`).join(", ")})`;
  }
  const total = (d.weeks ?? 0) * 604800 + (d.days ?? 0) * 86400 + (d.hours ?? 0) * 3600 + (d.minutes ?? 0) * 60 + (d.seconds ?? 0);
  const days = Math.floor(total / 86400);
  const rest = total - days * 86400;
  const hms = `${Math.floor(rest / 3600)}:${String(Math.floor((rest % 3600) / 60)).padStart(2, "0")}:${String(rest % 60).padStart(2, "0")}`;
  return days ? `${days} day${days === 1 ? "" : "s"}, ${hms}` : hms;
}

/** What a DAG's `schedule` means, with the text `dags list` shows. */
export function resolveSchedule(schedule: Schedule | undefined, timezone: string): { spec: TimetableSpec; summary: string } {
  if (schedule === null || schedule === undefined) return { spec: { type: "null" }, summary: "None" };
  if (typeof schedule === "string") {
    if (schedule === "@once") return { spec: { type: "once" }, summary: "@once" };
    if (schedule === "@continuous") throw new ScheduleError(`schedule "@continuous" is not supported`);
    return { spec: { type: "cron_trigger", expression: validateCron(schedule, timezone), timezone }, summary: schedule };
  }
  if (hasBrand(schedule, TIMETABLE_BRAND)) {
    const t = schedule as TimetableObject;
    return { spec: t.spec, summary: t.summary };
  }
  if (Array.isArray(schedule)) {
    if (schedule.length === 0) throw new ScheduleError("schedule is an empty list of assets");
    const items = schedule.map((a) => {
      if (!isAsset(a) && !isAssetExpression(a)) throw new ScheduleError(`schedule list must hold Assets, got ${JSON.stringify(a)}`);
      return toCondition(a);
    });
    return { spec: { type: "asset", condition: items.length === 1 ? items[0] : { type: "all", items } }, summary: "Asset" };
  }
  if (isAsset(schedule) || isAssetExpression(schedule)) {
    return { spec: { type: "asset", condition: toCondition(schedule) }, summary: "Asset" };
  }
  if (isDuration(schedule)) {
    return { spec: { type: "delta_trigger", delta: checkedDelta(schedule) }, summary: describeDuration(schedule) };
  }
  throw new ScheduleError(
    `schedule must be a cron expression, a preset (@daily, @once, ...), null, a duration such as { hours: 6 }, a timetable or Assets; got ${JSON.stringify(schedule)}`,
  );
}

// dag(): builds a DAG from its options and a body that creates its tasks, and checks it at once
// (ids, schedule, dates, cycles), naming the DAG and field at fault.
import { DAG_BRAND, hasBrand } from "./brand.ts";
import { withDag, type DagUnderConstruction } from "./current.ts";
import { DagDefinitionError } from "./errors.ts";
import { isParam, Param, type ParamSpec, type ParamsInput } from "./param.ts";
import { durationSeconds, resolveSchedule, validateTimezone } from "./schedule.ts";
import { checkDefaultArgs, rootTaskGroup } from "./task-group.ts";
import { checkId } from "./tasks.ts";
import type { Dag, DagOptions, DefaultArgs, Task } from "./types.ts";

const DAG_OPTION_KEYS = new Set([
  "dag_id", "schedule", "start_date", "end_date", "catchup", "timezone", "params", "default_args", "max_active_runs",
  "max_active_tasks", "max_consecutive_failed_dag_runs", "dagrun_timeout", "tags", "description", "doc_md",
  "is_paused_upon_creation", "on_success_callback", "on_failure_callback",
]);

/** DAGs created since the collector was installed; the DAG loader installs one around an import
 *  (a global, so a DAG file bundling its own SDK copy still reports to the running orch). */
const COLLECTOR = Symbol.for("orch.dagCollector");
type Collector = Dag[];

export function collectDags<T>(fn: () => Promise<T>): Promise<{ result: T; dags: Dag[] }> {
  const g = globalThis as Record<symbol, unknown>;
  const previous = g[COLLECTOR];
  const mine: Collector = [];
  g[COLLECTOR] = mine;
  return fn().then(
    (result) => {
      g[COLLECTOR] = previous;
      return { result, dags: mine };
    },
    (e) => {
      g[COLLECTOR] = previous;
      throw e;
    },
  );
}

export function isDag(v: unknown): v is Dag {
  return hasBrand(v, DAG_BRAND);
}

/** "file:line:col" of the first stack frame outside the SDK: where the author called dag(). */
function callSite(): string | null {
  const stack = new Error().stack?.split("\n").slice(1) ?? [];
  for (const line of stack) {
    if (/[\\/]sdk[\\/]|[\\/]dist[\\/](sdk|chunks)|node:internal/.test(line)) continue;
    const m = /\(?((?:file:\/\/)?[^()\s]+:\d+:\d+)\)?\s*$/.exec(line);
    if (m) return m[1];
  }
  return null;
}

/** A DAG date: a Date, an ISO string with offset/Z, or a wall-clock "YYYY-MM-DD[THH:MM[:SS]]" in `tz`. */
export function parseDagDate(v: string | Date, tz: string, field: string, dag_id: string): Date {
  if (v instanceof Date) {
    if (Number.isNaN(v.getTime())) throw new DagDefinitionError(`DAG "${dag_id}": ${field} is an invalid Date`, { dag_id, field });
    return v;
  }
  const wall = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2}))?)?$/.exec(String(v));
  if (wall) {
    const [y, mo, d, h, mi, s] = wall.slice(1).map((x) => Number(x ?? 0));
    const date = zonedWallTimeToUtc(y, mo, d, h, mi, s, tz);
    if (Number.isNaN(date.getTime()) || date.getUTCDate() === 0) throw new DagDefinitionError(`DAG "${dag_id}": ${field} "${v}" is not a valid date`, { dag_id, field });
    return date;
  }
  const t = Date.parse(String(v));
  if (Number.isNaN(t)) {
    throw new DagDefinitionError(`DAG "${dag_id}": ${field} ${JSON.stringify(v)} is not a date; use "2024-01-01", an ISO-8601 string or a Date`, { dag_id, field });
  }
  return new Date(t);
}

/** The UTC instant at which the wall clock in `tz` reads the given time. */
function zonedWallTimeToUtc(y: number, mo: number, d: number, h: number, mi: number, s: number, tz: string): Date {
  const asUtc = Date.UTC(y, mo - 1, d, h, mi, s);
  if (tz === "UTC") return new Date(asUtc);
  const offsetAt = (t: number): number => {
    const parts = new Intl.DateTimeFormat("en-US", {
      timeZone: tz, hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit",
    }).formatToParts(new Date(t));
    const get = (type: string) => Number(parts.find((p) => p.type === type)?.value);
    return Date.UTC(get("year"), get("month") - 1, get("day"), get("hour"), get("minute"), get("second")) - t;
  };
  // Two passes settle DST edges: the offset at the first guess may differ from the offset at the result.
  let t = asUtc - offsetAt(asUtc);
  t = asUtc - offsetAt(t);
  return new Date(t);
}

/** The tasks of a cycle, in order, or null (iterative DFS: DAGs of thousands of tasks must not overflow the stack). */
export function findCycle(tasks: Map<string, Task>): string[] | null {
  const state = new Map<string, 1 | 2>();
  for (const root of tasks.keys()) {
    if (state.has(root)) continue;
    const path: string[] = [];
    const iters: Iterator<string>[] = [];
    state.set(root, 1);
    path.push(root);
    iters.push(tasks.get(root)!.downstream_task_ids.values());
    while (iters.length) {
      const next = iters[iters.length - 1].next();
      if (next.done) {
        state.set(path.pop()!, 2);
        iters.pop();
        continue;
      }
      const id = next.value;
      const s = state.get(id);
      if (s === 1) return [...path.slice(path.indexOf(id)), id];
      if (s === 2 || !tasks.has(id)) continue;
      state.set(id, 1);
      path.push(id);
      iters.push(tasks.get(id)!.downstream_task_ids.values());
    }
  }
  return null;
}

/** Airflow's DAG.validate_setup_teardown: a work task right after a setup must use all_success, so
 *  that clearing an indirect setup behaves the same whatever the path. */
function checkSetupTeardown(dag_id: string, tasks: Map<string, Task>): void {
  for (const t of tasks.values()) {
    if (t.on_failure_fail_dagrun && !t.is_teardown) {
      throw new DagDefinitionError(`task "${t.task_id}" in DAG "${dag_id}": on_failure_fail_dagrun is for teardown tasks only`, { dag_id, field: "on_failure_fail_dagrun" });
    }
    if (!t.is_setup) continue;
    for (const id of t.downstream_task_ids) {
      const down = tasks.get(id);
      if (down && !down.is_teardown && down.trigger_rule !== "all_success") {
        throw new DagDefinitionError(
          `DAG "${dag_id}": setup tasks must be followed with trigger rule all_success; "${down.task_id}" (downstream of setup "${t.task_id}") has "${down.trigger_rule}"`,
          { dag_id, field: "trigger_rule" },
        );
      }
    }
  }
}

function positiveInt(v: unknown, field: string, dag_id: string, fallback: number): number {
  if (v === undefined) return fallback;
  if (typeof v !== "number" || !Number.isInteger(v) || v < 0) throw new DagDefinitionError(`DAG "${dag_id}": ${field} must be a non-negative integer, got ${JSON.stringify(v)}`, { dag_id, field });
  return v;
}

function normalizeParams(params: ParamsInput | undefined): Record<string, ParamSpec> {
  const out: Record<string, ParamSpec> = {};
  for (const [k, v] of Object.entries(params ?? {})) out[k] = isParam(v) ? v : Param(v);
  return out;
}

/**
 * Defines a DAG. `body` runs at once and creates the tasks; the DAG is returned (default-export it,
 * or export several). Throws DagDefinitionError naming the DAG and field on invalid options,
 * duplicate task ids, unknown trigger rules and cycles.
 */
export function dag<P extends ParamsInput>(options: DagOptions<P>, body: () => void): Dag {
  if (typeof options !== "object" || options === null) throw new DagDefinitionError(`dag(): the first argument must be options such as { dag_id: "etl" }`);
  const dag_id = checkId(options.dag_id, "dag_id");
  const unknown = Object.keys(options).filter((k) => !DAG_OPTION_KEYS.has(k));
  if (unknown.length) {
    throw new DagDefinitionError(`DAG "${dag_id}": unknown option ${unknown.map((k) => `"${k}"`).join(", ")}; accepted: ${[...DAG_OPTION_KEYS].join(", ")}`, { dag_id, field: unknown[0] });
  }
  const default_args: DefaultArgs = checkDefaultArgs(options.default_args, `DAG "${dag_id}"`, dag_id);
  const scheduleField = <T>(field: string, fn: () => T): T => {
    try {
      return fn();
    } catch (e) {
      throw new DagDefinitionError(`DAG "${dag_id}": ${(e as Error).message}`, { dag_id, field });
    }
  };
  const timezone = scheduleField("timezone", () => validateTimezone(options.timezone ?? "UTC"));
  const schedule = scheduleField("schedule", () => resolveSchedule(options.schedule, timezone));
  const start_date = options.start_date === undefined ? null : parseDagDate(options.start_date, timezone, "start_date", dag_id);
  const end_date = options.end_date === undefined ? null : parseDagDate(options.end_date, timezone, "end_date", dag_id);
  if (start_date && end_date && end_date < start_date) throw new DagDefinitionError(`DAG "${dag_id}": end_date is before start_date`, { dag_id, field: "end_date" });
  if (typeof body !== "function") throw new DagDefinitionError(`DAG "${dag_id}": the second argument must be a function that creates the tasks`, { dag_id });

  const task_group = rootTaskGroup();
  const building: DagUnderConstruction = { dag_id, default_args, tasks: new Map(), group: task_group, groupIds: new Set() };
  const returned: unknown = withDag(building, body);
  if (returned && typeof (returned as { then?: unknown }).then === "function" && returned instanceof Promise) {
    throw new DagDefinitionError(`DAG "${dag_id}": the dag() body must be synchronous (it returned a Promise); create tasks directly in it`, { dag_id });
  }
  const cycle = findCycle(building.tasks);
  if (cycle) throw new DagDefinitionError(`DAG "${dag_id}" has a cycle: ${cycle.join(" -> ")}`, { dag_id, field: "tasks" });
  checkSetupTeardown(dag_id, building.tasks);

  let dagrun_timeout_seconds: number | null = null;
  if (options.dagrun_timeout !== undefined) {
    try {
      dagrun_timeout_seconds = durationSeconds(options.dagrun_timeout, "dagrun_timeout");
    } catch (e) {
      throw new DagDefinitionError(`DAG "${dag_id}": ${(e as Error).message}`, { dag_id, field: "dagrun_timeout" });
    }
  }
  const tags = [...(options.tags ?? [])];
  if (!tags.every((t) => typeof t === "string")) throw new DagDefinitionError(`DAG "${dag_id}": tags must be strings`, { dag_id, field: "tags" });

  const result: Dag = {
    [DAG_BRAND]: true,
    dag_id,
    timetable: schedule.spec,
    timetable_summary: schedule.summary,
    start_date,
    end_date,
    timezone,
    catchup: Boolean(options.catchup ?? false),
    params: normalizeParams(options.params),
    max_active_runs: positiveInt(options.max_active_runs, "max_active_runs", dag_id, 16),
    max_active_tasks: positiveInt(options.max_active_tasks, "max_active_tasks", dag_id, 16),
    max_consecutive_failed_dag_runs: positiveInt(options.max_consecutive_failed_dag_runs, "max_consecutive_failed_dag_runs", dag_id, 0),
    dagrun_timeout_seconds,
    tags,
    description: options.description ?? null,
    doc_md: options.doc_md ?? null,
    is_paused_upon_creation: options.is_paused_upon_creation ?? null,
    on_success_callback: options.on_success_callback ?? null,
    on_failure_callback: options.on_failure_callback ?? null,
    tasks: building.tasks,
    task_group,
    defined_at: callSite(),
  };
  const collector = (globalThis as Record<symbol, unknown>)[COLLECTOR] as Collector | undefined;
  collector?.push(result);
  return result;
}

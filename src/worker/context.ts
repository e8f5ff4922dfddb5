// The task's context, built in the worker from the run-task request: one object for TaskFlow
// code (the SDK's TaskContext, plus `log`) and, per set of templates, the data they render against.
// Neither holds a variable, connection or XCom it did not ask for: code reads on demand (each read
// a request to the scheduler, protocol.ts), templates get what their syntax names (references.ts).
import { inspect } from "node:util";
import { OrchError } from "../errors.ts";
import type { ConnectionInfo, TaskContext } from "../sdk/context.ts";
import type { TaskRuntime } from "../sdk/runtime.ts";
import { deferTask } from "../sdk/triggers.ts";
import {
  buildTemplateContext,
  emptyReferences,
  findTemplateReferences,
  pickXcoms,
  renderFields,
  type TemplateContext,
  type TemplateContextInput,
  type XComEntry,
} from "../templating/index.ts";
import type { OutletEventExtra, RunTaskRequest, TaskRead, XcomValue } from "./protocol.ts";
import type { ReadFn } from "./reads.ts";

type Level = "INFO" | "WARNING" | "ERROR";

const date = (iso: string | null) => (iso ? new Date(iso) : null);

export interface TaskContextParts {
  ctx: TaskContext;
  /** What Variable.get and Connection.get use while this try runs. */
  runtime: TaskRuntime;
  /** The context for rendering these templates: what they reference is fetched first. */
  templateContextFor(templates: readonly string[]): Promise<TemplateContext>;
  /** The extras the task set on its outlets (sent with a success). */
  outletEvents(): OutletEventExtra[];
  /** The XComs behind a task's arguments (XComArgs), fetched in one request. */
  pullXcoms(refs: readonly { taskId: string; key: string }[]): Promise<XcomValue[]>;
  /** Records the task's templated fields as rendered (shown in the API and on the try page). */
  recordRenderedFields(fields: Record<string, unknown>): Promise<void>;
}

export function buildTaskContext(
  request: RunTaskRequest,
  pushed: { key: string; value: unknown }[],
  log: (line: string, level?: Level) => void,
  read: ReadFn,
): TaskContextParts {
  const r = request.dagRun;
  const push = (key: string, value: unknown) => {
    const i = pushed.findIndex((p) => p.key === key);
    if (i >= 0) pushed.splice(i, 1);
    pushed.push({ key, value });
  };
  const input: TemplateContextInput = {
    dag_id: request.dagId,
    run_id: request.runId,
    run_type: r.run_type,
    logical_date: date(r.logical_date),
    data_interval_start: date(r.data_interval_start),
    data_interval_end: date(r.data_interval_end),
    run_after: date(r.run_after),
    start_date: date(r.start_date),
    conf: r.conf,
    params: request.params,
    task_id: request.taskId,
    try_number: request.tryNumber,
    map_index: request.mapIndex,
    xcoms: [],
    variables: {},
    connections: {},
    push,
  };
  // This try's own pushes replace what the store holds for it (cleared when the try started).
  const withPushes = (entries: readonly XComEntry[]): XComEntry[] => [
    ...entries.filter((e) => !(e.task_id === request.taskId && (e.map_index ?? -1) === request.mapIndex)),
    ...pushed.map((p) => ({ task_id: request.taskId, map_index: request.mapIndex, key: p.key, value: p.value })),
  ];

  const runtime: TaskRuntime = {
    async getVariable(key) {
      const [res] = await read([{ kind: "variable", key }]);
      return res?.kind === "variable" ? res.value : null;
    },
    async triggerDagRun(r) {
      const [res] = await read([{ kind: "trigger_dag_run", ...r }]);
      if (res?.kind !== "trigger_dag_run") throw new Error("the scheduler did not create the run");
      return { runId: res.runId, logicalDate: res.logicalDate };
    },
    async getDagRunState(dagId, runId) {
      const [res] = await read([{ kind: "dag_run_state", dagId, runId }]);
      return res?.kind === "dag_run_state" ? res.state : null;
    },
    async renderTemplates<T>(value: T): Promise<T> {
      const strings: string[] = [];
      const walk = (v: unknown): void => {
        if (typeof v === "string") strings.push(v);
        else if (Array.isArray(v)) v.forEach(walk);
        else if (v !== null && typeof v === "object" && Object.getPrototypeOf(v) === Object.prototype) Object.values(v).forEach(walk);
      };
      walk(value);
      if (strings.length === 0) return value;
      return renderFields(value, await parts.templateContextFor(strings));
    },
    async getExternalStates(dagId, taskIds, logicalDates) {
      const [res] = await read([{ kind: "external_states", dagId, taskIds, logicalDates }]);
      return res?.kind === "external_states" ? res.states : [];
    },
    async getConnection(connId) {
      const [res] = await read([{ kind: "connection", connId }]);
      return res?.kind === "connection" ? res.value : null;
    },
  };

  const base = buildTemplateContext(input);
  const fmt = (args: unknown[]) => args.map((a) => (typeof a === "string" ? a : inspect(a, { depth: 4 }))).join(" ");
  const ti = {
    task_id: request.taskId,
    dag_id: request.dagId,
    run_id: request.runId,
    try_number: request.tryNumber,
    map_index: request.mapIndex,
    xcom_push: (key: string, value: unknown) => push(String(key), value),
    async xcom_pull(taskIds: string | string[] | null = null, key = "return_value"): Promise<unknown> {
      const ids = taskIds === null ? [request.taskId] : typeof taskIds === "string" ? [taskIds] : [...taskIds];
      const [res] = await read([{ kind: "xcom", taskIds: [...new Set(ids)], key: String(key) }]);
      return pickXcoms(withPushes(res?.kind === "xcom" ? res.entries : []), request.taskId, taskIds, String(key));
    },
  };
  // Keyed by URI; an Asset used as a key turns into its URI (Asset.toString). A key that is no
  // outlet of the task is still accepted here and refused by the scheduler's record (ignored).
  const outlets = new Map<string, { extra: Record<string, unknown> }>();
  const outlet_events = new Proxy({} as Record<string, { extra: Record<string, unknown> }>, {
    get(_t, key) {
      if (typeof key !== "string") return undefined;
      let e = outlets.get(key);
      if (!e) outlets.set(key, (e = { extra: {} }));
      return e;
    },
    has: (_t, key) => typeof key === "string" && outlets.has(key),
    ownKeys: () => [...outlets.keys()],
    getOwnPropertyDescriptor: (_t, key) => (typeof key === "string" && outlets.has(key) ? { value: outlets.get(key), enumerable: true, configurable: true } : undefined),
  });
  const triggering_asset_events: Record<string, unknown[]> = {};
  for (const e of request.triggeringAssetEvents ?? []) {
    (triggering_asset_events[e.uri] ??= []).push({
      asset: { name: e.name, uri: e.uri },
      extra: e.extra,
      timestamp: new Date(e.timestamp),
      source_dag_id: e.source_dag_id,
      source_task_id: e.source_task_id,
      source_run_id: e.source_run_id,
      source_map_index: e.source_map_index,
    });
  }
  const ctx = {
    ...base,
    outlet_events,
    triggering_asset_events,
    defer: deferTask,
    ti,
    task_instance: ti,
    var: {
      get: async (key: string, defaultVar?: string) => (await runtime.getVariable(key)) ?? defaultVar,
      json: async (key: string, defaultVar?: unknown) => {
        const raw = await runtime.getVariable(key);
        if (raw === null) return defaultVar;
        try {
          return JSON.parse(raw) as unknown;
        } catch (e) {
          throw new OrchError("ORCH_TASK_FAILED", `Variable "${key}" is not JSON: ${(e as Error).message}`, { key });
        }
      },
    },
    conn: {
      get: async (connId: string) => {
        const c = await runtime.getConnection(connId);
        if (!c) throw new OrchError("ORCH_NOT_FOUND", `Connection "${connId}" does not exist`, { conn_id: connId });
        return { ...c, extra_dejson: extraDejson(c) };
      },
    },
    log: {
      debug: (...a: unknown[]) => log(fmt(a)),
      info: (...a: unknown[]) => log(fmt(a)),
      warning: (...a: unknown[]) => log(fmt(a), "WARNING"),
      error: (...a: unknown[]) => log(fmt(a), "ERROR"),
    },
  } as unknown as TaskContext;

  const parts: TaskContextParts = {
    ctx,
    runtime,
    outletEvents: () => [...outlets].map(([uri, e]) => ({ uri, extra: e.extra && typeof e.extra === "object" ? e.extra : {} })),
    async templateContextFor(templates) {
      const refs = emptyReferences();
      for (const t of templates) findTemplateReferences(t, refs);
      if (refs.dynamic.length) {
        throw new OrchError(
          "ORCH_TASK_FAILED",
          `Could not render templates ${JSON.stringify(templates)}: ${refs.dynamic[0]}. A task gets only the variables and connections ` +
            "its templates name literally: write var.value.KEY, var.value.get('KEY'), conn.ID or conn.get('ID')",
          { templates },
        );
      }
      const reads: TaskRead[] = [
        ...[...refs.variables].map((key): TaskRead => ({ kind: "variable", key })),
        ...[...refs.connections].map((connId): TaskRead => ({ kind: "connection", connId })),
        ...xcomReads(refs.xcoms, request.taskId),
      ];
      const results = await read(reads);
      const variables: Record<string, string> = {};
      const connections: Record<string, ConnectionInfo> = {};
      const entries = new Map<string, XComEntry>();
      for (const res of results) {
        if (res.kind !== "xcom") continue;
        for (const e of res.entries) entries.set(`${e.task_id}\u0000${e.map_index}\u0000${e.key}`, e);
      }
      results.forEach((res, i) => {
        const asked = reads[i]!;
        if (res.kind === "variable" && asked.kind === "variable" && res.value !== null) variables[asked.key] = res.value;
        if (res.kind === "connection" && asked.kind === "connection" && res.value !== null) connections[asked.connId] = res.value;
      });
      return buildTemplateContext({ ...input, variables, connections, xcoms: withPushes([...entries.values()]) });
    },
    async pullXcoms(refs) {
      const byKey = new Map<string, Set<string>>();
      for (const ref of refs) {
        if (!byKey.has(ref.key)) byKey.set(ref.key, new Set());
        byKey.get(ref.key)!.add(ref.taskId);
      }
      const results = await read([...byKey].map(([key, ids]): TaskRead => ({ kind: "xcom", taskIds: [...ids], key })));
      return results.flatMap((res) => (res.kind === "xcom" ? res.entries : []));
    },
    async recordRenderedFields(fields) {
      await read([{ kind: "rendered_fields", fields }]);
    },
  };
  return parts;
}

function extraDejson(c: ConnectionInfo): Record<string, unknown> {
  if (!c.extra) return {};
  try {
    return JSON.parse(c.extra) as Record<string, unknown>;
  } catch {
    return {};
  }
}

/** The XCom reads for a template's xcom_pull references: one for all of the run's XComs when any
 *  reference was computed, else one per key over the task ids named. */
function xcomReads(refs: ReturnType<typeof emptyReferences>["xcoms"], ownTaskId: string): TaskRead[] {
  if (refs.length === 0) return [];
  if (refs.some((r) => r.taskIds === undefined || r.key === undefined)) return [{ kind: "xcom" }];
  const byKey = new Map<string, Set<string>>();
  for (const r of refs) {
    const key = r.key!;
    if (!byKey.has(key)) byKey.set(key, new Set());
    for (const id of r.taskIds ?? [ownTaskId]) byKey.get(key)!.add(id);
  }
  return [...byKey].map(([key, ids]) => ({ kind: "xcom", taskIds: [...ids], key }));
}

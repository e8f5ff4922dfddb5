// /api/v2/dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances (~ for any DAG or run): list, get, tries,
// patch state; /api/v2/dags/{dag_id}/clearTaskInstances.
import { Hono, type Context } from "hono";
import { applyClear, clearTargets, markTaskInstances, selectTaskIds, SETTABLE_TI_STATES, type SettableTiState } from "../../operations/clear.ts";
import { listDagRuns } from "../../store/dag-runs.ts";
import { getTaskInstanceWithRun, listTaskInstancesPage, listTaskInstanceTries, type TaskInstanceOrderColumn } from "../../store/listings.ts";
import { setTaskInstanceNote } from "../../store/task-instance-notes.ts";
import { listTaskInstances } from "../../store/task-instances.ts";
import { DAG_ACCESS } from "../auth/roles.ts";
import { requireAccess, type ApiDeps, type ApiEnv } from "../context.ts";
import { badRequest, notFound, validationError } from "../http-error.ts";
import { dateRange, intParam, listParam, orderBy, paging, strParam } from "../query.ts";
import { taskInstanceHistoryResponse, taskInstanceResponse } from "../shapes.ts";
import { parseIsoField, readBody } from "../validate.ts";
import { orAny, requireDagRow, requireRun, requireSchedulable } from "./common.ts";
import type { Store } from "../../store/index.ts";

const ORDER: Record<string, TaskInstanceOrderColumn> = {
  id: "ti.id",
  task_id: "ti.task_id",
  state: "ti.state",
  start_date: "ti.start_date",
  end_date: "ti.end_date",
  duration: "ti.duration",
  try_number: "ti.try_number",
  map_index: "ti.map_index",
  priority_weight: "ti.priority_weight",
  run_id: "ti.run_id",
  dag_run_id: "ti.run_id",
  logical_date: "dr.logical_date",
  run_after: "dr.run_after",
};

const TI_STATES = ["removed", "scheduled", "queued", "running", "success", "restarting", "failed", "up_for_retry", "up_for_reschedule", "upstream_failed", "skipped", "deferred"];

const nullable = (schema: object) => ({ anyOf: [schema, { type: "null" }] });

export const PATCH_TI_BODY = {
  type: "object",
  properties: {
    new_state: nullable({ enum: TI_STATES }),
    note: nullable({ type: "string", maxLength: 1000 }),
    include_upstream: { type: "boolean" },
    include_downstream: { type: "boolean" },
    include_future: { type: "boolean" },
    include_past: { type: "boolean" },
  },
  additionalProperties: false,
} as const;

const PATCH_TI_MASK = ["new_state", "note", "include_upstream", "include_downstream", "include_future", "include_past"];

export const CLEAR_TI_BODY = {
  type: "object",
  properties: {
    dry_run: { type: "boolean" },
    start_date: nullable({ type: "string", format: "date-time" }),
    end_date: nullable({ type: "string", format: "date-time" }),
    only_failed: { type: "boolean" },
    only_running: { type: "boolean" },
    reset_dag_runs: { type: "boolean" },
    task_ids: nullable({
      type: "array",
      maxItems: 10000,
      items: { anyOf: [{ type: "string" }, { type: "array", prefixItems: [{ type: "string" }, { type: "integer" }], minItems: 2, maxItems: 2 }] },
    }),
    dag_run_id: nullable({ type: "string" }),
    include_upstream: { type: "boolean" },
    include_downstream: { type: "boolean" },
    include_future: { type: "boolean" },
    include_past: { type: "boolean" },
    run_on_latest_version: { type: "boolean" },
  },
  additionalProperties: false,
} as const;

interface ClearBody {
  dry_run?: boolean;
  start_date?: string | null;
  end_date?: string | null;
  only_failed?: boolean;
  only_running?: boolean;
  reset_dag_runs?: boolean;
  task_ids?: (string | [string, number])[] | null;
  dag_run_id?: string | null;
  include_upstream?: boolean;
  include_downstream?: boolean;
}

/** `state=none` (and Airflow's `no_status`) select task instances not yet considered. */
function stateFilter(c: Context): (string | null)[] {
  const out: (string | null)[] = [];
  for (const s of listParam(c, "state")) {
    if (s === "none" || s === "no_status" || s === "null") out.push(null);
    else if (TI_STATES.includes(s)) out.push(s);
    else throw validationError([{ loc: ["query", "state"], msg: `Input should be none or one of ${TI_STATES.join(", ")}; got '${s.slice(0, 80)}'`, type: "enum" }]);
  }
  return out;
}

async function requireTi(store: Store, c: Context) {
  const dagId = c.req.param("dag_id") ?? "";
  const runId = c.req.param("dag_run_id") ?? "";
  const taskId = c.req.param("task_id") ?? "";
  const mapIndex = intParam(c, "map_index", { default: -1, min: -1 }) ?? -1;
  const ti = await getTaskInstanceWithRun(store.db, dagId, runId, taskId, mapIndex);
  if (!ti) {
    await requireRun(store, dagId, runId);
    throw notFound(`The Task Instance with dag_id: \`${dagId}\`, run_id: \`${runId}\`, task_id: \`${taskId}\` and map_index: \`${mapIndex}\` was not found`);
  }
  return ti;
}

export function taskInstanceRoutes(deps: ApiDeps): Hono<ApiEnv> {
  const r = new Hono<ApiEnv>();
  const { store } = deps;
  r.use("/dags/*", requireAccess(DAG_ACCESS));
  const base = "/dags/:dag_id/dagRuns/:dag_run_id/taskInstances";

  r.get(base, async (c) => {
    const dagId = orAny(c.req.param("dag_id"));
    const runId = orAny(c.req.param("dag_run_id"));
    const page = paging(c);
    const order = orderBy(c, ORDER, "map_index");
    const durationGte = strParam(c, "duration_gte");
    const durationLte = strParam(c, "duration_lte");
    const num = (v: string | undefined, name: string) => {
      if (v === undefined) return undefined;
      const n = Number(v);
      if (!Number.isFinite(n)) throw validationError([{ loc: ["query", name], msg: "Input should be a valid number", type: "float_parsing" }]);
      return n;
    };
    const filter = {
      dagId,
      runId,
      taskIdPattern: strParam(c, "task_id_pattern"),
      taskId: strParam(c, "task_id"),
      states: stateFilter(c),
      pools: listParam(c, "pool"),
      queues: listParam(c, "queue"),
      logicalDate: dateRange(c, "logical_date"),
      startDate: dateRange(c, "start_date"),
      endDate: dateRange(c, "end_date"),
      durationGte: num(durationGte, "duration_gte"),
      durationLte: num(durationLte, "duration_lte"),
    };
    if (dagId && runId) await requireRun(store, dagId, runId);
    else if (dagId) await requireDagRow(store, dagId);
    const { rows, total } = await listTaskInstancesPage(store.db, filter, page, order);
    return c.json({ task_instances: rows.map(taskInstanceResponse), total_entries: total });
  });

  r.get(`${base}/:task_id`, async (c) => c.json(taskInstanceResponse(await requireTi(store, c))));

  r.get(`${base}/:task_id/tries`, async (c) => {
    const ti = await requireTi(store, c);
    const tries = await listTaskInstanceTries(store.db, ti.id);
    const items = tries.map((h) => taskInstanceHistoryResponse(h, ti));
    // The try under way has no history row yet: it is the task instance itself.
    if (ti.try_number > 0 && !tries.some((h) => h.try_number === ti.try_number)) items.push(taskInstanceHistoryResponse(ti, ti));
    return c.json({ task_instances: items, total_entries: items.length });
  });

  r.get(`${base}/:task_id/tries/:try_number`, async (c) => {
    const ti = await requireTi(store, c);
    const raw = c.req.param("try_number");
    if (!/^\d{1,9}$/.test(raw)) throw validationError([{ loc: ["path", "try_number"], msg: "Input should be a valid integer, unable to parse string as an integer", type: "int_parsing" }]);
    const n = Number(raw);
    const h = (await listTaskInstanceTries(store.db, ti.id)).find((t) => t.try_number === n) ?? (ti.try_number === n && n > 0 ? ti : undefined);
    if (!h) throw notFound(`The Task Instance with dag_id: \`${ti.dag_id}\`, run_id: \`${ti.run_id}\`, task_id: \`${ti.task_id}\`, try_number: \`${n}\` and map_index: \`${ti.map_index}\` was not found`);
    return c.json(taskInstanceHistoryResponse(h, ti));
  });

  // Airflow's patch_task_instance: `update_mask` names the fields to apply (then a null note clears
  // it); without one, the fields the body gives. The note is applied before the state.
  r.patch(`${base}/:task_id`, async (c) => {
    const mask = listParam(c, "update_mask");
    for (const m of mask) if (!PATCH_TI_MASK.includes(m)) throw badRequest(`Invalid field \`${m.slice(0, 80)}\` in update mask; ${PATCH_TI_MASK.join(", ")} can be updated`);
    const body = await readBody<{ new_state?: string | null; note?: string | null; include_upstream?: boolean; include_downstream?: boolean }>(c, PATCH_TI_BODY);
    const ti = await requireTi(store, c);
    const want = (k: "new_state" | "note") => (mask.length ? mask.includes(k) : body[k] !== undefined);
    if (want("new_state") && body.new_state != null && !(SETTABLE_TI_STATES as readonly string[]).includes(body.new_state)) {
      throw validationError([{ loc: ["body", "new_state"], msg: `'new_state' should be one of ${SETTABLE_TI_STATES.join(", ")}`, type: "value_error" }]);
    }
    if (want("note") && (mask.length > 0 || body.note != null)) await setTaskInstanceNote(store.db, ti, body.note ?? null, c.get("user").username);
    if (!want("new_state") || body.new_state == null) {
      const now = await requireTi(store, c);
      return c.json({ task_instances: [taskInstanceResponse(now)], total_entries: 1 });
    }
    const d = await requireSchedulable(store, ti.dag_id);
    const ids = selectTaskIds(d, { taskIds: new Set([ti.task_id]), includeDownstream: body.include_downstream, includeUpstream: body.include_upstream });
    const runTis = (await listTaskInstances(store.db, ti.dag_id, ti.run_id)).filter((t) => ids.has(t.task_id));
    await markTaskInstances(store, runTis, body.new_state as SettableTiState);
    await deps.changed();
    const { rows, total } = await listTaskInstancesPage(store.db, { dagId: ti.dag_id, runId: ti.run_id }, { limit: 10_000, offset: 0 }, []);
    const changed = rows.filter((t) => ids.has(t.task_id));
    return c.json({ task_instances: changed.map(taskInstanceResponse), total_entries: Math.min(total, changed.length) });
  });

  r.post("/dags/:dag_id/clearTaskInstances", async (c) => {
    const body = await readBody<ClearBody>(c, CLEAR_TI_BODY);
    const d = await requireSchedulable(store, c.req.param("dag_id"));
    const runs = body.dag_run_id
      ? [await requireRun(store, d.dag.dag_id, body.dag_run_id)]
      : await listDagRuns(store.db, {
          dagId: d.dag.dag_id,
          startDate: body.start_date ? parseIsoField(body.start_date, ["body", "start_date"]) : undefined,
          endDate: body.end_date ? parseIsoField(body.end_date, ["body", "end_date"]) : undefined,
          limit: 100_000,
        });
    const named = body.task_ids?.map((t) => (Array.isArray(t) ? t[0] : t));
    for (const id of named ?? []) if (!d.tasks.has(id)) throw validationError([{ loc: ["body", "task_ids"], msg: `Task '${id.slice(0, 100)}' not found in DAG ${d.dag.dag_id}`, type: "value_error" }]);
    const ids = selectTaskIds(d, { taskIds: named ? new Set(named) : undefined, includeDownstream: body.include_downstream, includeUpstream: body.include_upstream });
    const runsTis = [];
    for (const run of runs) runsTis.push({ run, tis: await listTaskInstances(store.db, run.dag_id, run.run_id) });
    const targets = clearTargets(runsTis, ids, body.only_failed ?? true);
    const items = targets.map((t) => taskInstanceResponse({ ...t.ti, logical_date: t.run.logical_date, run_after: t.run.run_after }));
    if (!(body.dry_run ?? true)) {
      await applyClear(store, d, targets, { resetDagRuns: body.reset_dag_runs ?? true });
      await deps.changed();
    }
    return c.json({ task_instances: items, total_entries: items.length });
  });
  return r;
}

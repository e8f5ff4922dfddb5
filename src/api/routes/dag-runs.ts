// /api/v2/dags/{dag_id}/dagRuns: list (also across DAGs with ~), get, trigger, patch state/note,
// clear, delete.
import { Hono } from "hono";
import { markDagRun } from "../../operations/dag-run-state.ts";
import { applyClear, clearTargets, selectTaskIds } from "../../operations/clear.ts";
import { triggerDagRun } from "../../scheduler/run-creation.ts";
import { DAG_RUN_STATES, getDagRun } from "../../store/dag-runs.ts";
import { listDagRunsPage, type DagRunOrderColumn } from "../../store/listings.ts";
import { deleteDagRun } from "../../store/deletions.ts";
import { setDagRunNote } from "../../store/run-edits.ts";
import { listTaskInstances } from "../../store/task-instances.ts";
import { DAG_ACCESS } from "../auth/roles.ts";
import { jsonBytes } from "../read-cache.ts";
import { requireAccess, type ApiEnv, type RouteDeps } from "../context.ts";
import { badRequest, conflict, validationError } from "../http-error.ts";
import { dateRange, enumListParam, listParam, orderBy, paging, strParam } from "../query.ts";
import { dagRunResponse, taskInstanceResponse } from "../shapes.ts";
import { parseIsoField, readBody } from "../validate.ts";
import { orAny, requireDagRow, requireRun, requireSchedulable } from "./common.ts";

const ORDER: Record<string, DagRunOrderColumn> = {
  id: "id",
  dag_id: "dag_id",
  run_id: "run_id",
  dag_run_id: "run_id",
  state: "state",
  logical_date: "logical_date",
  run_after: "run_after",
  start_date: "start_date",
  end_date: "end_date",
  queued_at: "queued_at",
  data_interval_start: "data_interval_start",
  data_interval_end: "data_interval_end",
};

const nullable = (schema: object) => ({ anyOf: [schema, { type: "null" }] });
const DATE = { type: "string", format: "date-time" };

export const TRIGGER_BODY = {
  type: "object",
  properties: {
    dag_run_id: nullable({ type: "string", minLength: 1, maxLength: 250 }),
    data_interval_start: nullable(DATE),
    data_interval_end: nullable(DATE),
    logical_date: nullable(DATE),
    run_after: nullable(DATE),
    conf: nullable({ type: "object" }),
    note: nullable({ type: "string", maxLength: 1000 }),
  },
  required: ["logical_date"],
  additionalProperties: false,
} as const;

export const DAG_RUN_PATCH_BODY = {
  type: "object",
  properties: { state: nullable({ enum: ["queued", "success", "failed"] }), note: nullable({ type: "string", maxLength: 1000 }) },
  additionalProperties: false,
} as const;

export const DAG_RUN_CLEAR_BODY = {
  type: "object",
  properties: { dry_run: { type: "boolean" }, only_failed: { type: "boolean" }, run_on_latest_version: { type: "boolean" } },
  additionalProperties: false,
} as const;

interface TriggerBody {
  dag_run_id?: string | null;
  data_interval_start?: string | null;
  data_interval_end?: string | null;
  logical_date: string | null;
  run_after?: string | null;
  conf?: Record<string, unknown> | null;
  note?: string | null;
}

/** Airflow's check_data_intervals: both or neither (422, as its body validator); orch also refuses
 *  an interval that ends before it starts (400), which Airflow would store as given. */
function requestedDataInterval(body: TriggerBody): { start: Date; end: Date } | undefined {
  const { data_interval_start: startRaw, data_interval_end: endRaw } = body;
  if ((startRaw == null) !== (endRaw == null)) {
    const missing = startRaw == null ? "data_interval_start" : "data_interval_end";
    throw validationError([
      { loc: ["body", missing], msg: "Value error, Either both data_interval_start and data_interval_end must be provided or both must be None", type: "value_error" },
    ]);
  }
  if (startRaw == null || endRaw == null) return undefined;
  const start = new Date(parseIsoField(startRaw, ["body", "data_interval_start"]));
  const end = new Date(parseIsoField(endRaw, ["body", "data_interval_end"]));
  if (start.getTime() > end.getTime()) throw badRequest(`data_interval_start (${start.toISOString()}) must not be after data_interval_end (${end.toISOString()})`);
  return { start, end };
}

export function dagRunRoutes(deps: RouteDeps): Hono<ApiEnv> {
  const r = new Hono<ApiEnv>();
  const { store } = deps;
  r.use("/dags/:dag_id/dagRuns", requireAccess(DAG_ACCESS));
  r.use("/dags/:dag_id/dagRuns/*", requireAccess(DAG_ACCESS));

  r.get("/dags/:dag_id/dagRuns", async (c) => {
    const dagId = orAny(c.req.param("dag_id"));
    const page = paging(c);
    const order = orderBy(c, ORDER, "id");
    const filter = {
      dagId,
      states: enumListParam(c, "state", DAG_RUN_STATES),
      runTypes: enumListParam(c, "run_type", ["scheduled", "manual", "backfill", "asset_triggered"] as const),
      runIdPattern: strParam(c, "run_id_pattern"),
      logicalDate: dateRange(c, "logical_date"),
      runAfter: dateRange(c, "run_after"),
      startDate: dateRange(c, "start_date"),
      endDate: dateRange(c, "end_date"),
    };
    // Kept until the database changes, as the DAG list (read-cache.ts); an unknown DAG's 404 is not kept.
    const body = await deps.reads.get(`GET /dagRuns ${JSON.stringify([filter, page, order])}`, async () => {
      if (dagId) await requireDagRow(store, dagId);
      const { rows, total } = await listDagRunsPage(store.db, filter, page, order);
      return jsonBytes({ dag_runs: rows.map(dagRunResponse), total_entries: total });
    });
    return c.body(body, 200, { "Content-Type": "application/json" });
  });

  r.get("/dags/:dag_id/dagRuns/:dag_run_id", async (c) => c.json(dagRunResponse(await requireRun(store, c.req.param("dag_id"), c.req.param("dag_run_id")))));

  r.post("/dags/:dag_id/dagRuns", async (c) => {
    const dagId = c.req.param("dag_id");
    const body = await readBody<TriggerBody>(c, TRIGGER_BODY);
    const d = await requireSchedulable(store, dagId);
    const dataInterval = requestedDataInterval(body);
    const logical = body.logical_date === null ? null : new Date(parseIsoField(body.logical_date, ["body", "logical_date"]));
    const runAfter = body.run_after ? new Date(parseIsoField(body.run_after, ["body", "run_after"])) : undefined;
    const run = await triggerDagRun(store, d, {
      conf: body.conf ?? {},
      logicalDate: logical,
      runId: body.dag_run_id ?? undefined,
      triggeredBy: "rest_api",
      now: runAfter,
      dataInterval,
    });
    if (body.note) await setDagRunNote(store.db, run.id, body.note);
    await deps.changed();
    return c.json(dagRunResponse({ ...run, note: body.note ?? null }), 200);
  });

  r.patch("/dags/:dag_id/dagRuns/:dag_run_id", async (c) => {
    const mask = listParam(c, "update_mask");
    for (const m of mask) if (m !== "state" && m !== "note") throw badRequest(`Invalid field \`${m}\` in update mask; state and note can be updated`);
    const body = await readBody<{ state?: "queued" | "success" | "failed" | null; note?: string | null }>(c, DAG_RUN_PATCH_BODY);
    const run = await requireRun(store, c.req.param("dag_id"), c.req.param("dag_run_id"));
    const want = (k: "state" | "note") => (mask.length ? mask.includes(k) : k in body);
    if (want("state") && body.state) await markDagRun(store, run, body.state);
    if (want("note")) await setDagRunNote(store.db, run.id, body.note ?? null);
    await deps.changed();
    return c.json(dagRunResponse((await getDagRun(store.db, run.dag_id, run.run_id)) ?? run));
  });

  r.post("/dags/:dag_id/dagRuns/:dag_run_id/clear", async (c) => {
    const body = await readBody<{ dry_run?: boolean; only_failed?: boolean }>(c, DAG_RUN_CLEAR_BODY);
    const run = await requireRun(store, c.req.param("dag_id"), c.req.param("dag_run_id"));
    const d = await requireSchedulable(store, run.dag_id);
    const tis = await listTaskInstances(store.db, run.dag_id, run.run_id);
    const targets = clearTargets([{ run, tis }], selectTaskIds(d, {}), body.only_failed ?? false);
    if (body.dry_run ?? true) {
      const items = targets.map((t) => taskInstanceResponse({ ...t.ti, logical_date: run.logical_date, run_after: run.run_after }));
      return c.json({ task_instances: items, total_entries: items.length });
    }
    await applyClear(store, d, targets);
    await deps.changed();
    return c.json(dagRunResponse((await getDagRun(store.db, run.dag_id, run.run_id)) ?? run));
  });

  r.delete("/dags/:dag_id/dagRuns/:dag_run_id", async (c) => {
    const run = await requireRun(store, c.req.param("dag_id"), c.req.param("dag_run_id"));
    const tis = await listTaskInstances(store.db, run.dag_id, run.run_id);
    if (tis.some((t) => t.state === "running" || t.state === "queued")) {
      throw conflict(`DagRun ${run.run_id} of ${run.dag_id} has running task instances; mark it failed first`);
    }
    await store.writeTransaction((trx) => deleteDagRun(trx, run.id));
    return c.body(null, 204);
  });
  return r;
}

// /api/v2/dags: list (filters, paging, order), get, details, patch is_paused (one DAG, or all that
// match dag_id_pattern), delete.
import { Hono } from "hono";
import { DAG_ACCESS } from "../auth/roles.ts";
import { jsonBytes } from "../read-cache.ts";
import { requireAccess, type ApiEnv, type RouteDeps } from "../context.ts";
import { badRequest, conflict } from "../http-error.ts";
import { boolParam, listParam, orderBy, paging, strParam } from "../query.ts";
import { dagDetailsResponse, dagResponse } from "../shapes.ts";
import { readBody } from "../validate.ts";
import { getSerializedDag } from "../../store/dags.ts";
import { listDagsPage, setDagsPausedMatching, type DagOrderColumn } from "../../store/listings.ts";
import { deleteDagRecords } from "../../store/deletions.ts";
import { countRunningTaskInstances, setDagPaused } from "../../store/run-edits.ts";
import { requireDagRow } from "./common.ts";

const ORDER: Record<string, DagOrderColumn> = {
  dag_id: "dag_id",
  dag_display_name: "dag_id",
  is_paused: "is_paused",
  next_dagrun: "next_dagrun",
  next_dagrun_logical_date: "next_dagrun",
  last_parsed_time: "last_parsed_time",
  fileloc: "fileloc",
};

export const DAG_PATCH_BODY = {
  type: "object",
  properties: { is_paused: { type: "boolean" } },
  required: ["is_paused"],
  additionalProperties: false,
} as const;

export function dagRoutes(deps: RouteDeps): Hono<ApiEnv> {
  const r = new Hono<ApiEnv>();
  const { store } = deps;
  const defaults = { maxActiveTasks: deps.config.getNumber("core", "max_active_tasks_per_dag") };
  r.use("/dags", requireAccess(DAG_ACCESS));
  r.use("/dags/*", requireAccess(DAG_ACCESS));

  r.get("/dags", async (c) => {
    const page = paging(c);
    const order = orderBy(c, ORDER, "dag_id");
    const filter = {
      dagIdPattern: strParam(c, "dag_id_pattern") ?? strParam(c, "dag_display_name_pattern"),
      tags: listParam(c, "tags"),
      owners: listParam(c, "owners"),
      paused: boolParam(c, "paused"),
      excludeStale: boolParam(c, "exclude_stale", true),
      dagIds: listParam(c, "dag_ids"),
    };
    // The body, kept until the database changes (read-cache.ts): a client polling the list costs
    // one one-row statement while nothing happens.
    const body = await deps.reads.get(`GET /dags ${JSON.stringify([filter, page, order])}`, async () => {
      const { rows, total } = await listDagsPage(store.db, filter, page, order);
      return jsonBytes({ dags: rows.map((d) => dagResponse(d, defaults)), total_entries: total });
    });
    return c.body(body, 200, { "Content-Type": "application/json" });
  });

  // Airflow's patch_dags: the filters of the listing select the DAGs; without dag_id_pattern none
  // is selected (`~` or `%` selects all). Every selected DAG is updated; the answer is one page of
  // them, as updated.
  r.patch("/dags", async (c) => {
    const mask = listParam(c, "update_mask");
    if (mask.length && (mask.length !== 1 || mask[0] !== "is_paused")) throw badRequest("Only `is_paused` field can be updated through the REST API");
    const body = await readBody<{ is_paused: boolean }>(c, DAG_PATCH_BODY);
    const page = paging(c);
    const pattern = strParam(c, "dag_id_pattern");
    if (pattern === undefined) return c.json({ dags: [], total_entries: 0 });
    const filter = {
      dagIdPattern: pattern === "~" ? undefined : pattern,
      tags: listParam(c, "tags"),
      owners: listParam(c, "owners"),
      paused: boolParam(c, "paused"),
      excludeStale: boolParam(c, "exclude_stale", true),
    };
    const { rows, total } = await listDagsPage(store.db, filter, page, []);
    // One statement for every match (its subquery sees the rows before the update, so a `paused`
    // filter still selects them); the page is read again by id to answer with the new values.
    if (total > 0) {
      await setDagsPausedMatching(store.db, filter, body.is_paused);
      await deps.changed();
    }
    const after = rows.length ? await listDagsPage(store.db, { dagIds: rows.map((d) => d.dag_id), excludeStale: false }, { limit: rows.length, offset: 0 }, []) : { rows: [] };
    return c.json({ dags: after.rows.map((d) => dagResponse(d, defaults)), total_entries: total });
  });

  r.get("/dags/:dag_id", async (c) => c.json(dagResponse(await requireDagRow(store, c.req.param("dag_id")), defaults)));

  r.get("/dags/:dag_id/details", async (c) => {
    const d = await requireDagRow(store, c.req.param("dag_id"));
    return c.json(dagDetailsResponse(d, await getSerializedDag(store.db, d.dag_id), defaults));
  });

  r.patch("/dags/:dag_id", async (c) => {
    const dagId = c.req.param("dag_id");
    const mask = listParam(c, "update_mask");
    for (const m of mask) if (m !== "is_paused") throw badRequest(`Invalid field \`${m}\` in update mask; only is_paused can be updated`);
    const body = await readBody<{ is_paused: boolean }>(c, DAG_PATCH_BODY);
    await requireDagRow(store, dagId);
    await setDagPaused(store.db, dagId, body.is_paused);
    await deps.changed();
    return c.json(dagResponse(await requireDagRow(store, dagId), defaults));
  });

  r.delete("/dags/:dag_id", async (c) => {
    const dagId = c.req.param("dag_id");
    await requireDagRow(store, dagId);
    if ((await countRunningTaskInstances(store.db, dagId)) > 0) throw conflict(`Task instances of dag with id: '${dagId}' are still running`);
    await store.writeTransaction((trx) => deleteDagRecords(trx, dagId));
    return c.body(null, 204);
  });
  return r;
}

// /api/v2/dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances/{task_id}/xcomEntries (~ for any):
// list (without values, as Airflow), and one entry with its value (stringify=true, the default,
// gives the JSON text; stringify=false the value itself). A value is shown with every secret the
// secrets path can hand out masked (a task that returns a password it read shows "***"); the store
// keeps it as returned, so downstream tasks still receive it.
import { Hono } from "hono";
import { maskerForAllSecrets, redactValue } from "../../secrets/masking.ts";
import { listXcomsPage } from "../../store/listings.ts";
import { DAG_ACCESS } from "../auth/roles.ts";
import { requireAccess, type ApiDeps, type ApiEnv } from "../context.ts";
import { notFound } from "../http-error.ts";
import { boolParam, intParam, paging, strParam } from "../query.ts";
import { orAny } from "./common.ts";

type XcomRow = { key: string; timestamp: string; map_index: number; task_id: string; dag_id: string; run_id: string; value: string; logical_date: string | null };

function xcomResponse(x: XcomRow) {
  return {
    key: x.key,
    timestamp: x.timestamp,
    logical_date: x.logical_date,
    map_index: x.map_index,
    task_id: x.task_id,
    dag_id: x.dag_id,
    run_id: x.run_id,
    dag_display_name: x.dag_id,
    task_display_name: x.task_id,
  };
}

export function xcomRoutes(deps: ApiDeps): Hono<ApiEnv> {
  const r = new Hono<ApiEnv>();
  const { store } = deps;
  r.use("/dags/*", requireAccess(DAG_ACCESS));
  const base = "/dags/:dag_id/dagRuns/:dag_run_id/taskInstances/:task_id/xcomEntries";

  r.get(base, async (c) => {
    const page = paging(c);
    const { rows, total } = await listXcomsPage(
      store.db,
      {
        dagId: orAny(c.req.param("dag_id")),
        runId: orAny(c.req.param("dag_run_id")),
        taskId: orAny(c.req.param("task_id")),
        key: strParam(c, "xcom_key"),
        mapIndex: intParam(c, "map_index", { min: -1 }),
      },
      page,
    );
    return c.json({ xcom_entries: rows.map(xcomResponse), total_entries: total });
  });

  r.get(`${base}/:xcom_key`, async (c) => {
    const dagId = c.req.param("dag_id");
    const runId = c.req.param("dag_run_id");
    const taskId = c.req.param("task_id");
    const key = c.req.param("xcom_key");
    const mapIndex = intParam(c, "map_index", { default: -1, min: -1 }) ?? -1;
    const stringify = boolParam(c, "stringify", true);
    boolParam(c, "deserialize", false);
    const { rows } = await listXcomsPage(store.db, { dagId, runId, taskId, key, mapIndex }, { limit: 1, offset: 0 });
    const x = rows[0];
    if (!x) throw notFound(`XCom entry with key: \`${key}\` not found`);
    const value = redactValue(JSON.parse(x.value) as unknown, await maskerForAllSecrets(store));
    return c.json({ ...xcomResponse(x), value: stringify ? (typeof value === "string" ? value : JSON.stringify(value)) : value });
  });
  return r;
}

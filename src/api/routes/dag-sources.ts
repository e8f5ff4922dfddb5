// /api/v2/dagSources/{dag_id}: the source of the file that defines a DAG, JSON or (Accept:
// text/plain) the text alone. The path comes from the store (the DAG processor's fileloc), never
// from the request.
import { readFile } from "node:fs/promises";
import { Hono } from "hono";
import { DAG_ACCESS } from "../auth/roles.ts";
import { requireAccess, type ApiDeps, type ApiEnv } from "../context.ts";
import { notFound } from "../http-error.ts";
import { requireDagRow } from "./common.ts";

export function dagSourceRoutes(deps: ApiDeps): Hono<ApiEnv> {
  const r = new Hono<ApiEnv>();
  r.use("/dagSources/*", requireAccess(DAG_ACCESS));
  r.get("/dagSources/:dag_id", async (c) => {
    const d = await requireDagRow(deps.store, c.req.param("dag_id"));
    let content: string;
    try {
      content = await readFile(d.fileloc, "utf8");
    } catch {
      throw notFound(`The source of DAG ${d.dag_id} (${d.fileloc}) can no longer be read`);
    }
    if ((c.req.header("accept") ?? "").toLowerCase().startsWith("text/plain")) return c.text(content);
    return c.json({ content, dag_id: d.dag_id, version_number: null, dag_display_name: d.dag_id });
  });
  return r;
}

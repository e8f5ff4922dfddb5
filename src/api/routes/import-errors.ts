// /api/v2/importErrors: the DAG files that failed to load, list and get.
import { Hono } from "hono";
import { getImportError, listImportErrorsPage } from "../../store/listings.ts";
import { DAG_ACCESS } from "../auth/roles.ts";
import { requireAccess, type ApiDeps, type ApiEnv } from "../context.ts";
import { notFound, validationError } from "../http-error.ts";
import { orderBy, paging, strParam } from "../query.ts";
import { importErrorResponse } from "../shapes.ts";

export function importErrorRoutes(deps: ApiDeps): Hono<ApiEnv> {
  const r = new Hono<ApiEnv>();
  r.use("/importErrors", requireAccess(DAG_ACCESS));
  r.use("/importErrors/*", requireAccess(DAG_ACCESS));
  r.get("/importErrors", async (c) => {
    const page = paging(c);
    const order = orderBy(c, { id: "id", import_error_id: "id", timestamp: "timestamp", filename: "filename" } as const, "id");
    const { rows, total } = await listImportErrorsPage(deps.store.db, { filenamePattern: strParam(c, "filename_pattern") }, page, order);
    return c.json({ import_errors: rows.map(importErrorResponse), total_entries: total });
  });
  r.get("/importErrors/:import_error_id", async (c) => {
    const raw = c.req.param("import_error_id");
    if (!/^\d{1,15}$/.test(raw)) throw validationError([{ loc: ["path", "import_error_id"], msg: "Input should be a valid integer, unable to parse string as an integer", type: "int_parsing" }]);
    const e = await getImportError(deps.store.db, Number(raw));
    if (!e) throw notFound(`The ImportError with import_error_id: \`${raw}\` was not found`);
    return c.json(importErrorResponse(e));
  });
  return r;
}

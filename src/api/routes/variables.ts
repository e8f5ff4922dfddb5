// /api/v2/variables: list, get, create, patch, delete. Values of variables whose key looks
// sensitive (password, secret, token, … as the secrets masker decides) are answered as "***".
import { Hono } from "hono";
import { MASK, shouldMaskKey } from "../../logging/secrets-masker.ts";
import { deleteVariable, getVariableRow, insertVariable, listVariablesPage, updateVariable, type VariableRow } from "../../store/variables.ts";
import { OPS_ACCESS } from "../auth/roles.ts";
import { requireAccess, type ApiDeps, type ApiEnv } from "../context.ts";
import { badRequest, conflict, notFound } from "../http-error.ts";
import { listParam, orderBy, paging, strParam } from "../query.ts";
import { readBody } from "../validate.ts";

export const VARIABLE_BODY = {
  type: "object",
  properties: { key: { type: "string", minLength: 1, maxLength: 250 }, value: {}, description: { anyOf: [{ type: "string" }, { type: "null" }] } },
  required: ["key", "value"],
  additionalProperties: false,
} as const;

interface VariableBody {
  key: string;
  value: unknown;
  description?: string | null;
}

function variableResponse(v: VariableRow) {
  return { key: v.key, value: shouldMaskKey(v.key) ? MASK : (v.val ?? ""), description: v.description, is_encrypted: v.is_encrypted === 1 };
}

/** Airflow keeps a non-string value as its JSON text. */
function textOf(value: unknown): string {
  return typeof value === "string" ? value : JSON.stringify(value);
}

export function variableRoutes(deps: ApiDeps): Hono<ApiEnv> {
  const r = new Hono<ApiEnv>();
  const { store } = deps;
  r.use("/variables", requireAccess(OPS_ACCESS));
  r.use("/variables/*", requireAccess(OPS_ACCESS));

  r.get("/variables", async (c) => {
    const page = paging(c);
    const order = orderBy(c, { key: "key", id: "id" } as const, "id");
    const { rows, total } = await listVariablesPage(store.db, { keyPattern: strParam(c, "variable_key_pattern") }, page, order);
    return c.json({ variables: rows.map(variableResponse), total_entries: total });
  });

  r.get("/variables/:variable_key", async (c) => {
    const key = c.req.param("variable_key");
    const v = await getVariableRow(store.db, key);
    if (!v) throw notFound(`The Variable with key: \`${key}\` was not found`);
    return c.json(variableResponse(v));
  });

  r.post("/variables", async (c) => {
    const body = await readBody<VariableBody>(c, VARIABLE_BODY);
    if (!(await insertVariable(store.db, { key: body.key, val: textOf(body.value), description: body.description ?? null }))) {
      throw conflict(`The Variable with key: \`${body.key}\` already exists`);
    }
    return c.json(variableResponse((await getVariableRow(store.db, body.key)) as VariableRow), 201);
  });

  r.patch("/variables/:variable_key", async (c) => {
    const key = c.req.param("variable_key");
    const body = await readBody<VariableBody>(c, VARIABLE_BODY);
    if (body.key !== key) throw badRequest("Invalid body, key from request body doesn't match uri parameter");
    const mask = listParam(c, "update_mask");
    for (const m of mask) if (m !== "value" && m !== "description") throw badRequest(`Invalid field \`${m}\` in update mask; value and description can be updated`);
    const set: { val?: string; description?: string | null } = {};
    if (!mask.length || mask.includes("value")) set.val = textOf(body.value);
    if (!mask.length || mask.includes("description")) set.description = body.description ?? null;
    if (!(await updateVariable(store.db, key, set))) throw notFound(`The Variable with key: \`${key}\` was not found`);
    return c.json(variableResponse((await getVariableRow(store.db, key)) as VariableRow));
  });

  r.delete("/variables/:variable_key", async (c) => {
    const key = c.req.param("variable_key");
    if (!(await deleteVariable(store.db, key))) throw notFound(`The Variable with key: \`${key}\` was not found`);
    return c.body(null, 204);
  });
  return r;
}

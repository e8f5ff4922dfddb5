// /api/v2/connections: list, get, create, patch, delete. A password is never answered ("***"), nor
// are extra fields whose names look sensitive.
import { Hono } from "hono";
import { MASK, shouldMaskKey } from "../../logging/secrets-masker.ts";
import { deleteConnection, getConnectionRecord, insertConnection, listConnectionsPage, updateConnection, type ConnectionFields, type ConnectionRecord } from "../../store/connections.ts";
import { OPS_ACCESS } from "../auth/roles.ts";
import { requireAccess, type ApiDeps, type ApiEnv } from "../context.ts";
import { badRequest, conflict, notFound } from "../http-error.ts";
import { listParam, orderBy, paging, strParam } from "../query.ts";
import { readBody } from "../validate.ts";

const str = { anyOf: [{ type: "string" }, { type: "null" }] };
export const CONNECTION_BODY = {
  type: "object",
  properties: {
    connection_id: { type: "string", maxLength: 200, pattern: "^[\\w.-]+$" },
    conn_type: { type: "string", minLength: 1 },
    description: str,
    host: str,
    login: str,
    schema: str,
    port: { anyOf: [{ type: "integer", minimum: 0, maximum: 65535 }, { type: "null" }] },
    password: str,
    extra: str,
  },
  required: ["connection_id", "conn_type"],
  additionalProperties: false,
} as const;

type ConnectionBody = { connection_id: string } & Partial<ConnectionFields> & { conn_type: string };
const FIELDS = ["conn_type", "description", "host", "login", "schema", "port", "password", "extra"] as const;

/** Masks the values of sensitive keys in a JSON extra, at any depth; text that is not JSON is kept. */
export function maskExtra(extra: string | null): string | null {
  if (extra === null || extra === "") return extra;
  let doc: unknown;
  try {
    doc = JSON.parse(extra);
  } catch {
    return extra;
  }
  const walk = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(walk);
    if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, shouldMaskKey(k) && x !== null && typeof x !== "object" ? MASK : walk(x)]));
    return v;
  };
  return JSON.stringify(walk(doc));
}

function connectionResponse(c: ConnectionRecord) {
  return {
    connection_id: c.conn_id,
    conn_type: c.conn_type,
    description: c.description,
    host: c.host,
    login: c.login,
    schema: c.schema,
    port: c.port,
    password: c.password === null || c.password === "" ? c.password : MASK,
    extra: maskExtra(c.extra),
  };
}

function fieldsOf(body: ConnectionBody, only?: readonly string[]): Partial<ConnectionFields> {
  const out: Partial<ConnectionFields> = {};
  for (const f of FIELDS) {
    if (only && only.length && !only.includes(f)) continue;
    const v = body[f];
    (out as Record<string, unknown>)[f] = v === undefined ? (f === "conn_type" ? body.conn_type : null) : v;
  }
  return out;
}

export function connectionRoutes(deps: ApiDeps): Hono<ApiEnv> {
  const r = new Hono<ApiEnv>();
  const { store } = deps;
  r.use("/connections", requireAccess(OPS_ACCESS));
  r.use("/connections/*", requireAccess(OPS_ACCESS));

  r.get("/connections", async (c) => {
    const page = paging(c);
    const order = orderBy(c, { connection_id: "conn_id", conn_type: "conn_type", host: "host", id: "id" } as const, "id");
    const { rows, total } = await listConnectionsPage(store.db, { idPattern: strParam(c, "connection_id_pattern") }, page, order);
    return c.json({ connections: rows.map(connectionResponse), total_entries: total });
  });

  r.get("/connections/:connection_id", async (c) => {
    const id = c.req.param("connection_id");
    const row = await getConnectionRecord(store.db, id);
    if (!row) throw notFound(`The Connection with connection_id: \`${id}\` was not found`);
    return c.json(connectionResponse(row));
  });

  r.post("/connections", async (c) => {
    const body = await readBody<ConnectionBody>(c, CONNECTION_BODY);
    if (!(await insertConnection(store.db, { conn_id: body.connection_id, ...(fieldsOf(body) as ConnectionFields) }))) {
      throw conflict(`The connection with connection_id: \`${body.connection_id}\` already exists.`);
    }
    return c.json(connectionResponse((await getConnectionRecord(store.db, body.connection_id)) as ConnectionRecord), 201);
  });

  r.patch("/connections/:connection_id", async (c) => {
    const id = c.req.param("connection_id");
    const body = await readBody<ConnectionBody>(c, CONNECTION_BODY);
    if (body.connection_id !== id) throw badRequest("The connection_id in the request body does not match the URL parameter");
    const mask = listParam(c, "update_mask");
    for (const m of mask) if (!(FIELDS as readonly string[]).includes(m)) throw badRequest(`Invalid field \`${m}\` in update mask; fields: ${FIELDS.join(", ")}`);
    if (!(await updateConnection(store.db, id, fieldsOf(body, mask)))) throw notFound(`The Connection with connection_id: \`${id}\` was not found`);
    return c.json(connectionResponse((await getConnectionRecord(store.db, id)) as ConnectionRecord));
  });

  r.delete("/connections/:connection_id", async (c) => {
    const id = c.req.param("connection_id");
    if (!(await deleteConnection(store.db, id))) throw notFound(`The Connection with connection_id: \`${id}\` was not found`);
    return c.body(null, 204);
  });
  return r;
}

// Airflow's two text forms of a connection: the URI (`postgres://user:pass@host:5432/db?sslmode=require`,
// Connection._parse_from_uri / get_uri) and the JSON document (`{"conn_type": "postgres", ...}`,
// Connection.from_json). Environment variables, `connections add --conn-uri`, import and export
// all go through here, so one parser decides what a URI means.
import { OrchError } from "../errors.ts";
import type { ConnectionInfo } from "../sdk/context.ts";

/** Airflow's key for an extra that is not a flat string map: `?__extra__=<json>`. */
const EXTRA_KEY = "__extra__";

/** Airflow's _normalize_conn_type: "postgresql" is "postgres"; URI schemes spell "_" as "-". */
export function normalizeConnType(t: string): string {
  if (t === "postgresql") return "postgres";
  return t.replace(/-/g, "_");
}

function invalid(uri: string, why: string, source: string): OrchError {
  return new OrchError("ORCH_USAGE", `${source}: invalid connection URI "${redactUri(uri)}": ${why}`, { field: source });
}

/** The URI with its password hidden, for messages. */
export function redactUri(uri: string): string {
  return uri.replace(/(:\/\/[^:@/]*):[^@/]*@/, "$1:***@");
}

/** Parses a connection URI the way Airflow does. `source` names the flag or variable in errors. */
export function parseConnectionUri(connId: string, uri: string, source = "--conn-uri"): ConnectionInfo {
  const schemes = uri.split("://").length - 1;
  if (schemes === 0) throw invalid(uri, "expected TYPE://[LOGIN[:PASSWORD]@]HOST[:PORT][/SCHEMA][?EXTRA]", source);
  if (schemes > 2) throw invalid(uri, "more than two '://'", source);
  const scheme = uri.slice(0, uri.indexOf("://"));
  if (!/^[A-Za-z][A-Za-z0-9+.-]*$/.test(scheme)) throw invalid(uri, `"${scheme}" is not a connection type`, source);
  let rest = uri.slice(scheme.length + 3);
  // A host that carries its own protocol (Airflow: `http://https://example.com`).
  let protocol: string | null = null;
  if (schemes === 2) {
    const i = rest.indexOf("://");
    protocol = rest.slice(0, i);
    if (/[@:]/.test(protocol)) throw invalid(uri, "a host protocol may not hold '@' or ':'", source);
    rest = rest.slice(i + 3);
  }
  let u: URL;
  try {
    // A neutral scheme: WHATWG URL lower-cases hosts and rewrites paths only for special schemes.
    u = new URL(`orch-conn://${rest}`);
  } catch (e) {
    throw invalid(uri, (e as Error).message, source);
  }
  const dec = (s: string) => {
    try {
      return decodeURIComponent(s);
    } catch {
      return s;
    }
  };
  const hostname = u.hostname ? dec(u.hostname) : "";
  const host = protocol ? `${protocol}://${hostname}` : hostname;
  const schema = u.pathname.length > 1 ? dec(u.pathname.slice(1)) : "";
  let extra: string | null = null;
  if (u.search.length > 1) {
    const q = new URLSearchParams(u.search);
    const extraJson = q.get(EXTRA_KEY);
    if (extraJson !== null) extra = extraJson;
    else extra = JSON.stringify(Object.fromEntries(q.entries()));
  }
  let port: number | null = null;
  if (u.port) port = Number(u.port);
  return {
    conn_id: connId,
    conn_type: normalizeConnType(scheme),
    host: host || null,
    schema: schema || null,
    login: u.username ? dec(u.username) : null,
    password: u.password ? dec(u.password) : null,
    port,
    extra,
  };
}

// Python's quote(s, safe=""): everything but unreserved characters percent-encoded.
function quote(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** Airflow's Connection.get_uri. */
export function connectionToUri(c: ConnectionInfo): string {
  let uri = c.conn_type ? `${c.conn_type.toLowerCase().replace(/_/g, "-")}://` : "//";
  let host = c.host ?? "";
  const p = host.indexOf("://");
  if (p >= 0) {
    uri += `${host.slice(0, p)}://`;
    host = host.slice(p + 3);
  }
  let auth = "";
  if (c.login !== null) auth += quote(c.login);
  if (c.password !== null) auth += `:${quote(c.password)}`;
  if (auth) uri += `${auth}@`;
  let hostBlock = host ? quote(host) : "";
  if (c.port) hostBlock += hostBlock === "" && auth === "" ? `@:${c.port}` : `:${c.port}`;
  if (c.schema) hostBlock += `/${quote(c.schema)}`;
  uri += hostBlock;
  if (c.extra) {
    const sep = c.schema ? "?" : "/?";
    let flat: Record<string, string> | null = null;
    try {
      const parsed = JSON.parse(c.extra) as unknown;
      if (parsed && typeof parsed === "object" && !Array.isArray(parsed) && Object.values(parsed).every((v) => typeof v === "string")) {
        flat = parsed as Record<string, string>;
      }
    } catch {
      flat = null;
    }
    uri += sep + (flat && Object.keys(flat).length ? new URLSearchParams(flat).toString() : new URLSearchParams({ [EXTRA_KEY]: c.extra }).toString());
  }
  return uri;
}

/** Airflow's JSON form of a connection (Connection.from_json / as_json): extra may be an object. */
export function parseConnectionJson(connId: string, text: string, source: string): ConnectionInfo {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new OrchError("ORCH_USAGE", `${source}: not valid JSON (${(e as Error).message})`, { field: source });
  }
  return connectionFromObject(connId, doc, source);
}

const FIELDS = ["conn_type", "host", "login", "password", "schema", "port", "extra", "description", "conn_id", "uri"];

/** A connection from a parsed JSON/YAML object (import files, the JSON env form). */
export function connectionFromObject(connId: string, doc: unknown, source: string): ConnectionInfo {
  if (!doc || typeof doc !== "object" || Array.isArray(doc)) {
    throw new OrchError("ORCH_USAGE", `${source}: a connection must be a JSON object with conn_type, host, login, ...`, { field: source });
  }
  const o = doc as Record<string, unknown>;
  if (typeof o.uri === "string") return parseConnectionUri(connId, o.uri, `${source}.uri`);
  for (const k of Object.keys(o)) {
    if (!FIELDS.includes(k)) throw new OrchError("ORCH_USAGE", `${source}: unknown field "${k}"; expected ${FIELDS.join(", ")}`, { field: `${source}.${k}` });
  }
  const str = (k: string): string | null => {
    const v = o[k];
    if (v === undefined || v === null || v === "") return null;
    if (typeof v !== "string") throw new OrchError("ORCH_USAGE", `${source}.${k} must be a string`, { field: `${source}.${k}` });
    return v;
  };
  const conn_type = str("conn_type");
  if (!conn_type) throw new OrchError("ORCH_USAGE", `${source}: conn_type is required`, { field: `${source}.conn_type` });
  let port: number | null = null;
  if (o.port !== undefined && o.port !== null && o.port !== "") {
    port = Number(o.port);
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new OrchError("ORCH_USAGE", `${source}.port must be a port number, got ${JSON.stringify(o.port)}`, { field: `${source}.port` });
  }
  let extra: string | null = null;
  if (o.extra !== undefined && o.extra !== null && o.extra !== "") {
    if (typeof o.extra === "string") extra = o.extra;
    else if (typeof o.extra === "object") extra = JSON.stringify(o.extra);
    else throw new OrchError("ORCH_USAGE", `${source}.extra must be an object or JSON text`, { field: `${source}.extra` });
  }
  return { conn_id: connId, conn_type: normalizeConnType(conn_type), host: str("host"), schema: str("schema"), login: str("login"), password: str("password"), port, extra };
}

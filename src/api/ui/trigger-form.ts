// The trigger form, generated from a DAG's params (Airflow's trigger form): one field per param by
// its JSON Schema type, and the way back from the submitted strings to a conf object.
//
//   type                      field
//   boolean                   checkbox
//   integer / number          number input (step 1 for integers)
//   enum (any type)           select
//   object / array            textarea holding JSON
//   string with format date   date input; anything else a text input
//
// Parsing keeps what the user typed: a field that cannot be read (not a number, not JSON) is an
// error next to that field with the text left in it, and the rest is checked by the params' own
// validation (src/params/validate.ts), whose errors name their param.
import type { SerializedParam } from "../../serialization/serialized-dag.ts";

export type FieldKind = "checkbox" | "number" | "integer" | "select" | "json" | "date" | "text";

export interface ParamField {
  name: string;
  /** The form field's name: `param.<name>`, so a param may be called anything. */
  input: string;
  kind: FieldKind;
  description: string | null;
  /** What the field shows: the default on first display, what was typed after a failed submit. */
  value: string;
  checked: boolean;
  options: { value: string; label: string }[];
  required: boolean;
  error?: string;
}

function types(schema: Record<string, unknown>): string[] {
  const t = schema.type;
  return Array.isArray(t) ? t.filter((x): x is string => typeof x === "string") : typeof t === "string" ? [t] : [];
}

export function fieldKind(schema: Record<string, unknown>): FieldKind {
  if (Array.isArray(schema.enum)) return "select";
  const t = types(schema).filter((x) => x !== "null");
  if (t.length !== 1) return t.includes("object") || t.includes("array") ? "json" : "text";
  switch (t[0]) {
    case "boolean":
      return "checkbox";
    case "integer":
      return "integer";
    case "number":
      return "number";
    case "object":
    case "array":
      return "json";
    case "string":
      return schema.format === "date" ? "date" : "text";
    default:
      return "text";
  }
}

/** How a value shows in a field of that kind. */
function display(kind: FieldKind, v: unknown): string {
  if (v === undefined || v === null) return "";
  if (kind === "json") return JSON.stringify(v, null, 2);
  if (kind === "select") return JSON.stringify(v);
  return typeof v === "string" ? v : JSON.stringify(v);
}

export function paramFields(params: Record<string, SerializedParam>): ParamField[] {
  return Object.entries(params).map(([name, p]) => {
    const kind = fieldKind(p.schema);
    const options = kind === "select" ? (p.schema.enum as unknown[]).map((v) => ({ value: JSON.stringify(v), label: v === null ? "(none)" : typeof v === "string" ? v : JSON.stringify(v) })) : [];
    return {
      name,
      input: `param.${name}`,
      kind,
      description: p.description,
      value: display(kind, p.default),
      checked: p.default === true,
      options,
      required: p.default === null || p.default === undefined,
    };
  });
}

/** The submitted form as conf; fields it could not read come back with their error and text. */
export function readParamFields(params: Record<string, SerializedParam>, form: Record<string, string>): { conf: Record<string, unknown>; fields: ParamField[]; ok: boolean } {
  const conf: Record<string, unknown> = {};
  let ok = true;
  const fields = paramFields(params).map((f) => {
    const raw = form[f.input];
    const out: ParamField = { ...f, value: raw ?? "", checked: false };
    const fail = (msg: string) => {
      ok = false;
      return { ...out, error: msg };
    };
    switch (f.kind) {
      case "checkbox":
        out.checked = raw !== undefined;
        conf[f.name] = out.checked;
        return out;
      case "integer":
      case "number": {
        if (raw === undefined || raw.trim() === "") {
          conf[f.name] = null;
          return out;
        }
        const n = Number(raw.trim());
        if (!Number.isFinite(n)) return fail(`"${raw}" is not a number`);
        if (f.kind === "integer" && !Number.isInteger(n)) return fail(`"${raw}" is not a whole number`);
        conf[f.name] = n;
        return out;
      }
      case "select": {
        if (raw === undefined || raw === "") {
          conf[f.name] = null;
          return out;
        }
        const opt = f.options.find((o) => o.value === raw);
        if (!opt) return fail(`"${raw}" is not one of the choices`);
        conf[f.name] = JSON.parse(opt.value) as unknown;
        return out;
      }
      case "json": {
        if (raw === undefined || raw.trim() === "") {
          conf[f.name] = null;
          return out;
        }
        try {
          conf[f.name] = JSON.parse(raw) as unknown;
        } catch (e) {
          return fail(`not valid JSON: ${(e as Error).message}`);
        }
        return out;
      }
      default:
        // An emptied field means "no value", unless the param's own default is the empty string.
        conf[f.name] = raw === undefined || raw === "" ? (params[f.name].default === "" ? "" : null) : raw;
        return out;
    }
  });
  return { conf, fields, ok };
}

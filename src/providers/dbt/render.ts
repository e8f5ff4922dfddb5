// Rendering a model's SQL with the Jinja subset the example's models use, through orch's templating
// (nunjucks, StrictUndefined). The subset: ref('model'), source('source', 'table'), var('name'[, default]),
// config(materialized=…, unique_key=…, incremental_strategy=…), is_incremental(), this, and the
// template language itself ({% if %}, {% set %}, {% for %}, expressions, filters). Anything else
// (adapter, dbt_utils, macros, snapshots, other config keys) is ORCH_DBT_UNSUPPORTED naming it.
import { isOrchError, OrchError } from "../../errors.ts";
import { renderTemplate } from "../../templating/index.ts";
import { quoteIdent } from "../values.ts";
import { MATERIALIZATIONS, type DbtProject, type Materialization, type ModelNode, type SourceTable } from "./project.ts";

export type IncrementalStrategy = "append" | "delete+insert";

export interface ModelConfig {
  materialized: Materialization;
  /** Columns of unique_key (delete+insert deletes the target's rows matching the new rows' keys). */
  unique_key: string[];
  incremental_strategy: IncrementalStrategy;
}

export interface RenderedModel {
  sql: string;
  config: ModelConfig;
  /** Names of the nodes it refs, in order of first use. */
  refs: string[];
  sources: SourceTable[];
}

export interface RenderOptions {
  /** The run's vars (--vars), over the project's. */
  vars: Record<string, unknown>;
  /** What is_incremental() answers: the relation exists as a table and this is not a full refresh. */
  isIncremental: boolean;
}

/** The block tags the subset allows; `{% macro %}`, `{% call %}`, `{% snapshot %}` … are refused by name. */
const ALLOWED_TAGS = new Set(["if", "elif", "elseif", "else", "endif", "set", "endset", "for", "endfor"]);
const CONFIG_KEYS = ["materialized", "unique_key", "incremental_strategy"] as const;
export const SUPPORTED_CONSTRUCTS = "ref, source, var, config(materialized, unique_key, incremental_strategy), is_incremental(), this, {% if/set/for %}";

function unsupported(model: ModelNode, construct: string, hint = ""): OrchError {
  return new OrchError(
    "ORCH_DBT_UNSUPPORTED",
    `model ${model.name} (${model.path}) uses ${construct}, which orch's SQL fallback does not support${hint}; it supports ${SUPPORTED_CONSTRUCTS}. Install dbt to run this model`,
    { model: model.name, file: model.path, construct },
  );
}

/** nunjucks passes keyword arguments as a last object flagged __keywords. */
function splitArgs(args: unknown[]): { positional: unknown[]; keywords: Record<string, unknown> } {
  const last = args.at(-1);
  if (typeof last === "object" && last !== null && (last as Record<string, unknown>).__keywords === true) {
    const { __keywords: _, ...keywords } = last as Record<string, unknown>;
    return { positional: args.slice(0, -1), keywords };
  }
  return { positional: args, keywords: {} };
}

function asKeyList(v: unknown): string[] {
  if (v === undefined || v === null) return [];
  if (typeof v === "string") return [v];
  if (Array.isArray(v) && v.every((k) => typeof k === "string")) return v as string[];
  throw new Error(`unique_key must be a column name or a list of them, got ${JSON.stringify(v)}`);
}

export function renderModel(project: DbtProject, model: ModelNode, options: RenderOptions): RenderedModel {
  for (const m of model.sql.matchAll(/\{%-?\s*([A-Za-z_]\w*)/g)) {
    if (!ALLOWED_TAGS.has(m[1]!)) throw unsupported(model, `{% ${m[1]} %}`);
  }
  const nodes = new Set([...project.models.map((m) => m.name), ...project.seeds.map((s) => s.name)]);
  const refs: string[] = [];
  const sources: SourceTable[] = [];
  const config: Record<string, unknown> = {};
  // Errors thrown inside a context function reach us wrapped by nunjucks; keep the first as it was.
  let problem: OrchError | undefined;
  const fail = (e: OrchError): never => {
    problem ??= e;
    throw e;
  };
  const vars = { ...project.vars, ...options.vars };
  const context = {
    ref: (...raw: unknown[]) => {
      const { positional, keywords } = splitArgs(raw);
      if (positional.length !== 1 || Object.keys(keywords).length) fail(unsupported(model, `ref(${raw.map((a) => JSON.stringify(a)).join(", ")})`, " (only ref('model') with one name)"));
      const name = String(positional[0]);
      if (!nodes.has(name)) {
        fail(new OrchError("ORCH_DBT_PROJECT_INVALID", `model ${model.name} (${model.path}) refers to ref('${name}'), which is not a model or seed of project ${project.name}`, { model: model.name, ref: name }));
      }
      if (!refs.includes(name)) refs.push(name);
      return quoteIdent(name);
    },
    source: (...raw: unknown[]) => {
      const { positional } = splitArgs(raw);
      const [s, t] = positional.map(String);
      const found = project.sources.find((x) => x.source === s && x.name === t);
      if (!found) {
        fail(new OrchError("ORCH_DBT_PROJECT_INVALID", `model ${model.name} (${model.path}) uses source('${s}', '${t}'), which no sources: entry declares`, { model: model.name, source: `${s}.${t}` }));
      }
      if (!sources.includes(found!)) sources.push(found!);
      return quoteIdent(found!.identifier);
    },
    var: (...raw: unknown[]) => {
      const { positional } = splitArgs(raw);
      const name = String(positional[0]);
      if (Object.hasOwn(vars, name)) return vars[name];
      if (positional.length > 1) return positional[1];
      return fail(new OrchError("ORCH_DBT_PROJECT_INVALID", `model ${model.name} (${model.path}): required var '${name}' is not set (pass it in --vars or under vars: in dbt_project.yml)`, { model: model.name, var: name }));
    },
    config: (...raw: unknown[]) => {
      const { positional, keywords } = splitArgs(raw);
      if (positional.length) fail(unsupported(model, "config() with a positional argument"));
      for (const [k, v] of Object.entries(keywords)) {
        if (!(CONFIG_KEYS as readonly string[]).includes(k)) fail(unsupported(model, `config(${k}=…)`));
        config[k] = v;
      }
      return "";
    },
    is_incremental: () => options.isIncremental,
    this: quoteIdent(model.name),
  };
  let sql: string;
  try {
    sql = renderTemplate(model.sql, context);
  } catch (e) {
    if (problem) throw problem;
    const message = isOrchError(e) ? e.message.replace(`Could not render template ${JSON.stringify(model.sql)}: `, "") : String(e);
    const undefinedName = /UndefinedError: '([^']+)' is undefined/.exec(message)?.[1];
    if (undefinedName) throw unsupported(model, `'${undefinedName}'`);
    const filter = /filter not found: (\w+)/.exec(message)?.[1];
    if (filter) throw unsupported(model, `the filter |${filter}`);
    throw new OrchError("ORCH_DBT_PROJECT_INVALID", `model ${model.name} (${model.path}) does not render: ${message}`, { model: model.name, file: model.path });
  }
  const materialized = String(config.materialized ?? model.projectMaterialized ?? "view");
  if (!(MATERIALIZATIONS as readonly string[]).includes(materialized)) throw unsupported(model, `materialized='${materialized}'`, ` (only ${MATERIALIZATIONS.join(", ")})`);
  let unique_key: string[];
  try {
    unique_key = asKeyList(config.unique_key);
  } catch (e) {
    throw new OrchError("ORCH_DBT_PROJECT_INVALID", `model ${model.name} (${model.path}): ${(e as Error).message}`, { model: model.name });
  }
  const strategy = config.incremental_strategy ?? (unique_key.length ? "delete+insert" : "append");
  if (strategy !== "append" && strategy !== "delete+insert") throw unsupported(model, `incremental_strategy='${String(strategy)}'`, " (only delete+insert and append)");
  if (strategy === "delete+insert" && materialized === "incremental" && unique_key.length === 0) {
    throw new OrchError("ORCH_DBT_PROJECT_INVALID", `model ${model.name} (${model.path}): incremental_strategy='delete+insert' needs a unique_key`, { model: model.name });
  }
  return {
    sql: sql.trim().replace(/;\s*$/, ""),
    config: { materialized: materialized as Materialization, unique_key, incremental_strategy: strategy },
    refs,
    sources,
  };
}

/** `to: ref('dim_zones')` of a relationships test: the node it names. */
export function refTarget(to: string): string | undefined {
  return /^\s*ref\(\s*['"]([^'"]+)['"]\s*\)\s*$/.exec(to)?.[1];
}

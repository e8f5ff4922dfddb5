// Reading a dbt project the way the SQL fallback needs it: dbt_project.yml (name, paths, vars,
// folder-level +materialized), the seeds (CSV files), the models (SQL files) and the generic
// tests declared in the properties files (models/**/*.yml: models, seeds and sources).
//
// Glossary
//   node      a seed or a model: something that becomes a relation in the warehouse
//   relation  the table or view a node builds (named after the node, in the warehouse's schema)
//   test      one generic test (not_null, unique, accepted_values, relationships) on one column
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative, sep } from "node:path";
import { parse as parseYaml } from "yaml";
import { OrchError } from "../../errors.ts";

export type Materialization = "view" | "table" | "incremental";
export const MATERIALIZATIONS: readonly Materialization[] = ["view", "table", "incremental"];

export interface SeedNode {
  kind: "seed";
  name: string;
  path: string;
}

export interface ModelNode {
  kind: "model";
  name: string;
  /** The .sql file, absolute. */
  path: string;
  /** Folders between the model path and the file (["staging"] for models/staging/x.sql). */
  folders: string[];
  sql: string;
  /** From dbt_project.yml's models: tree (+materialized), before the model's own config(). */
  projectMaterialized: string | undefined;
}

export type GenericTestName = "not_null" | "unique" | "accepted_values" | "relationships";
export const GENERIC_TESTS: readonly GenericTestName[] = ["not_null", "unique", "accepted_values", "relationships"];

export interface TestSpec {
  /** dbt's name for it, e.g. not_null_fct_trips_source_month. */
  name: string;
  test: GenericTestName;
  /** What it tests: a model or seed name, or "source:tlc.raw_trips". */
  on: { kind: "node"; name: string } | { kind: "source"; source: string; table: string };
  column: string;
  /** accepted_values: values, quote; relationships: to (e.g. "ref('dim_zones')"), field. */
  args: Record<string, unknown>;
  severity: "error" | "warn";
  /** The properties file that declares it, for messages. */
  file: string;
}

export interface SourceTable {
  source: string;
  name: string;
  /** The table's name in the warehouse (dbt's `identifier`, default the name). */
  identifier: string;
}

export interface DbtProject {
  dir: string;
  name: string;
  vars: Record<string, unknown>;
  seeds: SeedNode[];
  models: ModelNode[];
  sources: SourceTable[];
  tests: TestSpec[];
}

function invalid(file: string, message: string, details: Record<string, unknown> = {}): OrchError {
  return new OrchError("ORCH_DBT_PROJECT_INVALID", `${file}: ${message}`, { file, ...details });
}

function readYaml(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    throw invalid(file, `cannot read it (${(e as Error).message})`);
  }
  try {
    return parseYaml(text) as unknown;
  } catch (e) {
    throw invalid(file, `is not valid YAML: ${(e as Error).message}`);
  }
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

function paths(cfg: Record<string, unknown>, key: string, def: string, file: string): string[] {
  const v = cfg[key] ?? [def];
  if (!Array.isArray(v) || !v.every((p) => typeof p === "string")) throw invalid(file, `${key} must be a list of folder names`, { field: key });
  return v as string[];
}

/** Files under `dir` whose names end in `ext`, sorted, recursively; a missing folder has none. */
function walk(dir: string, ext: string): string[] {
  let entries: string[];
  try {
    entries = readdirSync(dir).sort();
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const e of entries) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) out.push(...walk(p, ext));
    else if (e.endsWith(ext)) out.push(p);
  }
  return out;
}

/**
 * dbt_project.yml's `models: { <project>: { staging: { +materialized: view } } }`: the most specific
 * folder's +materialized wins. Only `+materialized` is read; other folder configs are dbt's business.
 */
function folderMaterialized(tree: unknown, project: string, folders: string[]): string | undefined {
  if (!isRecord(tree)) return undefined;
  let node: unknown = tree[project];
  let found: string | undefined;
  const read = (n: unknown) => {
    if (isRecord(n)) {
      const m = n["+materialized"] ?? n.materialized;
      if (typeof m === "string") found = m;
    }
  };
  read(node);
  for (const f of folders) {
    if (!isRecord(node)) break;
    node = node[f];
    read(node);
  }
  return found;
}

/** One entry of a column's `tests:` / `data_tests:` list, as dbt accepts it. */
function parseTestEntry(entry: unknown, where: string, file: string): { test: string; args: Record<string, unknown>; severity: "error" | "warn" } {
  let test: string;
  let body: Record<string, unknown> = {};
  if (typeof entry === "string") test = entry;
  else if (isRecord(entry) && Object.keys(entry).length === 1) {
    test = Object.keys(entry)[0]!;
    const b = entry[test];
    if (b !== null && b !== undefined && !isRecord(b)) throw invalid(file, `the ${test} test on ${where} must be a mapping of its arguments`);
    body = (b as Record<string, unknown> | null) ?? {};
  } else throw invalid(file, `cannot read the test ${JSON.stringify(entry)} on ${where}`);
  const config = isRecord(body.config) ? body.config : {};
  // dbt 1.10 nests the arguments under `arguments:`; earlier versions put them beside config.
  const args = isRecord(body.arguments) ? body.arguments : Object.fromEntries(Object.entries(body).filter(([k]) => k !== "config"));
  const severity = String(config.severity ?? "error").toLowerCase();
  if (severity !== "error" && severity !== "warn") throw invalid(file, `the ${test} test on ${where} has severity ${JSON.stringify(config.severity)}; expected error or warn`);
  return { test, args, severity };
}

function testName(test: string, target: string, column: string, args: Record<string, unknown>): string {
  // dbt's default names: not_null_<model>_<column>, relationships_<model>_<column>__<field>__<to>, …
  const base = `${test}_${target}_${column}`;
  if (test === "relationships") return `${base}__${String(args.field)}__${String(args.to).replace(/\W+/g, "_").replace(/^_|_$/g, "")}`;
  if (test === "accepted_values") return `${base}__${(args.values as unknown[]).map(String).join("__")}`.replace(/\W+/g, "_");
  return base;
}

function collectTests(
  entries: unknown,
  on: TestSpec["on"],
  targetName: string,
  file: string,
  out: TestSpec[],
): void {
  if (!Array.isArray(entries)) return;
  for (const col of entries) {
    if (!isRecord(col) || typeof col.name !== "string") throw invalid(file, `a column of ${targetName} needs a name`);
    const list = col.data_tests ?? col.tests;
    if (list === undefined || list === null) continue;
    if (!Array.isArray(list)) throw invalid(file, `tests of ${targetName}.${col.name} must be a list`);
    for (const entry of list) {
      const where = `${targetName}.${col.name}`;
      const t = parseTestEntry(entry, where, file);
      if (!(GENERIC_TESTS as readonly string[]).includes(t.test)) {
        throw new OrchError(
          "ORCH_DBT_UNSUPPORTED",
          `${file}: the test ${t.test} on ${where} is not one the SQL fallback runs (it runs ${GENERIC_TESTS.join(", ")}); install dbt to run this project`,
          { file, construct: t.test },
        );
      }
      const test = t.test as GenericTestName;
      if (test === "accepted_values" && !Array.isArray(t.args.values)) throw invalid(file, `accepted_values on ${where} needs values: [...]`);
      if (test === "relationships" && (typeof t.args.to !== "string" || typeof t.args.field !== "string")) {
        throw invalid(file, `relationships on ${where} needs to: ref('model') and field: column`);
      }
      out.push({ name: testName(test, targetName, col.name, t.args), test, on, column: col.name, args: t.args, severity: t.severity, file });
    }
  }
}

function readProperties(file: string, project: DbtProject): void {
  const doc = readYaml(file);
  if (doc === null || doc === undefined) return;
  if (!isRecord(doc)) throw invalid(file, "a properties file must be a mapping (version: 2, models: [...])");
  const rel = relative(project.dir, file);
  for (const key of ["models", "seeds"] as const) {
    const list = doc[key];
    if (list === undefined) continue;
    if (!Array.isArray(list)) throw invalid(rel, `${key} must be a list`);
    for (const m of list) {
      if (!isRecord(m) || typeof m.name !== "string") throw invalid(rel, `every entry of ${key} needs a name`);
      if (m.data_tests !== undefined || m.tests !== undefined) {
        throw new OrchError("ORCH_DBT_UNSUPPORTED", `${rel}: ${m.name} has model-level tests, which the SQL fallback does not run (only column tests: ${GENERIC_TESTS.join(", ")})`, {
          file: rel,
          construct: "model-level tests",
        });
      }
      collectTests(m.columns, { kind: "node", name: m.name }, m.name, rel, project.tests);
    }
  }
  const sources = doc.sources;
  if (sources === undefined) return;
  if (!Array.isArray(sources)) throw invalid(rel, "sources must be a list");
  for (const s of sources) {
    if (!isRecord(s) || typeof s.name !== "string" || !Array.isArray(s.tables)) throw invalid(rel, "every source needs a name and tables: [...]");
    for (const t of s.tables) {
      if (!isRecord(t) || typeof t.name !== "string") throw invalid(rel, `every table of source ${s.name} needs a name`);
      const identifier = typeof t.identifier === "string" ? t.identifier : t.name;
      project.sources.push({ source: s.name, name: t.name, identifier });
      collectTests(t.columns, { kind: "source", source: s.name, table: t.name }, `source_${s.name}_${t.name}`, rel, project.tests);
    }
  }
}

/** Reads the project in `dir` (no warehouse access). Throws ORCH_DBT_PROJECT_INVALID naming the file at fault. */
export function readDbtProject(dir: string): DbtProject {
  const file = join(dir, "dbt_project.yml");
  const cfg = readYaml(file);
  if (!isRecord(cfg)) throw invalid(file, "must be a mapping with name:, profile:, ...");
  if (typeof cfg.name !== "string" || !/^\w+$/.test(cfg.name)) throw invalid(file, "name must be a word (letters, digits, _)", { field: "name" });
  const vars = cfg.vars ?? {};
  if (!isRecord(vars)) throw invalid(file, "vars must be a mapping", { field: "vars" });
  const project: DbtProject = { dir, name: cfg.name, vars, seeds: [], models: [], sources: [], tests: [] };
  const seen = new Map<string, string>();
  const claim = (name: string, path: string) => {
    const prev = seen.get(name);
    if (prev) throw invalid(path, `defines ${name}, which ${prev} defines already (node names must be unique)`);
    seen.set(name, path);
  };
  for (const sp of paths(cfg, "seed-paths", "seeds", file)) {
    for (const p of walk(join(dir, sp), ".csv")) {
      const name = p.slice(p.lastIndexOf(sep) + 1, -".csv".length);
      claim(name, p);
      project.seeds.push({ kind: "seed", name, path: p });
    }
    for (const p of [...walk(join(dir, sp), ".yml"), ...walk(join(dir, sp), ".yaml")]) readProperties(p, project);
  }
  for (const mp of paths(cfg, "model-paths", "models", file)) {
    const root = join(dir, mp);
    for (const p of walk(root, ".sql")) {
      const parts = relative(root, p).split(sep);
      const name = parts.pop()!.slice(0, -".sql".length);
      claim(name, p);
      project.models.push({
        kind: "model",
        name,
        path: p,
        folders: parts,
        sql: readFileSync(p, "utf8"),
        projectMaterialized: folderMaterialized(cfg.models, cfg.name, parts),
      });
    }
    for (const p of [...walk(root, ".yml"), ...walk(root, ".yaml")]) readProperties(p, project);
  }
  for (const t of project.tests) {
    if (t.on.kind === "node" && !seen.has(t.on.name)) throw invalid(t.file, `declares tests for ${t.on.name}, which is neither a model nor a seed of this project`);
  }
  return project;
}

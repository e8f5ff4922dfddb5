// orch's SQL fallback for `dbt build`: runs a dbt project that keeps to the example's subset without
// dbt. It is not a dbt replacement: it reads dbt_project.yml, seeds, models and the four generic
// tests, and refuses anything else by name (ORCH_DBT_UNSUPPORTED) before it writes anything.
//
//   const r = await runDbtFallback(hook, { projectDir, vars: { month: "2024-01-01" }, log: ctx.log.info });
//
// As `dbt build` does: seeds and models in the order of their refs, each in one transaction; a
// node's tests right after it (a relationships test once both ends are built); a failed test or a
// failed node skips everything downstream; the build fails (ORCH_DBT_FAILED) when any test fails.
import { isOrchError, OrchError } from "../../errors.ts";
import { loadCsv } from "../load.ts";
import type { WarehouseHook } from "../types.ts";
import { analyzeIfUseful, materialize, relationKind } from "./materialize.ts";
import { readDbtProject, type DbtProject, type ModelNode, type SeedNode, type TestSpec } from "./project.ts";
import { refTarget, renderModel, type RenderedModel } from "./render.ts";
import { runTestQuery, testQuery } from "./tests.ts";

export interface DbtFallbackOptions {
  /** The folder holding dbt_project.yml. */
  projectDir: string;
  /** dbt's --vars, over dbt_project.yml's vars. */
  vars?: Record<string, unknown>;
  /** dbt's --select, reduced to "name" (that node) and "+name" (it and everything upstream). Default: all. */
  select?: readonly string[];
  /** dbt's --full-refresh: incremental models are rebuilt whole. */
  fullRefresh?: boolean;
  log?: (line: string) => void;
}

export type DbtNodeStatus = "success" | "error" | "pass" | "fail" | "warn" | "skipped";

export interface DbtNodeResult {
  name: string;
  resource_type: "seed" | "model" | "test";
  status: DbtNodeStatus;
  message: string;
  /** Rows loaded (seeds), in the table (table models) or inserted (incremental runs); null otherwise. */
  rows: number | null;
  /** Failing rows of a test. */
  failures: number | null;
  seconds: number;
}

export interface DbtFallbackResult {
  results: DbtNodeResult[];
  seconds: number;
}

type Node = SeedNode | ModelNode;

interface Plan {
  project: DbtProject;
  /** Seeds and models in build order. */
  order: Node[];
  parsed: Map<string, RenderedModel>;
  deps: Map<string, string[]>;
  tests: TestSpec[];
}

/** Parses and renders every model once (is_incremental() false): refs, configs, unsupported constructs. */
export function planDbtBuild(options: Pick<DbtFallbackOptions, "projectDir" | "vars" | "select">): Plan {
  const project = readDbtProject(options.projectDir);
  const vars = options.vars ?? {};
  const parsed = new Map<string, RenderedModel>();
  const deps = new Map<string, string[]>();
  for (const s of project.seeds) deps.set(s.name, []);
  for (const m of project.models) {
    const r = renderModel(project, m, { vars, isIncremental: false });
    parsed.set(m.name, r);
    deps.set(m.name, r.refs);
  }
  const byName = new Map<string, Node>([...project.seeds, ...project.models].map((n) => [n.name, n]));
  // Kahn's algorithm, ready nodes by name so the order is stable.
  const indegree = new Map([...deps].map(([n, d]) => [n, d.length]));
  const ready = [...indegree].filter(([, d]) => d === 0).map(([n]) => n).sort();
  const order: Node[] = [];
  while (ready.length) {
    const n = ready.shift()!;
    order.push(byName.get(n)!);
    for (const [m, d] of deps) {
      if (!d.includes(n)) continue;
      indegree.set(m, indegree.get(m)! - 1);
      if (indegree.get(m) === 0) {
        ready.push(m);
        ready.sort();
      }
    }
  }
  if (order.length < byName.size) {
    const stuck = [...indegree].filter(([, d]) => d > 0).map(([n]) => n).sort();
    throw new OrchError("ORCH_DBT_PROJECT_INVALID", `the models ${stuck.join(", ")} ref each other in a cycle`, { models: stuck });
  }
  let selected = new Set(order.map((n) => n.name));
  if (options.select?.length) {
    selected = new Set();
    const addUp = (n: string): void => {
      if (selected.has(n)) return;
      selected.add(n);
      for (const d of deps.get(n) ?? []) addUp(d);
    };
    for (const s of options.select) {
      const name = s.replace(/^\+/, "");
      if (!byName.has(name)) throw new OrchError("ORCH_USAGE", `--select ${s}: no model or seed named ${name} in project ${project.name}`, { field: "select", value: s });
      if (s.startsWith("+")) addUp(name);
      else selected.add(name);
    }
  }
  const testDeps = (t: TestSpec): string[] => {
    const d = t.on.kind === "node" ? [t.on.name] : [];
    if (t.test === "relationships") {
      const to = refTarget(String(t.args.to));
      if (!to || !byName.has(to)) throw new OrchError("ORCH_DBT_PROJECT_INVALID", `${t.file}: test ${t.name} points to ${String(t.args.to)}, which is not ref('<model or seed>') of this project`, { test: t.name });
      d.push(to);
    }
    return d;
  };
  const usesSource = (t: TestSpec): boolean =>
    t.on.kind === "source" && [...parsed].some(([m, r]) => selected.has(m) && r.sources.some((s) => t.on.kind === "source" && s.source === t.on.source && s.name === t.on.table));
  const tests = project.tests.filter((t) => (t.on.kind === "source" ? usesSource(t) : testDeps(t).every((d) => selected.has(d))));
  for (const t of tests) deps.set(`test:${t.name}`, testDeps(t));
  return { project, order: order.filter((n) => selected.has(n.name)), parsed, deps, tests };
}

const secondsSince = (t0: number) => Math.round((performance.now() - t0) / 10) / 100;

export async function runDbtFallback(hook: WarehouseHook, options: DbtFallbackOptions): Promise<DbtFallbackResult> {
  const t0 = performance.now();
  const log = options.log ?? (() => {});
  const plan = planDbtBuild(options);
  const { project } = plan;
  const vars = options.vars ?? {};
  const total = plan.order.length + plan.tests.length;
  const results: DbtNodeResult[] = [];
  const broken = new Set<string>(); // nodes that errored or were skipped: their tests are skipped
  const failed = new Set<string>(); // broken, or a test on them failed: what is downstream is skipped
  const done = new Set<string>();
  const testsLeft = [...plan.tests];
  let k = 0;
  const record = (r: DbtNodeResult): void => {
    results.push(r);
    k++;
    const what = r.resource_type === "test" ? "test" : r.resource_type === "seed" ? "seed file" : "model";
    const status = { success: "OK", error: "ERROR", pass: "PASS", fail: `FAIL ${r.failures}`, warn: `WARN ${r.failures}`, skipped: "SKIP" }[r.status];
    const rows = r.rows !== null ? ` ${r.rows} rows` : "";
    log(`${k} of ${total} ${status} ${what} ${r.name}${r.message ? `: ${r.message}` : ""} [${status}${rows} in ${r.seconds.toFixed(2)}s]`);
  };

  const runReadyTests = async (): Promise<void> => {
    for (let i = 0; i < testsLeft.length; ) {
      const t = testsLeft[i]!;
      const d = plan.deps.get(`test:${t.name}`)!;
      if (!d.every((n) => done.has(n))) {
        i++;
        continue;
      }
      testsLeft.splice(i, 1);
      const started = performance.now();
      const base = { name: t.name, resource_type: "test" as const, rows: null };
      if (d.some((n) => broken.has(n))) {
        record({ ...base, status: "skipped", message: "an upstream node failed", failures: null, seconds: 0 });
        continue;
      }
      try {
        const relation = t.on.kind === "node" ? t.on.name : project.sources.find((s) => t.on.kind === "source" && s.source === t.on.source && s.name === t.on.table)!.identifier;
        const parent = t.test === "relationships" ? refTarget(String(t.args.to)) : undefined;
        const failures = await runTestQuery(hook, testQuery(t, relation, parent));
        const status = failures === 0 ? "pass" : t.severity === "warn" ? "warn" : "fail";
        if (status === "fail" && t.on.kind === "node") failed.add(t.on.name);
        record({ ...base, status, message: failures ? `${failures} failing ${t.test === "accepted_values" || t.test === "unique" ? "values" : "rows"} in ${t.on.kind === "node" ? t.on.name : `source ${t.on.source}.${t.on.table}`}.${t.column}` : "", failures, seconds: secondsSince(started) });
      } catch (e) {
        record({ ...base, status: "error", message: (e as Error).message, failures: null, seconds: secondsSince(started) });
        if (t.on.kind === "node") failed.add(t.on.name);
      }
    }
  };

  log(`orch SQL fallback: project ${project.name} (${project.dir}), ${plan.order.length} nodes and ${plan.tests.length} tests on ${hook.dialect}`);
  await runReadyTests(); // tests on sources
  for (const node of plan.order) {
    const started = performance.now();
    const base = { name: node.name, resource_type: node.kind, failures: null };
    const up = (plan.deps.get(node.name) ?? []).find((d) => failed.has(d));
    if (up) {
      failed.add(node.name);
      broken.add(node.name);
      done.add(node.name);
      record({ ...base, status: "skipped", message: `upstream ${up} failed`, rows: null, seconds: 0 });
      await runReadyTests();
      continue;
    }
    try {
      if (node.kind === "seed") {
        const rows = await loadCsv(hook, node.name, { source: node.path });
        await analyzeIfUseful(hook, node.name);
        record({ ...base, status: "success", message: "loaded seed", rows, seconds: secondsSince(started) });
      } else {
        const existing = await relationKind(hook, node.name);
        const parsed = plan.parsed.get(node.name)!;
        const incremental = parsed.config.materialized === "incremental" && existing === "table" && !options.fullRefresh;
        // Rendered again now that is_incremental() has its answer.
        const r = incremental ? renderModel(project, node, { vars, isIncremental: true }) : parsed;
        const m = await materialize(hook, node.name, r.sql, r.config, existing, incremental);
        record({ ...base, status: "success", message: m.action, rows: m.rows, seconds: secondsSince(started) });
      }
    } catch (e) {
      failed.add(node.name);
      broken.add(node.name);
      const message = isOrchError(e) ? e.message : `${node.kind} ${node.name} (${node.path}) failed on ${hook.dialect}: ${(e as Error).message}`;
      record({ ...base, status: "error", message, rows: null, seconds: secondsSince(started) });
    }
    done.add(node.name);
    await runReadyTests();
  }
  const count = (s: DbtNodeStatus[]) => results.filter((r) => s.includes(r.status)).length;
  const seconds = secondsSince(t0);
  log(`Completed in ${seconds.toFixed(2)}s: PASS=${count(["pass", "success"])} WARN=${count(["warn"])} ERROR=${count(["error", "fail"])} SKIP=${count(["skipped"])} TOTAL=${results.length}`);
  const bad = results.filter((r) => r.status === "error" || r.status === "fail");
  if (bad.length) {
    const list = bad.map((r) => (r.status === "fail" ? `test ${r.name} failed (${r.message})` : `${r.resource_type} ${r.name}: ${r.message}`));
    throw new OrchError("ORCH_DBT_FAILED", `dbt build (orch SQL fallback) failed: ${list.join("; ")}`, { results: bad });
  }
  return { results, seconds };
}

// Compiling a DAG file with esbuild (cached by content hash) and importing the result.
// Used by the import child (to serialize DAGs) and by the worker (to run a task's code).
import type { Message, Plugin } from "esbuild";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { collectDags, isDag, type Dag } from "../sdk/index.ts";
import { orchInstall } from "../install.ts";

/** Bump when the compile options change, so older cache entries are not reused. */
const COMPILE_REVISION = "1";

/** esbuild could not compile the file (syntax, type-strip or resolve error). */
export class DagCompileError extends Error {
  readonly file: string;
  readonly line: number | null;
  readonly column: number | null;
  constructor(message: string, file: string, line: number | null, column: number | null) {
    super(message);
    this.name = "DagCompileError";
    this.file = file;
    this.line = line;
    this.column = column;
  }
}

export function sha256(text: string | Buffer): string {
  return createHash("sha256").update(text).digest("hex");
}

/** "orch", "orch/providers" and "orch/providers/NAME" become imports of this installation's
 *  modules by absolute URL: the very modules the running process loaded, so one instance. */
function orchModulesPlugin(): Plugin {
  const install = orchInstall();
  return {
    name: "orch-modules",
    setup(b) {
      b.onResolve({ filter: /^orch(\/providers(\/[\w.-]+)?)?$/ }, (args) => {
        if (args.path === "orch") return { path: pathToFileURL(install.sdkEntry).href, external: true };
        const name = args.path === "orch/providers" ? "index" : args.path.slice("orch/providers/".length);
        return { path: pathToFileURL(join(install.providersDir, name + install.providersExt)).href, external: true };
      });
    },
  };
}

function formatMessage(m: Message, path: string): string {
  const loc = m.location;
  if (!loc) return m.text;
  // esbuild prints paths relative to the working directory; the DAG file's own path is clearer.
  const file = resolve(loc.file) === path || loc.file === "<stdin>" ? path : resolve(loc.file);
  return `${file}:${loc.line}:${loc.column + 1}: ${m.text}\n    ${loc.lineText}\n    ${" ".repeat(loc.column)}^`;
}

/** esbuild's service is a child process of its own (17 MB resident here) that lives as long as
 *  the process that started it. It is started by the first compile (the CLI, the scheduler and
 *  the worker mostly find every DAG in the cache and never start it) and stopped once no compile
 *  has run for ESBUILD_IDLE_MS; the next compile starts it again. */
const ESBUILD_IDLE_MS = 2000;
let compiling = 0;
let esbuildStop: NodeJS.Timeout | undefined;

async function esbuildInUse(): Promise<typeof import("esbuild")> {
  clearTimeout(esbuildStop);
  compiling++;
  try {
    return await import("esbuild");
  } catch (e) {
    esbuildDone();
    throw e;
  }
}

function esbuildDone(): void {
  if (--compiling > 0) return;
  esbuildStop = setTimeout(() => {
    if (compiling === 0) void import("esbuild").then((e) => e.stop());
  }, ESBUILD_IDLE_MS);
  esbuildStop.unref();
}

/** Compiles `source` (the content of `path`) unless the cache already holds it. */
export async function compileDagSource(path: string, source: string, opts: { cacheDir: string }): Promise<{ compiledPath: string; fileHash: string }> {
  const install = orchInstall();
  const fileHash = sha256(source);
  const key = sha256([fileHash, install.sdkEntry, install.providersDir, COMPILE_REVISION].join("\n")).slice(0, 32);
  const compiledPath = join(opts.cacheDir, "dags", `${key}.mjs`);
  if (existsSync(compiledPath)) return { compiledPath, fileHash };
  let out;
  const esbuild = await esbuildInUse();
  try {
    out = await esbuild.build({
      stdin: { contents: source, sourcefile: path, resolveDir: dirname(path), loader: path.endsWith("ts") ? "ts" : "js" },
      outfile: compiledPath,
      bundle: true,
      write: false,
      format: "esm",
      platform: "node",
      target: "node20",
      sourcemap: "inline",
      sourcesContent: false,
      logLevel: "silent",
      plugins: [orchModulesPlugin()],
      // Packages the DAG bundles may be CommonJS and call require().
      banner: { js: "import { createRequire as __orchCreateRequire } from 'node:module'; const require = __orchCreateRequire(import.meta.url);" },
    });
  } catch (e) {
    const errors = (e as { errors?: Message[] }).errors;
    if (!errors?.length) throw e;
    const first = errors[0];
    throw new DagCompileError(errors.map((m) => formatMessage(m, path)).join("\n"), path, first.location?.line ?? null, first.location ? first.location.column + 1 : null);
  } finally {
    esbuildDone();
  }
  const js = out.outputFiles.find((f) => f.path.endsWith(".mjs"));
  if (!js) throw new Error(`esbuild produced no output for ${path}`);
  // The compiled DAG holds whatever its source holds: only the owner reads it.
  await mkdir(dirname(compiledPath), { recursive: true, mode: 0o700 });
  // Write then rename: a concurrent reader never sees half a file.
  const tmp = `${compiledPath}.${process.pid}.${Date.now()}.tmp`;
  await writeFile(tmp, js.contents, { mode: 0o600 });
  await rename(tmp, compiledPath);
  return { compiledPath, fileHash };
}

/** Compiles a DAG file with esbuild; the output is cached under `cacheDir` by content hash. */
export async function compileDagFile(path: string, opts: { cacheDir: string }): Promise<{ compiledPath: string; fileHash: string }> {
  return compileDagSource(path, await readFile(path, "utf8"), opts);
}

/** Two DAG objects with one dag_id in the same file. */
export class DuplicateDagIdError extends Error {
  readonly dag_id: string;
  constructor(dag_id: string) {
    super(`dag_id "${dag_id}" is defined more than once in this file`);
    this.name = "DuplicateDagIdError";
    this.dag_id = dag_id;
  }
}

const imported = new Map<string, Map<string, Dag>>();
let queue: Promise<unknown> = Promise.resolve();

/**
 * Imports a compiled DAG module and returns its DAGs by dag_id: every DAG created while it was
 * evaluated, and every DAG it exports. Memoized per compiled path (a module evaluates once per
 * process), and imports run one at a time, since the collector is one global slot.
 */
export function importDags(compiledPath: string): Promise<Map<string, Dag>> {
  const known = imported.get(compiledPath);
  if (known) return Promise.resolve(known);
  const next = queue.then(async () => {
    const again = imported.get(compiledPath);
    if (again) return again;
    const { result: mod, dags } = await collectDags(() => import(pathToFileURL(compiledPath).href) as Promise<Record<string, unknown>>);
    const all = new Set<Dag>(dags);
    for (const v of Object.values(mod)) if (isDag(v)) all.add(v);
    const byId = new Map<string, Dag>();
    for (const d of all) {
      if (byId.has(d.dag_id)) throw new DuplicateDagIdError(d.dag_id);
      byId.set(d.dag_id, d);
    }
    imported.set(compiledPath, byId);
    return byId;
  });
  queue = next.catch(() => {});
  return next;
}

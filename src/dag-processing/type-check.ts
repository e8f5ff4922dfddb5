// Type-checking DAG files with TypeScript's compiler API against orch's own types, so a `string`
// passed to a `number` parameter is found before a run, not as a failed XCom at run time. esbuild
// (the compile) strips types without looking at them.
//
// No tsconfig is needed in the home: "orch", "orch/providers" and "orch/providers/NAME" resolve to
// this installation's SDK sources (the same mapping `orch init` writes into a home's tsconfig).
// Checks are cached in $ORCH_HOME/.cache/typecheck/: when none of the files the last check read
// (the DAG files, their local imports, orch's SDK sources) changed, its answer is reused without
// building a program, as `tsc --build` skips an up-to-date project. Building the program is the
// cost: parsing ~180 files of lib and @types/node took 1.2-2.4 s of a 1.4-2.6 s check, the
// type-check itself 0.13 s (measured on the example home, 2 busy cores).
import { createRequire } from "node:module";
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import type ts from "typescript";
import { orchInstall } from "../install.ts";

export interface TypeDiagnostic {
  /** Absolute path, or null for a problem with no file (an option TypeScript refuses). */
  file: string | null;
  line: number | null;
  column: number | null;
  message: string;
  /** TypeScript's error number (TS2345 is 2345). */
  code: number;
}

export interface TypeCheckResult {
  /** Files checked (TypeScript files; JavaScript DAG files are not type-checked). */
  files: string[];
  diagnostics: TypeDiagnostic[];
}

/** The compiler options of a check and of the tsconfig `orch init` writes, as plain JSON. */
export function dagCompilerOptionsJson(): Record<string, unknown> {
  const install = orchInstall();
  const src = join(install.root, "src");
  return {
    target: "ES2022",
    module: "ESNext",
    moduleResolution: "Bundler",
    lib: ["ES2023"],
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    esModuleInterop: true,
    resolveJsonModule: true,
    allowImportingTsExtensions: true,
    types: ["node"],
    typeRoots: [join(install.root, "node_modules", "@types")],
    paths: {
      orch: [join(src, "sdk", "index.ts")],
      "orch/providers": [join(src, "providers", "index.ts")],
      "orch/providers/*": [join(src, "providers", "*.ts")],
    },
  };
}

let tsModule: typeof ts | undefined;
/** TypeScript, loaded on first use: 9 MB of compiler that no other command needs. */
function typescript(): typeof ts {
  tsModule ??= createRequire(join(orchInstall().root, "package.json"))("typescript") as typeof ts;
  return tsModule;
}

/** Files whose diagnostics are the user's: not orch's sources, not installed packages. */
function isUserFile(file: string, root: string): boolean {
  return !file.startsWith(join(root, "src") + "/") && !file.includes("/node_modules/");
}

interface CachedCheck {
  /** Every file the check read outside node_modules, with its content hash. */
  inputs: Record<string, string>;
  diagnostics: TypeDiagnostic[];
}

function hashFile(path: string): string | null {
  try {
    return createHash("sha256").update(readFileSync(path)).digest("hex");
  } catch {
    return null;
  }
}

function readCache(path: string): CachedCheck | undefined {
  try {
    const c = JSON.parse(readFileSync(path, "utf8")) as CachedCheck;
    // "Cannot find module": creating the missing file changes the answer without changing any input.
    if (c.diagnostics.some((d) => d.code === 2307 || d.code === 2792)) return undefined;
    for (const [file, hash] of Object.entries(c.inputs)) if (hashFile(file) !== hash) return undefined;
    return c;
  } catch {
    return undefined;
  }
}

export function checkDagTypes(paths: readonly string[], opts: { cacheDir: string; useCache?: boolean }): TypeCheckResult {
  const files = [...new Set(paths.map((p) => resolve(p)))].filter((p) => /\.m?ts$/.test(p)).sort();
  if (files.length === 0) return { files, diagnostics: [] };
  const install = orchInstall();
  // One cache entry per set of roots (and TypeScript and orch install), so checks of different
  // files do not evict each other. TypeScript's own version is read from its package.json, so a
  // warm check does not load the compiler at all.
  const tsVersion = (JSON.parse(readFileSync(createRequire(join(install.root, "package.json")).resolve("typescript/package.json"), "utf8")) as { version: string }).version;
  const key = createHash("sha256").update([...files, tsVersion, install.root].join("\n")).digest("hex").slice(0, 24);
  const dir = join(opts.cacheDir, "typecheck");
  const cachePath = join(dir, `${key}.json`);
  if (opts.useCache !== false) {
    const cached = readCache(cachePath);
    if (cached) return { files, diagnostics: cached.diagnostics };
  }
  const t = typescript();
  const converted = t.convertCompilerOptionsFromJson(dagCompilerOptionsJson(), opts.cacheDir);
  const options: ts.CompilerOptions = converted.options;
  const program = t.createProgram({ rootNames: files, options });
  const all = [...converted.errors, ...program.getConfigFileParsingDiagnostics(), ...program.getOptionsDiagnostics(), ...program.getGlobalDiagnostics()];
  for (const sf of program.getSourceFiles()) {
    if (!isUserFile(sf.fileName, install.root)) continue;
    all.push(...program.getSyntacticDiagnostics(sf), ...program.getSemanticDiagnostics(sf));
  }
  const diagnostics = all.map((d) => toDiagnostic(t, d));
  diagnostics.sort((a, b) => (a.file ?? "").localeCompare(b.file ?? "") || (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0));
  const inputs: Record<string, string> = {};
  for (const sf of program.getSourceFiles()) {
    if (sf.fileName.includes("/node_modules/")) continue;
    inputs[sf.fileName] = createHash("sha256").update(sf.text).digest("hex");
  }
  // A root that does not exist has no source file; it must still invalidate the entry when created.
  for (const f of files) inputs[f] ??= "missing";
  try {
    mkdirSync(dir, { recursive: true });
    const tmp = `${cachePath}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify({ inputs, diagnostics } satisfies CachedCheck));
    renameSync(tmp, cachePath);
  } catch {
    // A read-only cache only costs the next check its speed.
  }
  return { files, diagnostics };
}

function toDiagnostic(t: typeof ts, d: ts.Diagnostic): TypeDiagnostic {
  const message = t.flattenDiagnosticMessageText(d.messageText, "\n");
  if (!d.file || d.start === undefined) return { file: null, line: null, column: null, message, code: d.code };
  const pos = d.file.getLineAndCharacterOfPosition(d.start);
  return { file: resolve(dirname(d.file.fileName), d.file.fileName), line: pos.line + 1, column: pos.character + 1, message, code: d.code };
}

/** `file:line:col message`, TypeScript's own `--pretty false` shape with orch's code suffix. */
export function formatTypeDiagnostic(d: TypeDiagnostic, displayPath: (file: string) => string = (f) => f): string {
  const where = d.file ? `${displayPath(d.file)}:${d.line}:${d.column}` : "tsconfig";
  return `${where} ${d.message.replaceAll("\n", "\n  ")} (TS${d.code})`;
}

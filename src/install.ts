// Where the running orch lives, so a DAG file's `import "orch"` and the child processes (DAG import
// child, task worker) resolve to this very installation: from source through tsx (src/*.ts) or
// bundled (dist/*.mjs, possibly a global install). Code-split bundles put this module in
// dist/chunks/, hence the walk up.
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

export interface OrchInstall {
  mode: "source" | "dist";
  root: string;
  /** The SDK module a DAG file's "orch" resolves to (same URL the running orch loaded). */
  sdkEntry: string;
  /** "orch/providers" and "orch/providers/NAME". */
  providersDir: string;
  providersExt: ".ts" | ".mjs";
  /** The DAG import child's entry and the node flags it needs. */
  importChild: { entry: string; execArgv: string[] };
  /** The task worker's entry and the node flags it needs. */
  worker: { entry: string; execArgv: string[] };
}

let cached: OrchInstall | undefined;

export function orchInstall(): OrchInstall {
  if (cached) return cached;
  const here = fileURLToPath(import.meta.url);
  let root = dirname(here);
  for (;;) {
    const pkg = join(root, "package.json");
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, "utf8")) as { name?: string }).name === "orch") break;
    const up = dirname(root);
    if (up === root) throw new Error(`cannot find orch's package.json above ${here}`);
    root = up;
  }
  const mode = here.endsWith(".ts") ? "source" : "dist";
  if (mode === "source") {
    // The child must load TypeScript as its parent does; tsx is resolved from orch's own
    // node_modules so the child's working directory (ORCH_HOME) need not have one.
    const tsxDir = dirname(createRequire(join(root, "package.json")).resolve("tsx/package.json"));
    const tsx = pathToFileURL(join(tsxDir, "dist/loader.mjs")).href;
    cached = {
      mode,
      root,
      sdkEntry: join(root, "src/sdk/index.ts"),
      providersDir: join(root, "src/providers"),
      providersExt: ".ts",
      importChild: { entry: join(root, "src/dag-processing/import-child.ts"), execArgv: ["--import", tsx] },
      worker: { entry: join(root, "src/worker/main.ts"), execArgv: ["--import", tsx] },
    };
  } else {
    cached = {
      mode,
      root,
      sdkEntry: join(root, "dist/sdk.mjs"),
      providersDir: join(root, "dist/providers"),
      providersExt: ".mjs",
      importChild: { entry: join(root, "dist/dag-import-child.mjs"), execArgv: [] },
      worker: { entry: join(root, "dist/worker.mjs"), execArgv: [] },
    };
  }
  return cached;
}

// esbuild: bundles the CLI (and the entry points it starts as child processes) into dist/.
// The pure-JS dependencies are bundled too: Node resolving and compiling kysely's 280 files, pg's,
// hono's, ajv's one by one was most of `orch dags list`'s start-up (issue 17). Code splitting
// shares modules between entries, so the SDK a DAG file imports through "orch" (dist/sdk.mjs) is
// the very module instance the CLI and the worker use, and a dependency used by several entries
// lives once, in a chunk.
// External, loaded from node_modules at run time:
//   better-sqlite3  a native addon (it finds its .node file relative to its own directory);
//   esbuild         spawns its platform binary, found relative to its own package;
//   typescript      10 MB, loaded only by the opt-in type check (src/dag-processing/type-check.ts);
//   yargs           its CommonJS build, loaded through createRequire (src/cli/main.ts says why),
//                   which reads its locale files relative to its own directory;
//   pg-native       pg's optional native driver, required only if a user installs it.
import { build } from "esbuild";
import { existsSync, rmSync } from "node:fs";

const entries = [
  { in: "src/cli/main.ts", out: "orch" },
  { in: "src/sdk/index.ts", out: "sdk" },
  { in: "src/worker/main.ts", out: "worker" },
  { in: "src/dag-processing/import-child.ts", out: "dag-import-child" },
  { in: "src/providers/index.ts", out: "providers/index" },
].filter((e) => existsSync(e.in));

// Chunk names carry a content hash: without a clean dist/, chunks of earlier builds pile up.
rmSync("dist", { recursive: true, force: true });

await build({
  entryPoints: entries,
  outdir: "dist",
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node20",
  external: ["better-sqlite3", "esbuild", "typescript", "yargs", "pg-native", "tsx"],
  sourcemap: true,
  // The status page (src/api/ui/) is hono/jsx, rendered on the server; nothing is built for the browser.
  jsx: "automatic",
  jsxImportSource: "hono/jsx",
  outExtension: { ".js": ".mjs" },
  chunkNames: "chunks/[name]-[hash]",
  banner: { js: "import { createRequire as __orchCreateRequire } from 'node:module'; const require = __orchCreateRequire(import.meta.url);" },
  logLevel: "warning",
});

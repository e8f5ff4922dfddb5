// esbuild: bundles the CLI (and the entry points it starts as child processes) into dist/.
// Dependencies stay external (native addons such as better-sqlite3 cannot be bundled, and the rest
// are installed beside dist/ anyway). Code splitting shares modules between entries, so the SDK a
// DAG file imports through "orch" is the very module instance the CLI and the worker use.
import { build } from "esbuild";
import { existsSync } from "node:fs";

const entries = [
  { in: "src/cli/main.ts", out: "orch" },
  { in: "src/sdk/index.ts", out: "sdk" },
  { in: "src/worker/main.ts", out: "worker" },
  { in: "src/dag-processing/import-child.ts", out: "dag-import-child" },
  { in: "src/providers/index.ts", out: "providers/index" },
].filter((e) => existsSync(e.in));

await build({
  entryPoints: entries,
  outdir: "dist",
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node20",
  packages: "external",
  sourcemap: true,
  // The status page (src/api/ui/) is hono/jsx, rendered on the server; nothing is built for the browser.
  jsx: "automatic",
  jsxImportSource: "hono/jsx",
  outExtension: { ".js": ".mjs" },
  chunkNames: "chunks/[name]-[hash]",
  banner: { js: "import { createRequire as __orchCreateRequire } from 'node:module'; const require = __orchCreateRequire(import.meta.url);" },
  logLevel: "warning",
});

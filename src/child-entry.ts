// Where the entry point of a child process (worker, DAG import child) lives, for the way this orch
// is running: from source through tsx (tests, `node --import tsx src/cli/main.ts`) or bundled in
// dist/ (npm start, npx orch, a global install).
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export interface ChildEntry {
  /** Script to run. */
  path: string;
  /** Node flags the child needs (the tsx loader when running from source). */
  execArgv: string[];
}

/** `name` is the entry's name in dist/ ("worker", "dag-import-child") and its path under src/. */
export function childEntry(name: "worker" | "dag-import-child", sourcePath: string): ChildEntry {
  const here = fileURLToPath(import.meta.url);
  if (here.endsWith(".ts")) {
    const root = dirname(dirname(here));
    // An absolute URL: `--import tsx` would resolve against the child's cwd, which may be anywhere.
    return { path: join(root, sourcePath), execArgv: ["--import", import.meta.resolve("tsx")] };
  }
  // Bundled: this code sits in dist/ or dist/chunks/; the entries sit in dist/.
  let dir = dirname(here);
  while (!existsSync(join(dir, `${name}.mjs`)) && dirname(dir) !== dir) dir = dirname(dir);
  return { path: join(dir, `${name}.mjs`), execArgv: [] };
}

// Finding DAG files: $dags_folder/**/*.{ts,mts,js,mjs}, skipping node_modules, dot-directories
// and declaration files.
import { readdir } from "node:fs/promises";
import { join } from "node:path";

const DAG_FILE = /\.(ts|mts|js|mjs)$/;

export function isDagFileName(name: string): boolean {
  return DAG_FILE.test(name) && !/\.d\.m?ts$/.test(name) && !name.startsWith(".");
}

/** Absolute paths of DAG files under `folder`, sorted (a missing folder has none). */
export async function findDagFiles(folder: string): Promise<string[]> {
  const out: string[] = [];
  async function walk(dir: string): Promise<void> {
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT" || (e as NodeJS.ErrnoException).code === "ENOTDIR") return;
      throw e;
    }
    await Promise.all(
      entries.map(async (e) => {
        if (e.name.startsWith(".") || e.name === "node_modules") return;
        const p = join(dir, e.name);
        if (e.isDirectory()) await walk(p);
        else if ((e.isFile() || e.isSymbolicLink()) && isDagFileName(e.name)) out.push(p);
      }),
    );
  }
  await walk(folder);
  return out.sort();
}

// What a user coming from Airflow is told about their home instead of being left to wonder: a
// missing dags folder (created, with where to put files), an empty one, an airflow.cfg that orch
// does not read, Python DAG files orch will not load, files that start or stop failing.
import { existsSync, mkdirSync, readdirSync } from "node:fs";
import { join, relative } from "node:path";
import { findDagFiles } from "./files.ts";

/** Python files anywhere under the folder (skipping dot-directories and node_modules), up to 1000. */
function countPythonFiles(folder: string): number {
  let n = 0;
  const walk = (dir: string) => {
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      if (n >= 1000 || e.name.startsWith(".") || e.name === "node_modules" || e.name === "__pycache__") continue;
      if (e.isDirectory()) walk(join(dir, e.name));
      else if (e.name.endsWith(".py")) n++;
    }
  };
  walk(folder);
  return n;
}

/** Notices about the home that any command reading the dags folder gives once, on stderr. */
export function homeNotices(home: string, dagsFolder: string): string[] {
  const out: string[] = [];
  if (existsSync(join(home, "airflow.cfg")) && !existsSync(join(home, "orch.toml"))) {
    out.push(`${join(home, "airflow.cfg")} is not read: orch reads ${join(home, "orch.toml")} (same sections and keys where orch has them; \`orch config list\` shows every setting), and AIRFLOW__SECTION__KEY environment variables`);
  } else if (existsSync(join(home, "airflow.cfg"))) {
    out.push(`${join(home, "airflow.cfg")} is not read: orch reads ${join(home, "orch.toml")}`);
  }
  const py = countPythonFiles(dagsFolder);
  if (py) {
    out.push(`${py} .py file${py === 1 ? "" : "s"} in ${dagsFolder} ignored: orch loads TypeScript and JavaScript DAG files (.ts, .mts, .js, .mjs); see docs/authoring.md`);
  }
  return out;
}

/** For long-running components: creates a missing dags folder and says where to put files; says
 *  once when it holds no DAG files yet. */
export async function prepareDagsFolder(dagsFolder: string, log: (message: string) => void): Promise<void> {
  if (!existsSync(dagsFolder)) {
    mkdirSync(dagsFolder, { recursive: true });
    log(`created the dags folder ${dagsFolder}: put DAG files (.ts) there and they are picked up as they are saved; \`orch init\` writes an example`);
    return;
  }
  const files = await findDagFiles(dagsFolder);
  if (files.length === 0) log(`no DAG files in ${dagsFolder} yet: save a .ts DAG file there and it is picked up at once`);
}

/** The line a processor logs when a file's load state changes (null: nothing to say). */
export function fileStateNotice(o: { dagsFolder: string; path: string; wasFailing: boolean; wasError?: string; error: string | null; dags: number }): string | null {
  const rel = relative(o.dagsFolder, o.path) || o.path;
  if (o.error !== null && (!o.wasFailing || o.wasError !== o.error)) return `${rel} fails to load: ${o.error}`;
  if (o.error === null && o.wasFailing) return `${rel} loads again (${o.dags} DAG${o.dags === 1 ? "" : "s"})`;
  return null;
}

/** One line per file with import errors: `rel/path.ts:LINE: first line of the error`. */
export function describeImportErrors(errors: readonly { filename: string; line: number | null; stacktrace: string }[], dagsFolder: string): string[] {
  const files = [...new Set(errors.map((e) => e.filename))];
  return files.map((f) => {
    const e = errors.find((x) => x.filename === f)!;
    return `${relative(dagsFolder, f) || f}${e.line ? `:${e.line}` : ""}: ${e.stacktrace.split("\n")[0]}`;
  });
}

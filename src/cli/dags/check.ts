// orch dags check [PATH…]: type-checks DAG files against orch's types (TypeScript's compiler API;
// no tsconfig needed in the home) and prints `file:line:col message` per error; exit 1 on any.
import { stat } from "node:fs/promises";
import { isAbsolute, relative, resolve } from "node:path";
import type { Argv, CommandModule } from "yargs";
import { loadConfig } from "../../config.ts";
import { findDagFiles } from "../../dag-processing/files.ts";
import { checkDagTypes, formatTypeDiagnostic } from "../../dag-processing/type-check.ts";
import { OrchError } from "../../errors.ts";

interface DagsCheckArgs {
  paths: string[];
}

/** DAG files named on the command line: files as they are, folders searched as the dags folder. */
async function expand(paths: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  for (const p of paths) {
    const abs = resolve(p);
    const st = await stat(abs).catch(() => undefined);
    if (!st) throw new OrchError("ORCH_NOT_FOUND", `${p}: no such file or folder`, { path: p });
    if (st.isDirectory()) out.push(...(await findDagFiles(abs)));
    else out.push(abs);
  }
  return out;
}

export function displayPath(file: string): string {
  const rel = relative(process.cwd(), file);
  return rel && !rel.startsWith("..") && !isAbsolute(rel) ? rel : file;
}

export const checkCommand: CommandModule<object, DagsCheckArgs> = {
  command: "check [paths..]",
  describe: "Type-check DAG files against orch's types (default: every file in the dags folder)",
  builder: (y: Argv) =>
    y
      .positional("paths", { type: "string", array: true, default: [], describe: "DAG files or folders" })
      .example("$0 dags check", "every DAG file in $ORCH_HOME/dags")
      .example("$0 dags check dags/example_etl.ts", "one file") as unknown as Argv<DagsCheckArgs>,
  handler: async (args) => {
    const config = loadConfig();
    const folder = config.getString("core", "dags_folder");
    const files = args.paths.length ? await expand(args.paths) : await findDagFiles(folder);
    const r = checkDagTypes(files, { cacheDir: `${config.home}/.cache` });
    for (const d of r.diagnostics) console.log(formatTypeDiagnostic(d, displayPath));
    const skipped = files.length - r.files.length;
    const note = skipped ? ` (${skipped} JavaScript file${skipped === 1 ? "" : "s"} not type-checked)` : "";
    if (r.diagnostics.length) {
      const inFiles = new Set(r.diagnostics.map((d) => d.file)).size;
      process.stderr.write(`${r.diagnostics.length} type error${r.diagnostics.length === 1 ? "" : "s"} in ${inFiles} file${inFiles === 1 ? "" : "s"}${note}\n`);
      process.exitCode = 1;
    } else if (files.length === 0) {
      process.stderr.write(`no DAG files in ${args.paths.length ? args.paths.join(", ") : folder}\n`);
    } else {
      process.stderr.write(`${r.files.length} file${r.files.length === 1 ? "" : "s"} checked: no type errors${note}\n`);
    }
  },
};

// The DAG import child: imports compiled DAG files one at a time, serializes and checks their
// DAGs, and replies. Runs user code, so it is a separate process the parent can kill on timeout.
import { importDags } from "./load.ts";
import type { FromImportChild, ImportProblem, ToImportChild } from "./protocol.ts";
import { checkSerializedDag, serializeDag } from "./serialize.ts";
import type { SerializedDag } from "../serialization/serialized-dag.ts";

// Stack traces point into the DAG source, not the compiled bundle (inline source maps).
process.setSourceMapsEnabled(true);

function send(m: FromImportChild): void {
  process.send?.(m);
}

/** The first stack line in the DAG source, and the frames to show (user code only). */
export function describeError(e: unknown, fileloc: string): ImportProblem {
  const err = e instanceof Error ? e : new Error(String(e));
  const frames = (err.stack ?? "").split("\n").filter((l) => /^\s+at /.test(l));
  const userFrames = frames.filter((l) => l.includes(fileloc));
  let line: number | null = null;
  const m = userFrames[0] && new RegExp(`${escapeRe(fileloc)}:(\\d+):\\d+`).exec(userFrames[0]);
  if (m) line = Number(m[1]);
  const message = err.message;
  const detail = [`${err.name}: ${message}`, ...(userFrames.length ? userFrames : frames.slice(0, 5))].join("\n");
  return { message, line, detail };
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** "file:line:col" of a DAG's definition, when it points into this file. */
function lineOf(definedAt: string | null, fileloc: string): number | null {
  if (!definedAt?.includes(fileloc)) return null;
  const m = /:(\d+):\d+$/.exec(definedAt);
  return m ? Number(m[1]) : null;
}

async function handle(msg: ToImportChild): Promise<void> {
  const dags: SerializedDag[] = [];
  const problems: ImportProblem[] = [];
  try {
    const found = await importDags(msg.compiledPath);
    for (const d of found.values()) {
      const s = serializeDag(d, { fileloc: msg.fileloc, relative_fileloc: msg.relative_fileloc });
      const bad = checkSerializedDag(s);
      if (bad.length) {
        const line = lineOf(d.defined_at, msg.fileloc);
        for (const message of bad) problems.push({ message, line, detail: `DagDefinitionError: ${message}` + (d.defined_at ? `\n    at dag() (${d.defined_at})` : "") });
      } else dags.push(s);
    }
  } catch (e) {
    problems.push(describeError(e, msg.fileloc));
  }
  send({ type: "imported", id: msg.id, dags, problems });
}

process.on("message", (msg: ToImportChild) => {
  if (msg.type === "import") void handle(msg);
});
// A DAG that leaves a rejected promise behind must not take the child down silently.
process.on("unhandledRejection", () => {});
send({ type: "ready" });
process.on("disconnect", () => process.exit(0));

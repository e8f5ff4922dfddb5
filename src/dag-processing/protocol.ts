// Messages between the DAG processor and its import children (over the IPC channel).
import type { SerializedDag } from "../serialization/serialized-dag.ts";

export interface ImportProblem {
  /** Names the problem: "DAG \"x\" has a cycle: a -> b -> a", the exception's message, ... */
  message: string;
  /** Line in the DAG file, when the stack (source-mapped) showed one. */
  line: number | null;
  /** The text stored in import_error.stacktrace: message plus the relevant stack frames. */
  detail: string;
}

export type ToImportChild = { type: "import"; id: number; compiledPath: string; fileloc: string; relative_fileloc: string };

export type FromImportChild =
  | { type: "ready" }
  | { type: "imported"; id: number; dags: SerializedDag[]; problems: ImportProblem[] };

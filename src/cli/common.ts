// What most command handlers need: the config, a current store, a DAG by id, dates from flags.
import { loadConfig, type Config } from "../config.ts";
import { OrchError } from "../errors.ts";
import { toSchedulable, type SchedulableDag } from "../scheduler/dag-bag.ts";
import type { SerializedDag } from "../serialization/serialized-dag.ts";
import { openCurrentStore, type Store } from "../store/index.ts";

export async function withStore<T>(fn: (store: Store, config: Config) => Promise<T>): Promise<T> {
  const config = loadConfig();
  const store = await openCurrentStore(config);
  try {
    return await fn(store, config);
  } finally {
    await store.close();
  }
}

/** The error for an unknown DAG id. The likeliest cause is a file that does not import, so it
 *  names those files rather than only saying "not found". */
export async function dagNotFound(store: Store, dagId: string): Promise<OrchError> {
  const errors = await store.db.selectFrom("import_error").select(["filename", "line", "stacktrace"]).orderBy("filename").execute();
  const hint = errors.length
    ? `; files that could not be loaded:\n${errors.map((e) => `  ${e.filename}${e.line ? `:${e.line}` : ""}: ${e.stacktrace.split("\n")[0]}`).join("\n")}`
    : "; `orch dags list` shows the DAGs orch knows";
  return new OrchError("ORCH_NOT_FOUND", `DAG "${dagId}" not found${hint}`, { dag_id: dagId });
}

export async function requireDag(store: Store, dagId: string): Promise<SchedulableDag> {
  const row = await store.db.selectFrom("serialized_dag").selectAll().where("dag_id", "=", dagId).executeTakeFirst();
  if (!row) throw await dagNotFound(store, dagId);
  return toSchedulable(JSON.parse(row.data) as SerializedDag, row.dag_hash, row.fileloc);
}

/** A date flag: YYYY-MM-DD or a full ISO-8601 timestamp (UTC unless it names an offset). */
export function parseDateArg(value: string, flag: string): Date {
  const v = /^\d{4}-\d{2}-\d{2}$/.test(value) ? `${value}T00:00:00Z` : /[zZ]|[+-]\d{2}:?\d{2}$/.test(value) ? value : `${value}Z`;
  const d = new Date(v);
  if (Number.isNaN(d.getTime())) {
    throw new OrchError("ORCH_USAGE", `${flag}: "${value}" is not a date; use YYYY-MM-DD or an ISO-8601 timestamp such as 2024-01-01T06:00:00+00:00`, { flag, value });
  }
  return d;
}

export function parseConfArg(value: string | undefined): Record<string, unknown> {
  if (value === undefined) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch (e) {
    throw new OrchError("ORCH_USAGE", `--conf: not valid JSON (${(e as Error).message}); example: --conf '{"month": "2024-01"}'`, { flag: "--conf" });
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new OrchError("ORCH_USAGE", `--conf must be a JSON object, e.g. '{"month": "2024-01"}'`, { flag: "--conf" });
  }
  return parsed as Record<string, unknown>;
}

// Lookups every resource module needs, with Airflow's 404 wording.
import { toSchedulable, type SchedulableDag } from "../../scheduler/dag-bag.ts";
import type { SerializedDag } from "../../serialization/serialized-dag.ts";
import { getDagRun } from "../../store/dag-runs.ts";
import { getDag, getSerializedDagRow } from "../../store/dags.ts";
import type { Store } from "../../store/index.ts";
import type { DagRow, DagRunRow } from "../../store/schema.ts";
import { notFound } from "../http-error.ts";

export async function requireDagRow(store: Store, dagId: string): Promise<DagRow> {
  const d = await getDag(store.db, dagId);
  if (!d) throw notFound(`The Dag with ID: \`${dagId}\` was not found`);
  return d;
}

export async function requireSchedulable(store: Store, dagId: string): Promise<SchedulableDag> {
  const row = await getSerializedDagRow(store.db, dagId);
  if (!row) throw notFound(`The Dag with ID: \`${dagId}\` was not found`);
  return toSchedulable(JSON.parse(row.data) as SerializedDag, row.dag_hash, row.fileloc);
}

export async function requireRun(store: Store, dagId: string, runId: string): Promise<DagRunRow> {
  const r = await getDagRun(store.db, dagId, runId);
  if (!r) throw notFound(`The DagRun with dag_id: \`${dagId}\` and run_id: \`${runId}\` was not found`);
  return r;
}

/** `~` in a path means "any" (Airflow's wildcard for list endpoints). */
export function orAny(v: string): string | undefined {
  return v === "~" ? undefined : v;
}

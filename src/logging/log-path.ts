// Where one task attempt's log lives: Airflow's default log_filename_template,
//   dag_id={{ ti.dag_id }}/run_id={{ ti.run_id }}/task_id={{ ti.task_id }}/
//   {% if ti.map_index >= 0 %}map_index={{ ti.map_index }}/{% endif %}attempt={{ try_number }}.log
// Ids are kept as they are (run ids hold ':' and '+', as in Airflow's paths), except what could
// leave the folder: '/' and '\' are percent-encoded, and '%' too so that encoding is unambiguous.
import { resolve, sep } from "node:path";
import { OrchError } from "../errors.ts";

export interface TaskLogKey {
  dag_id: string;
  run_id: string;
  task_id: string;
  /** -1 (or omitted) for an unmapped task. */
  map_index?: number;
  try_number: number;
}

export function taskLogPath(baseLogFolder: string, key: TaskLogKey): string {
  const mapIndex = key.map_index ?? -1;
  if (!Number.isInteger(mapIndex) || mapIndex < -1) invalid("map_index", String(key.map_index));
  if (!Number.isInteger(key.try_number) || key.try_number < 0) invalid("try_number", String(key.try_number));
  const base = resolve(baseLogFolder);
  const parts = [
    base,
    `dag_id=${segment("dag_id", key.dag_id)}`,
    `run_id=${segment("run_id", key.run_id)}`,
    `task_id=${segment("task_id", key.task_id)}`,
  ];
  if (mapIndex >= 0) parts.push(`map_index=${mapIndex}`);
  parts.push(`attempt=${key.try_number}.log`);
  const path = parts.join(sep);
  // Belt and braces: whatever the ids were, the result must stay under the base folder.
  if (!resolve(path).startsWith(base + sep)) invalid("path", path);
  return path;
}

function segment(field: string, value: string): string {
  if (typeof value !== "string" || value === "" || value === "." || value === ".." || value.includes("\0")) {
    invalid(field, String(value));
  }
  return value.replace(/[%/\\]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

function invalid(field: string, value: string): never {
  throw new OrchError("ORCH_LOG_PATH_INVALID", `task log path: ${field} ${JSON.stringify(value)} is not usable in a file path`, {
    field,
    value,
  });
}

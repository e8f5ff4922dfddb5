// XCom carries references, not data: values must be JSON and small. Checked in the worker, so a
// bad value fails the try with a message instead of reaching the store.
import { OrchError } from "../errors.ts";

/** Where `v` stops being JSON (a path such as `$.rows[3].when`), or null when all of it is JSON. */
export function findNonJson(v: unknown, path = "$", seen = new Set<object>()): string | null {
  if (v === null || typeof v === "string" || typeof v === "boolean") return null;
  if (typeof v === "number") return Number.isFinite(v) ? null : `${path} is ${v}`;
  if (typeof v === "bigint") return `${path} is a BigInt (convert it to a number or a string)`;
  if (typeof v === "undefined") return `${path} is undefined`;
  if (typeof v === "function") return `${path} is a function`;
  if (typeof v === "symbol") return `${path} is a symbol`;
  if (seen.has(v as object)) return `${path} is a circular reference`;
  seen.add(v as object);
  try {
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) {
        const bad = findNonJson(v[i], `${path}[${i}]`, seen);
        if (bad) return bad;
      }
      return null;
    }
    const proto = Object.getPrototypeOf(v) as unknown;
    if (proto !== Object.prototype && proto !== null) {
      const name = (v as { constructor?: { name?: string } }).constructor?.name ?? "object";
      return `${path} is a ${name}${name === "Date" ? " (return date.toISOString())" : ""}`;
    }
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
      if (x === undefined) continue; // JSON drops undefined properties, as JSON.stringify does
      const bad = findNonJson(x, `${path}.${k}`, seen);
      if (bad) return bad;
    }
    return null;
  } finally {
    seen.delete(v as object);
  }
}

export function checkXcomValue(taskId: string, key: string, value: unknown, maxBytes: number): void {
  const bad = findNonJson(value);
  if (bad) {
    throw new OrchError("ORCH_XCOM_NOT_JSON", `task ${taskId}: XCom "${key}" is not JSON: ${bad}. XCom values must be JSON (null, booleans, numbers, strings, arrays, plain objects)`, {
      task_id: taskId,
      key,
    });
  }
  const bytes = Buffer.byteLength(JSON.stringify(value), "utf8");
  if (bytes > maxBytes) {
    throw new OrchError(
      "ORCH_XCOM_TOO_LARGE",
      `task ${taskId}: XCom "${key}" is ${bytes} bytes, over the ${maxBytes}-byte limit ([core] max_xcom_size). ` +
        "XCom carries references, not data: write the data to a file or a table and return its path or name",
      { task_id: taskId, key, bytes, maxBytes },
    );
  }
}

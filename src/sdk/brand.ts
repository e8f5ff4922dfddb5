// Symbol brands: SDK objects are recognised by a registered symbol, not `instanceof`, so a DAG file
// that bundled its own copy of the SDK (or a second orch on the path) still matches.

export const DAG_BRAND: unique symbol = Symbol.for("orch.dag") as never;
export const TASK_BRAND: unique symbol = Symbol.for("orch.task") as never;
export const TASKFN_BRAND: unique symbol = Symbol.for("orch.taskfn") as never;
export const TASKGROUP_BRAND: unique symbol = Symbol.for("orch.taskgroup") as never;
export const XCOMARG_BRAND: unique symbol = Symbol.for("orch.xcomarg") as never;
export const GROUPARG_BRAND: unique symbol = Symbol.for("orch.grouparg") as never;
export const PARAM_BRAND: unique symbol = Symbol.for("orch.param") as never;
export const ASSET_BRAND: unique symbol = Symbol.for("orch.asset") as never;
export const TIMETABLE_BRAND: unique symbol = Symbol.for("orch.timetable") as never;

export function hasBrand(v: unknown, brand: symbol): boolean {
  return (typeof v === "object" || typeof v === "function") && v !== null && (v as Record<symbol, unknown>)[brand] === true;
}

/**
 * orch's DAG-authoring API: what `import { ... } from "orch"` gives a DAG file.
 *
 * ```ts
 * import { dag, task, bash, empty, chain, Param } from "orch";
 *
 * export default dag({ dag_id: "etl", schedule: "@daily", start_date: "2024-01-01" }, () => {
 *   const extract = task({ task_id: "extract" }, async (ctx) => ctx.params.limit);
 *   const double = task({ task_id: "double" }, async (n: number) => n * 2);
 *   double(extract()).then(bash({ task_id: "report", command: "echo {{ ds }}" }));
 * });
 * ```
 *
 * - `dag(options, body)`: body runs at once and creates tasks; the DAG is checked on the spot.
 * - `task(opts, fn)` returns a function; calling it adds the task and returns its output (an
 *   XComArg). Passing an output as an argument wires the edge and passes the value. `fn` receives
 *   the call's arguments, then the context (`ctx`) as its last argument.
 * - `task.branch`, `task.short_circuit`, `bash`, `empty`: Airflow's branch, short-circuit,
 *   BashOperator, EmptyOperator. `a.then(b)`, `a.then([b, c])`, `chain(a, [b, c], d)` add edges.
 * - `taskGroup(opts, () => ...)` groups tasks; with a body taking arguments it returns a group
 *   function, mapped with `.expand({ x: [...] })` (one instance of every task inside per element,
 *   released index by index).
 * - Schedules: cron strings, presets, "@once", null, durations ({ hours: 6 }), timetable objects
 *   (CronTriggerTimetable, ...) and Assets.
 *
 * The module registers itself under `globalThis[Symbol.for("orch.sdk")]`: DAG files compiled by
 * orch read the SDK from there, so every DAG shares the running orch's single SDK instance.
 */
import * as sdk from "./api.ts";

export * from "./api.ts";

const SDK_KEY = Symbol.for("orch.sdk");
const g = globalThis as Record<symbol, unknown>;
// The first SDK loaded wins: a second copy (another bundle) must not replace the instance whose
// brands and collector the running orch already uses.
if (!g[SDK_KEY]) g[SDK_KEY] = sdk;

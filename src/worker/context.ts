// The task's context, built in the worker from the run-task request: one object for TaskFlow
// code (the SDK's TaskContext, plus `log`) and the same data for templates.
import { inspect } from "node:util";
import type { TaskContext } from "../sdk/context.ts";
import { buildTemplateContext, type TemplateContext } from "../templating/index.ts";
import type { RunTaskRequest } from "./protocol.ts";

type Level = "INFO" | "WARNING" | "ERROR";

const date = (iso: string | null) => (iso ? new Date(iso) : null);

export function buildTaskContext(
  request: RunTaskRequest,
  pushed: { key: string; value: unknown }[],
  log: (line: string, level?: Level) => void,
): { ctx: TaskContext; templateContext: TemplateContext } {
  const r = request.dagRun;
  const templateContext = buildTemplateContext({
    dag_id: request.dagId,
    run_id: request.runId,
    run_type: r.run_type,
    logical_date: date(r.logical_date),
    data_interval_start: date(r.data_interval_start),
    data_interval_end: date(r.data_interval_end),
    run_after: date(r.run_after),
    start_date: date(r.start_date),
    conf: r.conf,
    params: request.params,
    task_id: request.taskId,
    try_number: request.tryNumber,
    map_index: request.mapIndex,
    xcoms: request.xcoms,
    variables: request.variables,
    connections: request.connections,
    push: (key, value) => {
      const i = pushed.findIndex((p) => p.key === key);
      if (i >= 0) pushed.splice(i, 1);
      pushed.push({ key, value });
    },
  });
  const fmt = (args: unknown[]) => args.map((a) => (typeof a === "string" ? a : inspect(a, { depth: 4 }))).join(" ");
  const ctx = {
    ...templateContext,
    log: {
      debug: (...a: unknown[]) => log(fmt(a)),
      info: (...a: unknown[]) => log(fmt(a)),
      warning: (...a: unknown[]) => log(fmt(a), "WARNING"),
      error: (...a: unknown[]) => log(fmt(a), "ERROR"),
    },
  } as unknown as TaskContext;
  return { ctx, templateContext };
}

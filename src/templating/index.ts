// Templating: Airflow's Jinja templates on nunjucks and the task context they render against.
export { renderTemplate, renderFields } from "./render.ts";
export type { RenderContext } from "./render.ts";
export { buildTemplateContext, pickXcoms } from "./context.ts";
export { findTemplateReferences, emptyReferences } from "./references.ts";
export type { TemplateReferences, XcomReference } from "./references.ts";
export type {
  ConnectionAccessor, ConnectionInfo, ConnectionView, DagRunContext, TaskInstanceContext, TemplateContext,
  TemplateContextInput, VariableAccessor, VariableView, XComEntry,
} from "./context.ts";
export { buildMacros, dsAdd, dsFormat, timedelta, pythonJsonDumps } from "./macros.ts";
export type { Macros, TimeDelta } from "./macros.ts";
export { PyDate, isoformat, strftime, strptime, toPyDate } from "./python-datetime.ts";
export type { WallTime } from "./python-datetime.ts";
export { StrictUndefined, UndefinedError } from "./strict.ts";

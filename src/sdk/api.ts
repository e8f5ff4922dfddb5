// Everything the SDK exports (index.ts adds the global registration).
export { dag, isDag, collectDags, findCycle, parseDagDate } from "./dag.ts";
export { task, bash, empty, chain, isTask, isXComArg, findXComArgs, resolveXComArgs, ID_PATTERN } from "./tasks.ts";
export { isGroupArg } from "./group-args.ts";
export { taskGroup, isTaskGroup } from "./task-group.ts";
export type { BranchResult } from "./tasks.ts";
export { Param, isParam } from "./param.ts";
export type { ParamSpec, ParamSchemaOptions, ParamsInput } from "./param.ts";
export {
  Asset,
  AssetAll,
  AssetAny,
  isAsset,
  CronTriggerTimetable,
  MultipleCronTriggerTimetable,
  CronDataIntervalTimetable,
  DeltaTriggerTimetable,
  DeltaDataIntervalTimetable,
  CRON_PRESETS,
  describeDuration,
} from "./schedule.ts";
export type { Schedule, TimetableObject, AssetExpression, CronTriggerOptions } from "./schedule.ts";
export type { AssetRef, AssetCondition, Duration, TimetableSpec } from "./timetable-spec.ts";
export { TriggerRule, TRIGGER_RULES, isTriggerRule } from "./trigger-rule.ts";
export type { TriggerRuleName } from "./trigger-rule.ts";
export { DagDefinitionError } from "./errors.ts";
export type {
  TaskContext,
  CallbackContext,
  ConnectionInfo,
  DagRunInfo,
  TaskInstanceHandle,
  VariableAccessor,
  ConnectionAccessor,
  Macros,
  TaskLogger,
  ParamValues,
  TaskCallback,
  TaskCallbacks,
} from "./context.ts";
export type {
  Dag,
  DagOptions,
  DagCallback,
  DefaultArgs,
  Task,
  CallableTask,
  BashTask,
  EmptyTask,
  TaskKind,
  TaskFn,
  XComArg,
  ArgInput,
  Dependable,
  Chainable,
  TaskGroup,
  TaskGroupOptions,
  TaskGroupFn,
  TaskGroupPartial,
  GroupArg,
  GroupArgs,
  GroupExpandArgs,
  GroupExpandKwargs,
  ArgValue,
  Reduced,
  TeardownOptions,
  PastDependsOptions,
  BaseTaskOptions,
  TaskFlowOptions,
  BashOptions,
  BashCommand,
  EmptyOptions,
  CallArgs,
} from "./types.ts";
export { AirflowSkipException, AirflowFailException } from "./signals.ts";
export { Variable, Connection, SecretNotFoundError } from "./secrets.ts";
export type { VariableGetOptions, VariableApi, ConnectionHandle } from "./secrets.ts";
export {
  DateTimeTrigger,
  TimeDeltaTrigger,
  FileTrigger,
  HttpTrigger,
  ExternalTaskTrigger,
  DagRunTrigger,
  AssetEventTrigger,
  TaskDeferred,
  isDeferSignal,
} from "./triggers.ts";
export type { TriggerSpec, TriggerClasspath, DeferOptions } from "./triggers.ts";
export type { ResumeMethod } from "./types.ts";
export type { OutletEventAccessor, AssetEventInfo } from "./context.ts";
export { sensor, timeDeltaSensor, dateTimeSensor, fileSensor, httpSensor, externalTaskSensor, AirflowSensorTimeout, RescheduleSignal } from "./sensors.ts";
export type { SensorOptions, PokeResult, ExternalTaskSensorOptions } from "./sensors.ts";
export { triggerDagRun } from "./trigger-dag-run.ts";
export type { TriggerDagRunOptions } from "./trigger-dag-run.ts";

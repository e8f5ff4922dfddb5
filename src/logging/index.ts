// Task logs: one file per task attempt under [logging] base_log_folder, in Airflow's layout and line
// format, with secrets masked. Glossary:
//   attempt     one try of a task instance (try_number); one log file each
//   masker      the set of secret values (and key names) hidden as "***" before a line is written
//   offset      a byte position in a log file; readTaskLog returns the next one for tailing
export { taskLogPath, type TaskLogKey } from "./log-path.ts";
export { openTaskLog, makeTaskLogFolder, formatLogTimestamp, type TaskLog, type LogLevel, type OpenTaskLogOptions } from "./task-log.ts";
export { readTaskLog, type ReadTaskLogOptions, type TaskLogChunk } from "./read-log.ts";
export {
  createSecretsMasker,
  shouldMaskKey,
  DEFAULT_SENSITIVE_FIELDS,
  MIN_LENGTH_TO_MASK,
  MASK,
  type SecretsMasker,
  type SecretsMaskerOptions,
  type SecretValue,
} from "./secrets-masker.ts";

// /api/v2/dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances/{task_id}/logs/{try_number}: one try's
// log, as JSON ({content: [StructuredLogMessage], continuation_token}) or, with
// `Accept: application/x-ndjson`, as a stream of one JSON object per line that follows a running
// try until it ends (or the client goes away). The continuation token is the byte offset to go on
// from; a file that is read in pieces never splits a line.
import { Hono } from "hono";
import { stream } from "hono/streaming";
import { getTaskInstanceWithRun } from "../../store/listings.ts";
import { taskLogPath } from "../../logging/log-path.ts";
import { readTaskLog } from "../../logging/read-log.ts";
import { DAG_ACCESS } from "../auth/roles.ts";
import { requireAccess, type ApiDeps, type ApiEnv } from "../context.ts";
import { badRequest, notFound, validationError } from "../http-error.ts";
import { boolParam, intParam, strParam } from "../query.ts";
import { requireRun } from "./common.ts";
import { followTaskLog } from "../log-follow.ts";

// [2024-01-01T00:00:00.123+0000] {source} LEVEL - message
const LINE = /^\[(\d{4}-\d{2}-\d{2}T[\d:.]+[+-]\d{4})\] \{([^}]*)\} ([A-Z]+) - (.*)$/;

export interface StructuredLogMessage {
  timestamp?: string;
  event: string;
  level?: string;
  logger?: string;
}

export function parseLogLines(text: string): StructuredLogMessage[] {
  const out: StructuredLogMessage[] = [];
  for (const line of text.split("\n")) {
    if (line === "") continue;
    const m = LINE.exec(line);
    if (m) {
      const ts = m[1].replace(/([+-]\d{2})(\d{2})$/, "$1:$2");
      out.push({ timestamp: ts, event: m[4], level: m[3].toLowerCase(), logger: m[2] });
    } else out.push({ event: line });
  }
  return out;
}

function encodeToken(offset: number): string {
  return Buffer.from(JSON.stringify({ log_pos: offset })).toString("base64url");
}

function decodeToken(token: string): number {
  try {
    const v = JSON.parse(Buffer.from(token, "base64url").toString("utf8")) as { log_pos?: unknown };
    if (typeof v.log_pos === "number" && Number.isInteger(v.log_pos) && v.log_pos >= 0) return v.log_pos;
  } catch {
    // fall through
  }
  throw badRequest("token: not a continuation_token this server handed out");
}

export function logRoutes(deps: ApiDeps): Hono<ApiEnv> {
  const r = new Hono<ApiEnv>();
  const { store } = deps;
  const baseFolder = deps.config.getString("logging", "base_log_folder");
  r.use("/dags/*", requireAccess(DAG_ACCESS));

  r.get("/dags/:dag_id/dagRuns/:dag_run_id/taskInstances/:task_id/logs/:try_number", async (c) => {
    const dagId = c.req.param("dag_id");
    const runId = c.req.param("dag_run_id");
    const taskId = c.req.param("task_id");
    const rawTry = c.req.param("try_number");
    if (!/^\d{1,9}$/.test(rawTry)) throw validationError([{ loc: ["path", "try_number"], msg: "Input should be a valid integer, unable to parse string as an integer", type: "int_parsing" }]);
    const tryNumber = Number(rawTry);
    const mapIndex = intParam(c, "map_index", { default: -1, min: -1 }) ?? -1;
    const fullContent = boolParam(c, "full_content", false) ?? false;
    const token = strParam(c, "token");
    const ti = await getTaskInstanceWithRun(store.db, dagId, runId, taskId, mapIndex);
    if (!ti) {
      await requireRun(store, dagId, runId);
      throw notFound(`TaskInstance with dag_id: \`${dagId}\`, run_id: \`${runId}\`, task_id: \`${taskId}\` and map_index: \`${mapIndex}\` was not found`);
    }
    if (tryNumber < 1 || tryNumber > Math.max(ti.try_number, 1)) {
      throw notFound(`Task instance ${taskId} of ${runId} has no try ${tryNumber} (it is at try ${ti.try_number})`);
    }
    const path = taskLogPath(baseFolder, { dag_id: dagId, run_id: runId, task_id: taskId, map_index: mapIndex, try_number: tryNumber });
    const start = token && !fullContent ? decodeToken(token) : 0;
    const accept = (c.req.header("accept") ?? "").toLowerCase();

    if (!accept.includes("application/x-ndjson")) {
      const chunk = await readTaskLog(path, { offset: start, maxBytes: fullContent ? 64 * 1024 * 1024 : undefined });
      const content = chunk.exists ? parseLogLines(chunk.content) : [{ event: `*** Log file does not exist: ${path}` }];
      return c.json({ content, continuation_token: encodeToken(chunk.nextOffset) });
    }

    c.header("Content-Type", "application/x-ndjson");
    return stream(c, async (s) => {
      let aborted = false;
      s.onAbort(() => {
        aborted = true;
      });
      const target = { dagId, runId, taskId, mapIndex, tryNumber, path };
      await followTaskLog(store, target, start, async (text) => {
        for (const m of parseLogLines(text)) await s.write(`${JSON.stringify(m)}\n`);
      }, () => aborted);
    });
  });
  return r;
}

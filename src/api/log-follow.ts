// Following one try's log while it runs, shared by the REST API's ndjson stream and the status
// page's server-sent events: read what was written since the last offset, and when nothing new
// came, stop once the try is over (after one more read, for its last lines).
import { readTaskLog } from "../logging/read-log.ts";
import type { Store } from "../store/index.ts";
import { getTaskInstanceWithRun } from "../store/listings.ts";

/** States in which a try may still write to its log. */
export const LIVE_TI_STATES: ReadonlySet<string> = new Set(["queued", "running", "deferred", "up_for_reschedule", "restarting"]);

const FOLLOW_POLL_MS = 250;
const FOLLOW_MAX_MS = 6 * 3600_000;

export interface FollowTarget {
  dagId: string;
  runId: string;
  taskId: string;
  mapIndex: number;
  tryNumber: number;
  path: string;
}

/** Whether the try is still under way (so its log may grow). */
export async function tryIsLive(store: Store, t: Omit<FollowTarget, "path">): Promise<boolean> {
  const now = await getTaskInstanceWithRun(store.db, t.dagId, t.runId, t.taskId, t.mapIndex);
  return now !== undefined && now.try_number === t.tryNumber && now.state !== null && LIVE_TI_STATES.has(now.state);
}

/** Calls `write` with each new piece of text from `offset` on (and the offset after it) until the
 *  try ends, `aborted()` says so, or six hours pass. */
export async function followTaskLog(
  store: Store,
  t: FollowTarget,
  offset: number,
  write: (text: string, nextOffset: number) => Promise<void>,
  aborted: () => boolean,
): Promise<void> {
  const until = Date.now() + FOLLOW_MAX_MS;
  for (;;) {
    const chunk = await readTaskLog(t.path, { offset });
    offset = chunk.nextOffset;
    if (chunk.content !== "") {
      await write(chunk.content, offset);
      continue;
    }
    if (!(await tryIsLive(store, t))) {
      const last = await readTaskLog(t.path, { offset });
      if (last.content !== "") await write(last.content, last.nextOffset);
      return;
    }
    if (aborted() || Date.now() > until) return;
    await new Promise((res) => setTimeout(res, FOLLOW_POLL_MS));
    if (aborted()) return;
  }
}

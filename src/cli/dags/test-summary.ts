// What `orch dags test` prints: each task's log lines as they arrive (prefixed with the task id),
// and a summary table in topological order whose reasons are wrapped, never cut.
import type { Executor } from "../../executor/local-executor.ts";
import type { SecretsMasker } from "../../logging/index.ts";
import type { SchedulableDag } from "../../scheduler/dag-bag.ts";
import type { TaskInstanceRow } from "../../store/schema.ts";

/** Task ids upstream first (Kahn's algorithm), ties in the DAG's own order. */
export function topologicalTaskIds(d: SchedulableDag): string[] {
  const order = d.dag.tasks.map((t) => t.task_id);
  const indegree = new Map(order.map((id) => [id, 0]));
  for (const t of d.dag.tasks) for (const down of t.downstream_task_ids) indegree.set(down, (indegree.get(down) ?? 0) + 1);
  const out: string[] = [];
  const ready = order.filter((id) => indegree.get(id) === 0);
  while (ready.length) {
    const id = ready.shift()!;
    out.push(id);
    for (const down of d.tasks.get(id)?.downstream_task_ids ?? []) {
      const n = (indegree.get(down) ?? 1) - 1;
      indegree.set(down, n);
      if (n === 0) ready.push(down);
    }
    ready.sort((a, b) => order.indexOf(a) - order.indexOf(b));
  }
  // A cycle cannot pass validation; keep any leftovers visible all the same.
  for (const id of order) if (!out.includes(id)) out.push(id);
  return out;
}

/** Splits text into lines of at most `width` characters, at spaces where it can. */
export function wrapText(text: string, width: number): string[] {
  const out: string[] = [];
  for (const para of text.split("\n")) {
    let line = "";
    for (const word of para.split(/ +/)) {
      let w = word;
      while (w.length > width) {
        if (line) {
          out.push(line);
          line = "";
        }
        out.push(w.slice(0, width));
        w = w.slice(width);
      }
      if (!line) line = w;
      else if (line.length + 1 + w.length <= width) line += ` ${w}`;
      else {
        out.push(line);
        line = w;
      }
    }
    out.push(line);
  }
  return out;
}

/** The summary table; the reason column takes what the terminal width leaves and wraps. */
export function formatSummary(d: SchedulableDag, tis: readonly TaskInstanceRow[], opts: { columns: number; mask: (s: string) => string }): string {
  const rank = new Map(topologicalTaskIds(d).map((id, i) => [id, i]));
  const rows = [...tis]
    .sort((a, b) => (rank.get(a.task_id) ?? 1e9) - (rank.get(b.task_id) ?? 1e9) || a.map_index - b.map_index)
    .map((t) => [
      t.map_index >= 0 ? `${t.task_id}[${t.map_index}]` : t.task_id,
      t.state ?? "none",
      String(t.try_number),
      t.duration === null ? "" : `${t.duration.toFixed(2)}s`,
      t.state_reason ? opts.mask(t.state_reason) : "",
    ]);
  const head = ["task_id", "state", "try", "duration", "reason"];
  const widths = head.slice(0, 4).map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const used = widths.reduce((a, b) => a + b + 3, 0);
  const reasonWidth = Math.max(30, opts.columns - used);
  const line = (cells: string[]) => cells.map((c, i) => (i < 4 ? c.padEnd(widths[i]) : c)).join(" | ").trimEnd();
  const out = [line(head), [...widths, Math.min(reasonWidth, Math.max(6, ...rows.map((r) => r[4].length)))].map((w) => "=".repeat(w)).join("=+=")];
  for (const r of rows) {
    const reason = r[4] ? wrapText(r[4], reasonWidth) : [""];
    out.push(line([...r.slice(0, 4), reason[0]]));
    for (const more of reason.slice(1)) out.push(line(["", "", "", "", more]));
  }
  return out.join("\n");
}

/** An executor that also prints each log line, masked, as the worker sends it; and a failed
 *  try's error, which the scheduler writes to the log file only after the worker is done. */
export function streamingExecutor(inner: Executor, masker: SecretsMasker, write: (s: string) => void): Executor {
  return {
    get parallelism() {
      return inner.parallelism;
    },
    freeSlots: () => inner.freeSlots(),
    warm: () => inner.warm(),
    stop: (graceMs) => inner.stop(graceMs),
    reserve: (tiId) => inner.reserve(tiId),
    release: (tiId) => inner.release(tiId),
    terminate: (tiId, graceMs) => inner.terminate(tiId, graceMs),
    async execute(request, log, answer) {
      const prefix = `[${request.taskId}${request.mapIndex >= 0 ? `[${request.mapIndex}]` : ""}] `;
      write(`${prefix}attempt ${request.tryNumber} started\n`);
      const outcome = await inner.execute(request, (line, level) => {
        log(line, level);
        write(`${prefix}${level === "INFO" ? "" : `${level} `}${masker.mask(line)}\n`);
      }, answer);
      if (outcome.state === "failed") {
        for (const l of masker.mask(outcome.error.stack ?? outcome.error.message).split("\n")) write(`${prefix}ERROR ${l}\n`);
      }
      write(`${prefix}attempt ${request.tryNumber}: ${outcome.state}\n`);
      return outcome;
    },
  };
}

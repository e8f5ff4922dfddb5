// Text and Graphviz renderings of a serialized DAG's tasks, for `dags show` and `tasks list --tree`.
import type { SerializedDag, SerializedTask } from "../../serialization/serialized-dag.ts";

/** An indented tree from the roots down (a task under several parents appears under each). */
export function renderTree(dag: SerializedDag): string {
  const byId = new Map(dag.tasks.map((t) => [t.task_id, t]));
  const lines: string[] = [];
  const label = (t: SerializedTask) => `<Task(${t.operator}): ${t.task_id}>${t.trigger_rule === "all_success" ? "" : ` [${t.trigger_rule}]`}`;
  const walk = (t: SerializedTask, depth: number) => {
    lines.push(`${"    ".repeat(depth)}${label(t)}`);
    for (const id of t.downstream_task_ids) {
      const d = byId.get(id);
      if (d) walk(d, depth + 1);
    }
  };
  for (const t of dag.tasks) if (t.upstream_task_ids.length === 0) walk(t, 0);
  return lines.join("\n");
}

function dotId(s: string): string {
  return JSON.stringify(s);
}

export function renderDot(dag: SerializedDag): string {
  const lines = [`digraph ${dotId(dag.dag_id)} {`, "  rankdir=LR;", "  node [shape=box, style=rounded];"];
  for (const t of dag.tasks) lines.push(`  ${dotId(t.task_id)} [label=${dotId(`${t.task_id}\n${t.operator}`)}];`);
  for (const t of dag.tasks) for (const d of t.downstream_task_ids) lines.push(`  ${dotId(t.task_id)} -> ${dotId(d)};`);
  lines.push("}");
  return lines.join("\n");
}

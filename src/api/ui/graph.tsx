// The DAG's tasks as a server-rendered SVG: dagre lays the graph out left to right (layers,
// crossing reduction, edge routes); each box is coloured by its task instance's state in one run
// and links to that try. A layout depends only on the DAG's structure, so it is cached by the
// serialized DAG's hash (a 30-task layout costs a few milliseconds; a cached one nothing).
import dagre from "@dagrejs/dagre";
import type { FC } from "hono/jsx";
import type { SerializedTask } from "../../serialization/serialized-dag.ts";
import { stateClass } from "./components.tsx";

interface Box {
  id: string;
  x: number;
  y: number;
  w: number;
  h: number;
}

interface Layout {
  width: number;
  height: number;
  boxes: Box[];
  edges: { from: string; to: string; points: { x: number; y: number }[] }[];
}

const NODE_H = 34;
const CHAR_W = 7.2;
const cache = new Map<string, Layout>();

export function layoutTasks(tasks: readonly SerializedTask[], key?: string): Layout {
  const hit = key ? cache.get(key) : undefined;
  if (hit) return hit;
  const g = new dagre.graphlib.Graph();
  g.setGraph({ rankdir: "LR", nodesep: 14, ranksep: 48, marginx: 12, marginy: 12 });
  g.setDefaultEdgeLabel(() => ({}));
  const ids = new Set(tasks.map((t) => t.task_id));
  for (const t of tasks) g.setNode(t.task_id, { width: Math.min(260, 28 + t.task_id.length * CHAR_W), height: NODE_H });
  for (const t of tasks) for (const d of t.downstream_task_ids) if (ids.has(d)) g.setEdge(t.task_id, d);
  dagre.layout(g);
  const boxes = g.nodes().map((id: string) => {
    const n = g.node(id) as { x: number; y: number; width: number; height: number };
    return { id, x: n.x - n.width / 2, y: n.y - n.height / 2, w: n.width, h: n.height };
  });
  const edges = g.edges().map((e: { v: string; w: string }) => ({ from: e.v, to: e.w, points: ((g.edge(e) as { points?: { x: number; y: number }[] }).points ?? []).slice() }));
  const graph = g.graph() as { width?: number; height?: number };
  const out: Layout = { width: Math.ceil(graph.width ?? 100), height: Math.ceil(graph.height ?? 60), boxes, edges };
  if (key) {
    if (cache.size > 500) cache.clear();
    cache.set(key, out);
  }
  return out;
}

function pathOf(points: { x: number; y: number }[]): string {
  if (points.length === 0) return "";
  const [first, ...rest] = points;
  return `M${first.x.toFixed(1)},${first.y.toFixed(1)}${rest.map((p) => ` L${p.x.toFixed(1)},${p.y.toFixed(1)}`).join("")}`;
}

export const TaskGraph: FC<{ tasks: readonly SerializedTask[]; cacheKey?: string; states: ReadonlyMap<string, string | null>; href?: (taskId: string) => string }> = ({ tasks, cacheKey, states, href }) => {
  if (tasks.length === 0) return <p class="muted">This DAG has no tasks.</p>;
  const l = layoutTasks(tasks, cacheKey);
  return (
    <svg class="graph" xmlns="http://www.w3.org/2000/svg" width={l.width} height={l.height} viewBox={`0 0 ${l.width} ${l.height}`} role="img" aria-label="Task graph">
      <defs>
        <marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
          <path d="M 0 0 L 10 5 L 0 10 z" class="arrowhead" />
        </marker>
      </defs>
      {l.edges.map((e) => (
        <path d={pathOf(e.points)} marker-end="url(#arrow)" />
      ))}
      {l.boxes.map((b) => {
        const state = states.get(b.id) ?? null;
        const box = (
          <g>
            <title>{`${b.id}: ${state ?? "no status"}`}</title>
            <rect class={`box ${stateClass(state)}`} x={b.x} y={b.y} width={b.w} height={b.h} rx="4" />
            <rect class={`bar ${stateClass(state)}`} x={b.x} y={b.y} width="6" height={b.h} rx="2" />
            <text x={b.x + 14} y={b.y + b.h / 2 + 4}>
              {b.id}
            </text>
          </g>
        );
        const link = href && states.has(b.id) ? href(b.id) : undefined;
        return link ? <a href={link}>{box}</a> : box;
      })}
    </svg>
  );
};

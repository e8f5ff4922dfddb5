// One DAG: the grid (runs x tasks, newest run on the right, each cell a link to its try), the task
// graph coloured by the latest run, its runs with conf and run type, details and doc_md.
import type { FC } from "hono/jsx";
import { raw } from "hono/html";
import type { SchedulableDag } from "../../../scheduler/dag-bag.ts";
import type { Store } from "../../../store/index.ts";
import type { DagRow, DagRunRow } from "../../../store/schema.ts";
import { listLatestRuns, listTaskInstancesOfRuns, type GridCell } from "../../../store/summaries.ts";
import type { AuthUser } from "../../context.ts";
import { dagUrl, fmtDate, fmtDuration, Layout, runDuration, runUrl, showJson, squaresHtml, StateLabel, stateClass, tiUrl } from "../components.tsx";
import { TaskGraph } from "../graph.tsx";
import { renderMarkdown } from "../markdown.ts";
import { canWrite } from "../session.ts";
import { PauseToggle, tagsOf } from "./dag-list.tsx";

export const GRID_RUNS = 25;

export interface DagPageData {
  dag: DagRow;
  sched: SchedulableDag;
  /** Oldest first. */
  runs: DagRunRow[];
  /** run_id -> task_id -> task instance */
  tis: Map<string, Map<string, GridCell>>;
}

export async function loadDagPage(store: Store, dag: DagRow, sched: SchedulableDag, runCount = GRID_RUNS): Promise<DagPageData> {
  const runs = await listLatestRuns(store.db, dag.dag_id, runCount);
  const tis = new Map<string, Map<string, GridCell>>();
  for (const r of runs) tis.set(r.run_id, new Map());
  for (const ti of await listTaskInstancesOfRuns(store.db, dag.dag_id, runs.map((r) => r.run_id))) {
    if (ti.map_index <= 0) tis.get(ti.run_id)?.set(ti.task_id, ti);
  }
  return { dag, sched, runs, tis };
}

/** Tasks upstream before downstream (Kahn's algorithm), ties in definition order: the grid's rows. */
export function taskOrder(sched: SchedulableDag): string[] {
  const tasks = sched.dag.tasks;
  const indeg = new Map(tasks.map((t) => [t.task_id, t.upstream_task_ids.filter((u) => sched.tasks.has(u)).length]));
  const out: string[] = [];
  const done = new Set<string>();
  while (out.length < tasks.length) {
    const next = tasks.find((t) => !done.has(t.task_id) && indeg.get(t.task_id) === 0) ?? tasks.find((t) => !done.has(t.task_id));
    if (!next) break;
    done.add(next.task_id);
    out.push(next.task_id);
    for (const d of next.downstream_task_ids) indeg.set(d, (indeg.get(d) ?? 1) - 1);
  }
  return out;
}

const isLive = (s: string | null) => s === "queued" || s === "running";

export const Grid: FC<{ data: DagPageData }> = ({ data }) => {
  const { runs, tis, sched, dag } = data;
  const live = runs.some((r) => isLive(r.state));
  return (
    <div id="grid" data-live={live ? "on" : "off"}>
      {runs.length === 0 ? (
        <p class="muted">No runs yet.</p>
      ) : (
        <table class="grid">
          <thead>
            <tr>
              <th class="task">Task</th>
              {runs.map((r) => (
                <th>
                  <a class={`runbar ${stateClass(r.state)}`} href={runUrl(dag.dag_id, r.run_id)} title={`${r.run_id}: ${r.state}`} data-run-id={r.run_id}></a>
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {taskOrder(sched).map((taskId) => (
              <tr data-task-id={taskId}>
                <td class="task mono">{taskId}</td>
                {squaresHtml(
                  runs.map((r) => {
                    const ti = tis.get(r.run_id)?.get(taskId);
                    return ti ? { state: ti.state, href: tiUrl(dag.dag_id, r.run_id, taskId), title: `${taskId}: ${ti.state ?? "no status"}`, wrap: "td" } : { state: null, title: "", wrap: "td" };
                  }),
                )}
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
};

const Details: FC<{ dag: DagRow; sched: SchedulableDag }> = ({ dag, sched }) => {
  const s = sched.dag;
  return (
    <dl class="details">
      <dt>Schedule</dt>
      <dd>
        {dag.timetable_description ?? s.timetable_summary} <span class="muted mono">({s.timetable_summary})</span>
      </dd>
      <dt>Next run</dt>
      <dd class="mono">{fmtDate(dag.next_dagrun_create_after)}</dd>
      <dt>Start date</dt>
      <dd class="mono">{fmtDate(s.start_date)}</dd>
      <dt>End date</dt>
      <dd class="mono">{fmtDate(s.end_date)}</dd>
      <dt>Catchup</dt>
      <dd>{s.catchup ? "yes" : "no"}</dd>
      <dt>Time zone</dt>
      <dd>{s.timezone}</dd>
      <dt>Owner</dt>
      <dd>{s.owner}</dd>
      <dt>Tags</dt>
      <dd>
        {tagsOf(dag).map((t) => (
          <span class="tag">{t}</span>
        ))}
      </dd>
      <dt>Max active runs / tasks</dt>
      <dd>
        {s.max_active_runs} / {s.max_active_tasks}
      </dd>
      <dt>File</dt>
      <dd class="mono">{dag.fileloc}</dd>
      <dt>Last parsed</dt>
      <dd class="mono">{fmtDate(dag.last_parsed_time)}</dd>
      <dt>Params</dt>
      <dd>
        {Object.keys(s.params).length === 0 ? (
          <span class="muted">none</span>
        ) : (
          <table>
            <thead>
              <tr>
                <th>Name</th>
                <th>Default</th>
                <th>Schema</th>
                <th>Description</th>
              </tr>
            </thead>
            <tbody>
              {Object.entries(s.params).map(([k, p]) => (
                <tr>
                  <td class="mono">{k}</td>
                  <td class="mono">{showJson(p.default, 300)}</td>
                  <td class="mono">{showJson(p.schema, 300)}</td>
                  <td>{p.description ?? ""}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </dd>
    </dl>
  );
};

export const RunsTable: FC<{ dagId: string; runs: DagRunRow[] }> = ({ dagId, runs }) => (
  <table id="runs">
    <thead>
      <tr>
        <th>Run</th>
        <th>State</th>
        <th>Type</th>
        <th>Logical date</th>
        <th>Started</th>
        <th>Duration</th>
        <th>Conf</th>
      </tr>
    </thead>
    <tbody>
      {[...runs].reverse().map((r) => (
        <tr>
          <td class="mono">
            <a href={runUrl(dagId, r.run_id)}>{r.run_id}</a>
          </td>
          <td>
            <StateLabel state={r.state} />
          </td>
          <td>{r.run_type}</td>
          <td class="mono">{fmtDate(r.logical_date)}</td>
          <td class="mono">{fmtDate(r.start_date)}</td>
          <td>{fmtDuration(runDuration(r))}</td>
          <td class="mono">{r.conf && r.conf !== "{}" ? showJson(JSON.parse(r.conf) as unknown, 300) : ""}</td>
        </tr>
      ))}
    </tbody>
  </table>
);

export const DagPage: FC<{ data: DagPageData; user: AuthUser; csrf: string }> = ({ data, user, csrf }) => {
  const { dag, sched, runs, tis } = data;
  const latest = runs[runs.length - 1];
  const states = new Map<string, string | null>();
  if (latest) for (const [id, ti] of tis.get(latest.run_id) ?? []) states.set(id, ti.state);
  const live = runs.some((r) => isLive(r.state));
  return (
    <Layout title={dag.dag_id} user={user} csrf={csrf} refresh={live}>
      <div class="crumbs">
        <a href="/dags">DAGs</a> /
      </div>
      <h1>
        {dag.dag_id} <PauseToggle dag={dag} csrf={csrf} back={dagUrl(dag.dag_id)} enabled={canWrite(user)} />{" "}
        {canWrite(user) ? (
          <a class="button primary" href={`${dagUrl(dag.dag_id)}/trigger`}>
            Trigger
          </a>
        ) : null}
      </h1>
      {dag.description ? <p>{dag.description}</p> : null}
      <p class="tabs">
        <a href="#grid-section">Grid</a>
        <a href="#graph-section">Graph</a>
        <a href="#runs-section">Runs</a>
        <a href="#details-section">Details</a>
        {sched.dag.doc_md ? <a href="#doc-section">Docs</a> : null}
      </p>
      <section id="grid-section">
        <h2>Grid</h2>
        <Grid data={data} />
      </section>
      <section id="graph-section">
        <h2>Graph {latest ? <span class="muted">(states of {latest.run_id})</span> : null}</h2>
        <div id="graph" data-live={live ? "on" : "off"}>
          <TaskGraph tasks={sched.dag.tasks} cacheKey={sched.dagHash} states={states} href={latest ? (t) => tiUrl(dag.dag_id, latest.run_id, t) : undefined} />
        </div>
      </section>
      <section id="runs-section">
        <h2>Runs</h2>
        <div id="runs-wrap" data-live={live ? "on" : "off"}>
          {runs.length ? <RunsTable dagId={dag.dag_id} runs={runs} /> : <p class="muted">No runs yet.</p>}
        </div>
      </section>
      <section id="details-section">
        <h2>Details</h2>
        <Details dag={dag} sched={sched} />
      </section>
      {sched.dag.doc_md ? (
        <section id="doc-section">
          <h2>Docs</h2>
          <div class="doc" id="doc-md">
            {raw(renderMarkdown(sched.dag.doc_md))}
          </div>
        </section>
      ) : null}
    </Layout>
  );
};

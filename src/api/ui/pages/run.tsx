// One DAG run: its task instances (state, tries, start, duration, and why a waiting one waits),
// with clear / mark success / mark failed for the run and for each task, each confirmed on a page
// that lists what will change.
import type { FC } from "hono/jsx";
import type { DagRunRow, TaskInstanceRow } from "../../../store/schema.ts";
import type { AuthUser } from "../../context.ts";
import { Csrf, dagUrl, enc, fmtDate, fmtDuration, Layout, runDuration, runUrl, showJson, StateLabel, tiUrl } from "../components.tsx";
import { canWrite } from "../session.ts";

const WAITING = new Set([null, "scheduled", "queued", "up_for_retry", "up_for_reschedule", "deferred", "upstream_failed", "skipped"]);

export const TaskActions: FC<{ run: DagRunRow; taskId: string; csrf: string }> = ({ run, taskId, csrf }) => (
  <form class="inline" method="post" action={`${runUrl(run.dag_id, run.run_id)}/tasks/${enc(taskId)}/action`} data-task-actions={taskId}>
    <Csrf token={csrf} />
    <label title="also the tasks downstream of this one">
      <input type="checkbox" name="downstream" value="true" /> downstream
    </label>{" "}
    <button type="submit" name="action" value="clear">
      Clear
    </button>{" "}
    <button type="submit" name="action" value="success">
      Mark success
    </button>{" "}
    <button type="submit" name="action" value="failed" class="danger">
      Mark failed
    </button>
  </form>
);

export const RunPage: FC<{ run: DagRunRow; tis: TaskInstanceRow[]; order: string[]; user: AuthUser; csrf: string }> = ({ run, tis, order, user, csrf }) => {
  const byTask = new Map(tis.map((t) => [t.task_id, t]));
  const rows = [...order.filter((id) => byTask.has(id)).map((id) => byTask.get(id) as TaskInstanceRow), ...tis.filter((t) => !order.includes(t.task_id))];
  const live = run.state === "queued" || run.state === "running";
  const write = canWrite(user);
  const conf = run.conf ? (JSON.parse(run.conf) as unknown) : {};
  return (
    <Layout title={run.run_id} user={user} csrf={csrf} refresh={live}>
      <div class="crumbs">
        <a href="/dags">DAGs</a> / <a href={dagUrl(run.dag_id)}>{run.dag_id}</a> /
      </div>
      <h1 class="mono">{run.run_id}</h1>
      <div id="run-summary" data-live={live ? "on" : "off"}>
        <dl class="details">
          <dt>State</dt>
          <dd data-run-state={run.state}>
            <StateLabel state={run.state} />
          </dd>
          <dt>Run type</dt>
          <dd>
            {run.run_type}
            {run.triggered_by ? <span class="muted"> (triggered by {run.triggered_by})</span> : null}
          </dd>
          <dt>Logical date</dt>
          <dd class="mono">{fmtDate(run.logical_date)}</dd>
          <dt>Data interval</dt>
          <dd class="mono">
            {fmtDate(run.data_interval_start)} → {fmtDate(run.data_interval_end)}
          </dd>
          <dt>Started / ended</dt>
          <dd class="mono">
            {fmtDate(run.start_date)} / {fmtDate(run.end_date)} ({fmtDuration(runDuration(run))})
          </dd>
          <dt>Conf</dt>
          <dd>
            <pre id="run-conf">{showJson(conf)}</pre>
          </dd>
          {run.note ? (
            <>
              <dt>Note</dt>
              <dd>{run.note}</dd>
            </>
          ) : null}
        </dl>
      </div>
      {write ? (
        <div id="run-actions">
          <form class="inline" method="post" action={`${runUrl(run.dag_id, run.run_id)}/clear`}>
            <Csrf token={csrf} />
            <button type="submit">Clear run</button>{" "}
            <label>
              <input type="checkbox" name="only_failed" value="true" /> only failed tasks
            </label>
          </form>{" "}
          ·{" "}
          <form class="inline" method="post" action={`${runUrl(run.dag_id, run.run_id)}/mark`}>
            <Csrf token={csrf} />
            <button type="submit" name="state" value="success">
              Mark run success
            </button>{" "}
            <button type="submit" name="state" value="failed" class="danger">
              Mark run failed
            </button>
          </form>
        </div>
      ) : null}
      <h2>Task instances</h2>
      <table id="task-instances" data-live={live ? "on" : "off"}>
        <thead>
          <tr>
            <th>Task</th>
            <th>State</th>
            <th>Try</th>
            <th>Started</th>
            <th>Duration</th>
            <th>Why</th>
            {write ? <th></th> : null}
          </tr>
        </thead>
        <tbody>
          {rows.map((ti) => (
            <tr data-task-id={ti.task_id} data-state={ti.state ?? "none"}>
              <td class="mono">
                <a href={tiUrl(run.dag_id, run.run_id, ti.task_id)}>{ti.task_id}</a>
              </td>
              <td>
                <StateLabel state={ti.state} />
              </td>
              <td>
                {ti.try_number} of {ti.max_tries + 1}
              </td>
              <td class="mono">{fmtDate(ti.start_date)}</td>
              <td>{fmtDuration(ti.duration ?? (ti.state === "running" ? runDuration(ti) : null))}</td>
              <td class="muted">{WAITING.has(ti.state) || ti.state === "failed" ? (ti.state_reason ?? "") : ""}</td>
              {write ? (
                <td>
                  <TaskActions run={run} taskId={ti.task_id} csrf={csrf} />
                </td>
              ) : null}
            </tr>
          ))}
        </tbody>
      </table>
    </Layout>
  );
};

export interface PlannedChange {
  taskId: string;
  from: string | null;
  to: string | null;
}

/** The confirmation step: what will change, and a form that does it (the same fields plus confirm). */
export const ConfirmPage: FC<{ title: string; what: string; run: DagRunRow; changes: PlannedChange[]; runChange?: { from: string; to: string }; action: string; fields: Record<string, string>; user: AuthUser; csrf: string }> = (p) => (
  <Layout title={p.title} user={p.user} csrf={p.csrf}>
    <div class="crumbs">
      <a href="/dags">DAGs</a> / <a href={dagUrl(p.run.dag_id)}>{p.run.dag_id}</a> / <a href={runUrl(p.run.dag_id, p.run.run_id)}>{p.run.run_id}</a> /
    </div>
    <h1>{p.title}</h1>
    <p>{p.what}</p>
    {p.runChange ? (
      <p id="run-change">
        The run goes from <StateLabel state={p.runChange.from} /> to <StateLabel state={p.runChange.to} />.
      </p>
    ) : null}
    {p.changes.length === 0 ? (
      <p class="notice" id="no-changes">
        No task instance changes{p.runChange ? "" : ": there is nothing to do"}.
      </p>
    ) : (
      <table id="changes">
        <thead>
          <tr>
            <th>Task</th>
            <th>Now</th>
            <th>Becomes</th>
          </tr>
        </thead>
        <tbody>
          {p.changes.map((c) => (
            <tr data-task-id={c.taskId}>
              <td class="mono">{c.taskId}</td>
              <td>
                <StateLabel state={c.from} />
              </td>
              <td>
                <StateLabel state={c.to} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    )}
    <div>
      <form class="inline" method="post" action={p.action}>
        <Csrf token={p.csrf} />
        {Object.entries(p.fields).map(([k, v]) => (
          <input type="hidden" name={k} value={v} />
        ))}
        <input type="hidden" name="confirm" value="yes" />
        <button type="submit" class="primary" disabled={p.changes.length === 0 && !p.runChange}>
          Confirm
        </button>
      </form>{" "}
      <a href={runUrl(p.run.dag_id, p.run.run_id)}>Cancel</a>
    </div>
  </Layout>
);

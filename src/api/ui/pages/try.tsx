// One try of a task instance: its log (followed live while the try runs), the other tries one
// click away, the rendered templates and the XComs it pushed.
import type { FC } from "hono/jsx";
import type { DagRunRow, TaskInstanceRow } from "../../../store/schema.ts";
import type { AuthUser } from "../../context.ts";
import { dagUrl, fmtDate, fmtDuration, Layout, runDuration, runUrl, showJson, StateLabel, tiUrl } from "../components.tsx";
import { canWrite } from "../session.ts";
import { TaskActions } from "./run.tsx";

export interface TryInfo {
  try_number: number;
  state: string | null;
  start_date: string | null;
  end_date: string | null;
  duration: number | null;
  hostname: string | null;
  state_reason: string | null;
}

export interface TryPageData {
  run: DagRunRow;
  ti: TaskInstanceRow;
  tries: TryInfo[];
  shown: TryInfo | undefined;
  log: { text: string; exists: boolean; offset: number; truncatedFrom?: number; path: string };
  /** Set when the shown try is under way: where the page's script follows the log. */
  streamUrl?: string;
  xcoms: { key: string; value: string }[];
  rendered: Record<string, unknown>;
  operator: string | null;
  /** A person's note on the task instance (set through the REST API). */
  note: string | null;
}

export const TryPage: FC<{ d: TryPageData; user: AuthUser; csrf: string }> = ({ d, user, csrf }) => {
  const { run, ti, shown } = d;
  const live = d.streamUrl !== undefined;
  return (
    <Layout title={`${ti.task_id} · ${run.run_id}`} user={user} csrf={csrf} refresh={live}>
      <div class="crumbs">
        <a href="/dags">DAGs</a> / <a href={dagUrl(run.dag_id)}>{run.dag_id}</a> / <a href={runUrl(run.dag_id, run.run_id)}>{run.run_id}</a> /
      </div>
      <h1 class="mono">{ti.task_id}</h1>
      <dl class="details">
        <dt>State</dt>
        <dd data-ti-state={ti.state ?? "none"}>
          <StateLabel state={ti.state} />
          {ti.state_reason ? <span class="muted"> — {ti.state_reason}</span> : null}
        </dd>
        <dt>Operator</dt>
        <dd>{d.operator ?? ti.operator ?? ""}</dd>
        <dt>Try</dt>
        <dd>
          {ti.try_number} of {ti.max_tries + 1}
        </dd>
        {shown ? (
          <>
            <dt>This try</dt>
            <dd>
              #{shown.try_number}: <StateLabel state={shown.state} />, started <span class="mono">{fmtDate(shown.start_date)}</span>, {fmtDuration(shown.duration ?? (shown.start_date ? runDuration(shown) : null))}
              {shown.hostname ? ` on ${shown.hostname}` : ""}
            </dd>
          </>
        ) : null}
        {d.note ? (
          <>
            <dt>Note</dt>
            <dd id="ti-note">{d.note}</dd>
          </>
        ) : null}
      </dl>
      {canWrite(user) ? (
        <div class="actions">
          <TaskActions run={run} taskId={ti.task_id} csrf={csrf} />
        </div>
      ) : null}
      <h2>Log</h2>
      {d.tries.length > 1 ? (
        <p class="tabs" id="tries">
          Tries:{" "}
          {d.tries.map((t) => (
            <a href={tiUrl(run.dag_id, run.run_id, ti.task_id, t.try_number)} class={t.try_number === shown?.try_number ? "current" : ""} title={t.state ?? "no status"}>
              #{t.try_number} ({t.state ?? "no status"})
            </a>
          ))}
        </p>
      ) : null}
      {shown ? (
        <>
          <p class="muted">
            <span class="mono">{d.log.path}</span> <span id="log-status">{live ? "the try is running; reload to see more (or enable JavaScript to follow it)" : ""}</span>
          </p>
          {d.log.truncatedFrom ? <p class="muted">Showing the last part of the log (from byte {d.log.truncatedFrom}).</p> : null}
          <pre class="log" id="log" data-stream={d.streamUrl}>
            {d.log.exists ? d.log.text : "(no log yet)"}
          </pre>
        </>
      ) : (
        <p class="muted">This task instance has not run yet.</p>
      )}
      <h2>Rendered templates</h2>
      {Object.keys(d.rendered).length === 0 ? (
        <p class="muted">None recorded.</p>
      ) : (
        <table id="rendered">
          <tbody>
            {Object.entries(d.rendered).map(([k, v]) => (
              <tr>
                <th class="mono">{k}</th>
                <td>
                  <pre>{typeof v === "string" ? v : showJson(v)}</pre>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <h2>XComs</h2>
      {d.xcoms.length === 0 ? (
        <p class="muted">None.</p>
      ) : (
        <table id="xcoms">
          <thead>
            <tr>
              <th>Key</th>
              <th>Value</th>
            </tr>
          </thead>
          <tbody>
            {d.xcoms.map((x) => (
              <tr>
                <td class="mono">{x.key}</td>
                <td>
                  <pre>{x.value}</pre>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </Layout>
  );
};

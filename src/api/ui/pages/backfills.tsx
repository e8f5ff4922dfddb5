// Backfills (list, one backfill's runs and skipped dates, a create form with a dry-run preview)
// and assets (each with its consumers and latest events). The same functions `orch backfill` and
// `orch assets` call; what a create refuses is shown above the form with what was typed kept.
import type { FC } from "hono/jsx";
import type { BackfillDagRunEntry, BackfillProgress, BackfillRow } from "../../../store/backfills.ts";
import { REPROCESS_BEHAVIORS } from "../../../store/backfills.ts";
import type { AssetEvent, AssetRow } from "../../../store/assets.ts";
import type { AuthUser } from "../../context.ts";
import { roleAtLeast } from "../../auth/roles.ts";
import { Csrf, dagUrl, fmtDate, Layout, runUrl, showJson, StateLabel } from "../components.tsx";

export interface BackfillForm {
  dag_id: string;
  from_date: string;
  to_date: string;
  reprocess_behavior: string;
  max_active_runs: string;
  run_backwards: boolean;
}

export const EMPTY_BACKFILL_FORM: BackfillForm = { dag_id: "", from_date: "", to_date: "", reprocess_behavior: "none", max_active_runs: "10", run_backwards: false };

export interface DryRunRow {
  logicalDate: string;
  action: string;
}

export const backfillUrl = (id: number) => `/backfills/${id}`;

/** Creating, pausing and cancelling a backfill need op, as over REST. */
export const mayManageBackfills = (user: AuthUser) => roleAtLeast(user.role, "op");

const CreateForm: FC<{ form: BackfillForm; dagIds: string[]; csrf: string }> = ({ form, dagIds, csrf }) => (
  <form method="post" action="/backfills" id="backfill-form">
    <Csrf token={csrf} />
    <div class="field">
      <label for="f-dag_id">DAG</label>
      <select id="f-dag_id" name="dag_id">
        {dagIds.map((id) => (
          <option value={id} selected={id === form.dag_id}>
            {id}
          </option>
        ))}
      </select>
    </div>
    <div class="field">
      <label for="f-from_date">From (logical date, included, UTC)</label>
      <input type="text" id="f-from_date" name="from_date" value={form.from_date} placeholder="2024-01-01" />
    </div>
    <div class="field">
      <label for="f-to_date">To (included)</label>
      <input type="text" id="f-to_date" name="to_date" value={form.to_date} placeholder="2024-01-31" />
    </div>
    <div class="field">
      <label for="f-reprocess">Dates that already have a finished run</label>
      <select id="f-reprocess" name="reprocess_behavior">
        {REPROCESS_BEHAVIORS.map((b) => (
          <option value={b} selected={b === form.reprocess_behavior}>
            {b === "none" ? "none: leave them" : b === "failed" ? "failed: re-run the failed ones" : "completed: re-run them all"}
          </option>
        ))}
      </select>
    </div>
    <div class="field">
      <label for="f-max">Runs at a time</label>
      <input type="number" id="f-max" name="max_active_runs" value={form.max_active_runs} step="1" min="1" />
    </div>
    <div class="field">
      <label>
        <input type="checkbox" name="run_backwards" value="true" checked={form.run_backwards} /> Newest date first
      </label>
    </div>
    <button type="submit" name="dry_run" value="yes">
      Preview (dry run)
    </button>{" "}
    <button type="submit" class="primary" name="dry_run" value="no">
      Create backfill
    </button>
  </form>
);

export const BackfillsPage: FC<{
  rows: { b: BackfillRow; p: BackfillProgress }[];
  dagIds: string[];
  form: BackfillForm;
  error?: string;
  preview?: DryRunRow[];
  user: AuthUser;
  csrf: string;
}> = ({ rows, dagIds, form, error, preview, user, csrf }) => (
  <Layout title="Backfills" user={user} csrf={csrf}>
    <h1>Backfills</h1>
    {rows.length ? (
      <table id="backfills">
        <thead>
          <tr>
            <th>id</th>
            <th>DAG</th>
            <th>from</th>
            <th>to</th>
            <th>reprocess</th>
            <th>runs</th>
            <th>success</th>
            <th>failed</th>
            <th>skipped</th>
            <th>paused</th>
            <th>completed</th>
          </tr>
        </thead>
        <tbody>
          {rows.map(({ b, p }) => (
            <tr data-backfill={String(b.id)}>
              <td>
                <a href={backfillUrl(b.id)}>{String(b.id)}</a>
              </td>
              <td>
                <a href={dagUrl(b.dag_id)}>{b.dag_id}</a>
              </td>
              <td>{fmtDate(b.from_date)}</td>
              <td>{fmtDate(b.to_date)}</td>
              <td>{b.reprocess_behavior}</td>
              <td>{String(p.total)}</td>
              <td>{String(p.success)}</td>
              <td>{String(p.failed)}</td>
              <td>{String(p.skipped)}</td>
              <td>{b.is_paused === 1 ? "yes" : "no"}</td>
              <td>{fmtDate(b.completed_at)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    ) : (
      <p class="muted">No backfills yet.</p>
    )}
    {mayManageBackfills(user) ? (
      <>
        <h2>New backfill</h2>
        {error ? (
          <p class="banner error" id="form-error" role="alert">
            {error}
          </p>
        ) : null}
        {preview ? (
          <div id="preview">
            <p>
              Dry run: {String(preview.length)} date(s) would run; nothing was created.
            </p>
            <table>
              <thead>
                <tr>
                  <th>logical date</th>
                  <th>what happens</th>
                </tr>
              </thead>
              <tbody>
                {preview.map((d) => (
                  <tr>
                    <td>{fmtDate(d.logicalDate)}</td>
                    <td>{d.action}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        ) : null}
        <CreateForm form={form} dagIds={dagIds} csrf={csrf} />
      </>
    ) : null}
  </Layout>
);

export const BackfillPage: FC<{ b: BackfillRow; p: BackfillProgress; dates: BackfillDagRunEntry[]; user: AuthUser; csrf: string }> = ({ b, p, dates, user, csrf }) => (
  <Layout title={`Backfill ${b.id}`} user={user} csrf={csrf} refresh={!b.completed_at}>
    <div class="crumbs">
      <a href="/backfills">Backfills</a> /
    </div>
    <h1>
      Backfill {String(b.id)} of <a href={dagUrl(b.dag_id)}>{b.dag_id}</a>
    </h1>
    <p id="summary">
      {fmtDate(b.from_date)} to {fmtDate(b.to_date)}, reprocess {b.reprocess_behavior}, {String(b.max_active_runs)} at a time
      {b.is_paused === 1 ? ", paused" : ""}; {String(p.total)} run(s): {String(p.success)} success, {String(p.failed)} failed, {String(p.running)} running,{" "}
      {String(p.queued)} queued; {String(p.skipped)} date(s) skipped. {b.completed_at ? `Completed ${fmtDate(b.completed_at)}.` : "Not completed."}
    </p>
    <p>conf: <code>{showJson(JSON.parse(b.dag_run_conf) as unknown)}</code></p>
    {mayManageBackfills(user) && !b.completed_at ? (
      <div class="actions">
        <form method="post" action={`${backfillUrl(b.id)}/${b.is_paused === 1 ? "unpause" : "pause"}`}>
          <Csrf token={csrf} />
          <button type="submit">{b.is_paused === 1 ? "Unpause" : "Pause"}</button>
        </form>
        <form method="post" action={`${backfillUrl(b.id)}/cancel`}>
          <Csrf token={csrf} />
          <button type="submit">Cancel backfill (queued runs end failed)</button>
        </form>
      </div>
    ) : null}
    <table id="dates">
      <thead>
        <tr>
          <th>#</th>
          <th>logical date</th>
          <th>run</th>
          <th>state</th>
          <th>skipped because</th>
        </tr>
      </thead>
      <tbody>
        {dates.map((d) => (
          <tr>
            <td>{String(d.sort_ordinal)}</td>
            <td>{fmtDate(d.logical_date)}</td>
            <td>{d.run_id ? <a href={runUrl(b.dag_id, d.run_id)}>{d.run_id}</a> : "—"}</td>
            <td>{d.run_id ? <StateLabel state={d.state} /> : "—"}</td>
            <td>{d.exception_reason ?? ""}</td>
          </tr>
        ))}
      </tbody>
    </table>
  </Layout>
);

export const AssetsPage: FC<{ assets: { a: AssetRow; consumers: string[]; events: AssetEvent[] }[]; user: AuthUser; csrf: string }> = ({ assets, user, csrf }) => (
  <Layout title="Assets" user={user} csrf={csrf}>
    <h1>Assets</h1>
    {assets.length ? null : <p class="muted">No assets: no DAG lists one in its outlets or schedule.</p>}
    {assets.map(({ a, consumers, events }) => (
      <section data-asset={a.uri}>
        <h2>
          {a.name}
          {a.name !== a.uri ? <span class="muted"> {a.uri}</span> : null}
        </h2>
        <p>
          group {a.group}; scheduled on it:{" "}
          {consumers.length
            ? consumers.map((d, i) => (
                <>
                  {i ? ", " : ""}
                  <a href={dagUrl(d)}>{d}</a>
                </>
              ))
            : "no DAG"}
        </p>
        {events.length ? (
          <table>
            <thead>
              <tr>
                <th>event</th>
                <th>time</th>
                <th>from</th>
                <th>extra</th>
              </tr>
            </thead>
            <tbody>
              {events.map((e) => (
                <tr>
                  <td>{String(e.id)}</td>
                  <td>{fmtDate(e.timestamp)}</td>
                  <td>{e.source_dag_id && e.source_run_id ? <a href={runUrl(e.source_dag_id, e.source_run_id)}>{`${e.source_dag_id}.${e.source_task_id ?? ""}`}</a> : "outside (API or CLI)"}</td>
                  <td>
                    <code>{showJson(e.extra, 400)}</code>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        ) : (
          <p class="muted">No events yet.</p>
        )}
      </section>
    ))}
  </Layout>
);

// The DAG list: schedule in words, next run, the last runs as coloured squares, tags, owner, a
// pause toggle and a Trigger button per DAG; filters by name, tag, paused and last run state; the
// import errors in a banner above.
import type { FC } from "hono/jsx";
import { raw } from "hono/html";
import type { HtmlEscapedString } from "hono/utils/html";
import { listDags } from "../../../store/dags.ts";
import type { Store } from "../../../store/index.ts";
import { listDagsPage, listImportErrorsPage } from "../../../store/listings.ts";
import type { DagRow, ImportErrorRow } from "../../../store/schema.ts";
import { listRecentRunsPerDag, type RecentRun } from "../../../store/summaries.ts";
import type { AuthUser } from "../../context.ts";
import { dagUrl, esc, fmtDate, Layout, runUrl, squaresHtml } from "../components.tsx";
import { canWrite } from "../session.ts";

export const RECENT_RUNS = 10;
const PAGE = 100;
const RUN_STATES = ["queued", "running", "success", "failed"] as const;

export interface DagListQuery {
  name?: string;
  tag?: string;
  /** The state of the DAG's latest run. */
  state?: string;
  paused?: "true" | "false";
  offset: number;
}

export function parseDagListQuery(q: (k: string) => string | undefined): DagListQuery {
  const v = (k: string) => {
    const s = q(k)?.trim();
    return s ? s.slice(0, 250) : undefined;
  };
  const state = v("state");
  const paused = v("paused");
  const offset = Number(v("offset") ?? 0);
  return {
    name: v("name"),
    tag: v("tag"),
    state: state && (RUN_STATES as readonly string[]).includes(state) ? state : undefined,
    paused: paused === "true" || paused === "false" ? paused : undefined,
    offset: Number.isInteger(offset) && offset >= 0 ? offset : 0,
  };
}

export function tagsOf(d: DagRow): string[] {
  try {
    const t = JSON.parse(d.tags) as unknown;
    return Array.isArray(t) ? t.filter((x): x is string => typeof x === "string") : [];
  } catch {
    return [];
  }
}

export interface DagListData {
  dags: DagRow[];
  total: number;
  recent: Map<string, RecentRun[]>;
  allTags: string[];
  importErrors: ImportErrorRow[];
}

export async function loadDagList(store: Store, q: DagListQuery): Promise<DagListData> {
  const { rows } = await listDagsPage(
    store.db,
    { dagIdPattern: q.name ? `%${q.name}%` : undefined, tags: q.tag ? [q.tag] : undefined, paused: q.paused === undefined ? undefined : q.paused === "true" },
    { limit: 10_000, offset: 0 },
    [],
  );
  const recent = new Map<string, RecentRun[]>();
  // The state filter needs every matching DAG's latest run; otherwise only this page's runs are read.
  const candidates = q.state ? rows : rows.slice(q.offset, q.offset + PAGE);
  for (const r of await listRecentRunsPerDag(store.db, candidates.map((d) => d.dag_id), RECENT_RUNS)) {
    const list = recent.get(r.dag_id) ?? [];
    list.push(r);
    recent.set(r.dag_id, list);
  }
  const filtered = q.state ? rows.filter((d) => recent.get(d.dag_id)?.[0]?.state === q.state) : rows;
  const all = q.tag || q.name || q.paused || q.state ? await listDags(store.db) : rows;
  const allTags = [...new Set(all.flatMap(tagsOf))].sort();
  const importErrors = (await listImportErrorsPage(store.db, {}, { limit: 100, offset: 0 }, [{ column: "filename", desc: false }])).rows;
  return { dags: filtered.slice(q.offset, q.offset + PAGE), total: filtered.length, recent, allTags, importErrors };
}

const ImportErrors: FC<{ errors: ImportErrorRow[] }> = ({ errors }) =>
  errors.length === 0 ? null : (
    <section class="banner" id="import-errors">
      <strong>
        {errors.length === 1 ? "1 DAG file failed to load" : `${errors.length} DAG files failed to load`}
      </strong>
      <ul>
        {errors.map((e) => (
          <li>
            <span class="mono">
              {e.filename}
              {e.line ? `:${e.line}` : ""}
            </span>{" "}
            — {e.stacktrace.split("\n")[0]}
            {e.stacktrace.includes("\n") ? (
              <details>
                <summary>details</summary>
                <pre>{e.stacktrace}</pre>
              </details>
            ) : null}
          </li>
        ))}
      </ul>
    </section>
  );

function listUrl(q: DagListQuery, change: Partial<DagListQuery>): string {
  const next = { ...q, offset: 0, ...change };
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(next)) if (v !== undefined && v !== "" && !(k === "offset" && v === 0)) p.set(k, String(v));
  const s = p.toString();
  return s ? `/dags?${s}` : "/dags";
}

/** The pause toggle as one pre-escaped string (the list has one per DAG; see dagRowsHtml). */
export function pauseToggleHtml(dag: DagRow, csrf: string, back: string, enabled: boolean): string {
  const paused = dag.is_paused === 1;
  return (
    `<form class="inline" method="post" action="${esc(`${dagUrl(dag.dag_id)}/pause`)}">` +
    `<input type="hidden" name="_csrf" value="${esc(csrf)}"/>` +
    `<input type="hidden" name="is_paused" value="${paused ? "false" : "true"}"/>` +
    `<input type="hidden" name="next" value="${esc(back)}"/>` +
    `<button type="submit" class="toggle${paused ? "" : " on"}"${enabled ? "" : ` disabled=""`} title="${paused ? "Paused: click to unpause" : "Active: click to pause"}" data-testid="${esc(`pause-${dag.dag_id}`)}">${paused ? "Paused" : "Active"}</button>` +
    `</form>`
  );
}

export const PauseToggle: FC<{ dag: DagRow; csrf: string; back: string; enabled: boolean }> = ({ dag, csrf, back, enabled }) => raw(pauseToggleHtml(dag, csrf, back, enabled));

/** The table's rows as one pre-escaped string, every interpolated value through esc(): as JSX,
 *  100 rows of eight cells, a form and links were about 60% of the page's render time. */
function dagRowsHtml(data: DagListData, q: DagListQuery, csrf: string, back: string, write: boolean): HtmlEscapedString {
  const tagUrls = new Map<string, string>();
  const tagUrl = (t: string) => {
    let u = tagUrls.get(t);
    if (u === undefined) tagUrls.set(t, (u = esc(listUrl(q, { tag: t }))));
    return u;
  };
  let out = "";
  for (const d of data.dags) {
    const runs = [...(data.recent.get(d.dag_id) ?? [])].reverse();
    const url = dagUrl(d.dag_id);
    out +=
      `<tr data-dag-id="${esc(d.dag_id)}">` +
      `<td>${pauseToggleHtml(d, csrf, back, write)}</td>` +
      `<td><a href="${esc(url)}"><strong>${esc(d.dag_id)}</strong></a>${d.description ? `<div class="muted">${esc(d.description)}</div>` : ""}</td>` +
      `<td>${esc(d.owners ?? "")}</td>` +
      `<td>${tagsOf(d)
        .map((t) => `<a class="tag" href="${tagUrl(t)}">${esc(t)}</a>`)
        .join("")}</td>` +
      `<td title="${esc(d.timetable_summary ?? "")}">${esc(d.timetable_description ?? d.timetable_summary ?? "None")}</td>` +
      `<td class="mono">${esc(fmtDate(d.next_dagrun_create_after))}</td>` +
      `<td class="recent">${squaresHtml(runs.map((r) => ({ state: r.state, href: runUrl(d.dag_id, r.run_id), title: `${r.run_id}: ${r.state}` })))}</td>` +
      `<td>${write ? `<a class="button" href="${esc(`${url}/trigger`)}">Trigger</a>` : ""}</td>` +
      `</tr>`;
  }
  return raw(out);
}

export const DagListPage: FC<{ data: DagListData; q: DagListQuery; user: AuthUser; csrf: string; back: string }> = ({ data, q, user, csrf, back }) => {
  const write = canWrite(user);
  const live = [...data.recent.values()].some((runs) => runs.some((r) => r.state === "queued" || r.state === "running"));
  return (
    <Layout title="DAGs" user={user} csrf={csrf} refresh={live}>
      <h1>DAGs</h1>
      <ImportErrors errors={data.importErrors} />
      <form class="filters" method="get" action="/dags">
        <label>
          Name
          <input type="search" name="name" value={q.name ?? ""} placeholder="dag id contains…" />
        </label>
        <label>
          Tag
          <select name="tag">
            <option value="">any</option>
            {data.allTags.map((t) => (
              <option value={t} selected={t === q.tag}>
                {t}
              </option>
            ))}
          </select>
        </label>
        <label>
          Latest run
          <select name="state">
            <option value="">any</option>
            {RUN_STATES.map((s) => (
              <option value={s} selected={s === q.state}>
                {s}
              </option>
            ))}
          </select>
        </label>
        <label>
          Status
          <select name="paused">
            <option value="">all</option>
            <option value="false" selected={q.paused === "false"}>
              active
            </option>
            <option value="true" selected={q.paused === "true"}>
              paused
            </option>
          </select>
        </label>
        <button type="submit">Filter</button>
        {q.name || q.tag || q.state || q.paused ? <a href="/dags">clear filters</a> : null}
      </form>
      <table id="dag-list" data-live={live ? "on" : "off"}>
        <thead>
          <tr>
            <th></th>
            <th>DAG</th>
            <th>Owner</th>
            <th>Tags</th>
            <th>Schedule</th>
            <th>Next run</th>
            <th>Recent runs</th>
            <th></th>
          </tr>
        </thead>
        <tbody>
          {data.dags.length === 0 ? (
            <tr>
              <td colspan={8} class="muted">
                No DAGs{q.name || q.tag || q.state || q.paused ? " match these filters" : " yet: put a .ts file in the dags folder"}.
              </td>
            </tr>
          ) : null}
          {dagRowsHtml(data, q, csrf, back, write)}
        </tbody>
      </table>
      {data.total > PAGE ? (
        <p>
          {q.offset > 0 ? <a href={listUrl(q, { offset: Math.max(0, q.offset - PAGE) })}>← previous</a> : null} DAGs {q.offset + 1}–{Math.min(q.offset + PAGE, data.total)} of {data.total}{" "}
          {q.offset + PAGE < data.total ? <a href={listUrl(q, { offset: q.offset + PAGE })}>next →</a> : null}
        </p>
      ) : null}
    </Layout>
  );
};

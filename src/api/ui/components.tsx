// Pieces every page uses: the layout, state squares, links, dates and durations. hono/jsx escapes
// every interpolated string, so user-controlled text (DAG and task ids, conf, log lines, docs)
// can only ever appear as text.
import type { Context } from "hono";
import type { FC, PropsWithChildren } from "hono/jsx";
import { escapeToBuffer, raw, type HtmlEscapedString } from "hono/utils/html";
import type { AuthUser } from "../context.ts";
import { KNOWN_STATES, SCRIPT_PATH, STYLESHEET_PATH } from "./static.ts";

export const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "form-action 'self'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join("; ");

function pageHeaders(c: Context): void {
  c.header("Content-Security-Policy", CSP);
  c.header("X-Content-Type-Options", "nosniff");
  c.header("X-Frame-Options", "DENY");
  c.header("Referrer-Policy", "same-origin");
  c.header("Cache-Control", "no-store");
}

/** A page as the document sendPage sends: doctype and HTML. */
export async function renderPage(node: unknown): Promise<string> {
  // A component call gives a JSX node or an escaped string, either maybe in a promise.
  const value = (await node) as { toString(): string | Promise<string> };
  return `<!DOCTYPE html>${await value.toString()}`;
}

/** Sends a page: doctype, security headers, no caching of pages that show live state. */
export async function sendPage(c: Context, node: unknown, status = 200): Promise<Response> {
  pageHeaders(c);
  return c.html(await renderPage(node), status as 200);
}

/** Sends a page rendered before (renderPage, as UTF-8), with the same headers. */
export function sendRenderedPage(c: Context, html: Uint8Array<ArrayBuffer>): Response {
  pageHeaders(c);
  return c.body(html, 200, { "Content-Type": "text/html; charset=UTF-8" });
}

// What encodeURIComponent leaves alone, plus `:` `+` `@`: a segment of only these (most ids) is
// returned as it is; the DAG list's 1,000 links spent 6% of its CPU encoding and un-encoding.
const PATH_SAFE = /^[A-Za-z0-9\-_.!~*'():+@]*$/;
/** A path segment: percent-encoded, but `:` `+` `@` kept as they are (legal in a path, and run ids
 *  such as manual__2024-01-01T00:00:00+00:00 stay readable, as in Airflow's URLs). */
export const enc = (s: string) => (PATH_SAFE.test(s) ? s : encodeURIComponent(s).replace(/%3A/gi, ":").replace(/%2B/gi, "+").replace(/%40/gi, "@"));
export const dagUrl = (dagId: string) => `/dags/${enc(dagId)}`;
export const runUrl = (dagId: string, runId: string) => `${dagUrl(dagId)}/runs/${enc(runId)}`;
export const tiUrl = (dagId: string, runId: string, taskId: string, tryNumber?: number) =>
  `${runUrl(dagId, runId)}/tasks/${enc(taskId)}${tryNumber ? `?try=${tryNumber}` : ""}`;

export function stateClass(state: string | null | undefined): string {
  return state && KNOWN_STATES.has(state) ? `st-${state}` : "st-none";
}

export const StateLabel: FC<{ state: string | null }> = ({ state }) => (
  <span>
    <span class={`sq ${stateClass(state)}`}></span> {state ?? "no status"}
  </span>
);

/** "2024-01-01 06:00:00" (UTC) or an em dash. */
export function fmtDate(iso: string | null | undefined): string {
  if (!iso) return "—";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return d.toISOString().replace("T", " ").replace(/\.\d{3}Z$/, "");
}

export function fmtDuration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return "—";
  if (seconds < 60) return `${seconds.toFixed(seconds < 10 ? 2 : 1)} s`;
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return h ? `${h} h ${m} min` : `${m} min ${s % 60} s`;
}

export function runDuration(r: { start_date: string | null; end_date: string | null }): number | null {
  if (!r.start_date) return null;
  const end = r.end_date ? Date.parse(r.end_date) : Date.now();
  return (end - Date.parse(r.start_date)) / 1000;
}

/** hono's own escaping, for the few loops built as strings. */
export function esc(s: string): string {
  const b: [string] = [""];
  escapeToBuffer(s, b);
  return b[0];
}

/** Many state squares as one pre-escaped string: the grid's 750 cells and the DAG list's 1,000
 *  squares as JSX nodes took about half of those pages' render time. */
export function squaresHtml(items: readonly { state: string | null; href?: string; title: string; wrap?: string }[]): HtmlEscapedString {
  let out = "";
  for (const it of items) {
    const cls = `sq ${stateClass(it.state)}`;
    const sq = it.href ? `<a class="${cls}" href="${esc(it.href)}" title="${esc(it.title)}"></a>` : `<span class="muted">·</span>`;
    out += it.wrap ? `<${it.wrap}>${sq}</${it.wrap}>` : sq;
  }
  return raw(out);
}

export const Csrf: FC<{ token: string }> = ({ token }) => <input type="hidden" name="_csrf" value={token} />;

export const Layout: FC<PropsWithChildren<{ title: string; user?: AuthUser; csrf?: string; refresh?: boolean }>> = ({ title, user, csrf, refresh, children }) => (
  <html lang="en">
    <head>
      <meta charset="utf-8" />
      <meta name="viewport" content="width=device-width, initial-scale=1" />
      <title>{`${title} · orch`}</title>
      <link rel="icon" href="data:," />
      <link rel="stylesheet" href={STYLESHEET_PATH} />
      {refresh ? (
        <noscript>
          <meta http-equiv="refresh" content="5" />
        </noscript>
      ) : null}
      <script src={SCRIPT_PATH} defer></script>
    </head>
    <body>
      <header class="top">
        <a href="/dags">orch</a>
        <a href="/dags">DAGs</a>
        <a href="/backfills">Backfills</a>
        <a href="/assets">Assets</a>
        <span class="grow"></span>
        {user ? (
          <>
            <span>
              {user.username} ({user.role})
            </span>
            {csrf ? (
              <form method="post" action="/logout">
                <Csrf token={csrf} />
                <button type="submit">Log out</button>
              </form>
            ) : null}
          </>
        ) : null}
      </header>
      <main>{children}</main>
    </body>
  </html>
);

/** A JSON value for display: compact when short, indented when long, cut at `max` characters. */
export function showJson(v: unknown, max = 4000): string {
  let s: string;
  try {
    s = JSON.stringify(v);
    if (s === undefined) return String(v);
    if (s.length > 80) s = JSON.stringify(v, null, 2);
  } catch {
    s = String(v);
  }
  return s.length > max ? `${s.slice(0, max)}… (${s.length - max} more characters)` : s;
}

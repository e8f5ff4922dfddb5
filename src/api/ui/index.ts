// The status page: server-rendered HTML (hono/jsx) over the same store and operations functions
// the REST API calls, so a page and its endpoint differ only in how they parse and print. Every
// form carries a CSRF token; every page needs a session (session.ts); every action is confirmed on
// a page that lists what will change, then redirects back (post/redirect/get).
//
//   /                                   -> /dags, or /login without a session
//   /login, /logout                     session cookie in, out
//   /dags                               DAG list (filters: name, tag, state, paused)
//   /dags/:dag_id                       grid, graph, runs, details, docs
//   /dags/:dag_id/trigger               trigger form built from params
//   /dags/:dag_id/runs/:run_id          task instances, clear / mark the run or a task
//   /dags/:dag_id/runs/:run_id/tasks/:task_id[?try=N]          one try: log, rendered templates, XComs
//   /dags/:dag_id/runs/:run_id/tasks/:task_id/tries/:n/stream  its log as server-sent events
//   /backfills, /backfills/:id          backfills, a create form with a dry-run preview; one backfill
//   /assets                             assets with their consumers and latest events
import { stat } from "node:fs/promises";
import { Hono, type Context } from "hono";
import { streamSSE } from "hono/streaming";
import { OrchError } from "../../errors.ts";
import { taskLogPath } from "../../logging/log-path.ts";
import { readTaskLog } from "../../logging/read-log.ts";
import { applyClear, clearTargets, markTaskInstances, selectTaskIds } from "../../operations/clear.ts";
import { markDagRun, plannedRunMarks } from "../../operations/dag-run-state.ts";
import { cancelBackfill, createBackfill, planBackfill, type BackfillRequest } from "../../scheduler/backfill.ts";
import { maskerForAllSecrets, redactValue } from "../../secrets/masking.ts";
import { listAssetConsumers, listAssetEvents, listAssets } from "../../store/assets.ts";
import { backfillProgress, getBackfill, listBackfillDagRuns, listBackfills, REPROCESS_BEHAVIORS, setBackfillPaused, type ReprocessBehavior } from "../../store/backfills.ts";
import { listDags } from "../../store/dags.ts";
import { triggerDagRun } from "../../scheduler/run-creation.ts";
import { getTaskInstanceWithRun, listTaskInstanceTries, listXcomsPage } from "../../store/listings.ts";
import { setDagPaused } from "../../store/run-edits.ts";
import type { TaskInstanceRow } from "../../store/schema.ts";
import { listTaskInstances } from "../../store/task-instances.ts";
import { checkLogin, clientAddress } from "../auth/login.ts";
import type { RouteDeps } from "../context.ts";
import { errorStatus, HttpError, notFound } from "../http-error.ts";
import { followTaskLog, tryIsLive } from "../log-follow.ts";
import { parseIsoField } from "../validate.ts";
import { requireDagRow, requireRun, requireSchedulable } from "../routes/common.ts";
import { dagUrl, enc, renderPage, runUrl, sendPage, sendRenderedPage, showJson, tiUrl } from "./components.tsx";
import { AssetsPage, BackfillPage, BackfillsPage, backfillUrl, EMPTY_BACKFILL_FORM, mayManageBackfills, type BackfillForm, type DryRunRow } from "./pages/backfills.tsx";
import { DagListPage, loadDagList, parseDagListQuery } from "./pages/dag-list.tsx";
import { DagPage, loadDagPage, taskOrder } from "./pages/dag.tsx";
import { ErrorPage, LoginPage } from "./pages/login.tsx";
import { ConfirmPage, RunPage, type PlannedChange } from "./pages/run.tsx";
import { TriggerPage, type TriggerFormState } from "./pages/trigger.tsx";
import { TryPage, type TryInfo } from "./pages/try.tsx";
import { SCRIPT, SCRIPT_PATH, STYLESHEET, STYLESHEET_PATH } from "./static.ts";
import { paramFields, readParamFields } from "./trigger-form.ts";
import { checkLoginCsrf, endSession, loginCsrf, readForm, requireSession, safeNext, startSession, type UiEnv } from "./session.ts";

/** The most of a log the try page shows at once (the tail); the rest is one click away in the API. */
const LOG_PAGE_BYTES = 2 * 1024 * 1024;
/** The latest events the assets page shows per asset. */
const ASSET_EVENTS_SHOWN = 5;

type Ctx = Context<UiEnv>;

/** Confirmation rows in the grid's order (upstream first). */
function inTaskOrder(changes: PlannedChange[], order: readonly string[]): PlannedChange[] {
  const pos = new Map(order.map((id, i) => [id, i]));
  return [...changes].sort((a, b) => (pos.get(a.taskId) ?? 1e9) - (pos.get(b.taskId) ?? 1e9));
}

function pageOf(c: Ctx) {
  return { user: c.get("user"), csrf: c.get("csrf") };
}

export function uiRoutes(deps: RouteDeps): Hono<UiEnv> {
  const r = new Hono<UiEnv>();
  const { store } = deps;
  const read = requireSession(deps);
  const write = requireSession(deps, { write: true });
  const baseLogFolder = deps.config.getString("logging", "base_log_folder");

  async function backfillList() {
    const rows = [];
    for (const b of await listBackfills(store.db)) rows.push({ b, p: await backfillProgress(store.db, b.id) });
    return { rows, dagIds: (await listDags(store.db)).map((d) => d.dag_id) };
  }

  async function requireBackfillRow(raw: string) {
    const b = /^\d{1,15}$/.test(raw) ? await getBackfill(store.db, Number(raw)) : undefined;
    if (!b) throw notFound(`No backfill ${raw}`);
    return b;
  }

  function requireOp(c: Ctx): void {
    const user = c.get("user");
    if (!mayManageBackfills(user)) throw new HttpError(403, `User "${user.username}" has role ${user.role}; backfills need role op or above`);
  }

  r.get(STYLESHEET_PATH, (c) => c.body(STYLESHEET, 200, { "Content-Type": "text/css; charset=utf-8", "Cache-Control": "public, max-age=31536000, immutable" }));
  r.get(SCRIPT_PATH, (c) => c.body(SCRIPT, 200, { "Content-Type": "text/javascript; charset=utf-8", "Cache-Control": "public, max-age=31536000, immutable" }));

  r.get("/", read, (c) => c.redirect("/dags", 303));

  r.get("/login", async (c) => {
    if (deps.allAdmins) return c.redirect("/dags", 303);
    return sendPage(c, LoginPage({ csrf: loginCsrf(c), next: safeNext(c.req.query("next")) }));
  });

  r.post("/login", async (c) => {
    const form = await readForm(c);
    checkLoginCsrf(c, form);
    const next = safeNext(form.next);
    const username = (form.username ?? "").slice(0, 256);
    const result = await checkLogin(deps, clientAddress(c), username, (form.password ?? "").slice(0, 1024));
    if (!result.ok) {
      if (result.status === 429) c.header("Retry-After", String(result.retryAfter));
      const message = result.status === 429 ? result.detail : "Wrong user name or password";
      return sendPage(c, LoginPage({ csrf: loginCsrf(c), next, username, error: message }), result.status);
    }
    await startSession(c, deps, result.user);
    return c.redirect(next, 303);
  });

  r.post("/logout", read, (c) => {
    endSession(c);
    return c.redirect("/login", 303);
  });

  r.get("/dags", read, async (c) => {
    const q = parseDagListQuery((k) => c.req.query(k));
    const url = new URL(c.req.url);
    const page = { q, back: url.pathname + url.search, ...pageOf(c) };
    // The page is kept until the database changes (read-cache.ts), per user and session (it names
    // the user and carries their CSRF token): a list polled while nothing happens is sent again
    // as it was. Nothing on it depends on the clock.
    const key = `ui /dags ${JSON.stringify([page.q, page.back, page.user.username, page.user.role, page.csrf])}`;
    const html = await deps.reads.get(key, async () => Buffer.from(await renderPage(DagListPage({ data: await loadDagList(store, q), ...page }))));
    return sendRenderedPage(c, html);
  });

  r.post("/dags/:dag_id/pause", write, async (c) => {
    const dagId = c.req.param("dag_id");
    const form = c.get("form");
    await requireDagRow(store, dagId);
    await setDagPaused(store.db, dagId, form.is_paused === "true");
    await deps.changed();
    return c.redirect(safeNext(form.next ?? dagUrl(dagId)), 303);
  });

  r.get("/dags/:dag_id", read, async (c) => {
    const dagId = c.req.param("dag_id");
    const user = c.get("user");
    // Kept as the DAG list is, except while a run has started and not ended: its duration is
    // counted to now, so that page is rendered every time.
    const page = await deps.reads.get(
      `ui /dags/:dag_id ${JSON.stringify([dagId, user.username, user.role, c.get("csrf")])}`,
      async () => {
        const dag = await requireDagRow(store, dagId);
        const data = await loadDagPage(store, dag, await requireSchedulable(store, dag.dag_id));
        return { html: Buffer.from(await renderPage(DagPage({ data, ...pageOf(c) }))), live: data.runs.some((r) => !!r.start_date && !r.end_date) };
      },
      { keep: (p) => !p.live, bytes: (p) => p.html.byteLength },
    );
    return sendRenderedPage(c, page.html);
  });

  r.get("/dags/:dag_id/trigger", write, async (c) => {
    const dag = await requireDagRow(store, c.req.param("dag_id"));
    const sched = await requireSchedulable(store, dag.dag_id);
    const state: TriggerFormState = { fields: paramFields(sched.dag.params), logicalDate: "", runId: "", unpause: true, errors: {} };
    return sendPage(c, TriggerPage({ dag, sched, state, ...pageOf(c) }));
  });

  r.post("/dags/:dag_id/trigger", write, async (c) => {
    const dag = await requireDagRow(store, c.req.param("dag_id"));
    const sched = await requireSchedulable(store, dag.dag_id);
    const form = c.get("form");
    const parsed = readParamFields(sched.dag.params, form);
    const state: TriggerFormState = { fields: parsed.fields, logicalDate: form.logical_date ?? "", runId: form.run_id ?? "", unpause: form.unpause === "true", errors: {} };
    let logicalDate: Date | undefined;
    if (state.logicalDate.trim()) {
      try {
        logicalDate = new Date(parseIsoField(state.logicalDate.trim(), ["body", "logical_date"]));
      } catch {
        state.errors.logical_date = `"${state.logicalDate}" is not a date and time; write it as 2024-01-01T06:00:00Z`;
      }
    }
    const runId = state.runId.trim();
    if (runId.length > 250) state.errors.run_id = "A run id has at most 250 characters";
    const again = () => sendPage(c, TriggerPage({ dag, sched, state, ...pageOf(c) }), 422);
    if (!parsed.ok || state.errors.logical_date || state.errors.run_id) return again();
    try {
      if (state.unpause && dag.is_paused === 1) await setDagPaused(store.db, dag.dag_id, false);
      const run = await triggerDagRun(store, sched, { conf: parsed.conf, logicalDate, runId: runId || undefined, triggeredBy: "ui" });
      await deps.changed();
      return c.redirect(runUrl(dag.dag_id, run.run_id), 303);
    } catch (e) {
      if (e instanceof OrchError && e.code === "ORCH_PARAMS_INVALID") {
        const errors = (e.details.errors ?? []) as { field: string; message: string }[];
        state.fields = state.fields.map((f) => {
          const mine = errors.filter((x) => x.field === f.name || x.field.startsWith(`${f.name}.`));
          return mine.length ? { ...f, error: mine.map((x) => x.message).join("; ") } : f;
        });
        if (!state.fields.some((f) => f.error)) state.errors.form = e.message;
        return again();
      }
      if (e instanceof OrchError && e.code === "ORCH_ALREADY_EXISTS") {
        if (runId && e.message.includes(`run ${runId} `)) state.errors.run_id = e.message;
        else state.errors.logical_date = e.message;
        return again();
      }
      throw e;
    }
  });

  r.get("/dags/:dag_id/runs/:run_id", read, async (c) => {
    const run = await requireRun(store, c.req.param("dag_id"), c.req.param("run_id"));
    const sched = await requireSchedulable(store, run.dag_id);
    const tis = await listTaskInstances(store.db, run.dag_id, run.run_id);
    return sendPage(c, RunPage({ run, tis, order: taskOrder(sched), ...pageOf(c) }));
  });

  r.post("/dags/:dag_id/runs/:run_id/clear", write, async (c) => {
    const run = await requireRun(store, c.req.param("dag_id"), c.req.param("run_id"));
    const sched = await requireSchedulable(store, run.dag_id);
    const form = c.get("form");
    const onlyFailed = form.only_failed === "true";
    const tis = await listTaskInstances(store.db, run.dag_id, run.run_id);
    const targets = clearTargets([{ run, tis }], selectTaskIds(sched, {}), onlyFailed);
    if (form.confirm !== "yes") {
      const changes = inTaskOrder(targets.map((t) => ({ taskId: t.ti.task_id, from: t.ti.state, to: null })), taskOrder(sched));
      const fields: Record<string, string> = onlyFailed ? { only_failed: "true" } : {};
      const what = `Clear ${onlyFailed ? "the failed task instances" : "every finished task instance"} of this run, so the scheduler runs them again.`;
      return sendPage(c, ConfirmPage({ title: "Clear run", what, run, changes, runChange: targets.length && run.state !== "queued" ? { from: run.state, to: "queued" } : undefined, action: `${runUrl(run.dag_id, run.run_id)}/clear`, fields, ...pageOf(c) }));
    }
    await applyClear(store, sched, targets);
    await deps.changed();
    return c.redirect(runUrl(run.dag_id, run.run_id), 303);
  });

  r.post("/dags/:dag_id/runs/:run_id/mark", write, async (c) => {
    const run = await requireRun(store, c.req.param("dag_id"), c.req.param("run_id"));
    const form = c.get("form");
    const state = form.state;
    if (state !== "success" && state !== "failed") throw new HttpError(400, "state: mark a run success or failed");
    if (form.confirm !== "yes") {
      const tis = await listTaskInstances(store.db, run.dag_id, run.run_id);
      const sched = await requireSchedulable(store, run.dag_id);
      const changes = inTaskOrder(plannedRunMarks(tis, state).map((m) => ({ taskId: m.ti.task_id, from: m.ti.state, to: m.to })), taskOrder(sched));
      const what = `Mark run ${run.run_id} ${state}: unfinished task instances ${state === "success" ? "become success" : "that run fail, the others are skipped"}.`;
      return sendPage(c, ConfirmPage({ title: `Mark run ${state}`, what, run, changes, runChange: run.state === state ? undefined : { from: run.state, to: state }, action: `${runUrl(run.dag_id, run.run_id)}/mark`, fields: { state }, ...pageOf(c) }));
    }
    await markDagRun(store, run, state);
    await deps.changed();
    return c.redirect(runUrl(run.dag_id, run.run_id), 303);
  });

  r.post("/dags/:dag_id/runs/:run_id/tasks/:task_id/action", write, async (c) => {
    const run = await requireRun(store, c.req.param("dag_id"), c.req.param("run_id"));
    const sched = await requireSchedulable(store, run.dag_id);
    const taskId = c.req.param("task_id");
    if (!sched.tasks.has(taskId)) throw notFound(`DAG ${run.dag_id} has no task ${taskId}`);
    const form = c.get("form");
    const action = form.action;
    if (action !== "clear" && action !== "success" && action !== "failed") throw new HttpError(400, "action: clear, success or failed");
    const downstream = form.downstream === "true";
    const ids = selectTaskIds(sched, { taskIds: new Set([taskId]), includeDownstream: downstream });
    const tis = await listTaskInstances(store.db, run.dag_id, run.run_id);
    const fields: Record<string, string> = { action, ...(downstream ? { downstream: "true" } : {}) };
    const actionUrl = `${runUrl(run.dag_id, run.run_id)}/tasks/${enc(taskId)}/action`;
    const scope = downstream ? `${taskId} and the tasks downstream of it` : taskId;
    if (action === "clear") {
      const targets = clearTargets([{ run, tis }], ids, false);
      if (form.confirm !== "yes") {
        const changes = inTaskOrder(targets.map((t) => ({ taskId: t.ti.task_id, from: t.ti.state, to: null })), taskOrder(sched));
        const what = `Clear ${scope} in this run, so the scheduler runs ${downstream ? "them" : "it"} again (queued and running task instances are left alone).`;
        return sendPage(c, ConfirmPage({ title: `Clear ${taskId}`, what, run, changes, runChange: targets.length && run.state !== "queued" ? { from: run.state, to: "queued" } : undefined, action: actionUrl, fields, ...pageOf(c) }));
      }
      await applyClear(store, sched, targets);
    } else {
      const chosen = tis.filter((t) => ids.has(t.task_id));
      if (form.confirm !== "yes") {
        const changes = inTaskOrder(chosen.filter((t) => t.state !== action).map((t) => ({ taskId: t.task_id, from: t.state, to: action })), taskOrder(sched));
        return sendPage(c, ConfirmPage({ title: `Mark ${taskId} ${action}`, what: `Mark ${scope} ${action} in this run; the run's state follows.`, run, changes, action: actionUrl, fields, ...pageOf(c) }));
      }
      await markTaskInstances(store, chosen, action);
    }
    await deps.changed();
    return c.redirect(runUrl(run.dag_id, run.run_id), 303);
  });

  r.get("/dags/:dag_id/runs/:run_id/tasks/:task_id", read, async (c) => {
    const run = await requireRun(store, c.req.param("dag_id"), c.req.param("run_id"));
    const sched = await requireSchedulable(store, run.dag_id);
    const taskId = c.req.param("task_id");
    const ti = await getTaskInstanceWithRun(store.db, run.dag_id, run.run_id, taskId, -1);
    if (!ti) throw notFound(`Run ${run.run_id} of ${run.dag_id} has no task instance ${taskId}`);
    const history = await listTaskInstanceTries(store.db, ti.id);
    const tries: TryInfo[] = history.map((h) => ({ ...h }));
    if (ti.try_number > 0 && !tries.some((t) => t.try_number === ti.try_number)) tries.push(ti);
    const wanted = Number(c.req.query("try") ?? ti.try_number);
    const shown = tries.find((t) => t.try_number === wanted) ?? tries[tries.length - 1];
    const path = taskLogPath(baseLogFolder, { dag_id: run.dag_id, run_id: run.run_id, task_id: taskId, map_index: -1, try_number: shown?.try_number ?? 1 });
    let log: { text: string; exists: boolean; offset: number; truncatedFrom?: number; path: string } = { text: "", exists: false, offset: 0, path };
    let streamUrl: string | undefined;
    if (shown) {
      const size = await stat(path).then((st) => st.size, () => 0);
      let start = 0;
      if (size > LOG_PAGE_BYTES) {
        // A huge log shows its tail: the last LOG_PAGE_BYTES, from the start of a line.
        const probe = await readTaskLog(path, { offset: size - LOG_PAGE_BYTES, maxBytes: 64 * 1024 });
        const nl = probe.content.indexOf("\n");
        start = size - LOG_PAGE_BYTES + (nl >= 0 ? Buffer.byteLength(probe.content.slice(0, nl + 1)) : 0);
      }
      const chunk = await readTaskLog(path, { offset: start, maxBytes: LOG_PAGE_BYTES });
      log = { text: chunk.content, exists: chunk.exists, offset: chunk.nextOffset, truncatedFrom: start || undefined, path };
      const target = { dagId: run.dag_id, runId: run.run_id, taskId, mapIndex: -1, tryNumber: shown.try_number };
      if (await tryIsLive(store, target)) streamUrl = `${tiUrl(run.dag_id, run.run_id, taskId)}/tries/${shown.try_number}/stream?offset=${chunk.nextOffset}`;
    }
    const { rows } = await listXcomsPage(store.db, { dagId: run.dag_id, runId: run.run_id, taskId, mapIndex: -1 }, { limit: 100, offset: 0 });
    const masker = rows.length ? await maskerForAllSecrets(store) : undefined;
    const xcoms = rows.map((x) => {
      let v: unknown = x.value;
      try {
        v = JSON.parse(x.value) as unknown;
      } catch {
        // shown as stored
      }
      return { key: x.key, value: showJson(redactValue(v, masker!)) };
    });
    let rendered: Record<string, unknown> = {};
    try {
      rendered = ti.rendered_fields ? (JSON.parse(ti.rendered_fields) as Record<string, unknown>) : {};
    } catch {
      rendered = {};
    }
    const operator = sched.tasks.get(taskId)?.operator ?? null;
    return sendPage(c, TryPage({ d: { run, ti: ti as TaskInstanceRow, tries, shown, log, streamUrl, xcoms, rendered, operator, note: ti.note ?? null }, ...pageOf(c) }));
  });

  r.get("/dags/:dag_id/runs/:run_id/tasks/:task_id/tries/:try_number/stream", read, async (c) => {
    const run = await requireRun(store, c.req.param("dag_id"), c.req.param("run_id"));
    const taskId = c.req.param("task_id");
    const raw = c.req.param("try_number");
    if (!/^\d{1,9}$/.test(raw)) throw new HttpError(400, "try_number: a whole number");
    const tryNumber = Number(raw);
    const ti = await getTaskInstanceWithRun(store.db, run.dag_id, run.run_id, taskId, -1);
    if (!ti || tryNumber < 1 || tryNumber > Math.max(ti.try_number, 1)) throw notFound(`No try ${tryNumber} of ${taskId} in ${run.run_id}`);
    // EventSource sends the last id it saw when it reconnects: go on from there.
    const from = Number(c.req.header("last-event-id") ?? c.req.query("offset") ?? 0);
    const offset = Number.isSafeInteger(from) && from >= 0 ? from : 0;
    const path = taskLogPath(baseLogFolder, { dag_id: run.dag_id, run_id: run.run_id, task_id: taskId, map_index: -1, try_number: tryNumber });
    return streamSSE(c, async (s) => {
      let aborted = false;
      s.onAbort(() => {
        aborted = true;
      });
      const target = { dagId: run.dag_id, runId: run.run_id, taskId, mapIndex: -1, tryNumber, path };
      await followTaskLog(store, target, offset, async (text, next) => s.writeSSE({ event: "chunk", data: JSON.stringify(text), id: String(next) }), () => aborted);
      if (!aborted) await s.writeSSE({ event: "end", data: "{}" });
    });
  });

  r.get("/backfills", read, async (c) => sendPage(c, BackfillsPage({ ...(await backfillList()), form: { ...EMPTY_BACKFILL_FORM, dag_id: c.req.query("dag_id") ?? "" }, ...pageOf(c) })));

  r.post("/backfills", write, async (c) => {
    requireOp(c);
    const f = c.get("form");
    const form: BackfillForm = {
      dag_id: f.dag_id ?? "",
      from_date: (f.from_date ?? "").trim(),
      to_date: (f.to_date ?? "").trim(),
      reprocess_behavior: f.reprocess_behavior ?? "none",
      max_active_runs: (f.max_active_runs ?? "10").trim(),
      run_backwards: f.run_backwards === "true",
    };
    const again = async (error: string, status: number, preview?: DryRunRow[]) => sendPage(c, BackfillsPage({ ...(await backfillList()), form, error, preview, ...pageOf(c) }), status);
    const dates: Date[] = [];
    for (const [name, label] of [["from_date", "From"], ["to_date", "To"]] as const) {
      try {
        dates.push(new Date(parseIsoField(form[name], ["body", name])));
      } catch {
        return again(`${label}: "${form[name]}" is not a date; write it as 2024-01-01 or 2024-01-01T06:00:00Z`, 422);
      }
    }
    const max = Number(form.max_active_runs);
    if (!Number.isInteger(max) || max < 1) return again(`Runs at a time: a whole number of at least 1, not "${form.max_active_runs}"`, 422);
    if (!(REPROCESS_BEHAVIORS as readonly string[]).includes(form.reprocess_behavior)) return again(`Reprocess: one of ${REPROCESS_BEHAVIORS.join(", ")}`, 422);
    const sched = await requireSchedulable(store, form.dag_id);
    const req: BackfillRequest = { fromDate: dates[0], toDate: dates[1], reprocessBehavior: form.reprocess_behavior as ReprocessBehavior, maxActiveRuns: max, runBackwards: form.run_backwards };
    try {
      if (f.dry_run === "yes") {
        const plan = await planBackfill(store.db, sched, req);
        const preview = plan.map((p) => ({
          logicalDate: p.logicalDate,
          action: p.decision.action === "create" ? "create a run" : p.decision.action === "clear" ? `clear and re-queue ${p.decision.run.run_id} (${p.decision.run.state})` : `skip: ${p.decision.reason} (${p.decision.run.run_id})`,
        }));
        return again("", 200, preview);
      }
      const made = await createBackfill(store, sched, req);
      await deps.changed();
      return c.redirect(backfillUrl(made.backfill.id), 303);
    } catch (e) {
      // A refusal (non-periodic schedule, dates, params, another backfill running) goes above the form.
      if (e instanceof OrchError && (e.code.startsWith("ORCH_BACKFILL_") || errorStatus(e) < 500)) return again(e.message, e.code === "ORCH_BACKFILL_ALREADY_RUNNING" ? 409 : 422);
      throw e;
    }
  });

  r.get("/backfills/:id", read, async (c) => {
    const b = await requireBackfillRow(c.req.param("id"));
    return sendPage(c, BackfillPage({ b, p: await backfillProgress(store.db, b.id), dates: await listBackfillDagRuns(store.db, b.id), ...pageOf(c) }));
  });

  r.post("/backfills/:id/:action", write, async (c) => {
    requireOp(c);
    const b = await requireBackfillRow(c.req.param("id"));
    const action = c.req.param("action");
    if (action !== "pause" && action !== "unpause" && action !== "cancel") throw notFound(`No action ${action} on a backfill: pause, unpause or cancel`);
    if (b.completed_at) throw new HttpError(409, `Backfill ${b.id} is already completed`);
    if (action === "cancel") await cancelBackfill(store, b.id);
    else await setBackfillPaused(store.db, b.id, action === "pause");
    await deps.changed();
    return c.redirect(backfillUrl(b.id), 303);
  });

  r.get("/assets", read, async (c) => {
    const assets = [];
    for (const a of await listAssets(store.db)) {
      assets.push({ a, consumers: await listAssetConsumers(store.db, a.id), events: await listAssetEvents(store.db, a.id, { limit: ASSET_EVENTS_SHOWN }) });
    }
    return sendPage(c, AssetsPage({ assets, ...pageOf(c) }));
  });

  r.onError(async (err, c) => {
    let status = 500;
    let message = "Internal Server Error";
    if (err instanceof HttpError) {
      status = err.status;
      message = err.message;
    } else if (err instanceof OrchError) {
      status = errorStatus(err);
      message = err.message;
    } else {
      process.stderr.write(`[ui] ${c.req.method} ${c.req.path}: ${err.stack ?? err.message}\n`);
    }
    if (status >= 500 && err instanceof OrchError) process.stderr.write(`[ui] ${c.req.method} ${c.req.path}: ${err.code}: ${err.message}\n`);
    const user = (c as Ctx).get("user") as UiEnv["Variables"]["user"] | undefined;
    const csrf = (c as Ctx).get("csrf") as string | undefined;
    return sendPage(c, ErrorPage({ status, message, user, csrf }), status);
  });
  return r;
}

// /api/v2/backfills: create, dry run, list, get, pause, unpause, cancel (Airflow 3's
// core_api/routes/public/backfills.py). The same functions `orch backfill` calls; a refusal is a
// 409 (another backfill running, already completed) or a 422 naming the body field at fault.
import { Hono } from "hono";
import { OrchError } from "../../errors.ts";
import { cancelBackfill, createBackfill, DEFAULT_BACKFILL_MAX_ACTIVE_RUNS, planBackfill, type BackfillRequest } from "../../scheduler/backfill.ts";
import { getBackfill, listBackfills, REPROCESS_BEHAVIORS, setBackfillPaused, type BackfillRow, type ReprocessBehavior } from "../../store/backfills.ts";
import { BACKFILL_ACCESS } from "../auth/roles.ts";
import { requireAccess, type ApiDeps, type ApiEnv } from "../context.ts";
import { conflict, HttpError, notFound, validationError } from "../http-error.ts";
import { paging, strParam } from "../query.ts";
import { parseIsoField, readBody } from "../validate.ts";
import { requireSchedulable } from "./common.ts";

export const BACKFILL_BODY = {
  type: "object",
  properties: {
    dag_id: { type: "string", minLength: 1 },
    from_date: { type: "string" },
    to_date: { type: "string" },
    run_backwards: { type: "boolean" },
    dag_run_conf: { type: "object" },
    reprocess_behavior: { enum: REPROCESS_BEHAVIORS },
    max_active_runs: { type: "integer", minimum: 1 },
  },
  required: ["dag_id", "from_date", "to_date"],
  additionalProperties: false,
} as const;

interface BackfillBody {
  dag_id: string;
  from_date: string;
  to_date: string;
  run_backwards?: boolean;
  dag_run_conf?: Record<string, unknown>;
  reprocess_behavior?: ReprocessBehavior;
  max_active_runs?: number;
}

export function backfillResponse(b: BackfillRow) {
  return {
    id: b.id,
    dag_id: b.dag_id,
    from_date: b.from_date,
    to_date: b.to_date,
    dag_run_conf: JSON.parse(b.dag_run_conf) as unknown,
    is_paused: b.is_paused === 1,
    reprocess_behavior: b.reprocess_behavior,
    max_active_runs: b.max_active_runs,
    created_at: b.created_at,
    completed_at: b.completed_at,
    updated_at: b.updated_at,
    dag_display_name: b.dag_id,
  };
}

/** The CLI's flag names in refusals, as the body's fields. */
const FIELD_OF_FLAG: Record<string, string> = {
  "--from-date": "from_date",
  "--to-date": "to_date",
  "--max-active-runs": "max_active_runs",
  "--dag-run-conf": "dag_run_conf",
  "--run-backwards": "run_backwards",
  "--reprocess-behavior": "reprocess_behavior",
};

/** Airflow answers AlreadyRunningBackfill with 409 and the invalid-request refusals with 422. */
function refusal(e: unknown): unknown {
  if (!(e instanceof OrchError)) return e;
  if (e.code === "ORCH_BACKFILL_ALREADY_RUNNING" || e.code === "ORCH_ALREADY_EXISTS") return conflict(e.message);
  const field = (typeof e.details.flag === "string" && FIELD_OF_FLAG[e.details.flag]) || (e.code === "ORCH_PARAMS_INVALID" ? "dag_run_conf" : undefined);
  if (e.code === "ORCH_BACKFILL_NON_PERIODIC" || e.code === "ORCH_BACKFILL_NO_RUNS") return validationError([{ loc: ["body", "dag_id"], msg: e.message, type: "value_error" }]);
  if (e.code === "ORCH_BACKFILL_INVALID_DATES" || e.code === "ORCH_BACKFILL_INVALID_DIRECTION" || e.code === "ORCH_BACKFILL_INVALID_REPROCESS" || e.code === "ORCH_PARAMS_INVALID" || e.code === "ORCH_USAGE") {
    return validationError([{ loc: ["body", field ?? "from_date"], msg: e.message, type: "value_error" }]);
  }
  return e;
}

async function guard<T>(f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (e) {
    throw refusal(e);
  }
}

function requestOf(body: BackfillBody): BackfillRequest {
  return {
    fromDate: new Date(parseIsoField(body.from_date, ["body", "from_date"])),
    toDate: new Date(parseIsoField(body.to_date, ["body", "to_date"])),
    reprocessBehavior: body.reprocess_behavior ?? "none",
    maxActiveRuns: body.max_active_runs ?? DEFAULT_BACKFILL_MAX_ACTIVE_RUNS,
    runBackwards: body.run_backwards ?? false,
    dagRunConf: body.dag_run_conf ?? null,
  };
}

function idParam(raw: string | undefined): number {
  if (!raw || !/^\d{1,15}$/.test(raw)) {
    throw validationError([{ loc: ["path", "backfill_id"], msg: "Input should be a valid integer, unable to parse string as an integer", type: "int_parsing" }]);
  }
  return Number(raw);
}

export function backfillRoutes(deps: ApiDeps): Hono<ApiEnv> {
  const r = new Hono<ApiEnv>();
  const { store } = deps;
  r.use("/backfills", requireAccess(BACKFILL_ACCESS));
  r.use("/backfills/*", requireAccess(BACKFILL_ACCESS));

  async function requireBackfill(id: number): Promise<BackfillRow> {
    const b = await getBackfill(store.db, id);
    if (!b) throw notFound(`Could not find backfill with id ${id}`);
    return b;
  }

  r.get("/backfills", async (c) => {
    const page = paging(c);
    const dagId = strParam(c, "dag_id");
    const all = await listBackfills(store.db, { dagId });
    return c.json({ backfills: all.slice(page.offset, page.offset + page.limit).map(backfillResponse), total_entries: all.length });
  });

  r.post("/backfills/dry_run", async (c) => {
    const body = await readBody<BackfillBody>(c, BACKFILL_BODY);
    const d = await requireSchedulable(store, body.dag_id);
    const req = requestOf(body);
    const dates = await guard(() => planBackfill(store.db, d, req));
    // Airflow lists the dates a backfill would run; orch adds what it would do with each.
    const backfills = dates
      .filter((p) => p.decision.action !== "skip")
      .map((p) => ({ logical_date: p.logicalDate, action: p.decision.action }));
    return c.json({ backfills, total_entries: backfills.length });
  });

  r.post("/backfills", async (c) => {
    const body = await readBody<BackfillBody>(c, BACKFILL_BODY);
    const d = await requireSchedulable(store, body.dag_id);
    const made = await guard(() => createBackfill(store, d, requestOf(body)));
    await deps.changed();
    return c.json(backfillResponse(made.backfill));
  });

  r.get("/backfills/:backfill_id", async (c) => c.json(backfillResponse(await requireBackfill(idParam(c.req.param("backfill_id"))))));

  for (const verb of ["pause", "unpause"] as const) {
    r.put(`/backfills/:backfill_id/${verb}`, async (c) => {
      const b = await requireBackfill(idParam(c.req.param("backfill_id")));
      if (b.completed_at) throw conflict(`Backfill ${b.id} is already completed; it cannot be ${verb}d`);
      await setBackfillPaused(store.db, b.id, verb === "pause");
      await deps.changed();
      return c.json(backfillResponse(await requireBackfill(b.id)));
    });
  }

  r.put("/backfills/:backfill_id/cancel", async (c) => {
    const id = idParam(c.req.param("backfill_id"));
    try {
      const done = await cancelBackfill(store, id);
      await deps.changed();
      return c.json(backfillResponse(done.backfill));
    } catch (e) {
      if (e instanceof OrchError && e.code === "ORCH_NOT_FOUND") throw notFound(`Could not find backfill with id ${id}`);
      if (e instanceof OrchError && e.code === "ORCH_USAGE") throw new HttpError(409, e.message);
      throw e;
    }
  });
  return r;
}

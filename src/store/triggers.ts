// SQL for the `trigger` table and the task instances deferred on it (Airflow's Trigger model and
// TaskInstance.defer_task / Trigger.submit_event / submit_failure). Which triggerer runs which
// trigger is decided here, in one claim transaction; running them is src/triggerer/.
import { sql, type Kysely } from "kysely";
import type { Dialect } from "./dialect.ts";
import type { Db } from "./open.ts";
import type { Database, TaskInstanceRow } from "./schema.ts";
import { nowIso } from "./schema.ts";

export interface TriggerRow {
  id: number;
  classpath: string;
  kwargs: Record<string, unknown>;
  created_date: string;
  triggerer_id: number | null;
  /** The earliest timeout of the task instances waiting on it, if any. */
  timeout: string | null;
}

export interface Deferral {
  classpath: string;
  kwargs: Record<string, unknown>;
  method: string;
  methodKwargs: Record<string, unknown>;
  /** When the task fails if the trigger has not fired (ISO), or null. */
  timeoutAt: string | null;
}

/**
 * running → deferred (Airflow's defer_task): the trigger row and the task instance's next_method,
 * next_kwargs and trigger_timeout, in the caller's transaction. Guarded by state and try number;
 * returns the trigger id, or null when the try had moved on (nothing is written then).
 */
export async function deferTry(trx: Kysely<Database>, ti: TaskInstanceRow, d: Deferral): Promise<number | null> {
  const now = nowIso();
  const trig = await trx
    .insertInto("trigger")
    .values({ classpath: d.classpath, kwargs: JSON.stringify(d.kwargs), created_date: now, triggerer_id: null })
    .returning("id")
    .executeTakeFirstOrThrow();
  const r = await trx
    .updateTable("task_instance")
    .set({
      state: "deferred",
      trigger_id: trig.id,
      trigger_timeout: d.timeoutAt,
      next_method: d.method,
      next_kwargs: JSON.stringify(d.methodKwargs),
      queued_by_job_id: null,
      pid: null,
      state_reason: `deferred on ${d.classpath.replace(/^orch\.triggers\./, "")}`,
      updated_at: now,
    })
    .where("id", "=", ti.id)
    .where("state", "=", "running")
    .where("try_number", "=", ti.try_number)
    .executeTakeFirst();
  if (Number(r.numUpdatedRows) === 0) {
    await trx.deleteFrom("trigger").where("id", "=", trig.id).execute();
    return null;
  }
  return trig.id;
}

/** Triggers of one run only (`orch dags test` runs the triggers of the run it tests, no others). */
export interface TriggerScope {
  dag_id: string;
  run_id: string;
}

/**
 * The triggerer's claim, one transaction: unowned triggers, and those of triggerers whose heartbeat
 * is older than `deadBefore`, up to `capacity` in all, become this triggerer's (SKIP LOCKED on
 * PostgreSQL, so two triggerers never take the same row); with `scope`, only triggers a deferred
 * task instance of that run waits on. Returns the ids of every trigger it now owns, in id order.
 *
 * Ids only: this runs at every heartbeat, and reading 10,000 owned rows with their kwargs and
 * timeouts each time cost most of the triggerer's CPU while they waited (listTriggers reads the
 * new ones).
 */
export async function claimTriggers(trx: Kysely<Database>, dialect: Dialect, o: { triggererId: number; capacity: number; deadBefore: string; scope?: TriggerScope }): Promise<number[]> {
  const mine = (await trx.selectFrom("trigger").select("id").where("triggerer_id", "=", o.triggererId).orderBy("id").execute()).map((r) => r.id);
  const room = o.capacity - mine.length;
  if (room <= 0) return mine;
  let q = trx
    .selectFrom("trigger as t")
    .select("t.id")
    .where((eb) =>
      eb.or([
        eb("t.triggerer_id", "is", null),
        eb.not(
          eb.exists(
            eb
              .selectFrom("job as j")
              .select("j.id")
              .whereRef("j.id", "=", "t.triggerer_id")
              .where("j.state", "=", "running")
              .where("j.latest_heartbeat", ">=", o.deadBefore),
          ),
        ),
      ]),
    );
  const scope = o.scope;
  if (scope)
    q = q.where((eb) =>
      eb.exists(
        eb
          .selectFrom("task_instance as ti")
          .select("ti.id")
          .whereRef("ti.trigger_id", "=", "t.id")
          .where("ti.state", "=", "deferred")
          .where("ti.dag_id", "=", scope.dag_id)
          .where("ti.run_id", "=", scope.run_id),
      ),
    );
  q = q.orderBy("t.id").limit(room);
  if (dialect.supportsSkipLocked) q = q.modifyEnd(sql`for update of t skip locked`);
  const ids = (await q.execute()).map((r) => r.id);
  if (ids.length === 0) return mine;
  await trx.updateTable("trigger").set({ triggerer_id: o.triggererId }).where("id", "in", ids).execute();
  return [...mine, ...ids].sort((a, b) => a - b);
}

/** The triggers with these ids, with the earliest timeout of the task instances deferred on each
 *  (read in chunks of 500 ids, below every dialect's parameter limit). */
export async function listTriggers(db: Db, ids: readonly number[]): Promise<TriggerRow[]> {
  const out: TriggerRow[] = [];
  for (let i = 0; i < ids.length; i += 500) {
    const rows = await db
      .selectFrom("trigger as t")
      .leftJoin("task_instance as ti", (j) => j.onRef("ti.trigger_id", "=", "t.id").on("ti.state", "=", "deferred"))
      .select(["t.id", "t.classpath", "t.kwargs", "t.created_date", "t.triggerer_id", (eb) => eb.fn.min("ti.trigger_timeout").as("timeout")])
      .where("t.id", "in", ids.slice(i, i + 500))
      .groupBy(["t.id", "t.classpath", "t.kwargs", "t.created_date", "t.triggerer_id"])
      .orderBy("t.id")
      .execute();
    for (const r of rows) out.push({ ...r, kwargs: JSON.parse(r.kwargs) as Record<string, unknown>, timeout: (r.timeout as string | null) ?? null });
  }
  return out;
}

/** A stopping triggerer gives its triggers back, so the next one takes them without waiting for
 *  its heartbeat to go stale. */
export async function releaseTriggers(db: Db, triggererId: number): Promise<void> {
  await db.updateTable("trigger").set({ triggerer_id: null }).where("triggerer_id", "=", triggererId).execute();
}

/** Updates a trigger's kwargs (a trigger that learned where to resume from, e.g. the newest asset
 *  event id at its start), so a re-armed one carries on instead of starting over. */
export async function updateTriggerKwargs(db: Db, id: number, kwargs: Record<string, unknown>): Promise<void> {
  await db.updateTable("trigger").set({ kwargs: JSON.stringify(kwargs) }).where("id", "=", id).execute();
}

/** What a trigger came to: it fired with an event, or failed (threw, timed out) with an error. */
export type TriggerOutcome = { id: number; kind: "fire"; event: unknown } | { id: number; kind: "fail"; error: string };

export interface ResumedTaskInstance {
  id: number;
  trigger_id: number;
  dag_id: string;
  run_id: string;
  task_id: string;
}


/** Rows `v(id, a[, b])` from [id, text, text?] tuples, as one parameter per column on PostgreSQL
 *  (arrays) and one on SQLite (JSON read by json_each; with one text column, an object by id). */
function idTextRows(dialect: Dialect, rows: readonly (readonly [number, string, string?])[], columns: 1 | 2) {
  if (dialect.supportsArrayParameters) {
    const ids = rows.map((r) => r[0]);
    return columns === 1
      ? sql`unnest(${ids}::bigint[], ${rows.map((r) => r[1])}::text[]) as v(id, a)`
      : sql`unnest(${ids}::bigint[], ${rows.map((r) => r[1])}::text[], ${rows.map((r) => r[2] ?? "")}::text[]) as v(id, a, b)`;
  }
  return columns === 1
    ? sql`(select cast(key as integer) as id, value as a from json_each(${JSON.stringify(Object.fromEntries(rows.map((r) => [r[0], r[1]])))})) as v`
    : sql`(select cast(json_extract(value, '$[0]') as integer) as id, json_extract(value, '$[1]') as a, json_extract(value, '$[2]') as b from json_each(${JSON.stringify(rows)})) as v`;
}

/**
 * Records a batch of trigger outcomes (Airflow's submit_event / submit_failure) in the caller's
 * transaction, in a fixed number of statements whatever the batch's size: the triggers still owned
 * by `triggererId` are locked (FOR UPDATE, in id order, on PostgreSQL), their deferred task
 * instances move to `scheduled` to resume in next_method with the event (a fire), or in "__fail__"
 * with the error (a failure, which fails the try; retries apply), and the trigger rows go.
 *
 * Only the owner records, and the row lock plus the delete make it once: a second recorder of the
 * same trigger (a re-arm racing a fire) finds it gone and writes nothing. A task instance that left
 * `deferred` meanwhile (cleared, marked) is not moved.
 *
 * The event joins next_kwargs in SQL: next_kwargs of a deferred try is always JSON.stringify of an
 * object (deferTry writes it), so `…}` becomes `…,"event":<event>}` (a kwarg named "event" is
 * overridden, as JSON.parse keeps the last of two equal keys, like `{ ...kwargs, event }`). Reading
 * next_kwargs back, parsing and re-serialising each one in JS, and binding four parameters a row,
 * cost more than the rows' own UPDATE (see docs/assets-and-sensors.md for the figures). Lists travel
 * as one parameter (inIds), so each statement is prepared once, not once per batch size.
 */
export async function recordTriggerOutcomes(
  trx: Kysely<Database>,
  dialect: Dialect,
  triggererId: number,
  outcomes: readonly TriggerOutcome[],
): Promise<{ resumed: ResumedTaskInstance[]; notOwned: number[] }> {
  if (outcomes.length === 0) return { resumed: [], notOwned: [] };
  const byId = new Map(outcomes.map((o) => [o.id, o]));
  const asked = [...byId.keys()];
  let q = trx.selectFrom("trigger").select("id").where(dialect.inList("id", asked, "bigint")).where("triggerer_id", "=", triggererId).orderBy("id");
  if (dialect.supportsSkipLocked) q = q.forUpdate();
  const owned = (await q.execute()).map((r) => r.id);
  const ownedSet = new Set(owned);
  const notOwned = asked.filter((id) => !ownedSet.has(id));
  if (owned.length === 0) return { resumed: [], notOwned };

  const waiting = await trx
    .selectFrom("task_instance")
    .select(["id", "trigger_id"])
    .where(dialect.inList("trigger_id", owned, "bigint"))
    .where(dialect.unindexed("state"), "=", "deferred")
    .execute();
  const now = nowIso();
  const triggerOf = new Map<number, number>();
  const fires: [number, string][] = [];
  const fails: [number, string, string][] = [];
  for (const ti of waiting) {
    const o = byId.get(ti.trigger_id!)!;
    triggerOf.set(ti.id, o.id);
    // An event of undefined (a trigger returning nothing) resumes with null.
    if (o.kind === "fire") fires.push([ti.id, JSON.stringify(o.event ?? null)]);
    else fails.push([ti.id, JSON.stringify({ error: o.error }), o.error]);
  }
  const resumed: ResumedTaskInstance[] = [];
  const moved = (rows: { id: number; dag_id: string; run_id: string; task_id: string }[]) => {
    for (const r of rows) resumed.push({ ...r, trigger_id: triggerOf.get(r.id)! });
  };
  const common = sql`state = 'scheduled', scheduled_dttm = ${now}, trigger_id = null, trigger_timeout = null, updated_at = ${now}`;
  const where = sql`task_instance.id = v.id and ${dialect.unindexed("task_instance.state")} = 'deferred'`;
  const returning = sql`returning task_instance.id, task_instance.dag_id, task_instance.run_id, task_instance.task_id`;
  if (fires.length) {
    const { rows } = await sql<{ id: number; dag_id: string; run_id: string; task_id: string }>`
      update task_instance
      set ${common}, next_method = coalesce(next_method, 'execute_complete'), state_reason = 'trigger fired: resuming',
          next_kwargs = case when next_kwargs is null or next_kwargs = '{}' then '{"event":' || v.a || '}'
                        else substr(next_kwargs, 1, length(next_kwargs) - 1) || ',"event":' || v.a || '}' end
      from ${idTextRows(dialect, fires, 1)}
      where ${where} ${returning}`.execute(trx);
    moved(rows);
  }
  if (fails.length) {
    const { rows } = await sql<{ id: number; dag_id: string; run_id: string; task_id: string }>`
      update task_instance
      set ${common}, next_method = '__fail__', next_kwargs = v.a, state_reason = v.b
      from ${idTextRows(dialect, fails, 2)}
      where ${where} ${returning}`.execute(trx);
    moved(rows);
  }
  await trx.deleteFrom("trigger").where(dialect.inList("id", owned, "bigint")).execute();
  return { resumed, notOwned };
}

/** Triggers no deferred task waits on any more (its task was cleared or marked): deleted, as
 *  Airflow's Trigger.clean_unused. */
export async function deleteUnusedTriggers(db: Db): Promise<number> {
  const r = await db
    .deleteFrom("trigger")
    .where(({ not, exists, selectFrom }) => not(exists(selectFrom("task_instance").select("id").whereRef("task_instance.trigger_id", "=", "trigger.id").where("state", "=", "deferred"))))
    .executeTakeFirst();
  return Number(r.numDeletedRows);
}


/**
 * running → up_for_reschedule (a sensor in reschedule mode): the same try pokes again at `at`
 * (next_retry_at, which the Ready To Reschedule dep reads); next_method "__reschedule__" keeps the
 * try number when it starts again. Guarded by state and try number.
 */
export async function rescheduleTry(trx: Kysely<Database>, ti: TaskInstanceRow, at: string, kwargs: Record<string, unknown>): Promise<boolean> {
  const now = nowIso();
  const r = await trx
    .updateTable("task_instance")
    .set({
      state: "up_for_reschedule",
      next_retry_at: at,
      next_method: "__reschedule__",
      next_kwargs: JSON.stringify(kwargs),
      queued_by_job_id: null,
      pid: null,
      state_reason: `rescheduled: next poke at ${at}`,
      updated_at: now,
    })
    .where("id", "=", ti.id)
    .where("state", "=", "running")
    .where("try_number", "=", ti.try_number)
    .executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}

async function runState(db: Db, dagId: string, logicalDate: string): Promise<{ run_id: string; state: string } | undefined> {
  return db.selectFrom("dag_run").select(["run_id", "state"]).where("dag_id", "=", dagId).where("logical_date", "=", logicalDate).executeTakeFirst();
}

/** The states the external task(s) or run(s) are in now, one per (date, task); "none" when the run
 *  or task instance does not exist yet. */
export async function externalStates(db: Db, dagId: string, taskIds: string[] | null, logicalDates: string[]): Promise<string[]> {
  const out: string[] = [];
  for (const date of logicalDates) {
    const run = await runState(db, dagId, date);
    if (!taskIds) {
      out.push(run?.state ?? "none");
      continue;
    }
    const tis = run
      ? await db.selectFrom("task_instance").select(["task_id", "state"]).where("dag_id", "=", dagId).where("run_id", "=", run.run_id).where("task_id", "in", taskIds).execute()
      : [];
    for (const t of taskIds) out.push(tis.find((x) => x.task_id === t)?.state ?? "none");
  }
  return out;
}


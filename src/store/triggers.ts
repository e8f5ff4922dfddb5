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

/**
 * The triggerer's claim, one transaction: unowned triggers, and those of triggerers whose heartbeat
 * is older than `deadBefore`, up to `capacity` in all, become this triggerer's (SKIP LOCKED on
 * PostgreSQL, so two triggerers never take the same row). Returns every trigger it now owns.
 */
export async function claimTriggers(trx: Kysely<Database>, dialect: Dialect, o: { triggererId: number; capacity: number; deadBefore: string }): Promise<TriggerRow[]> {
  const owned = await trx.selectFrom("trigger").select((eb) => eb.fn.countAll<number>().as("n")).where("triggerer_id", "=", o.triggererId).executeTakeFirstOrThrow();
  const room = o.capacity - Number(owned.n);
  if (room > 0) {
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
      )
      .orderBy("t.id")
      .limit(room);
    if (dialect.supportsSkipLocked) q = q.modifyEnd(sql`for update of t skip locked`);
    const ids = (await q.execute()).map((r) => r.id);
    if (ids.length) await trx.updateTable("trigger").set({ triggerer_id: o.triggererId }).where("id", "in", ids).execute();
  }
  return listTriggersOf(trx, o.triggererId);
}

export async function listTriggersOf(db: Db, triggererId: number): Promise<TriggerRow[]> {
  const rows = await db
    .selectFrom("trigger as t")
    .leftJoin("task_instance as ti", (j) => j.onRef("ti.trigger_id", "=", "t.id").on("ti.state", "=", "deferred"))
    .select(["t.id", "t.classpath", "t.kwargs", "t.created_date", "t.triggerer_id", (eb) => eb.fn.min("ti.trigger_timeout").as("timeout")])
    .where("t.triggerer_id", "=", triggererId)
    .groupBy(["t.id", "t.classpath", "t.kwargs", "t.created_date", "t.triggerer_id"])
    .orderBy("t.id")
    .execute();
  return rows.map((r) => ({ ...r, kwargs: JSON.parse(r.kwargs) as Record<string, unknown>, timeout: (r.timeout as string | null) ?? null }));
}

/** Locks the trigger row and says whether `triggererId` owns it: a fire is recorded only by its
 *  owner, and two recorders of one trigger (a re-arm racing a fire) take turns. */
export async function lockOwnedTrigger(trx: Kysely<Database>, dialect: Dialect, id: number, triggererId: number | null): Promise<boolean> {
  let q = trx.selectFrom("trigger").select("triggerer_id").where("id", "=", id);
  if (dialect.supportsSkipLocked) q = q.forUpdate();
  const row = await q.executeTakeFirst();
  return row !== undefined && row.triggerer_id === triggererId;
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

async function resumeDeferred(trx: Kysely<Database>, triggerId: number, next: (kw: Record<string, unknown>, method: string | null) => { method: string; kwargs: Record<string, unknown> }, reason: string): Promise<number> {
  const tis = await trx.selectFrom("task_instance").select(["id", "next_method", "next_kwargs"]).where("trigger_id", "=", triggerId).where("state", "=", "deferred").execute();
  const now = nowIso();
  let resumed = 0;
  for (const ti of tis) {
    const n = next(ti.next_kwargs ? (JSON.parse(ti.next_kwargs) as Record<string, unknown>) : {}, ti.next_method);
    const r = await trx
      .updateTable("task_instance")
      .set({ state: "scheduled", scheduled_dttm: now, trigger_id: null, trigger_timeout: null, next_method: n.method, next_kwargs: JSON.stringify(n.kwargs), state_reason: reason, updated_at: now })
      .where("id", "=", ti.id)
      .where("state", "=", "deferred")
      .executeTakeFirst();
    resumed += Number(r.numUpdatedRows);
  }
  await trx.deleteFrom("trigger").where("id", "=", triggerId).execute();
  return resumed;
}

/** The trigger fired (Airflow's submit_event): its task instances are scheduled to resume in their
 *  next_method with `event`, and the trigger row goes. Returns how many were resumed. */
export function fireTrigger(trx: Kysely<Database>, triggerId: number, event: unknown): Promise<number> {
  return resumeDeferred(trx, triggerId, (kw, method) => ({ method: method ?? "execute_complete", kwargs: { ...kw, event } }), "trigger fired: resuming");
}

/** The trigger failed or timed out (Airflow's submit_failure): the task resumes in "__fail__",
 *  which fails the try with `error` (retries apply). */
export function failTrigger(trx: Kysely<Database>, triggerId: number, error: string): Promise<number> {
  return resumeDeferred(trx, triggerId, () => ({ method: "__fail__", kwargs: { error } }), error);
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


// One DAG run's scheduling decision: which task instances may run now (→ scheduled), which can
// never run (→ skipped / upstream_failed, by their trigger rule), and whether the run is over.
// Each decision comes from a dep in ./deps, which says why; nothing here re-implements them.
import type { Kysely } from "kysely";
import { readyToReschedule } from "./deps/ready-to-reschedule.ts";
import {
  countUpstreamStates,
  dagRunDecision,
  evaluateTriggerRule,
  notInRetryPeriod,
  notPreviouslySkipped,
  UNFINISHED_STATES,
  upstreamStatesFromCounts,
  type BranchDecision,
  type UpstreamStates,
} from "./deps/index.ts";
import type { Dialect } from "../store/dialect.ts";
import { finishDagRun, getDagRunState } from "../store/dag-runs.ts";
import { lockRunEvaluation } from "../store/locks.ts";
import type { Database, DagRunRow } from "../store/schema.ts";
import {
  countRunTaskStates,
  decideTaskInstance,
  distinctRunStates,
  listRunTaskBriefs,
  listRunTaskBriefsWithRunState,
  noteWaitingReason,
  scheduleTaskInstance,
  type TaskInstanceBrief,
} from "../store/task-instances.ts";
import { upstreamFacts, type SchedulableDag } from "./dag-bag.ts";
import { expandMappedTask } from "./expand.ts";
import { RunStates, type PerIndex } from "./run-states.ts";
import type { SerializedTask } from "../serialization/serialized-dag.ts";
import { clearTaskXcoms, listSkipDecisions } from "../store/xcom.ts";
import { createPastDepends, unfinishedDependsOnPast } from "./past-depends.ts";
import { relevantSetups } from "./setup-teardown.ts";
import { decideTask, holdSkipForPast, type TaskVerdict } from "./task-deps.ts";
import type { FanInWitnesses } from "./fan-in-witness.ts";

type TiLite = TaskInstanceBrief;

export interface RunEvaluation {
  scheduled: number;
  runState: "running" | "success" | "failed";
  /** Earliest retry time among the up_for_retry tasks looked at, for the scheduler's timer. */
  nextRetryAt: Date | null;
  /** false when only some tasks were looked at (a focused evaluation). */
  complete: boolean;
  /** This evaluation ended the run (false when another one, in another transaction, had). */
  ended: boolean;
  /** With `requireRunning`: the run was not running (marked by a user since it was listed), so
   *  nothing was looked at or written. */
  notRunning?: true;
  /** A focused evaluation found nothing unfinished but task instances not yet decided, outside its
   *  focus: only an evaluation of the whole run may call that a deadlock (see below). */
  lookAgain?: true;
}

export interface EvaluateOptions {
  /** [core] max_map_length: a mapped task expanding to more instances fails. */
  maxMapLength: number;
  /** A wide fan-in's witnesses (fan-in-witness.ts), kept by the scheduler across evaluations. */
  witnesses?: FanInWitnesses;
  /** A focused evaluation of a run that must still be running in the store (a hand-off's: the run
   *  as listed when the try started may have been marked since). Its state is read with the first
   *  rows; not running: `notRunning`, nothing written. */
  requireRunning?: boolean;
}

/** What the run's branch and short-circuit tasks recorded they skipped, for the candidates'
 *  parents only: most runs have none, and then this reads nothing. */
async function branchDecisions(trx: Kysely<Database>, run: DagRunRow, d: SchedulableDag, candidates: readonly TiLite[]): Promise<Map<string, BranchDecision>> {
  const parents = new Set<string>();
  for (const c of candidates) for (const u of upstreamFacts(d, c.task_id).flowParents) parents.add(u);
  if (parents.size === 0) return new Map();
  const rows = await listSkipDecisions(trx, run.id, [...parents]);
  return new Map(rows.map((r) => [r.task_id, JSON.parse(r.value) as BranchDecision]));
}

const selectTis = listRunTaskBriefs;

/** A task with more direct upstreams than this has them counted by one aggregate in a focused
 *  evaluation instead of read row by row: a fan-in of 998 re-read 998 rows per finishing upstream
 *  (quadratic over the run). Below it, reading the rows with the candidates costs less. */
const WIDE_UPSTREAM = 16;

/** The wait reason without its counts: the reason is rewritten only when this changes (the verdict
 *  changed), not at each finishing upstream, whose counts alone would make it differ every time. */
const reasonShape = (reason: string | null) => reason?.replace(/\d+/g, "#") ?? null;

/**
 * Evaluates the run's not-yet-finished tasks until nothing changes (a skip can cascade down a chain
 * in one call), then decides the run's state. One write transaction.
 *
 * `focus` narrows the look to some tasks (the downstream of a task that just finished): a step
 * then reads a handful of rows instead of every task instance of a 1,000-task run. A decision that
 * cascades (a skip, an upstream_failed) widens it to the whole run.
 */
export async function evaluateDagRun(
  trx: Kysely<Database>,
  run: DagRunRow,
  d: SchedulableDag,
  now: Date,
  focus?: ReadonlySet<string>,
  opts: EvaluateOptions = { maxMapLength: 1024 },
  dialect?: Dialect,
): Promise<RunEvaluation> {
  // One evaluation of a run at a time (store/locks.ts), before its first read.
  if (dialect) await lockRunEvaluation(trx, dialect, run.id);
  return evaluate(trx, run, d, now, focus, opts, dialect);
}

async function evaluate(
  trx: Kysely<Database>,
  run: DagRunRow,
  d: SchedulableDag,
  now: Date,
  focus: ReadonlySet<string> | undefined,
  opts: EvaluateOptions,
  dialect: Dialect | undefined,
): Promise<RunEvaluation> {
  let candidates: TiLite[];
  let states: RunStates;
  // Focused candidates with many upstreams: their upstreams' states are counted, not read. Not for
  // mapping (a mapped task or a mapped upstream): the aggregate counts every instance alike, where
  // a reduce leaves `removed` instances out and a mapped instance looks at its own index.
  const wide = new Map<string, readonly string[]>();
  // States seen in the wide counts: one of them unfinished and runnable keeps the run running.
  const countedStates = new Set<string | null>();
  if (focus) {
    const needed = new Set(focus);
    for (const id of focus) {
      const t = d.tasks.get(id);
      const ups = t?.upstream_task_ids ?? [];
      for (const u of relevantSetups(d, id)) needed.add(u);
      const facts = upstreamFacts(d, id);
      if (dialect && ups.length > WIDE_UPSTREAM && !t?.expand_input && !facts.mappedUpstream) {
        wide.set(id, ups);
        // A branch parent's own state is still needed (Not Previously Skipped).
        for (const u of facts.flowParents) needed.add(u);
      } else for (const u of ups) needed.add(u);
    }
    let rows: TiLite[];
    if (opts.requireRunning) {
      const r = await listRunTaskBriefsWithRunState(trx, run, [...needed]);
      const runState = r.runState ?? (await getDagRunState(trx, run.id));
      if (runState !== "running") return { scheduled: 0, runState: "running", nextRetryAt: null, complete: false, ended: false, notRunning: true };
      rows = r.rows;
    } else rows = await selectTis(trx, run, [...needed]);
    states = new RunStates(rows);
    candidates = rows.filter((t) => focus.has(t.task_id));
  } else {
    candidates = await selectTis(trx, run);
    states = new RunStates(candidates);
  }
  // The whole run, in the same transaction (which holds the run's lock already).
  const again = () => evaluate(trx, { ...run, state: "running" }, d, now, undefined, opts, undefined);
  let scheduled = 0;
  let nextRetryAt: Date | null = null;
  const decisions = await branchDecisions(trx, run, d, candidates);
  const past = createPastDepends(trx, run, d);

  for (let changed = true; changed; ) {
    changed = false;
    for (const ti of candidates) {
      const task = d.tasks.get(ti.task_id);
      if (!task) continue; // removed from the DAG since the run was created
      const state = states.get(ti.task_id, ti.map_index);
      if (state !== null && state !== "up_for_retry" && state !== "up_for_reschedule") continue;
      const retryAt = ti.next_retry_at ? new Date(ti.next_retry_at) : null;
      const waiting = state === "up_for_reschedule" ? readyToReschedule({ state, rescheduleAt: retryAt, now }) : notInRetryPeriod({ state, nextRetryAt: retryAt, now });
      if (!waiting.passed) {
        if (retryAt && (!nextRetryAt || retryAt < nextRetryAt)) nextRetryAt = retryAt;
        continue;
      }
      const branchParents = (decisions.size ? upstreamFacts(d, ti.task_id).flowParents : [])
        .filter((u) => decisions.has(u))
        .map((u) => ({ taskId: u, finished: states.single(u) === "success", decision: decisions.get(u)! }));
      if (branchParents.length) {
        const skip = notPreviouslySkipped({ taskId: ti.task_id, branchParents });
        const hold = skip.newState ? await holdSkipForPast(task, past) : null;
        if (hold) {
          if (ti.state_reason !== hold.reason) await noteWaitingReason(trx, ti.id, hold.reason);
          ti.state_reason = hold.reason;
          continue;
        }
        if (skip.newState) {
          await decideTaskInstance(trx, ti.id, "skipped", skip.reason);
          states.set(ti.task_id, ti.map_index, "skipped");
          if (focus) return again();
          changed = true;
          continue;
        }
      }
      const wideUps = wide.get(ti.task_id);
      const setups = relevantSetups(d, ti.task_id);
      // A wide fan-in whose upstream just succeeded while another is unfinished: still waiting,
      // proved by one row (fan-in-witness.ts) instead of counting every upstream.
      const witnesses = opts.witnesses;
      if (wideUps && witnesses && setups.length === 0 && state === null && focus) {
        // The focus (a finished upstream and its downstream) is small; the upstream list is not.
        const ids = upstreamFacts(d, ti.task_id).ids;
        const finishedNow = [...focus].filter((u) => ids.has(u)).map((u) => states.single(u));
        if (await witnesses.stillWaits(trx, run, ti.task_id, task.trigger_rule, wideUps, finishedNow, countedStates)) continue;
      }
      // In a mapped task group, an upstream in the same group counts only its instance at this
      // instance's index (run-states.ts relevant): the group releases index by index.
      const perIndex = inMappedGroup(d, task, ti.map_index);
      const upstream = wideUps
        ? await countWideUpstream(trx, dialect!, run, wideUps, countedStates)
        : countUpstreamStates(states.upstream(task.upstream_task_ids, ti.map_index < 0 && !task.expand_input, perIndex));
      // Counted with an upstream unfinished: the next finish asks a witness, found from the end.
      if (wideUps && witnesses && upstream.done < upstream.total) witnesses.reset(run, ti.task_id, wideUps);
      // Until some upstream task has finished no rule but `always` can pass or decide a state:
      // skipping those keeps a step O(changed) rather than O(tasks) for a long chain.
      if (upstream.done === 0 && upstream.total > 0 && task.trigger_rule !== "always" && setups.length === 0) continue;
      const statesOf = (id: string) => (perIndex?.sameGroup(id) ? states.relevant(id, ti.map_index) : [states.single(id)]);
      // An instance past a shorter re-expansion of the group (after a clear): its upstream inside
      // the group was removed at this index, so it is removed too instead of running on no element.
      const gone = perIndex?.waitsPerIndex && ti.map_index >= 0 ? task.upstream_task_ids.find((u) => perIndex.sameGroup(u) && states.get(u, ti.map_index) === "removed") : undefined;
      const verdict: TaskVerdict = gone
        ? { passed: false, newState: "removed", reason: `map_index ${ti.map_index} is beyond the mapped task group's expansion: ${gone}[${ti.map_index}] is removed` }
        : await decideTask(d, task, ti.map_index, upstream, setups, statesOf, past);
      if (verdict.newState) {
        await decideTaskInstance(trx, ti.id, verdict.newState, verdict.reason);
        // As for a mapped task's surplus instances (store/mapped.ts): a reduce must not see the
        // results of the longer expansion.
        if (gone) await clearTaskXcoms(trx, run.id, ti.task_id, ti.map_index);
        states.set(ti.task_id, ti.map_index, verdict.newState);
        // The decision reaches tasks outside the focus: look at the whole run.
        if (focus) return again();
        changed = true;
      } else if (verdict.passed && task.expand_input && state === null && (ti.map_index < 0 || !perIndex?.waitsPerIndex)) {
        // A mapped task not yet expanded (or cleared): its instances are made (or re-made) now and
        // scheduled at once (src/scheduler/expand.ts). A mapped instance's retry is scheduled below.
        // In a mapped task group, a task with an upstream inside the group gets its instances
        // unscheduled instead: each is looked at next, and runs when its own upstream index is done.
        const stepwise = perIndex?.waitsPerIndex === true;
        const x = await expandMappedTask(trx, run, d, task, opts.maxMapLength, stepwise ? null : "scheduled");
        states.replaceTask(ti.task_id, x.instances);
        scheduled += x.scheduled;
        if (x.settled && focus) return again();
        if (x.settled) changed = true;
        else if (stepwise) {
          // The placeholder is instance 0 now; the other instances join the candidates.
          ti.map_index = 0;
          const known = new Set(candidates.map((c) => c.id));
          for (const inst of x.instances) {
            if (inst.map_index > 0 && !known.has(inst.id)) {
              candidates.push({ id: inst.id, task_id: ti.task_id, map_index: inst.map_index, state: inst.state, next_retry_at: null, state_reason: null });
            }
          }
          changed = true;
        }
      } else if (verdict.passed) {
        await scheduleTaskInstance(trx, ti.id);
        states.set(ti.task_id, ti.map_index, "scheduled");
        scheduled++;
      } else if (reasonShape(ti.state_reason) !== reasonShape(verdict.reason)) {
        // Kept for people asking why the task waits (API, status page); written only when the
        // verdict changes, so its counts are those of when it began to wait: rewriting it at each
        // change of count cost a fan-in of 998 a write per finishing upstream.
        await noteWaitingReason(trx, ti.id, verdict.reason);
        ti.state_reason = verdict.reason;
      }
    }
  }

  let leafStates: (string | null)[];
  let allStates: (string | null)[];
  const keepsRunning = (s: string | null) => s !== null && s !== "none" && UNFINISHED_STATES.includes(s);
  if (focus && (states.all().some(keepsRunning) || [...countedStates].some(keepsRunning))) {
    // A task instance that is scheduled, queued, running or waiting on a retry or trigger keeps the
    // run running (dag-run-state.ts: unfinished, and runnable so not deadlocked): the run-wide
    // reads below are skipped, two statements of every step of a chain.
    return { scheduled, runState: "running", nextRetryAt, complete: false, ended: false };
  }
  if (focus) {
    // The run's state needs every task's state, but only as a set: one aggregate, not 1,000 rows.
    allStates = await distinctRunStates(trx, run);
    const leaves = await selectTis(trx, run, d.leaves);
    leafStates = new RunStates(leaves).upstream(d.leaves, false);
  } else {
    leafStates = states.upstream(d.leaves, false);
    allStates = states.all();
  }
  // Airflow's _UnfinishedStates.should_schedule: a run whose unfinished tasks include one with
  // depends_on_past waits (on another run) rather than deadlocks.
  const waitsOnPast = allStates.some((s) => s === null || s === "none") && (await unfinishedDependsOnPast(trx, run, d, focus ? undefined : states));
  const decision = dagRunDecision({ leafStates, allStates, ...(waitsOnPast ? { anyRunnable: true } : {}) });
  // A deadlock is a verdict on every undecided task: "none of them can run" holds only once each
  // one's trigger rule has been asked, which a focused evaluation did for its focus alone. Another
  // upstream's hand-off may not have decided its downstream yet (its follow-up still queued, or on
  // PostgreSQL its transaction not yet committed): a reduce left `none` beside a finished branch
  // failed the run as deadlocked, with the reduce then scheduled (seen under load, 1 run in 20).
  if (focus && decision.reason === "all_tasks_deadlocked") return { scheduled, runState: "running", nextRetryAt, complete: false, ended: false, lookAgain: true };
  const runState = decision.state;
  const ended = runState !== "running" && (await finishDagRun(trx, run.id, runState));
  return { scheduled, runState, nextRetryAt, complete: !focus, ended };
}

/** For a task in a mapped task group: which of its upstreams are in the same group (counted at the
 *  instance's own map index), and whether it has any (then its instances wait index by index). */
function inMappedGroup(d: SchedulableDag, task: SerializedTask, mapIndex: number): (PerIndex & { waitsPerIndex: boolean }) | undefined {
  const group = task.mapped_task_group_id;
  if (!group) return undefined;
  const sameGroup = (id: string) => d.tasks.get(id)?.mapped_task_group_id === group;
  return { mapIndex, sameGroup, waitsPerIndex: task.upstream_task_ids.some(sameGroup) };
}

/** A wide task's direct upstream states, counted by the store. An upstream task without a row (added
 *  to the DAG after the run was created) counts as state none, as in the row-by-row path. */
async function countWideUpstream(trx: Kysely<Database>, dialect: Dialect, run: DagRunRow, upstreamIds: readonly string[], seen: Set<string | null>): Promise<UpstreamStates> {
  const counts = await countRunTaskStates(trx, dialect, run, upstreamIds);
  for (const c of counts) seen.add(c.state);
  const rows = counts.reduce((a, c) => a + c.n, 0);
  if (rows < upstreamIds.length) counts.push({ state: null, n: upstreamIds.length - rows });
  return upstreamStatesFromCounts(counts);
}

// `backfill create --wait`: follows a backfill until it is complete. The runs are worked by a
// scheduler in another process, so this reads the store on an interval (there is no event to
// wait on across processes that both dialects have). On a terminal it draws a live bar
// (cli-progress): done/total, failed, running, elapsed, ETA; off a terminal it prints one line per
// finished run, so logs and CI output stay readable.
import cliProgress from "cli-progress";
import { backfillProgress, getBackfill, listBackfillDagRuns, type BackfillProgress } from "../store/backfills.ts";
import { pyIsoformat } from "../store/dag-runs.ts";
import type { Store } from "../store/index.ts";

export interface FollowOptions {
  /** How often the store is read; 500 ms keeps the bar live at negligible cost. */
  intervalMs?: number;
  /** Draw the bar (default: stdout is a terminal). */
  tty?: boolean;
  /** Say once that no run moves, after this long (nobody may be running a scheduler). */
  stallHintMs?: number;
  /** Where the bar and lines go (default stdout). */
  out?: NodeJS.WritableStream & { isTTY?: boolean };
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export async function followBackfill(store: Store, id: number, opts: FollowOptions = {}): Promise<BackfillProgress> {
  const interval = opts.intervalMs ?? 500;
  const out = opts.out ?? process.stdout;
  const tty = opts.tty ?? Boolean(out.isTTY);
  const stallHintMs = opts.stallHintMs ?? 15_000;
  const reported = new Set<string>();
  let bar: cliProgress.SingleBar | undefined;
  let lastChange = Date.now();
  let lastKey = "";
  let hinted = false;
  for (;;) {
    const b = await getBackfill(store.db, id);
    const p = await backfillProgress(store.db, id);
    const done = p.success + p.failed;
    if (tty) {
      if (!bar) {
        bar = new cliProgress.SingleBar(
          {
            format: `backfill ${id} {bar} {value}/{total} runs | failed {failed} | running {running} | {duration_formatted} elapsed | ETA {eta_formatted}`,
            hideCursor: true,
            etaBuffer: 20,
            stream: out,
            // Drawn because we were asked to (a terminal, or a test's stream standing in for one).
            noTTYOutput: true,
            notTTYSchedule: 100,
          },
          cliProgress.Presets.shades_classic,
        );
        bar.start(p.total, done, { failed: p.failed, running: p.running });
      } else bar.update(done, { failed: p.failed, running: p.running });
    } else {
      for (const e of await listBackfillDagRuns(store.db, id)) {
        if (!e.run_id || (e.state !== "success" && e.state !== "failed")) continue;
        const key = `${e.run_id}\u0000${e.end_date ?? ""}`;
        if (reported.has(key)) continue;
        reported.add(key);
        out.write(`[${reported.size}/${p.total}] ${pyIsoformat(e.logical_date)} ${e.run_id}: ${e.state}\n`);
      }
    }
    const key = `${done}/${p.running}`;
    if (key !== lastKey) {
      lastKey = key;
      lastChange = Date.now();
    } else if (!hinted && p.running === 0 && Date.now() - lastChange > stallHintMs && !b?.completed_at) {
      hinted = true;
      process.stderr.write(`no run of backfill ${id} has moved for ${Math.round(stallHintMs / 1000)} s: is a scheduler running (\`orch scheduler\` or \`orch standalone\`)? Is the backfill paused?\n`);
    }
    if (!b || b.completed_at) {
      bar?.stop();
      out.write(`Backfill ${id} ${b ? "finished" : "is gone"}: ${p.success} success, ${p.failed} failed, ${p.skipped} date(s) skipped${p.queued + p.running ? `, ${p.running} running when it was cancelled` : ""}\n`);
      return p;
    }
    await sleep(interval);
  }
}

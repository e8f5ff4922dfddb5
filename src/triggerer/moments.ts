// Moments to act at (a date-time trigger's fire time, a deferral's timeout), on one timer: a binary
// min-heap by time, and one setTimeout for the earliest. When it expires every entry due by now is
// handed over in one call, in time order, so fires due in the same millisecond reach the
// triggerer's write batch together. Entries are never removed early: the caller skips the ones it
// no longer wants, and `forgetStale` drops them when they outnumber the live ones.
const MAX_TIMER_MS = 2 ** 31 - 1;

export interface MomentQueue<T> {
  add(at: number, item: T): void;
  /** Rebuilds the heap without stale items once it holds more than twice `live` (and 1,024). */
  forgetStale(live: number): void;
  stop(): void;
  readonly size: number;
}

export function createMomentQueue<T>(onDue: (items: T[]) => void, isStale: (item: T) => boolean = () => false): MomentQueue<T> {
  const at: number[] = [];
  const items: T[] = [];
  let timer: NodeJS.Timeout | undefined;
  let timerAt = Infinity;
  let stopped = false;

  function swap(i: number, j: number): void {
    [at[i], at[j]] = [at[j], at[i]];
    [items[i], items[j]] = [items[j], items[i]];
  }
  function up(i: number): void {
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (at[p] <= at[i]) return;
      swap(i, p);
      i = p;
    }
  }
  function down(i: number): void {
    const n = at.length;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < n && at[l] < at[m]) m = l;
      if (r < n && at[r] < at[m]) m = r;
      if (m === i) return;
      swap(i, m);
      i = m;
    }
  }
  function pop(): T {
    const top = items[0];
    const lastAt = at.pop()!;
    const lastItem = items.pop()!;
    if (at.length) {
      at[0] = lastAt;
      items[0] = lastItem;
      down(0);
    }
    return top;
  }
  function schedule(): void {
    if (stopped || at.length === 0) return;
    const next = at[0];
    if (timer && timerAt <= next) return;
    if (timer) clearTimeout(timer);
    timerAt = next;
    timer = setTimeout(expire, Math.max(0, Math.min(next - Date.now(), MAX_TIMER_MS)));
  }
  function expire(): void {
    timer = undefined;
    timerAt = Infinity;
    const now = Date.now();
    const due: T[] = [];
    while (at.length && at[0] <= now) due.push(pop());
    // Set the next timer first: onDue may add entries (a re-arm), which then only move it earlier.
    schedule();
    if (due.length) onDue(due);
  }

  return {
    add(t, item) {
      if (stopped) return;
      at.push(t);
      items.push(item);
      up(at.length - 1);
      schedule();
    },
    forgetStale(live) {
      if (at.length <= Math.max(1024, 2 * live)) return;
      const keepAt: number[] = [];
      const keep: T[] = [];
      for (let i = 0; i < at.length; i++) {
        if (isStale(items[i])) continue;
        keepAt.push(at[i]);
        keep.push(items[i]);
      }
      at.length = 0;
      items.length = 0;
      for (let i = 0; i < keep.length; i++) {
        at.push(keepAt[i]);
        items.push(keep[i]);
      }
      // Heapify the survivors.
      for (let i = (at.length >> 1) - 1; i >= 0; i--) down(i);
    },
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      timer = undefined;
    },
    get size() {
      return at.length;
    },
  };
}

// Reads kept until the database changes: a listing's response body or a rendered page, stamped with
// the data version (src/store/data-version.ts) read just before it was loaded, and served again
// while the version reads the same. Any committed write, by this process or another (scheduler,
// DAG processor, CLI, a second api-server on PostgreSQL), changes the version, so an entry is never
// served once the rows under it changed. Measured (scripts/bench/api-requests.ts): GET /api/v2/dags
// with 50 DAGs cost 0.83 ms of CPU, most of it reading 50 rows and writing them as JSON; a hit is
// one one-row statement. While the scheduler is busy the version moves with every commit and
// entries are simply reloaded.
//
// Glossary:
//   key     - what was read, with every parameter that changes the answer (normalised)
//   version - the data version when the entry was loaded
//   entry   - the promise of the loaded value: concurrent requests for a key share one load
import type { Store } from "../store/index.ts";
import { readDataVersion } from "../store/data-version.ts";

export interface ReadCache {
  /** `load()`'s result for `key`: the kept one when nothing was written since it was loaded.
   *  `keep` refuses to keep a loaded value (one that also depends on the clock); `bytes` says how
   *  big a kept value is (default: a Uint8Array's length, else nothing). */
  get<T>(key: string, load: () => Promise<T>, opts?: GetOptions<T>): Promise<T>;
  readonly stats: { hits: number; misses: number };
}

export interface GetOptions<T> {
  keep?: (value: T) => boolean;
  bytes?: (value: T) => number;
}

interface Entry {
  version: string;
  value: Promise<unknown>;
  /** Bytes of the loaded value (GetOptions.bytes), counted against maxBytes. */
  bytes: number;
}

export function createReadCache(store: Pick<Store, "db" | "dialect">, opts: { maxEntries?: number; maxBytes?: number } = {}): ReadCache {
  // Bounded: keys vary with query parameters (filters, paging); the oldest used goes first. Kept
  // bodies are bounded by their bytes too (limit=10000 pages of many DAGs are megabytes each),
  // and one larger than a quarter of that is not kept.
  const maxEntries = opts.maxEntries ?? 100;
  const maxBytes = opts.maxBytes ?? 32 * 1024 * 1024;
  const entries = new Map<string, Entry>();
  let bytes = 0;
  const stats = { hits: 0, misses: 0 };
  const drop = (key: string) => {
    const e = entries.get(key);
    if (!e) return;
    bytes -= e.bytes;
    entries.delete(key);
  };
  const trim = () => {
    while (entries.size > maxEntries || bytes > maxBytes) drop(entries.keys().next().value as string);
  };
  return {
    stats,
    async get<T>(key: string, load: () => Promise<T>, opts: GetOptions<T> = {}): Promise<T> {
      const version = await readDataVersion(store);
      const hit = entries.get(key);
      if (hit && hit.version === version) {
        stats.hits++;
        // Most recently used last.
        entries.delete(key);
        entries.set(key, hit);
        return hit.value as Promise<T>;
      }
      stats.misses++;
      drop(key);
      const entry: Entry = { version, value: load(), bytes: 0 };
      entries.set(key, entry);
      trim();
      entry.value.then(
        (v) => {
          if (entries.get(key) !== entry) return;
          if (opts.keep && !opts.keep(v as T)) return drop(key);
          const size = opts.bytes ? opts.bytes(v as T) : v instanceof Uint8Array ? v.byteLength : 0;
          if (size > maxBytes / 4) return drop(key);
          entry.bytes = size;
          bytes += entry.bytes;
          trim();
        },
        // A failed load (a 404, the database gone) is not kept: the next request tries again.
        () => {
          if (entries.get(key) === entry) drop(key);
        },
      );
      return entry.value as Promise<T>;
    },
  };
}

/** A response body to keep: JSON already encoded as UTF-8, so a hit is written to the socket as it
 *  is (a kept string was measured and encoded again for every response: 40 KiB for 50 DAGs). */
export function jsonBytes(value: unknown): Uint8Array<ArrayBuffer> {
  return Buffer.from(JSON.stringify(value));
}

// The DAG processor: keeps the store's dag / serialized_dag / import_error rows in step with the
// DAG files. A pass stats every file; a file whose mtime and size are unchanged is skipped, one
// whose content hash is unchanged is skipped after reading; the rest are compiled (esbuild, in
// this process) and imported (in a pool of child processes, with a time limit).
//
// Glossary: pass - one scan of the folder (processAll) or of named files (processFiles);
// owner - the file that first defined a dag_id; the same dag_id in another file is an error there.
import { watch, type FSWatcher } from "node:fs";
import { readFile, stat } from "node:fs/promises";
import { availableParallelism } from "node:os";
import { join, relative, resolve } from "node:path";
import type { Store } from "../store/index.ts";
import { createTimetable } from "../timetables/index.ts";
import { listDagFileHashes, listImportErrorFileHashes, recordFileDeleted, recordFileResult } from "../store/dags.ts";
import { findDagFiles } from "./files.ts";
import { compileDagSource, DagCompileError, sha256 } from "./load.ts";
import { createImportPool, type ImportPool, type ImportResult } from "./pool.ts";
import type { ImportProblem } from "./protocol.ts";
import { checkDagTypes, formatTypeDiagnostic } from "./type-check.ts";
import { fileStateNotice } from "./notices.ts";

/** A file's type errors as import problems, one per error, naming file:line:col. */
function typeProblems(path: string, cacheDir: string): ImportProblem[] {
  try {
    return checkDagTypes([path], { cacheDir }).diagnostics.map((d) => {
      const text = formatTypeDiagnostic(d);
      return { message: text.split("\n")[0], line: d.file === path ? d.line : null, detail: `TypeError (check_dag_types): ${text}` };
    });
  } catch (e) {
    return [{ message: `type check failed: ${(e as Error).message}`, line: null, detail: (e as Error).stack ?? String(e) }];
  }
}

export interface DagProcessorOptions {
  store: Store;
  dagsFolder: string;
  home: string;
  importTimeoutSeconds: number;
  /** Called after a pass that added, changed or removed DAGs. */
  onDagsChanged?: (dagIds: string[]) => void;
  /** is_paused of a new DAG that does not set is_paused_upon_creation. Default false. */
  pausedByDefault?: boolean;
  /** Import children; default min(4, CPUs). */
  poolSize?: number;
  /** Where a file that starts or stops failing to load is said (the long-running components). */
  log?: (message: string) => void;
  /** Type-check each changed file and record type errors as import errors ([core] check_dag_types). */
  checkTypes?: boolean;
  /** The safety rescan while started (fs.watch can miss events on some filesystems). Default 60 s. */
  rescanIntervalMs?: number;
}

export interface ProcessResult {
  /** DAG files seen in the pass. */
  files: number;
  /** Files compiled and imported (the rest were unchanged). */
  parsed: number;
  deleted: number;
  /** dag_ids added, changed or made stale. */
  changedDagIds: string[];
  importErrors: number;
  durationMs: number;
}

export interface DagProcessor {
  processAll(opts?: { force?: boolean }): Promise<ProcessResult>;
  processFiles(paths: string[], opts?: { force?: boolean }): Promise<ProcessResult>;
  start(): void;
  stop(): Promise<void>;
  /** Asks for a pass soon (coalesced with one already waiting). */
  nudge(): void;
}

interface FileState {
  mtimeNs: bigint | null;
  size: number | null;
  hash: string;
  dagIds: string[];
  /** Re-import on every pass: the last one failed in a way that may heal by itself elsewhere
   *  (a dag_id another file owned), or there were errors we did not write ourselves. */
  retry: boolean;
  /** The first line of its first import error, or null when it loads. */
  error: string | null;
}

/** Compiles and imports run this many files ahead of the in-order writer. */
const IN_FLIGHT = 16;
/** An import child idle this long is ended (src/dag-processing/pool.ts): after the first pass a
 *  long-running processor imports only when a file changes, and then starts a child again. */
const IMPORT_CHILD_IDLE_MS = 5000;

export function createDagProcessor(opts: DagProcessorOptions): DagProcessor {
  const dagsFolder = resolve(opts.dagsFolder);
  const cacheDir = join(opts.home, ".cache");
  const files = new Map<string, FileState>();
  const owners = new Map<string, string>();
  let initialized: Promise<void> | undefined;
  let pool: ImportPool | undefined;
  let running: Promise<unknown> = Promise.resolve();
  let watcher: FSWatcher | undefined;
  let timer: NodeJS.Timeout | undefined;
  let debounce: NodeJS.Timeout | undefined;
  let stopped = false;

  function getPool(): ImportPool {
    pool ??= createImportPool({
      size: opts.poolSize ?? Math.max(1, Math.min(4, availableParallelism())),
      timeoutMs: opts.importTimeoutSeconds * 1000,
      cwd: opts.home,
      idleMs: IMPORT_CHILD_IDLE_MS,
    });
    return pool;
  }

  /** What the store already knows, so a restarted orch does not re-import unchanged files. */
  function init(): Promise<void> {
    initialized ??= (async () => {
      // An import error is kept with the hash of the file it came from, like a good parse: an
      // unchanged broken file is not imported again (each CLI call used to re-import it; three
      // files that hang at import made `dags list` take 14.6 s). Errors without a hash (a dag_id
      // another file owned, or rows from before the hash was kept) are retried.
      const withErrors = await listImportErrorFileHashes(opts.store.db);
      for (const r of await listDagFileHashes(opts.store.db)) {
        const errorHash = withErrors.get(r.fileloc);
        const retry = errorHash !== undefined && errorHash !== r.file_hash;
        const f = files.get(r.fileloc) ?? { mtimeNs: null, size: null, hash: r.file_hash, dagIds: [], retry, error: errorHash === undefined ? null : "" };
        f.dagIds.push(r.dag_id);
        files.set(r.fileloc, f);
        owners.set(r.dag_id, r.fileloc);
      }
      for (const [filename, hash] of withErrors) {
        if (!files.has(filename)) files.set(filename, { mtimeNs: null, size: null, hash: hash ?? "", dagIds: [], retry: hash === null, error: "" });
      }
    })();
    return initialized;
  }

  /** Serializes passes: two passes never interleave their writes. */
  function exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const next = running.then(fn, fn);
    running = next.catch(() => {});
    return next;
  }

  type Prepared =
    | { kind: "skip" }
    | { kind: "gone" }
    | { kind: "done"; state: Omit<FileState, "dagIds" | "retry" | "error">; result: ImportResult };

  async function prepare(path: string, force: boolean): Promise<Prepared> {
    let st;
    try {
      st = await stat(path, { bigint: true });
    } catch {
      return { kind: "gone" };
    }
    const old = files.get(path);
    const size = Number(st.size);
    if (!force && old && !old.retry && old.mtimeNs === st.mtimeNs && old.size === size) return { kind: "skip" };
    let source: string;
    try {
      source = await readFile(path, "utf8");
    } catch {
      return { kind: "gone" };
    }
    const hash = sha256(source);
    if (!force && old && !old.retry && old.hash === hash) {
      old.mtimeNs = st.mtimeNs;
      old.size = size;
      return { kind: "skip" };
    }
    const state = { mtimeNs: st.mtimeNs, size, hash };
    let compiledPath: string;
    try {
      compiledPath = (await compileDagSource(path, source, { cacheDir })).compiledPath;
    } catch (e) {
      const err = e as Error;
      const line = e instanceof DagCompileError ? e.line : null;
      return { kind: "done", state, result: { dags: [], problems: [{ message: err.message.split("\n")[0], line, detail: err.message }] } };
    }
    const result = await getPool().run({ compiledPath, fileloc: path, relative_fileloc: relative(dagsFolder, path) });
    if (opts.checkTypes) result.problems.push(...typeProblems(path, cacheDir));
    return { kind: "done", state, result };
  }

  async function forgetFile(path: string, changed: string[]): Promise<void> {
    const old = files.get(path);
    if (!old) return;
    await recordFileDeleted(opts.store, path, old.dagIds);
    for (const id of old.dagIds) if (owners.get(id) === path) owners.delete(id);
    changed.push(...old.dagIds);
    if (old.error !== null) opts.log?.(`${relative(dagsFolder, path)} was deleted; its import error is gone`);
    files.delete(path);
    // A file that lost a dag_id to this one may now own it: such a file is already retried on
    // every pass (retry), so a broken file unrelated to this one is not imported again.
  }

  async function write(path: string, p: Extract<Prepared, { kind: "done" }>, changed: string[]): Promise<number> {
    const problems: ImportProblem[] = [...p.result.problems];
    const descriptions: Record<string, string | null> = {};
    const dags = p.result.dags.filter((d) => {
      // The scheduler builds the same timetable: a schedule it cannot use is this file's error now,
      // not a scheduler failure later.
      try {
        const t = createTimetable(d.timetable);
        t.validate();
        descriptions[d.dag_id] = t.description || null;
      } catch (e) {
        const message = `DAG "${d.dag_id}": invalid schedule: ${(e as Error).message}`;
        problems.push({ message, line: null, detail: `DagDefinitionError: ${message}` });
        return false;
      }
      const owner = owners.get(d.dag_id);
      if (owner && owner !== path && files.has(owner)) {
        const message = `dag_id "${d.dag_id}" is already defined in ${relative(dagsFolder, owner)}; a dag_id must be unique across DAG files`;
        problems.push({ message, line: null, detail: `AirflowDagDuplicatedIdException: ${message}` });
        return false;
      }
      return true;
    });
    const old = files.get(path);
    const previous = old?.dagIds ?? [];
    const imported = p.result.problems.length;
    // A dag_id lost to another file may heal when that file changes: retried on every pass.
    const errors = problems.map((pr, i) => ({
      line: pr.line,
      stacktrace: pr.detail.includes(pr.message) ? pr.detail : `${pr.message}\n${pr.detail}`,
      cacheable: i < imported || !pr.detail.startsWith("AirflowDagDuplicatedIdException"),
    }));
    const changedHere = await recordFileResult(
      opts.store,
      { fileloc: path, relative_fileloc: relative(dagsFolder, path), fileHash: p.state.hash, dags, errors, timetableDescriptions: descriptions, pausedByDefault: opts.pausedByDefault ?? false },
      previous,
    );
    changed.push(...changedHere);
    for (const id of previous) if (owners.get(id) === path && !dags.some((d) => d.dag_id === id)) owners.delete(id);
    for (const d of dags) owners.set(d.dag_id, path);
    const duplicateLost = problems.length > p.result.problems.length;
    // A timeout is not retried on every pass: it would hold a child for the whole limit each time.
    const error = problems.length ? problems[0].message.split("\n")[0] : null;
    const notice = fileStateNotice({ dagsFolder, path, wasFailing: (old?.error ?? null) !== null, wasError: old?.error ?? undefined, error, dags: dags.length });
    if (notice) opts.log?.(notice);
    files.set(path, { ...p.state, dagIds: dags.map((d) => d.dag_id), retry: duplicateLost, error });
    return problems.length;
  }

  async function run(paths: string[], force: boolean, all: boolean): Promise<ProcessResult> {
    const t0 = performance.now();
    await init();
    const changed: string[] = [];
    let deleted = 0;
    if (all) {
      const present = new Set(paths);
      for (const known of [...files.keys()]) {
        if (!present.has(known)) {
          await forgetFile(known, changed);
          deleted++;
        }
      }
    }
    // Files are prepared (compiled, imported) concurrently but written in path order, so which of
    // two files defining one dag_id wins does not depend on timing.
    const prepared: Promise<Prepared>[] = [];
    let started = 0;
    const startNext = () => {
      if (started < paths.length) {
        const i = started++;
        prepared[i] = prepare(paths[i], force);
      }
    };
    for (let i = 0; i < IN_FLIGHT; i++) startNext();
    let parsed = 0;
    let importErrors = 0;
    for (let i = 0; i < paths.length; i++) {
      const p = await prepared[i];
      startNext();
      if (p.kind === "gone") {
        if (files.has(paths[i])) deleted++;
        await forgetFile(paths[i], changed);
      } else if (p.kind === "done") {
        parsed++;
        importErrors += await write(paths[i], p, changed);
      }
    }
    const changedDagIds = [...new Set(changed)];
    if (changedDagIds.length || deleted) opts.onDagsChanged?.(changedDagIds);
    return { files: paths.length, parsed, deleted, changedDagIds, importErrors, durationMs: performance.now() - t0 };
  }

  const processAll = (o: { force?: boolean } = {}) => exclusive(async () => run(await findDagFiles(dagsFolder), o.force ?? false, true));
  const processFiles = (paths: string[], o: { force?: boolean } = {}) =>
    exclusive(() => run([...new Set(paths.map((p) => resolve(p)))].sort(), o.force ?? false, false));

  let pending = false;
  function nudge(): void {
    if (stopped || pending) return;
    pending = true;
    void running.then(() => {
      pending = false;
      if (!stopped) return processAll().catch(() => {});
    });
  }

  function start(): void {
    if (watcher || timer || stopped) return;
    try {
      watcher = watch(dagsFolder, { recursive: true }, () => {
        // Any event (file or directory) leads to a pass: a warm pass only stats the files. Editors save in bursts (write, rename, chmod): one pass after the burst.
        clearTimeout(debounce);
        debounce = setTimeout(nudge, 25);
      });
      watcher.on("error", () => {});
    } catch {
      // No folder yet (or no recursive watch here): the safety rescan still finds new files.
    }
    timer = setInterval(nudge, opts.rescanIntervalMs ?? 60_000);
    timer.unref();
  }

  async function stop(): Promise<void> {
    stopped = true;
    watcher?.close();
    watcher = undefined;
    clearInterval(timer);
    clearTimeout(debounce);
    timer = undefined;
    await running;
    await pool?.close();
    pool = undefined;
  }

  return { processAll, processFiles, start, stop, nudge };
}

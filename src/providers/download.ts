// HTTP (and file://) download to a local path: streamed into a temp file beside the target and
// renamed only when complete and the size matches, so the final name never holds half a file.
// Retries with exponential backoff on 5xx, 429 and connection errors (including a body cut off
// mid-way); never on other 4xx. A 404 fails with ORCH_NOT_PUBLISHED naming the URL (a TLC month
// that is not out yet). Reports size and sha256.
// HTTP through node:http / node:https (one connection per attempt, no redirects followed): a task's
// worker loads this module with orch/providers, and the undici package took ~80 ms of CPU to import
// there, node:http ~5 ms.
import { createHash, randomBytes } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { rename, rm, stat, mkdir } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { Transform, type Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { fileURLToPath } from "node:url";
import type { IncomingMessage } from "node:http";
import { OrchError } from "../errors.ts";

export interface DownloadProgress {
  bytes: number;
  /** From Content-Length (or the file size), when known. */
  total?: number;
}

export interface DownloadOptions {
  /** Milliseconds to establish the connection (default 10,000). */
  connectTimeoutMs?: number;
  /** Milliseconds without a byte (headers or body) before giving up on an attempt (default 30,000). */
  readTimeoutMs?: number;
  /** Attempts in all, the first included (default 4). */
  attempts?: number;
  /** First backoff in ms, doubled per retry, with jitter (default 500). */
  backoffMs?: number;
  /** Called as bytes arrive, at most every `progressIntervalMs` (default 500) and once at the end. */
  onProgress?: (p: DownloadProgress) => void;
  progressIntervalMs?: number;
  /** Called before each retry with the attempt that failed and why. */
  onRetry?: (info: { attempt: number; error: Error; delayMs: number }) => void;
  headers?: Record<string, string>;
}

export interface DownloadResult {
  url: string;
  path: string;
  bytes: number;
  sha256: string;
  attempts: number;
}

class Retryable extends Error {}

/** One GET on a connection of its own; resolves at the response's headers. */
async function httpGet(url: URL, o: { headers?: Record<string, string>; signal: AbortSignal; connectTimeoutMs: number }): Promise<IncomingMessage> {
  const { request } = url.protocol === "https:" ? await import("node:https") : await import("node:http");
  return new Promise((resolve, reject) => {
    const req = request(url, { headers: o.headers, signal: o.signal, agent: false });
    const connect = setTimeout(() => req.destroy(new Error(`connect timeout after ${o.connectTimeoutMs} ms`)), o.connectTimeoutMs);
    connect.unref();
    req.once("socket", (socket) => {
      if (!socket.connecting) clearTimeout(connect);
      else socket.once("connect", () => clearTimeout(connect));
    });
    req.once("response", (res) => {
      clearTimeout(connect);
      resolve(res);
    });
    req.once("error", (e) => {
      clearTimeout(connect);
      reject(e);
    });
    req.end();
  });
}

/** Reads and drops the rest of a response we do not keep. */
function dump(res: IncomingMessage): Promise<void> {
  return new Promise((resolve) => {
    res.once("end", resolve).once("error", () => resolve()).once("close", resolve);
    res.resume();
  });
}

function tempBeside(dest: string): string {
  return join(dirname(dest), `.${basename(dest)}.${randomBytes(4).toString("hex")}.part`);
}

function hashing(hash: ReturnType<typeof createHash>, onBytes: (n: number) => void): Transform {
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      hash.update(chunk);
      onBytes(chunk.length);
      cb(null, chunk);
    },
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function download(url: string, dest: string, options: DownloadOptions = {}): Promise<DownloadResult> {
  const attempts = Math.max(1, options.attempts ?? 4);
  const backoff = options.backoffMs ?? 500;
  await mkdir(dirname(dest), { recursive: true });
  let last: Error = new Error("no attempt made");
  for (let attempt = 1; attempt <= attempts; attempt++) {
    const tmp = tempBeside(dest);
    try {
      const r = await attemptOnce(url, tmp, options);
      await rename(tmp, dest);
      return { url, path: dest, ...r, attempts: attempt };
    } catch (e) {
      await rm(tmp, { force: true });
      if (!(e instanceof Retryable)) throw e;
      last = e;
      if (attempt < attempts) {
        const delayMs = Math.round(backoff * 2 ** (attempt - 1) * (0.75 + Math.random() * 0.5));
        options.onRetry?.({ attempt, error: e, delayMs });
        await sleep(delayMs);
      }
    }
  }
  throw new OrchError("ORCH_DOWNLOAD_FAILED", `download of ${url} failed after ${attempts} attempt(s): ${last.message}`, { url, attempts });
}

async function attemptOnce(url: string, tmp: string, o: DownloadOptions): Promise<{ bytes: number; sha256: string }> {
  const u = new URL(url);
  const hash = createHash("sha256");
  let bytes = 0;
  let lastReport = 0;
  const interval = o.progressIntervalMs ?? 500;
  let total: number | undefined;
  // Our own idle timer: undici's header/body timeouts run on a ~1 s "fast timer" tick, too coarse
  // for short timeouts. Any byte re-arms it; expiry aborts the request (a retryable failure).
  const readTimeout = o.readTimeoutMs ?? 30_000;
  const ac = new AbortController();
  const idle = setTimeout(() => ac.abort(new Error(`no data for ${readTimeout} ms`)), readTimeout);
  idle.unref();
  try {
    return await transfer();
  } finally {
    clearTimeout(idle);
  }
  async function transfer(): Promise<{ bytes: number; sha256: string }> {
    const onBytes = (n: number) => {
      idle.refresh();
      bytes += n;
      const now = Date.now();
      if (o.onProgress && now - lastReport >= interval) {
        lastReport = now;
        o.onProgress({ bytes, total });
      }
    };
    let body: Readable;
    if (u.protocol === "file:") {
      const path = fileURLToPath(u);
      try {
        total = (await stat(path)).size;
      } catch {
        throw new OrchError("ORCH_NOT_PUBLISHED", `${url} is not published: no such file`, { url });
      }
      body = createReadStream(path);
    } else if (u.protocol === "http:" || u.protocol === "https:") {
      let res: IncomingMessage;
      try {
        res = await httpGet(u, { headers: o.headers, signal: ac.signal, connectTimeoutMs: o.connectTimeoutMs ?? 10_000 });
      } catch (e) {
        clearTimeout(idle);
        const why = ac.signal.aborted ? `no response within ${readTimeout} ms` : `connection error: ${(e as Error).message}`;
        throw new Retryable(why);
      }
      idle.refresh();
      const status = res.statusCode ?? 0;
      if (status === 404) {
        await dump(res);
        throw new OrchError("ORCH_NOT_PUBLISHED", `${url} is not published (HTTP 404)`, { url, status: 404 });
      }
      if (status >= 500 || status === 429) {
        await dump(res);
        throw new Retryable(`HTTP ${status}`);
      }
      if (status < 200 || status >= 300) {
        await dump(res);
        throw new OrchError("ORCH_DOWNLOAD_FAILED", `download of ${url} failed: HTTP ${status} (not retried)`, { url, status });
      }
      const len = res.headers["content-length"];
      total = typeof len === "string" ? Number(len) : undefined;
      body = res;
    } else {
      throw new OrchError("ORCH_USAGE", `cannot download ${url}: only http, https and file URLs`, { url });
    }
    try {
      await pipeline(body, hashing(hash, onBytes), createWriteStream(tmp, { flags: "wx" }));
    } catch (e) {
      if (e instanceof OrchError) throw e;
      const why = ac.signal.aborted ? `no data for ${readTimeout} ms` : (e as Error).message;
      throw new Retryable(`transfer interrupted after ${bytes} bytes: ${why}`);
    }
    if (total !== undefined && bytes !== total) throw new Retryable(`body cut off: got ${bytes} of ${total} bytes`);
    o.onProgress?.({ bytes, total });
    return { bytes, sha256: hash.digest("hex") };
  }
}

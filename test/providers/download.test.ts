import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { spawn } from "node:child_process";
import { fileURLToPath, pathToFileURL } from "node:url";
import { isOrchError } from "../../src/errors.ts";
import { download, type DownloadProgress } from "../../src/providers/download.ts";
import { serveData } from "../../scripts/serve-data.ts";
import { fixtures, type Fixtures } from "./fixtures.ts";

let fx: Fixtures;
let src: string;
let bytes: Buffer;
before(async () => {
  fx = await fixtures();
  src = fx.file("yellow", "2024-01", 20_000).path;
  bytes = await readFile(src);
});
after(() => fx.cleanup());

const sha = (b: Buffer) => createHash("sha256").update(b).digest("hex");
const PATH = "/trip-data/yellow_tripdata_2024-01.parquet";

describe("download", () => {
  it("downloads a file in the TLC layout, reporting size, sha256 and progress", async () => {
    const s = await serveData({ dir: fx.dir });
    try {
      const dest = join(fx.dir, "out", "ok.parquet");
      const seen: DownloadProgress[] = [];
      const r = await download(s.url + PATH, dest, { onProgress: (p) => seen.push(p), progressIntervalMs: 0 });
      assert.equal(r.bytes, bytes.length);
      assert.equal(r.sha256, sha(bytes));
      assert.equal(r.attempts, 1);
      assert.deepEqual(await readFile(dest), bytes);
      assert.ok(seen.length >= 2, "expected seen.length >= 2");
      assert.deepEqual(seen.at(-1), { bytes: bytes.length, total: bytes.length });
    } finally {
      await s.close();
    }
  });

  it("retries on 503 and then succeeds", async () => {
    const s = await serveData({ dir: fx.dir, failTimes: 2 });
    try {
      const dest = join(fx.dir, "out", "retry.parquet");
      const retries: number[] = [];
      const r = await download(s.url + PATH, dest, { backoffMs: 10, onRetry: (x) => retries.push(x.attempt) });
      assert.equal(r.attempts, 3);
      assert.deepEqual(retries, [1, 2]);
      assert.equal(s.hits.get(PATH), 3);
      assert.equal(sha(await readFile(dest)), sha(bytes));
    } finally {
      await s.close();
    }
  });

  it("a 404 fails at once with 'not published' and the URL", async () => {
    const s = await serveData({ dir: fx.dir });
    try {
      const url = `${s.url}/trip-data/yellow_tripdata_2031-01.parquet`;
      await assert.rejects(
        download(url, join(fx.dir, "out", "missing.parquet"), { backoffMs: 10 }),
        (e) => isOrchError(e, "ORCH_NOT_PUBLISHED") && e.message.includes("not published") && e.message.includes(url),
      );
      assert.equal(s.hits.get("/trip-data/yellow_tripdata_2031-01.parquet"), 1);
    } finally {
      await s.close();
    }
  });

  it("a body cut off every time leaves nothing under the final name (nor a temp file)", async () => {
    const s = await serveData({ dir: fx.dir, cutAfter: 50_000 });
    const outDir = join(fx.dir, "cut");
    try {
      const dest = join(outDir, "cut.parquet");
      await assert.rejects(download(s.url + PATH, dest, { attempts: 2, backoffMs: 10 }), (e) => isOrchError(e, "ORCH_DOWNLOAD_FAILED") && /2 attempt/.test(e.message));
      assert.deepEqual(await readdir(outDir), []);
      assert.equal(s.hits.get(PATH), 2);
    } finally {
      await s.close();
    }
  });

  it("an existing file is replaced only by a complete download", async () => {
    const s = await serveData({ dir: fx.dir, cutAfter: 10_000 });
    try {
      const dest = join(fx.dir, "keep.parquet");
      await writeFile(dest, "previous good copy");
      await assert.rejects(download(s.url + PATH, dest, { attempts: 1 }), (e) => isOrchError(e, "ORCH_DOWNLOAD_FAILED") && e.message.includes(s.url + PATH));
      assert.equal(await readFile(dest, "utf8"), "previous good copy");
    } finally {
      await s.close();
    }
  });

  it("a server slower than the read timeout fails the attempt, is retried, then fails naming the URL", async () => {
    const s = await serveData({ dir: fx.dir, slowMs: 400 });
    try {
      const url = s.url + PATH;
      await assert.rejects(
        download(url, join(fx.dir, "out", "slow.parquet"), { attempts: 2, backoffMs: 10, readTimeoutMs: 100 }),
        (e) => isOrchError(e, "ORCH_DOWNLOAD_FAILED") && e.message.includes(url) && /2 attempt/.test(e.message),
      );
      assert.equal(s.hits.get(PATH), 2);
    } finally {
      await s.close();
    }
  });

  it("file:// URLs, and a missing file is 'not published'", async () => {
    const dest = join(fx.dir, "out", "local.parquet");
    const r = await download(pathToFileURL(src).href, dest);
    assert.equal(r.sha256, sha(bytes));
    assert.deepEqual(await readFile(dest), bytes);
    await assert.rejects(download(pathToFileURL(join(fx.dir, "none.parquet")).href, dest), (e) => isOrchError(e, "ORCH_NOT_PUBLISHED"));
  });

  it("serve-data runs as a CLI too", async () => {
    const script = fileURLToPath(new URL("../../scripts/serve-data.ts", import.meta.url));
    const child = spawn(process.execPath, ["--import", "tsx", script, "--dir", fx.dir, "--port", "0", "--fail-times", "1"], { stdio: ["ignore", "pipe", "inherit"] });
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let out = "";
        child.stdout.on("data", (d) => {
          out += d;
          const m = /at (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
          if (m) resolve(m[1]);
        });
        child.once("exit", (c) => reject(new Error(`serve-data exited ${c}: ${out}`)));
      });
      const r = await download(url + PATH, join(fx.dir, "out", "cli.parquet"), { backoffMs: 10 });
      assert.equal(r.attempts, 2);
      assert.equal(r.sha256, sha(bytes));
    } finally {
      child.kill("SIGTERM");
    }
  });

  it("a connection refused is retried, then fails naming the URL", async () => {
    const s = await serveData({ dir: fx.dir });
    const url = s.url + PATH;
    await s.close();
    await assert.rejects(download(url, join(fx.dir, "out", "refused.parquet"), { attempts: 2, backoffMs: 10 }), (e) => isOrchError(e, "ORCH_DOWNLOAD_FAILED") && e.message.includes(url));
  });
});

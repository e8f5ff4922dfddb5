// Parquet files that are not: each message names the file and what is wrong with it.
import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { isOrchError } from "../../src/errors.ts";
import { inspectParquet } from "../../src/providers/parquet.ts";

/** Deterministic garbage (a linear congruential generator): the same bytes on every run. */
function garbage(seed: number, n: number): Buffer {
  const b = Buffer.alloc(n);
  let x = seed >>> 0;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    b[i] = x >>> 24;
  }
  return b;
}

describe("parquet: messages that say what failed and where", () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "orch-pq-"));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it("a directory named x.parquet is said to be a directory, with its path", async () => {
    const p = join(dir, "x.parquet");
    await mkdir(p);
    await assert.rejects(inspectParquet(p), (e) => {
      assert.ok(isOrchError(e, "ORCH_PARQUET_INVALID"), "expected isOrchError(e, \"ORCH_PARQUET_INVALID\")");
      assert.equal(e.message, `${p}: is a directory, not a Parquet file (a folder named like a file?)`);
      return true;
    });
  });

  it("a garbage footer is a corrupt footer naming the file, never a bare TypeError", async () => {
    const p = join(dir, "g.parquet");
    for (let seed = 1; seed <= 40; seed++) {
      const len = Buffer.alloc(4);
      len.writeUInt32LE(100);
      await writeFile(p, Buffer.concat([Buffer.from("PAR1"), garbage(seed, 200), len, Buffer.from("PAR1")]));
      await assert.rejects(inspectParquet(p), (e) => {
        assert.ok(isOrchError(e, "ORCH_PARQUET_INVALID"), String(e));
        assert.match(e.message, new RegExp(`^${p.replaceAll("/", "\\/")}: (has a corrupt footer|footer says|is truncated or corrupt|column )`));
        assert.doesNotMatch(e.message, /Cannot read properties/);
        return true;
      });
    }
  });
});

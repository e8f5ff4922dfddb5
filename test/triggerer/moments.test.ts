// The triggerer's moment queue (src/triggerer/moments.ts): one timer for many moments; what is due
// is handed over in one call in time order; stale entries are skipped when the heap is rebuilt.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createMomentQueue } from "../../src/triggerer/moments.ts";

describe("moment queue", () => {
  it("hands over every entry due by now in one call, in time order, whatever order they were added in", async () => {
    const calls: number[][] = [];
    let done!: () => void;
    const finished = new Promise<void>((r) => (done = r));
    const q = createMomentQueue<number>((items) => {
      calls.push(items);
      if (calls.flat().length === 500) done();
    });
    const base = Date.now() + 30;
    // Added in a scrambled order; all due at one of five moments in the past or near future.
    const order = Array.from({ length: 500 }, (_, i) => (i * 7919) % 500);
    for (const i of order) q.add(base + (i % 5) - 10, i);
    await finished;
    q.stop();
    const flat = calls.flat();
    assert.equal(new Set(flat).size, 500, "each entry once");
    const due = flat.map((i) => i % 5);
    assert.deepEqual(due, [...due].sort((a, b) => a - b), "in time order");
    assert.ok(calls.length <= 5, `at most one call per distinct moment, got ${calls.length}`);
    assert.equal(q.size, 0);
  });

  it("an earlier entry added later still comes first; a moment beyond a timer's range waits", async () => {
    const got: string[] = [];
    let done!: () => void;
    const finished = new Promise<void>((r) => (done = r));
    const q = createMomentQueue<string>((items) => {
      got.push(...items);
      if (got.includes("soon")) done();
    });
    q.add(Date.now() + 60_000, "late");
    q.add(Date.now() + 2 ** 33, "beyond a 32-bit timer");
    q.add(Date.now() + 5, "soon");
    await finished;
    assert.deepEqual(got, ["soon"]);
    assert.equal(q.size, 2);
    q.stop();
  });

  it("forgetStale drops entries the caller no longer wants once they outnumber the live ones", () => {
    const stale = new Set<number>();
    const q = createMomentQueue<number>(() => assert.fail("nothing is due"), (i) => stale.has(i));
    for (let i = 0; i < 3000; i++) q.add(Date.now() + 3_600_000 + i, i);
    for (let i = 0; i < 2500; i++) stale.add(i);
    q.forgetStale(3000);
    assert.equal(q.size, 3000, "not while live entries are as many");
    q.forgetStale(500);
    assert.equal(q.size, 500);
    q.stop();
  });
});

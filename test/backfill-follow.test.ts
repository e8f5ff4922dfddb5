// followBackfill (`backfill create --wait`): the live bar on a terminal and one line per finished
// run off one, while another writer moves the runs (as a scheduler would).
import assert from "node:assert/strict";
import { PassThrough } from "node:stream";
import { after, before, describe, it } from "node:test";
import { followBackfill } from "../src/cli/backfill-follow.ts";
import { serializeDag } from "../src/dag-processing/serialize.ts";
import { toSchedulable } from "../src/scheduler/dag-bag.ts";
import { createBackfill, loadRunGate } from "../src/scheduler/backfill.ts";
import { dag, task } from "../src/sdk/index.ts";
import { upsertDag, upsertSerializedDag } from "../src/store/dags.ts";
import { freshStore, type TestStore } from "./helpers/store.ts";

describe("following a backfill", () => {
  let s: TestStore;
  before(async () => {
    s = await freshStore("sqlite", "follow");
  });
  after(() => s.cleanup());

  async function backfillOf(dagId: string) {
    const d = dag({ dag_id: dagId, schedule: "@daily", start_date: "2021-01-01" }, () => void task({ task_id: "t" }, async () => 1)());
    const ser = serializeDag(d, { fileloc: "/x.ts", relative_fileloc: "x.ts" });
    await upsertSerializedDag(s.store.db, ser, "h", new Date().toISOString());
    await upsertDag(s.store.db, ser, { now: new Date().toISOString(), pausedByDefault: true, hasImportErrors: false });
    return createBackfill(s.store, toSchedulable(ser, "h", "/x.ts"), { fromDate: new Date("2021-01-01T00:00:00Z"), toDate: new Date("2021-01-02T00:00:00Z") });
  }

  /** Plays the scheduler: finishes the runs one by one, then lets the gate mark the backfill complete. */
  async function finishRuns(backfillId: number, states: string[]): Promise<void> {
    const runs = await s.store.db.selectFrom("dag_run").select(["id"]).where("backfill_id", "=", backfillId).orderBy("logical_date").execute();
    for (const [i, r] of runs.entries()) {
      await new Promise((res) => setTimeout(res, 150));
      await s.store.db.updateTable("dag_run").set({ state: states[i]!, end_date: new Date().toISOString() }).where("id", "=", r.id).execute();
    }
    await loadRunGate(s.store.db, []);
  }

  const collect = () => {
    const out = new PassThrough();
    let text = "";
    out.on("data", (b: Buffer) => (text += b.toString()));
    return { out, text: () => text };
  };

  it("draws a bar with done/total, failed, running, elapsed and ETA on a terminal", async () => {
    const b = await backfillOf("follow_tty");
    const sink = collect();
    const [p] = await Promise.all([followBackfill(s.store, b.backfill.id, { tty: true, out: sink.out, intervalMs: 50 }), finishRuns(b.backfill.id, ["success", "failed"])]);
    assert.deepEqual([p.success, p.failed], [1, 1]);
    assert.match(sink.text(), /backfill \d+ .* 2\/2 runs \| failed 1 \| running 0 \| \d+s elapsed \| ETA /);
    assert.match(sink.text(), /Backfill \d+ finished: 1 success, 1 failed/);
  });

  it("prints one line per finished run off a terminal", async () => {
    const b = await backfillOf("follow_pipe");
    const sink = collect();
    await Promise.all([followBackfill(s.store, b.backfill.id, { tty: false, out: sink.out, intervalMs: 50 }), finishRuns(b.backfill.id, ["success", "success"])]);
    const lines = sink.text().trim().split("\n");
    assert.deepEqual(lines.slice(0, 2), [
      "[1/2] 2021-01-01T00:00:00+00:00 backfill__2021-01-01T00:00:00+00:00: success",
      "[2/2] 2021-01-02T00:00:00+00:00 backfill__2021-01-02T00:00:00+00:00: success",
    ]);
    assert.ok(!sink.text().includes("ETA"), "expected !sink.text().includes(\"ETA\")");
  });
});

// The DAG processor against real files, real import children and a real store, on both dialects.
import assert from "node:assert/strict";
import { mkdir, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { after, before, describe, it } from "node:test";
import { createDagProcessor, type DagProcessor } from "../../src/dag-processing/processor.ts";
import { isXComArgMarker, type SerializedCallableTask } from "../../src/serialization/serialized-dag.ts";
import { getDag, getSerializedDag, listDags, listImportErrors } from "../../src/store/dags.ts";
import type { Store } from "../../src/store/index.ts";
import { tempHome, type TempHome } from "../helpers/home.ts";
import { dialectSkipReason, freshStore, testDialects, type TestStore } from "../helpers/store.ts";

const GOOD = (id: string) => `import { dag, task, bash, empty } from "orch";
export default dag({ dag_id: "${id}", schedule: "@daily", start_date: "2024-01-01", tags: ["t"] }, () => {
  const extract = task({ task_id: "extract" }, async (ctx) => ctx.params.limit ?? 3);
  const double = task({ task_id: "double" }, async (n: number) => n * 2);
  const pair = task({ task_id: "pair" }, async (p: { a: number; b: number[] }) => p.a + p.b.length);
  const e = extract();
  const d = double(e);
  pair({ a: d, b: [e] });
  d.then(bash({ task_id: "report", command: "echo {{ ds }}" })).then(empty({ task_id: "done", trigger_rule: "none_failed" }));
});
`;

async function errorsFor(store: Store, file: string) {
  return (await listImportErrors(store.db)).filter((e) => e.filename === file);
}

for (const dialect of testDialects()) {
  describe(`${dialect}: DAG processor`, { skip: await dialectSkipReason(dialect) }, () => {
    let s: TestStore;
    let h: TempHome;
    let processor: DagProcessor;
    const changes: string[][] = [];
    const file = (name: string) => join(h.dags, name);
    const put = async (name: string, text: string) => {
      await mkdir(dirname(file(name)), { recursive: true });
      await writeFile(file(name), text);
    };

    before(async () => {
      s = await freshStore(dialect, "dagproc");
      h = await tempHome();
      processor = createDagProcessor({ store: s.store, dagsFolder: h.dags, home: h.home, importTimeoutSeconds: 3, onDagsChanged: (ids) => changes.push(ids) });
    });
    after(async () => {
      await processor.stop();
      await s.cleanup();
      await h.cleanup();
    });

    it("serializes a good file: edges, XComArg markers, schedule", async () => {
      await put("good.ts", GOOD("good"));
      const r = await processor.processAll();
      assert.equal(r.importErrors, 0);
      assert.deepEqual(r.changedDagIds, ["good"]);
      assert.deepEqual(changes.at(-1), ["good"]);
      const d = await getSerializedDag(s.store.db, "good");
      assert.ok(d, "expected d");
      assert.deepEqual(d.timetable, { type: "cron_trigger", expression: "0 0 * * *", timezone: "UTC" });
      assert.equal(d.start_date, "2024-01-01T00:00:00.000Z");
      assert.equal(d.relative_fileloc, "good.ts");
      const byId = new Map(d.tasks.map((t) => [t.task_id, t]));
      assert.deepEqual(byId.get("double")!.upstream_task_ids, ["extract"]);
      assert.deepEqual(byId.get("double")!.downstream_task_ids, ["pair", "report"]);
      assert.deepEqual(byId.get("pair")!.upstream_task_ids, ["double", "extract"]);
      const pair = byId.get("pair") as SerializedCallableTask;
      assert.deepEqual(pair.op_args, [{ a: { __xcomarg: { task_id: "double", key: "return_value" } }, b: [{ __xcomarg: { task_id: "extract", key: "return_value" } }] }]);
      assert.ok(isXComArgMarker((pair.op_args[0] as { a: unknown }).a), "expected isXComArgMarker((pair.op_args[0] as { a: unknown }).a)");
      assert.equal(byId.get("done")!.trigger_rule, "none_failed");
      const row = await getDag(s.store.db, "good");
      assert.equal(row?.timetable_summary, "@daily");
      assert.equal(row?.is_stale, 0);
    });

    it("skips unchanged files on a rescan", async () => {
      const r = await processor.processAll();
      assert.equal(r.parsed, 0);
      assert.deepEqual(r.changedDagIds, []);
    });

    const cases: { name: string; text: string; expect: RegExp; line?: number }[] = [
      { name: "syntax.ts", text: `import { dag } from "orch";\nexport default dag({ dag_id: "syn" }, () => { let = ; });\n`, expect: /Unexpected/, line: 2 },
      { name: "typestrip.ts", text: `import { dag } from "orch";\nconst x: = 1;\n`, expect: /Unexpected/, line: 2 },
      { name: "throws.ts", text: `import { dag } from "orch";\n\nthrow new Error("boom at import");\n`, expect: /boom at import/, line: 3 },
      {
        name: "cycle.ts",
        text: `import { dag, empty } from "orch";\nexport default dag({ dag_id: "cyc" }, () => {\n  const a = empty({ task_id: "a" });\n  const b = empty({ task_id: "b" });\n  const c = empty({ task_id: "c" });\n  a.then(b).then(c).then(a);\n});\n`,
        expect: /cycle: (a -> b -> c -> a|b -> c -> a -> b|c -> a -> b -> c)/,
      },
      {
        name: "dup_task.ts",
        text: `import { dag, empty } from "orch";\nexport default dag({ dag_id: "dupt" }, () => {\n  empty({ task_id: "same" });\n  empty({ task_id: "same" });\n});\n`,
        expect: /duplicate task_id "same" in DAG "dupt"/,
        line: 4,
      },
      {
        name: "trigger.ts",
        text: `import { dag, empty } from "orch";\nexport default dag({ dag_id: "trg" }, () => {\n  empty({ task_id: "a", trigger_rule: "sometimes" as never });\n});\n`,
        expect: /unknown trigger_rule "sometimes"/,
        line: 3,
      },
      { name: "cron.ts", text: `import { dag } from "orch";\nexport default dag({ dag_id: "crn", schedule: "0 25 * * *" }, () => {});\n`, expect: /invalid cron expression "0 25 \* \* \*"/, line: 2 },
      {
        name: "param.ts",
        text: `import { dag, Param } from "orch";\nexport default dag({ dag_id: "prm", params: { n: Param(0, { type: "integer", minimum: 1 }) } }, () => {});\n`,
        expect: /DAG "prm".*param "n" must be >= 1/,
        line: 2,
      },
    ];

    it("records each validation failure as an import error naming the file and the problem", async () => {
      for (const c of cases) await put(c.name, c.text);
      await processor.processAll();
      for (const c of cases) {
        const errs = await errorsFor(s.store, file(c.name));
        assert.equal(errs.length, 1, `${c.name}: one error, got ${JSON.stringify(errs)}`);
        assert.match(errs[0].stacktrace, c.expect, c.name);
        if (c.line !== undefined) assert.equal(errs[0].line, c.line, `${c.name}: line`);
      }
      // One broken file never hides the others.
      assert.ok(await getDag(s.store.db, "good"), "expected await getDag(s.store.db, \"good\")");
    });

    it("refuses the same dag_id in a second file, naming the first", async () => {
      await put("zz_again.ts", GOOD("good"));
      await processor.processAll();
      const errs = await errorsFor(s.store, file("zz_again.ts"));
      assert.equal(errs.length, 1);
      assert.match(errs[0].stacktrace, /dag_id "good" is already defined in good\.ts/);
      assert.equal((await getDag(s.store.db, "good"))?.fileloc, file("good.ts"));
      await rm(file("zz_again.ts"));
    });

    it("records an import that takes too long and kills it", async () => {
      await put("slow.ts", `import { dag } from "orch";\nconst end = Date.now() + 60_000;\nwhile (Date.now() < end) {}\nexport default dag({ dag_id: "slow" }, () => {});\n`);
      await put("after_slow.ts", GOOD("after_slow"));
      await processor.processAll();
      const errs = await errorsFor(s.store, file("slow.ts"));
      assert.equal(errs.length, 1);
      assert.match(errs[0].stacktrace, /timeout.*3 s/i);
      assert.ok(await getDag(s.store.db, "after_slow"), "a file after the slow one still loads");
      await rm(file("slow.ts"));
    });

    it("re-parses a changed file, clears a fixed file's error, and marks a deleted file's DAGs stale", async () => {
      await put("good.ts", GOOD("good").replace('tags: ["t"]', 'tags: ["changed"]'));
      await put("cron.ts", `import { dag } from "orch";\nexport default dag({ dag_id: "crn", schedule: "0 5 * * *" }, () => {});\n`);
      await rm(file("after_slow.ts"));
      const r = await processor.processAll();
      assert.ok(r.changedDagIds.includes("good") && r.changedDagIds.includes("crn") && r.changedDagIds.includes("after_slow"), JSON.stringify(r.changedDagIds));
      assert.deepEqual((await getSerializedDag(s.store.db, "good"))?.tags, ["changed"]);
      assert.deepEqual(await errorsFor(s.store, file("cron.ts")), []);
      assert.equal((await getDag(s.store.db, "crn"))?.timetable_summary, "0 5 * * *");
      assert.equal((await getDag(s.store.db, "after_slow"))?.is_stale, 1);
      assert.deepEqual(await errorsFor(s.store, file("slow.ts")), []);
      const live = (await listDags(s.store.db)).map((d) => d.dag_id);
      assert.ok(!live.includes("after_slow"), "expected !live.includes(\"after_slow\")");
    });

    it("a new processor on the same store skips files whose hash it already has", async () => {
      const again = createDagProcessor({ store: s.store, dagsFolder: h.dags, home: h.home, importTimeoutSeconds: 3 });
      try {
        const r = await again.processAll();
        // Broken files are kept with their hash too; only errors that may heal by another file's
        // change (a dag_id lost to another file) are retried.
        const errors = await listImportErrors(s.store.db);
        assert.ok(errors.some((e) => e.file_hash !== null), "some errors are kept with their hash");
        const retried = new Set(errors.filter((e) => e.file_hash === null).map((e) => e.filename)).size;
        assert.equal(r.parsed, retried);
        assert.deepEqual(r.changedDagIds, []);
      } finally {
        await again.stop();
      }
    });

    it("reflects a saved file while started (fs.watch)", { timeout: 20_000 }, async () => {
      processor.start();
      const seen = new Promise<string[]>((resolve) => {
        const i = setInterval(() => {
          const hit = changes.find((c) => c.includes("watched"));
          if (hit) {
            clearInterval(i);
            resolve(hit);
          }
        }, 20);
      });
      await put("sub/watched.ts", GOOD("watched"));
      assert.deepEqual(await seen, ["watched"]);
      assert.equal((await getDag(s.store.db, "watched"))?.relative_fileloc, join("sub", "watched.ts"));
    });
  });
}

// compileDagFile / importDags: the worker's way into a DAG file.
import assert from "node:assert/strict";
import { stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { pathToFileURL } from "node:url";
import { compileDagFile, DagCompileError, importDags } from "../../src/dag-processing/load.ts";
import * as sdk from "../../src/sdk/index.ts";
import { tempHome, type TempHome } from "../helpers/home.ts";

describe("load: compileDagFile and importDags", () => {
  let h: TempHome;
  before(async () => {
    h = await tempHome();
  });
  after(() => h.cleanup());

  it("resolves \"orch\" to this process's SDK instance", async () => {
    const f = join(h.dags, "same.ts");
    await writeFile(f, `import { dag } from "orch";\nimport * as again from "orch";\nexport const dagFn = dag;\nexport const ns = again;\n`);
    const { compiledPath } = await compileDagFile(f, { cacheDir: join(h.home, ".cache") });
    const mod = (await import(pathToFileURL(compiledPath).href)) as { dagFn: unknown; ns: unknown };
    assert.equal(mod.dagFn, sdk.dag);
    assert.equal((globalThis as Record<symbol, unknown>)[Symbol.for("orch.sdk")] !== undefined, true);
  });

  it("caches by content hash and gives the worker callables with raw args", async () => {
    const f = join(h.dags, "run.ts");
    await writeFile(
      f,
      `import { dag, task, bash } from "orch";\nexport default dag({ dag_id: "run" }, () => {\n  const a = task({ task_id: "a" }, async () => 2);\n  const b = task({ task_id: "b", on_failure_callback: () => {} }, async (n: number, ctx: { ds: string }) => n + ctx.ds);\n  b(a());\n  bash({ task_id: "sh", command: (ctx) => "echo " + ctx.ds, env: { A: "1" }, skip_on_exit_code: [3] });\n});\n`,
    );
    const cacheDir = join(h.home, ".cache");
    const first = await compileDagFile(f, { cacheDir });
    const mtime = (await stat(first.compiledPath)).mtimeMs;
    const second = await compileDagFile(f, { cacheDir });
    assert.equal(second.compiledPath, first.compiledPath);
    assert.equal((await stat(second.compiledPath)).mtimeMs, mtime, "a cache hit does not recompile");
    const dags = await importDags(first.compiledPath);
    assert.strictEqual(await importDags(first.compiledPath), dags, "memoized");
    const run = dags.get("run")!;
    const b = run.tasks.get("b")!;
    assert.equal(b.kind, "task");
    if (b.kind !== "task") return;
    assert.ok(sdk.isXComArg(b.args[0]), "expected sdk.isXComArg(b.args[0])");
    const args = sdk.resolveXComArgs(b.args, () => 40) as unknown[];
    assert.equal(await b.callable(...args, { ds: "!" }), "40!");
    assert.equal(typeof b.callbacks.on_failure_callback, "function");
    const sh = run.tasks.get("sh")!;
    assert.equal(sh.kind, "bash");
    if (sh.kind !== "bash") return;
    assert.equal(typeof sh.command, "function");
    assert.deepEqual(sh.env, { A: "1" });
    assert.deepEqual(sh.skip_on_exit_code, [3]);
  });

  it("reports esbuild's message and line", async () => {
    const f = join(h.dags, "bad.ts");
    await writeFile(f, `const a = 1;\nconst b = ;\n`);
    await assert.rejects(compileDagFile(f, { cacheDir: join(h.home, ".cache") }), (e: unknown) => e instanceof DagCompileError && e.line === 2 && e.message.includes(`${f}:2:`));
  });
});

// What a long-running processor does not keep once idle: its DAG import children (ended after the
// pool's idleMs; the next import starts another) and esbuild's service process (stopped after a
// compile-free pause; the next compile starts it again).
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readFileSync, readdirSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { join, relative } from "node:path";
import { after, before, describe, it } from "node:test";
import { compileDagFile } from "../../src/dag-processing/load.ts";
import { createImportPool } from "../../src/dag-processing/pool.ts";
import { tempHome, type TempHome } from "../helpers/home.ts";

/** This process's children whose command line contains `needle`. */
function children(needle: string): number[] {
  let kids: string[] = [];
  try {
    kids = readFileSync(`/proc/${process.pid}/task/${process.pid}/children`, "utf8").trim().split(/\s+/).filter(Boolean);
  } catch {
    // kernels without the file: fall back to a scan
    kids = readdirSync("/proc").filter((e) => /^\d+$/.test(e) && readFileSync(`/proc/${e}/stat`, "utf8").split(") ")[1]?.split(" ")[1] === String(process.pid));
  }
  return kids.map(Number).filter((pid) => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, "utf8").includes(needle);
    } catch {
      return false;
    }
  });
}

async function until(what: string, ok: () => boolean): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const DAG = (id: string) => `import { dag, task } from "orch";\nexport default dag({ dag_id: "${id}" }, () => {\n  task({ task_id: "a" }, async () => 1)();\n});\n`;

describe("idle children", () => {
  let h: TempHome;
  before(async () => {
    h = await tempHome();
  });
  after(() => h.cleanup());

  it("the children lookup finds a child of this process (else the waits below prove nothing)", async () => {
    const c = spawn("sleep", ["30"], { stdio: "ignore" });
    try {
      await until("sleep to be a child", () => children("sleep").includes(c.pid as number));
    } finally {
      c.kill();
    }
  });

  it("an idle import child is ended, and the next import starts another", async () => {
    const f = join(h.dags, "one.ts");
    await writeFile(f, DAG("one"));
    const { compiledPath } = await compileDagFile(f, { cacheDir: join(h.home, ".cache") });
    const pool = createImportPool({ size: 1, timeoutMs: 60_000, cwd: h.home, idleMs: 200 });
    try {
      const job = { compiledPath, fileloc: f, relative_fileloc: relative(h.dags, f) };
      const first = await pool.run(job);
      assert.deepEqual(first.dags.map((d) => d.dag_id), ["one"], JSON.stringify(first.problems));
      await until("the idle import child to end", () => children("import-child").length === 0);
      const second = await pool.run(job);
      assert.deepEqual(second.dags.map((d) => d.dag_id), ["one"], JSON.stringify(second.problems));
    } finally {
      await pool.close();
    }
    assert.deepEqual(children("import-child"), []);
  });

  it("esbuild's service stops after a compile and starts again for the next", async () => {
    const a = join(h.dags, "a.ts");
    const b = join(h.dags, "b.ts");
    await writeFile(a, DAG("a"));
    await writeFile(b, DAG("b"));
    const cacheDir = join(h.home, ".cache");
    await compileDagFile(a, { cacheDir });
    await until("esbuild's service to stop", () => children("--service=").length === 0);
    const { compiledPath } = await compileDagFile(b, { cacheDir });
    assert.match(readFileSync(compiledPath, "utf8"), /dag_id: "b"/);
    await until("esbuild's service to stop again", () => children("--service=").length === 0);
  });
});

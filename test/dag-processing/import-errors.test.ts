// Broken DAG files through the CLI: an unchanged broken file is not imported again by the next
// command (its error is kept with the file's content hash), and `dags list` says which failed.
import assert from "node:assert/strict";
import { readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { runOrch } from "../helpers/cli.ts";
import { tempHome, type TempHome } from "../helpers/home.ts";

// Counts its own imports in a file beside the home, then fails.
const broken = (tag: string) => `import { appendFileSync } from "node:fs";
appendFileSync(process.env.ORCH_HOME + "/imports.txt", "${tag}\\n");
throw new Error("broken on purpose ${tag}");
`;

describe("import errors: cached by content hash, and said by dags list", () => {
  let h: TempHome;
  const imports = async () => (await readFile(join(h.home, "imports.txt"), "utf8").catch(() => "")).split("\n").filter(Boolean);
  before(async () => {
    h = await tempHome();
    await writeFile(join(h.dags, "broken.ts"), broken("v1"));
    await writeFile(join(h.dags, "good.ts"), `import { dag, empty } from "orch";\nexport default dag({ dag_id: "good", schedule: null }, () => { empty({ task_id: "e" }); });\n`);
    assert.equal((await runOrch(["db", "migrate"], { home: h.home })).code, 0);
  });
  after(() => h.cleanup());

  it("dags list prints on stderr how many files failed to load and which, stdout stays clean", async () => {
    const r = await runOrch(["dags", "list", "-o", "json"], { home: h.home });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual((JSON.parse(r.stdout) as { dag_id: string }[]).map((d) => d.dag_id), ["good"]);
    assert.match(r.stderr, /1 file failed to load/);
    assert.match(r.stderr, /broken\.ts:3: Error: broken on purpose v1/);
    assert.deepEqual(await imports(), ["v1"], "one import");
  });

  it("an import that runs out of memory says so, from the import child's stderr", async () => {
    await writeFile(join(h.dags, "hog.ts"), `const hoard: number[][] = [];\nfor (;;) hoard.push(new Array(1_000_000).fill(7));\n`);
    try {
      const r = await runOrch(["dags", "list-import-errors", "-o", "json"], { home: h.home, env: { NODE_OPTIONS: "--max-old-space-size=48" } });
      const hog = (JSON.parse(r.stdout) as { filepath: string; error: string }[]).find((e) => e.filepath.endsWith("hog.ts"));
      assert.ok(hog, r.stdout);
      assert.match(hog.error, /^importing .*hog\.ts ran out of memory \(JavaScript heap\)/);
      assert.match(hog.error, /stderr of the import process/);
      assert.deepEqual(await imports(), ["v1"], "the OOM pass did not import broken.ts again");
    } finally {
      await rm(join(h.dags, "hog.ts"));
    }
  });

  it("an unchanged broken file is not imported again by later commands; a changed one is", async () => {
    assert.deepEqual(await imports(), ["v1"], "imported once by the tests so far");
    for (const cmd of [["dags", "list"], ["dags", "list-import-errors"], ["dags", "list"]]) {
      const r = await runOrch(cmd, { home: h.home });
      assert.equal(r.code, 0, r.stderr);
    }
    assert.deepEqual(await imports(), ["v1"]);
    const errs = await runOrch(["dags", "list-import-errors", "-o", "json"], { home: h.home });
    assert.match(errs.stdout, /broken on purpose v1/);
    await writeFile(join(h.dags, "broken.ts"), broken("v2"));
    const r = await runOrch(["dags", "list"], { home: h.home });
    assert.match(r.stderr, /broken on purpose v2/);
    assert.deepEqual(await imports(), ["v1", "v2"]);
  });
});

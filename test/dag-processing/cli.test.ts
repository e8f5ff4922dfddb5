// The built CLI (dist/orch.mjs) as a subprocess: a home with one good DAG file and two broken ones.
import assert from "node:assert/strict";
import { copyFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { runOrch } from "../helpers/cli.ts";
import { tempHome, type TempHome } from "../helpers/home.ts";

const EXAMPLE = fileURLToPath(new URL("../../airflow_home/dags/example_etl.ts", import.meta.url));

describe("cli: dags list, list-import-errors, show, details, tasks list", () => {
  let h: TempHome;
  before(async () => {
    h = await tempHome();
    await copyFile(EXAMPLE, join(h.dags, "example_etl.ts"));
    await writeFile(join(h.dags, "broken_syntax.ts"), `import { dag } from "orch";\nexport default dag({ dag_id: "x" }, () => { let = ; });\n`);
    await writeFile(join(h.dags, "broken_import.mjs"), `import { dag } from "orch";\nthrow new Error("no warehouse configured");\n`);
    const m = await runOrch(["db", "migrate"], { home: h.home });
    assert.equal(m.code, 0, m.stderr);
  });
  after(() => h.cleanup());

  it("lists the good DAG with Airflow's field names", async () => {
    const r = await runOrch(["dags", "list", "--output", "json"], { home: h.home });
    assert.equal(r.code, 0, r.stderr);
    const rows = JSON.parse(r.stdout) as Record<string, unknown>[];
    assert.deepEqual(rows.map((d) => d.dag_id), ["example_etl"]);
    assert.equal(rows[0].fileloc, join(h.dags, "example_etl.ts"));
    assert.equal(rows[0].owners, "airflow");
    // Airflow's [core] dags_are_paused_at_creation defaults to true.
    assert.equal(rows[0].is_paused, true);
    assert.equal(rows[0].schedule, "@daily");
  });

  it("lists the two import errors with their files", async () => {
    const r = await runOrch(["dags", "list-import-errors", "--output", "json"], { home: h.home });
    assert.equal(r.code, 0, r.stderr);
    const rows = (JSON.parse(r.stdout) as { filepath: string; error: string }[]).sort((a, b) => a.filepath.localeCompare(b.filepath));
    assert.deepEqual(rows.map((e) => e.filepath), [join(h.dags, "broken_import.mjs"), join(h.dags, "broken_syntax.ts")]);
    assert.match(rows[0].error, /no warehouse configured/);
    assert.match(rows[1].error, /broken_syntax\.ts:2:\d+: Unexpected/);
  });

  it("shows the graph as a tree and as dot, and lists tasks", async () => {
    const tree = await runOrch(["dags", "show", "example_etl"], { home: h.home });
    assert.equal(tree.code, 0, tree.stderr);
    assert.match(tree.stdout, /<Task\(@task\): extract>\n {4}<Task\(@task\): double>\n {8}<Task\(BashOperator\): report>/);
    const dot = await runOrch(["dags", "show", "example_etl", "--format", "dot"], { home: h.home });
    assert.match(dot.stdout, /"double" -> "report";/);
    const tasks = await runOrch(["tasks", "list", "example_etl", "--output", "json"], { home: h.home });
    assert.deepEqual((JSON.parse(tasks.stdout) as { task_id: string }[]).map((t) => t.task_id).sort(), ["done", "double", "extract", "report"]);
    const details = await runOrch(["dags", "details", "example_etl", "--output", "json"], { home: h.home });
    const [d] = JSON.parse(details.stdout) as { params: Record<string, { default: unknown }> }[];
    assert.equal(d.params.limit.default, 100);
  });

  it("names an unknown DAG, and the files that could not be loaded", async () => {
    const r = await runOrch(["dags", "show", "nope"], { home: h.home });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /DAG "nope" not found; files that could not be loaded:\n.*broken_import\.mjs.*no warehouse configured\n.*broken_syntax\.ts:2[\s\S]*ORCH_NOT_FOUND/);
  });
});

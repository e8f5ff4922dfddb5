// `orch dags check` and [core] check_dag_types: TypeScript's compiler API against orch's types,
// on a home with one wrong-typed call and one good file, no tsconfig in the home.
import assert from "node:assert/strict";
import { copyFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { runOrch } from "../helpers/cli.ts";
import { tempHome, type TempHome } from "../helpers/home.ts";

const EXAMPLE = fileURLToPath(new URL("../../airflow_home/dags/example_etl.ts", import.meta.url));
const BAD = `import { dag, task } from "orch";

const double = task({ task_id: "double" }, async (n: number) => n * 2);
const word = task({ task_id: "word" }, async () => "three");

export default dag({ dag_id: "bad_types", schedule: null }, () => {
  double(word());
});
`;

describe("dags check", () => {
  let h: TempHome;
  before(async () => {
    h = await tempHome();
    await copyFile(EXAMPLE, join(h.dags, "example_etl.ts"));
    await writeFile(join(h.dags, "bad_types.ts"), BAD);
  });
  after(() => h.cleanup());

  it("prints file:line:col message for the wrong-typed call and exits 1; the good file is clean", async () => {
    const r = await runOrch(["dags", "check"], { home: h.home });
    assert.equal(r.code, 1, r.stderr);
    const lines = r.stdout.split("\n").filter((l) => /^\S+:\d+:\d+ /.test(l));
    assert.equal(lines.length, 1, r.stdout);
    assert.match(lines[0], /^dags\/bad_types\.ts:7:10 Argument of type 'XComArg<string>' is not assignable to parameter of type 'ArgInput<number>'/);
    assert.doesNotMatch(r.stdout, /example_etl/);
    assert.match(r.stderr, /1 type error in 1 file/);
    const good = await runOrch(["dags", "check", join(h.dags, "example_etl.ts")], { home: h.home });
    assert.equal(good.code, 0, good.stdout + good.stderr);
    assert.match(good.stderr, /1 file checked: no type errors/);
  });

  it("a warm check gives the same answer, and a fixed file is checked again", async () => {
    const warm = await runOrch(["dags", "check"], { home: h.home });
    assert.equal(warm.code, 1);
    assert.match(warm.stdout, /bad_types\.ts:7:10/);
    await writeFile(join(h.dags, "bad_types.ts"), BAD.replace('async () => "three"', "async () => 3"));
    const fixed = await runOrch(["dags", "check"], { home: h.home });
    assert.equal(fixed.code, 0, fixed.stdout);
    await writeFile(join(h.dags, "bad_types.ts"), BAD);
  });

  it("a path that does not exist is named", async () => {
    const r = await runOrch(["dags", "check", "nope.ts"], { home: h.home });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /nope\.ts: no such file or folder/);
  });

  it("[core] check_dag_types records type errors as import errors while parsing", async () => {
    const env = { ORCH__CORE__CHECK_DAG_TYPES: "true" };
    assert.equal((await runOrch(["db", "migrate"], { home: h.home, env })).code, 0);
    const r = await runOrch(["dags", "list-import-errors", "--output", "json"], { home: h.home, env });
    assert.equal(r.code, 0, r.stderr);
    const rows = JSON.parse(r.stdout) as { filepath: string; error: string }[];
    assert.deepEqual(rows.map((e) => e.filepath), [join(h.dags, "bad_types.ts")]);
    assert.match(rows[0].error, /bad_types\.ts:7:10 Argument of type/);
  });
});

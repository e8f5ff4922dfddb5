// Mapped task groups in the authoring API, in-process: the group function (called, expanded,
// partial().expand, expand_kwargs), ids and suffixes, the edges from what the group expands over,
// what is serialized for the scheduler, and what dag() refuses. Airflow's cases from
// tests/unit/decorators/test_task_group.py and tests/unit/models/test_mappedoperator.py
// (test_mapped_task_group_id_prefix_task_id, expand_kwargs over a task group), restated.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { DagDefinitionError, dag, empty, task, taskGroup, type Dag, type GroupArgs } from "../../src/sdk/index.ts";
import { serializeDag } from "../../src/dag-processing/serialize.ts";

const edges = (d: Dag) =>
  [...d.tasks.values()].flatMap((t) => [...t.downstream_task_ids].map((x) => `${t.task_id}>${x}`)).sort();
const where = { fileloc: "/x.ts", relative_fileloc: "x.ts" };

const load = task({ task_id: "load" }, async (path: string) => path.length);
const save = task({ task_id: "save" }, async (n: number, mode: string) => `${mode}${n}`);

describe("sdk: mapped task groups", () => {
  it("expand: every task inside is mapped by the group; the roots wait for the output it maps over", () => {
    const d = dag({ dag_id: "mtg" }, () => {
      const files = task({ task_id: "files" }, async () => ["a", "b"])();
      const per = taskGroup({ group_id: "per_file" }, ({ path }: GroupArgs<{ path: string }>) => {
        const n = load(path);
        save(n, "w");
        taskGroup({ group_id: "inner" }, () => empty({ task_id: "mark" }));
      });
      per.expand({ path: files }).then(empty({ task_id: "end" }));
    });
    assert.deepEqual([...d.tasks.keys()], ["files", "per_file.load", "per_file.save", "per_file.inner.mark", "end"]);
    assert.deepEqual(edges(d), [
      "files>per_file.inner.mark", "files>per_file.load",
      "per_file.inner.mark>end", "per_file.load>per_file.save", "per_file.save>end",
    ]);
    const s = serializeDag(d, where);
    const byId = new Map(s.tasks.map((t) => [t.task_id, t]));
    for (const id of ["per_file.load", "per_file.save", "per_file.inner.mark"]) {
      assert.equal(byId.get(id)!.mapped_task_group_id, "per_file", id);
      assert.deepEqual(byId.get(id)!.expand_input, { kind: "product", args: { path: { __xcomarg: { task_id: "files", key: "return_value" } } } }, id);
    }
    for (const id of ["files", "end"]) assert.equal(byId.get(id)!.mapped_task_group_id, undefined, id);
    const group = s.task_group!.children.find((c) => c.type === "group");
    assert.ok(group && group.type === "group" && group.expand_input?.kind === "product", "the group itself carries its expand_input");
    // The group argument is no XCom: it serializes as a description.
    const loadArgs = byId.get("per_file.load")!;
    assert.ok(loadArgs.kind === "task");
    assert.deepEqual(loadArgs.op_args, [{ __repr: 'argument "path" of mapped task group per_file' }]);
  });

  it("partial().expand passes the fixed values as written; expand_kwargs makes every other key a group argument", () => {
    const seen: Record<string, unknown>[] = [];
    const body = (args: GroupArgs<{ path: string; mode: string }>) => {
      seen.push({ path: args.path, mode: args.mode });
      save(load(args.path), args.mode);
    };
    const d = dag({ dag_id: "mtg_partial" }, () => {
      const g = taskGroup({ group_id: "g" }, body);
      g.partial({ mode: "fast" }).expand({ path: ["a", "b"] });
      g.expand_kwargs([{ path: "x", mode: "m" }]);
    });
    // Called twice: the second group gets a suffix (Airflow's add_suffix_on_collision).
    assert.deepEqual([...d.tasks.keys()], ["g.load", "g.save", "g__1.load", "g__1.save"]);
    assert.equal(seen[0].mode, "fast");
    const key = (v: unknown) => (v as { key?: string; group_id?: string });
    assert.deepEqual([key(seen[0].path).group_id, key(seen[0].path).key], ["g", "path"]);
    assert.deepEqual([key(seen[1].mode).group_id, key(seen[1].mode).key], ["g__1", "mode"]);
    const s = serializeDag(d, where);
    assert.deepEqual(s.tasks.find((t) => t.task_id === "g__1.save")!.expand_input, { kind: "kwargs", source: [{ path: "x", mode: "m" }] });
  });

  it("called without expand it is a plain group with the arguments as given", () => {
    const d = dag({ dag_id: "mtg_call" }, () => {
      const g = taskGroup({ group_id: "g" }, ({ path }: GroupArgs<{ path: string }>) => load(path));
      const made = g({ path: "p" });
      assert.equal(made.mapping, null);
      assert.equal(made.result.task.task_id, "g.load");
    });
    const s = serializeDag(d, where);
    assert.equal(s.tasks[0].expand_input, undefined);
    assert.deepEqual((s.tasks[0] as { op_args: unknown[] }).op_args, ["p"]);
  });

  // Table: what a mapped group refuses, and the message naming the culprit.
  const refusals: [string, () => void, RegExp][] = [
    ["a mapped task inside", () => taskGroup({ group_id: "g" }, ({ x }: GroupArgs<{ x: number }>) => {
      task({ task_id: "m" }, async ({ v }: { v: number }) => v).expand({ v: [1] });
      return x;
    }).expand({ x: [1] }), /task "g.m" in DAG "r": a task inside mapped task group "g" cannot be mapped itself/],
    ["a mapped group inside", () => taskGroup({ group_id: "g" }, ({ x }: GroupArgs<{ x: number }>) => {
      taskGroup({ group_id: "h" }, ({ y }: GroupArgs<{ y: number }>) => load(String(y))).expand({ y: [1] });
      return x;
    }).expand({ x: [1] }), /task group "h" in DAG "r": a mapped task group inside mapped task group "g" is not supported/],
    ["a branch inside", () => taskGroup({ group_id: "g" }, ({ x }: GroupArgs<{ x: number }>) => task.branch({ task_id: "b" }, async (v: number) => String(v))(x)).expand({ x: [1] }),
      /a branch task inside mapped task group "g" is not supported/],
    ["a group argument used outside the group", () => {
      let leaked: unknown;
      taskGroup({ group_id: "g" }, ({ x }: GroupArgs<{ x: string }>) => { leaked = x; empty({ task_id: "e" }); }).expand({ x: ["a"] });
      load(leaked as string);
    }, /task "load" in DAG "r" takes argument "x" of mapped task group "g" but is not inside that group/],
    ["expand of no list", () => taskGroup({ group_id: "g" }, ({ x }: GroupArgs<{ x: string }>) => load(x)).expand({ x: "a" as unknown as string[] }),
      /task group "g": expand\(\) argument "x" must be a list or an upstream task's output/],
    ["a key in both partial and expand", () => taskGroup({ group_id: "g" }, ({ x }: GroupArgs<{ x: string }>) => load(x)).partial({ x: "a" }).expand({ x: ["b"] }),
      /task group "g": "x" given to both partial\(\) and expand\(\)/],
  ];
  for (const [what, body, message] of refusals) {
    it(`refuses ${what}`, () => {
      assert.throws(() => dag({ dag_id: "r" }, body), (e: unknown) => e instanceof DagDefinitionError && message.test(e.message));
    });
  }
});

// Task groups and setup/teardown in the authoring API, in-process: ids, default_args, edges to and
// from groups (Airflow's TaskGroup tests: test_build_task_group_with_prefix, test_task_group_default_args,
// test_sub_dag_task_group / get_leaves with teardowns), as_setup / as_teardown and what dag() refuses.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { DagDefinitionError, bash, chain, dag, empty, task, taskGroup, type Dag } from "../../src/sdk/index.ts";
import { serializeDag } from "../../src/dag-processing/serialize.ts";

const edges = (d: Dag) =>
  [...d.tasks.values()].flatMap((t) => [...t.downstream_task_ids].map((x) => `${t.task_id}>${x}`)).sort();

describe("sdk: taskGroup()", () => {
  it("prefixes ids with the group ids, nests, and honours prefix_group_id: false", () => {
    const d = dag({ dag_id: "ids" }, () => {
      empty({ task_id: "top" });
      taskGroup({ group_id: "outer" }, () => {
        empty({ task_id: "a" });
        taskGroup({ group_id: "inner" }, () => {
          empty({ task_id: "b" });
        });
        taskGroup({ group_id: "flat", prefix_group_id: false }, () => {
          empty({ task_id: "c" });
          taskGroup({ group_id: "deep" }, () => empty({ task_id: "d" }));
        });
      });
    });
    // Table: task id as written -> full id (Airflow's TaskGroup.child_id and group_id).
    assert.deepEqual([...d.tasks.keys()], ["top", "outer.a", "outer.inner.b", "c", "deep.d"]);
    assert.deepEqual(
      [...d.tasks.values()].map((t) => t.task_group_id),
      [null, "outer", "outer.inner", "outer.flat", "deep"],
    );
  });

  it("applies default_args inside, over the DAG's, inner groups over outer ones, the task's own over all", () => {
    const d = dag({ dag_id: "defaults", default_args: { retries: 1, owner: "dag", priority_weight: 3 } }, () => {
      empty({ task_id: "top" });
      taskGroup({ group_id: "g", default_args: { retries: 2, owner: "group" } }, () => {
        empty({ task_id: "x" });
        empty({ task_id: "own", retries: 7 });
        taskGroup({ group_id: "h", default_args: { retries: 3, depends_on_past: true } }, () => empty({ task_id: "y" }));
      });
    });
    const pick = (id: string) => {
      const t = d.tasks.get(id)!;
      return { retries: t.retries, owner: t.owner, priority_weight: t.priority_weight, depends_on_past: t.depends_on_past };
    };
    assert.deepEqual(pick("top"), { retries: 1, owner: "dag", priority_weight: 3, depends_on_past: false });
    assert.deepEqual(pick("g.x"), { retries: 2, owner: "group", priority_weight: 3, depends_on_past: false });
    assert.deepEqual(pick("g.own"), { retries: 7, owner: "group", priority_weight: 3, depends_on_past: false });
    assert.deepEqual(pick("g.h.y"), { retries: 3, owner: "group", priority_weight: 3, depends_on_past: true });
  });

  it("edges to a group reach its roots, edges from it leave its leaves (then, lists, chain)", () => {
    const d = dag({ dag_id: "edges" }, () => {
      const start = empty({ task_id: "start" });
      const g = taskGroup({ group_id: "g" }, () => {
        const a = empty({ task_id: "a" });
        const b = empty({ task_id: "b" });
        const c = empty({ task_id: "c" });
        a.then([b, c]);
      });
      const h = taskGroup({ group_id: "h" }, () => {
        empty({ task_id: "p" });
        empty({ task_id: "q" });
      });
      const end = empty({ task_id: "end" });
      start.then(g).then(h).then(end);
      const other = empty({ task_id: "other" });
      chain(other, [g, end]);
    });
    assert.deepEqual(edges(d), [
      "g.a>g.b", "g.a>g.c",
      "g.b>h.p", "g.b>h.q", "g.c>h.p", "g.c>h.q",
      "h.p>end", "h.q>end",
      "other>end", "other>g.a",
      "start>g.a",
    ]);
  });

  it("a teardown at the end of a group is looked through: the group's leaves are the work", () => {
    const d = dag({ dag_id: "leaves" }, () => {
      const g = taskGroup({ group_id: "g" }, () => {
        const s = empty({ task_id: "setup" }).asSetup();
        const w = empty({ task_id: "work" });
        const t = empty({ task_id: "teardown" }).asTeardown({ setups: s });
        s.then(w).then(t);
      });
      g.then(empty({ task_id: "after" }));
      assert.deepEqual(g.leaves().map((t) => t.task_id), ["g.work"]);
      assert.deepEqual(g.roots().map((t) => t.task_id), ["g.setup"]);
    });
    assert.ok(edges(d).includes("g.work>after"), edges(d).join(" "));
    assert.ok(!edges(d).includes("g.teardown>after"), edges(d).join(" "));
  });

  it("the same TaskFlow function in two groups keeps its id in each; twice in one group gets __1", () => {
    const d = dag({ dag_id: "reuse" }, () => {
      const f = task({ task_id: "f" }, async () => 1);
      taskGroup({ group_id: "g1" }, () => f());
      taskGroup({ group_id: "g2" }, () => {
        f();
        f();
      });
    });
    assert.deepEqual([...d.tasks.keys()], ["g1.f", "g2.f", "g2.f__1"]);
  });

  it("returns the body's value as result", () => {
    dag({ dag_id: "result" }, () => {
      const g = taskGroup({ group_id: "g" }, () => task({ task_id: "t" }, async () => 5)());
      assert.equal(g.result.task.task_id, "g.t");
    });
  });

  it("serializes the group tree and each task's group", () => {
    const d = dag({ dag_id: "ser" }, () => {
      empty({ task_id: "top" });
      taskGroup({ group_id: "g", tooltip: "the g" }, () => {
        empty({ task_id: "a" });
        taskGroup({ group_id: "h", prefix_group_id: false }, () => empty({ task_id: "b" }));
      });
    });
    const s = serializeDag(d, { fileloc: "/dags/ser.ts", relative_fileloc: "ser.ts" });
    assert.deepEqual(s.task_group, {
      group_id: null, label: null, tooltip: "", prefix_group_id: true,
      children: [
        { type: "task", task_id: "top" },
        {
          type: "group", group_id: "g", label: "g", tooltip: "the g", prefix_group_id: true,
          children: [
            { type: "task", task_id: "g.a" },
            { type: "group", group_id: "g.h", label: "h", tooltip: "", prefix_group_id: false, children: [{ type: "task", task_id: "b" }] },
          ],
        },
      ],
    });
    assert.equal(s.tasks.find((t) => t.task_id === "b")?.task_group_id, "g.h");
  });

  // Refusals: [what, body, message fragment].
  const refusals: [string, () => void, RegExp][] = [
    ["a dot in group_id", () => taskGroup({ group_id: "a.b" }, () => {}), /task group id "a\.b" .* invalid/],
    ["an unknown option", () => taskGroup({ group_id: "g", colour: "red" } as never, () => {}), /unknown option "colour"/],
    ["an unknown default_args key", () => taskGroup({ group_id: "g", default_args: { pool: "x" } as never }, () => {}), /unknown default_args key "pool"/],
    ["a duplicate group id", () => { taskGroup({ group_id: "g" }, () => {}); taskGroup({ group_id: "g" }, () => {}); }, /"g" .* already been added/],
    ["a group id that is a task id", () => { empty({ task_id: "g" }); taskGroup({ group_id: "g" }, () => {}); }, /"g" .* already been added/],
    ["an async body", () => taskGroup({ group_id: "g" }, (async () => {}) as never), /must be synchronous/],
  ];
  for (const [what, body, message] of refusals) {
    it(`refuses ${what}`, () => {
      assert.throws(() => dag({ dag_id: "bad" }, body), (e: unknown) => e instanceof DagDefinitionError && message.test(e.message));
    });
  }
  it("refuses a group outside a dag() body", () => {
    assert.throws(() => taskGroup({ group_id: "g" }, () => {}), /outside a dag\(\) body/);
  });
});

describe("sdk: setup and teardown", () => {
  it("asTeardown sets the rule, marks and wires the setups, keeps on_failure_fail_dagrun", () => {
    const d = dag({ dag_id: "st" }, () => {
      const create = task({ task_id: "create" }, async () => "id")();
      const work = bash({ task_id: "work", command: "true" });
      const del = bash({ task_id: "delete", command: "true" }).asTeardown({ setups: create, on_failure_fail_dagrun: true });
      create.then(work).then(del);
    });
    const t = (id: string) => d.tasks.get(id)!;
    assert.deepEqual(
      ["create", "work", "delete"].map((id) => [t(id).is_setup, t(id).is_teardown, t(id).trigger_rule, t(id).on_failure_fail_dagrun]),
      [
        [true, false, "all_success", false],
        [false, false, "all_success", false],
        [false, true, "all_done_setup_success", true],
      ],
    );
    assert.deepEqual(edges(d), ["create>delete", "create>work", "work>delete"]);
    const s = serializeDag(d, { fileloc: "/dags/st.ts", relative_fileloc: "st.ts" });
    assert.deepEqual(s.tasks.map((x) => [x.task_id, x.is_setup, x.is_teardown, x.on_failure_fail_dagrun]), [
      ["create", true, false, false],
      ["work", false, false, false],
      ["delete", false, true, true],
    ]);
  });

  const refusals: [string, () => void, RegExp][] = [
    ["a teardown made a setup", () => empty({ task_id: "t" }).asTeardown().asSetup(), /cannot mark task "t" .* as setup; it is already a teardown/],
    ["a setup made a teardown", () => empty({ task_id: "s" }).asSetup().asTeardown(), /cannot mark task "s" .* as teardown; it is already a setup/],
    [
      "a work task after a setup with another rule",
      () => empty({ task_id: "s" }).asSetup().then(empty({ task_id: "w", trigger_rule: "all_done" })),
      /setup tasks must be followed with trigger rule all_success; "w"/,
    ],
  ];
  for (const [what, body, message] of refusals) {
    it(`refuses ${what}`, () => {
      assert.throws(() => dag({ dag_id: "bad" }, body), (e: unknown) => e instanceof DagDefinitionError && message.test(e.message));
    });
  }
});

describe("sdk: depends_on_past", () => {
  it("takes the task's flags, default_args', and wait_for_downstream implies depends_on_past", () => {
    const d = dag({ dag_id: "dop", default_args: { depends_on_past: true } }, () => {
      empty({ task_id: "a" });
      empty({ task_id: "b", depends_on_past: false });
      empty({ task_id: "c", depends_on_past: false, wait_for_downstream: true, wait_for_past_depends_before_skipping: true });
    });
    const t = (id: string) => d.tasks.get(id)!;
    assert.deepEqual(
      ["a", "b", "c"].map((id) => [t(id).depends_on_past, t(id).wait_for_downstream, t(id).wait_for_past_depends_before_skipping]),
      [[true, false, false], [false, false, false], [true, true, true]],
    );
  });
});

// The mapping authoring API: expand, partial, expand_kwargs, zip, bash.partial; edges, the
// serialized expand input, the checks at definition time, and (for the type-checker) that the
// element type of an expanded list must match the parameter.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { serializeDag } from "../../src/dag-processing/serialize.ts";
import { bash, dag, task, DagDefinitionError } from "../../src/sdk/index.ts";

const ser = (d: ReturnType<typeof dag>) => serializeDag(d, { fileloc: "/x.ts", relative_fileloc: "x.ts" });

describe("sdk: dynamic task mapping", () => {
  it("serializes each form with its edges", () => {
    const d = dag({ dag_id: "m" }, () => {
      const nums = task({ task_id: "nums" }, async () => [1, 2]);
      const add = task({ task_id: "add" }, async ({ x, y }: { x: number; y: number }) => x + y);
      const sum = task({ task_id: "sum" }, async (xs: number[]) => xs.length);
      const up = nums();
      sum(add.partial({ y: 1 }).expand({ x: up }));
      add.expand({ x: [1, 2], y: [3, 4] }).zip();
      add.expand_kwargs([{ x: 1, y: 2 }]);
      bash.partial({ task_id: "echo", retries: 2 }).expand({ command: ["echo a", "echo b"] });
    });
    const s = ser(d);
    const t = (id: string) => s.tasks.find((x) => x.task_id === id)!;
    assert.deepEqual(t("add").expand_input, { kind: "product", args: { x: { __xcomarg: { task_id: "nums", key: "return_value" } } } });
    assert.deepEqual(t("add").partial_kwargs, { y: 1 });
    assert.deepEqual(t("add").upstream_task_ids, ["nums"]);
    assert.deepEqual(t("sum").upstream_task_ids, ["add"]);
    assert.deepEqual(t("add__1").expand_input, { kind: "zip", args: { x: [1, 2], y: [3, 4] } });
    assert.deepEqual(t("add__2").expand_input, { kind: "kwargs", source: [{ x: 1, y: 2 }] });
    assert.deepEqual(t("echo").expand_input, { kind: "product", args: { command: ["echo a", "echo b"] } });
    assert.equal(t("echo").retries, 2);
    assert.equal(t("nums").expand_input, undefined, "an unmapped task has no expand input");
  });

  const refusals: [string, () => void, RegExp][] = [
    ["expand with a non-list", () => task({ task_id: "a" }, async ({ x }: { x: number }) => x).expand({ x: 3 as unknown as number[] }), /"x" must be a list or an upstream/],
    ["expand with nothing", () => task({ task_id: "a" }, async ({ x }: { x: number }) => x).expand({}), /expand\(\) takes an object of lists/],
    ["expand_kwargs with non-objects", () => task({ task_id: "a" }, async ({ x }: { x: number }) => x).expand_kwargs([1] as unknown as { x: number }[]), /list of argument objects/],
    ["bash expanding cwd", () => bash.partial({ task_id: "b" }).expand({ cwd: ["/"] } as never), /only command and env can be expanded/],
    ["zip of expand_kwargs", () => task({ task_id: "a" }, async ({ x }: { x: number }) => x).expand_kwargs([{ x: 1 }]).zip(), /zip\(\) pairs the lists/],
  ];
  for (const [name, body, message] of refusals) {
    it(`refuses: ${name}`, () => {
      assert.throws(() => dag({ dag_id: "bad" }, body), (e: unknown) => e instanceof DagDefinitionError && message.test((e as Error).message));
    });
  }

  it("types the elements by inference", () => {
    dag({ dag_id: "typed" }, () => {
      const add = task({ task_id: "add" }, async ({ x }: { x: number; y?: string }) => x);
      const strs = task({ task_id: "strs" }, async () => ["a"]);
      const reduce = task({ task_id: "reduce" }, async (xs: number[]) => xs.length);
      reduce(add.expand({ x: [1, 2] }));
      const typeErrors = () => {
        // @ts-expect-error strings where the parameter is a number
        add.expand({ x: ["a"] });
        // @ts-expect-error an upstream output of strings where the parameter is a number
        add.expand({ x: strs() });
        // @ts-expect-error a key the function does not take
        add.partial({ z: 1 });
        // @ts-expect-error a mapped output is a list, not one number
        task({ task_id: "one" }, async (n: number) => n)(add.expand({ x: [1] }));
      };
      assert.equal(typeof typeErrors, "function");
    });
  });
});

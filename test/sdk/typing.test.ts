// Compile-time checks of the authoring API (`npm run typecheck` fails if inference regresses),
// plus a run so the file is a real test.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { dag, task, bash, type TaskContext } from "../../src/sdk/index.ts";

describe("sdk: typing", () => {
  it("infers TaskFlow arguments from the callables", () => {
    const d = dag({ dag_id: "typing" }, () => {
      const n = task({ task_id: "n" }, async () => 1);
      const s = task({ task_id: "s" }, async () => "x");
      const limit = task({ task_id: "limit" }, async (ctx: TaskContext<{ limit: number }>) => ctx.params.limit);
      const add = task({ task_id: "add" }, async (a: number, b: number, ctx: TaskContext) => a + b + ctx.ds.length);
      const obj = task({ task_id: "obj", multiple_outputs: true }, async () => ({ rows: 1, name: "a" }));
      const useRows = task({ task_id: "use_rows" }, (rows: number) => rows);
      add(n(), 2);
      add(limit(), n());
      useRows(obj().get("rows"));
      // Never called: these lines exist for the type-checker only.
      const typeErrors = () => {
        // @ts-expect-error a string output where a number is expected
        add(s(), 1);
        // @ts-expect-error missing argument
        add(n());
        // @ts-expect-error the context is not an argument the caller passes
        n(1);
        // @ts-expect-error unknown trigger rule
        bash({ task_id: "b", command: "true", trigger_rule: "sometimes" });
        // @ts-expect-error a branch returns task ids
        task.branch({ task_id: "br" }, () => 42);
      };
      void typeErrors;
    });
    assert.deepEqual([...d.tasks.keys()].sort(), ["add", "add__1", "limit", "n", "n__1", "obj", "use_rows"]);
  });
});

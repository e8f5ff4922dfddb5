// Compile-time checks of the authoring API (`npm run typecheck` fails if inference regresses),
// plus a run so the file is a real test.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { dag, task, bash, taskGroup, Variable, Connection, CronTriggerTimetable, MultipleCronTriggerTimetable, type GroupArgs, type TaskContext, type XComArg } from "../../src/sdk/index.ts";

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
      // Reads go to the scheduler: they are awaited.
      const reads = async (ctx: TaskContext) => {
        const s: string = await Variable.get("k");
        const j: unknown = await Variable.get("k", { deserialize_json: true });
        const host: string | null = (await Connection.get("c")).host;
        const pulled: unknown = await ctx.ti.xcom_pull("t");
        // @ts-expect-error xcom_pull returns a promise, not the value
        const n: number = ctx.ti.xcom_pull("t");
        // @ts-expect-error var.get returns a promise
        const v: string = ctx.var.get("k");
        return [s, j, host, pulled, n, v];
      };
      void reads;
      CronTriggerTimetable("0 3 * * *", { run_immediately: { minutes: 10 } });
      MultipleCronTriggerTimetable("0 9 * * 1-5", "0 12 * * 6,0", { timezone: "Europe/Paris" });
      // @ts-expect-error run_immediately is a boolean or a duration
      const badImmediately = () => CronTriggerTimetable("0 3 * * *", { run_immediately: "soon" });
      void badImmediately;
    });
    assert.deepEqual([...d.tasks.keys()].sort(), ["add", "add__1", "limit", "n", "n__1", "obj", "use_rows"]);
  });

  it("infers a mapped task group's arguments and its reduced result", () => {
    const d = dag({ dag_id: "typing_groups" }, () => {
      const count = task({ task_id: "count" }, async (path: string) => path.length);
      const sum = task({ task_id: "sum" }, async (xs: number[]) => xs.reduce((a, b) => a + b, 0));
      const names = task({ task_id: "names" }, async () => ["a", "b"]);
      const per = taskGroup({ group_id: "per" }, ({ path }: GroupArgs<{ path: string }>) => count(path));
      const g = per.expand({ path: names() });
      // Outside the group, the output of a task inside is the list of its instances' values.
      const reduced: XComArg<number[]> = g.result;
      sum(reduced);
      per.partial({}).expand({ path: ["x"] });
      per.expand_kwargs([{ path: "y" }]);
      const plain = taskGroup({ group_id: "plain" }, ({ n }: { n: number }) => count(String(n)));
      const typeErrors = () => {
        // @ts-expect-error the group maps strings, not numbers
        per.expand({ path: [1, 2] });
        // @ts-expect-error a reduced output is a list, not one number
        count(g.result);
        // @ts-expect-error a body taking a plain number cannot receive a group argument: n cannot be expanded
        plain.expand({ n: [1, 2] });
        // @ts-expect-error expand_kwargs elements must fit the body's arguments
        per.expand_kwargs([{ path: 3 }]);
      };
      void typeErrors;
    });
    assert.deepEqual([...d.tasks.keys()].sort(), ["names", "per.count", "per__1.count", "per__2.count", "sum"]);
  });
});

// Dynamic task mapping: one `measure` instance per file listed upstream (map_index 0..n-1, named by
// map_index_template), a fixed unit through partial, then a reduce that gets every result in order.
// A bash task mapped over two commands. A mapped task group: per file, `check` then `summarize`,
// index by index (summarize[0] runs as soon as check[0] is done), then a report of every summary.
import { dag, task, bash, taskGroup, type GroupArgs } from "orch";

export default dag(
  {
    dag_id: "example_mapping",
    schedule: null,
    start_date: "2024-01-01",
    tags: ["example"],
    doc_md: "`expand`, `partial` and a reduce; `bash.partial().expand()`; a mapped task group.",
  },
  () => {
    const files = task({ task_id: "list_files" }, async () => ["jan.csv", "feb.csv", "march.csv"]);
    const listed = files();
    const measure = task({ task_id: "measure", map_index_template: "{{ task.name }}" }, async ({ name, unit }: { name: string; unit: number }) => name.length * unit);
    const total = task({ task_id: "total" }, async (sizes: number[]) => sizes.reduce((a, b) => a + b, 0));
    total(measure.partial({ unit: 10 }).expand({ name: listed }));
    bash.partial({ task_id: "greet" }).expand({ command: ["echo hello {{ ds }}", "echo bye {{ ds }}"] });

    const check = task({ task_id: "check" }, async (name: string) => name.endsWith(".csv"));
    const summarize = task({ task_id: "summarize" }, async (ok: boolean, name: string, prefix: string) => `${prefix}${name}: ${ok ? "ok" : "bad"}`);
    const report = task({ task_id: "report" }, async (lines: string[]) => lines.join("\n"));
    const perFile = taskGroup({ group_id: "per_file" }, ({ name, prefix }: GroupArgs<{ name: string; prefix: string }>) => summarize(check(name), name, prefix));
    report(perFile.partial({ prefix: "file " }).expand({ name: listed }).result);
  },
);

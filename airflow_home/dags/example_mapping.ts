// Dynamic task mapping: one `measure` instance per file listed upstream (map_index 0..n-1, named by
// map_index_template), a fixed unit through partial, then a reduce that gets every result in order.
// A bash task mapped over two commands.
import { dag, task, bash } from "orch";

export default dag(
  {
    dag_id: "example_mapping",
    schedule: null,
    start_date: "2024-01-01",
    tags: ["example"],
    doc_md: "`expand`, `partial` and a reduce; `bash.partial().expand()`.",
  },
  () => {
    const files = task({ task_id: "list_files" }, async () => ["jan.csv", "feb.csv", "march.csv"]);
    const measure = task({ task_id: "measure", map_index_template: "{{ task.name }}" }, async ({ name, unit }: { name: string; unit: number }) => name.length * unit);
    const total = task({ task_id: "total" }, async (sizes: number[]) => sizes.reduce((a, b) => a + b, 0));
    total(measure.partial({ unit: 10 }).expand({ name: files() }));
    bash.partial({ task_id: "greet" }).expand({ command: ["echo hello {{ ds }}", "echo bye {{ ds }}"] });
  },
);

// The example: extract a number from params, double it, report it from bash, finish.
import { dag, task, bash, empty, Param } from "orch";

export default dag(
  {
    dag_id: "example_etl",
    schedule: "@daily",
    start_date: "2024-01-01",
    catchup: false,
    params: { limit: Param(100, { type: "integer", minimum: 1 }) },
    default_args: { retries: 2, retry_delay: { seconds: 30 } },
    tags: ["example"],
    description: "Extract a limit, double it, report it",
  },
  () => {
    const extract = task({ task_id: "extract" }, async (ctx) => ctx.params.limit);
    const double = task({ task_id: "double" }, async (n: number) => n * 2);
    const report = bash({ task_id: "report", command: "echo {{ ds }} {{ ti.xcom_pull('double') }}" });
    const done = empty({ task_id: "done", trigger_rule: "none_failed_min_one_success" });
    double(extract()).then(report).then(done);
  },
);

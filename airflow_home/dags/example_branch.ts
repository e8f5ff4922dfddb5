// Branching and trigger rules: a branch picks one path, the other is skipped; the join runs when
// no upstream failed and at least one succeeded. A short-circuit stops the weekend report.
import { dag, task, bash, empty, chain, TriggerRule, type TaskContext } from "orch";

export default dag(
  {
    dag_id: "example_branch",
    schedule: "0 6 * * *",
    start_date: "2024-01-01",
    tags: ["example"],
    doc_md: "Pick a path by weekday; join with `none_failed_min_one_success`.",
  },
  () => {
    const pick = task.branch({ task_id: "pick_path" }, (ctx) => {
      const day = ctx.logical_date?.getUTCDay() ?? 1;
      return day === 0 || day === 6 ? "weekend" : "weekday";
    });
    const weekday = bash({ task_id: "weekday", command: "echo 'weekday load for {{ ds }}'" });
    const weekend = bash({ task_id: "weekend", command: (ctx: TaskContext) => `echo 'weekend, light load for ${ctx.ds}'` });
    const join = empty({ task_id: "join", trigger_rule: TriggerRule.NONE_FAILED_MIN_ONE_SUCCESS });
    const isMonday = task.short_circuit({ task_id: "is_monday" }, (ctx) => ctx.logical_date?.getUTCDay() === 1);
    const weekly = bash({ task_id: "weekly_report", command: "echo weekly report", env: { REPORT: "weekly" }, append_env: true });
    const cleanup = bash({ task_id: "cleanup", command: "echo cleanup", trigger_rule: "all_done" });

    pick().then([weekday, weekend]);
    chain([weekday, weekend], [join, join]);
    join.then(isMonday()).then(weekly).then(cleanup);
  },
);

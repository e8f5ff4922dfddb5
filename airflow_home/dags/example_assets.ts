// Assets: the producer updates an asset; the consumer is scheduled on it (Airflow's data-aware
// scheduling). The producer also shows an interval schedule and multiple_outputs.
import { dag, task, bash, Asset, type TaskContext } from "orch";

const report = Asset({ name: "daily_report", uri: "file:///tmp/orch-example/report.json" });

export const producer = dag(
  { dag_id: "example_asset_producer", schedule: { hours: 12 }, start_date: "2024-01-01", tags: ["example", "assets"] },
  () => {
    const stats = task({ task_id: "compute", multiple_outputs: true }, async () => ({ rows: 42, bytes: 1024 }));
    const write = task({ task_id: "write_report", outlets: [report] }, async (rows: number, ctx: TaskContext) => {
      ctx.log.info(`writing ${rows} rows`);
      return rows;
    });
    write(stats().get("rows"));
  },
);

export const consumer = dag(
  { dag_id: "example_asset_consumer", schedule: [report], start_date: "2024-01-01", tags: ["example", "assets"] },
  () => {
    bash({ task_id: "read_report", command: "echo new report for {{ ds }}", retries: 1, retry_delay: { seconds: 10 } });
  },
);

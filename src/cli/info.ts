// orch info: what a bug report needs (Airflow's `airflow info`): version, home, database, executor,
// paths, Node and platform. The database URL's password is hidden.
import { arch, platform, release } from "node:os";
import type { Argv, CommandModule } from "yargs";
import { loadConfig } from "../config.ts";
import { orchInstall } from "../install.ts";
import { redactUrl } from "../store/index.ts";
import { ORCH_VERSION } from "../version.ts";
import { executorParallelism } from "./components.ts";
import { outputOption, printRows, type OutputFormat } from "./output.ts";

export const infoCommand: CommandModule<object, { output: OutputFormat }> = {
  command: "info",
  describe: "Show orch's version, home, database, executor, paths and Node version",
  builder: (y: Argv) => y.options(outputOption).example("$0 info", "").example("$0 info -o json", "for a bug report") as unknown as Argv<{ output: OutputFormat }>,
  handler: (args) => {
    const config = loadConfig();
    const install = orchInstall();
    const rows = [
      { key: "orch_version", value: ORCH_VERSION },
      { key: "orch_home", value: config.home },
      { key: "config_file", value: config.file ?? `${config.home}/orch.toml (absent: defaults and environment)` },
      { key: "database", value: redactUrl(config.getString("database", "url")) },
      { key: "executor", value: `${config.getString("core", "executor")} (parallelism ${executorParallelism(config)})` },
      { key: "dags_folder", value: config.getString("core", "dags_folder") },
      { key: "base_log_folder", value: config.getString("logging", "base_log_folder") },
      { key: "install", value: `${install.root} (${install.mode})` },
      { key: "node_version", value: process.version },
      { key: "platform", value: `${platform()} ${release()} ${arch()}` },
    ];
    if (args.output === "json" || args.output === "yaml") printRows([Object.fromEntries(rows.map((r) => [r.key, r.value]))], args.output);
    else printRows(rows, args.output);
  },
};

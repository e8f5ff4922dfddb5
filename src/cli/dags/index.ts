// orch dags …: one module per subcommand, listed here; each is imported only when it runs
// (src/cli/lazy.ts), so `orch dags list` does not load the scheduler that `dags test` needs.
import type { CommandModule } from "yargs";
import { lazyCommand, type CommandEntry } from "../lazy.ts";

export const DAGS_SUBCOMMANDS: CommandEntry[] = [
  { command: "trigger <dag_id>", describe: "Create a manual DAG run; the scheduler runs it", load: async () => (await import("./runs.ts")).triggerCommand },
  { command: "test <dag_id> [logical_date]", describe: "Run one DAG run in the foreground, printing each task's log as it runs, then a summary", load: async () => (await import("./test.ts")).testCommand },
  { command: "check [paths..]", describe: "Type-check DAG files against orch's types (default: every file in the dags folder)", load: async () => (await import("./check.ts")).checkCommand },
  { command: "list-runs <dag_id>", describe: "List a DAG's runs, newest first", load: async () => (await import("./runs.ts")).listRunsCommand },
  { command: "state <dag_id> <ref>", describe: "Print the state of a DAG run (by logical date or run id)", load: async () => (await import("./runs.ts")).stateCommand },
  { command: "pause <dag_id>", describe: "Pause a DAG: no new runs, and its runs take no new tasks", load: async () => (await import("./runs.ts")).pauseDagCommand },
  { command: "unpause <dag_id>", describe: "Unpause a DAG so the scheduler runs it", load: async () => (await import("./runs.ts")).unpauseDagCommand },
  { command: "list", describe: "List the DAGs (parses the dags folder first)", load: async () => (await import("./list.ts")).listCommand },
  { command: "list-import-errors", describe: "List the DAG files that failed to load, with the error (parses the dags folder first)", load: async () => (await import("./list-import-errors.ts")).listImportErrorsCommand },
  { command: "show <dag_id>", describe: "Show a DAG's tasks and edges as a tree or as Graphviz dot", load: async () => (await import("./show.ts")).showCommand },
  { command: "details <dag_id>", describe: "Show a DAG's properties", load: async () => (await import("./details.ts")).detailsCommand },
  { command: "reserialize", describe: "Re-parse every DAG file and rewrite the serialized DAGs", load: async () => (await import("./reserialize.ts")).reserializeCommand },
  { command: "next-execution <dag_id>", describe: "Print the next logical date(s) and data interval(s) the scheduler will create", load: async () => (await import("./next-execution.ts")).nextExecutionCommand },
  { command: "delete <dag_id>", describe: "Delete every record of a DAG (runs, task instances, XComs); its file is left alone", load: async () => (await import("./delete.ts")).deleteCommand },
];

export const dagsCommand: CommandModule = {
  command: "dags <command>",
  describe: "List, inspect, trigger and test DAGs",
  builder: (y) => {
    for (const c of DAGS_SUBCOMMANDS) y.command(lazyCommand(c));
    return y.demandCommand(1);
  },
  handler: () => {},
};

// orch tasks …: one module per subcommand, listed here; each is imported only when it runs
// (src/cli/lazy.ts).
import type { CommandModule } from "yargs";
import { lazyCommand, type CommandEntry } from "../lazy.ts";

export const TASKS_SUBCOMMANDS: CommandEntry[] = [
  { command: "test <dag_id> <task_id> [date]", describe: "Run one task instance without recording its state; its log goes to stdout", load: async () => (await import("./test.ts")).taskTestCommand },
  { command: "states-for-dag-run <dag_id> <run_id>", describe: "The state of every task instance of one DAG run", load: async () => (await import("./instances.ts")).statesForDagRunCommand },
  { command: "state <dag_id> <task_id> <ref>", describe: "Print one task instance's state (run by logical date or run id)", load: async () => (await import("./instances.ts")).taskStateCommand },
  { command: "clear <dag_id>", describe: "Clear task instances so the scheduler runs them again", load: async () => (await import("./instances.ts")).clearCommand },
  { command: "list <dag_id>", describe: "List a DAG's tasks (--tree: as a tree from the roots)", load: async () => (await import("./list.ts")).listCommand },
];

export const tasksCommand: CommandModule = {
  command: "tasks <command>",
  describe: "List, test, clear and inspect task instances",
  builder: (y) => {
    for (const c of TASKS_SUBCOMMANDS) y.command(lazyCommand(c));
    return y.demandCommand(1);
  },
  handler: () => {},
};

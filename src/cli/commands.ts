// orch's top-level commands, as help lists them; each module is imported only when its command
// runs (src/cli/lazy.ts). The groups dags and tasks load their subcommands the same way.
import { ORCH_VERSION } from "../version.ts";
import { lazyCommand, type AnyCommand, type CommandEntry } from "./lazy.ts";

export const versionCommand: AnyCommand = {
  command: "version",
  describe: "Print orch's version",
  builder: (y) => y.example("$0 version", ""),
  handler: () => console.log(ORCH_VERSION),
};

export const TOP_LEVEL_COMMANDS: CommandEntry[] = [
  { command: "init [dir]", describe: "Create a home: dags/ with an example DAG, a commented orch.toml, a tsconfig.json for editors", load: async () => (await import("./init.ts")).initCommand },
  { command: "db <command>", describe: "Manage the metadata database", load: async () => (await import("./db.ts")).dbCommand },
  { command: "config <command>", describe: "Show orch's settings", load: async () => (await import("./config.ts")).configCommand },
  { command: "dags <command>", describe: "List, inspect, trigger and test DAGs", load: async () => (await import("./dags/index.ts")).dagsCommand },
  { command: "tasks <command>", describe: "List, test, clear and inspect task instances", load: async () => (await import("./tasks/index.ts")).tasksCommand },
  { command: "backfill <command>", describe: "Create, follow, pause and cancel backfills", load: async () => (await import("./backfill.ts")).backfillCommand },
  { command: "assets <command>", describe: "Assets: list, details, events, and recording an event", load: async () => (await import("./assets.ts")).assetsCommand },
  { command: "variables <command>", describe: "Get, set, list, import and export variables", load: async () => (await import("./variables.ts")).variablesCommand },
  { command: "connections <command>", describe: "Add, list, import and export connections", load: async () => (await import("./connections.ts")).connectionsCommand },
  { command: "scheduler", describe: "Run the DAG processor, scheduler and executor in the foreground", load: async () => (await import("./scheduler.ts")).schedulerCommand },
  { command: "dag-processor", describe: "Run the DAG processor alone: parse $ORCH_HOME/dags into the store and watch for changes", load: async () => (await import("./dag-processor.ts")).dagProcessorCommand },
  { command: "api-server", describe: "Run the REST API server (/api/v2, /auth/token) in the foreground", load: async () => (await import("./api-server.ts")).apiServerCommand },
  { command: "triggerer", describe: "Run the triggerer alone: it waits on deferred tasks' triggers and resumes them", load: async () => (await import("./triggerer.ts")).triggererCommand },
  { command: "standalone", describe: "Migrate, then run the DAG processor, scheduler, executor and API server in one process", load: async () => (await import("./standalone.ts")).standaloneCommand },
  { command: "users <command>", describe: "Manage the API's users (simple auth manager)", load: async () => (await import("./users.ts")).usersCommand },
  { command: "info", describe: "Show orch's version, home, database, executor, paths and Node version", load: async () => (await import("./info.ts")).infoCommand },
  { command: "cheat-sheet", describe: "The commands on one screen", load: async () => (await import("./cheat-sheet.ts")).cheatSheetCommand },
];

/** Every top-level command, in help's order. */
export function topLevelCommands(): AnyCommand[] {
  return [...TOP_LEVEL_COMMANDS.map(lazyCommand), versionCommand];
}

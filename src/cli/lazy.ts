// Commands whose module is imported only when they run. yargs calls a command's builder only when
// that command is the one being run (or its --help is shown), and accepts a builder that returns a
// promise; `orch --help` and `orch dags --help` need only the names and descriptions, kept in the
// command lists (src/cli/commands.ts, dags/index.ts, tasks/index.ts). Importing every command's
// module up front cost `orch dags list` most of its start-up: the scheduler, the API server, ajv,
// nunjucks, the executor, all for a listing (issue 17).
import type { Argv, CommandModule } from "yargs";

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- each command has its own args
export type AnyCommand = CommandModule<any, any>;

/** One line of a command list: what help shows, and how to import the command's module. The
 *  module must carry the same command and description (test/cli/lazy.test.ts checks every entry;
 *  a command run with a stale entry fails rather than run under another name). */
export interface CommandEntry {
  command: string;
  describe: string;
  load: () => Promise<AnyCommand>;
}

export function lazyCommand({ command, describe, load }: CommandEntry): AnyCommand {
  let loaded: Promise<AnyCommand> | undefined;
  const real = async (): Promise<AnyCommand> => {
    const m = await (loaded ??= load());
    if (m.command !== command || m.describe !== describe) {
      throw new Error(`src/cli's command list says "${command}" (${describe}) but its module says "${String(m.command)}" (${String(m.describe)})`);
    }
    return m;
  };
  return {
    command,
    describe,
    builder: async (y: Argv) => {
      const b = (await real()).builder;
      if (typeof b === "function") return b(y);
      return b ? y.options(b) : y;
    },
    handler: async (args) => (await real()).handler(args),
  };
}

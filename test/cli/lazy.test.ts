// The command lists that let each command's module load only when it runs (src/cli/lazy.ts) must
// say what the modules say: help shows the list's words, the command runs the module's code.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { TOP_LEVEL_COMMANDS } from "../../src/cli/commands.ts";
import { DAGS_SUBCOMMANDS } from "../../src/cli/dags/index.ts";
import type { CommandEntry } from "../../src/cli/lazy.ts";
import { TASKS_SUBCOMMANDS } from "../../src/cli/tasks/index.ts";
import { runOrch } from "../helpers/cli.ts";
import { tempHome } from "../helpers/home.ts";

const LISTS: [string, CommandEntry[]][] = [
  ["orch", TOP_LEVEL_COMMANDS],
  ["orch dags", DAGS_SUBCOMMANDS],
  ["orch tasks", TASKS_SUBCOMMANDS],
];

describe("lazily loaded commands", () => {
  for (const [group, entries] of LISTS) {
    it(`${group}: each entry's module carries the entry's command and description`, async () => {
      for (const e of entries) {
        const m = await e.load();
        assert.equal(m.command, e.command, `${group} ${e.command}`);
        assert.equal(m.describe, e.describe, `${group} ${e.command}`);
        assert.equal(typeof m.handler, "function", `${group} ${e.command}`);
      }
    });
  }

  it("help lists every command without loading it, and a loaded command still checks its flags", async () => {
    const h = await tempHome();
    try {
      for (const [group, entries] of LISTS) {
        const r = await runOrch([...group.split(" ").slice(1), "--help"], { home: h.home, env: { COLUMNS: "200" } });
        assert.equal(r.code, 0, r.stderr);
        for (const e of entries) {
          const words = e.command.split(" ")[0];
          assert.match(r.stdout, new RegExp(`orch ${group === "orch" ? "" : `${group.slice(5)} `}${words}\\b.*${e.describe.slice(0, 20).replace(/[.*+?^${}()|[\]\\$]/g, "\\$&")}`), `${group} --help lists ${words}`);
        }
      }
      // The builder of a lazily loaded command runs: its own options are known, others refused.
      const opts = await runOrch(["dags", "list", "--help"], { home: h.home });
      assert.match(opts.stdout, /--include-stale/);
      const bad = await runOrch(["dags", "list", "--bogus-flag"], { home: h.home });
      assert.equal(bad.code, 2, bad.stderr);
      assert.match(bad.stderr, /bogus-flag/);
    } finally {
      await h.cleanup();
    }
  });
});

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import { ORCH_VERSION } from "../../src/version.ts";
import { runOrch } from "../helpers/cli.ts";
import { tempHome, type TempHome } from "../helpers/home.ts";

describe("orch CLI", () => {
  let h: TempHome;
  before(async () => {
    h = await tempHome();
  });
  after(() => h.cleanup());

  it("--help teaches by example and works from any directory", async () => {
    const r = await runOrch(["--help"], { home: h.home, cwd: "/" });
    assert.equal(r.code, 0);
    for (const word of ["db", "dags", "tasks", "config", "standalone", "version", "Examples:"]) assert.match(r.stdout, new RegExp(word));
  });

  it("an unknown command prints help and exits 2", async () => {
    const r = await runOrch(["frobnicate"], { home: h.home });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /Commands:/);
    assert.match(r.stderr, /unknown command "frobnicate"/);
  });

  it("an unknown flag is a usage error (exit 2)", async () => {
    const r = await runOrch(["db", "check", "--frob"], { home: h.home });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /Unknown argument/);
  });

  it("version prints package.json's version", async () => {
    const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string };
    assert.equal(ORCH_VERSION, pkg.version);
    const r = await runOrch(["version"], { home: h.home });
    assert.equal(r.stdout.trim(), pkg.version);
  });

  it("every command's --help teaches by example", async () => {
    const commands = [
      ["db", "migrate"], ["db", "check"], ["db", "reset"], ["config", "list"], ["config", "get-value"],
      ["dags", "list"], ["dags", "list-import-errors"], ["dags", "show"], ["dags", "details"], ["dags", "reserialize"],
      ["dags", "trigger"], ["dags", "test"], ["dags", "list-runs"], ["dags", "state"], ["dags", "pause"], ["dags", "unpause"],
      ["tasks", "list"], ["tasks", "test"], ["tasks", "clear"], ["tasks", "state"], ["tasks", "states-for-dag-run"],
      ["scheduler"], ["standalone"],
    ];
    const results = await Promise.all(commands.map((c) => runOrch([...c, "--help"], { home: h.home })));
    results.forEach((r, i) => {
      assert.equal(r.code, 0, commands[i].join(" "));
      assert.match(r.stdout, /Examples:\n\s+orch /, `${commands[i].join(" ")} --help has no example`);
    });
  });

  it("db --help shows each subcommand", async () => {
    const r = await runOrch(["db", "--help"], { home: h.home });
    assert.equal(r.code, 0);
    for (const c of ["migrate", "check", "reset"]) assert.match(r.stdout, new RegExp(`db ${c}`));
  });
});

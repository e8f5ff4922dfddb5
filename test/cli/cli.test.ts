import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { after, before, describe, it } from "node:test";
import { ORCH_VERSION } from "../../src/version.ts";
import { runOrch } from "../helpers/cli.ts";
import { tempHome, type TempHome } from "../helpers/home.ts";

const NEW_COMMANDS = [["dags", "check"], ["dags", "next-execution"], ["dags", "delete"], ["init"], ["info"], ["cheat-sheet"]];
const HELP_COMMANDS = [
  [], ["db"], ["db", "migrate"], ["db", "check"], ["db", "reset"], ["config", "list"], ["config", "get-value"], ["dags"], ["tasks"],
  ["dags", "list"], ["dags", "list-import-errors"], ["dags", "show"], ["dags", "details"], ["dags", "reserialize"],
  ["dags", "trigger"], ["dags", "test"], ["dags", "list-runs"], ["dags", "state"], ["dags", "pause"], ["dags", "unpause"],
  ["tasks", "list"], ["tasks", "test"], ["tasks", "clear"], ["tasks", "state"], ["tasks", "states-for-dag-run"],
  ["scheduler"], ["standalone"], ["version"], ...NEW_COMMANDS,
];
const EXAMPLE_DAG_IDS = new Set(
  readdirSync(fileURLToPath(new URL("../../airflow_home/dags", import.meta.url)))
    .filter((f) => f.endsWith(".ts"))
    .flatMap((f) => [...readFileSync(fileURLToPath(new URL(`../../airflow_home/dags/${f}`, import.meta.url)), "utf8").matchAll(/dag_id: "([\w.-]+)"/g)].map((m) => m[1])),
);

/** A few CLI processes at a time: thirty at once on a loaded 2-core machine outran the timeout. */
async function inBatches<T, R>(items: readonly T[], fn: (item: T) => Promise<R>, size = 4): Promise<R[]> {
  const out: R[] = [];
  for (let i = 0; i < items.length; i += size) out.push(...(await Promise.all(items.slice(i, i + size).map(fn))));
  return out;
}

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
      ["scheduler"], ["standalone"], ...NEW_COMMANDS,
    ];
    const results = await inBatches(commands, (c) => runOrch([...c, "--help"], { home: h.home, timeoutMs: 120_000 }));
    results.forEach((r, i) => {
      assert.equal(r.code, 0, commands[i].join(" "));
      assert.match(r.stdout, /Examples:\n(?:\s+#[^\n]*\n)?\s+(?:[A-Z_]+=\S+ )?orch /, `${commands[i].join(" ")} --help has no example`);
    });
  });

  it("--help examples copy-paste whole at 80 columns and name DAGs of the example home", async () => {
    const results = await inBatches(HELP_COMMANDS, (c) => runOrch([...c, "--help"], { home: h.home, env: { COLUMNS: "80" }, timeoutMs: 120_000 }));
    results.forEach((r, i) => {
      const name = HELP_COMMANDS[i].join(" ") || "orch";
      assert.equal(r.code, 0, name);
      const lines = r.stdout.slice(r.stdout.indexOf("Examples:\n") + 10).split("\n");
      for (const [j, line] of lines.entries()) {
        if (line.trim() === "") break;
        assert.ok(line.length <= 80, `${name}: wider than 80: ${line}`);
        // An example line starts with a command (or an env assignment) or a comment; anything
        // else at the example's indent is a command wrapped onto a second line.
        if (/^ {2}\S/.test(line)) assert.match(line, /^ {2}(orch |#|[A-Z_]+=)/, `${name}: wrapped example at line ${j}: ${line}`);
        for (const m of line.matchAll(/orch (?:dags|tasks) [a-z-]+ ([a-z][a-z0-9_]*)(?=\s|$)/g)) {
          assert.ok(EXAMPLE_DAG_IDS.has(m[1]), `${name}: example names DAG "${m[1]}", not in airflow_home/dags (${[...EXAMPLE_DAG_IDS].join(", ")})`);
        }
      }
    });
  });

  it("db --help shows each subcommand", async () => {
    const r = await runOrch(["db", "--help"], { home: h.home });
    assert.equal(r.code, 0);
    for (const c of ["migrate", "check", "reset"]) assert.match(r.stdout, new RegExp(`db ${c}`));
  });
});

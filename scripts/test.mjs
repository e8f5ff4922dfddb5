#!/usr/bin/env node
// `npm test`: builds dist/ (CLI tests drive the real bundle), makes sure the local PostgreSQL is up,
// then runs every test/**/*.test.ts with node's test runner through tsx.
// Arguments narrow the run: `npm test -- test/store` runs the files under test/store.
// The whole run type-checks first (`npm run typecheck`), so the @ts-expect-error lines of
// test/sdk/typing.test.ts count; a narrowed run skips that (17 s) unless ORCH_TEST_TYPECHECK=1,
// and ORCH_TEST_TYPECHECK=0 skips it always (.ci/run's second and third Node, same sources).
import { spawnSync } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
process.chdir(root);

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { stdio: "inherit", ...opts });
  return r.status ?? 1;
}

const args = process.argv.slice(2);
const typecheck = process.env.ORCH_TEST_TYPECHECK ?? (args.length ? "0" : "1");
if (typecheck === "1") {
  const tsc = join(root, "node_modules", "typescript", "bin", "tsc");
  if (run(process.execPath, [tsc, "-p", "tsconfig.json", "--noEmit"]) !== 0) {
    console.error("npm run typecheck failed: fix the type errors above (they include test/sdk/typing.test.ts's @ts-expect-error lines)");
    process.exit(1);
  }
}

if (run(process.execPath, ["build.config.mjs"]) !== 0) process.exit(1);

// PostgreSQL: start it when installed but down. Exit 3 means "not installed": the PostgreSQL
// suites then skip loudly, except under CI=true where test/helpers/pg.ts fails them.
const pg = spawnSync("bash", ["scripts/start-postgres.sh"], { stdio: ["ignore", "inherit", "inherit"] });
if (pg.status === 3) {
  const msg = "PostgreSQL is not installed: the PostgreSQL suites will be skipped";
  console.error(`\n${"!".repeat(msg.length + 8)}\n!!! ${msg} !!!\n${"!".repeat(msg.length + 8)}\n`);
} else if (pg.status !== 0) {
  console.error("scripts/start-postgres.sh failed; PostgreSQL suites will fail");
}

function findTests(dir, out) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) {
      if (name !== "fixtures" && name !== "helpers") findTests(p, out);
    } else if (name.endsWith(".test.ts")) out.push(relative(root, p));
  }
  return out;
}

const roots = args.length ? args : ["test"];
const files = roots.flatMap((r) => (statSync(r).isDirectory() ? findTests(r, []) : [r])).sort();
if (files.length === 0) {
  console.error(`no test files under ${roots.join(", ")}`);
  process.exit(1);
}
const concurrency = process.env.ORCH_TEST_CONCURRENCY ?? "3";
process.exit(
  run(process.execPath, [
    "--import", "tsx",
    // Every test file fails when it leaves a process or a timer behind (test/helpers/leak-guard.ts).
    "--import", "./test/helpers/leak-guard.ts",
    "--test", `--test-concurrency=${concurrency}`, "--test-timeout=900000", "--test-reporter=spec", ...files,
  ]),
);

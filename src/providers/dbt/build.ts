// `dbt build` for a task: the real dbt when a `dbt` executable is on PATH (a subprocess, its output
// line by line into the task log), otherwise orch's SQL fallback (run.ts) on the same warehouse,
// after one log line saying why. A newcomer's first run never fails on a missing dbt.
import { spawn } from "node:child_process";
import { accessSync, constants, statSync } from "node:fs";
import { delimiter, dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { OrchError } from "../../errors.ts";
import { PostgresHook } from "../postgres.ts";
import { SqliteHook } from "../sqlite.ts";
import type { WarehouseHook } from "../types.ts";
import { runDbtFallback, type DbtFallbackResult } from "./run.ts";

/** The first executable called `name` on PATH (as `shutil.which`), or undefined. */
export function findExecutable(name: string, path: string | undefined = process.env.PATH): string | undefined {
  for (const dir of (path ?? "").split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, name);
    try {
      if (!statSync(candidate).isFile()) continue;
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/**
 * The environment profiles.yml (include/dbt_project/profiles.yml) reads: which target, and where the
 * warehouse is. The PostgreSQL password goes as DBT_ENV_SECRET_*, which dbt scrubs from its logs.
 */
export async function dbtProfileEnv(hook: WarehouseHook): Promise<Record<string, string>> {
  if (hook instanceof SqliteHook) {
    return { DBT_TARGET: "sqlite", ORCH_WAREHOUSE_PATH: hook.path, ORCH_WAREHOUSE_DIR: dirname(hook.path) };
  }
  if (hook instanceof PostgresHook) {
    const c = await hook.getConn();
    const [{ schema }] = (await hook.getRecords<{ schema: string }>("SELECT current_schema() AS schema")) as [{ schema: string }];
    return {
      DBT_TARGET: "postgres",
      ORCH_WAREHOUSE_HOST: c.host,
      ORCH_WAREHOUSE_PORT: String(c.port),
      ORCH_WAREHOUSE_USER: c.user ?? "",
      ORCH_WAREHOUSE_DBNAME: c.database ?? "",
      ORCH_WAREHOUSE_SCHEMA: schema,
      DBT_ENV_SECRET_WAREHOUSE_PASSWORD: typeof c.password === "string" ? c.password : "",
    };
  }
  throw new OrchError("ORCH_USAGE", `dbt needs a SqliteHook or a PostgresHook warehouse, got a ${hook.dialect} hook of another kind`);
}

export interface DbtBuildOptions {
  projectDir: string;
  /** Where profiles.yml is; default the project folder. */
  profilesDir?: string;
  vars?: Record<string, unknown>;
  /** dbt's --select (the fallback understands "name" and "+name"). */
  select?: readonly string[];
  log: (line: string) => void;
  /** PATH to look for dbt on; default process.env.PATH. */
  path?: string;
}

export type DbtBuildResult =
  | { runner: "dbt"; executable: string; args: string[] }
  | ({ runner: "fallback" } & DbtFallbackResult);

/** The arguments orch gives dbt: `build --project-dir … --profiles-dir … --vars '{…}' [--select …]`. */
export function dbtBuildArgs(o: Pick<DbtBuildOptions, "projectDir" | "profilesDir" | "vars" | "select">): string[] {
  const args = ["build", "--project-dir", o.projectDir, "--profiles-dir", o.profilesDir ?? o.projectDir];
  if (o.vars && Object.keys(o.vars).length) args.push("--vars", JSON.stringify(o.vars));
  if (o.select?.length) args.push("--select", ...o.select);
  return args;
}

async function spawnDbt(executable: string, args: string[], env: Record<string, string>, log: (line: string) => void): Promise<void> {
  const child = spawn(executable, args, { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  // The worker may be stopped (timeout, kill): dbt must not outlive it.
  const killChild = () => child.kill("SIGTERM");
  process.once("exit", killChild);
  const tail: string[] = [];
  const read = (stream: NodeJS.ReadableStream) =>
    new Promise<void>((resolve) => {
      const rl = createInterface({ input: stream, crlfDelay: Infinity });
      rl.on("line", (line) => {
        tail.push(line);
        if (tail.length > 10) tail.shift();
        log(line);
      });
      rl.once("close", resolve);
    });
  try {
    const [exit] = await Promise.all([
      new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
        child.once("error", (e) => reject(new OrchError("ORCH_DBT_FAILED", `could not start ${executable}: ${e.message}`, { executable })));
        child.once("close", (code, signal) => resolve({ code, signal }));
      }),
      read(child.stdout!),
      read(child.stderr!),
    ]);
    if (exit.code !== 0) {
      throw new OrchError(
        "ORCH_DBT_FAILED",
        `${executable} ${args[0]} ${exit.signal ? `was killed by ${exit.signal}` : `exited with code ${exit.code}`}${tail.length ? `; its last lines: ${tail.join(" | ")}` : ""}`,
        { executable, code: exit.code },
      );
    }
  } finally {
    process.removeListener("exit", killChild);
  }
}

/** Runs `dbt build` (or, without dbt, the SQL fallback) against `hook`'s warehouse. */
export async function dbtBuild(hook: WarehouseHook, o: DbtBuildOptions): Promise<DbtBuildResult> {
  const executable = findExecutable("dbt", o.path ?? process.env.PATH);
  if (executable) {
    const args = dbtBuildArgs(o);
    o.log(`Running ${executable} ${args.map((a) => (/^[\w./:+-]+$/.test(a) ? a : `'${a}'`)).join(" ")}`);
    await spawnDbt(executable, args, await dbtProfileEnv(hook), o.log);
    return { runner: "dbt", executable, args };
  }
  o.log(`dbt is not on PATH, so orch's SQL fallback runs the project's models and tests instead (a fallback for this project's subset of dbt, not dbt: see docs/providers.md)`);
  const r = await runDbtFallback(hook, { projectDir: o.projectDir, vars: o.vars, select: o.select, log: o.log });
  return { runner: "fallback", ...r };
}

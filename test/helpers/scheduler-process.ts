// `orch scheduler` as a real child process, and waiting on the store for conditions.
import { spawn, type ChildProcess } from "node:child_process";
import { join } from "node:path";
import { openStore, type Store } from "../../src/store/index.ts";
import { ORCH_BIN } from "./cli.ts";

export type SchedulerProcess = ChildProcess & { output: () => string };

export function startScheduler(home: string, args: string[] = [], env: Record<string, string> = {}): SchedulerProcess {
  const e: NodeJS.ProcessEnv = { ...process.env, ORCH_HOME: home, ...env };
  if (!env.ORCH_DATABASE_URL) delete e.ORCH_DATABASE_URL;
  const child = spawn(process.execPath, [ORCH_BIN, "scheduler", ...args], { env: e, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout!.on("data", (b) => (out += b));
  child.stderr!.on("data", (b) => (out += b));
  return Object.assign(child, { output: () => out });
}

export async function waitFor<T>(what: string, fn: () => Promise<T | undefined | false>, timeoutMs = 90_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export function exited(child: ChildProcess): Promise<number | null> {
  return new Promise((r) => (child.exitCode !== null || child.signalCode !== null ? r(child.exitCode) : child.once("exit", (code) => r(code))));
}

export async function killHard(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  child.kill("SIGKILL");
  await exited(child);
}

/** Opens the store (the home's SQLite file unless `url` names another) for one look. */
export async function withStoreOf<T>(home: string, fn: (s: Store) => Promise<T>, url?: string): Promise<T> {
  const s = await openStore(url ?? `sqlite:///${join(home, "orch.db")}`);
  try {
    return await fn(s);
  } finally {
    await s.close();
  }
}

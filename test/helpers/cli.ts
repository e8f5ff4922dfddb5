// Runs the built CLI (dist/orch.mjs; `npm test` builds it first) as a real child process.
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";

export const ORCH_BIN = fileURLToPath(new URL("../../dist/orch.mjs", import.meta.url));

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function runOrch(
  args: string[],
  opts: { home: string; env?: Record<string, string | undefined>; cwd?: string; input?: string; timeoutMs?: number },
): Promise<CliResult> {
  const env: Record<string, string | undefined> = { ...process.env, ORCH_HOME: opts.home, ORCH_DATABASE_URL: undefined, ...opts.env };
  for (const k of Object.keys(env)) if (env[k] === undefined) delete env[k];
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      [ORCH_BIN, ...args],
      { env: env as NodeJS.ProcessEnv, cwd: opts.cwd ?? opts.home, timeout: opts.timeoutMs ?? 60_000, maxBuffer: 64 << 20 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === "number" ? err.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
    // A pipe, never a terminal: commands that would prompt must refuse instead.
    child.stdin?.end(opts.input ?? "");
  });
}

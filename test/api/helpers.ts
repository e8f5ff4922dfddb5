// A real orch process (standalone, api-server, scheduler) on 127.0.0.1 with a free port, and a
// small HTTP client that checks each response body against the contract schemas.
import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { request } from "undici";
import { ORCH_BIN } from "../helpers/cli.ts";
import { assertShape, type SchemaName } from "./schemas.ts";

export interface OrchProcess {
  child: ChildProcess;
  url: string;
  stdout(): string;
  stderr(): string;
  /** SIGTERM and wait for the exit; resolves with the exit code. */
  stop(): Promise<number | null>;
  exited: Promise<number | null>;
}

export function orchEnv(home: string, extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: Record<string, string | undefined> = { ...process.env, ORCH_HOME: home, ORCH_DATABASE_URL: undefined, ...extra };
  for (const k of Object.keys(env)) if (env[k] === undefined) delete env[k];
  return env as NodeJS.ProcessEnv;
}

/** Starts `orch <args>` and, when `waitFor` is given, resolves once stdout matches it. */
export async function startOrch(args: string[], home: string, opts: { env?: Record<string, string | undefined>; waitFor?: RegExp; timeoutMs?: number } = {}): Promise<OrchProcess> {
  const child = spawn(process.execPath, [ORCH_BIN, ...args], { env: orchEnv(home, opts.env), cwd: home, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  child.stdout?.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr?.on("data", (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const waitFor = opts.waitFor ?? /ready: (http:\/\/[^\s]+) /;
  const deadline = Date.now() + (opts.timeoutMs ?? 60_000);
  let url = "";
  let done = false;
  void exited.then(() => (done = true));
  while (!done && Date.now() < deadline) {
    const m = waitFor.exec(out);
    if (m) {
      url = m[1] ?? "";
      break;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  if (!waitFor.exec(out)) {
    child.kill("SIGKILL");
    throw new Error(`orch ${args.join(" ")} did not print ${waitFor} (exited: ${done})\nstdout:\n${out}\nstderr:\n${err}`);
  }
  return {
    child,
    url,
    stdout: () => out,
    stderr: () => err,
    exited,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      // SIGTERM waits for running tasks; one a failed test left blocked must not hang the file.
      const killer = setTimeout(() => child.kill("SIGKILL"), 60_000);
      try {
        return await exited;
      } finally {
        clearTimeout(killer);
      }
    },
  };
}

export function generatedPassword(home: string, user = "admin"): string {
  const doc = JSON.parse(readFileSync(join(home, "simple_auth_manager_passwords.json.generated"), "utf8")) as Record<string, string>;
  return doc[user];
}

export interface Reply {
  status: number;
  body: unknown;
  text: string;
  headers: Record<string, string | string[] | undefined>;
}

export interface CallOptions {
  token?: string;
  body?: unknown;
  /** A raw body, sent as is with `contentType`. */
  raw?: string;
  contentType?: string;
  headers?: Record<string, string>;
  /** Validate a 2xx body against this schema (errors are always checked against Airflow's error shapes). */
  schema?: SchemaName;
}

export async function call(base: string, method: string, path: string, o: CallOptions = {}): Promise<Reply> {
  const headers: Record<string, string> = { ...o.headers };
  if (o.token) headers.authorization = `Bearer ${o.token}`;
  let body: string | undefined;
  if (o.raw !== undefined) {
    body = o.raw;
    headers["content-type"] = o.contentType ?? "application/json";
  } else if (o.body !== undefined) {
    body = JSON.stringify(o.body);
    headers["content-type"] = "application/json";
  }
  const r = await request(`${base}${path}`, { method: method as "GET", headers, body });
  const text = await r.body.text();
  let parsed: unknown = undefined;
  const type = String(r.headers["content-type"] ?? "");
  if (type.includes("application/json")) parsed = JSON.parse(text);
  if (r.statusCode >= 200 && r.statusCode < 300 && o.schema) assertShape(o.schema, parsed);
  if (r.statusCode === 422) assertShape("HTTPValidationError", parsed);
  else if (r.statusCode >= 400) assertShape("HTTPExceptionResponse", parsed);
  return { status: r.statusCode, body: parsed, text, headers: r.headers };
}

export async function login(base: string, username: string, password: string): Promise<string> {
  const r = await call(base, "POST", "/auth/token", { body: { username, password }, schema: "TokenResponse" });
  if (r.status !== 201) throw new Error(`login as ${username}: ${r.status} ${r.text}`);
  return (r.body as { access_token: string }).access_token;
}

/** Polls `fn` until it returns a value that is not undefined, or fails after the deadline. */
export async function waitFor<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ""}`);
}

// PostgreSQL for tests: a server that answers (started once through scripts/start-postgres.sh when
// it is installed but down) and a fresh database per test file, created and dropped here.
//
// Where PostgreSQL is not installed the PostgreSQL suites are skipped with a loud message, except
// under CI=true: there `pgSkipReason()` throws so the suite fails instead of passing by omission.
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import pg from "pg";

export const ADMIN_URL = process.env.ORCH_TEST_DATABASE_URL ?? "postgres://postgres:postgres@127.0.0.1:5432/postgres";

const root = fileURLToPath(new URL("../..", import.meta.url));

async function answers(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    await client.query("select 1");
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}

let cached: Promise<string | undefined> | undefined;

/** undefined when PostgreSQL can be used; otherwise why not. Throws under CI=true. */
export function pgSkipReason(): Promise<string | undefined> {
  cached ??= (async () => {
    if (await answers(ADMIN_URL)) return undefined;
    const r = spawnSync("bash", [`${root}/scripts/start-postgres.sh`], { encoding: "utf8" });
    if (r.status === 0 && (await answers(ADMIN_URL))) return undefined;
    const why =
      r.status === 3
        ? "PostgreSQL is not installed on this machine"
        : `PostgreSQL at ${redact(ADMIN_URL)} does not answer (start-postgres.sh: ${(r.stderr || "").trim() || `exit ${r.status}`})`;
    if (process.env.CI === "true") throw new Error(`${why}; under CI=true the PostgreSQL tests must run`);
    console.error(`\n!!! SKIPPING PostgreSQL tests: ${why} !!!\n`);
    return why;
  })();
  return cached;
}

function redact(url: string): string {
  return url.replace(/:\/\/([^:@/]+):[^@/]*@/, "://$1:***@");
}

export interface FreshDatabase {
  url: string;
  name: string;
  drop(): Promise<void>;
}

/** `fn` with a session of its own on `url` (the admin database by default), closed afterwards. */
export async function withPgClient<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

/** A new, empty database on the test server, named for the caller; drop() removes it. */
export async function freshPgDatabase(label = "t"): Promise<FreshDatabase> {
  const name = `orch_${label.replace(/[^a-z0-9]/gi, "_").toLowerCase().slice(0, 30)}_${randomBytes(4).toString("hex")}`;
  await withPgClient(ADMIN_URL, (c) => c.query(`CREATE DATABASE "${name}"`));
  const u = new URL(ADMIN_URL);
  u.pathname = `/${name}`;
  return {
    url: u.toString(),
    name,
    async drop() {
      await withPgClient(ADMIN_URL, (c) => c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`));
    },
  };
}

// A migrated store per test file, on each dialect under test.
//
//   for (const dialect of testDialects()) {
//     describe(`${dialect}: dag_run`, { skip: await dialectSkipReason(dialect) }, () => {
//       let s: TestStore;
//       before(async () => { s = await freshStore(dialect, "dag_run"); });
//       after(() => s.cleanup());
//       ...
//     });
//   }
//
// ORCH_TEST_DIALECTS=sqlite (or postgres) narrows the loop.
import { join } from "node:path";
import type { DialectName } from "../../src/store/dialect.ts";
import { migrate, openStore, type Store } from "../../src/store/index.ts";
import { tempHome } from "./home.ts";
import { freshPgDatabase, pgSkipReason } from "./pg.ts";

export function testDialects(): DialectName[] {
  const all: DialectName[] = ["sqlite", "postgres"];
  const want = process.env.ORCH_TEST_DIALECTS?.split(",").map((s) => s.trim());
  return want ? all.filter((d) => want.includes(d)) : all;
}

/** A reason to skip that dialect's suite, or undefined (never a reason for sqlite). */
export async function dialectSkipReason(dialect: DialectName): Promise<string | undefined> {
  return dialect === "postgres" ? pgSkipReason() : undefined;
}

export interface TestStore {
  store: Store;
  /** The database URL, for child processes (ORCH_DATABASE_URL). */
  url: string;
  /** A temp ORCH_HOME that belongs to this store. */
  home: string;
  cleanup(): Promise<void>;
}

/** An empty database (not migrated) and its URL. */
export async function freshDatabaseUrl(
  dialect: DialectName,
  label: string,
): Promise<{ url: string; home: string; cleanup(): Promise<void> }> {
  const h = await tempHome(`orch-${label}-`);
  if (dialect === "sqlite") {
    return { url: `sqlite:///${join(h.home, "orch.db")}`, home: h.home, cleanup: h.cleanup };
  }
  const db = await freshPgDatabase(label);
  return {
    url: db.url,
    home: h.home,
    cleanup: async () => {
      await db.drop();
      await h.cleanup();
    },
  };
}

export async function freshStore(dialect: DialectName, label: string, opts: { migrated?: boolean } = {}): Promise<TestStore> {
  const d = await freshDatabaseUrl(dialect, label);
  const store = await openStore(d.url);
  if (opts.migrated !== false) await migrate(store);
  return {
    store,
    url: d.url,
    home: d.home,
    cleanup: async () => {
      await store.close();
      await d.cleanup();
    },
  };
}

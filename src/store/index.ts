// The metadata store's public face: open by configuration, check the schema, migrate.
import type { Config } from "../config.ts";
import { assertSchemaCurrent, schemaStatus, schemaTooNewError } from "./migrate.ts";
import { openStore, type OpenStoreOptions, type Store } from "./open.ts";

export type { Store, Db } from "./open.ts";
export { openStore, parseDatabaseUrl, redactUrl } from "./open.ts";
export { migrate, schemaStatus, assertSchemaCurrent, dropAllTables, MIGRATIONS, LATEST_SCHEMA_VERSION } from "./migrate.ts";

export function databaseUrl(config: Config): string {
  return config.getString("database", "url");
}

/** The store options [database] sets (prepared_statements). */
export function storeOptions(config: Config): OpenStoreOptions {
  return { preparedStatements: config.getBoolean("database", "prepared_statements") };
}

/** Opens the configured store and refuses one this orch cannot use (not migrated, or too new). */
export async function openCurrentStore(config: Config): Promise<Store> {
  const store = await openStore(databaseUrl(config), storeOptions(config));
  try {
    await assertSchemaCurrent(store);
  } catch (e) {
    await store.close();
    throw e;
  }
  return store;
}

/** Opens the store and refuses only a schema newer than this orch (for `db migrate` / `db reset`). */
export async function openStoreForMaintenance(config: Config): Promise<Store> {
  const store = await openStore(databaseUrl(config), storeOptions(config));
  try {
    const status = await schemaStatus(store);
    if (status.current > status.latest) throw schemaTooNewError(status, store.displayUrl);
  } catch (e) {
    await store.close();
    throw e;
  }
  return store;
}

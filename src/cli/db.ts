// orch db migrate | check | reset
import type { Argv, CommandModule } from "yargs";
import { loadConfig } from "../config.ts";
import { databaseUrl, dropAllTables, migrate, openStore, openStoreForMaintenance, schemaStatus, storeOptions } from "../store/index.ts";
import { schemaTooNewError } from "../store/migrate.ts";
import { OrchError } from "../errors.ts";
import { confirmOrRefuse } from "./confirm.ts";

const migrateCommand: CommandModule = {
  command: "migrate",
  describe: "Create or upgrade the metadata database (idempotent)",
  builder: (y) => y.example("$0 db migrate", "create $ORCH_HOME/orch.db, or upgrade it").example(
    "ORCH_DATABASE_URL=postgres://me:pw@127.0.0.1/orch $0 db migrate",
    "the same schema in PostgreSQL",
  ),
  handler: async () => {
    const store = await openStoreForMaintenance(loadConfig());
    try {
      const applied = await migrate(store, (m) => console.log(`applied migration ${String(m.version).padStart(3, "0")} ${m.name}`));
      const status = await schemaStatus(store);
      console.log(
        applied.length
          ? `database ${store.displayUrl} migrated to schema version ${status.current}`
          : `database ${store.displayUrl} is current (schema version ${status.current}); nothing to apply`,
      );
    } finally {
      await store.close();
    }
  },
};

const checkCommand: CommandModule = {
  command: "check",
  describe: "Exit 0 when the database is reachable and its schema current",
  builder: (y) => y.example("$0 db check && echo ready", "use in scripts"),
  handler: async () => {
    const config = loadConfig();
    const store = await openStore(databaseUrl(config), storeOptions(config));
    try {
      const status = await schemaStatus(store);
      if (status.current > status.latest) throw schemaTooNewError(status, store.displayUrl);
      if (status.pending.length) {
        throw new OrchError(
          "ORCH_DB_NOT_MIGRATED",
          `database ${store.displayUrl} is at schema version ${status.current}; this orch needs ${status.latest}: ` +
            `${status.pending.length} migration(s) pending (${status.pending.map((m) => m.name).join(", ")}); run \`orch db migrate\``,
        );
      }
      console.log(`database ${store.displayUrl} is reachable and current (schema version ${status.current})`);
    } finally {
      await store.close();
    }
  },
};

interface ResetArgs {
  yes: boolean;
  "skip-init": boolean;
}

const resetCommand: CommandModule<object, ResetArgs> = {
  command: "reset",
  describe: "Drop every table of the metadata database and create the schema anew",
  builder: (y: Argv) =>
    y
      .option("yes", { alias: "y", type: "boolean", default: false, describe: "Do not ask for confirmation" })
      .option("skip-init", { type: "boolean", default: false, describe: "Only drop; do not migrate afterwards" })
      .example("$0 db reset --yes", "start over without asking (all runs, variables and connections are lost)") as Argv<ResetArgs>,
  handler: async (args) => {
    const store = await openStoreForMaintenance(loadConfig());
    try {
      const ok = await confirmOrRefuse(`This drops every table in ${store.displayUrl}. Proceed?`, { yes: args.yes });
      if (!ok) {
        console.error("cancelled; nothing was changed");
        process.exitCode = 1;
        return;
      }
      const dropped = await dropAllTables(store);
      console.log(`dropped ${dropped.length} table(s)`);
      if (!args["skip-init"]) {
        const applied = await migrate(store);
        console.log(`applied ${applied.length} migration(s); schema version ${applied.at(-1)?.version ?? 0}`);
      }
    } finally {
      await store.close();
    }
  },
};

export const dbCommand: CommandModule = {
  command: "db <command>",
  describe: "Manage the metadata database",
  builder: (y) => y.command(migrateCommand).command(checkCommand).command(resetCommand).demandCommand(1),
  handler: () => {},
};

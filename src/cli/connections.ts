// orch connections add | get | list | delete | import | export (Airflow's `airflow connections`).
// Listings mask passwords and sensitive extras unless --show-secrets; `get` of one connection
// prints it whole. Reads go through src/secrets (environment first), writes to the store.
import { chmodSync, readFileSync, writeFileSync } from "node:fs";
import { extname } from "node:path";
import type { Argv, CommandModule } from "yargs";
import { parse as parseYaml, stringify as toYaml } from "yaml";
import { OrchError } from "../errors.ts";
import {
  connectionFromObject,
  connectionToUri,
  displayConnection,
  getConnection,
  listConnections,
  normalizeConnType,
  parseConnectionJson,
  parseConnectionUri,
  type ConnectionInfo,
} from "../secrets/index.ts";
import { deleteConnection, getConnectionRecord, insertConnection, listConnectionRecords, upsertConnection } from "../store/connections.ts";
import { withStore } from "./common.ts";
import { outputOption, printRows, type OutputFormat } from "./output.ts";

const ID_RE = /^[A-Za-z0-9_.-]+$/;

function checkId(id: string, source: string): void {
  if (!ID_RE.test(id)) throw new OrchError("ORCH_USAGE", `${source}: connection id "${id}" may hold only letters, digits, "_", "." and "-"`, { field: source });
}

function connJson(c: ConnectionInfo & { description?: string | null; source?: string }): Record<string, unknown> {
  return {
    conn_id: c.conn_id,
    conn_type: c.conn_type,
    description: c.description ?? null,
    host: c.host,
    schema: c.schema,
    login: c.login,
    password: c.password,
    port: c.port,
    extra: c.extra,
    ...(c.source ? { source: c.source } : {}),
  };
}

interface AddArgs {
  conn_id: string;
  "conn-uri"?: string;
  "conn-json"?: string;
  "conn-type"?: string;
  "conn-host"?: string;
  "conn-port"?: number;
  "conn-login"?: string;
  "conn-password"?: string;
  "conn-schema"?: string;
  "conn-extra"?: string;
  "conn-description"?: string;
}

/** The connection the flags of `connections add` describe. */
export function connectionFromFlags(a: AddArgs): ConnectionInfo {
  const fields = ["conn-type", "conn-host", "conn-port", "conn-login", "conn-password", "conn-schema", "conn-extra"] as const;
  const given = fields.filter((f) => a[f] !== undefined);
  const forms = [a["conn-uri"] !== undefined && "--conn-uri", a["conn-json"] !== undefined && "--conn-json", given.length > 0 && "--conn-type/--conn-host/..."].filter(Boolean);
  if (forms.length === 0) throw new OrchError("ORCH_USAGE", "give the connection as --conn-uri URI, --conn-json JSON, or --conn-type TYPE with --conn-host, --conn-login, ...", { flag: "--conn-uri" });
  if (forms.length > 1 && !(a["conn-uri"] !== undefined && given.length === 1 && a["conn-extra"] !== undefined)) {
    throw new OrchError("ORCH_USAGE", `${forms.join(" and ")} cannot be combined; use one form`, { flag: String(forms[1]) });
  }
  let c: ConnectionInfo;
  if (a["conn-uri"] !== undefined) c = parseConnectionUri(a.conn_id, a["conn-uri"], "--conn-uri");
  else if (a["conn-json"] !== undefined) c = parseConnectionJson(a.conn_id, a["conn-json"], "--conn-json");
  else {
    if (!a["conn-type"]) throw new OrchError("ORCH_USAGE", "--conn-type is required unless --conn-uri or --conn-json is given", { flag: "--conn-type" });
    const port = a["conn-port"];
    if (port !== undefined && (!Number.isInteger(port) || port < 0 || port > 65535)) throw new OrchError("ORCH_USAGE", `--conn-port: ${port} is not a port number`, { flag: "--conn-port" });
    c = {
      conn_id: a.conn_id,
      conn_type: normalizeConnType(a["conn-type"]),
      host: a["conn-host"] ?? null,
      schema: a["conn-schema"] ?? null,
      login: a["conn-login"] ?? null,
      password: a["conn-password"] ?? null,
      port: port ?? null,
      extra: null,
    };
  }
  if (a["conn-extra"] !== undefined) {
    try {
      const x = JSON.parse(a["conn-extra"]) as unknown;
      if (!x || typeof x !== "object" || Array.isArray(x)) throw new Error("not a JSON object");
    } catch (e) {
      throw new OrchError("ORCH_USAGE", `--conn-extra: must be a JSON object (${(e as Error).message}); example: --conn-extra '{"sslmode": "require"}'`, { flag: "--conn-extra" });
    }
    c.extra = a["conn-extra"];
  }
  return c;
}

const addCommand: CommandModule<object, AddArgs> = {
  command: "add <conn_id>",
  describe: "Add a connection to the store",
  builder: (y: Argv) =>
    y
      .positional("conn_id", { type: "string", demandOption: true })
      .option("conn-uri", { type: "string", describe: "The connection as a URI: TYPE://LOGIN:PASSWORD@HOST:PORT/SCHEMA?EXTRA" })
      .option("conn-json", { type: "string", describe: "The connection as Airflow's JSON form" })
      .option("conn-type", { type: "string", describe: "Connection type (postgres, sqlite, http, ...)" })
      .option("conn-host", { type: "string" })
      .option("conn-port", { type: "number" })
      .option("conn-login", { type: "string" })
      .option("conn-password", { type: "string" })
      .option("conn-schema", { type: "string", describe: "The database (Airflow's schema field)" })
      .option("conn-extra", { type: "string", describe: "Extra fields as a JSON object" })
      .option("conn-description", { type: "string" })
      .example("$0 connections add warehouse --conn-uri postgres://etl:s3cret@db.internal:5432/taxi", "")
      .example("$0 connections add local_wh --conn-type sqlite --conn-host /data/warehouse.db", "")
      .example(`$0 connections add api --conn-type http --conn-host api.example.com --conn-extra '{"api_key": "k"}'`, "") as unknown as Argv<AddArgs>,
  handler: (args) =>
    withStore(async (store) => {
      checkId(args.conn_id, "conn_id");
      const c = connectionFromFlags(args);
      const ok = await insertConnection(store.db, { ...c, description: args["conn-description"] ?? null });
      if (!ok) throw new OrchError("ORCH_ALREADY_EXISTS", `A connection with \`conn_id\`=${args.conn_id} already exists; \`orch connections delete ${args.conn_id}\` first`, { conn_id: args.conn_id });
      // The mask is quoted inside a URI ("%2A%2A%2A"); show it as the listings do.
      console.log(`Successfully added \`conn_id\`=${args.conn_id} : ${connectionToUri(displayConnection(c)).replaceAll("%2A%2A%2A", "***")}`);
    }),
};

const getCommand: CommandModule<object, { conn_id: string; output: OutputFormat }> = {
  command: "get <conn_id>",
  describe: "Print one connection in full, password included (from ORCH_CONN_<ID>/AIRFLOW_CONN_<ID>, else the store)",
  builder: (y: Argv) =>
    y
      .positional("conn_id", { type: "string", demandOption: true })
      .options(outputOption)
      .example("$0 connections get warehouse -o json", "") as unknown as Argv<{ conn_id: string; output: OutputFormat }>,
  handler: (args) =>
    withStore(async (store) => {
      const c = await getConnection(store, args.conn_id);
      if (!c) throw new OrchError("ORCH_NOT_FOUND", `Connection ${args.conn_id} does not exist; \`orch connections list\` lists them`, { conn_id: args.conn_id });
      const row = await getConnectionRecord(store.db, args.conn_id);
      printRows([{ ...connJson({ ...c, description: row?.description ?? null }), uri: connectionToUri(c) }], args.output);
    }),
};

const listCommand: CommandModule<object, { output: OutputFormat; "conn-id"?: string; "show-secrets": boolean }> = {
  command: "list",
  describe: "List connections (store and environment); passwords and sensitive extras masked",
  builder: (y: Argv) =>
    y
      .options(outputOption)
      .option("conn-id", { type: "string", describe: "Only this connection" })
      .option("show-secrets", { type: "boolean", default: false, describe: "Print passwords and sensitive extras in clear" })
      .example("$0 connections list", "")
      .example("$0 connections list -o json --show-secrets", "") as unknown as Argv<{ output: OutputFormat; "conn-id"?: string; "show-secrets": boolean }>,
  handler: (args) =>
    withStore(async (store) => {
      const all = (await listConnections(store)).filter((c) => !args["conn-id"] || c.conn_id === args["conn-id"]);
      printRows(
        all.map((c) => connJson(displayConnection(c, args["show-secrets"]))),
        args.output,
        ["conn_id", "conn_type", "description", "host", "port", "schema", "login", "password", "extra", "source"],
      );
    }),
};

const deleteCommand: CommandModule<object, { conn_id: string }> = {
  command: "delete <conn_id>",
  describe: "Delete a connection from the store",
  builder: (y: Argv) => y.positional("conn_id", { type: "string", demandOption: true }).example("$0 connections delete warehouse", "") as unknown as Argv<{ conn_id: string }>,
  handler: (args) =>
    withStore(async (store) => {
      if (!(await deleteConnection(store.db, args.conn_id))) {
        throw new OrchError("ORCH_NOT_FOUND", `Did not find a connection with \`conn_id\`=${args.conn_id}`, { conn_id: args.conn_id });
      }
      console.log(`Successfully deleted connection with \`conn_id\`=${args.conn_id}`);
    }),
};

/** Connections in an import file: JSON or YAML ({ id: {fields} | "URI" }) or .env (ID=URI lines). */
export function parseConnectionsFile(file: string, text: string): ConnectionInfo[] {
  const ext = extname(file).toLowerCase();
  if (ext === ".env") {
    const out: ConnectionInfo[] = [];
    text.split("\n").forEach((raw, i) => {
      const line = raw.trim();
      if (!line || line.startsWith("#")) return;
      const eq = line.indexOf("=");
      if (eq <= 0) throw new OrchError("ORCH_USAGE", `${file}:${i + 1}: expected CONN_ID=URI`, { file, line: i + 1 });
      const id = line.slice(0, eq).trim();
      const v = line.slice(eq + 1).trim();
      out.push(v.startsWith("{") ? parseConnectionJson(id, v, `${file}:${i + 1}`) : parseConnectionUri(id, v, `${file}:${i + 1}`));
    });
    return out;
  }
  let doc: unknown;
  try {
    doc = ext === ".yaml" || ext === ".yml" ? parseYaml(text) : JSON.parse(text);
  } catch (e) {
    throw new OrchError("ORCH_USAGE", `${file}: cannot parse (${(e as Error).message})`, { file });
  }
  if (!doc || typeof doc !== "object" || Array.isArray(doc)) throw new OrchError("ORCH_USAGE", `${file}: expected an object mapping connection ids to connections`, { file });
  return Object.entries(doc as Record<string, unknown>).map(([id, v]) =>
    typeof v === "string" ? parseConnectionUri(id, v, `${file}: ${id}`) : connectionFromObject(id, v, `${file}: ${id}`),
  );
}

const importCommand: CommandModule<object, { file: string; overwrite: boolean }> = {
  command: "import <file>",
  describe: "Import connections from a .json, .yaml or .env file",
  builder: (y: Argv) =>
    y
      .positional("file", { type: "string", demandOption: true })
      .option("overwrite", { type: "boolean", default: false, describe: "Replace connections that exist already" })
      .example("$0 connections import connections.json", "")
      .example("$0 connections import prod.env --overwrite", "") as unknown as Argv<{ file: string; overwrite: boolean }>,
  handler: (args) =>
    withStore(async (store) => {
      let text: string;
      try {
        text = readFileSync(args.file, "utf8");
      } catch (e) {
        throw new OrchError("ORCH_USAGE", `cannot read ${args.file}: ${(e as Error).message}`, { file: args.file });
      }
      const conns = parseConnectionsFile(args.file, text);
      for (const c of conns) checkId(c.conn_id, args.file);
      await store.writeTransaction(async (trx) => {
        for (const c of conns) {
          const rec = { ...c, description: null };
          if (args.overwrite) {
            await upsertConnection(trx, rec);
            console.log(`Imported connection ${c.conn_id}`);
          } else if (await insertConnection(trx, rec)) console.log(`Imported connection ${c.conn_id}`);
          else console.log(`Could not import connection ${c.conn_id}: connection already exists.`);
        }
      });
    }),
};

interface ExportArgs {
  file: string;
  format?: "json" | "yaml" | "env";
  "serialization-format": "uri" | "json";
}

const exportCommand: CommandModule<object, ExportArgs> = {
  command: "export <file>",
  describe: "Write the stored connections to a file (passwords in clear; the file is made 0600)",
  builder: (y: Argv) =>
    y
      .positional("file", { type: "string", demandOption: true })
      .option("format", { choices: ["json", "yaml", "env"] as const, describe: "Default: from the file's extension" })
      .option("serialization-format", { choices: ["uri", "json"] as const, default: "uri" as const, describe: "How each connection is written in an .env file" })
      .example("$0 connections export connections.json", "")
      .example("$0 connections export prod.env --serialization-format json", "") as unknown as Argv<ExportArgs>,
  handler: (args) =>
    withStore(async (store) => {
      const ext = extname(args.file).toLowerCase().slice(1);
      const format = args.format ?? (ext === "yml" ? "yaml" : ext === "yaml" || ext === "env" ? ext : "json");
      const conns = await listConnectionRecords(store.db);
      const asObject = (c: (typeof conns)[number]) => {
        const { conn_id: _id, ...rest } = connJson(c);
        return rest;
      };
      let text: string;
      if (format === "env") {
        text = conns.map((c) => `${c.conn_id}=${args["serialization-format"] === "json" ? JSON.stringify(asObject(c)) : connectionToUri(c)}`).join("\n") + "\n";
      } else {
        const doc = Object.fromEntries(conns.map((c) => [c.conn_id, asObject(c)]));
        text = format === "yaml" ? toYaml(doc) : JSON.stringify(doc, null, 2) + "\n";
      }
      writeFileSync(args.file, text, { mode: 0o600 });
      chmodSync(args.file, 0o600);
      console.log(`Connections successfully exported to ${args.file}`);
    }),
};

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- each subcommand has its own args
const subcommands: CommandModule<any, any>[] = [addCommand, getCommand, listCommand, deleteCommand, importCommand, exportCommand];

export const connectionsCommand: CommandModule = {
  command: "connections <command>",
  describe: "Add, list, import and export connections",
  builder: (y) => {
    for (const c of subcommands) y.command(c);
    return y.demandCommand(1).example("$0 connections add warehouse --conn-uri postgres://etl:pw@db:5432/taxi", "").example("$0 connections list", "");
  },
  handler: () => {},
};

// ORCH_HOME and settings.
//
// Precedence, highest first (Airflow's): ORCH__SECTION__KEY environment variables, then
// AIRFLOW__SECTION__KEY ones (for keys orch shares with Airflow), then $ORCH_HOME/orch.toml, then
// the defaults below. ORCH_DATABASE_URL is the short form of ORCH__DATABASE__URL. ORCH_HOME falls back to AIRFLOW_HOME, then ~/orch (as Airflow's ~/airflow).
import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join, resolve } from "node:path";
import { parse, TomlError } from "smol-toml";
import { OrchError } from "./errors.ts";

export type SettingValue = string | number | boolean;

interface SettingSpec {
  default: SettingValue;
  description: string;
}

/** Every setting orch reads, with its default. Unknown keys in orch.toml are refused. */
export const SETTINGS: Record<string, Record<string, SettingSpec>> = {
  core: {
    dags_folder: { default: "{ORCH_HOME}/dags", description: "Where DAG files are found" },
    dagbag_import_timeout: { default: 30, description: "Seconds one DAG file may take to import" },
    dags_are_paused_at_creation: { default: true, description: "New DAGs start paused unless they set is_paused_upon_creation" },
    executor: { default: "SequentialExecutor", description: "SequentialExecutor or LocalExecutor" },
    parallelism: { default: 1, description: "Task instances running at once (LocalExecutor)" },
    max_active_tasks_per_dag: { default: 16, description: "Default max_active_tasks of a DAG" },
    max_active_runs_per_dag: { default: 16, description: "Default max_active_runs of a DAG" },
    max_xcom_size: { default: 65536, description: "Largest XCom value in bytes (JSON text)" },
    max_map_length: { default: 1024, description: "Most task instances one mapped task may expand to; more fails the task" },
    default_timezone: { default: "UTC", description: "Timezone of DAGs that name none" },
    check_dag_types: { default: false, description: "Type-check DAG files while parsing and record type errors as import errors (slow: about a second per changed file)" },
    killed_task_cleanup_time: { default: 10, description: "Seconds between SIGTERM and SIGKILL of a timed-out or cleared task" },
    worker_max_tasks: { default: 500, description: "Tasks a worker process runs before it is replaced by a fresh one (imported DAG versions stay in its memory)" },
    simple_auth_manager_passwords_file: {
      default: "{ORCH_HOME}/simple_auth_manager_passwords.json.generated",
      description: "Where generated API passwords are kept (JSON, mode 0600), as Airflow's simple auth manager",
    },
    simple_auth_manager_all_admins: { default: false, description: "No login: every API caller is admin (localhost-only laptops)" },
  },
  database: {
    url: { default: "sqlite:///{ORCH_HOME}/orch.db", description: "Metadata store: sqlite:///path or postgres://…" },
    prepared_statements: {
      default: true,
      description: "PostgreSQL: send repeated statements as named prepared statements (off behind PgBouncer in transaction mode before 1.21)",
    },
  },
  logging: {
    base_log_folder: { default: "{ORCH_HOME}/logs", description: "Task log root" },
  },
  api: {
    host: { default: "127.0.0.1", description: "Address the API server binds" },
    port: { default: 8080, description: "Port of the API server and status page" },
    max_body_size: { default: 1048576, description: "Largest request body in bytes" },
  },
  api_auth: {
    jwt_expiration_time: { default: 86400, description: "Seconds an API token from /auth/token is valid" },
    jwt_secret_file: { default: "{ORCH_HOME}/api_auth_jwt_secret.key", description: "The key API tokens are signed with (generated, mode 0600)" },
  },
  scheduler: {
    catchup_by_default: { default: false, description: "catchup of DAGs that do not say" },
    scheduler_heartbeat_sec: { default: 5, description: "Seconds between a scheduler's heartbeats in the job table" },
    task_instance_heartbeat_timeout: {
      default: 300,
      description: "Seconds without a heartbeat after which a scheduler counts as dead and another recovers its tries",
    },
    max_interrupted_tries: {
      default: 3,
      description: "Times a try may be interrupted by its scheduler's death (no retry spent) before the task fails",
    },
    safety_poll_interval: { default: 10, description: "Seconds between looks at the store even without a notification" },
    job_heartbeat_sec: { default: 5, description: "Seconds between heartbeats of each component in the job table" },
    scheduler_health_check_threshold: { default: 30, description: "Seconds without a heartbeat after which health says unhealthy" },
  },
  triggerer: {
    capacity: { default: 1000, description: "Triggers one triggerer runs at once (Airflow's [triggerer] capacity)" },
    job_heartbeat_sec: { default: 5, description: "Seconds between a triggerer's heartbeats in the job table" },
    triggerer_health_check_threshold: { default: 30, description: "Seconds without a heartbeat after which another triggerer takes a triggerer's triggers" },
  },
  warehouse: {
    url: { default: "sqlite:///{ORCH_HOME}/warehouse.db", description: "Default warehouse for the providers" },
  },
};

export type SettingSource = "default" | "orch.toml" | "env";

export interface Setting {
  section: string;
  key: string;
  value: SettingValue;
  source: SettingSource;
}

export interface Config {
  home: string;
  /** The file settings came from, when it exists. */
  file?: string;
  get(section: string, key: string): SettingValue;
  getString(section: string, key: string): string;
  getNumber(section: string, key: string): number;
  getBoolean(section: string, key: string): boolean;
  list(): Setting[];
}

export function resolveHome(env: NodeJS.ProcessEnv = process.env): string {
  const raw = env.ORCH_HOME || env.AIRFLOW_HOME || join(homedir(), "orch");
  return resolve(raw);
}

function coerce(spec: SettingSpec, raw: string, where: string): SettingValue {
  if (typeof spec.default === "number") {
    const n = Number(raw);
    if (raw.trim() === "" || !Number.isFinite(n)) {
      throw new OrchError("ORCH_CONFIG_INVALID", `${where}: expected a number, got "${raw}"`, { where });
    }
    return n;
  }
  if (typeof spec.default === "boolean") {
    const v = raw.trim().toLowerCase();
    if (["true", "1", "yes", "on"].includes(v)) return true;
    if (["false", "0", "no", "off"].includes(v)) return false;
    throw new OrchError("ORCH_CONFIG_INVALID", `${where}: expected true or false, got "${raw}"`, { where });
  }
  return raw;
}

function readToml(file: string): Record<string, Record<string, unknown>> {
  const text = readFileSync(file, "utf8");
  let doc: Record<string, unknown>;
  try {
    doc = parse(text) as Record<string, unknown>;
  } catch (e) {
    if (e instanceof TomlError) {
      const first = e.message.split("\n")[0];
      throw new OrchError("ORCH_CONFIG_INVALID", `${file}:${e.line}:${e.column}: ${first}`, {
        file,
        line: e.line,
        column: e.column,
      });
    }
    throw e;
  }
  const out: Record<string, Record<string, unknown>> = {};
  for (const [section, body] of Object.entries(doc)) {
    if (!(section in SETTINGS)) {
      throw new OrchError(
        "ORCH_CONFIG_UNKNOWN_KEY",
        `${file}: unknown section [${section}]; known sections: ${Object.keys(SETTINGS).join(", ")}`,
        { file, section },
      );
    }
    if (typeof body !== "object" || body === null || Array.isArray(body)) {
      throw new OrchError("ORCH_CONFIG_INVALID", `${file}: "${section}" must be a [${section}] table`, { file, section });
    }
    for (const key of Object.keys(body)) {
      if (!(key in SETTINGS[section])) {
        throw new OrchError(
          "ORCH_CONFIG_UNKNOWN_KEY",
          `${file}: unknown key "${key}" in [${section}]; known keys: ${Object.keys(SETTINGS[section]).join(", ")}`,
          { file, section, key },
        );
      }
    }
    out[section] = body as Record<string, unknown>;
  }
  return out;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const home = resolveHome(env);
  const file = join(home, "orch.toml");
  const fromFile = existsSync(file) ? readToml(file) : {};
  const values = new Map<string, Setting>();

  for (const [section, keys] of Object.entries(SETTINGS)) {
    for (const [key, spec] of Object.entries(keys)) {
      let value: SettingValue = spec.default;
      let source: SettingSource = "default";
      const fv = fromFile[section]?.[key];
      if (fv !== undefined) {
        const where = `${file}: [${section}] ${key}`;
        if (typeof fv !== typeof spec.default) {
          // TOML has types of its own: `port = "8080"` is a string; accept it when it coerces.
          value = coerce(spec, String(fv), where);
        } else value = fv as SettingValue;
        source = "orch.toml";
      }
      let envName = `ORCH__${section.toUpperCase()}__${key.toUpperCase()}`;
      let ev = env[envName];
      if (ev === undefined && section === "database" && key === "url" && env.ORCH_DATABASE_URL) {
        ev = env.ORCH_DATABASE_URL;
        envName = "ORCH_DATABASE_URL";
      }
      // Airflow's own form, as users' shells and deployment files already set it; ORCH__ wins.
      const airflowName = `AIRFLOW__${section.toUpperCase()}__${key.toUpperCase()}`;
      if (ev === undefined && env[airflowName] !== undefined) {
        ev = env[airflowName];
        envName = airflowName;
      }
      if (ev !== undefined) {
        value = coerce(spec, ev, envName);
        source = "env";
      }
      if (typeof value === "string") value = value.replaceAll("{ORCH_HOME}", home);
      values.set(`${section}.${key}`, { section, key, value, source });
    }
  }

  const get = (section: string, key: string): SettingValue => {
    const s = values.get(`${section}.${key}`);
    if (!s) {
      throw new OrchError("ORCH_CONFIG_UNKNOWN_KEY", `unknown setting [${section}] ${key}`, { section, key });
    }
    return s.value;
  };
  return {
    home,
    file: existsSync(file) ? file : undefined,
    get,
    getString: (s, k) => String(get(s, k)),
    getNumber: (s, k) => Number(get(s, k)),
    getBoolean: (s, k) => Boolean(get(s, k)),
    list: () => [...values.values()],
  };
}

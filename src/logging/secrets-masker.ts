// Hides secrets in task logs, after Airflow's SecretsMasker (airflow_shared/secrets_masker):
// - a registered value is replaced by "***" wherever it appears, as are its URL-encoded forms (a
//   password shows up quoted inside connection URIs) and its JSON-escaped form;
// - a value registered under a key name is masked only if the name looks sensitive
//   (shouldMaskKey); objects are walked with their keys as names, as Airflow's add_mask does;
// - values shorter than 5 characters ([logging] min_length_masked_secret) are not masked, nor the
//   word "airflow": masking them would blank out ordinary words all over the log.
// All secrets form one regular expression, longest first, rebuilt on the first mask() after an add.

/** Airflow's DEFAULT_SENSITIVE_FIELDS as on current main. Airflow 3.0 shipped the first twelve; the
 * rest were added since. Matching is by substring, so "db_password" and "X-Api-Key" count. */
export const DEFAULT_SENSITIVE_FIELDS: readonly string[] = Object.freeze([
  "access_token",
  "api_key",
  "apikey",
  "authorization",
  "passphrase",
  "passwd",
  "password",
  "private_key",
  "secret",
  "token",
  "keyfile_dict",
  "service_account",
  "access_key",
  "auth_header",
  "bearer",
  "connection_string",
  "dsn",
  "proxy",
  "proxy_password",
  "proxies",
  "service_key",
  "webhook_url",
]);

/** Airflow's min_length_masked_secret default: shorter values are left alone. */
export const MIN_LENGTH_TO_MASK = 5;
const SKIP_MASKING = new Set(["airflow"]);
export const MASK = "***";

/** Whether a Variable name, connection extra key or similar names a sensitive value: Airflow
 * lower-cases it, turns runs of non-word characters into "_" and looks for any field as a substring. */
export function shouldMaskKey(name: string, fields: readonly string[] = DEFAULT_SENSITIVE_FIELDS): boolean {
  const normalized = name.trim().toLowerCase().replace(/\W+/g, "_");
  return fields.some((f) => normalized.includes(f));
}

export type SecretValue = string | number | boolean | null | undefined | readonly SecretValue[] | { readonly [key: string]: SecretValue };

export interface SecretsMasker {
  /** Registers a value to hide. With `name`, only if the name looks sensitive. Objects are walked,
   * each value named by its key; arrays element by element. */
  addSecret(value: SecretValue, name?: string): void;
  /** The text with every registered secret replaced by "***". */
  mask(text: string): string;
  shouldMaskKey(name: string): boolean;
  /** How many distinct strings (secrets and their encoded forms) are masked. */
  readonly size: number;
}

export interface SecretsMaskerOptions {
  /** Extra sensitive names, added to DEFAULT_SENSITIVE_FIELDS (Airflow's [core] sensitive_var_conn_names). */
  sensitiveFields?: readonly string[];
  minLength?: number;
}

export function createSecretsMasker(options: SecretsMaskerOptions = {}): SecretsMasker {
  const fields = [...DEFAULT_SENSITIVE_FIELDS, ...(options.sensitiveFields ?? []).map((f) => f.trim().toLowerCase())];
  const minLength = options.minLength ?? MIN_LENGTH_TO_MASK;
  const patterns = new Set<string>();
  let replacer: RegExp | undefined;
  let stale = false;

  const addString = (secret: string): void => {
    if (secret.length < minLength || SKIP_MASKING.has(secret.toLowerCase())) return;
    for (const form of encodedForms(secret)) {
      if (form.length < minLength || patterns.has(form)) continue;
      patterns.add(form);
      stale = true;
    }
  };

  const add = (value: SecretValue, name: string | undefined): void => {
    if (value === null || value === undefined || typeof value === "boolean") return;
    if (Array.isArray(value)) {
      for (const v of value as readonly SecretValue[]) add(v, name);
      return;
    }
    if (typeof value === "object") {
      for (const [k, v] of Object.entries(value)) add(v, k);
      return;
    }
    if (name !== undefined && !shouldMaskKey(name, fields)) return;
    addString(String(value));
  };

  return {
    addSecret: (value, name) => add(value, name),
    mask(text) {
      if (stale) {
        // Longest first: at one position the regex takes the first alternative that matches, so a
        // secret that is a prefix of another must not win and leave the longer one's tail visible.
        const sources = [...patterns].sort((a, b) => b.length - a.length).map(escapeRegExp);
        replacer = sources.length ? new RegExp(sources.join("|"), "g") : undefined;
        stale = false;
      }
      return replacer ? text.replace(replacer, MASK) : text;
    },
    shouldMaskKey: (name) => shouldMaskKey(name, fields),
    get size() {
      return patterns.size;
    },
  };
}

/** The secret and the forms encoding gives it: JavaScript's encodeURIComponent, Python's quote()
 * (keeps "/") and quote_plus() (space as "+"), which is what connection URIs carry; and its form
 * inside a JSON string (a `"` or `\` escaped), which is how an XCom or a logged object prints it. */
function encodedForms(secret: string): Set<string> {
  return new Set([
    secret,
    encodeURIComponent(secret),
    pythonQuote(secret, "/"),
    pythonQuote(secret, "").replace(/%20/g, "+"),
    JSON.stringify(secret).slice(1, -1),
  ]);
}

function pythonQuote(s: string, safe: string): string {
  let out = "";
  for (const byte of Buffer.from(s, "utf8")) {
    const c = String.fromCharCode(byte);
    out += /[A-Za-z0-9_.\-~]/.test(c) || safe.includes(c) ? c : `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/-]/g, "\\$&");
}

// What must never be shown of the variables and connections a task can be handed, and showing a
// value with those secrets masked (Airflow's secrets_masker.redact). Logs mask with their own try's
// masker (the secrets that try read); what is shown after the fact, without the try's masker (a
// stored XCom in the REST API or on the status page, `dags test`'s output), masks with
// maskerForAllSecrets: everything the secrets search path can hand out.
import { createSecretsMasker, type SecretValue, type SecretsMasker } from "../logging/secrets-masker.ts";
import type { ConnectionInfo } from "../sdk/context.ts";
import type { Store } from "../store/index.ts";
import { loadSecretsSnapshot } from "./index.ts";

type Env = Readonly<Record<string, string | undefined>>;

/** Registers what of a connection must never be shown: its password, and extra fields whose
 *  names look sensitive (the masker's own rule, Airflow's sensitive_var_conn_names). */
export function maskConnection(masker: SecretsMasker, c: ConnectionInfo): void {
  if (c.password) masker.addSecret(c.password);
  if (c.extra) {
    try {
      masker.addSecret(JSON.parse(c.extra) as SecretValue);
    } catch {
      // An extra that is not JSON holds no named fields to mask.
    }
  }
}

/** A masker that knows every connection password and sensitive extra, and every variable whose
 *  name looks sensitive, from the environment and the store. Two reads. */
export async function maskerForAllSecrets(store: Store, env: Env = process.env): Promise<SecretsMasker> {
  const { variables, connections } = await loadSecretsSnapshot(store, env);
  const masker = createSecretsMasker();
  for (const [k, v] of Object.entries(variables)) masker.addSecret(v, k);
  for (const c of Object.values(connections)) maskConnection(masker, c);
  return masker;
}

/** `value` with every registered secret masked inside its strings, and any non-empty value under
 *  a sensitive-looking key (an env's DB_PASSWORD, an object's "api_key") shown as "***". */
export function redactValue(value: unknown, masker: SecretsMasker, name?: string): unknown {
  if (name !== undefined && masker.shouldMaskKey(name) && value !== null && value !== "") return "***";
  if (typeof value === "string") return masker.mask(value);
  if (Array.isArray(value)) return value.map((x) => redactValue(x, masker));
  if (value !== null && typeof value === "object") return Object.fromEntries(Object.entries(value).map(([k, x]) => [k, redactValue(x, masker, k)]));
  return value;
}

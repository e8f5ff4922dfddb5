// Roles of Airflow's simple auth manager, each allowed what the one before is, and more:
//   viewer - read DAGs, runs, task instances, logs, XComs, import errors, sources, health
//   user   - and change them: pause, trigger, clear, set states, notes, delete runs and DAGs
//   op     - and read and write variables and connections
//   admin  - everything (including users, which only the CLI manages today)
export const ROLES = ["viewer", "user", "op", "admin"] as const;
export type Role = (typeof ROLES)[number];

export function isRole(v: unknown): v is Role {
  return typeof v === "string" && (ROLES as readonly string[]).includes(v);
}

export function roleAtLeast(have: Role, need: Role): boolean {
  return ROLES.indexOf(have) >= ROLES.indexOf(need);
}

/** The role a request needs: Airflow's allow_get_role / allow_role per resource. */
export type Access = { read: Role; write: Role };
export const DAG_ACCESS: Access = { read: "viewer", write: "user" };
export const OPS_ACCESS: Access = { read: "op", write: "op" };
/** Backfills and asset events start runs: anyone may read them, op and admin may make them. */
export const BACKFILL_ACCESS: Access = { read: "viewer", write: "op" };
export const ASSET_ACCESS: Access = { read: "viewer", write: "op" };

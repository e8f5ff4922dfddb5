// Secrets and files through the real CLI: a password a task reads never reaches state_reason (both
// tables), the `dags test` table, `tasks test` output or its printed XCom, JSON-escaped form
// included; with the default umask the home's secret-bearing files are 0600 and folders 0700; a
// read-only database is one clear error naming the file and the permission.
import assert from "node:assert/strict";
import { chmodSync, existsSync, readdirSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { after, before, describe, it } from "node:test";
import { execFile } from "node:child_process";
import { openStore } from "../../src/store/index.ts";
import { ORCH_BIN, runOrch } from "../helpers/cli.ts";
import { dagsTest, migrateHome, writeDag } from "../helpers/engine.ts";
import { tempHome, type TempHome } from "../helpers/home.ts";
import { assertNoLeakedProcesses } from "../helpers/leaks.ts";

const PASSWORD = 'pa"ss\\w0rd-9';

const SOURCE = `import { dag, task, Connection } from "orch";
export default dag({ dag_id: "secretive", schedule: null, start_date: "2024-01-01" }, () => {
  task({ task_id: "leaks" }, async () => {
    const c = await Connection.get("wh");
    throw new Error("could not log in with " + c.password + " (as JSON: " + JSON.stringify(c.password) + ")");
  })();
  task({ task_id: "returns_it" }, async () => {
    const c = await Connection.get("wh");
    return { dsn: "postgres://etl:" + c.password + "@db", raw: c.password };
  })();
});
`;

const mode = (p: string) => statSync(p).mode & 0o777;

describe("secrets and files", () => {
  let h: TempHome;
  let savedUmask: number;
  before(async () => {
    savedUmask = process.umask(0o022);
    h = await tempHome();
    await migrateHome(h.home);
    await writeDag(h.dags, "secretive.ts", SOURCE);
    const s = await openStore(`sqlite:///${join(h.home, "orch.db")}`);
    await s.db.insertInto("connection").values({
      conn_id: "wh", conn_type: "postgres", description: null, host: "db", schema: null, login: "etl", password: PASSWORD, port: null,
      extra: null, is_encrypted: 0, is_extra_encrypted: 0,
    }).execute();
    await s.close();
  });
  after(async () => {
    process.umask(savedUmask);
    await assertNoLeakedProcesses(h.home);
    await h.cleanup();
  });

  it("a password in a task's error is masked in state_reason (both tables) and the dags test table", async () => {
    const r = await dagsTest(h.home, "secretive", ["2024-02-01"]);
    assert.equal(r.states.leaks, "failed", r.cli.stdout + r.cli.stderr);
    const escaped = JSON.stringify(PASSWORD).slice(1, -1);
    for (const text of [r.cli.stdout, r.cli.stderr]) {
      assert.ok(!text.includes(PASSWORD) && !text.includes(escaped), text);
    }
    assert.match(r.cli.stdout, /could not log in with \*\*\*/);
    const s = await openStore(`sqlite:///${join(h.home, "orch.db")}`);
    try {
      const reasons = [
        ...(await s.db.selectFrom("task_instance").select("state_reason").where("dag_id", "=", "secretive").execute()),
        ...(await s.db.selectFrom("task_instance_history").select("state_reason").where("dag_id", "=", "secretive").execute()),
      ].map((x) => x.state_reason ?? "");
      assert.ok(reasons.some((x) => x.includes("could not log in with *** (as JSON: \"***\")")), reasons.join("\n"));
      assert.ok(reasons.every((x) => !x.includes(PASSWORD) && !x.includes(escaped)), reasons.join("\n"));
    } finally {
      await s.close();
    }
  });

  it("tasks test masks the task's output, its error and its printed XCom", async () => {
    const failing = await runOrch(["tasks", "test", "secretive", "leaks", "2024-02-01"], { home: h.home });
    assert.equal(failing.code, 1);
    assert.match(failing.stdout, /Task leaks: failed: could not log in with \*\*\*/);
    const ok = await runOrch(["tasks", "test", "secretive", "returns_it", "2024-02-01"], { home: h.home });
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /XCom return_value: \{"dsn":"postgres:\/\/etl:\*\*\*@db","raw":"\*\*\*"\}/);
    for (const out of [failing.stdout, ok.stdout]) assert.ok(!out.includes(PASSWORD) && !out.includes(JSON.stringify(PASSWORD).slice(1, -1)), out);
  });

  it("with umask 022, the database, logs and compiled DAGs are 0600 and their folders 0700", async () => {
    // While a store is open and has written, its -wal and -shm exist: SQLite gives them orch.db's mode.
    const s = await openStore(`sqlite:///${join(h.home, "orch.db")}`);
    try {
      await s.db.insertInto("variable").values({ key: "mode_probe", val: "x", description: null, is_encrypted: 0 }).execute();
      for (const f of ["orch.db", "orch.db-wal", "orch.db-shm"]) assert.equal(mode(join(h.home, f)).toString(8), "600", f);
    } finally {
      await s.close();
    }
    const logs = join(h.home, "logs");
    const walk = (dir: string, files: string[], dirs: string[]) => {
      for (const e of readdirSync(dir, { withFileTypes: true })) {
        const p = join(dir, e.name);
        if (e.isDirectory()) {
          dirs.push(p);
          walk(p, files, dirs);
        } else files.push(p);
      }
    };
    for (const root of [logs, join(h.home, ".cache")]) {
      const files: string[] = [];
      const dirs: string[] = [];
      walk(root, files, dirs);
      assert.ok(files.length > 0, `nothing under ${root}`);
      for (const d of dirs) assert.equal(mode(d).toString(8), "700", d);
      for (const f of files) assert.equal(mode(f).toString(8), "600", f);
    }
  });

  it("a database this user cannot write is one clear error naming the file and the permission", async () => {
    const db = join(h.home, "orch.db");
    const asRoot = process.getuid?.() === 0;
    // root writes whatever the mode says, so run the CLI as nobody on a file it may read but not write.
    // nobody must also reach orch itself: a checkout under a 0700 folder (mktemp -d, as CI's fresh
    // clone) gets o+x on those folders for the duration of the test.
    const opened: { dir: string; mode: number }[] = [];
    if (asRoot) {
      for (let dir = dirname(ORCH_BIN); dir !== dirname(dir); dir = dirname(dir)) {
        const mode = statSync(dir).mode & 0o7777;
        if ((mode & 0o001) === 0) {
          opened.push({ dir, mode });
          chmodSync(dir, mode | 0o001);
        }
      }
    }
    if (asRoot) {
      chmodSync(h.home, 0o755);
      chmodSync(db, 0o644);
      for (const f of ["orch.db-wal", "orch.db-shm"]) if (existsSync(join(h.home, f))) chmodSync(join(h.home, f), 0o644);
    } else chmodSync(db, 0o444);
    try {
      const r = await new Promise<{ code: number; stderr: string }>((resolve) => {
        const env: NodeJS.ProcessEnv = { ...process.env, ORCH_HOME: h.home };
        delete env.ORCH_DATABASE_URL;
        execFile(process.execPath, [ORCH_BIN, "dags", "trigger", "secretive"], {
          env, cwd: h.home, timeout: 60_000, ...(asRoot ? { uid: 65534, gid: 65534 } : {}),
        }, (err, _stdout, stderr) => resolve({ code: err ? (typeof err.code === "number" ? err.code : 1) : 0, stderr }));
      });
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, new RegExp(`SQLite database ${db.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}(-wal|-shm)?: .*no write permission`));
      assert.match(r.stderr, /ORCH_DB_NOT_WRITABLE/);
      assert.doesNotMatch(r.stderr, /\n\s+at |Kysely|SqliteError/);
    } finally {
      for (const o of opened) chmodSync(o.dir, o.mode);
      chmodSync(db, 0o600);
      chmodSync(h.home, 0o700);
      for (const f of ["orch.db-wal", "orch.db-shm"]) if (existsSync(join(h.home, f))) chmodSync(join(h.home, f), 0o600);
    }
  });
});

// A scheduler whose database goes read-only (and has its connections killed) while a task runs: the
// outcome that could not be written is written once the database takes writes again, without a
// restart, and the scheduler stays up throughout.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, it } from "node:test";
import pg from "pg";
import { runOrch } from "../helpers/cli.ts";
import { latestRunStates, schedulerSuite, writeDag } from "../helpers/engine.ts";
import { ADMIN_URL, pgSkipReason } from "../helpers/pg.ts";
import { waitFor, withStoreOf } from "../helpers/scheduler-process.ts";

async function admin(sqlText: string, params: unknown[] = []): Promise<void> {
  const c = new pg.Client({ connectionString: ADMIN_URL });
  await c.connect();
  try {
    await c.query(sqlText, params);
  } finally {
    await c.end();
  }
}

describe("postgres: a database that stops taking writes under a live scheduler", { skip: await pgSkipReason() }, () => {
  const h = schedulerSuite({ stop: "SIGKILL", postgres: "store_faults" });
  afterEach(async () => {
    await admin(`ALTER DATABASE "${h.db.name}" SET default_transaction_read_only = off`);
  });

  it("the try's outcome is recorded once writes work again; the scheduler never exits", async () => {
    const started = join(h.home, "started");
    const release = join(h.home, "release");
    await writeDag(
      h.dags,
      "ro.ts",
      `import { dag, bash } from "orch";
export default dag({ dag_id: "ro", schedule: null, start_date: "2024-01-01", is_paused_upon_creation: false }, () => {
  bash({ task_id: "work", retries: 0, command: "touch ${started}; while [ ! -f ${release} ]; do sleep 0.1; done; echo done" });
});
`,
    );
    const child = h.start();
    await waitFor("ro parsed", () => withStoreOf(h.home, (s) => s.db.selectFrom("dag").select("dag_id").where("dag_id", "=", "ro").executeTakeFirst(), h.db.url));
    assert.equal((await runOrch(["dags", "trigger", "ro"], { home: h.home, env: h.env })).code, 0);
    await waitFor("work started", async () => existsSync(started));
    // Read-only from now on, for every new session; the scheduler's sessions are cut so it gets new ones.
    await admin(`ALTER DATABASE "${h.db.name}" SET default_transaction_read_only = on`);
    await admin("select pg_terminate_backend(pid) from pg_stat_activity where datname = $1", [h.db.name]);
    const { writeFileSync } = await import("node:fs");
    writeFileSync(release, "");
    await waitFor("the scheduler says the outcome could not be written", async () => /recording the outcome of ro\.work .* failed/.test(child!.output()));
    assert.equal((await latestRunStates(h.home, "ro", h.db.url)).states.work, "running");
    await admin(`ALTER DATABASE "${h.db.name}" SET default_transaction_read_only = off`);
    await admin("select pg_terminate_backend(pid) from pg_stat_activity where datname = $1", [h.db.name]);
    const done = await waitFor("ro finished", async () => {
      const r = await latestRunStates(h.home, "ro", h.db.url);
      return r.runState === "success" || r.runState === "failed" ? r : undefined;
    }).catch((e: Error) => {
      throw new Error(`${e.message}\n${child!.output()}`);
    });
    assert.equal(done.runState, "success", child.output());
    assert.equal(done.states.work, "success");
    assert.equal(child.exitCode, null, `the scheduler exited:\n${child.output()}`);
    assert.doesNotMatch(child.output(), /Unhandled 'error' event/);
  });
});

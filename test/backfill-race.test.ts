// Two processes create a backfill for the same DAG at the same moment: exactly one wins, the other
// is refused with Airflow's message, and the store holds one backfill with one set of runs. On
// SQLite (BEGIN IMMEDIATE) and PostgreSQL (the DAG's row locked inside the creating transaction).
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { openStore, type Store } from "../src/store/index.ts";
import { runOrch } from "./helpers/cli.ts";
import { migrateHome, writeDag } from "./helpers/engine.ts";
import { tempHome, type TempHome } from "./helpers/home.ts";
import { assertNoLeakedProcesses } from "./helpers/leaks.ts";
import { dialectSkipReason, freshDatabaseUrl, testDialects } from "./helpers/store.ts";

const SOURCE = `import { dag, task } from "orch";
export default dag({ dag_id: "race", schedule: "@daily", start_date: "2023-01-01" }, () => {
  task({ task_id: "t" }, async () => 1)();
});
`;

for (const dialect of testDialects()) {
  describe(`${dialect}: two processes create a backfill at once`, { skip: await dialectSkipReason(dialect) }, () => {
    let h: TempHome;
    let db: { url: string; cleanup(): Promise<void> };
    let store: Store;
    const env = () => ({ ORCH_DATABASE_URL: db.url });
    before(async () => {
      h = await tempHome();
      db = await freshDatabaseUrl(dialect, "bfrace");
      await migrateHome(h.home, env());
      await writeDag(h.dags, "race.ts", SOURCE);
      const r = await runOrch(["dags", "reserialize"], { home: h.home, env: env() });
      assert.equal(r.code, 0, r.stderr);
      store = await openStore(db.url);
    });
    after(async () => {
      await store.close();
      await assertNoLeakedProcesses(h.home);
      await db.cleanup();
      await h.cleanup();
    });

    it("one wins, one is refused, one set of runs", async () => {
      const args = ["backfill", "create", "--dag-id", "race", "--from-date", "2023-01-01", "--to-date", "2023-12-31"];
      const [a, b] = await Promise.all([runOrch(args, { home: h.home, env: env() }), runOrch(args, { home: h.home, env: env() })]);
      const codes = [a.code, b.code].sort();
      assert.deepEqual(codes, [0, 1], a.stderr + b.stderr);
      assert.match((a.code ? a : b).stderr, /Another backfill is running for Dag race/);
      const backfills = await store.db.selectFrom("backfill").select("id").execute();
      assert.equal(backfills.length, 1);
      const runs = await store.db.selectFrom("dag_run").select("id").where("dag_id", "=", "race").execute();
      assert.equal(runs.length, 365);
      const links = await store.db.selectFrom("backfill_dag_run").select("id").execute();
      assert.equal(links.length, 365);
    });
  });
}

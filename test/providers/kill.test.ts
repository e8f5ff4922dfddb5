// A loader killed with SIGKILL in the middle of its COPY leaves the partition exactly as it was.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { loadPartition } from "../../src/providers/load.ts";
import { PostgresHook } from "../../src/providers/postgres.ts";
import { SqliteHook } from "../../src/providers/sqlite.ts";
import type { WarehouseHook } from "../../src/providers/types.ts";
import { freshPgDatabase, pgSkipReason, type FreshDatabase } from "../helpers/pg.ts";
import { fixtures, type Fixtures } from "./fixtures.ts";

const CHILD = fileURLToPath(new URL("./fixtures/load-child.ts", import.meta.url));
let fx: Fixtures;
before(async () => {
  fx = await fixtures();
});
after(() => fx.cleanup());

function startChild(args: string[]): { child: ChildProcess; copying: Promise<void>; exited: Promise<number | null | string> } {
  const child = spawn(process.execPath, ["--import", "tsx", CHILD, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  let err = "";
  child.stderr?.on("data", (d) => (err += d));
  const exited = new Promise<number | null | string>((r) => child.on("exit", (code, signal) => r(signal ?? code)));
  const copying = new Promise<void>((resolve, reject) => {
    let out = "";
    child.stdout?.on("data", (d) => {
      out += d;
      if (out.includes("COPYING")) resolve();
    });
    void exited.then((c) => reject(new Error(`child exited (${c}) before copying: ${err}`)));
  });
  return { child, copying, exited };
}

const snapshot = async (hook: WarehouseHook) =>
  (await hook.getRecords<{ m: string; n: unknown; s: unknown }>(`SELECT source_month AS m, count(*) AS n, sum(total_amount) AS s FROM trips GROUP BY source_month ORDER BY 1`)).map((r) => [
    r.m,
    Number(r.n),
    Number(r.s),
  ]);

for (const dialect of ["postgres", "sqlite"] as const) {
  describe(`${dialect}: SIGKILL mid-load`, { skip: dialect === "postgres" ? await pgSkipReason() : undefined }, () => {
    let db: FreshDatabase | undefined;
    let target: string;
    let hook: WarehouseHook;
    before(async () => {
      if (dialect === "postgres") {
        db = await freshPgDatabase("providers_kill");
        target = db.url;
        hook = new PostgresHook(target);
      } else {
        target = join(fx.dir, "kill.db");
        hook = new SqliteHook(target);
      }
    });
    after(async () => {
      await hook.close();
      await db?.drop();
    });

    it("leaves the partition and its neighbour exactly as before", async () => {
      const jan = fx.file("yellow", "2024-01", 2500).path;
      const dec = fx.file("yellow", "2023-12", 1500).path;
      await loadPartition(hook, "trips", { partition: { column: "source_month", value: "2024-01" }, source: jan });
      await loadPartition(hook, "trips", { partition: { column: "source_month", value: "2023-12" }, source: dec });
      const before = await snapshot(hook);
      // Close our session so SQLite's reader does not hold anything the child needs.
      await hook.close();

      const bigger = fx.file("yellow", "2024-03", 4000).path;
      const { child, copying, exited } = startChild([target, "trips", "2024-01", bigger]);
      await copying;
      if (dialect === "postgres") {
        const probe = new PostgresHook(target);
        try {
          // Wait until the server itself shows the COPY running, so the kill lands mid-COPY.
          for (let i = 0; i < 100; i++) {
            const rows = await probe.getRecords(`SELECT 1 FROM pg_stat_activity WHERE query LIKE 'COPY %' AND state = 'active' AND datname = current_database()`);
            if (rows.length) break;
            await new Promise((r) => setTimeout(r, 50));
          }
          const rows = await probe.getRecords(`SELECT 1 FROM pg_stat_activity WHERE query LIKE 'COPY %' AND state = 'active' AND datname = current_database()`);
          assert.equal(rows.length, 1, "the child's COPY is in progress");
        } finally {
          await probe.close();
        }
      }
      child.kill("SIGKILL");
      assert.equal(await exited, "SIGKILL");

      const after = dialect === "postgres" ? new PostgresHook(target) : new SqliteHook(target);
      hook = after;
      assert.deepEqual(await snapshot(after), before);
      // and the table is usable: a complete reload now goes through
      assert.equal(await loadPartition(after, "trips", { partition: { column: "source_month", value: "2024-01" }, source: jan }), 2500);
      assert.deepEqual(await snapshot(after), before);
    });
  });
}

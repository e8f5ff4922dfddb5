// Small generated TLC files and bad downloads for the provider tests, made once per test file in a
// temp folder. The real TLC files are read from ../shared/data/tlc/ when that folder exists.
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { writeTaxiParquet, type TaxiFileSummary, type TaxiKind } from "../../scripts/gen-taxi-parquet.ts";

export const REAL_TLC_DIR = fileURLToPath(new URL("../../../shared/data/tlc/", import.meta.url));
export const HAVE_REAL_TLC = existsSync(join(REAL_TLC_DIR, "green_tripdata_2024-01.parquet"));

export interface Fixtures {
  dir: string;
  file(kind: TaxiKind, month: string, rows: number, rowGroupRows?: number): TaxiFileSummary;
  /** The first half of `path`: starts with PAR1 and has no footer. */
  truncated(path: string): Promise<string>;
  html(): Promise<string>;
  empty(): Promise<string>;
  cleanup(): Promise<void>;
}

export async function fixtures(): Promise<Fixtures> {
  const dir = await mkdtemp(join(tmpdir(), "orch-providers-"));
  return {
    dir,
    file(kind, month, rows, rowGroupRows) {
      return writeTaxiParquet({ kind, month, rows, rowGroupRows, path: join(dir, `${kind}_tripdata_${month}.parquet`) });
    },
    async truncated(path) {
      const bytes = await readFile(path);
      const out = join(dir, "truncated.parquet");
      await writeFile(out, bytes.subarray(0, Math.floor(bytes.length / 2)));
      return out;
    },
    async html() {
      const out = join(dir, "error-page.parquet");
      await writeFile(out, "<!DOCTYPE html>\n<html><head><title>404</title></head><body>NoSuchKey</body></html>\n");
      return out;
    },
    async empty() {
      const out = join(dir, "empty.parquet");
      await writeFile(out, "");
      return out;
    },
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}

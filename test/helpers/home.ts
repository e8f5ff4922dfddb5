// A fresh, throw-away ORCH_HOME per test file (or per test).
import { mkdtemp, rm, mkdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface TempHome {
  home: string;
  dags: string;
  cleanup(): Promise<void>;
}

export async function tempHome(prefix = "orch-test-"): Promise<TempHome> {
  const home = await mkdtemp(join(tmpdir(), prefix));
  const dags = join(home, "dags");
  await mkdir(dags, { recursive: true });
  return {
    home,
    dags,
    cleanup: () => rm(home, { recursive: true, force: true }),
  };
}

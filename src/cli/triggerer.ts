// orch triggerer: the triggerer alone, in the foreground (Airflow's `airflow triggerer`). With
// PostgreSQL several can run on several machines; each trigger runs in exactly one of them.
import type { Argv, CommandModule } from "yargs";
import { loadConfig } from "../config.ts";
import { openCurrentStore } from "../store/index.ts";
import { createTriggerer } from "../triggerer/triggerer.ts";

export const triggererCommand: CommandModule<object, { capacity?: number }> = {
  command: "triggerer",
  describe: "Run the triggerer alone: it waits on deferred tasks' triggers and resumes them",
  builder: (y: Argv) =>
    y
      .option("capacity", { type: "number", describe: "Triggers at once; default [triggerer] capacity" })
      .example("ORCH_DATABASE_URL=postgres://… $0 triggerer", "a triggerer beside `orch scheduler --no-triggerer`") as unknown as Argv<{ capacity?: number }>,
  handler: async (args) => {
    const config = loadConfig();
    if (args.capacity !== undefined) process.env.ORCH__TRIGGERER__CAPACITY = String(args.capacity);
    const store = await openCurrentStore(config);
    const triggerer = createTriggerer({ store, config: args.capacity !== undefined ? loadConfig() : config, listen: true, log: (m) => console.log(`[triggerer] ${m}`) });
    let stopping: Promise<void> | undefined;
    const finished = new Promise<void>((resolve) => {
      for (const sig of ["SIGINT", "SIGTERM"] as const)
        process.once(sig, () => {
          stopping ??= (async () => {
            await triggerer.stop();
            await store.close();
            console.log("[triggerer] stopped");
          })();
          void stopping.then(resolve);
        });
    });
    await triggerer.start();
    console.log(`[triggerer] job ${triggerer.jobId}; database ${store.displayUrl}; ${triggerer.armed} trigger(s) armed`);
    await finished;
  },
};

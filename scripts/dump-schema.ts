// Regenerates src/store/schema.<dialect>.txt from a freshly migrated database of each dialect.
//   node --import tsx scripts/dump-schema.ts
import { writeFileSync } from "node:fs";
import { describeSchema } from "../src/store/schema-dump.ts";
import { freshStore } from "../test/helpers/store.ts";

for (const dialect of ["sqlite", "postgres"] as const) {
  const t = await freshStore(dialect, "dump");
  try {
    const path = new URL(`../src/store/schema.${dialect}.txt`, import.meta.url);
    writeFileSync(path, await describeSchema(t.store));
    console.log(`wrote ${path.pathname}`);
  } finally {
    await t.cleanup();
  }
}

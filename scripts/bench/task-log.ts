// Cost of writing 10,000 task log lines, for the choice of write strategy in src/logging/task-log.ts.
// Baseline: the same preformatted lines through writeSync on a held descriptor (no formatting or
// masking). Compared: openTaskLog (format + mask + writeSync), appendFileSync per line, a write stream.
import { appendFileSync, closeSync, createWriteStream, mkdtempSync, openSync, rmSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createSecretsMasker, openTaskLog } from "../../src/logging/index.ts";

const N = 10_000;
const ROUNDS = 5;
const dir = mkdtempSync(join(tmpdir(), "orch-bench-log-"));
const lines = Array.from({ length: N }, (_, i) => `[2024-01-01T00:00:00.123+0000] {stdout} INFO - row ${i} loaded into staging.trips_2024_01 in 3 ms\n`);
let file = 0;
const next = (): string => join(dir, `f${file++}.log`);

async function time(fn: () => Promise<void> | void): Promise<number> {
  const times: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const t = process.hrtime.bigint();
    await fn();
    times.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  return times.sort((a, b) => a - b)[Math.floor(ROUNDS / 2)]; // median
}

const masker = createSecretsMasker();
for (let i = 0; i < 50; i++) masker.addSecret(`secret-value-${i}-xyzzy`);

const results: [string, number][] = [];
results.push([
  "baseline: writeSync, held fd, raw lines",
  await time(() => {
    const fd = openSync(next(), "a");
    for (const l of lines) writeSync(fd, l);
    closeSync(fd);
  }),
]);
results.push([
  "openTaskLog (format + mask 50 secrets + writeSync)",
  await time(async () => {
    const log = openTaskLog(next(), { masker });
    for (let i = 0; i < N; i++) log.write(`row ${i} loaded into staging.trips_2024_01 in 3 ms`, "stdout");
    await log.close();
  }),
]);
results.push([
  "appendFileSync per line",
  await time(() => {
    const p = next();
    for (const l of lines) appendFileSync(p, l);
  }),
]);
results.push([
  "write stream (buffered, not durable on return)",
  await time(
    () =>
      new Promise<void>((resolve, reject) => {
        const s = createWriteStream(next(), { flags: "a" });
        for (const l of lines) s.write(l);
        s.end(() => resolve());
        s.on("error", reject);
      }),
  ),
]);

const base = results[0][1];
console.log(`${N} lines, median of ${ROUNDS} rounds, Node ${process.version}, ${dir}`);
for (const [name, ms] of results) console.log(`${name.padEnd(52)} ${ms.toFixed(1).padStart(8)} ms  x${(ms / base).toFixed(2)}`);
rmSync(dir, { recursive: true, force: true });

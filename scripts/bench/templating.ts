// Cost of rendering a task's template fields, for the compile cache and strict context in
// src/templating/render.ts. Baseline: plain nunjucks renderString over the raw context (compiles
// every call, no strict checks). Compared: renderTemplate (cached compile + strict views), and the
// same with a fresh template text each call (cache miss: compile + strict views).
import nunjucks from "nunjucks";
import { buildTemplateContext, renderTemplate } from "../../src/templating/index.ts";

const N = 10_000;
const ROUNDS = 5;
const template = "SELECT * FROM trips WHERE day = '{{ ds }}' AND month = {{ params.month }} AND x = {{ ti.xcom_pull('count') }} -- {{ macros.ds_add(ds, 1) }}";
const ctx = buildTemplateContext({
  dag_id: "taxi", run_id: "r", run_type: "scheduled", logical_date: new Date("2024-01-01T00:00:00Z"),
  data_interval_start: new Date("2024-01-01T00:00:00Z"), data_interval_end: new Date("2024-01-02T00:00:00Z"), start_date: null,
  conf: {}, params: { month: 1 }, task_id: "t", try_number: 1, map_index: -1,
  xcoms: [{ task_id: "count", key: "return_value", value: 5 }], variables: {}, connections: {}, push: () => undefined,
});
const env = new nunjucks.Environment(null, { autoescape: false });

function time(fn: (i: number) => void): number {
  const times: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const t = process.hrtime.bigint();
    for (let i = 0; i < N; i++) fn(i);
    times.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  return times.sort((a, b) => a - b)[Math.floor(ROUNDS / 2)]!;
}

const expected = renderTemplate(template, ctx);
if (env.renderString(template, ctx) !== expected) throw new Error("baseline renders differently");
const results: [string, number][] = [
  ["baseline: nunjucks renderString, raw context", time(() => env.renderString(template, ctx))],
  ["renderTemplate (cached compile, strict context)", time(() => renderTemplate(template, ctx))],
  ["renderTemplate, new text each call (compile + strict)", time((i) => renderTemplate(`${template} -- ${i}`, ctx))],
];
const base = results[0]![1];
for (const [name, ms] of results) {
  console.log(`${name.padEnd(56)} ${ms.toFixed(1).padStart(8)} ms / ${N} renders  (${(ms / base).toFixed(2)}x baseline)`);
}

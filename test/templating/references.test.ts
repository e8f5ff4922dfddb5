// What a template reads, found from its syntax tree before it renders: the worker asks for exactly
// these variables, connections and XComs (src/templating/references.ts).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { findTemplateReferences } from "../../src/templating/index.ts";

type Want = { variables?: string[]; connections?: string[]; xcoms?: string[]; dynamic?: number };

const rows: [template: string, want: Want][] = [
  ["echo {{ ds }}", {}],
  ["plain text, no template", {}],
  ["{{ var.value.greeting }}", { variables: ["greeting"] }],
  ["{{ var.value['with-dash'] }}", { variables: ["with-dash"] }],
  ["{{ var.json.cfg.field }} {{ var.json.cfg.list[1] }}", { variables: ["cfg"] }],
  ["{{ var.value.get('nope', 'fallback') }} {{ var.json.get('j', {}) }}", { variables: ["j", "nope"] }],
  ["{{ conn.warehouse.host }}:{{ conn.warehouse.port }}", { connections: ["warehouse"] }],
  ["{{ conn.get('pg').login }} {{ conn['other'].host }}", { connections: ["other", "pg"] }],
  ["{{ ti.xcom_pull('double') }}", { xcoms: ["double:return_value"] }],
  ["{{ ti.xcom_pull(task_ids='load', key='rows') }}", { xcoms: ["load:rows"] }],
  ["{{ task_instance.xcom_pull(['a', 'b']) }}", { xcoms: ["a,b:return_value"] }],
  ["{{ ti.xcom_pull() }} {{ ti.xcom_pull(None, 'k') }}", { xcoms: ["(self):k", "(self):return_value"] }],
  ["{{ ti.xcom_pull(params.upstream) }}", { xcoms: ["(any):return_value"] }],
  ["{{ ti.xcom_pull('t', params.key) }}", { xcoms: ["t:(any)"] }],
  ["{{ ti.task_id }} {{ ti.try_number }}", {}],
  ["{{ foo | default(var.value.q) }}", { variables: ["q"] }],
  ["{% if var.value.flag == 'on' %}{{ conn.a.host }}{% endif %}", { variables: ["flag"], connections: ["a"] }],
  ["{% for x in [1, 2] %}{{ var.value.loop }}{% endfor %}", { variables: ["loop"] }],
  ["{{ var.value[params.name] }}", { dynamic: 1 }],
  ["{{ conn.get(params.conn_id).host }}", { dynamic: 1 }],
  ["{% set v = var.value %}{{ v.x }}", { dynamic: 1 }],
  ["{{ macros.ds_add(ds, 1) }}", {}],
  ["{{ not closed", {}], // does not parse: reads nothing here, rendering reports the syntax error
];

const show = (x: { taskIds: string[] | null | undefined; key: string | undefined }) =>
  `${x.taskIds === undefined ? "(any)" : x.taskIds === null ? "(self)" : x.taskIds.join(",")}:${x.key ?? "(any)"}`;

describe("templating: references found before rendering", () => {
  for (const [template, want] of rows) {
    it(template, () => {
      const refs = findTemplateReferences(template);
      assert.deepEqual([...refs.variables].sort(), want.variables ?? []);
      assert.deepEqual([...refs.connections].sort(), want.connections ?? []);
      assert.deepEqual(refs.xcoms.map(show).sort(), want.xcoms ?? []);
      assert.equal(refs.dynamic.length, want.dynamic ?? 0, refs.dynamic.join("; "));
    });
  }
});

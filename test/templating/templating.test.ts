// Templates and the task context, as case tables. Expectations follow Airflow 3: the templater's
// filters (task-sdk templater.py), macros.py's docstring examples, RuntimeTaskInstance.xcom_pull,
// get_template_context (no ds/ts keys without a logical date) and StrictUndefined.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { buildTemplateContext, dsAdd, dsFormat, renderFields, renderTemplate, strftime, strptime } from "../../src/templating/index.ts";
import type { TemplateContextInput } from "../../src/templating/index.ts";
import { isOrchError } from "../../src/errors.ts";

function input(over: Partial<TemplateContextInput> = {}): TemplateContextInput & { pushed: [string, unknown][] } {
  const pushed: [string, unknown][] = [];
  return {
    dag_id: "taxi", run_id: "scheduled__2024-01-01T00:00:00+00:00", run_type: "scheduled",
    logical_date: new Date("2024-01-01T00:00:00Z"),
    data_interval_start: new Date("2024-01-01T00:00:00Z"), data_interval_end: new Date("2024-01-02T00:00:00Z"),
    start_date: new Date("2024-01-02T00:00:05Z"), conf: { region: "eu" }, params: { month: 3, tags: ["a", "b"] },
    task_id: "load", try_number: 2, map_index: -1,
    xcoms: [
      { task_id: "double", key: "return_value", value: 42 },
      { task_id: "double", key: "rows", value: 7 },
      { task_id: "mapped", key: "return_value", value: "second", map_index: 1 },
      { task_id: "mapped", key: "return_value", value: "first", map_index: 0 },
      { task_id: "stats", key: "return_value", value: { rows: 5 } },
    ],
    variables: { my_key: "hello", cfg: '{"field": "v", "list": [1, 2]}' },
    connections: { pg: { conn_id: "pg", conn_type: "postgres", host: "db.local", schema: "taxi", login: "u", password: "p", port: 5432, extra: '{"sslmode": "disable"}' } },
    push: (k, v) => pushed.push([k, v]),
    now: () => new Date("2024-05-05T05:05:05Z"),
    pushed,
    ...over,
  };
}

const ctx = buildTemplateContext(input());

const renders: [template: string, want: string][] = [
  ["{{ ds }}|{{ ds_nodash }}", "2024-01-01|20240101"],
  ["{{ ts }}|{{ ts_nodash }}|{{ ts_nodash_with_tz }}", "2024-01-01T00:00:00+00:00|20240101T000000|20240101T000000+0000"],
  ["{{ logical_date }}", "2024-01-01 00:00:00+00:00"],
  ["{{ data_interval_end | ds }} {{ data_interval_end | ds_nodash }} {{ data_interval_end | ts }}", "2024-01-02 20240102 2024-01-02T00:00:00+00:00"],
  ["{{ data_interval_end | ts_nodash }} {{ data_interval_end | ts_nodash_with_tz }}", "20240102T000000 20240102T000000+0000"],
  ["{{ data_interval_start.strftime('%Y/%m') }} {{ data_interval_start.year }}", "2024/01 2024"],
  ["{{ params.month }} {{ params.tags[1] }} {{ params.tags | join(',') }}", "3 b a,b"],
  ["{{ params }}", "{'month': 3, 'tags': ['a', 'b']}"],
  ["{{ macros.ds_add(ds, 5) }} {{ macros.ds_add(ds, -1) }}", "2024-01-06 2023-12-31"],
  ["{{ macros.ds_format(ds, '%Y-%m-%d', '%d.%m.%y') }}", "01.01.24"],
  ["{{ macros.ds_add(ds, days=2) }} {{ macros.ds_format(ds, input_format='%Y-%m-%d', output_format='%Y') }}", "2024-01-03 2024"],
  ["{{ params | tojson }} {{ '<a>' | tojson }}", '{"month": 3, "tags": ["a", "b"]} "\\u003ca\\u003e"'],
  ["{{ macros.datetime.now().isoformat() }}", "2024-05-05T05:05:05+00:00"],
  ["{{ macros.timedelta(days=1, hours=2).total_seconds() }}", "93600"],
  ["{{ macros.json.dumps(params) }}", '{"month": 3, "tags": ["a", "b"]}'],
  ["{{ ti.xcom_pull('double') }}", "42"],
  ["{{ ti.xcom_pull(task_ids='double', key='rows') }}", "7"],
  ["{{ ti.xcom_pull('stats').rows }}", "5"],
  ["{{ ti.xcom_pull(['double', 'stats']) }}", "[42, {'rows': 5}]"],
  ["{{ ti.xcom_pull('nobody') }}", ""],
  ["{{ ti.task_id }} {{ ti.try_number }} {{ ti.map_index }} {{ task_instance.dag_id }}", "load 2 -1 taxi"],
  ["{{ var.value.my_key }} {{ var.json.cfg.field }} {{ var.json.cfg.list[1] }}", "hello v 2"],
  ["{{ var.value.get('nope', 'fallback') }} {{ var.json.get('nope', 'f2') }}", "fallback f2"],
  ["{{ conn.pg.host }}:{{ conn.pg.port }} {{ conn.pg.extra_dejson.sslmode }} {{ conn.get('pg').login }}", "db.local:5432 disable u"],
  ["{{ dag_run.conf.region }} {{ dag_run.conf.get('missing', 'x') }} {{ dag_run.run_type }} {{ run_id }}", "eu x scheduled scheduled__2024-01-01T00:00:00+00:00"],
  ["{{ task_instance_key_str }}", "taxi__load__20240101"],
  ["{{ nothing is defined }} {{ params.nope is defined }} {{ params.month is defined }}", "false false true"],
  ["{{ nothing | default('d') }} {{ params.nope | d('e') }}", "d e"],
  ["{% for k, v in params.items() %}{{ k }};{% endfor %}", "month;tags;"],
  ["<b>{{ '&' }}</b>", "<b>&</b>"], // autoescape off
  ["{{ True }} {{ False }} {{ dag_run.conf.get('nope') is none }} {{ None is none }}", "true false true true"],
];

describe("renderTemplate", () => {
  for (const [template, want] of renders) {
    it(template, () => assert.equal(renderTemplate(template, ctx), want));
  }

  const failures: [template: string, mentions: string][] = [
    ["{{ nothing }}", "'nothing' is undefined"],
    ["{{ params.nope }}", "'params' has no attribute 'nope'"],
    ["{{ nothing.attr }}", "'nothing' is undefined"],
    ["{{ ti.xcom_pull('stats').nope }}", "has no attribute 'nope'"],
    ["{{ var.value.nope }}", 'Variable "nope" does not exist'],
    ["{{ var.json.cfg.nope }}", "'var.json.cfg' has no attribute 'nope'"],
    ["{{ conn.nope.host }}", 'Connection "nope" does not exist'],
    ["{{ macros.ds_format(ds, '%d/%m/%Y', '%Y') }}", "does not match format '%d/%m/%Y'"],
    ["{{ 1 + }}", "unexpected token"],
  ];
  for (const [template, mentions] of failures) {
    it(`fails: ${template}`, () => {
      assert.throws(() => renderTemplate(template, ctx), (e: unknown) => isOrchError(e, "ORCH_TASK_FAILED") && e.message.includes(mentions) && e.message.includes(template));
    });
  }

  it("pushes through ti.xcom_push and pulls the pushed value back in the same try", () => {
    const i = input();
    const c = buildTemplateContext(i);
    assert.equal(renderTemplate("{{ ti.xcom_push('k', 7) }}{{ ti.xcom_pull(task_ids='load', key='k') }}", c), "7");
    assert.deepEqual(i.pushed, [["k", 7]]);
  });
});

describe("renderFields", () => {
  it("renders strings inside arrays and objects, leaves the rest", () => {
    const fields = { sql: "SELECT '{{ ds }}'", args: ["{{ params.month }}", 5, null, { deep: "{{ ds_nodash }}" }], flag: true, "{{ key }}": "x" };
    assert.deepEqual(renderFields(fields, ctx), { sql: "SELECT '2024-01-01'", args: ["3", 5, null, { deep: "20240101" }], flag: true, "{{ key }}": "x" });
  });
  it("returns non-plain objects untouched", () => {
    const d = new Date(0);
    assert.equal(renderFields(d, ctx), d);
  });
});

describe("buildTemplateContext", () => {
  it("xcom_pull follows RuntimeTaskInstance.xcom_pull", () => {
    const rows: [args: unknown[], want: unknown][] = [
      [["double"], 42],
      [["double", "rows"], 7],
      [[["double", "stats"]], [42, { rows: 5 }]],
      [[["stats", "double"]], [{ rows: 5 }, 42]],
      [["mapped"], ["first", "second"]], // every map index, in map-index order
      [["nobody"], null],
      [[["double", "nobody"]], [42, null]],
      [[], null], // no task_ids: the current task's own XCom
    ];
    for (const [args, want] of rows) assert.deepEqual((ctx.ti.xcom_pull as (...a: unknown[]) => unknown)(...args), want, JSON.stringify(args));
  });

  it("var and conn in code", () => {
    assert.equal(ctx.var.get("my_key"), "hello");
    assert.equal(ctx.var.get("nope", "d"), "d");
    assert.equal(ctx.var.get("nope"), undefined);
    assert.deepEqual(ctx.var.json("cfg"), { field: "v", list: [1, 2] });
    assert.equal(ctx.var.json("nope", 1), 1);
    assert.equal(ctx.var.value.my_key, "hello");
    assert.deepEqual(ctx.var.json.cfg, { field: "v", list: [1, 2] });
    assert.equal(ctx.conn.get("pg").host, "db.local");
    assert.equal(ctx.conn.get("nope", null), null);
    assert.throws(() => ctx.conn.get("nope"), (e: unknown) => isOrchError(e, "ORCH_NOT_FOUND") && e.message.includes('"nope"'));
    assert.throws(() => ctx.var.value.nope, (e: unknown) => isOrchError(e, "ORCH_NOT_FOUND") && e.message.includes('"nope"'));
  });

  it("a run without a logical date has no ds/ts keys (Airflow 3), and says so when a template needs one", () => {
    const c = buildTemplateContext(input({ logical_date: null, data_interval_start: null, data_interval_end: null, run_after: new Date("2024-02-02T10:00:00Z") }));
    assert.equal("ds" in c, false);
    assert.equal(c.logical_date, null);
    assert.equal(renderTemplate("{{ dag_run.run_after | ds }}", c), "2024-02-02");
    assert.equal(renderTemplate("{{ (dag_run.logical_date or dag_run.run_after) | ts }}", c), "2024-02-02T10:00:00+00:00");
    assert.throws(() => renderTemplate("{{ ds }}", c), /'ds' is undefined/);
    assert.equal(c.task_instance_key_str, "taxi__load__scheduled__2024-01-01T00:00:00+00:00");
  });

  it("dag_run carries the run's fields", () => {
    assert.deepEqual(
      { ...ctx.dag_run, logical_date: ctx.dag_run.logical_date?.toISOString() },
      {
        dag_id: "taxi", run_id: "scheduled__2024-01-01T00:00:00+00:00", run_type: "scheduled", conf: { region: "eu" },
        logical_date: "2024-01-01T00:00:00.000Z", data_interval_start: ctx.data_interval_start, data_interval_end: ctx.data_interval_end,
        start_date: new Date("2024-01-02T00:00:05Z"), run_after: new Date("2024-01-01T00:00:00Z"),
      },
    );
  });
});

describe("macros and Python date formats", () => {
  // Docstring examples of ds_add / ds_format in Airflow's macros.py, then each directive.
  const rows: [got: () => string, want: string][] = [
    [() => dsAdd("2015-01-01", 5), "2015-01-06"],
    [() => dsAdd("2015-01-06", -5), "2015-01-01"],
    [() => dsAdd("2024-02-28", 1), "2024-02-29"],
    [() => dsAdd("not a date", 0), "not a date"],
    [() => dsFormat("2015-01-01", "%Y-%m-%d", "%m-%d-%y"), "01-01-15"],
    [() => dsFormat("1/5/2015", "%m/%d/%Y", "%Y-%m-%d"), "2015-01-05"],
    [() => dsFormat("12/07/2024", "%d/%m/%Y", "%A %d %B %Y"), "Friday 12 July 2024"],
    [() => dsFormat("2024-03-10 14:05:09", "%Y-%m-%d %H:%M:%S", "%a %b %j %I:%M%p %%"), "Sun Mar 070 02:05PM %"],
    [() => dsFormat("24-12-31", "%y-%m-%d", "%Y"), "2024"],
    [() => dsFormat("69-01-01", "%y-%m-%d", "%Y"), "1969"],
    [() => dsFormat("Jan 5 2024 3PM", "%b %d %Y %I%p", "%H:%M"), "15:00"],
    [() => dsFormat("2024-01-01T10:00:00.5+0200", "%Y-%m-%dT%H:%M:%S.%f%z", "%H %f %z"), "10 500000 +0200"],
    [() => dsFormat("2024-01-01", "%Y-%m-%d", "[%z][%Z]"), "[][]"], // naive: empty, as in Python
    [() => strftime({ wall: new Date("2024-01-01T00:00:00Z"), offset: 0 }, "%z %Z"), "+0000 UTC"],
    [() => strftime(strptime("2024-060", "%Y-%j"), "%Y-%m-%d"), "2024-02-29"],
  ];
  rows.forEach(([got, want], i) => it(`case ${i}: ${want}`, () => assert.equal(got(), want)));

  it("strptime rejects text that does not match, as Python does", () => {
    assert.throws(() => strptime("2024/01/01", "%Y-%m-%d"), /time data '2024\/01\/01' does not match format '%Y-%m-%d'/);
    assert.throws(() => strptime("2024-02-30", "%Y-%m-%d"), /day is out of range/);
  });
});

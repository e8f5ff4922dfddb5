// A few thousand malformed requests against a real `orch standalone`: broken JSON, wrong types,
// unknown fields, huge bodies, bad dates and numbers, path traversal and odd characters in ids,
// junk tokens. None may get a 5xx, the process must stay up, and nothing may be written.
// Every body is invalid by construction (an unknown field at least), so no request is a valid write.
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { Agent, request } from "undici";
import { writeDag } from "../helpers/engine.ts";
import { tempHome, type TempHome } from "../helpers/home.ts";
import { assertNoLeakedProcesses } from "../helpers/leaks.ts";
import { openStore } from "../../src/store/index.ts";
import { call, generatedPassword, login, startOrch, waitFor, type OrchProcess } from "./helpers.ts";

const COUNT = 3000;
const MAX_BODY = 65_536;

let home: TempHome;
let orch: OrchProcess;
let token: string;
let runId: string;

// A small seeded PRNG (mulberry32): the same requests on every run, so a failure reproduces.
function rng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const WEIRD_IDS = [
  "..", "../..", "..%2F..%2Fetc%2Fpasswd", "%2e%2e%2f%2e%2e%2fetc", "a%00b", "%00", "%ZZ", "%E0%A4%A", "x".repeat(3000), "ü🙂", "a b", "'; drop table dag; --",
  "%25", "~", "..\\..\\windows", "con", "a/../../b", "%2F", "{{7*7}}", "null", "-1", "1e309", "0x10",
];
const WEIRD_VALUES = ["", "-1", "abc", "1e309", "NaN", "9".repeat(40), "true", "2024-13-45", "yesterday", "2024-01-01T25:61:00Z", "%", "%%", "_", "[]", "{}", "\u0000", "-", "--x"];

function randomJson(r: () => number, depth = 0): unknown {
  const k = Math.floor(r() * 9);
  switch (k) {
    case 0: return null;
    case 1: return r() < 0.5;
    case 2: return Math.floor(r() * 2e9) - 1e9;
    case 3: return r() * 1e6;
    case 4: return WEIRD_VALUES[Math.floor(r() * WEIRD_VALUES.length)];
    case 5: return depth > 3 ? [] : Array.from({ length: Math.floor(r() * 4) }, () => randomJson(r, depth + 1));
    default: {
      if (depth > 3) return {};
      const o: Record<string, unknown> = {};
      const keys = ["is_paused", "logical_date", "conf", "note", "state", "new_state", "dry_run", "key", "value", "connection_id", "conn_type", "password", "username", "task_ids", "port", "extra", "dag_run_id"];
      for (let i = 0; i < 1 + r() * 4; i++) o[keys[Math.floor(r() * keys.length)]] = randomJson(r, depth + 1);
      return o;
    }
  }
}

interface FuzzRequest {
  method: string;
  path: string;
  body?: string;
  contentType?: string;
  auth: "token" | "none" | "junk";
}

function generate(r: () => number, i: number, dagRun: string): FuzzRequest {
  const id = () => WEIRD_IDS[Math.floor(r() * WEIRD_IDS.length)];
  const val = () => encodeURIComponent(WEIRD_VALUES[Math.floor(r() * WEIRD_VALUES.length)]);
  const auth: FuzzRequest["auth"] = r() < 0.85 ? "token" : r() < 0.5 ? "none" : "junk";
  // The body: always invalid. An object gets an unknown field; otherwise not an object, or not JSON.
  const body = (): { body: string; contentType?: string } => {
    const k = r();
    if (k < 0.1) return { body: "{\"is_paused\": tru", contentType: "application/json" };
    if (k < 0.15) return { body: "x".repeat(MAX_BODY + 1 + Math.floor(r() * 1000)) };
    if (k < 0.2) return { body: "username=a&password=b&fuzz=1", contentType: "application/x-www-form-urlencoded" };
    if (k < 0.25) return { body: JSON.stringify(randomJson(r)), contentType: "text/plain" };
    const v = randomJson(r);
    if (v && typeof v === "object" && !Array.isArray(v)) return { body: JSON.stringify({ ...v, [`fuzz_${i}`]: 1 }) };
    return { body: JSON.stringify(v) };
  };
  const runPath = r() < 0.5 ? encodeURIComponent(dagRun) : id();
  const dag = r() < 0.6 ? "fuzz_dag" : id();
  const shapes: (() => FuzzRequest)[] = [
    () => ({ method: "GET", path: `/api/v2/dags?limit=${val()}&offset=${val()}&order_by=${val()}&dag_id_pattern=${val()}&paused=${val()}&tags=${val()}`, auth }),
    () => ({ method: "GET", path: `/api/v2/dags/${dag}/dagRuns?state=${val()}&logical_date_gte=${val()}&run_after_lte=${val()}&limit=${val()}&run_type=${val()}`, auth }),
    () => ({ method: "GET", path: `/api/v2/dags/${id()}`, auth }),
    () => ({ method: "GET", path: `/api/v2/dags/${dag}/details`, auth }),
    () => ({ method: "GET", path: `/api/v2/dags/${dag}/dagRuns/${runPath}/taskInstances?state=${val()}&duration_gte=${val()}&order_by=${val()}&map_index=${val()}`, auth }),
    () => ({ method: "GET", path: `/api/v2/dags/${dag}/dagRuns/${runPath}/taskInstances/${id()}/logs/${val()}?token=${val()}&map_index=${val()}`, auth }),
    () => ({ method: "GET", path: `/api/v2/dags/${dag}/dagRuns/${runPath}/taskInstances/t/logs/1?token=${val()}&full_content=${val()}`, auth }),
    () => ({ method: "GET", path: `/api/v2/dags/${dag}/dagRuns/${runPath}/taskInstances/${id()}/xcomEntries/${id()}?map_index=${val()}&stringify=${val()}`, auth }),
    () => ({ method: "GET", path: `/api/v2/dags/${dag}/dagRuns/${runPath}/taskInstances/t/tries/${val()}`, auth }),
    () => ({ method: "GET", path: `/api/v2/variables/${id()}`, auth }),
    () => ({ method: "GET", path: `/api/v2/connections?connection_id_pattern=${val()}&order_by=${val()}`, auth }),
    () => ({ method: "GET", path: `/api/v2/importErrors/${id()}`, auth }),
    () => ({ method: "GET", path: `/api/v2/dagSources/${id()}`, auth }),
    () => ({ method: "PATCH", path: `/api/v2/dags/${dag}?update_mask=${val()}`, ...body(), auth }),
    () => ({ method: "POST", path: `/api/v2/dags/${dag}/dagRuns`, ...body(), auth }),
    () => ({ method: "PATCH", path: `/api/v2/dags/${dag}/dagRuns/${runPath}`, ...body(), auth }),
    () => ({ method: "POST", path: `/api/v2/dags/${dag}/dagRuns/${runPath}/clear`, ...body(), auth }),
    () => ({ method: "POST", path: `/api/v2/dags/${dag}/clearTaskInstances`, ...body(), auth }),
    () => ({ method: "PATCH", path: `/api/v2/dags/${dag}/dagRuns/${runPath}/taskInstances/t`, ...body(), auth }),
    () => ({ method: "POST", path: "/api/v2/variables", ...body(), auth }),
    () => ({ method: "PATCH", path: `/api/v2/variables/${id()}`, ...body(), auth }),
    () => ({ method: "POST", path: "/api/v2/connections", ...body(), auth }),
    () => ({ method: "PATCH", path: `/api/v2/connections/${id()}`, ...body(), auth }),
    () => ({ method: "POST", path: "/auth/token", ...body(), auth: "none" }),
    () => ({ method: "DELETE", path: `/api/v2/dags/${id()}`, auth }),
    () => ({ method: "DELETE", path: `/api/v2/dags/${dag}/dagRuns/${id()}`, auth }),
    () => ({ method: "DELETE", path: `/api/v2/variables/${id()}`, auth }),
    () => ({ method: "DELETE", path: `/api/v2/connections/${id()}`, auth }),
    () => ({ method: ["PUT", "OPTIONS", "TRACE"][Math.floor(r() * 3)], path: `/api/v2/dags/${id()}`, auth }),
  ];
  return shapes[Math.floor(r() * shapes.length)]();
}

async function snapshot(): Promise<string> {
  const store = await openStore(`sqlite:///${join(home.home, "orch.db")}`);
  try {
    const out: Record<string, unknown> = {};
    for (const t of ["dag_run", "task_instance", "task_instance_history", "variable", "connection", "user", "xcom", "serialized_dag"] as const) {
      out[t] = await store.db.selectFrom(t).selectAll().execute();
    }
    out.dag = (await store.db.selectFrom("dag").select(["dag_id", "is_paused", "is_stale"]).orderBy("dag_id").execute());
    return JSON.stringify(out);
  } finally {
    await store.close();
  }
}

describe("fuzz: malformed requests", () => {
  before(async () => {
    home = await tempHome("orch-fuzz-");
    await writeDag(home.dags, "fuzz.ts", `import { dag, task } from "orch";\nexport default dag({ dag_id: "fuzz_dag", schedule: null, start_date: "2024-01-01" }, () => { task({ task_id: "t" }, async () => 1)(); });\n`);
    orch = await startOrch(["standalone", "--port", "0"], home.home, { env: { ORCH__API__MAX_BODY_SIZE: String(MAX_BODY) } });
    token = await login(orch.url, "admin", generatedPassword(home.home));
    await waitFor("DAG parsed", async () => ((await call(orch.url, "GET", "/api/v2/dags/fuzz_dag", { token })).status === 200 ? true : undefined));
    await call(orch.url, "PATCH", "/api/v2/dags/fuzz_dag", { token, body: { is_paused: false } });
    const t = await call(orch.url, "POST", "/api/v2/dags/fuzz_dag/dagRuns", { token, body: { logical_date: "2024-01-01T00:00:00Z" } });
    runId = (t.body as { dag_run_id: string }).dag_run_id;
    await waitFor("run done", async () => {
      const r = await call(orch.url, "GET", `/api/v2/dags/fuzz_dag/dagRuns/${encodeURIComponent(runId)}`, { token });
      return (r.body as { state: string }).state === "success" ? true : undefined;
    }, 90_000);
  });
  after(async () => {
    await orch?.stop();
    await assertNoLeakedProcesses(home.home);
    await home.cleanup();
  });

  test(`${COUNT} malformed requests: no 5xx, the process stays up, nothing is written`, async () => {
    const beforeState = await snapshot();
    const r = rng(14);
    const reqs = Array.from({ length: COUNT }, (_, i) => generate(r, i, runId));
    const agent = new Agent({ connections: 8 });
    const statuses = new Map<number, number>();
    const failures: string[] = [];
    let next = 0;
    const worker = async () => {
      while (next < reqs.length) {
        const q = reqs[next++];
        const headers: Record<string, string> = {};
        if (q.auth === "token") headers.authorization = `Bearer ${token}`;
        if (q.auth === "junk") headers.authorization = `Bearer ${Buffer.from(q.path).toString("base64url")}.x.y`;
        if (q.body !== undefined) headers["content-type"] = q.contentType ?? "application/json";
        try {
          const res = await request(`${orch.url}${q.path}`, { method: q.method as "GET", headers, body: q.body, dispatcher: agent });
          const text = await res.body.text();
          statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
          if (res.statusCode >= 500) failures.push(`${q.method} ${q.path.slice(0, 200)} -> ${res.statusCode} ${text.slice(0, 200)}`);
          else if (res.statusCode >= 400 && q.method !== "OPTIONS" && !/"detail"/.test(text)) failures.push(`${q.method} ${q.path.slice(0, 200)} -> ${res.statusCode} without {detail}: ${text.slice(0, 200)}`);
        } catch (e) {
          failures.push(`${q.method} ${q.path.slice(0, 200)} -> ${(e as Error).message}`);
        }
      }
    };
    await Promise.all(Array.from({ length: 8 }, worker));
    await agent.close();
    assert.deepEqual(failures.slice(0, 20), [], `statuses: ${JSON.stringify([...statuses])}`);
    assert.equal(orch.child.exitCode, null, "the process is alive");
    const health = await call(orch.url, "GET", "/api/v2/monitor/health", { schema: "HealthInfoResponse" });
    assert.equal(health.status, 200);
    assert.equal(await snapshot(), beforeState, "nothing was written");
    // The generator reached past auth into validation: most answers are 4xx that say what is wrong.
    const four = [...statuses].filter(([s]) => s >= 400 && s < 500).reduce((n, [, c]) => n + c, 0);
    assert.ok(four > COUNT / 2, JSON.stringify([...statuses]));
    assert.ok((statuses.get(422) ?? 0) > 100 && (statuses.get(413) ?? 0) > 0 && (statuses.get(404) ?? 0) > 100, JSON.stringify([...statuses]));
  });
});

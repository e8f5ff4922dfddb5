// The status page in a real browser: Debian's Chromium (never a downloaded one) driven by
// playwright-core, against a real `orch standalone` on a temp home and a free port. One browser and
// one orch for the whole file; every step waits for a condition with a generous deadline, so a
// loaded 2-core machine only makes it slower. Screenshots go to test-output/ui/ (gitignored).
import assert from "node:assert/strict";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import { startOrch, type OrchProcess } from "../api/helpers.ts";
import { writeDag } from "../helpers/engine.ts";
import { tempHome, type TempHome } from "../helpers/home.ts";
import { assertNoLeakedProcesses } from "../helpers/leaks.ts";

const CHROMIUM = "/usr/bin/chromium";
const ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update"];
const OUT = join(process.cwd(), "test-output", "ui");
const WAIT = 90_000;

const XSS_SCRIPT = "<script>window.__xss = 'script'</script>";
const XSS_IMG = `<img src="x" onerror="window.__xss = 'img'">`;

function demoDag(release: string): string {
  return `import { dag, task, bash, Param } from "orch";
export default dag(
  {
    dag_id: "ui_demo",
    schedule: null,
    start_date: "2024-01-01",
    tags: ["ui"],
    doc_md: "# UI demo\\n\\nProduces a number, then ticks until released.",
    params: {
      n: Param(3, { type: "integer", minimum: 1, description: "How many things to produce" }),
      label: Param("hello", { type: "string", description: "A label" }),
    },
  },
  () => {
    const produce = task({ task_id: "produce" }, async (ctx) => ({ n: ctx.params.n, label: ctx.params.label }));
    const wait = bash({ task_id: "wait", command: "i=0; while [ ! -f ${release} ]; do i=$((i+1)); echo tick $i; sleep 0.3; done; echo released" });
    produce().then(wait);
  },
);
`;
}

const XSS_DAG = `import { dag, task, Param } from "orch";
export default dag(
  {
    dag_id: "ui_xss",
    schedule: null,
    start_date: "2024-01-01",
    doc_md: ${JSON.stringify(`# Probe\n\n${XSS_SCRIPT}\n\n${XSS_IMG}\n`)},
    params: { p: Param("v", { type: "string", description: ${JSON.stringify(`${XSS_SCRIPT} ${XSS_IMG}`)} }) },
  },
  () => {
    task({ task_id: "shout" }, async () => {
      console.log(${JSON.stringify(`${XSS_SCRIPT} ${XSS_IMG}`)});
      return ${JSON.stringify(XSS_IMG)};
    })();
  },
);
`;

let home: TempHome;
let orch: OrchProcess;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let base: string;
let password: string;
let release: string;

async function shot(name: string): Promise<void> {
  await page.screenshot({ path: join(OUT, `${name}.png`), fullPage: true });
}

/** The state classes of the grid's cells in the newest run (the rightmost column). */
async function newestColumnStates(p: Page): Promise<string[]> {
  return p.$$eval("#grid tbody tr", (rows) =>
    rows.map((r) => {
      const cells = r.querySelectorAll("td");
      const last = cells[cells.length - 1];
      const sq = last?.querySelector(".sq");
      return sq ? ([...sq.classList].find((c) => c.startsWith("st-")) ?? "") : "";
    }),
  );
}

describe("status page in Chromium", () => {
  before(async () => {
    assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: apt-get install -y chromium (never a downloaded browser)`);
    mkdirSync(OUT, { recursive: true });
    home = await tempHome("orch-ui-browser-");
    release = join(home.home, "release");
    await writeDag(home.dags, "ui_demo.ts", demoDag(release));
    await writeDag(home.dags, "ui_xss.ts", XSS_DAG);
    await writeDag(home.dags, "broken.ts", "export default (;\n");
    orch = await startOrch(["standalone", "--port", "0"], home.home, { env: { ORCH__CORE__EXECUTOR: "LocalExecutor", ORCH__CORE__PARALLELISM: "4" }, timeoutMs: WAIT });
    base = orch.url;
    const printed = /password: (\S+)/.exec(orch.stdout());
    assert.ok(printed, `no password printed:\n${orch.stdout()}`);
    password = printed[1];
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS, timeout: WAIT });
    context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    context.setDefaultTimeout(WAIT);
    page = await context.newPage();
  });

  after(async () => {
    await browser?.close();
    await orch?.stop();
    if (home) {
      await assertNoLeakedProcesses(home.home);
      await home.cleanup();
    }
  });

  test("log in with the printed password; the session cookie is HttpOnly and SameSite=Strict", { timeout: 2 * WAIT }, async () => {
    await page.goto(`${base}/`);
    assert.match(page.url(), /\/login\?next=/);
    await page.fill("#username", "admin");
    await page.fill("#password", "wrong-password");
    await page.click("#login-form button[type=submit]");
    await page.waitForSelector("#login-error");
    await page.fill("#password", password);
    await page.click("#login-form button[type=submit]");
    await page.waitForURL(/\/dags$/);
    const cookie = (await context.cookies()).find((c) => c.name === "orch_session");
    assert.ok(cookie, "expected cookie");
    assert.equal(cookie.httpOnly, true);
    assert.equal(cookie.sameSite, "Strict");
    assert.equal(cookie.secure, false, "served over http");
    assert.equal(await page.evaluate(() => document.cookie.includes("orch_session")), false, "scripts cannot read it");
  });

  test("DAG list: import error banner, unpause a DAG", { timeout: 2 * WAIT }, async () => {
    // The DAG processor may still be parsing: reload until both DAGs are listed.
    for (const deadline = Date.now() + WAIT; ; ) {
      await page.goto(`${base}/dags`);
      if ((await page.$('tr[data-dag-id="ui_demo"]')) && (await page.$('tr[data-dag-id="ui_xss"]')) && (await page.$("#import-errors"))) break;
      assert.ok(Date.now() < deadline, "DAGs never listed");
      await page.waitForTimeout(500);
    }
    assert.match(await page.textContent("#import-errors") ?? "", /broken\.ts:1/);
    const toggle = page.locator('[data-testid="pause-ui_demo"]');
    assert.equal((await toggle.textContent())?.trim(), "Paused");
    await shot("dag-list");
    await toggle.click();
    await page.waitForFunction(() => document.querySelector('[data-testid="pause-ui_demo"]')?.textContent?.trim() === "Active");
  });

  test("trigger from the generated form: a validation error first (value kept), then a run with that conf", { timeout: 2 * WAIT }, async () => {
    await page.goto(`${base}/dags/ui_demo/trigger`);
    assert.equal(await page.inputValue('input[name="param.n"]'), "3", "default filled in");
    assert.equal(await page.getAttribute('input[name="param.n"]', "type"), "number");
    assert.match(await page.textContent('[data-param="n"]') ?? "", /How many things to produce/);
    await page.fill('input[name="param.n"]', "0");
    await page.fill('input[name="param.label"]', "from the browser");
    await page.click("#trigger-form button[type=submit]");
    await page.waitForSelector('[data-error-for="n"]');
    assert.match(await page.textContent('[data-error-for="n"]') ?? "", /must be >= 1/);
    assert.equal(await page.inputValue('input[name="param.n"]'), "0", "the value typed stays");
    assert.equal(await page.inputValue('input[name="param.label"]'), "from the browser");
    await page.fill('input[name="param.n"]', "7");
    await page.click("#trigger-form button[type=submit]");
    await page.waitForURL(/\/dags\/ui_demo\/runs\/manual__/);
    assert.deepEqual(JSON.parse((await page.textContent("#run-conf")) ?? "{}"), { n: 7, label: "from the browser" });
  });

  test("a running try's log grows on the page without a reload; then the grid turns green by itself", { timeout: 3 * WAIT }, async () => {
    const runUrl = page.url();
    // Wait for `wait` to run, then open its try page.
    for (const deadline = Date.now() + WAIT; ; ) {
      await page.goto(runUrl);
      if ((await page.getAttribute('tr[data-task-id="wait"]', "data-state")) === "running") break;
      assert.ok(Date.now() < deadline, "wait never ran");
      await page.waitForTimeout(500);
    }
    await page.click('tr[data-task-id="wait"] a');
    await page.waitForSelector("pre.log[data-stream]");
    await page.evaluate(() => ((window as unknown as { __samePage: boolean }).__samePage = true));
    const ticks = async () => ((await page.textContent("pre.log")) ?? "").match(/tick \d+/g)?.length ?? 0;
    const first = await ticks();
    await page.waitForFunction((n) => ((document.querySelector("pre.log")?.textContent ?? "").match(/tick \d+/g)?.length ?? 0) >= n + 3, first);
    assert.ok((await ticks()) >= first + 3, "lines arrived");
    assert.equal(await page.evaluate(() => (window as unknown as { __samePage?: boolean }).__samePage), true, "no reload");
    await shot("log");

    await page.goto(runUrl.replace(/\/runs\/.*$/, ""));
    const before = await newestColumnStates(page);
    assert.deepEqual(before, ["st-success", "st-running"]);
    await page.evaluate(() => ((window as unknown as { __samePage: boolean }).__samePage = true));
    writeFileSync(release, "go");
    await page.waitForFunction(() => {
      const rows = [...document.querySelectorAll("#grid tbody tr")];
      return rows.length === 2 && rows.every((r) => r.querySelector("td:last-child .sq")?.classList.contains("st-success"));
    });
    assert.equal(await page.evaluate(() => (window as unknown as { __samePage?: boolean }).__samePage), true, "the page refreshed its grid in place");
    assert.deepEqual(await newestColumnStates(page), ["st-success", "st-success"]);
    await page.waitForFunction(() => document.querySelector("#grid thead th:last-child .runbar")?.classList.contains("st-success"));
    await shot("grid");
    await page.locator("#grid-section").screenshot({ path: join(OUT, "grid-section.png") });
  });

  test("clear a task (with downstream) after a confirmation; it runs again", { timeout: 3 * WAIT }, async () => {
    await page.click("#runs a");
    await page.waitForURL(/\/runs\/manual__/);
    const runUrl = page.url();
    const row = page.locator('tr[data-task-id="produce"]');
    await row.locator('input[name="downstream"]').check();
    await row.locator('button[value="clear"]').click();
    await page.waitForSelector("#changes");
    const listed = await page.$$eval("#changes tr[data-task-id]", (rows) => rows.map((r) => r.getAttribute("data-task-id")));
    assert.deepEqual(listed, ["produce", "wait"]);
    await page.click('button:has-text("Confirm")');
    await page.waitForURL(runUrl);
    for (const deadline = Date.now() + WAIT; ; ) {
      await page.goto(runUrl);
      const tries = await page.textContent('tr[data-task-id="produce"] td:nth-child(3)');
      const state = await page.getAttribute('tr[data-task-id="wait"]', "data-state");
      const run = await page.getAttribute("[data-run-state]", "data-run-state");
      if (/^2 of/.test(tries?.trim() ?? "") && state === "success" && run === "success") break;
      assert.ok(Date.now() < deadline, `never ran again (produce try: ${tries}, wait: ${state}, run: ${run})`);
      await page.waitForTimeout(500);
    }
    await page.click('tr[data-task-id="produce"] a');
    await page.waitForSelector("#tries");
    assert.match((await page.textContent("#tries")) ?? "", /#1.*#2/s, "the earlier try is one click away");
  });

  test("mark the run failed after a confirmation", { timeout: 2 * WAIT }, async () => {
    await page.click(".crumbs a:nth-of-type(3)");
    await page.waitForSelector("#run-actions");
    await page.click('#run-actions button[value="failed"]');
    await page.waitForSelector("#run-change");
    assert.match((await page.textContent("#run-change")) ?? "", /success.*failed/s);
    await page.click('button:has-text("Confirm")');
    await page.waitForSelector('[data-run-state="failed"]');
  });

  test("XSS probe: doc_md, a param description and a task log holding <script> and <img onerror> render as text; no script runs", { timeout: 3 * WAIT }, async () => {
    const noXss = async (where: string) => {
      assert.equal(await page.evaluate(() => (window as unknown as { __xss?: string }).__xss), undefined, `${where}: a script ran`);
      assert.equal(await page.$$eval("img[onerror]", (els) => els.length), 0, `${where}: an <img onerror> element exists`);
      assert.equal(await page.$$eval("main script", (els) => els.length), 0, `${where}: a <script> element exists in the content`);
    };
    await page.goto(`${base}/dags/ui_xss`);
    assert.ok(((await page.textContent("#doc-md")) ?? "").includes(XSS_SCRIPT), "doc_md shows the markup as text");
    await noXss("DAG page");
    await page.goto(`${base}/dags/ui_xss/trigger`);
    assert.ok(((await page.textContent('[data-param="p"] .desc')) ?? "").includes(XSS_IMG), "expected ((await page.textContent('[data-param=\"p\"] .desc')) ?? \"\").includes(XSS_IMG)");
    await noXss("trigger form");
    await page.click("#trigger-form button[type=submit]");
    await page.waitForURL(/\/dags\/ui_xss\/runs\//);
    const runUrl = page.url();
    for (const deadline = Date.now() + WAIT; ; ) {
      await page.goto(runUrl);
      if ((await page.getAttribute('tr[data-task-id="shout"]', "data-state")) === "success") break;
      assert.ok(Date.now() < deadline, "shout never finished");
      await page.waitForTimeout(500);
    }
    await page.click('tr[data-task-id="shout"] a');
    await page.waitForSelector("pre.log");
    assert.ok(((await page.textContent("pre.log")) ?? "").includes(XSS_SCRIPT), "the log line shows as text");
    assert.ok(((await page.textContent("#xcoms")) ?? "").includes("onerror"), "the XCom shows as text");
    await noXss("try page");
  });

  test("CSRF: a form post without the token is refused and changes nothing", { timeout: WAIT }, async () => {
    const r = await context.request.post(`${base}/dags/ui_demo/pause`, { form: { is_paused: "true" }, maxRedirects: 0 });
    assert.equal(r.status(), 403);
    await page.goto(`${base}/dags`);
    assert.equal((await page.textContent('[data-testid="pause-ui_demo"]'))?.trim(), "Active");
  });

  test("log out: the pages need a login again", { timeout: WAIT }, async () => {
    await page.goto(`${base}/dags`);
    await page.click('header form button[type="submit"]');
    await page.waitForURL(/\/login$/);
    await page.goto(`${base}/dags/ui_demo`);
    assert.match(page.url(), /\/login\?next=%2Fdags%2Fui_demo/);
  });
});

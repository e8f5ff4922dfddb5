// The page's one stylesheet and one small script, served from memory under a content-hashed path
// (so browsers may cache them forever). Kept as strings in a module so the bundle in dist/ carries
// them without a build step or a file lookup at run time.
import { createHash } from "node:crypto";

// Task and run state colours are Airflow's defaults ([webserver] STATE_COLORS).
const STATE_COLORS: Record<string, string> = {
  success: "green",
  running: "lime",
  failed: "red",
  upstream_failed: "orange",
  skipped: "hotpink",
  up_for_retry: "gold",
  up_for_reschedule: "turquoise",
  queued: "gray",
  scheduled: "tan",
  deferred: "mediumpurple",
  removed: "lightgrey",
  restarting: "violet",
};

export const KNOWN_STATES = new Set(Object.keys(STATE_COLORS));

const stateRules = Object.entries(STATE_COLORS)
  .map(([s, c]) => `.st-${s}{background:${c};border-color:${c}}svg.graph rect.st-${s}{fill:${c};stroke:${c}}svg.graph rect.box.st-${s}{fill:#fff;stroke:${c};stroke-width:2}`)
  .join("\n");

export const STYLESHEET = `
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1d2430;background:#f6f7f9}
a{color:#0b5cad;text-decoration:none}a:hover{text-decoration:underline}
header.top{display:flex;align-items:center;gap:1.5em;padding:.6em 1.2em;background:#017cee;color:#fff}
header.top a{color:#fff;font-weight:600}header.top .grow{flex:1}
header.top form{margin:0}header.top button{background:transparent;color:#fff;border:1px solid #fff8}
main{padding:1em 1.2em;max-width:1600px}
h1{font-size:1.4em;margin:.2em 0 .6em}h1.mono{font-size:1.25em}h2{font-size:1.15em;margin:1.4em 0 .5em}
.crumbs{color:#5b6472;margin-bottom:.3em}
table{border-collapse:collapse;background:#fff;width:100%}
th,td{padding:.35em .6em;border-bottom:1px solid #e3e6ea;text-align:left;vertical-align:top}
th{font-weight:600;background:#fafbfc;white-space:nowrap}
.banner{background:#fde8e8;border:1px solid #e0a0a0;padding:.6em 1em;margin-bottom:1em}
.banner li{margin:.2em 0}
.notice{background:#e8f3fd;border:1px solid #9cc3ea;padding:.6em 1em;margin-bottom:1em}
.error{color:#b00020}.muted{color:#6b7380}.mono,pre,code{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12.5px}
pre{background:#fff;border:1px solid #e3e6ea;padding:.6em;overflow:auto;white-space:pre-wrap;word-break:break-word;margin:0}
pre.log{background:#1d2430;color:#e8eaee;min-height:8em;max-height:70vh}
button,.button{display:inline-block;font:inherit;padding:.25em .8em;border:1px solid #aab2bd;border-radius:4px;background:#fff;color:#1d2430;cursor:pointer}
button.primary,.button.primary{background:#017cee;border-color:#017cee;color:#fff}
button.danger{border-color:#c62828;color:#c62828}
form.inline{display:inline;margin:0}
.filters{display:flex;gap:.8em;align-items:end;flex-wrap:wrap;margin-bottom:1em}
.filters label{display:flex;flex-direction:column;font-size:.9em;color:#5b6472}
input,select,textarea{font:inherit;padding:.25em .4em;border:1px solid #aab2bd;border-radius:3px;background:#fff}
textarea{width:100%;min-height:6em;font-family:ui-monospace,monospace}
.field{margin:0 0 1em;max-width:46em}.field>label{font-weight:600;display:block}
.field .desc{color:#5b6472;font-size:.92em;margin:.1em 0 .3em}.field .error{margin-top:.2em}
.field.invalid input,.field.invalid textarea,.field.invalid select{border-color:#b00020}
.sq{display:inline-block;width:14px;height:14px;margin-right:2px;border:1px solid #c5cad1;border-radius:2px;vertical-align:middle;background:#fff}
a.sq:hover{outline:2px solid #017cee}
.tag{display:inline-block;background:#eef1f5;border-radius:9px;padding:0 .55em;margin:0 .2em .1em 0;font-size:.9em}
table.grid{width:auto}.grid td,.grid th{padding:2px 3px;border:0;text-align:center}.grid .sq{margin:0}
.grid th.task,.grid td.task{text-align:left;padding-right:1em;white-space:nowrap}
.grid .runbar{display:inline-block;width:14px;height:28px;border:1px solid #c5cad1;border-radius:2px}
.grid .sq{width:16px;height:16px}
.toggle{min-width:4.5em}.toggle.on{background:#e6f4ea;border-color:#2e7d32;color:#2e7d32}
.tabs a{margin-right:1em}.tabs a.current{font-weight:700;color:#1d2430}
.doc{background:#fff;border:1px solid #e3e6ea;padding:.4em 1em}
dl.details{display:grid;grid-template-columns:max-content 1fr;gap:.3em 1.2em;background:#fff;padding:.8em 1em;border:1px solid #e3e6ea}
dl.details dt{font-weight:600}dl.details dd{margin:0}
svg.graph{background:#fff;border:1px solid #e3e6ea;max-width:100%;height:auto}
svg.graph rect{fill:#fff;stroke:#8a94a3;stroke-width:1.2}svg.graph text{font-size:12px;fill:#1d2430}
svg.graph path{fill:none;stroke:#8a94a3;stroke-width:1.2}svg.graph .bar{stroke-width:0}
svg.graph a:hover rect{stroke:#017cee;stroke-width:2}svg.graph rect.bar.st-none{fill:#e3e6ea;stroke:#e3e6ea}svg.graph .arrowhead{fill:#8a94a3;stroke:none}
.actions{margin:.8em 0}
.login{max-width:22em;margin:4em auto;background:#fff;border:1px solid #e3e6ea;padding:1.5em}
.login input{width:100%}
${stateRules}
`;

// Two jobs, both optional (every page works without them):
// - pre.log[data-stream]: follows a running try's log by server-sent events, appending text nodes;
// - [data-live]: while a page shows unfinished runs, fetches it again every few seconds and swaps
//   in the elements marked data-live (the grid, the task table), until nothing is live any more.
export const SCRIPT = `
(function(){
  "use strict";
  var log = document.querySelector("pre.log[data-stream]");
  if (log && window.EventSource) {
    var status = document.getElementById("log-status");
    var es = new EventSource(log.getAttribute("data-stream"));
    if (status) status.textContent = "following the log…";
    es.addEventListener("chunk", function(ev){
      var atEnd = log.scrollTop + log.clientHeight >= log.scrollHeight - 4;
      log.appendChild(document.createTextNode(JSON.parse(ev.data)));
      if (atEnd) log.scrollTop = log.scrollHeight;
    });
    es.addEventListener("end", function(){
      es.close();
      if (status) status.textContent = "the try has ended; reload for its final state";
      log.removeAttribute("data-stream");
    });
  }
  var live = document.querySelectorAll("[data-live]");
  if (live.length && window.fetch && window.DOMParser) {
    var tick = function(){
      fetch(location.href, { credentials: "same-origin", headers: { "accept": "text/html" } }).then(function(r){
        return r.ok ? r.text() : null;
      }).then(function(text){
        if (text === null) return;
        var doc = new DOMParser().parseFromString(text, "text/html");
        var more = false;
        document.querySelectorAll("[data-live]").forEach(function(el){
          var fresh = el.id && doc.getElementById(el.id);
          // Leave a part alone while someone works in it (focus inside, a box ticked).
          var busy = el.contains(document.activeElement) && document.activeElement !== document.body;
          el.querySelectorAll("input").forEach(function(i){ if (i.checked !== i.defaultChecked) busy = true; });
          if (busy) { more = true; return; }
          if (fresh) { el.replaceWith(document.importNode(fresh, true)); if (fresh.getAttribute("data-live") === "on") more = true; }
        });
        if (more) setTimeout(tick, 2500);
      }).catch(function(){ setTimeout(tick, 5000); });
    };
    var on = false;
    live.forEach(function(el){ if (el.getAttribute("data-live") === "on") on = true; });
    if (on) setTimeout(tick, 2500);
  }
})();
`;

const hash = (s: string) => createHash("sha256").update(s).digest("base64url").slice(0, 10);
export const STYLESHEET_PATH = `/static/orch.${hash(STYLESHEET)}.css`;
export const SCRIPT_PATH = `/static/orch.${hash(SCRIPT)}.js`;

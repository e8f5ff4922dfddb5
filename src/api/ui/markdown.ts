// A DAG's doc_md as HTML: markdown-it with raw HTML off (a `<script>` in the doc stays text) and
// its link check on (no javascript: or data: links).
import MarkdownIt from "markdown-it";

const md = new MarkdownIt({ html: false, linkify: false, typographer: false });

// The same doc is shown on every visit of its DAG page: kept by its text, so a changed doc_md (a
// re-parsed DAG) is a new key and never meets the old HTML. Bounded, oldest out first.
const rendered = new Map<string, string>();
const MAX_KEPT = 200;

export function renderMarkdown(text: string): string {
  let html = rendered.get(text);
  if (html === undefined) {
    html = md.render(text);
    rendered.set(text, html);
    if (rendered.size > MAX_KEPT) rendered.delete(rendered.keys().next().value as string);
  }
  return html;
}

// A DAG's doc_md as HTML: markdown-it with raw HTML off (a `<script>` in the doc stays text) and
// its link check on (no javascript: or data: links).
import MarkdownIt from "markdown-it";

const md = new MarkdownIt({ html: false, linkify: false, typographer: false });

export function renderMarkdown(text: string): string {
  return md.render(text);
}

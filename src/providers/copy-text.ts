// PostgreSQL COPY text format: columns separated by tab, rows by newline, NULL as \N, and backslash,
// tab, newline and carriage return escaped in text. Numbers and bigints go as their decimal text
// (exact for INT64; no float rounding on the way), timestamp columns of µs numbers as naive text.
import type { ColumnBatch, SqlValue } from "./types.ts";
import { naiveFromMicros } from "./values.ts";

const NEEDS_ESCAPE = /[\\\t\n\r]/;

function escapeText(s: string): string {
  return NEEDS_ESCAPE.test(s) ? s.replace(/[\\\t\n\r]/g, (c) => (c === "\\" ? "\\\\" : c === "\t" ? "\\t" : c === "\n" ? "\\n" : "\\r")) : s;
}

export function copyValue(v: SqlValue, timestamp: boolean): string {
  if (v === null || v === undefined) return "\\N";
  switch (typeof v) {
    case "number":
      if (timestamp) return naiveFromMicros(v);
      return Number.isFinite(v) ? String(v) : Number.isNaN(v) ? "NaN" : v > 0 ? "Infinity" : "-Infinity";
    case "bigint":
      return timestamp ? naiveFromMicros(v) : String(v);
    case "boolean":
      return v ? "t" : "f";
    case "string":
      return escapeText(v);
    default:
      return v.toISOString();
  }
}

/** Rows [from, to) of a batch as COPY text (with a trailing newline). */
export function encodeCopyRows(batch: ColumnBatch, from: number, to: number): string {
  const cols = batch.columns;
  const ncol = cols.length;
  const ts = cols.map((_, j) => batch.types?.[j] === "timestamp" || batch.types?.[j] === "timestamptz");
  let out = "";
  for (let i = from; i < to; i++) {
    for (let j = 0; j < ncol; j++) {
      if (j > 0) out += "\t";
      out += copyValue(cols[j][i], ts[j]);
    }
    out += "\n";
  }
  return out;
}

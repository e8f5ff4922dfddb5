// Listings print as a table (default), JSON (an array of objects with Airflow's field names) or YAML.
import { stringify as toYaml } from "yaml";

export const OUTPUT_FORMATS = ["table", "json", "yaml", "plain"] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

/** The yargs option every listing takes. */
export const outputOption = {
  output: {
    alias: "o",
    choices: OUTPUT_FORMATS,
    default: "table" as OutputFormat,
    describe: "Output format: table for people, json or yaml for scripts",
  },
} as const;

function cell(v: unknown): string {
  if (v === null || v === undefined) return "None";
  if (v instanceof Date) return v.toISOString();
  if (typeof v === "object") return JSON.stringify(v);
  return String(v);
}

export function formatRows(rows: readonly Record<string, unknown>[], format: OutputFormat, columns?: readonly string[]): string {
  const cols = columns ?? [...new Set(rows.flatMap((r) => Object.keys(r)))];
  const picked = rows.map((r) => Object.fromEntries(cols.map((c) => [c, r[c] ?? null])));
  switch (format) {
    case "json":
      return JSON.stringify(picked, null, 2);
    case "yaml":
      return picked.length ? toYaml(picked).trimEnd() : "[]";
    case "plain":
      return picked.map((r) => cols.map((c) => cell(r[c])).join("\t")).join("\n");
    case "table": {
      if (picked.length === 0) return "No data found";
      const widths = cols.map((c) => Math.max(c.length, ...picked.map((r) => cell(r[c]).length)));
      const line = (vals: string[]) => vals.map((v, i) => v.padEnd(widths[i])).join(" | ").trimEnd();
      return [line([...cols]), widths.map((w) => "=".repeat(w)).join("=+="), ...picked.map((r) => line(cols.map((c) => cell(r[c]))))].join("\n");
    }
  }
}

export function printRows(rows: readonly Record<string, unknown>[], format: OutputFormat, columns?: readonly string[]): void {
  process.stdout.write(formatRows(rows, format, columns) + "\n");
}

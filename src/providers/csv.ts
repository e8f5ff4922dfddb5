// CSV as a TableSource (RFC 4180: quoted fields, doubled quotes, CRLF or LF, a header row). Column
// types are inferred from the values: integer, double, else text. Text stays text: `NA`, `N/A` and
// the like are strings, never NULL (the TLC zone lookup has a zone named "NA"); only an empty
// unquoted field is NULL. Reads the whole file: meant for lookups, not for monthly fact files.
import { readFile } from "node:fs/promises";
import { OrchError } from "../errors.ts";
import { columnBatch, type ColumnSpec, type ColumnType, type SqlValue, type TableSource } from "./types.ts";

interface Field {
  text: string;
  quoted: boolean;
}

export function parseCsv(text: string, path = "CSV"): Field[][] {
  const rows: Field[][] = [];
  let row: Field[] = [];
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  const n = text.length;
  while (i < n) {
    let f: Field;
    if (text[i] === '"') {
      let s = "";
      i++;
      for (;;) {
        const q = text.indexOf('"', i);
        if (q < 0) throw new OrchError("ORCH_USAGE", `${path}: unterminated quoted field on line ${rows.length + 1}`, { path });
        s += text.slice(i, q);
        if (text[q + 1] === '"') {
          s += '"';
          i = q + 2;
        } else {
          i = q + 1;
          break;
        }
      }
      f = { text: s, quoted: true };
    } else {
      let j = i;
      while (j < n && text[j] !== "," && text[j] !== "\n" && text[j] !== "\r") j++;
      f = { text: text.slice(i, j), quoted: false };
      i = j;
    }
    row.push(f);
    if (text[i] === ",") {
      i++;
      if (i === n) row.push({ text: "", quoted: false });
      continue;
    }
    if (text[i] === "\r") i++;
    if (text[i] === "\n") i++;
    rows.push(row);
    row = [];
  }
  if (row.length) rows.push(row);
  return rows.filter((r) => !(r.length === 1 && r[0].text === "" && !r[0].quoted));
}

const INT = /^-?\d{1,15}$/;
const NUM = /^-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/;

function inferType(values: Field[]): ColumnType {
  let t: ColumnType = "bigint";
  let seen = false;
  for (const v of values) {
    if (v.text === "" && !v.quoted) continue;
    seen = true;
    if (t === "bigint" && !INT.test(v.text)) t = "double";
    if (t === "double" && !NUM.test(v.text)) return "text";
  }
  return seen ? t : "text";
}

export async function csvSource(path: string): Promise<TableSource> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (e) {
    throw new OrchError("ORCH_NOT_FOUND", `${path}: cannot read the CSV file (${(e as Error).message})`, { path });
  }
  const rows = parseCsv(text, path);
  if (rows.length === 0) throw new OrchError("ORCH_USAGE", `${path}: empty CSV (no header row)`, { path });
  const header = rows[0].map((f) => f.text);
  const body = rows.slice(1);
  body.forEach((r, k) => {
    if (r.length !== header.length) {
      throw new OrchError("ORCH_USAGE", `${path}: line ${k + 2} has ${r.length} fields, the header has ${header.length}`, { path, line: k + 2 });
    }
  });
  const columns: ColumnSpec[] = header.map((name, j) => {
    const vals = body.map((r) => r[j]);
    return { name, type: inferType(vals), nullable: true };
  });
  const data: SqlValue[][] = columns.map((c, j) =>
    body.map((r) => {
      const f = r[j];
      if (f.text === "" && !f.quoted) return null;
      return c.type === "text" ? f.text : Number(f.text);
    }),
  );
  return {
    name: path,
    columns,
    async *batches() {
      yield columnBatch(body.length, data, columns.map((c) => c.type));
    },
  };
}

// Walks a RowSource (rows or ColumnBatches, sync or async) as ColumnBatches of at most `chunkRows`
// rows, so each hook has one loop over columns instead of one per input shape.
import { columnBatch, isColumnBatch, type ColumnBatch, type Row, type RowSource, type SqlValue } from "./types.ts";
import { OrchError } from "../errors.ts";

function rowToValues(row: Row, columns: readonly string[]): readonly SqlValue[] {
  if (Array.isArray(row)) {
    if (row.length !== columns.length) {
      throw new OrchError("ORCH_USAGE", `a row has ${row.length} values but ${columns.length} columns were named (${columns.join(", ")})`);
    }
    return row as readonly SqlValue[];
  }
  const obj = row as Readonly<Record<string, SqlValue>>;
  return columns.map((c) => obj[c]);
}

export async function* asBatches(source: RowSource, columns: readonly string[], chunkRows: number): AsyncGenerator<ColumnBatch> {
  let pending: SqlValue[][] = columns.map(() => []);
  let n = 0;
  const flush = (): ColumnBatch => {
    const b = columnBatch(n, pending);
    pending = columns.map(() => []);
    n = 0;
    return b;
  };
  for await (const item of source as AsyncIterable<Row | ColumnBatch>) {
    if (isColumnBatch(item)) {
      if (n > 0) yield flush();
      // (flat first: reading `columns` of a Parquet batch would build every value as a JS value)
      const width = (item.flat ?? item.columns).length;
      if (width !== columns.length) {
        throw new OrchError("ORCH_USAGE", `a batch has ${width} columns but ${columns.length} were named (${columns.join(", ")})`);
      }
      yield item;
      continue;
    }
    const values = rowToValues(item, columns);
    for (let j = 0; j < values.length; j++) pending[j].push(values[j]);
    if (++n >= chunkRows) yield flush();
  }
  if (n > 0) yield flush();
}

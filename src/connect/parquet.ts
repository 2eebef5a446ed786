// Parquet files through DuckDB (@duckdb/node-api), loaded lazily so CSV sources work even where
// the native module is unavailable.
import { ConnectError } from "./errors.ts";
import type { FileRow, ReadProgress } from "./csv.ts";

export interface ParquetReadOptions {
  readonly signal?: AbortSignal;
  readonly onProgress?: (p: ReadProgress) => void;
}

/** Reads a Parquet file, yielding batches of rows (values as strings, column names lower-cased). */
export async function* readParquetFile(
  path: string,
  options: ParquetReadOptions = {},
): AsyncGenerator<FileRow[]> {
  let duck: typeof import("@duckdb/node-api");
  try {
    duck = await import("@duckdb/node-api");
  } catch (e) {
    throw new ConnectError(
      "PARQUET_UNAVAILABLE",
      `cannot read ${path}: the Parquet reader (@duckdb/node-api) did not load: ${(e as Error).message}; use a CSV file instead`,
      { cause: e },
    );
  }
  const instance = await duck.DuckDBInstance.create(":memory:");
  const conn = await instance.connect();
  try {
    const quoted = `'${path.replaceAll("'", "''")}'`;
    let total: number;
    try {
      const count = await conn.runAndReadAll(`SELECT count(*) AS n FROM read_parquet(${quoted})`);
      total = Number(count.getRowObjectsJS()[0]?.n ?? 0);
    } catch (e) {
      throw new ConnectError("PARQUET_READ", `cannot read ${path} as Parquet: ${(e as Error).message}`, {
        cause: e,
      });
    }
    const result = await conn.stream(`SELECT * FROM read_parquet(${quoted})`);
    const names = result.columnNames().map((n) => n.toLowerCase());
    let line = 0;
    for await (const rows of result.yieldRowsJs()) {
      options.signal?.throwIfAborted();
      const batch: FileRow[] = [];
      for (const row of rows) {
        line++;
        const fields: Record<string, string> = {};
        for (let i = 0; i < names.length; i++) {
          const v = row[i];
          fields[names[i]!] = v === null || v === undefined ? "" : String(v);
        }
        batch.push({ line, fields });
      }
      yield batch;
      options.onProgress?.({ done: line, total, unit: "rows" });
    }
  } finally {
    conn.closeSync();
    instance.closeSync();
  }
}

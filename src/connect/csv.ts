// Streaming CSV reader (RFC 4180: quoted fields, doubled quotes, CRLF or LF, newlines inside
// quotes). Reads the file in chunks so a file of millions of rows never sits in memory.
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { ConnectError } from "./errors.ts";

/** A data row: fields by header name, and its 1-based line number for error messages. */
export interface FileRow {
  readonly line: number;
  readonly fields: Readonly<Record<string, string>>;
}

export interface ReadProgress {
  /** Bytes (CSV) or rows (Parquet) consumed so far, against `total`. */
  readonly done: number;
  readonly total: number;
  readonly unit: "bytes" | "rows";
}

export interface CsvReadOptions {
  readonly delimiter?: string;
  /** Rows per yielded batch (default 1000). */
  readonly batchSize?: number;
  readonly signal?: AbortSignal;
  readonly onProgress?: (p: ReadProgress) => void;
}

/** Splits CSV text into records; keeps state across chunks. */
export class CsvParser {
  private readonly delimiter: string;
  private field = "";
  private record: string[] = [];
  private inQuotes = false;
  private quotePending = false;
  private line = 1;
  private recordLine = 1;

  constructor(delimiter = ",") {
    if (delimiter.length !== 1)
      throw new ConnectError("CSV_DELIMITER", `CSV delimiter must be one character, got "${delimiter}"`);
    this.delimiter = delimiter;
  }

  /** Feeds a chunk; returns the records completed by it, each with the line it started on. */
  push(chunk: string): { line: number; values: string[] }[] {
    const out: { line: number; values: string[] }[] = [];
    const d = this.delimiter;
    for (let i = 0; i < chunk.length; i++) {
      const ch = chunk[i]!;
      if (this.inQuotes) {
        if (this.quotePending) {
          this.quotePending = false;
          if (ch === '"') {
            this.field += '"';
            continue;
          }
          this.inQuotes = false;
          // fall through: the quote closed the field; handle ch as outside quotes
        } else if (ch === '"') {
          this.quotePending = true;
          continue;
        } else {
          if (ch === "\n") this.line++;
          this.field += ch;
          continue;
        }
      }
      if (ch === '"' && this.field === "") {
        this.inQuotes = true;
      } else if (ch === d) {
        this.record.push(this.field);
        this.field = "";
      } else if (ch === "\n") {
        this.endRecord(out);
        this.line++;
        this.recordLine = this.line;
      } else if (ch !== "\r") {
        this.field += ch;
      }
    }
    return out;
  }

  /** Flushes the last record when the file does not end with a newline. */
  end(): { line: number; values: string[] }[] {
    const out: { line: number; values: string[] }[] = [];
    if (this.inQuotes && !this.quotePending) {
      throw new ConnectError(
        "CSV_UNTERMINATED_QUOTE",
        `unterminated quoted field starting on line ${this.recordLine}`,
      );
    }
    this.inQuotes = false;
    this.quotePending = false;
    if (this.field !== "" || this.record.length > 0) this.endRecord(out);
    return out;
  }

  private endRecord(out: { line: number; values: string[] }[]): void {
    this.record.push(this.field);
    this.field = "";
    const values = this.record;
    this.record = [];
    if (values.length === 1 && values[0] === "") return; // blank line
    out.push({ line: this.recordLine, values });
  }
}

/** Reads a CSV file with a header row, yielding batches of rows keyed by header name. */
export async function* readCsvFile(path: string, options: CsvReadOptions = {}): AsyncGenerator<FileRow[]> {
  let total: number;
  try {
    total = (await stat(path)).size;
  } catch (e) {
    throw new ConnectError("FILE_NOT_FOUND", `cannot read ${path}: ${(e as Error).message}`, { cause: e });
  }
  const parser = new CsvParser(options.delimiter ?? ",");
  const batchSize = options.batchSize ?? 1000;
  let header: string[] | undefined;
  let batch: FileRow[] = [];
  let done = 0;
  const stream = createReadStream(path, { encoding: "utf8", highWaterMark: 256 * 1024 });
  const take = function* (records: { line: number; values: string[] }[]): Generator<FileRow[]> {
    for (const r of records) {
      if (header === undefined) {
        header = r.values.map((h, i) => (i === 0 ? h.replace(/^\uFEFF/, "") : h).trim().toLowerCase());
        continue;
      }
      const fields: Record<string, string> = {};
      for (let i = 0; i < header.length; i++) fields[header[i]!] = r.values[i] ?? "";
      batch.push({ line: r.line, fields });
      if (batch.length >= batchSize) {
        yield batch;
        batch = [];
      }
    }
  };
  try {
    for await (const chunk of stream) {
      options.signal?.throwIfAborted();
      done += Buffer.byteLength(chunk as string, "utf8");
      yield* take(parser.push(chunk as string));
      options.onProgress?.({ done, total, unit: "bytes" });
    }
    yield* take(parser.end());
  } catch (e) {
    if (e instanceof ConnectError) throw new ConnectError(e.code, `${path}: ${e.message}`);
    throw e;
  } finally {
    stream.destroy();
  }
  if (batch.length) yield batch;
  options.onProgress?.({ done: total, total, unit: "bytes" });
}

// A file source: rows of a CSV or Parquet file turned into records of a topic, with progress.
// The mapping row -> record is the caller's; the source knows nothing of the domain.
import { extname } from "node:path";
import type { Cluster, ProducerRecord } from "../cluster/index.ts";
import { type FileRow, type ReadProgress, readCsvFile } from "./csv.ts";
import { ConnectError } from "./errors.ts";
import { readParquetFile } from "./parquet.ts";

export type FileFormat = "csv" | "parquet";

export function detectFileFormat(path: string): FileFormat {
  const ext = extname(path).toLowerCase();
  if (ext === ".csv" || ext === ".txt") return "csv";
  if (ext === ".parquet" || ext === ".pq") return "parquet";
  throw new ConnectError(
    "FILE_FORMAT",
    `cannot tell the format of ${path}: expected a .csv or .parquet file`,
  );
}

export interface FileReadOptions {
  readonly format?: FileFormat;
  readonly batchSize?: number;
  readonly signal?: AbortSignal;
  readonly onProgress?: (p: ReadProgress) => void;
}

/** Rows of a CSV (header row required) or Parquet file, in batches, field names lower-cased. */
export function readFileRows(path: string, options: FileReadOptions = {}): AsyncGenerator<FileRow[]> {
  const format = options.format ?? detectFileFormat(path);
  return format === "csv" ? readCsvFile(path, options) : readParquetFile(path, options);
}

/** A record derived from a row. Strings are written as UTF-8. */
export interface RowRecord {
  readonly key: string | Uint8Array;
  readonly value: string | Uint8Array | null;
  readonly partition?: number;
  readonly timestamp?: number;
}

/** Thrown by a row mapper for a row that must not be loaded: counted and reported, not fatal. */
export class RowRejected extends Error {
  readonly code = "ROW_REJECTED";
  constructor(reason: string) {
    super(reason);
    this.name = "RowRejected";
  }
}

export interface LoadProgress {
  readonly rowsRead: number;
  readonly recordsWritten: number;
  readonly rowsRejected: number;
  /** Fraction of the file consumed, 0..1. */
  readonly fraction: number;
}

export interface LoadSummary extends LoadProgress {
  readonly file: string;
  readonly topic: string;
  readonly durationMs: number;
  /** The first rejected rows (up to 20), with their line and reason. */
  readonly rejects: readonly { readonly line: number; readonly reason: string }[];
}

export interface FileToTopicOptions extends FileReadOptions {
  readonly topic: string;
  /** Maps a row to a record; return null to skip silently, throw RowRejected to reject. */
  readonly toRecord: (row: FileRow) => RowRecord | null;
  /** Creates the topic when missing (default: 1 partition, compacted). */
  readonly createTopic?: { readonly partitions: number; readonly config?: Readonly<Record<string, string>> };
  /** Called after each batch is stored. */
  readonly onLoadProgress?: (p: LoadProgress) => void;
  /** Fail when more rows than this are rejected (default: never). */
  readonly maxRejects?: number;
}

const utf8 = new TextEncoder();
const bytes = (v: string | Uint8Array): Uint8Array => (typeof v === "string" ? utf8.encode(v) : v);

/**
 * Loads a file into a topic through an idempotent producer, batch by batch; each batch is
 * acknowledged before the next is read, so memory stays flat and progress is truthful.
 */
export async function loadFileIntoTopic(
  cluster: Cluster,
  path: string,
  options: FileToTopicOptions,
): Promise<LoadSummary> {
  const started = Date.now();
  const spec = options.createTopic ?? { partitions: 1, config: { "cleanup.policy": "compact" } };
  await cluster
    .admin()
    .createTopics([{ name: options.topic, partitions: spec.partitions, config: spec.config }], {
      ifNotExists: true,
    });
  const producer = await cluster.createProducer({
    clientId: `file-source:${options.topic}`,
    idempotent: true,
  });
  let rowsRead = 0;
  let recordsWritten = 0;
  let rowsRejected = 0;
  let fraction = 0;
  const rejects: { line: number; reason: string }[] = [];
  const progress = (): LoadProgress => ({ rowsRead, recordsWritten, rowsRejected, fraction });
  try {
    for await (const batch of readFileRows(path, {
      ...options,
      onProgress: (p) => {
        fraction = p.total > 0 ? p.done / p.total : 1;
        options.onProgress?.(p);
      },
    })) {
      const records: ProducerRecord[] = [];
      for (const row of batch) {
        rowsRead++;
        let rec: RowRecord | null;
        try {
          rec = options.toRecord(row);
        } catch (e) {
          if (!(e instanceof RowRejected)) throw e;
          rowsRejected++;
          if (rejects.length < 20) rejects.push({ line: row.line, reason: e.message });
          if (options.maxRejects !== undefined && rowsRejected > options.maxRejects) {
            throw new ConnectError(
              "TOO_MANY_REJECTS",
              `${path}: more than ${options.maxRejects} rows rejected; first: ${rejects
                .slice(0, 3)
                .map((r) => `line ${r.line}: ${r.reason}`)
                .join("; ")}`,
            );
          }
          continue;
        }
        if (rec === null) continue;
        records.push({
          topic: options.topic,
          key: bytes(rec.key),
          value: rec.value === null ? null : bytes(rec.value),
          ...(rec.partition === undefined ? {} : { partition: rec.partition }),
          ...(rec.timestamp === undefined ? {} : { timestamp: rec.timestamp }),
        });
      }
      if (records.length) await producer.send(records);
      recordsWritten += records.length;
      options.onLoadProgress?.(progress());
    }
  } finally {
    await producer.close();
  }
  fraction = 1;
  options.onLoadProgress?.(progress());
  return { ...progress(), file: path, topic: options.topic, durationMs: Date.now() - started, rejects };
}

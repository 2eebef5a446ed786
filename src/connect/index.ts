// Public face of the connect layer: sources and sinks between files and topics.
export { CsvParser, type CsvReadOptions, type FileRow, type ReadProgress, readCsvFile } from "./csv.ts";
export { ConnectError } from "./errors.ts";
export {
  detectFileFormat,
  type FileFormat,
  type FileReadOptions,
  type FileToTopicOptions,
  type LoadProgress,
  type LoadSummary,
  loadFileIntoTopic,
  RowRejected,
  type RowRecord,
  readFileRows,
} from "./file-source.ts";
export { type ParquetReadOptions, readParquetFile } from "./parquet.ts";

// Errors of the log layer. `code` is Kafka's error name wherever Kafka has one, so the broker and the
// wire server map them to protocol error codes without parsing messages.

export type LogErrorCode =
  | "OFFSET_OUT_OF_RANGE"
  | "CORRUPT_MESSAGE"
  | "INVALID_RECORD"
  | "MESSAGE_TOO_LARGE"
  | "RECORD_LIST_TOO_LARGE"
  | "INVALID_TIMESTAMP"
  | "UNSUPPORTED_COMPRESSION_TYPE"
  | "UNSUPPORTED_FOR_MESSAGE_FORMAT"
  | "OUT_OF_ORDER_SEQUENCE_NUMBER"
  | "DUPLICATE_SEQUENCE_NUMBER"
  | "INVALID_PRODUCER_EPOCH"
  | "INVALID_TXN_STATE"
  | "TRANSACTION_COORDINATOR_FENCED"
  | "UNKNOWN_PRODUCER_ID"
  | "INVALID_CONFIG"
  | "INVALID_TOPIC_EXCEPTION"
  | "INVALID_PARTITIONS"
  | "INVALID_REQUEST"
  | "TOPIC_ALREADY_EXISTS"
  | "UNKNOWN_TOPIC_OR_PARTITION"
  | "KAFKA_STORAGE_ERROR"
  | "LOG_DIR_LOCKED"
  | "LOG_CLOSED";

/** Codes a client may retry after (Kafka's RetriableException set, restricted to ours). */
const RETRIABLE: ReadonlySet<LogErrorCode> = new Set<LogErrorCode>([
  "OFFSET_OUT_OF_RANGE",
  "CORRUPT_MESSAGE",
  "UNKNOWN_TOPIC_OR_PARTITION",
  "KAFKA_STORAGE_ERROR",
]);

export class LogError extends Error {
  readonly code: LogErrorCode;
  readonly retriable: boolean;
  constructor(code: LogErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = "LogError";
    this.code = code;
    this.retriable = RETRIABLE.has(code);
  }
}

/** True when `e` is a LogError, optionally of the given code. */
export function isLogError(e: unknown, code?: LogErrorCode): e is LogError {
  return e instanceof LogError && (code === undefined || e.code === code);
}

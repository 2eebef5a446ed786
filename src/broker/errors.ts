// Kafka's error names and numeric codes. The broker answers with names (the `code` of KafkaError and the
// `errorCode` of response entries); the wire server maps them to numbers with KAFKA_ERROR_CODES.
import { KafkaError } from "../cluster/types.ts";

export { KafkaError };

export const KAFKA_ERROR_CODES = {
  UNKNOWN_SERVER_ERROR: -1,
  NONE: 0,
  OFFSET_OUT_OF_RANGE: 1,
  CORRUPT_MESSAGE: 2,
  UNKNOWN_TOPIC_OR_PARTITION: 3,
  INVALID_FETCH_SIZE: 4,
  LEADER_NOT_AVAILABLE: 5,
  NOT_LEADER_OR_FOLLOWER: 6,
  REQUEST_TIMED_OUT: 7,
  BROKER_NOT_AVAILABLE: 8,
  MESSAGE_TOO_LARGE: 10,
  OFFSET_METADATA_TOO_LARGE: 12,
  COORDINATOR_LOAD_IN_PROGRESS: 14,
  COORDINATOR_NOT_AVAILABLE: 15,
  NOT_COORDINATOR: 16,
  INVALID_TOPIC_EXCEPTION: 17,
  RECORD_LIST_TOO_LARGE: 18,
  INVALID_REQUIRED_ACKS: 21,
  ILLEGAL_GENERATION: 22,
  INCONSISTENT_GROUP_PROTOCOL: 23,
  INVALID_GROUP_ID: 24,
  UNKNOWN_MEMBER_ID: 25,
  INVALID_SESSION_TIMEOUT: 26,
  REBALANCE_IN_PROGRESS: 27,
  INVALID_COMMIT_OFFSET_SIZE: 28,
  INVALID_TIMESTAMP: 32,
  UNSUPPORTED_VERSION: 35,
  TOPIC_ALREADY_EXISTS: 36,
  INVALID_PARTITIONS: 37,
  INVALID_REPLICATION_FACTOR: 38,
  INVALID_CONFIG: 40,
  INVALID_REQUEST: 42,
  UNSUPPORTED_FOR_MESSAGE_FORMAT: 43,
  POLICY_VIOLATION: 44,
  OUT_OF_ORDER_SEQUENCE_NUMBER: 45,
  DUPLICATE_SEQUENCE_NUMBER: 46,
  INVALID_PRODUCER_EPOCH: 47,
  INVALID_TXN_STATE: 48,
  INVALID_PRODUCER_ID_MAPPING: 49,
  INVALID_TRANSACTION_TIMEOUT: 50,
  CONCURRENT_TRANSACTIONS: 51,
  TRANSACTION_COORDINATOR_FENCED: 52,
  OPERATION_NOT_ATTEMPTED: 55,
  KAFKA_STORAGE_ERROR: 56,
  UNKNOWN_PRODUCER_ID: 59,
  NON_EMPTY_GROUP: 68,
  GROUP_ID_NOT_FOUND: 69,
  TOPIC_DELETION_DISABLED: 73,
  UNSUPPORTED_COMPRESSION_TYPE: 76,
  OFFSET_NOT_AVAILABLE: 78,
  MEMBER_ID_REQUIRED: 79,
  GROUP_MAX_SIZE_REACHED: 81,
  FENCED_INSTANCE_ID: 82,
  GROUP_SUBSCRIBED_TO_TOPIC: 86,
  INVALID_RECORD: 87,
  UNSTABLE_OFFSET_COMMIT: 88,
  PRODUCER_FENCED: 90,
  RESOURCE_NOT_FOUND: 91,
  TRANSACTIONAL_ID_NOT_FOUND: 105,
  TRANSACTION_ABORTABLE: 120,
} as const;

export type KafkaErrorName = keyof typeof KAFKA_ERROR_CODES;

/** Errors a client retries after (Kafka's RetriableException subclasses, restricted to the ones we emit). */
const RETRIABLE: ReadonlySet<string> = new Set<KafkaErrorName>([
  "OFFSET_OUT_OF_RANGE",
  "CORRUPT_MESSAGE",
  "UNKNOWN_TOPIC_OR_PARTITION",
  "LEADER_NOT_AVAILABLE",
  "NOT_LEADER_OR_FOLLOWER",
  "REQUEST_TIMED_OUT",
  "BROKER_NOT_AVAILABLE",
  "COORDINATOR_LOAD_IN_PROGRESS",
  "COORDINATOR_NOT_AVAILABLE",
  "NOT_COORDINATOR",
  "CONCURRENT_TRANSACTIONS",
  "KAFKA_STORAGE_ERROR",
  "UNSTABLE_OFFSET_COMMIT",
  "REBALANCE_IN_PROGRESS",
]);

export function isRetriable(code: string): boolean {
  return RETRIABLE.has(code);
}

/** Numeric protocol code of an error name; unknown names map to UNKNOWN_SERVER_ERROR (-1). */
export function errorCodeNumber(code: string): number {
  return (KAFKA_ERROR_CODES as Record<string, number>)[code] ?? -1;
}

/** Makes a KafkaError with Kafka's retriable flag for the code. */
export function kafkaError(code: KafkaErrorName | string, message: string, cause?: unknown): KafkaError {
  return new KafkaError(code, message, { retriable: isRetriable(code), cause });
}

/** The `code` of an error thrown by any layer (log errors carry Kafka names too), else UNKNOWN_SERVER_ERROR. */
export function codeOf(e: unknown): string {
  if (e && typeof e === "object" && "code" in e && typeof (e as { code: unknown }).code === "string") {
    const c = (e as { code: string }).code;
    if (c in KAFKA_ERROR_CODES) return c;
    if (c === "LOG_DIR_LOCKED" || c === "LOG_CLOSED") return "KAFKA_STORAGE_ERROR";
    if (c === "ENOSPC" || c === "EIO" || c === "EROFS" || c === "EDQUOT") return "KAFKA_STORAGE_ERROR";
  }
  return "UNKNOWN_SERVER_ERROR";
}

export function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

// Errors of the streams layer. Each has a `code` callers can branch on; messages name what,
// where (topic, partition, offset, node, store) and why.

export type StreamsErrorCode =
  | "TOPOLOGY_INVALID"
  | "STORE_NOT_FOUND"
  | "STORE_NOT_READY"
  | "SERDE_MISSING"
  | "DESERIALIZATION"
  | "SERIALIZATION"
  | "PROCESSING"
  | "CONFIG_INVALID"
  | "ILLEGAL_STATE"
  | "TASK_MIGRATED"
  | "FENCED"
  | "CO_PARTITIONING"
  | "MISSING_SOURCE_TOPIC"
  | "INVALID_TIMESTAMP";

export class StreamsError extends Error {
  readonly code: StreamsErrorCode;
  constructor(code: StreamsErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = "StreamsError";
    this.code = code;
  }
}

export class TopologyError extends StreamsError {
  constructor(message: string) {
    super("TOPOLOGY_INVALID", message);
    this.name = "TopologyError";
  }
}

/** A record failed inside a processor; carries where it was being processed. */
export class ProcessingError extends StreamsError {
  readonly node: string;
  readonly topic: string | null;
  readonly partition: number;
  readonly offset: number;
  constructor(
    node: string,
    where: { topic: string | null; partition: number; offset: number },
    cause: unknown,
  ) {
    const why = cause instanceof Error ? cause.message : String(cause);
    super(
      "PROCESSING",
      `processor ${node} failed on record ${where.topic ?? "(punctuation)"}-${where.partition}@${where.offset}: ${why}`,
      { cause },
    );
    this.name = "ProcessingError";
    this.node = node;
    this.topic = where.topic;
    this.partition = where.partition;
    this.offset = where.offset;
  }
}

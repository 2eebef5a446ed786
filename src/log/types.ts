// Public types of the log layer: what the broker, the wire server and the embedded cluster code against.
// Offsets, producer ids and timestamps are plain numbers (2^53 is far beyond any real log).

export type CompressionType = "none" | "gzip" | "snappy" | "lz4" | "zstd";
export type TimestampType = "CreateTime" | "LogAppendTime";
export type IsolationLevel = "read_uncommitted" | "read_committed";

export interface RecordHeader {
  readonly key: string;
  readonly value: Uint8Array | null;
}

/** A record to encode into a batch. A missing timestamp means "now" (the encoder's clock). */
export interface RecordInput {
  readonly key?: Uint8Array | null;
  readonly value: Uint8Array | null;
  readonly timestamp?: number;
  readonly headers?: readonly RecordHeader[];
}

/** A record decoded from a batch, with its absolute offset. Key/value are views into the batch bytes. */
export interface LogRecord {
  readonly offset: number;
  readonly timestamp: number;
  readonly timestampType: TimestampType;
  readonly key: Uint8Array | null;
  readonly value: Uint8Array | null;
  readonly headers: readonly RecordHeader[];
}

/** The 61-byte header of a v2 record batch, decoded. */
export interface RecordBatchHeader {
  readonly baseOffset: number;
  /** Bytes after the batchLength field; the batch occupies 12 + batchLength bytes. */
  readonly batchLength: number;
  readonly partitionLeaderEpoch: number;
  readonly magic: number;
  readonly crc: number;
  readonly attributes: number;
  readonly compression: CompressionType;
  readonly timestampType: TimestampType;
  readonly isTransactional: boolean;
  readonly isControl: boolean;
  readonly hasDeleteHorizon: boolean;
  readonly lastOffsetDelta: number;
  readonly baseTimestamp: number;
  readonly maxTimestamp: number;
  readonly producerId: number;
  readonly producerEpoch: number;
  readonly baseSequence: number;
  readonly recordCount: number;
  /** baseOffset + lastOffsetDelta. */
  readonly lastOffset: number;
  /** 12 + batchLength: the batch's size in bytes. */
  readonly sizeInBytes: number;
}

/** A decoded batch: its header and its records (control batches: the one control record). */
export interface DecodedRecordBatch {
  readonly header: RecordBatchHeader;
  readonly records: LogRecord[];
}

export type ControlRecordType = "abort" | "commit" | "unknown";

/** The content of a control record (transaction marker). */
export interface ControlRecord {
  readonly type: ControlRecordType;
  /** Kafka's numeric type: 0 abort, 1 commit, 2.. others (ignored by readers). */
  readonly typeId: number;
  readonly coordinatorEpoch: number;
}

export interface EncodeBatchOptions {
  /** Default 0; the log assigns the real one on append. */
  readonly baseOffset?: number;
  /** Default -1 (unknown): the log does not use leader epochs. */
  readonly partitionLeaderEpoch?: number;
  readonly compression?: CompressionType;
  readonly timestampType?: TimestampType;
  readonly transactional?: boolean;
  /** -1 (default) when not idempotent. */
  readonly producerId?: number;
  readonly producerEpoch?: number;
  readonly baseSequence?: number;
  /** Timestamp of records that carry none; default Date.now(). */
  readonly timestamp?: number;
}

export interface EncodeControlBatchOptions {
  readonly type: "commit" | "abort";
  readonly producerId: number;
  readonly producerEpoch: number;
  readonly coordinatorEpoch: number;
  readonly timestamp: number;
  readonly baseOffset?: number;
  readonly partitionLeaderEpoch?: number;
}

// ---------------------------------------------------------------- topic configuration

export type FlushMode = "every-batch" | "interval" | "os";

/**
 * Parsed, validated topic configuration. The string form (Kafka's config names) is what is stored and
 * shown; see TOPIC_CONFIG_DEFAULTS for the names and defaults.
 */
export interface LogConfig {
  readonly cleanupPolicy: { readonly delete: boolean; readonly compact: boolean };
  /** -1: unlimited. */
  readonly retentionMs: number;
  /** -1: unlimited. */
  readonly retentionBytes: number;
  readonly segmentBytes: number;
  readonly segmentMs: number;
  readonly segmentIndexBytes: number;
  readonly indexIntervalBytes: number;
  readonly minCompactionLagMs: number;
  readonly maxCompactionLagMs: number;
  readonly deleteRetentionMs: number;
  readonly minCleanableDirtyRatio: number;
  readonly maxMessageBytes: number;
  readonly messageTimestampType: TimestampType;
  readonly flushMode: FlushMode;
  /** Interval of the "interval" flush mode. */
  readonly flushMs: number;
}

// ---------------------------------------------------------------- partition log

/** Who appends: producers are validated and sequence-checked; the coordinator writes internal records. */
export type AppendOrigin = "client" | "coordinator";

export interface AppendOptions {
  readonly origin?: AppendOrigin;
  /**
   * The caller vouches that the batches are `encodeRecordBatch` output of this process, unmodified
   * since: their CRC-32C and per-record framing are then not checked again (valid by construction).
   * Only buffers the encoder returned qualify (any other bytes, e.g. from the network or another
   * thread, are checked in full whatever this says); keys on compacted topics are still required.
   */
  readonly encodedInProcess?: boolean;
}

export interface AppendResult {
  /** Offset of the first record appended (for a duplicate: of the original append). */
  readonly baseOffset: number;
  readonly lastOffset: number;
  /** Broker time of the append when the topic uses LogAppendTime, else -1 (as Kafka's ProduceResponse). */
  readonly logAppendTime: number;
  readonly logStartOffset: number;
  readonly recordCount: number;
  /** True when the batch was a retry of one already stored: nothing was appended. */
  readonly duplicate: boolean;
}

export interface AbortedTransaction {
  readonly producerId: number;
  readonly firstOffset: number;
}

export interface ReadOptions {
  /** Default read_uncommitted. read_committed bounds the read at the last stable offset. */
  readonly isolation?: IsolationLevel;
  /** Read only batches whose base offset is below this (exclusive upper bound). */
  readonly maxOffset?: number;
  /** Default true: return the first batch even if it is larger than maxBytes (KIP-74), so a consumer always progresses. */
  readonly minOneBatch?: boolean;
}

/** What Kafka's Fetch response carries for one partition. */
export interface FetchResult {
  /** Whole stored batches, as stored (CRC intact); may start before fetchOffset (the batch containing it). Empty at the end. */
  readonly records: Buffer;
  readonly highWatermark: number;
  readonly lastStableOffset: number;
  readonly logStartOffset: number;
  /** For read_committed: aborted transactions overlapping the returned range; null for read_uncommitted. */
  readonly abortedTransactions: AbortedTransaction[] | null;
}

export interface ReadRecordsOptions {
  readonly isolation?: IsolationLevel;
  /** Default 1 MiB. */
  readonly maxBytes?: number;
  readonly maxRecords?: number;
  /**
   * The records also carry the log's `topic` and `partition` (a consumer's record shape, so an
   * in-process consumer hands them out as they are instead of copying each one).
   */
  readonly withTopicPartition?: boolean;
}

export interface ReadRecordsResult {
  /** Data records at offsets >= fetchOffset; no control records; for read_committed, no aborted ones. */
  readonly records: LogRecord[];
  /** Where to fetch next (past every batch consumed, including skipped control/aborted batches). */
  readonly nextOffset: number;
  readonly highWatermark: number;
  readonly lastStableOffset: number;
  readonly logStartOffset: number;
}

export type ListOffsetSpec = "earliest" | "latest" | "max-timestamp" | { readonly timestamp: number };

export interface ListOffsetResult {
  /** -1 when no record has a timestamp >= the one asked for (Kafka answers offset -1). */
  readonly offset: number;
  readonly timestamp: number;
}

/** Idempotence/transaction state of one producer on one partition. */
export interface ProducerStateView {
  readonly producerId: number;
  readonly producerEpoch: number;
  /** -1 before any data batch. */
  readonly lastSequence: number;
  readonly lastOffset: number;
  readonly lastTimestamp: number;
  readonly coordinatorEpoch: number;
  /** First offset of the producer's open transaction on this partition, or -1. */
  readonly currentTxnFirstOffset: number;
}

export interface WaitForDataOptions {
  readonly isolation?: IsolationLevel;
  readonly signal?: AbortSignal;
  /** Resolve false after this long without data; default: wait until data or abort. */
  readonly timeoutMs?: number;
}

export interface PartitionInfo {
  readonly topic: string;
  readonly partition: number;
  readonly logStartOffset: number;
  readonly logEndOffset: number;
  readonly highWatermark: number;
  readonly lastStableOffset: number;
  readonly sizeInBytes: number;
  readonly segmentCount: number;
}

export interface TopicInfo {
  readonly name: string;
  readonly partitions: number;
  /** Overrides set on the topic (Kafka's "dynamic topic config"). */
  readonly config: Readonly<Record<string, string>>;
  /** Every config name with its effective value. */
  readonly effectiveConfig: Readonly<Record<string, string>>;
  readonly createdAt: number;
}

export interface CompactionStats {
  readonly partitionsCleaned: number;
  readonly segmentsRewritten: number;
  readonly recordsRemoved: number;
  readonly bytesBefore: number;
  readonly bytesAfter: number;
}

export interface RetentionStats {
  readonly segmentsDeleted: number;
  readonly bytesDeleted: number;
}

/** A storage operation, for fault injection in tests (a full disk, a failing device). */
export type StorageOp = "open" | "write" | "fsync" | "truncate" | "read" | "rename";

/** Called before each storage operation of the log; throwing makes the operation fail with that error. */
export type StorageFaultHook = (op: StorageOp, path: string) => void;

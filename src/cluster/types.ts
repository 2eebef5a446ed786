// The seam between processing and storage. The streams runtime sees only these types, so an
// app runs unchanged on the embedded broker (EmbeddedCluster) or on Apache Kafka (KafkaCluster).
// Shapes follow the Java client's semantics (poll loop, rebalance listener, transactional
// producer with sendOffsetsToTransaction) because Kafka Streams' guarantees are built on them.

/** Offsets are plain numbers: 2^53 records per partition is far beyond any real log. */
export type Offset = number;

export interface TopicPartition {
  readonly topic: string;
  readonly partition: number;
}

export interface RecordHeader {
  readonly key: string;
  readonly value: Uint8Array | null;
}

export type CompressionType = "none" | "gzip" | "snappy" | "lz4" | "zstd";
export type IsolationLevel = "read_committed" | "read_uncommitted";
export type TimestampType = "CreateTime" | "LogAppendTime";

/** A record handed to a producer. `partition` omitted: the default partitioner hashes the key (murmur2, as Kafka). */
export interface ProducerRecord {
  readonly topic: string;
  readonly partition?: number;
  readonly key: Uint8Array | null;
  readonly value: Uint8Array | null;
  readonly timestamp?: number;
  readonly headers?: readonly RecordHeader[];
}

export interface RecordMetadata {
  readonly topic: string;
  readonly partition: number;
  readonly offset: Offset;
  readonly timestamp: number;
}

/** A record read by a consumer. */
export interface ConsumedRecord {
  readonly topic: string;
  readonly partition: number;
  readonly offset: Offset;
  readonly timestamp: number;
  readonly timestampType: TimestampType;
  readonly key: Uint8Array | null;
  readonly value: Uint8Array | null;
  readonly headers: readonly RecordHeader[];
}

export interface OffsetAndMetadata extends TopicPartition {
  readonly offset: Offset;
  readonly metadata?: string;
}

/** What a transactional producer needs to commit a consumer's offsets with group fencing (KIP-447). */
export interface ConsumerGroupMetadata {
  readonly groupId: string;
  readonly generationId: number;
  readonly memberId: string;
  readonly groupInstanceId?: string;
}

export interface ProducerOptions {
  readonly clientId?: string;
  /** Default true: retries never duplicate. */
  readonly idempotent?: boolean;
  /** Set to make a transactional producer; creating it runs InitProducerId (fences older epochs). */
  readonly transactionalId?: string;
  readonly transactionTimeoutMs?: number;
  readonly compression?: CompressionType;
  /** acks: -1 (all, default) or 1; 0 is not offered because nothing could be acknowledged. */
  readonly acks?: -1 | 1;
}

export interface Producer {
  /** Appends records; resolves once every one is stored (acknowledged). Order is kept per partition. */
  send(records: readonly ProducerRecord[]): Promise<RecordMetadata[]>;
  beginTransaction(): void;
  sendOffsetsToTransaction(
    offsets: readonly OffsetAndMetadata[],
    group: ConsumerGroupMetadata,
  ): Promise<void>;
  commitTransaction(): Promise<void>;
  abortTransaction(): Promise<void>;
  /** Number of partitions of a topic, for partitioning decisions. */
  partitionsFor(topic: string): Promise<number>;
  close(): Promise<void>;
  /**
   * send() answering one offset range per partition written instead of a RecordMetadata per
   * record, where the client can (the embedded producer, in-process or linked). Sends keep their
   * call order: a call's records come after those of every earlier call, even one whose promise
   * has not settled yet, so a caller may send again without waiting for the answer.
   */
  sendForPartitions?(records: readonly ProducerRecord[]): Promise<PartitionAppend[]>;
}

/** Where one send's records went in one partition: offsets baseOffset..lastOffset, in send order. */
export interface PartitionAppend {
  readonly topic: string;
  readonly partition: number;
  readonly baseOffset: number;
  readonly lastOffset: number;
}

export type PartitionAssignor = "range" | "roundrobin" | "cooperative-sticky";
export type AutoOffsetReset = "earliest" | "latest" | "none";

export interface ConsumerOptions {
  readonly clientId?: string;
  /** Without a group the consumer is used with assign() only. */
  readonly groupId?: string;
  /** Static membership (KIP-345). */
  readonly groupInstanceId?: string;
  readonly isolationLevel?: IsolationLevel;
  readonly autoOffsetReset?: AutoOffsetReset;
  readonly sessionTimeoutMs?: number;
  readonly rebalanceTimeoutMs?: number;
  readonly heartbeatIntervalMs?: number;
  readonly assignors?: readonly PartitionAssignor[];
  readonly maxPollRecords?: number;
  /** Default false: Courant's runtime commits explicitly. */
  readonly enableAutoCommit?: boolean;
  /** Opaque bytes sent in the member's subscription userData (the streams runtime encodes its task state there). */
  readonly subscriptionUserData?: Uint8Array;
}

/** Called from inside poll(), as in the Java client; poll() waits for the returned promise. */
export interface RebalanceListener {
  onPartitionsRevoked?(partitions: readonly TopicPartition[]): void | Promise<void>;
  /**
   * Called after every completed rebalance with the partitions added (possibly none, as the Java
   * client): the assignment may be unchanged and the caller still needs to know the rebalance ended.
   */
  onPartitionsAssigned?(partitions: readonly TopicPartition[]): void | Promise<void>;
  /** Partitions taken away without a chance to commit (session expired, fenced). */
  onPartitionsLost?(partitions: readonly TopicPartition[]): void | Promise<void>;
}

export interface PollOptions {
  /** Longest time to wait for records when none are ready. */
  readonly maxWaitMs: number;
  readonly maxRecords?: number;
  readonly signal?: AbortSignal;
}

export interface Consumer {
  subscribe(topics: readonly string[], listener?: RebalanceListener): Promise<void>;
  /** Manual assignment without group management (restore consumers, global tables). */
  assign(partitions: readonly TopicPartition[]): void;
  assignment(): TopicPartition[];
  poll(options: PollOptions): Promise<ConsumedRecord[]>;
  seek(partition: TopicPartition, offset: Offset): void;
  seekToBeginning(partitions: readonly TopicPartition[]): Promise<void>;
  seekToEnd(partitions: readonly TopicPartition[]): Promise<void>;
  position(partition: TopicPartition): Promise<Offset>;
  pause(partitions: readonly TopicPartition[]): void;
  resume(partitions: readonly TopicPartition[]): void;
  commit(offsets?: readonly OffsetAndMetadata[]): Promise<void>;
  committed(partitions: readonly TopicPartition[]): Promise<Map<string, Offset | null>>;
  beginningOffsets(partitions: readonly TopicPartition[]): Promise<Map<string, Offset>>;
  /** Log end offsets; with read_committed, the last stable offsets. */
  endOffsets(partitions: readonly TopicPartition[]): Promise<Map<string, Offset>>;
  groupMetadata(): ConsumerGroupMetadata;
  /**
   * Rejoins the group (Java's enforceRebalance): the rebalance runs in a later poll(), whose
   * listener calls report its outcome even when the assignment does not change. A no-op without a
   * subscription. Optional so that other implementations of this interface stay valid.
   */
  enforceRebalance?(): void;
  close(): Promise<void>;
}

export type TopicConfig = Readonly<Record<string, string>>;

export interface NewTopic {
  readonly name: string;
  readonly partitions: number;
  readonly config?: TopicConfig;
}

export interface PartitionDescription {
  readonly partition: number;
  readonly leader: number;
  readonly logStartOffset: Offset;
  readonly highWatermark: Offset;
}

export interface TopicDescription {
  readonly name: string;
  readonly internal: boolean;
  readonly partitions: readonly PartitionDescription[];
  readonly config: TopicConfig;
}

export interface GroupListing {
  readonly groupId: string;
  readonly state: string;
  readonly protocolType: string;
}

export interface GroupMemberDescription {
  readonly memberId: string;
  readonly groupInstanceId?: string;
  readonly clientId: string;
  readonly assignment: readonly TopicPartition[];
}

export interface GroupDescription {
  readonly groupId: string;
  readonly state: string;
  readonly protocol: string;
  readonly generationId: number;
  readonly members: readonly GroupMemberDescription[];
}

export interface PartitionLag extends TopicPartition {
  readonly committed: Offset | null;
  readonly endOffset: Offset;
  readonly lag: number;
}

export type OffsetSpec = "earliest" | "latest" | { readonly timestamp: number };

export interface Admin {
  createTopics(topics: readonly NewTopic[], options?: { readonly ifNotExists?: boolean }): Promise<void>;
  deleteTopics(names: readonly string[]): Promise<void>;
  listTopics(options?: { readonly includeInternal?: boolean }): Promise<string[]>;
  describeTopics(names: readonly string[]): Promise<TopicDescription[]>;
  alterTopicConfig(name: string, config: TopicConfig): Promise<void>;
  createPartitions(name: string, totalCount: number): Promise<void>;
  deleteRecords(partition: TopicPartition, beforeOffset: Offset): Promise<Offset>;
  listOffsets(partitions: readonly TopicPartition[], spec: OffsetSpec): Promise<Map<string, Offset>>;
  listGroups(): Promise<GroupListing[]>;
  describeGroups(groupIds: readonly string[]): Promise<GroupDescription[]>;
  listGroupOffsets(groupId: string): Promise<OffsetAndMetadata[]>;
  /** Lag per partition of a group: end offset (last stable offset) minus committed offset. */
  describeLag(groupId: string): Promise<PartitionLag[]>;
  deleteGroups(groupIds: readonly string[]): Promise<void>;
}

/** What the runtime talks to. One object per process; producers and consumers come from it. */
export interface Cluster {
  readonly kind: "embedded" | "kafka";
  admin(): Admin;
  createProducer(options?: ProducerOptions): Promise<Producer>;
  createConsumer(options?: ConsumerOptions): Promise<Consumer>;
  close(): Promise<void>;
  /**
   * Answers now what other threads wait for from this cluster (the synchronous calls of worker
   * threads' linked clusters), where this thread owns the broker. Long-running work on that thread
   * calls it between chunks; a no-op elsewhere.
   */
  serveWaiting?(): void;
}

/** "topic:partition", the key of the Maps returned above. */
export function tpKey(tp: TopicPartition): string {
  return `${tp.topic}:${tp.partition}`;
}

/** Errors carry Kafka's error name as `code` so callers branch on it, not on messages. */
export class KafkaError extends Error {
  readonly code: string;
  readonly retriable: boolean;
  constructor(code: string, message: string, options?: { retriable?: boolean; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = "KafkaError";
    this.code = code;
    this.retriable = options?.retriable ?? false;
  }
}

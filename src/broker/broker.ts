// The single-node broker: Kafka's request/response semantics as in-process methods, one per Kafka API,
// answering with Kafka's error names. The wire server maps these 1:1 onto the protocol; EmbeddedCluster
// calls them directly. Storage is the log layer; coordinators are GroupCoordinator and TxnCoordinator,
// whose state lives in the compacted internal topics __consumer_offsets and __transaction_state.
import {
  ATTR_CONTROL,
  ATTR_TRANSACTIONAL,
  LOG_OVERHEAD,
  type LogConfig,
  LogManager,
  type PartitionLog,
  parseTopicConfig,
  RECORD_BATCH_OVERHEAD,
  TOPIC_CONFIG_DEFAULTS,
  validateTopicName,
} from "../log/index.ts";
import type { Clock, Logger, MetricsRegistry } from "../observe/index.ts";
import { createLogger, defaultMetrics, systemClock } from "../observe/index.ts";
import { codeOf, kafkaError, messageOf } from "./errors.ts";
import {
  type CommittedOffset,
  type DescribedGroup,
  GroupCoordinator,
  type HeartbeatRequest,
  type JoinGroupRequest,
  type JoinGroupResponse,
  type LeaveGroupRequest,
  type LeaveGroupResponse,
  type OffsetCommitRequest,
  type OffsetFetchRequest,
  type OffsetFetchResponse,
  type PartitionErrorResponse,
  type SyncGroupRequest,
  type SyncGroupResponse,
} from "./group-coordinator.ts";
import {
  decodeGroupValue,
  decodeOffsetsKey,
  decodeOffsetValue,
  decodeTxnKey,
  decodeTxnValue,
  groupKey,
  groupValue,
  INTERNAL_TOPICS,
  OFFSETS_TOPIC,
  offsetKey,
  offsetValue,
  partitionForGroup,
  pidBlockKey,
  TXN_STATE_TOPIC,
  txnKey,
  txnValue,
} from "./internal-topics.ts";
import {
  type InitProducerIdRequest,
  type InitProducerIdResponse,
  TxnCoordinator,
} from "./txn-coordinator.ts";

export interface BrokerOptions {
  readonly dataDir: string;
  readonly brokerId?: number;
  readonly clusterId?: string;
  /** Advertised address (the wire server sets it); in-process users ignore it. */
  readonly host?: string;
  readonly port?: number;
  /** Create unknown topics on Metadata requests that allow it. Default false. */
  readonly autoCreateTopics?: boolean;
  readonly defaultPartitions?: number;
  /** Upper bound on a topic's partition count (default 10,000): one bad CreateTopics must not create millions of directories. */
  readonly maxPartitionsPerTopic?: number;
  /** Broker-level topic config defaults (Kafka's log.* settings), e.g. {"flush.policy": "every-batch"}. */
  readonly defaultTopicConfig?: Readonly<Record<string, string>>;
  readonly clock?: Clock;
  /** Period of the coordinators' timers (sessions, rebalances, transaction timeouts); 0: call tick() yourself. */
  readonly timerIntervalMs?: number;
  readonly groupMinSessionTimeoutMs?: number;
  readonly groupMaxSessionTimeoutMs?: number;
  readonly groupInitialRebalanceDelayMs?: number;
  readonly transactionMaxTimeoutMs?: number;
  /** Partitions of __consumer_offsets when it is created (Kafka: 50; one node needs few). Default 1. */
  readonly offsetsTopicPartitions?: number;
  /** Period of retention/compaction in the log; default the log's. */
  readonly maintenanceIntervalMs?: number;
  readonly logger?: Logger;
  /** Where the broker's metrics go (courant_broker_*); default the process registry. */
  readonly metrics?: MetricsRegistry;
  /** Use an already open LogManager (tests, tools) instead of opening dataDir. */
  readonly logManager?: LogManager;
}

// ------------------------------------------------------------------ request/response shapes

export interface ProduceRequest {
  readonly transactionalId?: string | null;
  /** -1 all, 1 leader, 0 none (the broker still appends; the wire server sends no response). */
  readonly acks: -1 | 0 | 1;
  readonly timeoutMs?: number;
  readonly topics: readonly {
    readonly name: string;
    readonly partitions: readonly { readonly index: number; readonly records: Uint8Array | null }[];
  }[];
}

export interface ProducePartitionResponse {
  index: number;
  errorCode: string;
  errorMessage: string | null;
  baseOffset: number;
  logAppendTimeMs: number;
  logStartOffset: number;
}

export interface ProduceResponse {
  responses: { name: string; partitions: ProducePartitionResponse[] }[];
}

export type IsolationLevel = "read_uncommitted" | "read_committed";

export interface FetchRequest {
  readonly isolationLevel?: IsolationLevel;
  readonly maxWaitMs?: number;
  readonly minBytes?: number;
  readonly maxBytes?: number;
  readonly topics: readonly {
    readonly name: string;
    readonly partitions: readonly {
      readonly index: number;
      readonly fetchOffset: number;
      readonly partitionMaxBytes?: number;
    }[];
  }[];
}

export interface FetchPartitionResponse {
  index: number;
  errorCode: string;
  errorMessage: string | null;
  highWatermark: number;
  lastStableOffset: number;
  logStartOffset: number;
  abortedTransactions: { producerId: number; firstOffset: number }[] | null;
  /** Stored batches, as stored. */
  records: Buffer;
}

export interface FetchResponse {
  responses: { name: string; partitions: FetchPartitionResponse[] }[];
}

export interface ListOffsetsRequest {
  readonly isolationLevel?: IsolationLevel;
  /** Per partition: -1 latest, -2 earliest, -3 max timestamp, else the first offset with timestamp >= it. */
  readonly topics: readonly {
    readonly name: string;
    readonly partitions: readonly { readonly partitionIndex: number; readonly timestamp: number }[];
  }[];
}

export interface ListOffsetsResponse {
  topics: {
    name: string;
    partitions: { partitionIndex: number; errorCode: string; timestamp: number; offset: number }[];
  }[];
}

export interface MetadataRequest {
  /** null: every topic (internal ones included, flagged). */
  readonly topics: readonly string[] | null;
  readonly allowAutoTopicCreation?: boolean;
}

export interface MetadataTopic {
  errorCode: string;
  name: string;
  isInternal: boolean;
  partitions: {
    errorCode: string;
    partitionIndex: number;
    leaderId: number;
    leaderEpoch: number;
    replicaNodes: number[];
    isrNodes: number[];
    offlineReplicas: number[];
  }[];
}

export interface MetadataResponse {
  brokers: { nodeId: number; host: string; port: number; rack: string | null }[];
  clusterId: string;
  controllerId: number;
  topics: MetadataTopic[];
}

export interface CreatableTopic {
  readonly name: string;
  /** -1: the broker default. */
  readonly numPartitions: number;
  readonly replicationFactor?: number;
  readonly configs?: Readonly<Record<string, string>>;
}

export interface CreateTopicResult {
  name: string;
  errorCode: string;
  errorMessage: string | null;
  numPartitions: number;
  configs: Record<string, string>;
}

export type ConfigResourceType = "topic" | "broker";

export interface DescribeConfigsResult {
  resourceType: ConfigResourceType;
  resourceName: string;
  errorCode: string;
  errorMessage: string | null;
  configs: {
    name: string;
    value: string | null;
    readOnly: boolean;
    isDefault: boolean;
    isSensitive: boolean;
  }[];
}

export interface TxnOffsetCommitRequest {
  readonly transactionalId: string;
  readonly groupId: string;
  readonly producerId: number;
  readonly producerEpoch: number;
  readonly generationId?: number;
  readonly memberId?: string;
  readonly groupInstanceId?: string | null;
  readonly topics: OffsetCommitRequest["topics"];
}

// ------------------------------------------------------------------ the broker

function brokerMetrics(r: MetricsRegistry) {
  return {
    produceRecords: r.counter("broker_produce_records_total", "Records appended by producers", ["topic"]),
    produceBytes: r.counter("broker_produce_bytes_total", "Record batch bytes appended by producers", [
      "topic",
    ]),
    produceErrors: r.counter("broker_produce_errors_total", "Produce requests refused, by Kafka error", [
      "code",
    ]),
    fetchBytes: r.counter("broker_fetch_bytes_total", "Record batch bytes returned by Fetch", ["topic"]),
    rebalances: r.counter("broker_group_rebalances_total", "Completed group join phases (new generations)"),
    transactions: r.counter("broker_transactions_total", "Ended transactions by result", ["result"]),
    groups: r.gauge("broker_groups", "Consumer groups by state", ["state"]),
    openTransactions: r.gauge("broker_open_transactions", "Transactions open or being completed"),
  };
}

// Internal topics follow the broker's flush policy like the data they describe: fsyncing them more
// strictly than the data partitions would buy nothing after a power loss and cost a sync per commit.
// Small segments so compaction (which never touches the active segment) keeps the replay at open short.
const INTERNAL_CONFIG = { "cleanup.policy": "compact", "segment.bytes": String(8 * 1024 * 1024) } as const;

export class Broker {
  readonly brokerId: number;
  readonly clusterId: string;
  host: string;
  port: number;
  readonly log: LogManager;
  readonly groups: GroupCoordinator;
  readonly txns: TxnCoordinator;
  readonly clock: Clock;
  readonly logger: Logger;
  private readonly opts: BrokerOptions;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly ownsLog: boolean;
  private readonly closeController = new AbortController();
  private readonly m: ReturnType<typeof brokerMetrics>;
  private compactSoon = false;

  private constructor(log: LogManager, opts: BrokerOptions, ownsLog: boolean) {
    this.opts = opts;
    this.log = log;
    this.ownsLog = ownsLog;
    this.brokerId = opts.brokerId ?? 0;
    this.clusterId = opts.clusterId ?? "courant-cluster";
    this.host = opts.host ?? "localhost";
    this.port = opts.port ?? 9092;
    this.clock = opts.clock ?? systemClock;
    this.logger = opts.logger ?? createLogger("broker");
    const onError = (e: unknown) => this.logger.error({ err: e }, "coordinator error");
    this.m = brokerMetrics(opts.metrics ?? defaultMetrics);
    this.groups = new GroupCoordinator({
      onRebalance: () => this.m.rebalances.inc(),
      clock: this.clock,
      minSessionTimeoutMs: opts.groupMinSessionTimeoutMs,
      maxSessionTimeoutMs: opts.groupMaxSessionTimeoutMs,
      initialRebalanceDelayMs: opts.groupInitialRebalanceDelayMs,
      hasPendingTxnOffset: (g, t, p) => this.txns.hasPendingOffset(g, t, p),
      onError,
      store: {
        writeOffsets: (groupId, offsets) => {
          if (offsets.length === 0) return;
          this.offsetsPartition(groupId).appendRecords(
            offsets.map((o) => ({
              key: offsetKey(groupId, o.topic, o.partition),
              value: o.value === null ? null : offsetValue(o.value),
            })),
            { origin: "coordinator" },
          );
        },
        writeGroup: (groupId, snap) => {
          this.offsetsPartition(groupId).appendRecords(
            [{ key: groupKey(groupId), value: snap === null ? null : groupValue(snap) }],
            { origin: "coordinator" },
          );
        },
      },
    });
    this.txns = new TxnCoordinator({
      onTxnEnd: (result) => this.m.transactions.inc({ result }),
      clock: this.clock,
      maxTransactionTimeoutMs: opts.transactionMaxTimeoutMs,
      onError,
      store: {
        writeTxn: (id, r) =>
          this.log
            .partition(TXN_STATE_TOPIC, 0)
            .appendRecords([{ key: txnKey(id), value: r === null ? null : txnValue(r) }], {
              origin: "coordinator",
            }),
        writeProducerIdBlock: (next) => {
          const v = Buffer.allocUnsafe(8);
          v.writeBigInt64BE(BigInt(next), 0);
          this.log.partition(TXN_STATE_TOPIC, 0).appendRecords([{ key: pidBlockKey(), value: v }], {
            origin: "coordinator",
          });
        },
      },
      writeMarker: (topic, partition, m) => {
        this.log.partition(topic, partition).appendControlMarker(m);
      },
      commitOffsets: (groupId, offsets) => {
        const now = this.clock.now();
        const entries = offsets.map((o) => ({
          topic: o.topic,
          partition: o.partition,
          value: { offset: o.offset, leaderEpoch: o.leaderEpoch, metadata: o.metadata, commitTimestamp: now },
        }));
        this.offsetsPartition(groupId).appendRecords(
          entries.map((e) => ({
            key: offsetKey(groupId, e.topic, e.partition),
            value: offsetValue(e.value),
          })),
          { origin: "coordinator" },
        );
        this.groups.applyOffsets(groupId, entries);
      },
      validateGroupMember: (g, gen, member, inst) => this.groups.validateCommit(g, gen, member, inst, true),
      partitionExists: (t, p) => this.partitionExists(t, p),
    });
  }

  /** Opens the data directory (taking its lock), creates the internal topics, and rebuilds coordinator state. */
  static async open(options: BrokerOptions): Promise<Broker> {
    const log =
      options.logManager ??
      (await LogManager.open({
        dataDir: options.dataDir,
        clock: options.clock,
        defaultTopicConfig: options.defaultTopicConfig,
        maintenanceIntervalMs: options.maintenanceIntervalMs,
        logger: options.logger,
      }));
    const broker = new Broker(log, options, options.logManager === undefined);
    try {
      broker.load();
    } catch (e) {
      if (broker.ownsLog) await log.close().catch(() => {});
      throw e;
    }
    const interval = options.timerIntervalMs ?? 100;
    if (interval > 0) {
      broker.timer = setInterval(() => broker.tick(), interval);
      broker.timer.unref();
    }
    return broker;
  }

  /** Fires coordinator timers (session expiry, join deadlines, transaction timeouts) at the clock's time. */
  tick(): void {
    if (this.closed) return;
    try {
      this.groups.tick();
      this.txns.tick();
      for (const [state, n] of Object.entries(this.groups.countByState())) this.m.groups.set({ state }, n);
      this.m.openTransactions.set(this.txns.openCount());
    } catch (e) {
      this.logger.error({ err: e }, "coordinator tick failed");
    }
  }

  /** Aborted when the broker closes: long polls and waiting clients end. */
  get closeSignal(): AbortSignal {
    return this.closeController.signal;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    this.closeController.abort();
    this.groups.shutdown();
    if (this.ownsLog) await this.log.close();
  }

  // ------------------------------------------------------------------ loading

  private load(): void {
    if (!this.log.hasTopic(TXN_STATE_TOPIC)) this.log.createTopic(TXN_STATE_TOPIC, 1, INTERNAL_CONFIG);
    if (!this.log.hasTopic(OFFSETS_TOPIC))
      this.log.createTopic(OFFSETS_TOPIC, this.opts.offsetsTopicPartitions ?? 1, INTERNAL_CONFIG);
    // Producer ids already used in any partition are never handed out again.
    for (const topic of this.log.listTopics())
      for (const p of this.log.partitions(topic))
        for (const s of p.producerStates()) this.txns.reserveProducerIdsBelow(s.producerId + 1);
    this.replay(this.log.partition(TXN_STATE_TOPIC, 0), (key, value) => {
      const k = decodeTxnKey(key);
      if (k.kind === "pid-block" && value) this.txns.loadProducerIdBlock(Number(value.readBigInt64BE(0)));
      else if (k.kind === "txn") this.txns.loadTxn(k.transactionalId, value ? decodeTxnValue(value) : null);
    });
    for (const p of this.log.partitions(OFFSETS_TOPIC)) {
      this.replay(p, (key, value) => {
        const k = decodeOffsetsKey(key);
        if (k.kind === "offset")
          this.groups.loadOffset(k.group, k.topic, k.partition, value ? decodeOffsetValue(value) : null);
        else if (k.kind === "group") this.groups.loadGroup(k.group, value ? decodeGroupValue(value) : null);
      });
    }
    this.txns.completePrepared();
    if (this.compactSoon)
      this.log
        .runCompaction()
        .catch((e) => this.logger.warn({ err: e }, "compaction of internal topics failed"));
  }

  /**
   * Replays a compacted internal partition: only the last value of each key matters, so values are
   * collected first and decoded once per key (a long uncompacted history costs one pass, not one
   * JSON parse per record).
   */
  private replay(p: PartitionLog, apply: (key: Buffer, value: Buffer | null) => void): void {
    const latest = new Map<string, { key: Buffer; value: Buffer | null; offset: number }>();
    let records = 0;
    let offset = p.logStartOffset;
    const end = p.highWatermark;
    while (offset < end) {
      const r = p.readRecords(offset, { maxBytes: 8 * 1024 * 1024 });
      for (const rec of r.records) {
        if (!rec.key) continue;
        const key = Buffer.from(rec.key.buffer, rec.key.byteOffset, rec.key.byteLength);
        const value = rec.value
          ? Buffer.from(rec.value.buffer, rec.value.byteOffset, rec.value.byteLength)
          : null;
        latest.set(key.toString("latin1"), { key, value, offset: rec.offset });
        records++;
      }
      if (r.nextOffset <= offset) break;
      offset = r.nextOffset;
    }
    // A long history of superseded values makes every open slower: compact now, in the background,
    // rather than waiting for the periodic pass (short-lived processes may never see one).
    if (records > 10_000 && records > 4 * latest.size) this.compactSoon = true;
    for (const { key, value, offset: at } of latest.values()) {
      try {
        apply(key, value);
      } catch (e) {
        this.logger.warn(
          { err: e, topic: p.topic, partition: p.partition, offset: at },
          "skipping undecodable internal record",
        );
      }
    }
  }

  private offsetsPartition(groupId: string): PartitionLog {
    const n = this.log.partitions(OFFSETS_TOPIC).length;
    return this.log.partition(OFFSETS_TOPIC, partitionForGroup(groupId, n));
  }

  // ------------------------------------------------------------------ topics

  partitionExists(topic: string, partition: number): boolean {
    if (!this.log.hasTopic(topic) || !Number.isInteger(partition) || partition < 0) return false;
    return partition < this.log.partitionCount(topic);
  }

  partitionCount(topic: string): number | undefined {
    return this.log.hasTopic(topic) ? this.log.partitionCount(topic) : undefined;
  }

  /** The partition's log, for in-process readers (EmbeddedCluster reads without copying). */
  partitionLog(topic: string, partition: number): PartitionLog {
    if (this.log.hasTopic(topic)) {
      try {
        return this.log.partition(topic, partition);
      } catch {
        // fall through to Kafka's error
      }
    }
    throw kafkaError("UNKNOWN_TOPIC_OR_PARTITION", `topic-partition ${topic}-${partition} does not exist`);
  }

  isInternalTopic(name: string): boolean {
    return INTERNAL_TOPICS.has(name);
  }

  private maxPartitionsPerTopic(): number {
    return this.opts.maxPartitionsPerTopic ?? 10_000;
  }

  createTopics(req: { topics: readonly CreatableTopic[]; validateOnly?: boolean }): CreateTopicResult[] {
    return req.topics.map((t) => {
      const fail = (errorCode: string, errorMessage: string): CreateTopicResult => ({
        name: t.name,
        errorCode,
        errorMessage,
        numPartitions: -1,
        configs: {},
      });
      try {
        validateTopicName(t.name);
        if (INTERNAL_TOPICS.has(t.name))
          return fail("INVALID_REQUEST", `topic "${t.name}" is internal to the broker`);
        if (this.log.hasTopic(t.name))
          return fail("TOPIC_ALREADY_EXISTS", `topic "${t.name}" already exists`);
        const n = t.numPartitions === -1 ? (this.opts.defaultPartitions ?? 1) : t.numPartitions;
        if (!Number.isInteger(n) || n < 1)
          return fail(
            "INVALID_PARTITIONS",
            `topic "${t.name}": number of partitions must be >= 1, got ${t.numPartitions}`,
          );
        if (n > this.maxPartitionsPerTopic())
          return fail(
            "INVALID_PARTITIONS",
            `topic "${t.name}": ${n} partitions exceed the broker's limit of ${this.maxPartitionsPerTopic()} (maxPartitionsPerTopic)`,
          );
        const rf = t.replicationFactor ?? -1;
        if (rf !== -1 && rf !== 1)
          return fail(
            "INVALID_REPLICATION_FACTOR",
            `topic "${t.name}": replication factor ${rf} is larger than the 1 available broker`,
          );
        parseTopicConfig(t.name, t.configs ?? {}, {
          ...TOPIC_CONFIG_DEFAULTS,
          ...this.opts.defaultTopicConfig,
        });
        if (req.validateOnly)
          return {
            name: t.name,
            errorCode: "NONE",
            errorMessage: null,
            numPartitions: n,
            configs: { ...t.configs },
          };
        const info = this.log.createTopic(t.name, n, t.configs ?? {});
        return {
          name: t.name,
          errorCode: "NONE",
          errorMessage: null,
          numPartitions: info.partitions,
          configs: { ...info.effectiveConfig },
        };
      } catch (e) {
        return fail(codeOf(e), messageOf(e));
      }
    });
  }

  deleteTopics(req: {
    names: readonly string[];
  }): { name: string; errorCode: string; errorMessage: string | null }[] {
    return req.names.map((name) => {
      if (INTERNAL_TOPICS.has(name))
        return {
          name,
          errorCode: "INVALID_REQUEST",
          errorMessage: `topic "${name}" is internal to the broker`,
        };
      if (!this.log.hasTopic(name))
        return {
          name,
          errorCode: "UNKNOWN_TOPIC_OR_PARTITION",
          errorMessage: `topic "${name}" does not exist`,
        };
      try {
        this.log.deleteTopic(name);
        this.groups.removeTopicOffsets(name);
        return { name, errorCode: "NONE", errorMessage: null };
      } catch (e) {
        return { name, errorCode: codeOf(e), errorMessage: messageOf(e) };
      }
    });
  }

  createPartitions(req: {
    topics: readonly { name: string; count: number }[];
    validateOnly?: boolean;
  }): { name: string; errorCode: string; errorMessage: string | null }[] {
    return req.topics.map(({ name, count }) => {
      if (!this.log.hasTopic(name))
        return {
          name,
          errorCode: "UNKNOWN_TOPIC_OR_PARTITION",
          errorMessage: `topic "${name}" does not exist`,
        };
      if (INTERNAL_TOPICS.has(name))
        return {
          name,
          errorCode: "INVALID_REQUEST",
          errorMessage: `topic "${name}" is internal to the broker`,
        };
      const cur = this.log.describeTopic(name).partitions;
      if (!Number.isInteger(count))
        return {
          name,
          errorCode: "INVALID_PARTITIONS",
          errorMessage: `topic "${name}": partition count ${count} is not an integer`,
        };
      if (count > this.maxPartitionsPerTopic())
        return {
          name,
          errorCode: "INVALID_PARTITIONS",
          errorMessage: `topic "${name}": ${count} partitions exceed the broker's limit of ${this.maxPartitionsPerTopic()} (maxPartitionsPerTopic)`,
        };
      if (count <= cur)
        return {
          name,
          errorCode: "INVALID_PARTITIONS",
          errorMessage: `topic "${name}" has ${cur} partitions; the new count ${count} must be larger`,
        };
      if (req.validateOnly) return { name, errorCode: "NONE", errorMessage: null };
      try {
        this.log.addPartitions(name, count);
        return { name, errorCode: "NONE", errorMessage: null };
      } catch (e) {
        return { name, errorCode: codeOf(e), errorMessage: messageOf(e) };
      }
    });
  }

  describeConfigs(req: {
    resources: readonly {
      resourceType: ConfigResourceType;
      resourceName: string;
      configurationKeys?: readonly string[] | null;
    }[];
  }): DescribeConfigsResult[] {
    return req.resources.map((r) => {
      const keep = (n: string) => !r.configurationKeys || r.configurationKeys.includes(n);
      if (r.resourceType === "broker") {
        const eff = { ...TOPIC_CONFIG_DEFAULTS, ...this.opts.defaultTopicConfig };
        return {
          resourceType: r.resourceType,
          resourceName: r.resourceName,
          errorCode: "NONE",
          errorMessage: null,
          configs: [
            ...Object.entries(eff).map(([name, value]) => ({ name: `log.${name}`, value })),
            { name: "auto.create.topics.enable", value: String(this.opts.autoCreateTopics ?? false) },
            { name: "num.partitions", value: String(this.opts.defaultPartitions ?? 1) },
            { name: "broker.id", value: String(this.brokerId) },
          ]
            .filter((c) => keep(c.name))
            .map((c) => ({ ...c, readOnly: true, isDefault: false, isSensitive: false })),
        };
      }
      if (!this.log.hasTopic(r.resourceName))
        return {
          resourceType: r.resourceType,
          resourceName: r.resourceName,
          errorCode: "UNKNOWN_TOPIC_OR_PARTITION",
          errorMessage: `topic "${r.resourceName}" does not exist`,
          configs: [],
        };
      const info = this.log.describeTopic(r.resourceName);
      return {
        resourceType: r.resourceType,
        resourceName: r.resourceName,
        errorCode: "NONE",
        errorMessage: null,
        configs: Object.entries(info.effectiveConfig)
          .filter(([n]) => keep(n))
          .map(([name, value]) => ({
            name,
            value,
            readOnly: false,
            isDefault: !(name in info.config),
            isSensitive: false,
          })),
      };
    });
  }

  /** AlterConfigs replaces every override; incremental=true changes only the given names (null: delete). */
  alterConfigs(req: {
    resources: readonly {
      resourceType: ConfigResourceType;
      resourceName: string;
      configs: Readonly<Record<string, string | null>>;
    }[];
    validateOnly?: boolean;
    incremental?: boolean;
  }): {
    resourceType: ConfigResourceType;
    resourceName: string;
    errorCode: string;
    errorMessage: string | null;
  }[] {
    return req.resources.map((r) => {
      const base = { resourceType: r.resourceType, resourceName: r.resourceName };
      if (r.resourceType !== "topic")
        return { ...base, errorCode: "INVALID_REQUEST", errorMessage: "only topic configs can be altered" };
      if (!this.log.hasTopic(r.resourceName))
        return {
          ...base,
          errorCode: "UNKNOWN_TOPIC_OR_PARTITION",
          errorMessage: `topic "${r.resourceName}" does not exist`,
        };
      try {
        const current = this.log.describeTopic(r.resourceName).config;
        const next: Record<string, string> = req.incremental ? { ...current } : {};
        for (const [k, v] of Object.entries(r.configs)) {
          if (v === null) delete next[k];
          else next[k] = v;
        }
        parseTopicConfig(r.resourceName, next, { ...TOPIC_CONFIG_DEFAULTS, ...this.opts.defaultTopicConfig });
        if (!req.validateOnly) this.log.setTopicConfig(r.resourceName, next);
        return { ...base, errorCode: "NONE", errorMessage: null };
      } catch (e) {
        return { ...base, errorCode: codeOf(e), errorMessage: messageOf(e) };
      }
    });
  }

  deleteRecords(req: {
    topics: readonly { name: string; partitions: readonly { partitionIndex: number; offset: number }[] }[];
  }): { name: string; partitions: { partitionIndex: number; lowWatermark: number; errorCode: string }[] }[] {
    return req.topics.map((t) => ({
      name: t.name,
      partitions: t.partitions.map((p) => {
        if (!this.partitionExists(t.name, p.partitionIndex))
          return {
            partitionIndex: p.partitionIndex,
            lowWatermark: -1,
            errorCode: "UNKNOWN_TOPIC_OR_PARTITION",
          };
        const log = this.log.partition(t.name, p.partitionIndex);
        const target = p.offset === -1 ? log.highWatermark : p.offset;
        if (target < 0 || target > log.highWatermark)
          return { partitionIndex: p.partitionIndex, lowWatermark: -1, errorCode: "OFFSET_OUT_OF_RANGE" };
        try {
          return {
            partitionIndex: p.partitionIndex,
            lowWatermark: log.deleteRecordsBefore(target),
            errorCode: "NONE",
          };
        } catch (e) {
          return { partitionIndex: p.partitionIndex, lowWatermark: -1, errorCode: codeOf(e) };
        }
      }),
    }));
  }

  topicConfig(name: string): LogConfig {
    return this.log.partition(name, 0).config;
  }

  // ------------------------------------------------------------------ metadata

  metadata(req: MetadataRequest): MetadataResponse {
    const names = req.topics ?? this.log.listTopics();
    const topics: MetadataTopic[] = [];
    for (const name of names) {
      if (!this.log.hasTopic(name)) {
        let code = "UNKNOWN_TOPIC_OR_PARTITION";
        if (req.topics !== null && this.opts.autoCreateTopics && req.allowAutoTopicCreation !== false) {
          const [r] = this.createTopics({ topics: [{ name, numPartitions: -1 }] });
          code = r!.errorCode === "TOPIC_ALREADY_EXISTS" ? "NONE" : r!.errorCode;
        }
        if (code !== "NONE") {
          topics.push({ errorCode: code, name, isInternal: false, partitions: [] });
          continue;
        }
      }
      const n = this.log.describeTopic(name).partitions;
      const partitions: MetadataTopic["partitions"] = [];
      for (let i = 0; i < n; i++)
        partitions.push({
          errorCode: "NONE",
          partitionIndex: i,
          leaderId: this.brokerId,
          leaderEpoch: 0,
          replicaNodes: [this.brokerId],
          isrNodes: [this.brokerId],
          offlineReplicas: [],
        });
      topics.push({ errorCode: "NONE", name, isInternal: INTERNAL_TOPICS.has(name), partitions });
    }
    return {
      brokers: [{ nodeId: this.brokerId, host: this.host, port: this.port, rack: null }],
      clusterId: this.clusterId,
      controllerId: this.brokerId,
      topics,
    };
  }

  /** keyType: 0 group, 1 transaction. This node coordinates everything. */
  findCoordinator(req: { keyType: 0 | 1; keys: readonly string[] }): {
    key: string;
    nodeId: number;
    host: string;
    port: number;
    errorCode: string;
    errorMessage: string | null;
  }[] {
    return req.keys.map((key) => ({
      key,
      nodeId: this.brokerId,
      host: this.host,
      port: this.port,
      errorCode: key === "" && req.keyType === 0 ? "INVALID_GROUP_ID" : "NONE",
      errorMessage: null,
    }));
  }

  // ------------------------------------------------------------------ produce / fetch / list offsets

  async produce(req: ProduceRequest): Promise<ProduceResponse> {
    return this.produceSync(req);
  }

  /**
   * Same as produce(), synchronous: appends happen in call order on the event loop. With
   * `encodedInProcess`, the caller vouches that the record sets are `encodeRecordBatch` output of this
   * process, unmodified: the log then skips re-checking their CRC and record framing (only for those
   * exact buffers; see AppendOptions). The wire server never sets it.
   */
  produceSync(req: ProduceRequest, options: { readonly encodedInProcess?: boolean } = {}): ProduceResponse {
    const txnId = req.transactionalId ?? null;
    const trusted = options.encodedInProcess === true;
    const responses = req.topics.map((t) => ({
      name: t.name,
      partitions: t.partitions.map((p) =>
        this.producePartition(t.name, p.index, p.records, txnId, req.acks, trusted),
      ),
    }));
    return { responses };
  }

  private produceFailure(
    partition: number,
    errorCode: string,
    errorMessage: string,
  ): ProducePartitionResponse {
    this.m.produceErrors.inc({ code: errorCode });
    return {
      index: partition,
      errorCode,
      errorMessage,
      baseOffset: -1,
      logAppendTimeMs: -1,
      logStartOffset: -1,
    };
  }

  private producePartition(
    topic: string,
    partition: number,
    records: Uint8Array | null,
    txnId: string | null,
    acks: number,
    encodedInProcess: boolean,
  ): ProducePartitionResponse {
    if (this.closed) return this.produceFailure(partition, "NOT_LEADER_OR_FOLLOWER", "the broker is closing");
    if (acks !== -1 && acks !== 0 && acks !== 1)
      return this.produceFailure(partition, "INVALID_REQUIRED_ACKS", `acks=${acks} is not -1, 0 or 1`);
    if (INTERNAL_TOPICS.has(topic))
      return this.produceFailure(
        partition,
        "INVALID_TOPIC_EXCEPTION",
        `cannot produce to the internal topic "${topic}"`,
      );
    if (!this.partitionExists(topic, partition))
      return this.produceFailure(
        partition,
        "UNKNOWN_TOPIC_OR_PARTITION",
        `topic-partition ${topic}-${partition} does not exist`,
      );
    if (!records || records.length === 0)
      return this.produceFailure(partition, "INVALID_REQUEST", `empty record set for ${topic}-${partition}`);
    try {
      // Transactional batches must belong to the producer's open transaction on this partition. The
      // header fields are read in place (as iterateBatches would walk them: whole batches only); the
      // log validates the batches in full.
      const view = new DataView(records.buffer, records.byteOffset, records.byteLength);
      for (let pos = 0; records.length - pos >= RECORD_BATCH_OVERHEAD; ) {
        const size = LOG_OVERHEAD + view.getInt32(pos + 8);
        if (size > records.length - pos) break;
        const attributes = view.getInt16(pos + 21);
        if (attributes & ATTR_CONTROL)
          return this.produceFailure(
            partition,
            "INVALID_RECORD",
            `${topic}-${partition}: clients cannot write control batches`,
          );
        if (attributes & ATTR_TRANSACTIONAL) {
          const producerId = view.getInt32(pos + 43) * 4294967296 + view.getUint32(pos + 47);
          const producerEpoch = view.getInt16(pos + 51);
          const code = this.txns.verifyTransactionalProduce(
            txnId,
            producerId,
            producerEpoch,
            topic,
            partition,
          );
          if (code !== "NONE")
            return this.produceFailure(
              partition,
              code,
              `${topic}-${partition}: transactional batch of producer ${producerId} epoch ${producerEpoch} rejected (${code})`,
            );
        }
        if (size < RECORD_BATCH_OVERHEAD) break; // corrupt: the log's validation names it
        pos += size;
      }
      const r = this.log.partition(topic, partition).append(records, { origin: "client", encodedInProcess });
      this.m.produceRecords.inc({ topic }, r.duplicate ? 0 : r.recordCount);
      this.m.produceBytes.inc({ topic }, r.duplicate ? 0 : records.length);
      return {
        index: partition,
        errorCode: "NONE",
        errorMessage: null,
        baseOffset: r.baseOffset,
        logAppendTimeMs: r.logAppendTime,
        logStartOffset: r.logStartOffset,
      };
    } catch (e) {
      return this.produceFailure(partition, codeOf(e), messageOf(e));
    }
  }

  /**
   * Kafka Fetch: reads each partition from its offset; if fewer than minBytes are ready, waits (long
   * poll) until data arrives, maxWaitMs passes, or `signal` aborts, then reads again.
   */
  async fetch(req: FetchRequest, signal?: AbortSignal): Promise<FetchResponse> {
    const first = this.readAll(req);
    const minBytes = req.minBytes ?? 1;
    const maxWait = req.maxWaitMs ?? 0;
    if (first.bytes >= minBytes || maxWait <= 0 || first.errors || signal?.aborted) return first.response;
    const ac = new AbortController();
    const onAbort = () => ac.abort();
    signal?.addEventListener("abort", onAbort, { once: true });
    this.closeSignal.addEventListener("abort", onAbort, { once: true });
    const deadline = Date.now() + maxWait;
    try {
      for (;;) {
        const remaining = deadline - Date.now();
        if (remaining <= 0 || ac.signal.aborted) break;
        const waits: Promise<boolean>[] = [];
        for (const t of req.topics)
          for (const p of t.partitions) {
            if (!this.partitionExists(t.name, p.index)) continue;
            waits.push(
              this.log.partition(t.name, p.index).waitForData(p.fetchOffset, {
                isolation: req.isolationLevel,
                signal: ac.signal,
                timeoutMs: remaining,
              }),
            );
          }
        if (waits.length === 0) break;
        const got = await Promise.race(waits);
        if (!got) break;
        const again = this.readAll(req);
        if (again.bytes >= minBytes || again.errors) return again.response;
      }
    } finally {
      ac.abort();
      signal?.removeEventListener("abort", onAbort);
      this.closeSignal.removeEventListener("abort", onAbort);
    }
    return this.readAll(req).response;
  }

  private readAll(req: FetchRequest): { response: FetchResponse; bytes: number; errors: boolean } {
    let budget = req.maxBytes ?? 50 * 1024 * 1024;
    let bytes = 0;
    let errors = false;
    const isolation = req.isolationLevel ?? "read_uncommitted";
    const responses = req.topics.map((t) => ({
      name: t.name,
      partitions: t.partitions.map((p): FetchPartitionResponse => {
        const base = {
          index: p.index,
          errorMessage: null,
          highWatermark: -1,
          lastStableOffset: -1,
          logStartOffset: -1,
          abortedTransactions: null,
          records: Buffer.alloc(0),
        };
        if (this.closed) {
          // A long poll ended by close(): clients retry elsewhere / after a metadata refresh.
          errors = true;
          return { ...base, errorCode: "NOT_LEADER_OR_FOLLOWER", errorMessage: "the broker is closing" };
        }
        if (!this.partitionExists(t.name, p.index)) {
          errors = true;
          return { ...base, errorCode: "UNKNOWN_TOPIC_OR_PARTITION" };
        }
        const log = this.log.partition(t.name, p.index);
        try {
          const max = Math.max(0, Math.min(p.partitionMaxBytes ?? 1024 * 1024, budget));
          // KIP-74: the first partition with data may exceed the budget by one batch so a consumer progresses.
          const r = log.read(p.fetchOffset, max, { isolation, minOneBatch: bytes === 0 });
          bytes += r.records.length;
          budget -= r.records.length;
          if (r.records.length > 0) this.m.fetchBytes.inc({ topic: t.name }, r.records.length);
          return {
            index: p.index,
            errorCode: "NONE",
            errorMessage: null,
            highWatermark: r.highWatermark,
            lastStableOffset: r.lastStableOffset,
            logStartOffset: r.logStartOffset,
            abortedTransactions: r.abortedTransactions,
            records: r.records,
          };
        } catch (e) {
          errors = true;
          return {
            ...base,
            errorCode: codeOf(e),
            errorMessage: messageOf(e),
            highWatermark: log.highWatermark,
            lastStableOffset: log.lastStableOffset,
            logStartOffset: log.logStartOffset,
          };
        }
      }),
    }));
    return { response: { responses }, bytes, errors };
  }

  listOffsets(req: ListOffsetsRequest): ListOffsetsResponse {
    return {
      topics: req.topics.map((t) => ({
        name: t.name,
        partitions: t.partitions.map((p) => {
          if (!this.partitionExists(t.name, p.partitionIndex))
            return {
              partitionIndex: p.partitionIndex,
              errorCode: "UNKNOWN_TOPIC_OR_PARTITION",
              timestamp: -1,
              offset: -1,
            };
          const log = this.log.partition(t.name, p.partitionIndex);
          // -4/-5 are the tiered-storage variants of earliest/latest: without tiering, the same.
          const ts = p.timestamp;
          if (!Number.isInteger(ts) || ts < -5)
            return {
              partitionIndex: p.partitionIndex,
              errorCode: "INVALID_REQUEST",
              timestamp: -1,
              offset: -1,
            };
          const spec =
            ts === -1 || ts === -5
              ? "latest"
              : ts === -2 || ts === -4
                ? "earliest"
                : ts === -3
                  ? "max-timestamp"
                  : { timestamp: ts };
          try {
            const r = log.listOffset(spec, req.isolationLevel ?? "read_uncommitted");
            return {
              partitionIndex: p.partitionIndex,
              errorCode: "NONE",
              timestamp: r.timestamp,
              offset: r.offset,
            };
          } catch (e) {
            return { partitionIndex: p.partitionIndex, errorCode: codeOf(e), timestamp: -1, offset: -1 };
          }
        }),
      })),
    };
  }

  // ------------------------------------------------------------------ groups

  joinGroup(req: JoinGroupRequest): Promise<JoinGroupResponse> {
    return this.groups.joinGroup(req);
  }

  syncGroup(req: SyncGroupRequest): Promise<SyncGroupResponse> {
    return this.groups.syncGroup(req);
  }

  heartbeat(req: HeartbeatRequest): { errorCode: string } {
    return this.groups.heartbeat(req);
  }

  leaveGroup(req: LeaveGroupRequest): LeaveGroupResponse {
    return this.groups.leaveGroup(req);
  }

  offsetCommit(req: OffsetCommitRequest): PartitionErrorResponse[] {
    // Kafka answers commits to unknown topics per partition, and commits the rest.
    const known = req.topics.map((t) => ({
      name: t.name,
      partitions: t.partitions.filter((p) => this.partitionExists(t.name, p.partitionIndex)),
    }));
    const results = this.groups.offsetCommit({ ...req, topics: known });
    return req.topics.map((t, i) => ({
      name: t.name,
      partitions: t.partitions.map(
        (p) =>
          results[i]!.partitions.find((r) => r.partitionIndex === p.partitionIndex) ?? {
            partitionIndex: p.partitionIndex,
            errorCode: "UNKNOWN_TOPIC_OR_PARTITION",
          },
      ),
    }));
  }

  offsetFetch(req: OffsetFetchRequest): OffsetFetchResponse {
    return this.groups.offsetFetch(req);
  }

  describeGroups(req: { groupIds: readonly string[] }): DescribedGroup[] {
    return req.groupIds.map((g) => this.groups.describeGroup(g));
  }

  listGroups(req: { statesFilter?: readonly string[] } = {}): ReturnType<GroupCoordinator["listGroups"]> {
    return this.groups.listGroups(req.statesFilter);
  }

  deleteGroups(req: { groupIds: readonly string[] }): { groupId: string; errorCode: string }[] {
    return this.groups.deleteGroups(req.groupIds);
  }

  offsetDelete(req: {
    groupId: string;
    topics: readonly { name: string; partitions: readonly number[] }[];
  }): {
    errorCode: string;
    topics: { name: string; partitions: { partitionIndex: number; errorCode: string }[] }[];
  } {
    const flat = req.topics.flatMap((t) => t.partitions.map((p) => ({ topic: t.name, partition: p })));
    const r = this.groups.offsetDelete(req.groupId, flat);
    return {
      errorCode: r.errorCode,
      topics: req.topics.map((t) => ({
        name: t.name,
        partitions: t.partitions.map((p) => ({
          partitionIndex: p,
          errorCode: !this.partitionExists(t.name, p)
            ? "UNKNOWN_TOPIC_OR_PARTITION"
            : (r.partitions.find((x) => x.topic === t.name && x.partition === p)?.errorCode ?? "NONE"),
        })),
      })),
    };
  }

  /** Committed offsets of a group (admin view). */
  groupOffsets(groupId: string): { topic: string; partition: number; value: CommittedOffset }[] {
    return this.groups.committedOffsets(groupId);
  }

  // ------------------------------------------------------------------ transactions

  initProducerId(req: InitProducerIdRequest): InitProducerIdResponse {
    try {
      return this.txns.initProducerId(req);
    } catch (e) {
      this.logger.error({ err: e, transactionalId: req.transactionalId }, "InitProducerId failed");
      return {
        errorCode: codeOf(e) === "UNKNOWN_SERVER_ERROR" ? "KAFKA_STORAGE_ERROR" : codeOf(e),
        producerId: -1,
        producerEpoch: -1,
      };
    }
  }

  addPartitionsToTxn(req: {
    transactionalId: string;
    producerId: number;
    producerEpoch: number;
    topics: readonly { name: string; partitions: readonly number[] }[];
  }): { name: string; partitions: { partitionIndex: number; errorCode: string }[] }[] {
    const flat = req.topics.flatMap((t) => t.partitions.map((p) => ({ topic: t.name, partition: p })));
    const internal = flat.find((tp) => INTERNAL_TOPICS.has(tp.topic));
    const results = internal
      ? flat.map((tp) => ({
          ...tp,
          errorCode: INTERNAL_TOPICS.has(tp.topic) ? "INVALID_REQUEST" : "OPERATION_NOT_ATTEMPTED",
        }))
      : this.txns.addPartitionsToTxn(req, flat);
    return req.topics.map((t) => ({
      name: t.name,
      partitions: t.partitions.map((p) => ({
        partitionIndex: p,
        errorCode: results.find((r) => r.topic === t.name && r.partition === p)!.errorCode,
      })),
    }));
  }

  addOffsetsToTxn(req: {
    transactionalId: string;
    producerId: number;
    producerEpoch: number;
    groupId: string;
  }): {
    errorCode: string;
  } {
    return this.txns.addOffsetsToTxn(req, req.groupId);
  }

  txnOffsetCommit(req: TxnOffsetCommitRequest): PartitionErrorResponse[] {
    const offsets = req.topics.flatMap((t) =>
      t.partitions.map((p) => ({
        topic: t.name,
        partition: p.partitionIndex,
        offset: p.committedOffset,
        leaderEpoch: p.committedLeaderEpoch ?? -1,
        metadata: p.committedMetadata ?? null,
      })),
    );
    const unknown = offsets.filter((o) => !this.partitionExists(o.topic, o.partition));
    const results =
      unknown.length > 0
        ? offsets.map((o) => ({
            topic: o.topic,
            partition: o.partition,
            errorCode: this.partitionExists(o.topic, o.partition)
              ? "OPERATION_NOT_ATTEMPTED"
              : "UNKNOWN_TOPIC_OR_PARTITION",
          }))
        : this.txns.txnOffsetCommit(req, {
            groupId: req.groupId,
            generationId: req.generationId,
            memberId: req.memberId,
            groupInstanceId: req.groupInstanceId,
            offsets,
          });
    return req.topics.map((t) => ({
      name: t.name,
      partitions: t.partitions.map((p) => ({
        partitionIndex: p.partitionIndex,
        errorCode: results.find((r) => r.topic === t.name && r.partition === p.partitionIndex)!.errorCode,
      })),
    }));
  }

  /** DescribeTransactions (KIP-664). */
  describeTransactions(req: { transactionalIds: readonly string[] }): {
    transactionalId: string;
    errorCode: string;
    transactionState: string;
    transactionTimeoutMs: number;
    transactionStartTimeMs: number;
    producerId: number;
    producerEpoch: number;
    topics: { topic: string; partitions: number[] }[];
  }[] {
    return req.transactionalIds.map((id) => {
      const d = this.txns.describe(id);
      if (!d)
        return {
          transactionalId: id,
          errorCode: "TRANSACTIONAL_ID_NOT_FOUND",
          transactionState: "",
          transactionTimeoutMs: 0,
          transactionStartTimeMs: -1,
          producerId: -1,
          producerEpoch: -1,
          topics: [],
        };
      const byTopic = new Map<string, number[]>();
      for (const tp of d.partitions) {
        let l = byTopic.get(tp.topic);
        if (!l) byTopic.set(tp.topic, (l = []));
        l.push(tp.partition);
      }
      return {
        transactionalId: id,
        errorCode: "NONE",
        transactionState: d.state,
        transactionTimeoutMs: d.timeoutMs,
        transactionStartTimeMs: d.startTimestamp,
        producerId: d.producerId,
        producerEpoch: d.producerEpoch,
        topics: [...byTopic].map(([topic, partitions]) => ({ topic, partitions })),
      };
    });
  }

  /** ListTransactions (KIP-664), optionally filtered by state and producer id. */
  listTransactions(req: { stateFilters?: readonly string[]; producerIdFilters?: readonly number[] } = {}): {
    transactionalId: string;
    producerId: number;
    transactionState: string;
  }[] {
    return this.txns
      .listTransactions()
      .filter((t) => !req.stateFilters?.length || req.stateFilters.includes(t.state))
      .filter((t) => !req.producerIdFilters?.length || req.producerIdFilters.includes(t.producerId))
      .map((t) => ({
        transactionalId: t.transactionalId,
        producerId: t.producerId,
        transactionState: t.state,
      }));
  }

  /** DescribeProducers (KIP-664): idempotence/transaction state per producer on each partition. */
  describeProducers(req: { topics: readonly { name: string; partitionIndexes: readonly number[] }[] }): {
    name: string;
    partitions: {
      partitionIndex: number;
      errorCode: string;
      activeProducers: {
        producerId: number;
        producerEpoch: number;
        lastSequence: number;
        lastTimestamp: number;
        coordinatorEpoch: number;
        currentTxnStartOffset: number;
      }[];
    }[];
  }[] {
    return req.topics.map((t) => ({
      name: t.name,
      partitions: t.partitionIndexes.map((p) => {
        if (!this.partitionExists(t.name, p))
          return { partitionIndex: p, errorCode: "UNKNOWN_TOPIC_OR_PARTITION", activeProducers: [] };
        return {
          partitionIndex: p,
          errorCode: "NONE",
          activeProducers: this.log
            .partition(t.name, p)
            .producerStates()
            .map((s) => ({
              producerId: s.producerId,
              producerEpoch: s.producerEpoch,
              lastSequence: s.lastSequence,
              lastTimestamp: s.lastTimestamp,
              coordinatorEpoch: s.coordinatorEpoch,
              currentTxnStartOffset: s.currentTxnFirstOffset,
            })),
        };
      }),
    }));
  }

  endTxn(req: { transactionalId: string; producerId: number; producerEpoch: number; committed: boolean }): {
    errorCode: string;
  } {
    try {
      return this.txns.endTxn(req, req.committed);
    } catch (e) {
      this.logger.error({ err: e, transactionalId: req.transactionalId }, "EndTxn failed");
      return { errorCode: codeOf(e) === "UNKNOWN_SERVER_ERROR" ? "KAFKA_STORAGE_ERROR" : codeOf(e) };
    }
  }
}

// KafkaCluster: the Cluster interface over a real Kafka (or Kafka-compatible) cluster, through
// @platformatic/kafka (pure TypeScript). Producers map 1:1 onto platformatic producers
// (idempotent by default, transactional with offsets). Consumers use platformatic only for
// group membership (JoinGroup/SyncGroup/Heartbeat) and for raw Fetch requests: the poll loop,
// positions, seek/pause and the read_committed filtering of aborted transactions are done here,
// so the semantics are the Java client's whatever the client library's stream does.
import { createRequire } from "node:module";
import type {
  Admin as PAdmin,
  Consumer as PConsumer,
  Producer as PProducer,
  ProducerOptions as PProducerOptions,
} from "@platformatic/kafka";
import { createLogger, type Logger } from "../observe/index.ts";
import { partitionForKey } from "./partitioner.ts";
import {
  type Admin,
  type Cluster,
  type ConsumedRecord,
  type Consumer,
  type ConsumerGroupMetadata,
  type ConsumerOptions,
  type GroupDescription,
  type GroupListing,
  KafkaError,
  type NewTopic,
  type Offset,
  type OffsetAndMetadata,
  type OffsetSpec,
  type PartitionLag,
  type PollOptions,
  type Producer,
  type ProducerOptions,
  type ProducerRecord,
  type RebalanceListener,
  type RecordMetadata,
  type TopicConfig,
  type TopicDescription,
  type TopicPartition,
  tpKey,
} from "./types.ts";

/**
 * The Kafka client library, loaded on first use: every thread that imports the cluster layer
 * (each app worker does) paid ~270 ms and ~11 MB of heap for it, used only with a real cluster.
 * Synchronous (require of an ES module): admin() and the client constructors are synchronous.
 */
let platformatic: typeof import("@platformatic/kafka") | undefined;
function kafkaClient(): typeof import("@platformatic/kafka") {
  platformatic ??= createRequire(import.meta.url)(
    "@platformatic/kafka",
  ) as typeof import("@platformatic/kafka");
  return platformatic;
}

export interface KafkaClusterOptions {
  /** "host:port" addresses to bootstrap from. */
  readonly bootstrapBrokers: readonly string[];
  readonly clientId?: string;
  readonly sasl?: {
    readonly mechanism: "PLAIN" | "SCRAM-SHA-256" | "SCRAM-SHA-512";
    readonly username: string;
    readonly password: string;
  };
  readonly tls?: boolean | { readonly ca?: string | Buffer; readonly rejectUnauthorized?: boolean };
  /** Request timeout, ms (default 30 000). */
  readonly requestTimeoutMs?: number;
  readonly logger?: Logger;
}

const EARLIEST = -2n;
const LATEST = -1n;
const ATTR_TRANSACTIONAL = 0x10;
const ATTR_CONTROL = 0x20;

/** The first Kafka error name (apiId) found in a platformatic error tree (AggregateErrors nest). */
function findApiId(e: unknown, depth = 0): string | undefined {
  if (!e || typeof e !== "object" || depth > 6) return undefined;
  const err = e as { apiId?: unknown; errors?: unknown; cause?: unknown };
  if (typeof err.apiId === "string" && err.apiId !== "") return err.apiId;
  if (Array.isArray(err.errors)) {
    for (const inner of err.errors) {
      const c = findApiId(inner, depth + 1);
      if (c) return c;
    }
  }
  return err.cause !== e ? findApiId(err.cause, depth + 1) : undefined;
}

/** Translates a platformatic error (or any) into a KafkaError with Kafka's error name as code. */
function toKafkaError(e: unknown, what: string): KafkaError {
  if (e instanceof KafkaError) return e;
  const err = e as { message?: string; canRetry?: boolean };
  const code = findApiId(e);
  return new KafkaError(
    code ?? "UNKNOWN_SERVER_ERROR",
    `${what}: ${err?.message ?? String(e)}${code ? ` (${code})` : ""}`,
    {
      retriable: err?.canRetry === true,
      cause: e,
    },
  );
}

function hasApiId(e: unknown, id: string, depth = 0): boolean {
  if (!e || typeof e !== "object" || depth > 6) return false;
  const err = e as { apiId?: string; errors?: unknown[]; cause?: unknown };
  if (err.apiId === id) return true;
  if (Array.isArray(err.errors) && err.errors.some((x) => hasApiId(x, id, depth + 1))) return true;
  return err.cause !== e && hasApiId(err.cause, id, depth + 1);
}

function buf(b: Uint8Array | null | undefined): Buffer | undefined {
  if (b === null || b === undefined) return undefined;
  return Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}

export class KafkaCluster implements Cluster {
  readonly kind = "kafka" as const;
  readonly options: KafkaClusterOptions;
  readonly log: Logger;
  private adminClient: KafkaAdmin | null = null;
  private readonly open = new Set<{ close(): Promise<void> }>();
  /** Group coordinators learned by this cluster's consumers, for transactional offset commits. */
  readonly groupCoordinators = new Map<string, number>();

  constructor(options: KafkaClusterOptions) {
    if (options.bootstrapBrokers.length === 0) {
      throw new KafkaError("INVALID_CONFIG", "KafkaCluster needs at least one bootstrap broker (host:port)");
    }
    this.options = options;
    this.log = options.logger ?? createLogger("kafka-cluster");
  }

  /** Options shared by every platformatic client. */
  baseOptions(clientId: string): Record<string, unknown> {
    const o: Record<string, unknown> = {
      clientId,
      bootstrapBrokers: [...this.options.bootstrapBrokers],
      timeout: this.options.requestTimeoutMs ?? 30_000,
      retries: 5,
      retryDelay: 100,
      metadataMaxAge: 5_000,
    };
    if (this.options.sasl) o.sasl = { ...this.options.sasl };
    if (this.options.tls) o.tls = this.options.tls === true ? {} : { ...this.options.tls };
    return o;
  }

  admin(): Admin {
    if (!this.adminClient) {
      this.adminClient = new KafkaAdmin(this);
      this.open.add(this.adminClient);
    }
    return this.adminClient;
  }

  async createProducer(options: ProducerOptions = {}): Promise<Producer> {
    const p = new KafkaProducer(this, options);
    await p.init();
    this.open.add(p);
    p.onClose = () => this.open.delete(p);
    return p;
  }

  async createConsumer(options: ConsumerOptions = {}): Promise<Consumer> {
    const c = new KafkaConsumer(this, options);
    this.open.add(c);
    c.onClose = () => this.open.delete(c);
    return c;
  }

  async close(): Promise<void> {
    const all = [...this.open];
    this.open.clear();
    this.adminClient = null;
    await Promise.allSettled(all.map((c) => c.close()));
  }
}

// ---------------------------------------------------------------- producer

/**
 * InitProducerId asks for a fresh registration (producer id/epoch -1, KIP-360). platformatic would send 0/0,
 * which Kafka tolerates only for a transactional id it has no state for.
 */
const FRESH_PRODUCER = { producerId: -1n, producerEpoch: -1 };

type PMessage = {
  topic: string;
  partition?: number;
  key?: Buffer;
  value?: Buffer;
  timestamp?: bigint;
  headers?: Map<Buffer, Buffer>;
};

class KafkaProducer implements Producer {
  private readonly cluster: KafkaCluster;
  private readonly options: ProducerOptions;
  private readonly client: PProducer;
  private tx: Awaited<ReturnType<PProducer["beginTransaction"]>> | null = null;
  private txBeginning: Promise<void> | null = null;
  private roundRobin = 0;
  private closed = false;
  onClose: (() => void) | null = null;

  constructor(cluster: KafkaCluster, options: ProducerOptions) {
    this.cluster = cluster;
    this.options = options;
    const idempotent = options.idempotent ?? true;
    if (options.transactionalId && !idempotent) {
      throw new KafkaError(
        "INVALID_CONFIG",
        `transactional producer ${options.transactionalId} must be idempotent`,
      );
    }
    const po: Record<string, unknown> = {
      ...cluster.baseOptions(options.clientId ?? "courant-producer"),
      idempotent,
      acks: options.acks ?? -1,
      compression: options.compression ?? "none",
      autocreateTopics: false,
    };
    if (options.transactionalId) {
      po.transactionalId = options.transactionalId;
      // platformatic sends its request timeout as the transaction timeout of InitProducerId.
      if (options.transactionTimeoutMs !== undefined) po.timeout = options.transactionTimeoutMs;
    }
    this.client = new (kafkaClient().Producer)(
      po as unknown as PProducerOptions<Buffer, Buffer, Buffer, Buffer>,
    ) as PProducer;
  }

  async init(): Promise<void> {
    if (!this.options.transactionalId && this.options.idempotent === false) return;
    try {
      if (this.options.transactionalId) {
        // InitProducerId with the transactional id now, as Kafka's initTransactions(): it fences older
        // instances. platformatic runs it when a transaction begins, so begin one and drop it unused.
        const tx = await this.client.beginTransaction(FRESH_PRODUCER);
        await tx.cancel();
      } else {
        await this.client.initIdempotentProducer(FRESH_PRODUCER);
      }
    } catch (e) {
      await this.client.close(true).catch(() => {});
      throw toKafkaError(e, `InitProducerId for ${this.options.transactionalId ?? "idempotent producer"}`);
    }
  }

  private async partitionCount(topic: string): Promise<number> {
    const md = await this.client.metadata({ topics: [topic] });
    const t = md.topics.get(topic);
    if (!t) throw new KafkaError("UNKNOWN_TOPIC_OR_PARTITION", `topic ${topic} does not exist`);
    return t.partitionsCount;
  }

  async partitionsFor(topic: string): Promise<number> {
    try {
      return await this.partitionCount(topic);
    } catch (e) {
      throw toKafkaError(e, `metadata of topic ${topic}`);
    }
  }

  async send(records: readonly ProducerRecord[]): Promise<RecordMetadata[]> {
    if (this.closed) throw new KafkaError("PRODUCER_CLOSED", "send on a closed producer");
    if (records.length === 0) return [];
    const counts = new Map<string, number>();
    const messages: PMessage[] = [];
    const now = Date.now();
    for (const r of records) {
      let partition = r.partition;
      if (partition === undefined) {
        let n = counts.get(r.topic);
        if (n === undefined) {
          n = await this.partitionsFor(r.topic);
          counts.set(r.topic, n);
        }
        // same partitioner as EmbeddedCluster (Kafka's murmur2); keyless records go round-robin
        partition = r.key ? partitionForKey(r.key, n) : this.roundRobin++ % n;
      }
      const m: PMessage = { topic: r.topic, partition, timestamp: BigInt(r.timestamp ?? now) };
      const key = buf(r.key);
      const value = buf(r.value);
      if (key) m.key = key;
      if (value) m.value = value;
      if (r.headers && r.headers.length > 0) {
        m.headers = new Map(
          r.headers.map((h) => [Buffer.from(h.key, "utf8"), buf(h.value) ?? Buffer.alloc(0)]),
        );
      }
      messages.push(m);
    }
    let result: { offsets?: { topic: string; partition: number; offset: bigint }[] };
    if (this.txBeginning) await this.txBeginning;
    try {
      if (this.tx) result = await this.tx.send({ messages: messages as never });
      else if (this.options.transactionalId) {
        throw new KafkaError("INVALID_TXN_STATE", "a transactional producer sends only inside a transaction");
      } else result = await this.client.send({ messages: messages as never });
    } catch (e) {
      throw toKafkaError(e, `produce of ${records.length} record(s)`);
    }
    const base = new Map<string, number>();
    for (const o of result.offsets ?? []) base.set(`${o.topic}:${o.partition}`, Number(o.offset));
    const seen = new Map<string, number>();
    return messages.map((m) => {
      const k = `${m.topic}:${m.partition}`;
      const i = seen.get(k) ?? 0;
      seen.set(k, i + 1);
      return {
        topic: m.topic,
        partition: m.partition!,
        offset: (base.get(k) ?? -1) + i,
        timestamp: Number(m.timestamp),
      };
    });
  }

  beginTransaction(): void {
    if (!this.options.transactionalId) {
      throw new KafkaError("INVALID_TXN_STATE", "beginTransaction on a producer without transactionalId");
    }
    if (this.tx || this.txBeginning)
      throw new KafkaError("INVALID_TXN_STATE", "a transaction is already open");
    // platformatic's beginTransaction is async (it finds the coordinator); callers await it through send/commit.
    this.txBeginning = this.client.beginTransaction(FRESH_PRODUCER).then(
      (tx) => {
        this.tx = tx;
        this.txBeginning = null;
      },
      (e) => {
        this.txBeginning = null;
        throw toKafkaError(e, `begin transaction ${this.options.transactionalId}`);
      },
    );
    this.txBeginning.catch(() => {});
  }

  private async currentTx(): Promise<NonNullable<KafkaProducer["tx"]>> {
    if (this.txBeginning) await this.txBeginning;
    if (!this.tx) throw new KafkaError("INVALID_TXN_STATE", "no open transaction");
    return this.tx;
  }

  async sendOffsetsToTransaction(
    offsets: readonly OffsetAndMetadata[],
    group: ConsumerGroupMetadata,
  ): Promise<void> {
    const tx = await this.currentTx();
    let coordinatorId = this.cluster.groupCoordinators.get(group.groupId);
    try {
      if (coordinatorId === undefined) {
        const admin = this.cluster.admin() as KafkaAdmin;
        coordinatorId = await admin.groupCoordinator(group.groupId);
      }
      await tx.addConsumer({ groupId: group.groupId } as never);
      for (const o of offsets) {
        await tx.addOffset({
          topic: o.topic,
          partition: o.partition,
          // platformatic commits offset + 1 (the message's next offset); ours is already the next offset.
          offset: BigInt(o.offset) - 1n,
          metadata: {
            consumer: {
              groupId: group.groupId,
              generationId: group.generationId,
              memberId: group.memberId,
              coordinatorId,
            },
          },
        } as never);
      }
    } catch (e) {
      throw toKafkaError(e, `TxnOffsetCommit for group ${group.groupId}`);
    }
  }

  async commitTransaction(): Promise<void> {
    const tx = await this.currentTx();
    try {
      await tx.commit();
    } catch (e) {
      throw toKafkaError(e, `commit of transaction ${this.options.transactionalId}`);
    } finally {
      this.tx = null;
    }
  }

  async abortTransaction(): Promise<void> {
    if (this.txBeginning) await this.txBeginning.catch(() => {});
    const tx = this.tx;
    this.tx = null;
    if (!tx) return;
    try {
      await tx.abort();
    } catch (e) {
      throw toKafkaError(e, `abort of transaction ${this.options.transactionalId}`);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.onClose?.();
    await this.client.close(true).catch(() => {});
  }
}

// ---------------------------------------------------------------- consumer

interface BufferedPartition {
  records: ConsumedRecord[];
  /** Position after the last buffered record (or after skipped batches). */
  nextOffset: number;
}

type PConsumerT = PConsumer<Buffer, Buffer, Buffer, Buffer>;

interface Membership {
  readonly generationId: number;
  readonly memberId: string;
}

class KafkaConsumer implements Consumer {
  private readonly options: ConsumerOptions;
  private readonly client: PConsumerT;
  private readonly groupManaged: boolean;
  private subscribed: string[] = [];
  private listener: RebalanceListener | undefined;
  private assigned: TopicPartition[] = [];
  private readonly positions = new Map<string, number>();
  private readonly paused = new Set<string>();
  private readonly buffered = new Map<string, BufferedPartition>();
  /** Set by the group-join event; applied (with callbacks) inside the next poll. */
  private pendingAssignment: TopicPartition[] | null = null;
  /** A failed rejoin (enforceRebalance), thrown by the next poll. */
  private rejoinFailure: KafkaError | null = null;
  /**
   * The membership of the assignment applied by poll(), and of the pending one. platformatic runs
   * the whole rebalance in the background, so its own generation may already be one whose
   * assignment gave our partitions to another member while we still process them.
   */
  private appliedMember: Membership = { generationId: -1, memberId: "" };
  private pendingMember: Membership | null = null;
  private closed = false;
  onClose: (() => void) | null = null;

  constructor(cluster: KafkaCluster, options: ConsumerOptions) {
    this.options = options;
    this.groupManaged = options.groupId !== undefined;
    const co: Record<string, unknown> = {
      ...cluster.baseOptions(options.clientId ?? "courant-consumer"),
      groupId: options.groupId ?? `courant-manual-${process.pid}-${Math.random().toString(36).slice(2)}`,
      sessionTimeout: options.sessionTimeoutMs ?? 10_000,
      rebalanceTimeout: options.rebalanceTimeoutMs ?? 30_000,
      heartbeatInterval: options.heartbeatIntervalMs ?? 1_000,
      isolationLevel: this.isolation(),
      autocommit: false,
    };
    if (options.groupInstanceId) co.groupInstanceId = options.groupInstanceId;
    if (options.subscriptionUserData) co.assignmentUserData = buf(options.subscriptionUserData);
    this.client = new (kafkaClient().Consumer)(co as never) as PConsumerT;
    this.client.on(
      "consumer:group:join",
      (p: {
        assignments?: { topic: string; partitions: number[] }[];
        generationId?: number;
        memberId?: string;
      }) => {
        const tps: TopicPartition[] = [];
        for (const a of p.assignments ?? [])
          for (const partition of a.partitions) tps.push({ topic: a.topic, partition });
        this.pendingAssignment = tps;
        this.pendingMember = {
          generationId: p.generationId ?? this.client.generationId ?? -1,
          memberId: p.memberId ?? this.client.memberId ?? "",
        };
        const coord = this.client.coordinatorId;
        if (coord !== null && options.groupId) cluster.groupCoordinators.set(options.groupId, coord);
      },
    );
  }

  private isolation(): number {
    return (this.options.isolationLevel ?? "read_committed") === "read_committed" ? 1 : 0;
  }

  async subscribe(topics: readonly string[], listener?: RebalanceListener): Promise<void> {
    if (!this.groupManaged)
      throw new KafkaError("INVALID_CONFIG", "subscribe() needs a groupId; use assign()");
    this.subscribed = [...topics];
    this.listener = listener;
    this.client.topics.trackAll(...topics);
    try {
      await this.client.joinGroup(this.groupOptions());
    } catch (e) {
      throw toKafkaError(e, `joining group ${this.options.groupId}`);
    }
    await this.applyPendingAssignment();
  }

  private groupOptions() {
    return {
      sessionTimeout: this.options.sessionTimeoutMs ?? 10_000,
      rebalanceTimeout: this.options.rebalanceTimeoutMs ?? 30_000,
      heartbeatInterval: this.options.heartbeatIntervalMs ?? 1_000,
    };
  }

  enforceRebalance(): void {
    if (this.closed || this.subscribed.length === 0) return;
    // A rebalance under way (platformatic stops heartbeats while it joins), or one whose outcome
    // waits for the next poll: that poll's listener calls come anyway, and another JoinGroup of
    // the leader would start one more rebalance of every member.
    if (this.pendingAssignment !== null || !this.client.isActive()) return;
    // A JoinGroup with our member id makes the coordinator rebalance the group; the outcome comes
    // as a group-join event, applied with the listener calls by a later poll.
    this.client.joinGroup(this.groupOptions()).catch((e: unknown) => {
      if (!this.closed) this.rejoinFailure = toKafkaError(e, `rejoining group ${this.options.groupId}`);
    });
  }

  assign(partitions: readonly TopicPartition[]): void {
    this.assigned = partitions.map((p) => ({ topic: p.topic, partition: p.partition }));
    const keep = new Set(this.assigned.map(tpKey));
    for (const k of [...this.positions.keys()]) if (!keep.has(k)) this.positions.delete(k);
    for (const k of [...this.buffered.keys()]) if (!keep.has(k)) this.buffered.delete(k);
  }

  assignment(): TopicPartition[] {
    return this.assigned.map((p) => ({ ...p }));
  }

  private async applyPendingAssignment(): Promise<void> {
    const next = this.pendingAssignment;
    if (!next) return;
    this.pendingAssignment = null;
    const member = this.pendingMember;
    this.pendingMember = null;
    const nextKeys = new Set(next.map(tpKey));
    const prevKeys = new Set(this.assigned.map(tpKey));
    const revoked = this.assigned.filter((p) => !nextKeys.has(tpKey(p)));
    const added = next.filter((p) => !prevKeys.has(tpKey(p)));
    // Commits from the revocation callback go out with the generation that gave us those
    // partitions: the coordinator refuses them, as the group has moved on (Java's eager members
    // revoke before rejoining; here the rebalance is already over).
    if (revoked.length > 0) await this.listener?.onPartitionsRevoked?.(revoked);
    if (member !== null) this.appliedMember = member;
    this.assign(next);
    // New partitions start from the committed offset (looked up lazily in poll).
    for (const p of added) this.positions.delete(tpKey(p));
    // After every rebalance, partitions added or not (as the Java client): a listener waiting for
    // the rebalance it asked for (enforceRebalance) learns it is over when nothing moved.
    await this.listener?.onPartitionsAssigned?.(added);
  }

  private async ensurePositions(parts: readonly TopicPartition[]): Promise<void> {
    const missing = parts.filter((p) => !this.positions.has(tpKey(p)));
    if (missing.length === 0) return;
    if (this.groupManaged) {
      const committed = await this.committed(missing);
      for (const p of missing) {
        const c = committed.get(tpKey(p));
        if (c !== null && c !== undefined && c >= 0) this.positions.set(tpKey(p), c);
      }
    }
    const still = missing.filter((p) => !this.positions.has(tpKey(p)));
    if (still.length === 0) return;
    const reset = this.options.autoOffsetReset ?? "earliest";
    if (reset === "none") {
      throw new KafkaError(
        "OFFSET_OUT_OF_RANGE",
        `no committed offset for ${still.map(tpKey).join(", ")} and autoOffsetReset is none`,
      );
    }
    const offs = reset === "earliest" ? await this.beginningOffsets(still) : await this.endOffsets(still);
    for (const p of still) this.positions.set(tpKey(p), offs.get(tpKey(p)) ?? 0);
  }

  async poll(options: PollOptions): Promise<ConsumedRecord[]> {
    if (this.closed) throw new KafkaError("CONSUMER_CLOSED", "poll on a closed consumer");
    if (this.rejoinFailure !== null) {
      const e = this.rejoinFailure;
      this.rejoinFailure = null;
      throw e;
    }
    await this.applyPendingAssignment();
    const max = options.maxRecords ?? this.options.maxPollRecords ?? 500;
    const active = this.assigned.filter((p) => !this.paused.has(tpKey(p)));
    if (active.length === 0) {
      if (options.maxWaitMs > 0) await sleep(Math.min(options.maxWaitMs, 100), options.signal);
      await this.applyPendingAssignment();
      return [];
    }
    await this.ensurePositions(active);
    let out = this.drainBuffered(active, max);
    if (out.length > 0) return out;
    await this.fetchOnce(active, options.maxWaitMs, options.signal);
    await this.applyPendingAssignment();
    const stillActive = this.assigned.filter((p) => !this.paused.has(tpKey(p)));
    out = this.drainBuffered(stillActive, max);
    return out;
  }

  private drainBuffered(active: readonly TopicPartition[], max: number): ConsumedRecord[] {
    const out: ConsumedRecord[] = [];
    for (const p of active) {
      const k = tpKey(p);
      const b = this.buffered.get(k);
      if (!b) continue;
      const pos = this.positions.get(k) ?? 0;
      // Skip anything before the position (a seek happened), then take up to `max`; one splice
      // instead of shift() per record, which was quadratic on large fetches.
      let i = 0;
      while (i < b.records.length && b.records[i]!.offset < pos) i++;
      const end = Math.min(b.records.length, i + (max - out.length));
      for (let j = i; j < end; j++) out.push(b.records[j]!);
      if (end > i) this.positions.set(k, b.records[end - 1]!.offset + 1);
      b.records.splice(0, end);
      if (b.records.length === 0) {
        if (b.nextOffset > (this.positions.get(k) ?? 0)) this.positions.set(k, b.nextOffset);
        this.buffered.delete(k);
      }
      if (out.length >= max) break;
    }
    return out;
  }

  private async fetchOnce(
    active: readonly TopicPartition[],
    maxWaitMs: number,
    signal?: AbortSignal,
  ): Promise<void> {
    const topics = [...new Set(active.map((p) => p.topic))];
    const md = await this.client.metadata({ topics });
    const byNode = new Map<number, Map<string, { partition: number; fetchOffset: bigint }[]>>();
    const idToTopic = new Map<string, string>();
    for (const p of active) {
      if (this.buffered.has(tpKey(p))) continue;
      const t = md.topics.get(p.topic);
      const pm = t?.partitions[p.partition];
      if (!t || !pm) continue;
      idToTopic.set(t.id, p.topic);
      let node = byNode.get(pm.leader);
      if (!node) byNode.set(pm.leader, (node = new Map()));
      let list = node.get(t.id);
      if (!list) node.set(t.id, (list = []));
      list.push({ partition: p.partition, fetchOffset: BigInt(this.positions.get(tpKey(p)) ?? 0) });
    }
    if (byNode.size === 0) return;
    if (signal?.aborted) return;
    await Promise.all(
      [...byNode].map(async ([node, topicMap]) => {
        const req = [...topicMap].map(([topicId, parts]) => ({
          topicId,
          partitions: parts.map((x) => ({
            partition: x.partition,
            currentLeaderEpoch: -1,
            fetchOffset: x.fetchOffset,
            lastFetchedEpoch: -1,
            partitionMaxBytes: 1 << 20,
          })),
        }));
        let res: Awaited<ReturnType<PConsumerT["fetch"]>>;
        try {
          res = await this.client.fetch({
            node,
            topics: req,
            maxWaitTime: Math.max(0, maxWaitMs),
            minBytes: 1,
            maxBytes: 50 << 20,
            isolationLevel: this.isolation(),
          });
        } catch (e) {
          if (hasApiId(e, "OFFSET_OUT_OF_RANGE")) {
            // reset every partition of this request per autoOffsetReset
            for (const [topicId, parts] of topicMap) {
              for (const x of parts) this.positions.delete(`${idToTopic.get(topicId)}:${x.partition}`);
            }
            return;
          }
          throw toKafkaError(e, `fetch from node ${node}`);
        }
        this.absorb(res, idToTopic);
      }),
    );
  }

  private absorb(res: Awaited<ReturnType<PConsumerT["fetch"]>>, idToTopic: Map<string, string>): void {
    const readCommitted = this.isolation() === 1;
    for (const t of res.responses) {
      const topic = idToTopic.get(t.topicId) ?? t.topicId;
      for (const p of t.partitions) {
        const k = `${topic}:${p.partitionIndex}`;
        const pos = this.positions.get(k);
        if (pos === undefined || p.errorCode !== 0) continue;
        const aborted = readCommitted
          ? [...(p.abortedTransactions ?? [])].sort((a, b) => (a.firstOffset < b.firstOffset ? -1 : 1))
          : [];
        const abortedProducers = new Set<bigint>();
        const records: ConsumedRecord[] = [];
        let next = pos;
        for (const batch of p.records ?? []) {
          const last = batch.firstOffset + BigInt(batch.lastOffsetDelta);
          while (aborted.length > 0 && aborted[0]!.firstOffset <= last)
            abortedProducers.add(aborted.shift()!.producerId);
          if (Number(last) + 1 > next) next = Number(last) + 1;
          if (batch.attributes & ATTR_CONTROL) {
            const rec = batch.records[0];
            // control record key: version int16, type int16 (0 = abort, 1 = commit)
            if (rec?.key && rec.key.length >= 4 && rec.key.readInt16BE(2) === 0)
              abortedProducers.delete(batch.producerId);
            else if (rec?.key && rec.key.length >= 4 && rec.key.readInt16BE(2) === 1)
              abortedProducers.delete(batch.producerId);
            continue;
          }
          if (batch.attributes & ATTR_TRANSACTIONAL && abortedProducers.has(batch.producerId)) continue;
          const tsType = batch.attributes & 0x08 ? "LogAppendTime" : "CreateTime";
          for (const r of batch.records) {
            const offset = Number(batch.firstOffset) + r.offsetDelta;
            if (offset < pos) continue;
            records.push({
              topic,
              partition: p.partitionIndex,
              offset,
              timestamp:
                tsType === "LogAppendTime"
                  ? Number(batch.maxTimestamp)
                  : Number(batch.firstTimestamp + r.timestampDelta),
              timestampType: tsType,
              key: r.key ?? null,
              value: r.value ?? null,
              headers: r.headers.map(([hk, hv]) => ({
                key: hk ? hk.toString("utf8") : "",
                value: hv ?? null,
              })),
            });
          }
        }
        if (records.length > 0 || next > pos) this.buffered.set(k, { records, nextOffset: next });
      }
    }
  }

  seek(partition: TopicPartition, offset: Offset): void {
    const k = tpKey(partition);
    this.positions.set(k, offset);
    this.buffered.delete(k);
  }

  async seekToBeginning(partitions: readonly TopicPartition[]): Promise<void> {
    const o = await this.beginningOffsets(partitions);
    for (const p of partitions) this.seek(p, o.get(tpKey(p)) ?? 0);
  }

  async seekToEnd(partitions: readonly TopicPartition[]): Promise<void> {
    const o = await this.endOffsets(partitions);
    for (const p of partitions) this.seek(p, o.get(tpKey(p)) ?? 0);
  }

  async position(partition: TopicPartition): Promise<Offset> {
    await this.ensurePositions([partition]);
    return this.positions.get(tpKey(partition))!;
  }

  pause(partitions: readonly TopicPartition[]): void {
    for (const p of partitions) this.paused.add(tpKey(p));
  }

  resume(partitions: readonly TopicPartition[]): void {
    for (const p of partitions) this.paused.delete(tpKey(p));
  }

  async commit(offsets?: readonly OffsetAndMetadata[]): Promise<void> {
    if (!this.groupManaged) throw new KafkaError("INVALID_CONFIG", "commit() needs a groupId");
    const list =
      offsets ??
      this.assigned
        .filter((p) => this.positions.has(tpKey(p)))
        .map((p) => ({ ...p, offset: this.positions.get(tpKey(p))! }));
    if (list.length === 0) return;
    // platformatic commits with its latest generation (and, refused, rejoins and retries): a
    // commit is sent only when that is the generation of our assignment.
    const m = this.commitMember();
    if (m.generationId !== (this.client.generationId ?? -1) || m.memberId !== (this.client.memberId ?? "")) {
      throw new KafkaError(
        "ILLEGAL_GENERATION",
        `commit of group ${this.options.groupId} not sent: the group is at generation ${this.client.generationId}, this consumer's assignment of generation ${m.generationId} (a rebalance not applied yet)`,
      );
    }
    try {
      await this.client.commit({
        offsets: list.map((o) => ({
          topic: o.topic,
          partition: o.partition,
          offset: BigInt(o.offset),
          leaderEpoch: -1,
        })),
      });
    } catch (e) {
      throw toKafkaError(e, `offset commit for group ${this.options.groupId}`);
    }
  }

  async committed(partitions: readonly TopicPartition[]): Promise<Map<string, Offset | null>> {
    const out = new Map<string, Offset | null>();
    if (partitions.length === 0) return out;
    const byTopic = new Map<string, number[]>();
    for (const p of partitions) byTopic.set(p.topic, [...(byTopic.get(p.topic) ?? []), p.partition]);
    let res: Map<string, bigint[]>;
    try {
      res = await this.client.listCommittedOffsets({
        topics: [...byTopic].map(([topic, parts]) => ({ topic, partitions: parts })),
      });
    } catch (e) {
      throw toKafkaError(e, `committed offsets of group ${this.options.groupId}`);
    }
    for (const p of partitions) {
      const v = res.get(p.topic)?.[p.partition];
      out.set(tpKey(p), v === undefined || v < 0n ? null : Number(v));
    }
    return out;
  }

  private async listOffsets(partitions: readonly TopicPartition[], ts: bigint): Promise<Map<string, Offset>> {
    const out = new Map<string, Offset>();
    if (partitions.length === 0) return out;
    const byTopic: Record<string, number[]> = {};
    for (const p of partitions) (byTopic[p.topic] ??= []).push(p.partition);
    try {
      const res = await this.client.listOffsets({
        topics: Object.keys(byTopic),
        partitions: byTopic,
        timestamp: ts,
        isolationLevel: this.isolation(),
      });
      for (const p of partitions) out.set(tpKey(p), Number(res.get(p.topic)?.[p.partition] ?? 0n));
    } catch (e) {
      throw toKafkaError(e, "ListOffsets");
    }
    return out;
  }

  beginningOffsets(partitions: readonly TopicPartition[]): Promise<Map<string, Offset>> {
    return this.listOffsets(partitions, EARLIEST);
  }

  endOffsets(partitions: readonly TopicPartition[]): Promise<Map<string, Offset>> {
    return this.listOffsets(partitions, LATEST);
  }

  /**
   * The membership offsets are committed with: that of the applied assignment, or of the pending
   * one when it takes none of our partitions (they are still ours in the new generation). Never
   * platformatic's latest: a member that has not applied a rebalance would commit, with the new
   * generation, offsets of partitions another member already processes (duplicates under
   * exactly-once; with at-least-once its older offsets replaced the new owner's).
   */
  private commitMember(): Membership {
    const pending = this.pendingAssignment;
    if (pending !== null && this.pendingMember !== null) {
      const next = new Set(pending.map(tpKey));
      if (this.assigned.every((p) => next.has(tpKey(p)))) return this.pendingMember;
    }
    return this.appliedMember;
  }

  groupMetadata(): ConsumerGroupMetadata {
    const m = this.commitMember();
    const g: ConsumerGroupMetadata = {
      groupId: this.options.groupId ?? "",
      generationId: m.generationId,
      memberId: m.memberId,
    };
    return this.options.groupInstanceId ? { ...g, groupInstanceId: this.options.groupInstanceId } : g;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.onClose?.();
    try {
      if (this.groupManaged && this.subscribed.length > 0) await this.client.leaveGroup(true);
    } catch {
      // leaving is best effort: the session timeout removes the member anyway
    } finally {
      await this.client.close(true).catch(() => {});
    }
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const t = setTimeout(resolve, ms);
    signal?.addEventListener(
      "abort",
      () => {
        clearTimeout(t);
        resolve();
      },
      { once: true },
    );
  });
}

// ---------------------------------------------------------------- admin

const CONFIG_RESOURCE_TOPIC = 2;

class KafkaAdmin implements Admin {
  private readonly cluster: KafkaCluster;
  private readonly client: PAdmin;

  constructor(cluster: KafkaCluster) {
    this.cluster = cluster;
    this.client = new (kafkaClient().Admin)(
      cluster.baseOptions(cluster.options.clientId ?? "courant-admin") as never,
    );
  }

  async groupCoordinator(groupId: string): Promise<number> {
    const res = await this.client.findCoordinator({ keyType: 0, keys: [groupId] } as never);
    const nodeId = res[0]?.nodeId;
    if (nodeId === undefined)
      throw new KafkaError("COORDINATOR_NOT_AVAILABLE", `no coordinator for group ${groupId}`);
    this.cluster.groupCoordinators.set(groupId, nodeId);
    return nodeId;
  }

  private async run<T>(what: string, f: () => Promise<T>): Promise<T> {
    try {
      return await f();
    } catch (e) {
      throw toKafkaError(e, what);
    }
  }

  async createTopics(
    topics: readonly NewTopic[],
    options?: { readonly ifNotExists?: boolean },
  ): Promise<void> {
    for (const t of topics) {
      try {
        await this.client.createTopics({
          topics: [t.name],
          partitions: t.partitions,
          replicas: -1,
          configs: Object.entries(t.config ?? {}).map(([name, value]) => ({ name, value })),
        });
      } catch (e) {
        if (options?.ifNotExists && hasApiId(e, "TOPIC_ALREADY_EXISTS")) continue;
        throw toKafkaError(e, `create topic ${t.name}`);
      }
    }
  }

  deleteTopics(names: readonly string[]): Promise<void> {
    return this.run(`delete topics ${names.join(", ")}`, () =>
      this.client.deleteTopics({ topics: [...names] }),
    );
  }

  listTopics(options?: { readonly includeInternal?: boolean }): Promise<string[]> {
    return this.run("list topics", async () =>
      (await this.client.listTopics({ includeInternals: options?.includeInternal ?? false })).sort(),
    );
  }

  async describeTopics(names: readonly string[]): Promise<TopicDescription[]> {
    return this.run(`describe topics ${names.join(", ")}`, async () => {
      const md = await this.client.metadata({ topics: [...names], forceUpdate: true });
      const out: TopicDescription[] = [];
      for (const name of names) {
        const t = md.topics.get(name);
        if (!t) throw new KafkaError("UNKNOWN_TOPIC_OR_PARTITION", `topic ${name} does not exist`);
        const parts = t.partitions.map((_, i) => ({ topic: name, partition: i }));
        const [start, end] = await Promise.all([
          this.listOffsets(parts, "earliest"),
          this.listOffsets(parts, "latest"),
        ]);
        const cfg = await this.client.describeConfigs({
          resources: [
            { resourceType: CONFIG_RESOURCE_TOPIC, resourceName: name, configurationKeys: null },
          ] as never,
        });
        const config: Record<string, string> = {};
        for (const c of cfg[0]?.configs ?? []) if (typeof c.value === "string") config[c.name] = c.value;
        out.push({
          name,
          internal: name.startsWith("__"),
          partitions: t.partitions.map((p, i) => ({
            partition: i,
            leader: p.leader,
            logStartOffset: start.get(`${name}:${i}`) ?? 0,
            highWatermark: end.get(`${name}:${i}`) ?? 0,
          })),
          config,
        });
      }
      return out;
    });
  }

  async alterTopicConfig(name: string, config: TopicConfig): Promise<void> {
    // Incremental (SET per key) so other overrides stay as they are.
    await this.run(`alter config of topic ${name}`, () =>
      this.client.incrementalAlterConfigs({
        resources: [
          {
            resourceType: CONFIG_RESOURCE_TOPIC,
            resourceName: name,
            configs: Object.entries(config).map(([n, value]) => ({ name: n, configOperation: 0, value })),
          },
        ],
      } as never),
    );
  }

  createPartitions(name: string, totalCount: number): Promise<void> {
    return this.run(`create partitions of ${name}`, () =>
      this.client.createPartitions({ topics: [{ name, count: totalCount, assignments: [] }] } as never),
    );
  }

  async deleteRecords(partition: TopicPartition, beforeOffset: Offset): Promise<Offset> {
    return this.run(`delete records of ${tpKey(partition)}`, async () => {
      const res = await this.client.deleteRecords({
        topics: [
          {
            name: partition.topic,
            partitions: [{ partition: partition.partition, offset: BigInt(beforeOffset) }],
          },
        ],
      });
      return Number(res[0]?.partitions[0]?.lowWatermark ?? beforeOffset);
    });
  }

  async listOffsets(partitions: readonly TopicPartition[], spec: OffsetSpec): Promise<Map<string, Offset>> {
    const ts = spec === "earliest" ? EARLIEST : spec === "latest" ? LATEST : BigInt(spec.timestamp);
    return this.run("list offsets", async () => {
      const byTopic = new Map<string, number[]>();
      for (const p of partitions) byTopic.set(p.topic, [...(byTopic.get(p.topic) ?? []), p.partition]);
      const res = await this.client.listOffsets({
        isolationLevel: 1,
        topics: [...byTopic].map(([name, parts]) => ({
          name,
          partitions: parts.map((partitionIndex) => ({
            partitionIndex,
            timestamp: ts,
            currentLeaderEpoch: -1,
          })),
        })),
      } as never);
      const out = new Map<string, Offset>();
      for (const t of res as unknown as {
        name: string;
        partitions: { partitionIndex: number; offset: bigint }[];
      }[]) {
        for (const p of t.partitions) out.set(`${t.name}:${p.partitionIndex}`, Number(p.offset));
      }
      return out;
    });
  }

  listGroups(): Promise<GroupListing[]> {
    return this.run("list groups", async () => {
      const res = await this.client.listGroups();
      return [...res.values()].map((g) => {
        const x = g as unknown as { id?: string; groupId?: string; state?: string; protocolType?: string };
        return {
          groupId: x.id ?? x.groupId ?? "",
          state: String(x.state ?? ""),
          protocolType: x.protocolType ?? "",
        };
      });
    });
  }

  describeGroups(groupIds: readonly string[]): Promise<GroupDescription[]> {
    return this.run("describe groups", async () => {
      const res = await this.client.describeGroups({ groups: [...groupIds] });
      return [...res.values()].map((g) => {
        const x = g as unknown as {
          id: string;
          state: string;
          protocol: string;
          generationId?: number;
          members: Map<
            string,
            {
              id: string;
              groupInstanceId?: string | null;
              clientId: string;
              assignments?: Map<string, { topic: string; partitions: number[] }> | null;
            }
          >;
        };
        return {
          groupId: x.id,
          state: x.state,
          protocol: x.protocol ?? "",
          generationId: x.generationId ?? -1,
          members: [...(x.members?.values() ?? [])].map((m) => {
            const assignment: TopicPartition[] = [];
            for (const a of m.assignments?.values() ?? [])
              for (const partition of a.partitions) assignment.push({ topic: a.topic, partition });
            const d = { memberId: m.id, clientId: m.clientId, assignment };
            return m.groupInstanceId ? { ...d, groupInstanceId: m.groupInstanceId } : d;
          }),
        };
      });
    });
  }

  listGroupOffsets(groupId: string): Promise<OffsetAndMetadata[]> {
    return this.run(`offsets of group ${groupId}`, async () => {
      const res = await this.client.listConsumerGroupOffsets({ groups: [groupId] });
      const out: OffsetAndMetadata[] = [];
      for (const g of res) {
        for (const t of g.topics) {
          for (const p of t.partitions) {
            if (p.committedOffset < 0n) continue;
            const o = { topic: t.name, partition: p.partitionIndex, offset: Number(p.committedOffset) };
            out.push(p.metadata ? { ...o, metadata: p.metadata } : o);
          }
        }
      }
      return out;
    });
  }

  async describeLag(groupId: string): Promise<PartitionLag[]> {
    const committed = await this.listGroupOffsets(groupId);
    const ends = await this.listOffsets(committed, "latest");
    return committed.map((c) => {
      const endOffset = ends.get(tpKey(c)) ?? 0;
      return {
        topic: c.topic,
        partition: c.partition,
        committed: c.offset,
        endOffset,
        lag: Math.max(0, endOffset - c.offset),
      };
    });
  }

  deleteGroups(groupIds: readonly string[]): Promise<void> {
    return this.run(`delete groups ${groupIds.join(", ")}`, () =>
      this.client.deleteGroups({ groups: [...groupIds] }),
    );
  }

  async close(): Promise<void> {
    await this.client.close().catch(() => {});
  }
}

// The in-process producer: Kafka's client semantics (murmur2 partitioner, idempotence by default,
// transactions with sendOffsetsToTransaction) over the Broker's API, without sockets. Batches are built
// with the log's v2 codec and appended synchronously, so order per partition is call order.
import { isRetriable, kafkaError } from "../broker/index.ts";
import { encodeRecordBatch } from "../log/index.ts";
import type { ClientBroker } from "./client-broker.ts";
import { partitionForKey, StickyPartitionCache } from "./partitioner.ts";
import type {
  ConsumerGroupMetadata,
  OffsetAndMetadata,
  Producer,
  ProducerOptions,
  ProducerRecord,
  RecordMetadata,
} from "./types.ts";
import { KafkaError } from "./types.ts";
import { maybeYield } from "./embedded-yield.ts";

type TxnPhase = "ready" | "in-transaction" | "abortable" | "fatal";

const FATAL = new Set([
  "PRODUCER_FENCED",
  "INVALID_PRODUCER_EPOCH",
  "INVALID_PRODUCER_ID_MAPPING",
  "FENCED_INSTANCE_ID",
]);
const SEQ_MOD = 2 ** 31;

export class EmbeddedProducer implements Producer {
  private readonly broker: ClientBroker;
  private readonly opts: ProducerOptions;
  private readonly transactionalId: string | null;
  private readonly idempotent: boolean;
  private producerId = -1;
  private producerEpoch = -1;
  private readonly sequences = new Map<string, number>();
  private readonly sticky = new StickyPartitionCache();
  private phase: TxnPhase = "ready";
  private fatalError: KafkaError | null = null;
  private readonly txnPartitions = new Set<string>();
  private readonly txnGroups = new Set<string>();
  private txnHasOffsets = false;
  private closed = false;
  private readonly onClose: () => void;

  private constructor(broker: ClientBroker, opts: ProducerOptions, onClose: () => void) {
    this.broker = broker;
    this.opts = opts;
    this.transactionalId = opts.transactionalId ?? null;
    this.idempotent = this.transactionalId !== null || opts.idempotent !== false;
    this.onClose = onClose;
  }

  static async create(
    broker: ClientBroker,
    opts: ProducerOptions = {},
    onClose: () => void = () => {},
  ): Promise<EmbeddedProducer> {
    const p = new EmbeddedProducer(broker, opts, onClose);
    if (p.idempotent) p.initProducerId();
    return p;
  }

  get producerIdAndEpoch(): { producerId: number; producerEpoch: number } {
    return { producerId: this.producerId, producerEpoch: this.producerEpoch };
  }

  private initProducerId(): void {
    const r = this.broker.initProducerId({
      transactionalId: this.transactionalId,
      transactionTimeoutMs: this.opts.transactionTimeoutMs ?? 60_000,
    });
    if (r.errorCode !== "NONE")
      throw kafkaError(
        r.errorCode,
        `InitProducerId for ${this.transactionalId ? `transactional id "${this.transactionalId}"` : "an idempotent producer"} failed: ${r.errorCode}`,
      );
    this.producerId = r.producerId;
    this.producerEpoch = r.producerEpoch;
    this.sequences.clear();
  }

  private check(): void {
    if (this.closed) throw new KafkaError("INVALID_STATE", "the producer is closed");
    if (this.broker.isClosed)
      throw kafkaError("BROKER_NOT_AVAILABLE", this.broker.closedReason ?? "the embedded broker is closed");
    if (this.fatalError) throw this.fatalError;
  }

  private fail(code: string, message: string): never {
    const e = kafkaError(code, message);
    if (FATAL.has(code)) {
      this.phase = "fatal";
      this.fatalError = e;
    } else if (this.transactionalId !== null && this.phase === "in-transaction") {
      this.phase = "abortable";
    }
    throw e;
  }

  async partitionsFor(topic: string): Promise<number> {
    return this.partitionCount(topic);
  }

  private partitionCount(topic: string): number {
    const n = this.broker.partitionCount(topic);
    if (n !== undefined) return n;
    const md = this.broker.metadata({ topics: [topic], allowAutoTopicCreation: true });
    const t = md.topics[0];
    if (t?.errorCode !== "NONE")
      throw kafkaError(t?.errorCode ?? "UNKNOWN_TOPIC_OR_PARTITION", `topic "${topic}" does not exist`);
    return t.partitions.length;
  }

  async send(records: readonly ProducerRecord[]): Promise<RecordMetadata[]> {
    const y = maybeYield();
    if (y) await y;
    return this.sendSync(records);
  }

  /** send() without the promise: the append happens before it returns. */
  sendSync(records: readonly ProducerRecord[]): RecordMetadata[] {
    this.check();
    if (this.transactionalId !== null) {
      if (this.phase === "abortable")
        throw kafkaError(
          "INVALID_TXN_STATE",
          "the transaction hit an error and must be aborted before sending more",
        );
      if (this.phase !== "in-transaction")
        throw kafkaError(
          "INVALID_TXN_STATE",
          "a transactional producer sends only inside beginTransaction()",
        );
    }
    if (records.length === 0) return [];
    // Group by partition, keeping each record's index to answer in input order.
    const byPartition = new Map<string, { topic: string; partition: number; idx: number[] }>();
    const stickyTopics = new Map<string, number>();
    const counts = new Map<string, number>();
    for (let i = 0; i < records.length; i++) {
      const r = records[i]!;
      let n = counts.get(r.topic);
      if (n === undefined) counts.set(r.topic, (n = this.partitionCount(r.topic)));
      let p: number;
      if (r.partition !== undefined) {
        if (!Number.isInteger(r.partition) || r.partition < 0 || r.partition >= n)
          throw kafkaError(
            "UNKNOWN_TOPIC_OR_PARTITION",
            `record ${i}: partition ${r.partition} of topic "${r.topic}" does not exist (it has ${n})`,
          );
        p = r.partition;
      } else if (r.key) {
        p = partitionForKey(r.key, n);
      } else {
        p = this.sticky.partition(r.topic, n);
        stickyTopics.set(r.topic, n);
      }
      const k = `${r.topic}:${p}`;
      let g = byPartition.get(k);
      if (!g) byPartition.set(k, (g = { topic: r.topic, partition: p, idx: [] }));
      g.idx.push(i);
    }
    for (const [t, n] of stickyTopics) this.sticky.next(t, n);

    if (this.transactionalId !== null) {
      const fresh = [...byPartition.entries()].filter(([k]) => !this.txnPartitions.has(k)).map(([, g]) => g);
      if (fresh.length > 0) {
        const byTopic = new Map<string, number[]>();
        for (const g of fresh) {
          let l = byTopic.get(g.topic);
          if (!l) byTopic.set(g.topic, (l = []));
          l.push(g.partition);
        }
        const res = this.broker.addPartitionsToTxn({
          transactionalId: this.transactionalId,
          producerId: this.producerId,
          producerEpoch: this.producerEpoch,
          topics: [...byTopic].map(([name, partitions]) => ({ name, partitions })),
        });
        for (const t of res)
          for (const p of t.partitions)
            if (p.errorCode !== "NONE")
              this.fail(
                p.errorCode,
                `AddPartitionsToTxn ${t.name}-${p.partitionIndex} failed: ${p.errorCode}`,
              );
        for (const g of fresh) this.txnPartitions.add(`${g.topic}:${g.partition}`);
      }
    }

    const now = Date.now();
    const batches: { topic: string; partition: number; records: Buffer; idx: number[]; count: number }[] = [];
    for (const [k, g] of byPartition) {
      const seq = this.idempotent ? (this.sequences.get(k) ?? 0) : -1;
      const batch = encodeRecordBatch(
        g.idx.map((i) => {
          const r = records[i]!;
          return { key: r.key, value: r.value, timestamp: r.timestamp ?? now, headers: r.headers };
        }),
        {
          compression: this.opts.compression ?? "none",
          transactional: this.transactionalId !== null,
          producerId: this.producerId,
          producerEpoch: this.producerEpoch,
          baseSequence: seq,
          timestamp: now,
        },
      );
      batches.push({
        topic: g.topic,
        partition: g.partition,
        records: batch,
        idx: g.idx,
        count: g.idx.length,
      });
    }
    const byTopic = new Map<string, { index: number; records: Uint8Array }[]>();
    for (const b of batches) {
      let l = byTopic.get(b.topic);
      if (!l) byTopic.set(b.topic, (l = []));
      l.push({ index: b.partition, records: b.records });
    }
    // The batches were encoded just above by encodeRecordBatch: the log may skip re-checking
    // their CRC and framing (it recognises its encoder's own buffers; anything else is checked).
    const resp = this.broker.produceSync(
      {
        transactionalId: this.transactionalId,
        acks: this.opts.acks ?? -1,
        topics: [...byTopic].map(([name, partitions]) => ({ name, partitions })),
      },
      { encodedInProcess: true },
    );
    const out: RecordMetadata[] = new Array(records.length);
    let firstError: { code: string; message: string } | null = null;
    for (const t of resp.responses) {
      for (const p of t.partitions) {
        const b = batches.find((x) => x.topic === t.name && x.partition === p.index)!;
        if (p.errorCode !== "NONE") {
          firstError ??= {
            code: p.errorCode,
            message: `produce to ${t.name}-${p.index} failed: ${p.errorMessage ?? p.errorCode}`,
          };
          continue;
        }
        if (this.idempotent) {
          const k = `${t.name}:${p.index}`;
          this.sequences.set(k, ((this.sequences.get(k) ?? 0) + b.count) % SEQ_MOD);
        }
        b.idx.forEach((i, j) => {
          const r = records[i]!;
          out[i] = {
            topic: t.name,
            partition: p.index,
            offset: p.baseOffset + j,
            timestamp: p.logAppendTimeMs !== -1 ? p.logAppendTimeMs : (r.timestamp ?? now),
          };
        });
      }
    }
    if (firstError) this.fail(firstError.code, firstError.message);
    return out;
  }

  beginTransaction(): void {
    this.check();
    if (this.transactionalId === null)
      throw kafkaError(
        "INVALID_TXN_STATE",
        "beginTransaction() needs a producer created with a transactionalId",
      );
    if (this.phase !== "ready")
      throw kafkaError("INVALID_TXN_STATE", `beginTransaction() called while a transaction is ${this.phase}`);
    this.phase = "in-transaction";
    this.txnPartitions.clear();
    this.txnGroups.clear();
    this.txnHasOffsets = false;
  }

  async sendOffsetsToTransaction(
    offsets: readonly OffsetAndMetadata[],
    group: ConsumerGroupMetadata,
  ): Promise<void> {
    this.check();
    if (this.transactionalId === null || this.phase !== "in-transaction")
      throw kafkaError(
        "INVALID_TXN_STATE",
        "sendOffsetsToTransaction() is allowed only inside a transaction",
      );
    if (!this.txnGroups.has(group.groupId)) {
      const r = this.broker.addOffsetsToTxn({
        transactionalId: this.transactionalId,
        producerId: this.producerId,
        producerEpoch: this.producerEpoch,
        groupId: group.groupId,
      });
      if (r.errorCode !== "NONE")
        this.fail(r.errorCode, `AddOffsetsToTxn for group "${group.groupId}" failed: ${r.errorCode}`);
      this.txnGroups.add(group.groupId);
    }
    if (offsets.length === 0) return;
    const byTopic = new Map<
      string,
      { partitionIndex: number; committedOffset: number; committedMetadata: string | null }[]
    >();
    for (const o of offsets) {
      let l = byTopic.get(o.topic);
      if (!l) byTopic.set(o.topic, (l = []));
      l.push({
        partitionIndex: o.partition,
        committedOffset: o.offset,
        committedMetadata: o.metadata ?? null,
      });
    }
    const res = this.broker.txnOffsetCommit({
      transactionalId: this.transactionalId,
      groupId: group.groupId,
      producerId: this.producerId,
      producerEpoch: this.producerEpoch,
      generationId: group.generationId,
      memberId: group.memberId,
      groupInstanceId: group.groupInstanceId ?? null,
      topics: [...byTopic].map(([name, partitions]) => ({ name, partitions })),
    });
    this.txnHasOffsets = true;
    for (const t of res)
      for (const p of t.partitions)
        if (p.errorCode !== "NONE")
          this.fail(
            p.errorCode,
            `TxnOffsetCommit of group "${group.groupId}" for ${t.name}-${p.partitionIndex} failed: ${p.errorCode}`,
          );
  }

  async commitTransaction(): Promise<void> {
    this.check();
    if (this.transactionalId === null || this.phase === "ready")
      throw kafkaError("INVALID_TXN_STATE", "commitTransaction() without a transaction in progress");
    if (this.phase === "abortable")
      throw kafkaError("INVALID_TXN_STATE", "the transaction hit an error; it can only be aborted");
    await this.endTxn(true);
  }

  async abortTransaction(): Promise<void> {
    this.check();
    if (this.transactionalId === null || this.phase === "ready")
      throw kafkaError("INVALID_TXN_STATE", "abortTransaction() without a transaction in progress");
    await this.endTxn(false);
  }

  private async endTxn(commit: boolean): Promise<void> {
    // As the Java client: nothing was added, so there is nothing for the coordinator to end.
    if (this.txnPartitions.size > 0 || this.txnGroups.size > 0 || this.txnHasOffsets) {
      // Retriable answers (a storage error while writing markers, a completion in progress) are retried:
      // the coordinator finishes a prepared transaction on its own, and a retry then sees it completed.
      const deadline = Date.now() + (this.opts.transactionTimeoutMs ?? 60_000);
      for (let attempt = 0; ; attempt++) {
        const r = this.broker.endTxn({
          transactionalId: this.transactionalId!,
          producerId: this.producerId,
          producerEpoch: this.producerEpoch,
          committed: commit,
        });
        if (r.errorCode === "NONE") break;
        const retriable = isRetriable(r.errorCode) && !this.broker.isClosed;
        if (!retriable || Date.now() >= deadline)
          this.fail(
            r.errorCode,
            `${commit ? "commit" : "abort"} of transaction "${this.transactionalId}" failed: ${r.errorCode}`,
          );
        await new Promise((resolve) => setTimeout(resolve, Math.min(500, 20 * 2 ** Math.min(attempt, 5))));
      }
    }
    this.phase = "ready";
    this.txnPartitions.clear();
    this.txnGroups.clear();
    this.txnHasOffsets = false;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.onClose();
  }
}

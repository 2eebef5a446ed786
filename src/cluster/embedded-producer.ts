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
import { KafkaError, type PartitionAppend } from "./types.ts";
import { maybeYield } from "./embedded-yield.ts";

type TxnPhase = "ready" | "in-transaction" | "abortable" | "fatal";

const FATAL = new Set([
  "PRODUCER_FENCED",
  "INVALID_PRODUCER_EPOCH",
  "INVALID_PRODUCER_ID_MAPPING",
  "FENCED_INSTANCE_ID",
]);
const SEQ_MOD = 2 ** 31;

interface AppendedBatch extends PartitionAppend {
  readonly logAppendTimeMs: number;
  /** The send's time: the timestamp of records that have none (CreateTime topics). */
  readonly sentAt: number;
}

/** One send's records for one partition, in call order. */
interface PartitionGroup {
  readonly topic: string;
  readonly partition: number;
  /** Position among the send's groups (in first-seen order). */
  readonly index: number;
  /** The group's records until they are encoded. */
  records: readonly ProducerRecord[];
  /** How many records the group has. */
  size: number;
  /** The batch's first sequence number (idempotent producers), given when it is encoded. */
  baseSequence: number;
}

/** One send's batches, encoded and numbered, and what its answer is read against. */
interface PreparedProduce {
  readonly topics: readonly TopicGroups[];
  readonly all: readonly PartitionGroup[];
  readonly request: ProduceRequest;
  readonly now: number;
}

type ProduceRequest = Parameters<ClientBroker["produceSync"]>[0];
type ProduceResponse = ReturnType<ClientBroker["produceSync"]>;

const EMPTY_RECORDS: readonly ProducerRecord[] = [];
const noop = (): void => {};

type ProducePartitionAnswer = ProduceResponse["responses"][number]["partitions"][number];

interface TopicGroups {
  readonly name: string;
  readonly count: number;
  /** Groups by partition number (sparse). */
  readonly slots: (PartitionGroup | undefined)[];
  /** Groups in first-seen order. */
  readonly groups: PartitionGroup[];
  sticky: boolean;
}

export class EmbeddedProducer implements Producer {
  private readonly broker: ClientBroker;
  private readonly opts: ProducerOptions;
  private readonly transactionalId: string | null;
  private readonly idempotent: boolean;
  private producerId = -1;
  private producerEpoch = -1;
  /**
   * Next sequence number by topic, then partition: advanced when a batch is encoded, since over a
   * link more than one may be in flight.
   */
  private readonly sequences = new Map<string, number[]>();
  /** The sequence after the last batch the broker stored, by topic then partition. */
  private readonly acked = new Map<string, number[]>();
  /**
   * Partitions where a batch failed, with the first failed batch's base, by topic: their numbering
   * resumes where the broker's stopped once no produce is in flight (see applyRewinds).
   */
  private readonly rewinds = new Map<string, Map<number, number>>();
  /** Produces posted over a link and not answered yet (see produceAsync). */
  private readonly inFlight = new Set<Promise<unknown>>();
  /** The first error of a produce answered asynchronously in the open transaction. */
  private asyncFailure: KafkaError | null = null;
  /** Sends waiting for their turn behind one that gave the event loop a turn (see inTurn). */
  private queued: Promise<void> | null = null;
  private readonly sticky = new StickyPartitionCache();
  private phase: TxnPhase = "ready";
  private fatalError: KafkaError | null = null;
  /** Partitions added to the open transaction, by topic. */
  private readonly txnPartitions = new Map<string, Set<number>>();
  private readonly txnGroups = new Set<string>();
  private txnHasOffsets = false;
  private closed = false;
  private readonly onClose: () => void;
  /** Per record of a send: its group, then its position in the group (see append). */
  private scratch = new Int32Array(256);
  private scratchInUse = false;

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
    this.acked.clear();
    this.rewinds.clear();
  }

  private check(): void {
    if (this.closed) throw new KafkaError("INVALID_STATE", "the producer is closed");
    if (this.broker.isClosed)
      throw kafkaError("BROKER_NOT_AVAILABLE", this.broker.closedReason ?? "the embedded broker is closed");
    if (this.fatalError) throw this.fatalError;
  }

  /**
   * A broker call whose KafkaError moves the transaction as an error answer would (abortable, or
   * fatal when fenced): over a cluster link, the deferred transaction calls' errors come this way.
   */
  private failOnThrow<T>(call: () => T): T {
    try {
      return call();
    } catch (e) {
      if (e instanceof KafkaError) this.fail(e.code, e.message);
      throw e;
    }
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
    return this.inTurn(() => this.sendSync(records));
  }

  /**
   * Runs a send now, or after the sends queued before it. A send gives the event loop a turn now
   * and then (maybeYield: in-process calls would otherwise starve timers and I/O); one made
   * meanwhile must not overtake it, as sends keep their call order.
   */
  private inTurn<T>(send: () => T | Promise<T>): T | Promise<T> {
    const before = this.queued ?? maybeYield();
    if (before === undefined) return send();
    const turn = before.then(send);
    const done = turn.then(noop, noop);
    this.queued = done;
    void done.then(() => {
      if (this.queued === done) this.queued = null;
    });
    return turn;
  }

  /** send() without the promise: the append happens before it returns. */
  sendSync(records: readonly ProducerRecord[]): RecordMetadata[] {
    if (records.length === 0) {
      this.checkSend();
      return [];
    }
    const n = records.length;
    // Each record's group and position in it, as append() left them in `where` (one group: input order).
    const { appends, where } = this.append(records);
    const single = appends.length === 1;
    const out: RecordMetadata[] = new Array(n);
    for (let i = 0; i < n; i++) {
      const a = appends[single ? 0 : where[i]!]!;
      out[i] = {
        topic: a.topic,
        partition: a.partition,
        offset: a.baseOffset + (single ? i : where[n + i]!),
        timestamp: a.logAppendTimeMs !== -1 ? a.logAppendTimeMs : (records[i]!.timestamp ?? a.sentAt),
      };
    }
    return out;
  }

  /**
   * send() answering per partition instead of per record: where each partition's records went
   * (offsets baseOffset..lastOffset, in send order), one entry per partition written. For callers that
   * need only offset ranges (a changelog's last offset): no metadata object per record.
   */
  async sendForPartitions(records: readonly ProducerRecord[]): Promise<PartitionAppend[]> {
    // Across a link, the batches are posted before this returns (so sends keep their call order)
    // and answered later: the worker goes on while the broker's thread appends.
    if (this.broker.produceAsync !== undefined && records.length > 0)
      return this.queued === null
        ? this.appendPosted(records)
        : this.inTurn(() => this.appendPosted(records));
    return this.inTurn(() => this.sendSyncForPartitions(records));
  }

  /** The produce of sendForPartitions over a link: encoded and posted now, answered by the promise. */
  private appendPosted(records: readonly ProducerRecord[]): Promise<AppendedBatch[]> {
    const prepared = this.append(records, null).prepared;
    let posted: Promise<ProduceResponse>;
    try {
      posted = this.broker.produceAsync!(prepared.request, { encodedInProcess: true });
    } catch (e) {
      posted = Promise.reject(e);
    }
    const answered = posted.then(
      (resp) => this.answer(prepared, resp),
      (e: unknown) => this.answerFailed(prepared, e),
    );
    const settled: Promise<void> = answered.then(
      () => this.settled(settled),
      (e: unknown) => {
        if (e instanceof KafkaError && this.transactionalId !== null) this.asyncFailure ??= e;
        this.settled(settled);
      },
    );
    this.inFlight.add(settled);
    return answered;
  }

  private settled(p: Promise<unknown>): void {
    this.inFlight.delete(p);
    this.applyRewinds();
  }

  /** Waits until every produce posted over a link is answered (never throws: their errors are the sends'). */
  private async drain(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all(this.inFlight);
  }

  /** sendForPartitions() without the promise. */
  sendSyncForPartitions(records: readonly ProducerRecord[]): PartitionAppend[] {
    if (records.length === 0) {
      this.checkSend();
      return [];
    }
    return this.append(records).appends;
  }

  private checkSend(): void {
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
  }

  /**
   * Groups records by partition (call order kept within each), encodes one batch per partition and
   * appends them all in one produce call. Answers per group (in first-seen order) and, in `where`,
   * each record's group (where[i]) and position in it (where[n + i]) when there is more than one group.
   */
  private append(records: readonly ProducerRecord[]): { appends: AppendedBatch[]; where: Int32Array };
  private append(records: readonly ProducerRecord[], posted: null): { prepared: PreparedProduce };
  private append(
    records: readonly ProducerRecord[],
    posted?: null,
  ): { appends: AppendedBatch[]; where: Int32Array } | { prepared: PreparedProduce } {
    this.checkSend();
    const n = records.length;
    // The producer's scratch, or a fresh one if a send re-enters from inside the broker call.
    const reentered = this.scratchInUse;
    if (!reentered && this.scratch.length < 2 * n)
      this.scratch = new Int32Array(Math.max(2 * n, 2 * this.scratch.length));
    const where = reentered ? new Int32Array(2 * n) : this.scratch;
    this.scratchInUse = true;
    try {
      const prepared = this.prepare(records, where);
      if (posted === null) return { prepared };
      let resp: ProduceResponse;
      try {
        // The batches were encoded by encodeRecordBatch: the log may skip re-checking their CRC
        // and framing (it recognises its encoder's own buffers; anything else is checked).
        resp = this.broker.produceSync(prepared.request, { encodedInProcess: true });
      } catch (e) {
        return this.answerFailed(prepared, e);
      }
      return { appends: this.answer(prepared, resp), where };
    } finally {
      if (!reentered) this.scratchInUse = false;
    }
  }

  /** Groups a send's records by partition, registers new partitions with the transaction, encodes the batches. */
  private prepare(records: readonly ProducerRecord[], where: Int32Array): PreparedProduce {
    const n = records.length;
    // Per topic, its partitions' groups by partition number; the request lists topics and partitions
    // in first-seen order, and the response answers in the same order.
    const topics: TopicGroups[] = [];
    const byTopic = new Map<string, TopicGroups>();
    const all: PartitionGroup[] = [];
    let last: TopicGroups | undefined;
    let stickyUsed = false;
    for (let i = 0; i < n; i++) {
      const r = records[i]!;
      let t = last !== undefined && last.name === r.topic ? last : byTopic.get(r.topic);
      if (t === undefined) {
        t = { name: r.topic, count: this.partitionCount(r.topic), slots: [], groups: [], sticky: false };
        byTopic.set(r.topic, t);
        topics.push(t);
      }
      last = t;
      const count = t.count;
      let p: number;
      if (r.partition !== undefined) {
        if (!Number.isInteger(r.partition) || r.partition < 0 || r.partition >= count)
          throw kafkaError(
            "UNKNOWN_TOPIC_OR_PARTITION",
            `record ${i}: partition ${r.partition} of topic "${r.topic}" does not exist (it has ${count})`,
          );
        p = r.partition;
      } else if (r.key) {
        p = partitionForKey(r.key, count);
      } else {
        p = this.sticky.partition(r.topic, count);
        t.sticky = true;
        stickyUsed = true;
      }
      let g = t.slots[p];
      if (g === undefined) {
        g = {
          topic: r.topic,
          partition: p,
          index: all.length,
          records: EMPTY_RECORDS,
          size: 0,
          baseSequence: -1,
        };
        t.slots[p] = g;
        t.groups.push(g);
        all.push(g);
      }
      g.size++;
      where[i] = g.index;
    }
    // Second pass: each group's records in an array of its size (one group: the input itself).
    if (all.length === 1) all[0]!.records = records;
    else {
      for (const g of all) {
        g.records = new Array<ProducerRecord>(g.size);
        g.size = 0;
      }
      for (let i = 0; i < n; i++) {
        const g = all[where[i]!]!;
        const j = g.size++;
        (g.records as ProducerRecord[])[j] = records[i]!;
        where[n + i] = j;
      }
    }
    if (stickyUsed) for (const t of topics) if (t.sticky) this.sticky.next(t.name, t.count);

    if (this.transactionalId !== null) this.addToTransaction(topics);

    const now = Date.now();
    const reqTopics: { name: string; partitions: { index: number; records: Uint8Array }[] }[] = [];
    try {
      this.encode(topics, reqTopics, now);
    } catch (e) {
      // Numbers given to batches that will not be sent are taken back.
      for (const g of all) this.rewind(g);
      this.applyRewinds();
      throw e;
    }
    const request = { transactionalId: this.transactionalId, acks: this.opts.acks ?? -1, topics: reqTopics };
    return { topics, all, request, now };
  }

  private encode(
    topics: readonly TopicGroups[],
    reqTopics: { name: string; partitions: { index: number; records: Uint8Array }[] }[],
    now: number,
  ): void {
    const transactional = this.transactionalId !== null;
    const compression = this.opts.compression ?? "none";
    for (const t of topics) {
      const seqs = this.idempotent ? this.sequencesOf(t.name) : null;
      const partitions: { index: number; records: Uint8Array }[] = [];
      for (const g of t.groups) {
        if (seqs !== null) {
          g.baseSequence = seqs[g.partition] ?? 0;
          seqs[g.partition] = (g.baseSequence + g.records.length) % SEQ_MOD;
        }
        const batch = encodeRecordBatch(g.records, {
          compression,
          transactional,
          producerId: this.producerId,
          producerEpoch: this.producerEpoch,
          baseSequence: g.baseSequence,
          timestamp: now,
        });
        partitions.push({ index: g.partition, records: batch });
        // Encoded: the answer needs only their count (`size`), and a posted produce's records
        // would otherwise live until its answer.
        g.records = EMPTY_RECORDS;
      }
      reqTopics.push({ name: t.name, partitions });
    }
  }

  /** Where each group went, from the broker's answer; a partition's error fails the send. */
  private answer(prepared: PreparedProduce, resp: ProduceResponse): AppendedBatch[] {
    const { topics, all, now } = prepared;
    const appends: AppendedBatch[] = new Array(all.length);
    let firstError: { code: string; message: string } | null = null;
    for (let ti = 0; ti < topics.length; ti++) {
      const t = topics[ti]!;
      const answered = resp.responses[ti];
      for (let pi = 0; pi < t.groups.length; pi++) {
        const g = t.groups[pi]!;
        let p: ProducePartitionAnswer | undefined = answered?.partitions[pi];
        // The broker answers in request order; should one not, find the answer by name and index.
        if (answered?.name !== t.name || p?.index !== g.partition)
          p = resp.responses.find((x) => x.name === t.name)?.partitions.find((x) => x.index === g.partition);
        if (p === undefined || p.errorCode !== "NONE") {
          const code = p?.errorCode ?? "UNKNOWN_SERVER_ERROR";
          firstError ??= {
            code,
            message: `produce to ${t.name}-${g.partition} failed: ${p?.errorMessage ?? code}`,
          };
          this.rewind(g);
          continue;
        }
        if (g.baseSequence >= 0)
          this.sequencesOf(t.name, this.acked)[g.partition] = (g.baseSequence + g.size) % SEQ_MOD;
        appends[g.index] = {
          topic: t.name,
          partition: g.partition,
          baseOffset: p.baseOffset,
          lastOffset: p.baseOffset + g.size - 1,
          logAppendTimeMs: p.logAppendTimeMs,
          sentAt: now,
        };
      }
    }
    this.applyRewinds();
    if (firstError) this.fail(firstError.code, firstError.message);
    return appends;
  }

  /** The whole produce failed (the link, a deferred transaction call): none of its batches is stored. */
  private answerFailed(prepared: PreparedProduce, e: unknown): never {
    if (e instanceof KafkaError && e.code === "REQUEST_TIMED_OUT" && this.idempotent) {
      // Unanswered, it may still be stored: numbering on from before it could have a later batch
      // taken for its duplicate (acknowledged, not stored), and numbering past it would be refused
      // if it was not. As Kafka's producer with a batch of unknown outcome, this one stops here:
      // closed and created again, it starts from a new producer epoch.
      this.phase = "fatal";
      this.fatalError = kafkaError(
        "REQUEST_TIMED_OUT",
        `${e.message}; whether it was stored is unknown, so this producer cannot go on: close it and create another`,
      );
      throw this.fatalError;
    }
    for (const g of prepared.all) this.rewind(g);
    this.applyRewinds();
    if (e instanceof KafkaError) this.fail(e.code, e.message);
    throw e;
  }

  /** Notes that a batch was not stored: its partition's numbering resumes from it. */
  private rewind(g: PartitionGroup): void {
    if (!this.idempotent || g.baseSequence < 0) return;
    let r = this.rewinds.get(g.topic);
    if (r === undefined) this.rewinds.set(g.topic, (r = new Map()));
    if (!r.has(g.partition)) r.set(g.partition, g.baseSequence);
  }

  /**
   * Numbers a failed batch's partition from where the broker's numbering stands: after the last
   * batch it stored. (A later batch may have been stored in spite of the gap: a broker with no
   * state for this producer there takes any first sequence, as Kafka's does.) Where it stored none,
   * from the first failed batch.
   */
  private applyRewinds(): void {
    // Only once every answer is in: a later batch's answer may still move the broker's numbering.
    if (this.rewinds.size === 0 || this.inFlight.size > 0) return;
    for (const [topic, r] of this.rewinds) {
      const seqs = this.sequencesOf(topic);
      const acked = this.acked.get(topic);
      for (const [partition, firstFailed] of r) seqs[partition] = acked?.[partition] ?? firstFailed;
    }
    this.rewinds.clear();
  }

  /** Next sequence number by partition, for one topic (idempotent producers). */
  private sequencesOf(topic: string, of: Map<string, number[]> = this.sequences): number[] {
    let s = of.get(topic);
    if (s === undefined) of.set(topic, (s = []));
    return s;
  }

  /** Registers the partitions this transaction writes to for the first time (AddPartitionsToTxn). */
  private addToTransaction(topics: readonly TopicGroups[]): void {
    let fresh: { name: string; partitions: number[] }[] | null = null;
    for (const t of topics) {
      const known = this.txnPartitions.get(t.name);
      let l: number[] | null = null;
      for (const g of t.groups) {
        if (known?.has(g.partition)) continue;
        if (l === null) (fresh ??= []).push({ name: t.name, partitions: (l = []) });
        l.push(g.partition);
      }
    }
    if (fresh === null) return;
    const res = this.broker.addPartitionsToTxn({
      transactionalId: this.transactionalId!,
      producerId: this.producerId,
      producerEpoch: this.producerEpoch,
      topics: fresh,
    });
    for (const t of res)
      for (const p of t.partitions)
        if (p.errorCode !== "NONE")
          this.fail(p.errorCode, `AddPartitionsToTxn ${t.name}-${p.partitionIndex} failed: ${p.errorCode}`);
    for (const t of fresh) {
      let known = this.txnPartitions.get(t.name);
      if (known === undefined) this.txnPartitions.set(t.name, (known = new Set()));
      for (const p of t.partitions) known.add(p);
    }
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
    this.asyncFailure = null;
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
    // As Kafka's commitTransaction: the sends still in flight are waited for first.
    await this.drain();
    if (this.phase === "abortable")
      throw kafkaError(
        "INVALID_TXN_STATE",
        `the transaction hit an error; it can only be aborted${this.asyncFailure ? ` (${this.asyncFailure.message})` : ""}`,
      );
    this.check();
    await this.endTxn(true);
  }

  async abortTransaction(): Promise<void> {
    this.check();
    if (this.transactionalId === null || this.phase === "ready")
      throw kafkaError("INVALID_TXN_STATE", "abortTransaction() without a transaction in progress");
    // Their answers (failures included) are in before the abort: the numbering resumes right after.
    await this.drain();
    this.check();
    await this.endTxn(false);
  }

  private async endTxn(commit: boolean): Promise<void> {
    // As the Java client: nothing was added, so there is nothing for the coordinator to end.
    if (this.txnPartitions.size > 0 || this.txnGroups.size > 0 || this.txnHasOffsets) {
      // Retriable answers (a storage error while writing markers, a completion in progress) are retried:
      // the coordinator finishes a prepared transaction on its own, and a retry then sees it completed.
      const deadline = Date.now() + (this.opts.transactionTimeoutMs ?? 60_000);
      for (let attempt = 0; ; attempt++) {
        const r = this.failOnThrow(() =>
          this.broker.endTxn({
            transactionalId: this.transactionalId!,
            producerId: this.producerId,
            producerEpoch: this.producerEpoch,
            committed: commit,
          }),
        );
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
    await this.drain();
    this.onClose();
  }
}

// The worker's end of a cluster link: a full Cluster (LinkedCluster) whose producers and consumers are
// the embedded ones (one implementation of the client logic), over a LinkedBroker that forwards their
// broker calls to the thread owning the broker. Calls the clients make synchronously block the worker
// on a shared flag until answered (Atomics.wait, then receiveMessageOnPort); the group rendezvous, long
// polls and admin calls are plain asynchronous messages. Reads fetch stored batch bytes (one copy, moved
// not cloned) and decode them here with the log's own decoding, keeping what the consumer did not take
// yet for its next poll, as Kafka's fetch buffer does.
import { MessageChannel, type MessagePort, receiveMessageOnPort } from "node:worker_threads";
import { type Broker, kafkaError } from "../broker/index.ts";
import {
  decodeFetchedRecords,
  encodedInProcess,
  type IsolationLevel,
  type LogRecord,
  type WaitForDataOptions,
} from "../log/index.ts";
import type { ClientBroker, ClientPartitionLog, PrefetchRead } from "./client-broker.ts";
import { EmbeddedConsumer } from "./embedded-consumer.ts";
import { EmbeddedProducer } from "./embedded-producer.ts";
import {
  type FromBrokerMessage,
  fromWireError,
  LINK_BROKER_CLOSED,
  LINK_OPEN,
  type LinkBatchReply,
  type LinkFetch,
  type LinkFetchAnswer,
  type LinkVouches,
  ownedBytes,
  type ReplyMessage,
  STATE_CLOSED,
  STATE_REPLIES,
} from "./link-protocol.ts";
import type {
  Admin,
  Cluster,
  Consumer,
  ConsumerOptions,
  GroupDescription,
  GroupListing,
  NewTopic,
  Offset,
  OffsetAndMetadata,
  OffsetSpec,
  PartitionLag,
  Producer,
  ProducerOptions,
  TopicConfig,
  TopicDescription,
  TopicPartition,
} from "./types.ts";
import type { KafkaError } from "./types.ts";

export interface LinkedClusterOptions {
  /**
   * Longest wait for the answer to a synchronous call (default 30 s): the broker's thread answers
   * from its event loop, so only a thread stuck for that long makes a call fail (REQUEST_TIMED_OUT).
   */
  readonly callTimeoutMs?: number;
}

const WAIT_SLICE_MS = 50;
/** How long a worker's client trusts a topic's partition count before asking again. */
const METADATA_MAX_AGE_MS = 5000;
/**
 * Bytes a worker's fetch reads per partition, by default. The records handed out are views of the
 * fetched buffer, which lives until its last record is processed: at 1 MiB (Kafka's
 * max.partition.fetch.bytes) a chunk lasted several polls, reached the old generation, and those
 * buffers started most of the correlation worker's full collections (4-8 in a 6 s run; 2 at
 * 256 KiB, BENCH_MARKS=1 node --trace-gc-nvp bench/rewards.ts).
 */
const LINK_FETCH_MAX_BYTES = 256 * 1024;

interface Pending {
  resolve(v: unknown): void;
  reject(e: Error): void;
}

/** What a posted call resolves with when its time is up (see LinkTransport.post). */
const TIMED_OUT: unique symbol = Symbol("timed out");

/** The answer of a call sent with deferred calls, or the error of the first of them that failed. */
function batchValue<T>(method: string, r: LinkBatchReply): T {
  if (r.failed !== undefined)
    throw kafkaError(
      r.failed.code,
      `${r.failed.method} (sent with ${method}) failed: ${r.failed.message ?? r.failed.code}`,
    );
  return r.value as T;
}

/** The worker's side of the port: synchronous and asynchronous calls, close detection. */
class LinkTransport {
  private readonly port: MessagePort;
  private readonly syncReplies: MessagePort;
  private readonly state: Int32Array;
  private readonly callTimeoutMs: number;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly closeController = new AbortController();
  private shutdownReason: string | null = null;

  constructor(port: MessagePort, options: LinkedClusterOptions) {
    this.port = port;
    this.callTimeoutMs = options.callTimeoutMs ?? 30_000;
    const { port1, port2 } = new MessageChannel();
    this.syncReplies = port1;
    this.state = new Int32Array(new SharedArrayBuffer(8));
    port.on("message", (m: FromBrokerMessage) => this.onMessage(m));
    port.on("close", () => this.shutdown("the link to the broker's thread is closed"));
    // Only calls in flight keep the worker alive, as a socket with no request would not.
    port.unref();
    port.postMessage({ k: "hello", syncPort: port2, state: this.state }, [port2]);
  }

  get isClosed(): boolean {
    return this.shutdownReason !== null || Atomics.load(this.state, STATE_CLOSED) !== LINK_OPEN;
  }

  get closeSignal(): AbortSignal {
    if (!this.closeController.signal.aborted && this.isClosed) this.shutdown(this.reasonFromState());
    return this.closeController.signal;
  }

  private reasonFromState(): string {
    return Atomics.load(this.state, STATE_CLOSED) === LINK_BROKER_CLOSED
      ? "the embedded broker is closed"
      : "the link to the broker's thread is closed";
  }

  get closedReason(): string | undefined {
    if (!this.isClosed) return undefined;
    return this.shutdownReason ?? this.reasonFromState();
  }

  closedError(): KafkaError {
    return kafkaError("BROKER_NOT_AVAILABLE", this.shutdownReason ?? this.reasonFromState());
  }

  /** Calls sent with the next synchronous call (see defer). */
  private deferred: [string, readonly unknown[]][] = [];

  /**
   * Queues a call whose answer the client only checks for errors, to go with the next synchronous
   * call in one round trip (the transaction calls of a commit: AddPartitionsToTxn before its
   * produce, AddOffsetsToTxn and TxnOffsetCommit before EndTxn). Each round trip waits for the
   * broker's thread. The broker runs them in order and stops at the first error, which the next
   * call then throws: the transaction cannot commit, as when the call itself failed.
   */
  defer(method: string, args: readonly unknown[]): void {
    if (this.isClosed) throw this.closedError();
    this.deferred.push([method, args]);
  }

  /**
   * Drops the deferred offset commits not sent yet (an abort makes them moot); the registrations
   * (AddPartitionsToTxn, AddOffsetsToTxn) still go: the coordinator ends the transaction it knows.
   */
  discardDeferredOffsets(): void {
    this.deferred = this.deferred.filter(([m]) => m !== "txnOffsetCommit");
  }

  /** One call answered before it returns; the worker blocks meanwhile. */
  callSync<T>(method: string, args: readonly unknown[], transfer?: ArrayBuffer[]): T {
    if (this.deferred.length === 0) return this.roundTrip<T>(method, args, transfer);
    const calls = [...this.deferred, [method, args]];
    this.deferred = [];
    return batchValue<T>(method, this.roundTrip<LinkBatchReply>("batch", [calls], transfer));
  }

  /**
   * A call posted now, in order with every other call, whose answer comes later (a produce: the
   * worker goes on processing while the broker's thread appends). The deferred calls go with it, as
   * with a synchronous call; the broker's thread runs it as soon as it takes it from the port.
   */
  post<T>(method: string, args: readonly unknown[], transfer: ArrayBuffer[]): Promise<T> {
    const batch = this.deferred.length > 0;
    const sent: [string, readonly unknown[]] = batch
      ? ["batch", [[...this.deferred, [method, args]]]]
      : [method, args];
    this.deferred = [];
    // As a synchronous call, it fails once the broker's thread has not answered for callTimeoutMs
    // (REQUEST_TIMED_OUT: it may still be carried out, so the caller must not take it as undone).
    const timeout = new AbortController();
    const timer = setTimeout(() => timeout.abort(), this.callTimeoutMs);
    timer.unref();
    return this.call<unknown>(sent[0], sent[1], timeout.signal, TIMED_OUT, transfer).then(
      (r) => {
        clearTimeout(timer);
        if (r === TIMED_OUT)
          throw kafkaError(
            "REQUEST_TIMED_OUT",
            `the broker's thread did not answer ${method} within ${this.callTimeoutMs} ms`,
          );
        return batch ? batchValue<T>(method, r as LinkBatchReply) : (r as T);
      },
      (e: unknown) => {
        clearTimeout(timer);
        throw e;
      },
    );
  }

  private roundTrip<T>(method: string, args: readonly unknown[], transfer?: ArrayBuffer[]): T {
    if (this.isClosed) throw this.closedError();
    const id = this.nextId++;
    let seen = Atomics.load(this.state, STATE_REPLIES);
    this.port.postMessage({ k: "call", id, m: method, a: args, sync: true }, transfer ?? []);
    const deadline = performance.now() + this.callTimeoutMs;
    for (;;) {
      for (
        let r = receiveMessageOnPort(this.syncReplies);
        r !== undefined;
        r = receiveMessageOnPort(this.syncReplies)
      ) {
        const reply = r.message as ReplyMessage;
        if (reply.id !== id) continue; // the late answer of a call that timed out
        if (reply.e) throw fromWireError(reply.e);
        return reply.v as T;
      }
      if (Atomics.load(this.state, STATE_CLOSED) !== LINK_OPEN) throw this.closedError();
      const left = deadline - performance.now();
      if (left <= 0)
        throw kafkaError(
          "REQUEST_TIMED_OUT",
          `the broker's thread did not answer ${method} within ${this.callTimeoutMs} ms`,
        );
      // Waits in slices: an answer is looked for again even if its notification were missed.
      Atomics.wait(this.state, STATE_REPLIES, seen, Math.min(left, WAIT_SLICE_MS));
      seen = Atomics.load(this.state, STATE_REPLIES);
    }
  }

  /** An asynchronous call; `signal` cancels it (the promise then resolves with `onAbort`). */
  call<T>(
    method: string,
    args: readonly unknown[],
    signal?: AbortSignal,
    onAbort?: T,
    transfer?: ArrayBuffer[],
  ): Promise<T> {
    if (this.isClosed) return Promise.reject(this.closedError());
    if (signal?.aborted) return Promise.resolve(onAbort as T);
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const abort = () => {
        if (!this.pending.delete(id)) return;
        this.settled();
        try {
          this.port.postMessage({ k: "cancel", id });
        } catch {
          // closed meanwhile
        }
        resolve(onAbort as T);
      };
      signal?.addEventListener("abort", abort, { once: true });
      this.pending.set(id, {
        resolve: (v) => {
          signal?.removeEventListener("abort", abort);
          resolve(v as T);
        },
        reject: (e) => {
          signal?.removeEventListener("abort", abort);
          reject(e);
        },
      });
      if (this.pending.size === 1) this.port.ref();
      this.port.postMessage({ k: "call", id, m: method, a: args, sync: false }, transfer ?? []);
    });
  }

  private settled(): void {
    if (this.pending.size === 0) this.port.unref();
  }

  private onMessage(m: FromBrokerMessage): void {
    if (m.k === "closed") {
      this.shutdown(
        m.state === LINK_BROKER_CLOSED
          ? "the embedded broker is closed"
          : "the link to the broker's thread is closed",
      );
      return;
    }
    const p = this.pending.get(m.id);
    if (!p) return; // cancelled
    this.pending.delete(m.id);
    this.settled();
    if (m.e) p.reject(fromWireError(m.e));
    else p.resolve(m.v);
  }

  private shutdown(reason: string): void {
    if (this.shutdownReason !== null) return;
    this.shutdownReason = reason;
    this.closeController.abort();
    const err = this.closedError();
    const pending = [...this.pending.values()];
    this.pending.clear();
    for (const p of pending) p.reject(err);
    this.port.close();
    this.syncReplies.close();
  }

  /** Tells the broker's thread this end is done (it forgets the link), then closes the ports. */
  close(): void {
    if (this.shutdownReason !== null) return;
    try {
      this.port.postMessage({ k: "bye" });
    } catch {
      // already gone
    }
    this.shutdown("the cluster is closed");
  }
}

/** The stored bytes of one fetch, kept until the consumer has taken every record of them. */
interface FetchedChunk extends LinkFetch {
  readonly isolation: IsolationLevel;
  /** Offset the consumer continues from, and the byte position of the batch holding it. */
  resumeOffset: number;
  position: number;
}

/** A fetch's answer as the buffer a reader continues from, starting at `offset`. */
function fetchedChunk(f: LinkFetch, offset: number, isolation: IsolationLevel): FetchedChunk {
  const records = Buffer.from(f.records.buffer, f.records.byteOffset, f.records.byteLength);
  return { ...f, records, isolation, resumeOffset: offset, position: 0 };
}

/** A partition's log seen through the link, with the rest of the last fetch buffered. */
class LinkedPartitionLog implements ClientPartitionLog {
  private readonly transport: LinkTransport;
  readonly topic: string;
  readonly partition: number;
  private chunk: FetchedChunk | null = null;
  /** The broker's current prefetch pass (see LinkedBroker.prefetch). */
  private readonly pass: () => number;
  /** Where the last prefetch found nothing to read: no fetch of its own there in the same pass. */
  private emptyAt: { offset: number; isolation: IsolationLevel; pass: number } | null = null;

  constructor(transport: LinkTransport, topic: string, partition: number, pass: () => number) {
    this.transport = transport;
    this.topic = topic;
    this.partition = partition;
    this.pass = pass;
  }

  /** Records of a previous fetch are buffered from `offset` on. */
  hasBuffered(offset: number, isolation: IsolationLevel): boolean {
    const c = this.chunk;
    return (
      c !== null && c.isolation === isolation && c.resumeOffset === offset && c.position < c.records.length
    );
  }

  /** Takes a prefetch's answer for reads from `offset`. */
  takePrefetched(offset: number, isolation: IsolationLevel, f: LinkFetch, pass: number): void {
    if (f.records.length === 0) {
      this.emptyAt = { offset, isolation, pass };
      return;
    }
    this.chunk = fetchedChunk(f, offset, isolation);
    this.emptyAt = null;
  }

  private offsets(): [number, number, number] {
    return this.transport.callSync("offsets", [this.topic, this.partition]);
  }
  get logStartOffset(): number {
    return this.offsets()[0];
  }
  get highWatermark(): number {
    return this.offsets()[1];
  }
  get lastStableOffset(): number {
    return this.offsets()[2];
  }

  readRecords(
    fetchOffset: number,
    options: {
      readonly isolation?: IsolationLevel;
      readonly maxRecords?: number;
      readonly maxBytes?: number;
      readonly withTopicPartition?: boolean;
    } = {},
  ): { records: LogRecord[]; nextOffset: number } {
    const isolation = options.isolation ?? "read_uncommitted";
    const maxRecords = options.maxRecords ?? Number.POSITIVE_INFINITY;
    const maxBytes = options.maxBytes ?? LINK_FETCH_MAX_BYTES;
    const tp = options.withTopicPartition ? this : undefined;
    const out: LogRecord[] = [];
    let next = fetchOffset;
    let fetchedBytes = 0;
    while (out.length < maxRecords) {
      let c = this.chunk;
      if (!c || c.isolation !== isolation || c.resumeOffset !== next) {
        // One fetch per call once it gave records; more only to get past control or aborted batches.
        if (out.length > 0 || fetchedBytes >= maxBytes) break;
        const e = this.emptyAt;
        if (e !== null && e.offset === next && e.isolation === isolation && e.pass === this.pass()) break;
        const f = this.transport.callSync<LinkFetch>("fetch", [
          this.topic,
          this.partition,
          next,
          maxBytes - fetchedBytes,
          isolation,
        ]);
        this.chunk = null;
        if (f.records.length === 0) break;
        fetchedBytes += f.records.length;
        c = fetchedChunk(f, next, isolation);
      }
      // With aborted transactions listed, their state builds up from the first batch: decode from there.
      const start = c.abortedTransactions && c.abortedTransactions.length > 0 ? 0 : c.position;
      const d = decodeFetchedRecords(c, next, isolation, maxRecords, out, start, tp);
      next = d.nextOffset;
      if (d.position < c.records.length) {
        c.resumeOffset = next;
        c.position = d.position;
        this.chunk = c;
      } else this.chunk = null;
      if (d.full) break;
    }
    return { records: out, nextOffset: next };
  }

  waitForData(offset: number, options: WaitForDataOptions = {}): Promise<boolean> {
    const c = this.chunk;
    if (c && c.resumeOffset === offset && c.position < c.records.length) return Promise.resolve(true);
    return this.transport.call<boolean>(
      "waitForData",
      [this.topic, this.partition, offset, options.isolation ?? "read_uncommitted", options.timeoutMs],
      options.signal,
      false,
    );
  }
}

type Req<K extends keyof Broker> = Broker[K] extends (req: infer R) => unknown ? R : never;
type Res<K extends keyof Broker> = Broker[K] extends (...a: never[]) => infer R ? R : never;

/** The Broker calls of one client, forwarded over the link (one per client: each keeps its own fetch buffers). */
export class LinkedBroker implements ClientBroker {
  private readonly transport: LinkTransport;
  private readonly logs = new Map<string, LinkedPartitionLog>();

  constructor(transport: LinkTransport) {
    this.transport = transport;
  }

  get isClosed(): boolean {
    return this.transport.isClosed;
  }
  get closeSignal(): AbortSignal {
    return this.transport.closeSignal;
  }
  get closedReason(): string | undefined {
    return this.transport.closedReason;
  }

  partitionLog(topic: string, partition: number): LinkedPartitionLog {
    const k = `${topic}:${partition}`;
    let l = this.logs.get(k);
    if (!l)
      this.logs.set(k, (l = new LinkedPartitionLog(this.transport, topic, partition, this.currentPass)));
    return l;
  }

  private pass = 0;
  private readonly currentPass = () => this.pass;

  waitForAny(reads: readonly PrefetchRead[], timeoutMs: number, signal: AbortSignal): Promise<boolean> {
    for (const r of reads)
      if (this.partitionLog(r.topic, r.partition).hasBuffered(r.offset, r.isolation))
        return Promise.resolve(true);
    return this.transport.call<boolean>(
      "waitForAny",
      [reads.map((r) => [r.topic, r.partition, r.offset, r.isolation]), timeoutMs],
      signal,
      false,
    );
  }

  /**
   * One call for the partitions a consumer is about to read (a stream thread polls its 4-8
   * partitions several hundred times a second, most of them with nothing new: a call each was
   * most of a worker's calls to the broker's thread, each waiting for that thread's event loop).
   */
  prefetch(reads: readonly PrefetchRead[]): void {
    this.pass++;
    const todo: { log: LinkedPartitionLog; read: PrefetchRead }[] = [];
    for (const read of reads) {
      const log = this.partitionLog(read.topic, read.partition);
      if (!log.hasBuffered(read.offset, read.isolation)) todo.push({ log, read });
    }
    if (todo.length < 2) return; // a partition's own fetch is one call already
    const answers = this.transport.callSync<LinkFetchAnswer[]>("fetchMany", [
      todo.map(({ read: r }) => [r.topic, r.partition, r.offset, r.isolation]),
      LINK_FETCH_MAX_BYTES,
    ]);
    for (let i = 0; i < todo.length; i++) {
      const a = answers[i];
      // A partition that failed is read on its own, which reports the error as before.
      if (a !== undefined && "ok" in a)
        todo[i]!.log.takePrefetched(todo[i]!.read.offset, todo[i]!.read.isolation, a.ok, this.pass);
    }
  }

  // Partition counts are metadata: a client keeps them for a while (Kafka's metadata.max.age.ms is
  // 5 min) instead of asking before every send; a cross-thread call per send and topic was the most
  // frequent call of a worker. Only known topics are kept, so a created topic is seen at once.
  private readonly counts = new Map<string, { n: number; at: number }>();

  partitionCount(topic: string): number | undefined {
    const now = performance.now();
    const c = this.counts.get(topic);
    if (c !== undefined && now - c.at < METADATA_MAX_AGE_MS) return c.n;
    const n = this.transport.callSync<number | undefined>("partitionCount", [topic]);
    if (n === undefined) this.counts.delete(topic);
    else this.counts.set(topic, { n, at: now });
    return n;
  }
  partitionExists(topic: string, partition: number): boolean {
    const c = this.counts.get(topic);
    if (c !== undefined && performance.now() - c.at < METADATA_MAX_AGE_MS && partition < c.n) return true;
    return this.transport.callSync("partitionExists", [topic, partition]);
  }
  metadata(req: Req<"metadata">): Res<"metadata"> {
    return this.transport.callSync("metadata", [req]);
  }
  initProducerId(req: Req<"initProducerId">): Res<"initProducerId"> {
    return this.transport.callSync("initProducerId", [req]);
  }
  // The transaction calls below are deferred (LinkTransport.defer): their answer, success, is
  // checked with the call they travel with.
  addPartitionsToTxn(req: Req<"addPartitionsToTxn">): Res<"addPartitionsToTxn"> {
    this.transport.defer("addPartitionsToTxn", [req]);
    return req.topics.map((t) => ({
      name: t.name,
      partitions: t.partitions.map((p) => ({ partitionIndex: p, errorCode: "NONE" })),
    }));
  }
  produceSync(
    req: Req<"produceSync">,
    options: { readonly encodedInProcess?: boolean } = {},
  ): Res<"produceSync"> {
    const transfer: ArrayBuffer[] = [];
    return this.transport.callSync("produceSync", this.produceArgs(req, options, transfer), transfer);
  }
  produceAsync(
    req: Req<"produceSync">,
    options: { readonly encodedInProcess?: boolean } = {},
  ): Promise<Res<"produceSync">> {
    const transfer: ArrayBuffer[] = [];
    return this.transport.post("produceSync", this.produceArgs(req, options, transfer), transfer);
  }
  private produceArgs(
    req: Req<"produceSync">,
    options: { readonly encodedInProcess?: boolean },
    transfer: ArrayBuffer[],
  ): [Req<"produceSync">, LinkVouches] {
    // The encoded batches move to the broker's thread instead of being cloned. Batches of this
    // thread's encoder go vouched for (whether all their records have keys): the broker's thread
    // then skips re-checking them, as it does its own producers' (LinkVouches).
    const vouches: LinkVouches = [];
    const moved = {
      ...req,
      topics: req.topics.map((t) => {
        const v: (boolean | null)[] = [];
        vouches.push(v);
        return {
          name: t.name,
          partitions: t.partitions.map((p) => {
            const keyed =
              options.encodedInProcess && p.records !== null ? encodedInProcess(p.records) : undefined;
            v.push(keyed ?? null);
            return { index: p.index, records: p.records === null ? null : ownedBytes(p.records, transfer) };
          }),
        };
      }),
    };
    return [moved, vouches];
  }
  addOffsetsToTxn(req: Req<"addOffsetsToTxn">): Res<"addOffsetsToTxn"> {
    this.transport.defer("addOffsetsToTxn", [req]);
    return { errorCode: "NONE" };
  }
  txnOffsetCommit(req: Req<"txnOffsetCommit">): Res<"txnOffsetCommit"> {
    this.transport.defer("txnOffsetCommit", [req]);
    return req.topics.map((t) => ({
      name: t.name,
      partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode: "NONE" })),
    }));
  }
  endTxn(req: Req<"endTxn">): Res<"endTxn"> {
    // An abort does not need the transaction's deferred offset commits (they are dropped with it),
    // and must not fail because one of them would.
    if (!req.committed) this.transport.discardDeferredOffsets();
    return this.transport.callSync("endTxn", [req]);
  }
  joinGroup(req: Req<"joinGroup">): Res<"joinGroup"> {
    return this.transport.call("joinGroup", [req]);
  }
  syncGroup(req: Req<"syncGroup">): Res<"syncGroup"> {
    return this.transport.call("syncGroup", [req]);
  }
  heartbeat(req: Req<"heartbeat">): Res<"heartbeat"> {
    return this.transport.callSync("heartbeat", [req]);
  }
  leaveGroup(req: Req<"leaveGroup">): Res<"leaveGroup"> {
    return this.transport.callSync("leaveGroup", [req]);
  }
  offsetCommit(req: Req<"offsetCommit">): Res<"offsetCommit"> {
    return this.transport.callSync("offsetCommit", [req]);
  }
  offsetFetch(req: Req<"offsetFetch">): Res<"offsetFetch"> {
    return this.transport.callSync("offsetFetch", [req]);
  }
}

/** The EmbeddedAdmin of the broker's thread, called over the link. */
class LinkedAdmin implements Admin {
  private readonly transport: LinkTransport;
  constructor(transport: LinkTransport) {
    this.transport = transport;
  }
  private call<T>(name: keyof Admin, args: unknown[]): Promise<T> {
    return this.transport.call<T>("admin", [name, args]);
  }
  createTopics(topics: readonly NewTopic[], options?: { readonly ifNotExists?: boolean }): Promise<void> {
    return this.call("createTopics", [topics, options]);
  }
  deleteTopics(names: readonly string[]): Promise<void> {
    return this.call("deleteTopics", [names]);
  }
  listTopics(options?: { readonly includeInternal?: boolean }): Promise<string[]> {
    return this.call("listTopics", [options]);
  }
  describeTopics(names: readonly string[]): Promise<TopicDescription[]> {
    return this.call("describeTopics", [names]);
  }
  alterTopicConfig(name: string, config: TopicConfig): Promise<void> {
    return this.call("alterTopicConfig", [name, config]);
  }
  createPartitions(name: string, totalCount: number): Promise<void> {
    return this.call("createPartitions", [name, totalCount]);
  }
  deleteRecords(partition: TopicPartition, beforeOffset: Offset): Promise<Offset> {
    return this.call("deleteRecords", [partition, beforeOffset]);
  }
  listOffsets(partitions: readonly TopicPartition[], spec: OffsetSpec): Promise<Map<string, Offset>> {
    return this.call("listOffsets", [partitions, spec]);
  }
  listGroups(): Promise<GroupListing[]> {
    return this.call("listGroups", []);
  }
  describeGroups(groupIds: readonly string[]): Promise<GroupDescription[]> {
    return this.call("describeGroups", [groupIds]);
  }
  listGroupOffsets(groupId: string): Promise<OffsetAndMetadata[]> {
    return this.call("listGroupOffsets", [groupId]);
  }
  describeLag(groupId: string): Promise<PartitionLag[]> {
    return this.call("describeLag", [groupId]);
  }
  deleteGroups(groupIds: readonly string[]): Promise<void> {
    return this.call("deleteGroups", [groupIds]);
  }
}

/**
 * A Cluster in a worker thread over the embedded broker of another thread (EmbeddedCluster.attach).
 * Same semantics as EmbeddedCluster: its producers and consumers are the embedded ones.
 */
export class LinkedCluster implements Cluster {
  readonly kind = "embedded" as const;
  private readonly transport: LinkTransport;
  private readonly clients = new Set<{ close(): Promise<void> }>();
  private closed = false;

  constructor(port: MessagePort, options: LinkedClusterOptions = {}) {
    this.transport = new LinkTransport(port, options);
  }

  /** False once the link is down (broker closed, link closed, or this cluster closed). */
  get isConnected(): boolean {
    return !this.transport.isClosed;
  }

  admin(): Admin {
    return new LinkedAdmin(this.transport);
  }

  async createProducer(options?: ProducerOptions): Promise<Producer> {
    this.check();
    let p: EmbeddedProducer | undefined;
    p = await EmbeddedProducer.create(new LinkedBroker(this.transport), options, () => {
      if (p) this.clients.delete(p);
    });
    this.clients.add(p);
    return p;
  }

  async createConsumer(options?: ConsumerOptions): Promise<Consumer> {
    this.check();
    const c: EmbeddedConsumer = new EmbeddedConsumer(new LinkedBroker(this.transport), options, () =>
      this.clients.delete(c),
    );
    this.clients.add(c);
    return c;
  }

  private check(): void {
    if (this.closed) throw kafkaError("INVALID_STATE", "the cluster is closed");
    if (this.transport.isClosed) throw this.transport.closedError();
  }

  /** Closes its producers and consumers (consumers leave their groups), then the link. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const c of [...this.clients]) await c.close().catch(() => {});
    this.transport.close();
  }
}

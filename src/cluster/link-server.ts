// The serving end of a cluster link, in the thread owning the embedded broker: answers the broker
// calls a worker's LinkedCluster makes. Synchronous calls are answered at once from this thread's event
// loop (reply posted on the worker's sync port, then the shared flag bumped and notified); group
// rendezvous, long polls and admin calls are answered when they settle. A worker that goes away (close,
// terminate, crash) closes its port: the link then drops its long polls and forgets it. Its group
// members expire by session timeout and its open transaction by transaction timeout, as for any client
// whose connection drops.
import { type MessagePort, receiveMessageOnPort } from "node:worker_threads";
import type { Broker, ProduceRequest } from "../broker/index.ts";
import { type IsolationLevel, vouchEncoded } from "../log/index.ts";
import {
  type CallMessage,
  copiedBytes,
  firstErrorCode,
  LINK_BROKER_CLOSED,
  type LinkBatchReply,
  LINK_CLOSED,
  type LinkFetch,
  type LinkFetchAnswer,
  type LinkVouches,
  STATE_CLOSED,
  STATE_REPLIES,
  type ToBrokerMessage,
  toWireError,
} from "./link-protocol.ts";
import type { Admin } from "./types.ts";

/** Broker calls a worker may make synchronously, forwarded as they are (the ClientBroker subset). */
const BROKER_SYNC_CALLS: ReadonlySet<string> = new Set([
  "partitionCount",
  "partitionExists",
  "metadata",
  "initProducerId",
  "addPartitionsToTxn",
  "produceSync",
  "addOffsetsToTxn",
  "txnOffsetCommit",
  "endTxn",
  "heartbeat",
  "leaveGroup",
  "offsetCommit",
  "offsetFetch",
]);
/** Calls a worker may send ahead of its next synchronous call (LinkTransport.defer). */
const DEFERRABLE_CALLS: ReadonlySet<string> = new Set([
  "addPartitionsToTxn",
  "addOffsetsToTxn",
  "txnOffsetCommit",
]);
/**
 * Calls a worker posts without waiting (LinkedBroker.produceAsync): run at once, in the order the
 * worker sent them among its other calls, and answered on the port as asynchronous calls are.
 */
const ORDERED_CALLS: ReadonlySet<string> = new Set(["produceSync", "batch"]);
const BROKER_ASYNC_CALLS: ReadonlySet<string> = new Set(["joinGroup", "syncGroup"]);
const ADMIN_CALLS: ReadonlySet<string> = new Set<keyof Admin>([
  "createTopics",
  "deleteTopics",
  "listTopics",
  "describeTopics",
  "alterTopicConfig",
  "createPartitions",
  "deleteRecords",
  "listOffsets",
  "listGroups",
  "describeGroups",
  "listGroupOffsets",
  "describeLag",
  "deleteGroups",
]);

type Call = (...args: unknown[]) => unknown;

/** The broker's end of one worker's link. Made by EmbeddedCluster.serveLink(). */
export class ClusterLink {
  private readonly broker: Broker;
  private readonly admin: Admin;
  private readonly port: MessagePort;
  private syncPort: MessagePort | null = null;
  private state: Int32Array | null = null;
  /** Asynchronous calls in flight; the long polls among them can be aborted. */
  private readonly inFlight = new Map<number, AbortController | null>();
  private open = true;
  private calls = 0;
  private readonly onBrokerClose = () => this.shutdown(LINK_BROKER_CLOSED);
  private readonly onClose: (link: ClusterLink) => void;
  private resolveClosed!: () => void;
  /** Resolves once the link is closed (by close(), the worker going away, or the broker closing). */
  readonly closed: Promise<void>;

  constructor(
    broker: Broker,
    admin: Admin,
    port: MessagePort,
    onClose: (link: ClusterLink) => void = () => {},
  ) {
    this.broker = broker;
    this.admin = admin;
    this.port = port;
    this.onClose = onClose;
    this.closed = new Promise((resolve) => {
      this.resolveClosed = resolve;
    });
    port.on("message", (m: ToBrokerMessage) => this.onMessage(m));
    port.on("close", () => this.shutdown(LINK_CLOSED));
    broker.closeSignal.addEventListener("abort", this.onBrokerClose, { once: true });
    if (broker.isClosed) queueMicrotask(this.onBrokerClose);
  }

  get isOpen(): boolean {
    return this.open;
  }

  /** Asynchronous calls (group rendezvous, long polls, admin) not yet answered. */
  get pendingCalls(): number {
    return this.inFlight.size;
  }

  /** Calls answered so far (synchronous and asynchronous). */
  get callCount(): number {
    return this.calls;
  }

  /**
   * Answers the calls already queued by the worker, now, instead of from this thread's event loop
   * (see EmbeddedCluster.serveWaiting): a worker blocked in a synchronous call otherwise waits for
   * this thread's current task to end.
   */
  serveWaiting(): void {
    if (!this.open) return;
    for (let r = receiveMessageOnPort(this.port); r !== undefined; r = receiveMessageOnPort(this.port)) {
      this.onMessage(r.message as ToBrokerMessage);
      if (!this.open) return;
    }
  }

  /** Stops serving: the worker's pending and later calls fail with BROKER_NOT_AVAILABLE. Resolves once closed. */
  close(): Promise<void> {
    this.shutdown(LINK_CLOSED);
    return this.closed;
  }

  private shutdown(reason: number): void {
    if (!this.open) return;
    this.open = false;
    this.broker.closeSignal.removeEventListener("abort", this.onBrokerClose);
    if (this.state) {
      // Wakes a worker blocked in a synchronous call: it sees the flag and fails the call.
      Atomics.store(this.state, STATE_CLOSED, reason);
      Atomics.add(this.state, STATE_REPLIES, 1);
      Atomics.notify(this.state, STATE_REPLIES);
    }
    for (const ac of this.inFlight.values()) ac?.abort();
    this.inFlight.clear();
    try {
      this.port.postMessage({ k: "closed", state: reason });
    } catch {
      // the worker's end is already gone
    }
    this.port.close();
    this.syncPort?.close();
    this.onClose(this);
    this.resolveClosed();
  }

  private onMessage(m: ToBrokerMessage): void {
    if (!this.open) return;
    switch (m.k) {
      case "hello":
        this.syncPort = m.syncPort;
        this.state = m.state;
        return;
      case "call":
        this.calls++;
        if (m.sync) this.answerSync(m);
        else if (ORDERED_CALLS.has(m.m)) this.answerOrdered(m);
        else void this.answerAsync(m);
        return;
      case "cancel":
        this.inFlight.get(m.id)?.abort();
        return;
      case "bye":
        this.shutdown(LINK_CLOSED);
        return;
    }
  }

  private answerSync(m: CallMessage): void {
    const port = this.syncPort;
    const state = this.state;
    if (!port || !state) return; // no hello: not a LinkedCluster; nothing can wait for an answer
    try {
      this.reply(port, m);
    } finally {
      Atomics.add(state, STATE_REPLIES, 1);
      Atomics.notify(state, STATE_REPLIES);
    }
  }

  private answerOrdered(m: CallMessage): void {
    this.reply(this.port, m);
  }

  /** Runs a call now and posts its answer (or its error) on `port`. */
  private reply(port: MessagePort, m: CallMessage): void {
    try {
      const transfer: ArrayBuffer[] = [];
      const v = this.callSync(m.m, m.a, transfer);
      port.postMessage({ k: "reply", id: m.id, v }, transfer);
    } catch (e) {
      port.postMessage({ k: "reply", id: m.id, e: toWireError(e) });
    }
  }

  private callSync(method: string, args: readonly unknown[], transfer: ArrayBuffer[]): unknown {
    if (method === "batch") {
      const calls = args[0] as [string, unknown[]][];
      for (let i = 0; i < calls.length - 1; i++) {
        const [m, a] = calls[i]!;
        if (!DEFERRABLE_CALLS.has(m)) throw new Error(`the cluster link cannot defer "${m}"`);
        const code = firstErrorCode(this.callSync(m, a, transfer));
        if (code !== undefined) return { failed: { method: m, code } } satisfies LinkBatchReply;
      }
      const [m, a] = calls[calls.length - 1]!;
      return { value: this.callSync(m, a, transfer) } satisfies LinkBatchReply;
    }
    if (method === "produceSync") return this.produce(args);
    if (BROKER_SYNC_CALLS.has(method))
      return (this.broker[method as keyof Broker] as Call).apply(this.broker, args as unknown[]);
    if (method === "fetch") {
      const [topic, partition, offset, maxBytes, isolation] = args as [
        string,
        number,
        number,
        number,
        IsolationLevel,
      ];
      return this.fetch(topic, partition, offset, maxBytes, isolation, transfer);
    }
    if (method === "fetchMany") {
      // A consumer's partitions in one call; each answers on its own (one failing is not all failing).
      const [reads, maxBytes] = args as [[string, number, number, IsolationLevel][], number];
      return reads.map(([topic, partition, offset, isolation]): LinkFetchAnswer => {
        try {
          return { ok: this.fetch(topic, partition, offset, maxBytes, isolation, transfer) };
        } catch (e) {
          return { error: toWireError(e) };
        }
      });
    }
    if (method === "offsets") {
      const [topic, partition] = args as [string, number];
      const log = this.broker.partitionLog(topic, partition);
      return [log.logStartOffset, log.highWatermark, log.lastStableOffset];
    }
    throw new Error(`the cluster link has no synchronous call "${method}"`);
  }

  /**
   * A worker's produce. Its batches vouched for (its own encoder's output, moved here unchanged)
   * are appended without re-checking their CRC and framing: ~40 % of what the main thread appends
   * in the rewards pipeline, re-checked for nothing. Anything else is checked in full.
   */
  private produce(args: readonly unknown[]): unknown {
    const [req, vouches] = args as [ProduceRequest, LinkVouches | undefined];
    if (vouches !== undefined) {
      for (let ti = 0; ti < req.topics.length; ti++) {
        const parts = req.topics[ti]!.partitions;
        for (let pi = 0; pi < parts.length; pi++) {
          const records = parts[pi]!.records;
          const keyed = vouches[ti]?.[pi];
          if (records !== null && (keyed === true || keyed === false)) vouchEncoded(records, keyed);
        }
      }
    }
    // The log recognises vouched buffers by identity: any other is still checked in full.
    return this.broker.produceSync(req, { encodedInProcess: vouches !== undefined });
  }

  private fetch(
    topic: string,
    partition: number,
    offset: number,
    maxBytes: number,
    isolation: IsolationLevel,
    transfer: ArrayBuffer[],
  ): LinkFetch {
    const r = this.broker.partitionLog(topic, partition).read(offset, maxBytes, { isolation });
    return {
      // The log may hand out pooled or shared memory: the worker gets a copy of its own.
      records: copiedBytes(r.records, transfer),
      highWatermark: r.highWatermark,
      lastStableOffset: r.lastStableOffset,
      logStartOffset: r.logStartOffset,
      abortedTransactions: r.abortedTransactions,
    };
  }

  private async answerAsync(m: CallMessage): Promise<void> {
    const ac = m.m === "waitForData" || m.m === "waitForAny" ? new AbortController() : null;
    this.inFlight.set(m.id, ac);
    let reply: object;
    try {
      reply = { k: "reply", id: m.id, v: await this.callAsync(m.m, m.a, ac?.signal) };
    } catch (e) {
      reply = { k: "reply", id: m.id, e: toWireError(e) };
    }
    // Closed meanwhile (the worker went away): nobody is waiting for the answer.
    if (!this.inFlight.delete(m.id) || !this.open) return;
    try {
      this.port.postMessage(reply);
    } catch (e) {
      this.port.postMessage({ k: "reply", id: m.id, e: toWireError(e) });
    }
  }

  /** True once one of the partitions has data past its offset; false on timeout or abort. */
  private waitForAny(
    reads: readonly [string, number, number, IsolationLevel][],
    timeoutMs: number,
    signal: AbortSignal | undefined,
  ): Promise<boolean> {
    return new Promise<boolean>((resolve) => {
      const cancels: (() => void)[] = [];
      let over = false;
      const end = (ready: boolean) => {
        if (over) return;
        over = true;
        clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
        for (const c of cancels) c();
        resolve(ready);
      };
      const onAbort = () => end(false);
      const onReady = () => end(true);
      const timer = setTimeout(onAbort, timeoutMs);
      if (signal?.aborted) return end(false);
      signal?.addEventListener("abort", onAbort, { once: true });
      for (const [topic, partition, offset, isolation] of reads) {
        if (over) return;
        if (!this.broker.partitionExists(topic, partition)) continue;
        const cancel = this.broker
          .partitionLog(topic, partition)
          .onData(offset, isolation === "read_committed", onReady);
        if (cancel === null) return end(true);
        cancels.push(cancel);
      }
    });
  }

  private async callAsync(method: string, args: readonly unknown[], signal?: AbortSignal): Promise<unknown> {
    if (BROKER_ASYNC_CALLS.has(method))
      return await (this.broker[method as keyof Broker] as Call).apply(this.broker, args as unknown[]);
    if (method === "waitForData") {
      const [topic, partition, offset, isolation, timeoutMs] = args as [
        string,
        number,
        number,
        IsolationLevel,
        number | undefined,
      ];
      if (!this.broker.partitionExists(topic, partition)) return false;
      return await this.broker
        .partitionLog(topic, partition)
        .waitForData(offset, { isolation, timeoutMs, signal });
    }
    if (method === "waitForAny") {
      const [reads, timeoutMs] = args as [[string, number, number, IsolationLevel][], number];
      return await this.waitForAny(reads, timeoutMs, signal);
    }
    if (method === "admin") {
      const [name, adminArgs] = args as [string, unknown[]];
      if (!ADMIN_CALLS.has(name)) throw new Error(`the cluster link has no admin call "${name}"`);
      return await (this.admin[name as keyof Admin] as Call).apply(this.admin, adminArgs);
    }
    throw new Error(`the cluster link has no asynchronous call "${method}"`);
  }
}

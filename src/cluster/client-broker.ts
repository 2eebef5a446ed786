// The broker as the embedded clients see it: the part of the Broker's API that EmbeddedProducer and
// EmbeddedConsumer call, and the partition-log reads the consumer does. The Broker itself satisfies it
// (the in-process fast path: direct, synchronous, no copies); a worker thread gets a LinkedBroker that
// forwards the same calls over a MessagePort to the thread owning the broker (link-client.ts).
import type { Broker } from "../broker/index.ts";
import type { IsolationLevel, LogRecord, WaitForDataOptions } from "../log/index.ts";

/** What the consumer reads from one partition's log. */
export interface ClientPartitionLog {
  readonly logStartOffset: number;
  readonly highWatermark: number;
  readonly lastStableOffset: number;
  /**
   * Decoded data records from `fetchOffset` (no control records; with read_committed, no aborted ones)
   * and where to read next. Throws OFFSET_OUT_OF_RANGE outside the log, UNKNOWN_TOPIC_OR_PARTITION when
   * the partition is gone.
   */
  readRecords(
    fetchOffset: number,
    options?: {
      readonly isolation?: IsolationLevel;
      readonly maxRecords?: number;
      readonly maxBytes?: number;
      /** Records built with `topic` and `partition` as well (see ReadRecordsOptions). */
      readonly withTopicPartition?: boolean;
    },
  ): { readonly records: LogRecord[]; readonly nextOffset: number };
  /** Resolves true once data past `offset` is readable, false on timeout, abort or close. */
  waitForData(offset: number, options?: WaitForDataOptions): Promise<boolean>;
  /**
   * The same wait without a timer or signal of its own (the in-process log): calls `resolve` once,
   * returns its withdrawal, or null when data is readable already (see PartitionLog.onData).
   */
  onData?(offset: number, committed: boolean, resolve: (v: boolean) => void): (() => void) | null;
}

/** The Broker calls the embedded clients make (all synchronous but the group rendezvous). */
export type ClientBrokerCalls = Pick<
  Broker,
  | "partitionCount"
  | "partitionExists"
  | "metadata"
  | "initProducerId"
  | "addPartitionsToTxn"
  | "produceSync"
  | "addOffsetsToTxn"
  | "txnOffsetCommit"
  | "endTxn"
  | "joinGroup"
  | "syncGroup"
  | "heartbeat"
  | "leaveGroup"
  | "offsetCommit"
  | "offsetFetch"
>;

export interface ClientBroker extends ClientBrokerCalls {
  readonly isClosed: boolean;
  /** Why calls fail once closed, when the broker is reached through something that can close on its own (a link). */
  readonly closedReason?: string;
  /** Aborts when the broker (or the link to it) closes: waits end at once. */
  readonly closeSignal: AbortSignal;
  /** The partition's log; throws UNKNOWN_TOPIC_OR_PARTITION if it does not exist (a linked broker may throw on first use instead). */
  partitionLog(topic: string, partition: number): ClientPartitionLog;
  /**
   * A broker across a link: fetches these partitions in one call, ahead of the consumer's
   * `readRecords` of each, which then read what it brought (or, for a partition it found empty,
   * return nothing until the next prefetch) instead of a call per partition.
   */
  prefetch?(reads: readonly PrefetchRead[]): void;
  /**
   * A broker across a link: the produce posted now, in order with every other call of this client's
   * link (the broker appends it before any call made after it), and answered later; the worker goes
   * on meanwhile. Answers as produceSync would; throws what it would throw.
   */
  produceAsync?(
    req: Parameters<Broker["produceSync"]>[0],
    options?: { readonly encodedInProcess?: boolean },
  ): Promise<ReturnType<Broker["produceSync"]>>;
  /**
   * A broker across a link: resolves true once any of these partitions has data past its offset
   * (one call for all of them), false on timeout, abort or close.
   */
  waitForAny?(reads: readonly PrefetchRead[], timeoutMs: number, signal: AbortSignal): Promise<boolean>;
}

/** One partition of a prefetch: where the consumer reads next. */
export interface PrefetchRead {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly isolation: IsolationLevel;
}

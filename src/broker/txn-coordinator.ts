// Transaction coordinator (Kafka's TransactionCoordinator on one node): producer id allocation,
// InitProducerId with epoch bumps that fence zombies, AddPartitionsToTxn / AddOffsetsToTxn /
// TxnOffsetCommit / EndTxn, commit and abort markers on every partition of a transaction, and the
// transaction timeout. Every state change is written to __transaction_state before it is answered, so a
// restart resumes: prepared transactions are completed, open ones abort on fencing or timeout.
// All methods are synchronous: the log appends synchronously, so each call is atomic on the event loop.
import type { Clock } from "../observe/index.ts";

export type TxnState =
  | "Empty"
  | "Ongoing"
  | "PrepareCommit"
  | "PrepareAbort"
  | "CompleteCommit"
  | "CompleteAbort"
  | "Dead";

export interface TxnPendingOffset {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly leaderEpoch: number;
  readonly metadata: string | null;
}

/** One transactional id's state, as persisted. */
export interface TxnRecord {
  readonly producerId: number;
  readonly producerEpoch: number;
  readonly timeoutMs: number;
  readonly state: TxnState;
  readonly partitions: readonly [string, number][];
  readonly groups: readonly string[];
  readonly offsets: readonly (readonly [string, string, number, number, number, string | null])[];
  readonly startTimestamp: number;
  readonly updateTimestamp: number;
}

export interface TxnStore {
  writeTxn(transactionalId: string, record: TxnRecord | null): void;
  /** Persists the next unallocated producer id (a block is reserved before ids from it are handed out). */
  writeProducerIdBlock(nextBlockStart: number): void;
}

export interface TxnCoordinatorOptions {
  readonly clock: Clock;
  readonly store: TxnStore;
  /** Writes a COMMIT/ABORT control batch to one partition with the transaction's producer id and epoch. */
  readonly writeMarker: (
    topic: string,
    partition: number,
    marker: { producerId: number; producerEpoch: number; type: "commit" | "abort"; coordinatorEpoch: number },
  ) => void;
  /** Persists and applies a committed transaction's offsets to a group. */
  readonly commitOffsets: (groupId: string, offsets: readonly TxnPendingOffset[]) => void;
  /** KIP-447 fencing of TxnOffsetCommit: the group coordinator's verdict on the member. */
  readonly validateGroupMember: (
    groupId: string,
    generationId: number,
    memberId: string,
    groupInstanceId: string | null,
  ) => string;
  readonly partitionExists: (topic: string, partition: number) => boolean;
  /** Kafka's transaction.max.timeout.ms (default 15 min). */
  readonly maxTransactionTimeoutMs?: number;
  readonly producerIdBlockSize?: number;
  readonly onError?: (e: unknown) => void;
  /** Called when a transaction ends, for metrics: "commit", "abort", or "timeout" (aborted by the coordinator). */
  readonly onTxnEnd?: (result: "commit" | "abort" | "timeout") => void;
}

export interface InitProducerIdRequest {
  readonly transactionalId: string | null;
  readonly transactionTimeoutMs: number;
  /** KIP-360: an existing producer asking for an epoch bump after an abortable error; -1 otherwise. */
  readonly producerId?: number;
  readonly producerEpoch?: number;
}

export interface InitProducerIdResponse {
  readonly errorCode: string;
  readonly producerId: number;
  readonly producerEpoch: number;
}

export interface TxnAuth {
  readonly transactionalId: string;
  readonly producerId: number;
  readonly producerEpoch: number;
}

interface Txn {
  readonly transactionalId: string;
  producerId: number;
  producerEpoch: number;
  timeoutMs: number;
  state: TxnState;
  readonly partitions: Map<string, [string, number]>;
  readonly groups: Set<string>;
  /** group -> "topic\0partition" -> offset */
  readonly offsets: Map<string, Map<string, TxnPendingOffset>>;
  startTimestamp: number;
  updateTimestamp: number;
}

const MAX_EPOCH = 32767;
const tpk = (t: string, p: number): string => `${t}\u0000${p}`;

export class TxnCoordinator {
  /** Bumped on every broker start; written in markers as Kafka's coordinator epoch. */
  coordinatorEpoch = 0;
  private readonly txns = new Map<string, Txn>();
  private readonly byProducerId = new Map<number, Txn>();
  private readonly o: TxnCoordinatorOptions;
  private readonly maxTimeout: number;
  private readonly blockSize: number;
  private nextProducerId = 0;
  private blockEnd = 0;

  constructor(options: TxnCoordinatorOptions) {
    this.o = options;
    this.maxTimeout = options.maxTransactionTimeoutMs ?? 900_000;
    this.blockSize = options.producerIdBlockSize ?? 1000;
  }

  // ------------------------------------------------------------------ loading

  loadProducerIdBlock(nextBlockStart: number): void {
    if (nextBlockStart > this.blockEnd) {
      this.blockEnd = nextBlockStart;
      this.nextProducerId = nextBlockStart;
    }
  }

  /** Producer ids seen in partition logs are never handed out again (a lost block record must not reuse ids). */
  reserveProducerIdsBelow(id: number): void {
    if (id > this.nextProducerId) {
      this.nextProducerId = id;
      if (this.blockEnd < id) this.blockEnd = id;
    }
  }

  loadTxn(transactionalId: string, r: TxnRecord | null): void {
    const old = this.txns.get(transactionalId);
    if (old) {
      this.txns.delete(transactionalId);
      if (this.byProducerId.get(old.producerId) === old) this.byProducerId.delete(old.producerId);
    }
    if (r === null) return;
    const t: Txn = {
      transactionalId,
      producerId: r.producerId,
      producerEpoch: r.producerEpoch,
      timeoutMs: r.timeoutMs,
      state: r.state,
      partitions: new Map(r.partitions.map(([tp, p]) => [tpk(tp, p), [tp, p]])),
      groups: new Set(r.groups),
      offsets: new Map(),
      startTimestamp: r.startTimestamp,
      updateTimestamp: r.updateTimestamp,
    };
    for (const [g, topic, partition, offset, leaderEpoch, metadata] of r.offsets) {
      let m = t.offsets.get(g);
      if (!m) t.offsets.set(g, (m = new Map()));
      m.set(tpk(topic, partition), { topic, partition, offset, leaderEpoch, metadata });
    }
    this.txns.set(transactionalId, t);
    this.byProducerId.set(t.producerId, t);
    this.reserveProducerIdsBelow(t.producerId + 1);
  }

  /** After loading: finishes transactions that were prepared when the broker stopped. */
  completePrepared(): void {
    for (const t of this.txns.values()) {
      if (t.state === "PrepareCommit" || t.state === "PrepareAbort") {
        try {
          this.completeTxn(t, t.state === "PrepareCommit");
        } catch (e) {
          this.o.onError?.(e);
        }
      }
    }
  }

  // ------------------------------------------------------------------ producer ids

  initProducerId(req: InitProducerIdRequest): InitProducerIdResponse {
    const fail = (errorCode: string): InitProducerIdResponse => ({
      errorCode,
      producerId: -1,
      producerEpoch: -1,
    });
    const txnId = req.transactionalId;
    if (txnId === null || txnId === "") {
      if (txnId === "") return fail("INVALID_REQUEST");
      return { errorCode: "NONE", producerId: this.allocateProducerId(), producerEpoch: 0 };
    }
    if (req.transactionTimeoutMs <= 0 || req.transactionTimeoutMs > this.maxTimeout)
      return fail("INVALID_TRANSACTION_TIMEOUT");
    const askedPid = req.producerId ?? -1;
    const askedEpoch = req.producerEpoch ?? -1;
    const now = this.o.clock.now();
    let t = this.txns.get(txnId);
    if (!t) {
      // As Kafka: a transactional id without state gets a fresh producer id whatever id the
      // client sent (platformatic 2.x sends 0/0 on its first InitProducerId).
      t = {
        transactionalId: txnId,
        producerId: this.allocateProducerId(),
        producerEpoch: 0,
        timeoutMs: req.transactionTimeoutMs,
        state: "Empty",
        partitions: new Map(),
        groups: new Set(),
        offsets: new Map(),
        startTimestamp: -1,
        updateTimestamp: now,
      };
      this.persist(t);
      this.txns.set(txnId, t);
      this.byProducerId.set(t.producerId, t);
      return { errorCode: "NONE", producerId: t.producerId, producerEpoch: 0 };
    }
    if (askedPid !== -1 && (askedPid !== t.producerId || askedEpoch !== t.producerEpoch)) {
      // KIP-360 bump from a producer that is no longer the current one.
      return fail("PRODUCER_FENCED");
    }
    if (t.state === "PrepareCommit" || t.state === "PrepareAbort") return fail("CONCURRENT_TRANSACTIONS");
    if (t.state === "Ongoing") {
      // A new instance takes over: the open transaction aborts with a bumped epoch, which fences
      // the old instance on every partition it wrote to.
      this.bumpEpoch(t);
      this.prepare(t, false);
      this.completeTxn(t, false);
    }
    this.bumpEpoch(t);
    t.timeoutMs = req.transactionTimeoutMs;
    t.state = "Empty";
    t.updateTimestamp = now;
    this.persist(t);
    return { errorCode: "NONE", producerId: t.producerId, producerEpoch: t.producerEpoch };
  }

  // ------------------------------------------------------------------ transactions

  addPartitionsToTxn(
    auth: TxnAuth,
    partitions: readonly { topic: string; partition: number }[],
  ): { topic: string; partition: number; errorCode: string }[] {
    const err = this.checkProducer(auth);
    const answer = (code: (tp: { topic: string; partition: number }) => string) =>
      partitions.map((tp) => ({ topic: tp.topic, partition: tp.partition, errorCode: code(tp) }));
    if (err) return answer(() => err);
    const t = this.txns.get(auth.transactionalId)!;
    if (t.state === "PrepareCommit" || t.state === "PrepareAbort")
      return answer(() => "CONCURRENT_TRANSACTIONS");
    const unknown = partitions.filter((tp) => !this.o.partitionExists(tp.topic, tp.partition));
    if (unknown.length > 0)
      return answer((tp) =>
        this.o.partitionExists(tp.topic, tp.partition)
          ? "OPERATION_NOT_ATTEMPTED"
          : "UNKNOWN_TOPIC_OR_PARTITION",
      );
    const fresh = partitions.filter((tp) => !t.partitions.has(tpk(tp.topic, tp.partition)));
    if (fresh.length === 0 && t.state === "Ongoing") return answer(() => "NONE");
    this.begin(t);
    for (const tp of fresh) t.partitions.set(tpk(tp.topic, tp.partition), [tp.topic, tp.partition]);
    t.updateTimestamp = this.o.clock.now();
    this.persist(t);
    return answer(() => "NONE");
  }

  addOffsetsToTxn(auth: TxnAuth, groupId: string): { errorCode: string } {
    const err = this.checkProducer(auth);
    if (err) return { errorCode: err };
    if (!groupId) return { errorCode: "INVALID_GROUP_ID" };
    const t = this.txns.get(auth.transactionalId)!;
    if (t.state === "PrepareCommit" || t.state === "PrepareAbort")
      return { errorCode: "CONCURRENT_TRANSACTIONS" };
    if (t.groups.has(groupId) && t.state === "Ongoing") return { errorCode: "NONE" };
    this.begin(t);
    t.groups.add(groupId);
    t.updateTimestamp = this.o.clock.now();
    this.persist(t);
    return { errorCode: "NONE" };
  }

  /** TxnOffsetCommit: offsets stay pending until the transaction commits; fenced by member and generation. */
  txnOffsetCommit(
    auth: TxnAuth,
    req: {
      groupId: string;
      generationId?: number;
      memberId?: string;
      groupInstanceId?: string | null;
      offsets: readonly TxnPendingOffset[];
    },
  ): { topic: string; partition: number; errorCode: string }[] {
    const answer = (code: string) =>
      req.offsets.map((o) => ({ topic: o.topic, partition: o.partition, errorCode: code }));
    const t = this.txns.get(auth.transactionalId);
    if (!t || t.producerId !== auth.producerId) return answer("INVALID_PRODUCER_ID_MAPPING");
    if (auth.producerEpoch < t.producerEpoch) return answer("INVALID_PRODUCER_EPOCH");
    if (auth.producerEpoch > t.producerEpoch) return answer("INVALID_PRODUCER_EPOCH");
    if (t.state !== "Ongoing" || !t.groups.has(req.groupId)) return answer("INVALID_TXN_STATE");
    const verdict = this.o.validateGroupMember(
      req.groupId,
      req.generationId ?? -1,
      req.memberId ?? "",
      req.groupInstanceId ?? null,
    );
    if (verdict !== "NONE") return answer(verdict);
    let m = t.offsets.get(req.groupId);
    if (!m) t.offsets.set(req.groupId, (m = new Map()));
    for (const o of req.offsets) m.set(tpk(o.topic, o.partition), o);
    t.updateTimestamp = this.o.clock.now();
    this.persist(t);
    return answer("NONE");
  }

  endTxn(auth: TxnAuth, commit: boolean): { errorCode: string } {
    const t = this.txns.get(auth.transactionalId);
    if (!t || t.producerId !== auth.producerId) return { errorCode: "INVALID_PRODUCER_ID_MAPPING" };
    if (auth.producerEpoch !== t.producerEpoch) {
      // A retry of an EndTxn that already completed with a timeout-bumped epoch is still a fencing.
      return {
        errorCode: auth.producerEpoch < t.producerEpoch ? "PRODUCER_FENCED" : "INVALID_PRODUCER_EPOCH",
      };
    }
    switch (t.state) {
      case "Ongoing":
        this.prepare(t, commit);
        this.completeTxn(t, commit);
        this.o.onTxnEnd?.(commit ? "commit" : "abort");
        return { errorCode: "NONE" };
      case "CompleteCommit":
        return { errorCode: commit ? "NONE" : "INVALID_TXN_STATE" };
      case "CompleteAbort":
        return { errorCode: commit ? "INVALID_TXN_STATE" : "NONE" };
      case "PrepareCommit":
      case "PrepareAbort":
        return { errorCode: "CONCURRENT_TRANSACTIONS" };
      default:
        return { errorCode: "INVALID_TXN_STATE" };
    }
  }

  /**
   * Produce-time check for transactional batches (what KIP-890 adds to Kafka): the producer is the
   * current one of its transactional id and the partition was added to its open transaction.
   */
  verifyTransactionalProduce(
    transactionalId: string | null,
    producerId: number,
    producerEpoch: number,
    topic: string,
    partition: number,
  ): string {
    const t = transactionalId ? this.txns.get(transactionalId) : this.byProducerId.get(producerId);
    if (!t || t.producerId !== producerId) return "INVALID_PRODUCER_ID_MAPPING";
    if (producerEpoch < t.producerEpoch) return "INVALID_PRODUCER_EPOCH";
    if (producerEpoch > t.producerEpoch) return "INVALID_PRODUCER_EPOCH";
    if (t.state !== "Ongoing" || !t.partitions.has(tpk(topic, partition))) return "INVALID_TXN_STATE";
    return "NONE";
  }

  /** KIP-447 requireStable: is an offset of this group and partition pending in an open transaction? */
  hasPendingOffset(groupId: string, topic: string, partition: number): boolean {
    const k = tpk(topic, partition);
    for (const t of this.txns.values()) {
      if (t.state !== "Ongoing" && t.state !== "PrepareCommit") continue;
      if (t.offsets.get(groupId)?.has(k)) return true;
    }
    return false;
  }

  /** Aborts transactions open longer than their timeout (with an epoch bump: the producer is fenced). */
  tick(): void {
    const now = this.o.clock.now();
    for (const t of this.txns.values()) {
      if (t.state === "PrepareCommit" || t.state === "PrepareAbort") {
        // A completion that failed (storage error) is retried until it succeeds.
        try {
          this.completeTxn(t, t.state === "PrepareCommit");
        } catch (e) {
          this.o.onError?.(e);
        }
        continue;
      }
      if (t.state === "Ongoing" && now - t.startTimestamp > t.timeoutMs) {
        try {
          this.bumpEpoch(t);
          this.prepare(t, false);
          this.completeTxn(t, false);
          this.o.onTxnEnd?.("timeout");
        } catch (e) {
          this.o.onError?.(e);
        }
      }
    }
  }

  describe(transactionalId: string):
    | {
        state: TxnState;
        producerId: number;
        producerEpoch: number;
        timeoutMs: number;
        startTimestamp: number;
        partitions: { topic: string; partition: number }[];
        groups: string[];
      }
    | undefined {
    const t = this.txns.get(transactionalId);
    if (!t) return undefined;
    return {
      state: t.state,
      producerId: t.producerId,
      producerEpoch: t.producerEpoch,
      timeoutMs: t.timeoutMs,
      startTimestamp: t.startTimestamp,
      partitions: [...t.partitions.values()].map(([topic, partition]) => ({ topic, partition })),
      groups: [...t.groups],
    };
  }

  /** Transactions currently open (Ongoing or being completed), for metrics. */
  openCount(): number {
    let n = 0;
    for (const t of this.txns.values()) if (t.state === "Ongoing" || t.state.startsWith("Prepare")) n++;
    return n;
  }

  listTransactions(): { transactionalId: string; producerId: number; state: TxnState }[] {
    return [...this.txns.values()].map((t) => ({
      transactionalId: t.transactionalId,
      producerId: t.producerId,
      state: t.state,
    }));
  }

  // ------------------------------------------------------------------ internals

  private checkProducer(auth: TxnAuth): string | null {
    const t = this.txns.get(auth.transactionalId);
    if (!t || t.producerId !== auth.producerId) return "INVALID_PRODUCER_ID_MAPPING";
    if (auth.producerEpoch < t.producerEpoch) return "PRODUCER_FENCED";
    if (auth.producerEpoch > t.producerEpoch) return "INVALID_PRODUCER_EPOCH";
    return null;
  }

  private begin(t: Txn): void {
    if (t.state === "Ongoing") return;
    t.state = "Ongoing";
    t.partitions.clear();
    t.groups.clear();
    t.offsets.clear();
    t.startTimestamp = this.o.clock.now();
  }

  private allocateProducerId(): number {
    if (this.nextProducerId >= this.blockEnd) {
      const end = this.nextProducerId + this.blockSize;
      this.o.store.writeProducerIdBlock(end);
      this.blockEnd = end;
    }
    return this.nextProducerId++;
  }

  private bumpEpoch(t: Txn): void {
    if (t.producerEpoch >= MAX_EPOCH - 1) {
      // Epoch exhausted: a fresh producer id, as Kafka does.
      this.byProducerId.delete(t.producerId);
      t.producerId = this.allocateProducerId();
      t.producerEpoch = 0;
      this.byProducerId.set(t.producerId, t);
    } else {
      t.producerEpoch++;
    }
  }

  private prepare(t: Txn, commit: boolean): void {
    t.state = commit ? "PrepareCommit" : "PrepareAbort";
    t.updateTimestamp = this.o.clock.now();
    this.persist(t);
  }

  /** Writes the markers, applies committed offsets, then records the completion. Idempotent on retry. */
  private completeTxn(t: Txn, commit: boolean): void {
    const type = commit ? "commit" : "abort";
    for (const [topic, partition] of t.partitions.values()) {
      if (!this.o.partitionExists(topic, partition)) continue; // deleted meanwhile
      this.o.writeMarker(topic, partition, {
        producerId: t.producerId,
        producerEpoch: t.producerEpoch,
        type,
        coordinatorEpoch: this.coordinatorEpoch,
      });
    }
    if (commit) for (const [group, offs] of t.offsets) this.o.commitOffsets(group, [...offs.values()]);
    t.state = commit ? "CompleteCommit" : "CompleteAbort";
    t.partitions.clear();
    t.groups.clear();
    t.offsets.clear();
    t.updateTimestamp = this.o.clock.now();
    this.persist(t);
  }

  private persist(t: Txn): void {
    const offsets: [string, string, number, number, number, string | null][] = [];
    for (const [g, m] of t.offsets)
      for (const o of m.values())
        offsets.push([g, o.topic, o.partition, o.offset, o.leaderEpoch, o.metadata]);
    this.o.store.writeTxn(t.transactionalId, {
      producerId: t.producerId,
      producerEpoch: t.producerEpoch,
      timeoutMs: t.timeoutMs,
      state: t.state,
      partitions: [...t.partitions.values()],
      groups: [...t.groups],
      offsets,
      startTimestamp: t.startTimestamp,
      updateTimestamp: t.updateTimestamp,
    });
  }
}

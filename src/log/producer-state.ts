// Per-partition producer state: Kafka's idempotence rules (ProducerAppendInfo / ProducerStateEntry) and
// the partition's side of transactions (ongoing transactions, completed by control markers).
import { LogError } from "./errors.ts";
import type { AbortedTransaction, ProducerStateView } from "./types.ts";

/** Kafka keeps the metadata of the last 5 batches per producer (clients' max.in.flight <= 5). */
export const NUM_BATCHES_TO_RETAIN = 5;
const INT32_MAX = 2147483647;

export interface BatchMetadata {
  readonly firstSeq: number;
  readonly lastSeq: number;
  readonly firstOffset: number;
  readonly lastOffset: number;
  readonly timestamp: number;
}

export interface ProducerEntry {
  producerId: number;
  producerEpoch: number;
  coordinatorEpoch: number;
  currentTxnFirstOffset: number;
  lastTimestamp: number;
  /** Oldest first, at most NUM_BATCHES_TO_RETAIN. */
  batches: BatchMetadata[];
}

/** An aborted transaction as kept in the transaction index (Kafka's AbortedTxn). */
export interface AbortedTxnEntry {
  readonly producerId: number;
  readonly firstOffset: number;
  /** Offset of the ABORT marker. */
  readonly lastOffset: number;
  /** Last stable offset right after the abort: lets a reader stop scanning (see collectAborted). */
  readonly lastStableOffset: number;
}

/** The header fields of a batch that producer state looks at. */
export interface ProducerBatchInfo {
  readonly producerId: number;
  readonly producerEpoch: number;
  readonly baseSequence: number;
  readonly lastOffsetDelta: number;
  readonly baseOffset: number;
  readonly maxTimestamp: number;
  readonly isTransactional: boolean;
}

function lastSeqOf(baseSequence: number, lastOffsetDelta: number): number {
  const s = baseSequence + lastOffsetDelta;
  return s > INT32_MAX ? s - INT32_MAX - 1 : s;
}

function inSequence(lastSeq: number, nextSeq: number): boolean {
  return nextSeq === lastSeq + 1 || (nextSeq === 0 && lastSeq === INT32_MAX);
}

export class ProducerStateManager {
  readonly producers = new Map<number, ProducerEntry>();
  /** producerId -> first offset of its open transaction on this partition. */
  readonly ongoing = new Map<number, number>();
  private readonly where: string;

  constructor(where: string) {
    this.where = where;
  }

  get(producerId: number): ProducerEntry | undefined {
    return this.producers.get(producerId);
  }

  /** First offset of the earliest open transaction, or undefined. */
  firstUnstableOffset(): number | undefined {
    let min: number | undefined;
    for (const o of this.ongoing.values()) if (min === undefined || o < min) min = o;
    return min;
  }

  /**
   * Validates an incoming producer batch (before offsets are assigned). Returns the original batch
   * metadata if it is a duplicate of a retained batch, else undefined; throws on epoch/sequence errors.
   */
  check(b: ProducerBatchInfo): BatchMetadata | undefined {
    const entry = this.producers.get(b.producerId);
    const where = this.where;
    if (b.baseSequence < 0) {
      throw new LogError(
        "INVALID_RECORD",
        `${where}: batch of idempotent producer ${b.producerId} has no base sequence (${b.baseSequence})`,
      );
    }
    const lastSeq = lastSeqOf(b.baseSequence, b.lastOffsetDelta);
    if (!entry) return undefined; // unknown producer (new, or expired): any sequence starts it
    if (b.producerEpoch < entry.producerEpoch) {
      throw new LogError(
        "INVALID_PRODUCER_EPOCH",
        `${where}: producer ${b.producerId} has epoch ${b.producerEpoch}, older than the current epoch ${entry.producerEpoch} (fenced)`,
      );
    }
    if (b.producerEpoch === entry.producerEpoch) {
      for (const m of entry.batches) {
        if (m.firstSeq === b.baseSequence && m.lastSeq === lastSeq) return m;
      }
      const currentLast = entry.batches.length > 0 ? entry.batches[entry.batches.length - 1]!.lastSeq : -1;
      if (!inSequence(currentLast, b.baseSequence)) {
        throw new LogError(
          "OUT_OF_ORDER_SEQUENCE_NUMBER",
          `${where}: producer ${b.producerId} epoch ${b.producerEpoch} sent sequence ${b.baseSequence}, expected ${currentLast === INT32_MAX ? 0 : currentLast + 1}`,
        );
      }
    } else if (b.baseSequence !== 0) {
      throw new LogError(
        "OUT_OF_ORDER_SEQUENCE_NUMBER",
        `${where}: producer ${b.producerId} starts new epoch ${b.producerEpoch} at sequence ${b.baseSequence}; a new epoch must start at 0`,
      );
    }
    return undefined;
  }

  /** Records an appended data batch (offsets assigned). Also used when replaying the log. */
  onDataBatch(b: ProducerBatchInfo): void {
    let entry = this.producers.get(b.producerId);
    if (!entry) {
      entry = {
        producerId: b.producerId,
        producerEpoch: b.producerEpoch,
        coordinatorEpoch: -1,
        currentTxnFirstOffset: -1,
        lastTimestamp: b.maxTimestamp,
        batches: [],
      };
      this.producers.set(b.producerId, entry);
    }
    if (b.producerEpoch !== entry.producerEpoch) {
      entry.producerEpoch = b.producerEpoch;
      entry.batches = [];
    }
    if (b.baseSequence >= 0) {
      entry.batches.push({
        firstSeq: b.baseSequence,
        lastSeq: lastSeqOf(b.baseSequence, b.lastOffsetDelta),
        firstOffset: b.baseOffset,
        lastOffset: b.baseOffset + b.lastOffsetDelta,
        timestamp: b.maxTimestamp,
      });
      if (entry.batches.length > NUM_BATCHES_TO_RETAIN) entry.batches.shift();
    }
    entry.lastTimestamp = b.maxTimestamp;
    if (b.isTransactional && entry.currentTxnFirstOffset < 0) {
      entry.currentTxnFirstOffset = b.baseOffset;
      this.ongoing.set(b.producerId, b.baseOffset);
    }
  }

  /** Checks a control marker before it is written. */
  checkMarker(producerId: number, producerEpoch: number, coordinatorEpoch: number): void {
    const entry = this.producers.get(producerId);
    if (!entry) return;
    if (producerEpoch < entry.producerEpoch) {
      throw new LogError(
        "INVALID_PRODUCER_EPOCH",
        `${this.where}: transaction marker for producer ${producerId} has epoch ${producerEpoch}, older than the current epoch ${entry.producerEpoch}`,
      );
    }
    if (coordinatorEpoch < entry.coordinatorEpoch) {
      throw new LogError(
        "TRANSACTION_COORDINATOR_FENCED",
        `${this.where}: transaction marker for producer ${producerId} has coordinator epoch ${coordinatorEpoch}, older than ${entry.coordinatorEpoch}`,
      );
    }
  }

  /**
   * Records a written control marker; for an ABORT that completes an open transaction, returns the
   * aborted-transaction entry to index (its lastStableOffset is filled in by the caller).
   */
  onMarker(
    producerId: number,
    producerEpoch: number,
    coordinatorEpoch: number,
    type: "commit" | "abort" | "unknown",
    markerOffset: number,
    timestamp: number,
  ): { producerId: number; firstOffset: number; lastOffset: number } | undefined {
    let entry = this.producers.get(producerId);
    if (!entry) {
      entry = {
        producerId,
        producerEpoch,
        coordinatorEpoch,
        currentTxnFirstOffset: -1,
        lastTimestamp: timestamp,
        batches: [],
      };
      this.producers.set(producerId, entry);
    }
    if (producerEpoch !== entry.producerEpoch) {
      entry.producerEpoch = producerEpoch;
      entry.batches = [];
    }
    entry.coordinatorEpoch = coordinatorEpoch;
    entry.lastTimestamp = timestamp;
    const first = entry.currentTxnFirstOffset;
    entry.currentTxnFirstOffset = -1;
    this.ongoing.delete(producerId);
    if (first >= 0 && type === "abort") return { producerId, firstOffset: first, lastOffset: markerOffset };
    return undefined;
  }

  /** Forgets producers idle since before `cutoff` with no open transaction (Kafka's producer.id.expiration.ms). */
  expire(cutoff: number): number {
    let n = 0;
    for (const [id, e] of this.producers) {
      if (e.currentTxnFirstOffset < 0 && e.lastTimestamp < cutoff) {
        this.producers.delete(id);
        n++;
      }
    }
    return n;
  }

  view(entry: ProducerEntry): ProducerStateView {
    const last = entry.batches[entry.batches.length - 1];
    return {
      producerId: entry.producerId,
      producerEpoch: entry.producerEpoch,
      lastSequence: last ? last.lastSeq : -1,
      lastOffset: last ? last.lastOffset : -1,
      lastTimestamp: entry.lastTimestamp,
      coordinatorEpoch: entry.coordinatorEpoch,
      currentTxnFirstOffset: entry.currentTxnFirstOffset,
    };
  }

  /** Drops everything at or after `offset` is impossible to undo incrementally: callers rebuild instead. */
  clear(): void {
    this.producers.clear();
    this.ongoing.clear();
  }

  // ------------------------------------------------------------ snapshots

  /** Serialized state (JSON with a CRC line), taken at log end offset `offset`. */
  serialize(offset: number): string {
    const body = JSON.stringify({
      version: 1,
      offset,
      producers: [...this.producers.values()],
    });
    return body;
  }

  /** Loads a snapshot; returns its offset, or throws if it is unreadable. */
  load(text: string): number {
    const parsed = JSON.parse(text) as { version: number; offset: number; producers: ProducerEntry[] };
    if (parsed.version !== 1 || !Array.isArray(parsed.producers) || typeof parsed.offset !== "number") {
      throw new Error("unsupported producer snapshot");
    }
    this.clear();
    for (const p of parsed.producers) {
      this.producers.set(p.producerId, p);
      if (p.currentTxnFirstOffset >= 0) this.ongoing.set(p.producerId, p.currentTxnFirstOffset);
    }
    return parsed.offset;
  }
}

/** Aborted transactions overlapping [startOffset, upperBoundOffset), from entries sorted by lastOffset. */
export function collectAborted(
  entries: readonly AbortedTxnEntry[],
  startOffset: number,
  upperBoundOffset: number,
): AbortedTransaction[] {
  const out: AbortedTransaction[] = [];
  // first entry whose marker is at or after startOffset
  let lo = 0;
  let hi = entries.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (entries[mid]!.lastOffset < startOffset) lo = mid + 1;
    else hi = mid;
  }
  for (let i = lo; i < entries.length; i++) {
    const e = entries[i]!;
    if (e.firstOffset < upperBoundOffset) out.push({ producerId: e.producerId, firstOffset: e.firstOffset });
    // Every transaction completed later started at or after this LSO (see Kafka's TransactionIndex).
    if (e.lastStableOffset >= upperBoundOffset) break;
  }
  return out;
}

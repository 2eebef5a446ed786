// One partition's durable log: segments of Kafka v2 record batches, producer state (idempotence and
// transactions), the last stable offset, the aborted-transaction index, retention, recovery.
// Everything on the append and read paths is synchronous: an append returns only once its bytes are in
// the file (and fsynced, with flush.policy=every-batch), so nothing is acknowledged that is not stored.
import * as fs from "node:fs";
import * as path from "node:path";
import type { Clock, Logger } from "../observe/index.ts";
import { redoSwap } from "./cleaner.ts";
import { compressionFromId, isCompressionSupported } from "./compression.ts";
import { LogError } from "./errors.ts";
import type { LogIo } from "./io.ts";
import { type AbortedTxnEntry, collectAborted, ProducerStateManager } from "./producer-state.ts";
import {
  ATTR_COMPRESSION_MASK,
  ATTR_CONTROL,
  ATTR_TIMESTAMP_TYPE,
  ATTR_TRANSACTIONAL,
  checkBatchRecords,
  decodeBatchRecords,
  decodeBatchRecordsInto,
  encodeControlBatch,
  encodedInProcess,
  encodeRecordBatch,
  LOG_OVERHEAD,
  OFF_ATTRIBUTES,
  OFF_BASE_OFFSET,
  OFF_BASE_SEQUENCE,
  OFF_LAST_OFFSET_DELTA,
  OFF_LEADER_EPOCH,
  OFF_LENGTH,
  OFF_MAX_TIMESTAMP,
  OFF_PRODUCER_EPOCH,
  OFF_PRODUCER_ID,
  OFF_RECORD_COUNT,
  parseControlRecord,
  RECORD_BATCH_OVERHEAD,
  readInt64,
  updateBatchCrc,
  validateRecordBatch,
  writeInt64,
} from "./record-batch.ts";
import { Segment, segmentFileName } from "./segment.ts";
import type {
  AbortedTransaction,
  AppendOptions,
  AppendResult,
  EncodeBatchOptions,
  FetchResult,
  IsolationLevel,
  ListOffsetResult,
  ListOffsetSpec,
  LogConfig,
  LogRecord,
  PartitionInfo,
  ProducerStateView,
  ReadOptions,
  ReadRecordsOptions,
  ReadRecordsResult,
  RecordInput,
  RetentionStats,
  WaitForDataOptions,
} from "./types.ts";

export interface ControlMarker {
  readonly producerId: number;
  readonly producerEpoch: number;
  readonly type: "commit" | "abort";
  readonly coordinatorEpoch: number;
  /** Default: the log's clock. */
  readonly timestamp?: number;
}

/** What a partition log shares with its manager. */
export interface PartitionContext {
  readonly io: LogIo;
  readonly clock: Clock;
  readonly logger?: Logger;
  /** The previous shutdown was clean: index files and snapshots can be trusted. */
  readonly cleanShutdown: boolean;
  /** Check each batch's CRC when serving a read (a corrupt record is never served). */
  readonly verifyOnRead: boolean;
  /** Minimum time between checkpoint writes that only move the recovery point. */
  readonly checkpointIntervalMs: number;
  /** Bytes of each in-memory chunk of recently appended batches served to tail reads (0: none). */
  readonly tailCacheBytes: number;
  /**
   * Tail chunks no partition uses any more, for the next one to fill (shared by a log manager's
   * partitions, at most TAIL_CHUNK_SPARES). Readers only ever copy out of a chunk, so one can be
   * refilled. A new 256 KB buffer per chunk lived long enough to reach the old generation, and
   * those buffers, ~60 MB a second at 60 000 frames/s, started a full (mark-compact) collection of
   * the broker's thread every second (V8 counts ArrayBuffer memory towards its external limit).
   */
  readonly spareTailChunks?: Buffer[];
  readonly onAppend: (log: PartitionLog) => void;
  /** Counts storage failures and recovery truncations (metrics). */
  readonly onEvent?: (event: "storage-error" | "recovery-truncation", log: PartitionLog) => void;
}

const CHECKPOINT_FILE = "partition.json";
const SNAPSHOT_SUFFIX = ".snapshot";
const EMPTY = Buffer.alloc(0);
const INT32_MAX = 2147483647;
/** Bytes read to find where a fetch starts, before the main read. */
const SEEK_CHUNK = 16 * 1024;
/** Most spare tail chunks kept for reuse (see PartitionLogContext.spareTailChunks). */
const TAIL_CHUNK_SPARES = 8;

interface Checkpoint {
  logStartOffset: number;
  recoveryPoint: number;
}

/**
 * Recently appended batches of a segment, kept in memory as written (bytes [start, start+len) of the
 * segment file), so that reads at the tail (consumers right behind producers) need no readSync; like
 * Kafka relying on the page cache. Append-only: bytes once written here never change.
 */
interface TailChunk {
  readonly seg: Segment;
  /** File position of buf[0]: a batch boundary. */
  readonly start: number;
  /** Base offset of the first batch in the chunk. */
  readonly firstOffset: number;
  readonly buf: Buffer;
  len: number;
}

interface Waiter {
  offset: number;
  committed: boolean;
  resolve: (v: boolean) => void;
}

/** A producer batch's header fields, as the producer state checks and records them. */
interface ProducerBatchFields {
  producerId: number;
  producerEpoch: number;
  baseSequence: number;
  lastOffsetDelta: number;
  baseOffset: number;
  maxTimestamp: number;
  isTransactional: boolean;
}

function asBuffer(data: Uint8Array): Buffer {
  return Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

export class PartitionLog {
  readonly topic: string;
  readonly partition: number;
  readonly dir: string;
  private cfg: LogConfig;
  private readonly ctx: PartitionContext;
  private readonly io: LogIo;
  private readonly where: string;
  /** Sorted by base offset; the last is the active segment. */
  private segments: Segment[] = [];
  private _logStartOffset = 0;
  private _logEndOffset = 0;
  private recoveryPoint = 0;
  private checkpointed: Checkpoint = { logStartOffset: -1, recoveryPoint: -1 };
  private readonly producers: ProducerStateManager;
  /** Aborted transactions, sorted by the offset of their ABORT marker. */
  private aborted: AbortedTxnEntry[] = [];
  private failure: LogError | null = null;
  private closed = false;
  private lastFlushMs: number;
  private lastCheckpointMs = 0;
  /** Background (interval policy) fsyncs under way. */
  private backgroundFlushes = 0;
  /** The newest chunk of appended bytes and the one before it (see TailChunk). */
  private tail: TailChunk | null = null;
  private prevTail: TailChunk | null = null;
  private readonly listeners = new Set<(log: PartitionLog) => void>();
  private waiters: Waiter[] = [];
  /** Set while the cleaner works on this log; retention leaves its segments alone meanwhile. */
  cleaning = false;
  /** Bumped when segments are removed or replaced, so the cleaner can detect concurrent changes. */
  segmentsVersion = 0;

  private constructor(topic: string, partition: number, dir: string, cfg: LogConfig, ctx: PartitionContext) {
    this.topic = topic;
    this.partition = partition;
    this.dir = dir;
    this.cfg = cfg;
    this.ctx = ctx;
    this.io = ctx.io;
    this.where = `topic "${topic}" partition ${partition}`;
    this.producers = new ProducerStateManager(this.where);
    this.lastFlushMs = Date.now();
  }

  /** Opens (creating if needed) and recovers the partition log in `dir`. */
  static open(
    topic: string,
    partition: number,
    dir: string,
    cfg: LogConfig,
    ctx: PartitionContext,
  ): PartitionLog {
    const log = new PartitionLog(topic, partition, dir, cfg, ctx);
    log.recover();
    return log;
  }

  // ------------------------------------------------------------ accessors

  get config(): LogConfig {
    return this.cfg;
  }
  /** Applies a new (validated) topic config; takes effect at the next append/roll/retention pass. */
  setConfig(cfg: LogConfig): void {
    this.cfg = cfg;
  }
  get logStartOffset(): number {
    return this._logStartOffset;
  }
  get logEndOffset(): number {
    return this._logEndOffset;
  }
  /** Single node: every stored record is committed to the (only) replica. */
  get highWatermark(): number {
    return this._logEndOffset;
  }
  get lastStableOffset(): number {
    return this.producers.firstUnstableOffset() ?? this._logEndOffset;
  }
  get sizeInBytes(): number {
    let s = 0;
    for (const seg of this.segments) s += seg.size;
    return s;
  }
  get segmentCount(): number {
    return this.segments.length;
  }
  /** Set when a storage operation failed: the log refuses appends until reopened. */
  get storageFailure(): LogError | null {
    return this.failure;
  }
  private get active(): Segment {
    return this.segments[this.segments.length - 1]!;
  }

  info(): PartitionInfo {
    return {
      topic: this.topic,
      partition: this.partition,
      logStartOffset: this._logStartOffset,
      logEndOffset: this._logEndOffset,
      highWatermark: this.highWatermark,
      lastStableOffset: this.lastStableOffset,
      sizeInBytes: this.sizeInBytes,
      segmentCount: this.segments.length,
    };
  }

  // ------------------------------------------------------------ append

  private ensureWritable(): void {
    if (this.closed) throw new LogError("LOG_CLOSED", `${this.where} is closed`);
    if (this.failure) {
      throw new LogError(
        "KAFKA_STORAGE_ERROR",
        `${this.where} is offline after a storage failure (${this.failure.message}); reopen the log to recover`,
        { cause: this.failure },
      );
    }
  }

  /**
   * Appends one or more producer batches (concatenated v2 batches). Validates them (structure, CRC,
   * size, compression, keys on compacted topics, producer epoch/sequence), assigns offsets by
   * rewriting baseOffset in place (and maxTimestamp + CRC for LogAppendTime topics), writes them.
   * A retried duplicate returns the original offsets without appending.
   */
  append(data: Uint8Array, options: AppendOptions = {}): AppendResult {
    this.ensureWritable();
    const buf = asBuffer(data);
    const origin = options.origin ?? "client";
    if (buf.length === 0)
      throw new LogError("INVALID_RECORD", `${this.where}: append of an empty record set`);
    // Validate every batch first: all or nothing.
    let pos = 0;
    let batches = 0;
    let idempotent = false;
    let records = 0;
    // Our own encoder's output (the caller vouches it is unmodified): CRC and record framing are valid
    // by construction. The lookup is by identity, so bytes from anywhere else are checked in full.
    const allKeyed = options.encodedInProcess ? encodedInProcess(data) : undefined;
    const trusted = allKeyed !== undefined;
    const recordsChecked = trusted && (allKeyed || !this.cfg.cleanupPolicy.compact);
    while (pos < buf.length) {
      const size = validateRecordBatch(buf, pos, this.where, !trusted);
      this.validateBatchForAppend(buf, pos, size, origin, recordsChecked);
      if (readInt64(buf, pos + OFF_PRODUCER_ID) >= 0) idempotent = true;
      records += buf.readInt32BE(pos + OFF_RECORD_COUNT);
      pos += size;
      batches++;
    }
    if (idempotent && batches > 1) {
      throw new LogError(
        "INVALID_RECORD",
        `${this.where}: an idempotent/transactional append must hold exactly one batch, got ${batches}`,
      );
    }
    let info: ProducerBatchFields | null = null;
    if (idempotent && origin === "client") {
      info = this.producerBatchInfo(buf, 0);
      const dup = this.producers.check(info);
      if (dup) {
        return {
          baseOffset: dup.firstOffset,
          lastOffset: dup.lastOffset,
          logAppendTime: this.cfg.messageTimestampType === "LogAppendTime" ? dup.timestamp : -1,
          logStartOffset: this._logStartOffset,
          recordCount: dup.lastOffset - dup.firstOffset + 1,
          duplicate: true,
        };
      }
    }
    return this.writeBatches(buf, batches, records, info);
  }

  private validateBatchForAppend(
    buf: Buffer,
    pos: number,
    size: number,
    origin: string,
    recordsChecked: boolean,
  ): void {
    const attrs = buf.readInt16BE(pos + OFF_ATTRIBUTES);
    if (attrs & ATTR_CONTROL && origin === "client") {
      throw new LogError(
        "INVALID_RECORD",
        `${this.where}: control batches are written only by the transaction coordinator, not by producers`,
      );
    }
    const codec = compressionFromId(attrs & ATTR_COMPRESSION_MASK);
    if (!isCompressionSupported(codec)) {
      throw new LogError(
        "UNSUPPORTED_COMPRESSION_TYPE",
        `${this.where}: compression "${codec}" is not supported`,
      );
    }
    const count = buf.readInt32BE(pos + OFF_RECORD_COUNT);
    if (count <= 0) {
      throw new LogError("INVALID_RECORD", `${this.where}: batch at byte ${pos} holds no records`);
    }
    if (size > this.cfg.maxMessageBytes) {
      throw new LogError(
        "MESSAGE_TOO_LARGE",
        `${this.where}: batch of ${size} bytes exceeds max.message.bytes (${this.cfg.maxMessageBytes})`,
      );
    }
    const pid = readInt64(buf, pos + OFF_PRODUCER_ID);
    if (attrs & ATTR_TRANSACTIONAL && pid < 0) {
      throw new LogError("INVALID_RECORD", `${this.where}: transactional batch without a producer id`);
    }
    if (!(attrs & ATTR_CONTROL) && !recordsChecked)
      checkBatchRecords(buf, pos, this.cfg.cleanupPolicy.compact, this.where);
  }

  private producerBatchInfo(buf: Buffer, pos: number): ProducerBatchFields {
    const attrs = buf.readInt16BE(pos + OFF_ATTRIBUTES);
    return {
      producerId: readInt64(buf, pos + OFF_PRODUCER_ID),
      producerEpoch: buf.readInt16BE(pos + OFF_PRODUCER_EPOCH),
      baseSequence: buf.readInt32BE(pos + OFF_BASE_SEQUENCE),
      lastOffsetDelta: buf.readInt32BE(pos + OFF_LAST_OFFSET_DELTA),
      baseOffset: readInt64(buf, pos + OFF_BASE_OFFSET),
      maxTimestamp: readInt64(buf, pos + OFF_MAX_TIMESTAMP),
      isTransactional: (attrs & ATTR_TRANSACTIONAL) !== 0,
    };
  }

  /**
   * Assigns offsets, writes validated batches, updates indexes and producer state. `checked`: the
   * producer fields of the (single) batch as checked before, reused with its assigned offset.
   */
  private writeBatches(
    buf: Buffer,
    batches: number,
    records: number,
    checked: ProducerBatchFields | null = null,
  ): AppendResult {
    const now = this.ctx.clock.now();
    const logAppendTime = this.cfg.messageTimestampType === "LogAppendTime";
    const baseOffset = this._logEndOffset;
    let next = baseOffset;
    let firstMaxTs = -1;
    for (let pos = 0; pos < buf.length; ) {
      const size = LOG_OVERHEAD + buf.readInt32BE(pos + OFF_LENGTH);
      const delta = buf.readInt32BE(pos + OFF_LAST_OFFSET_DELTA);
      writeInt64(buf, next, pos + OFF_BASE_OFFSET);
      buf.writeInt32BE(0, pos + OFF_LEADER_EPOCH);
      if (logAppendTime) {
        const attrs = buf.readInt16BE(pos + OFF_ATTRIBUTES);
        buf.writeInt16BE(attrs | ATTR_TIMESTAMP_TYPE, pos + OFF_ATTRIBUTES);
        writeInt64(buf, now, pos + OFF_MAX_TIMESTAMP);
        updateBatchCrc(buf, pos);
      }
      if (firstMaxTs < 0) firstMaxTs = readInt64(buf, pos + OFF_MAX_TIMESTAMP);
      next += delta + 1;
      pos += size;
    }
    this.maybeRoll(buf.length, next - 1, now);
    const seg = this.active;
    const position = seg.size;
    this.writeDurably(seg, buf, position);
    this.cacheTail(seg, position, buf, baseOffset);
    // Stored: now update the in-memory state.
    for (let pos = 0; pos < buf.length; ) {
      const size = LOG_OVERHEAD + buf.readInt32BE(pos + OFF_LENGTH);
      const bBase = readInt64(buf, pos + OFF_BASE_OFFSET);
      const bLast = bBase + buf.readInt32BE(pos + OFF_LAST_OFFSET_DELTA);
      seg.onBatchAppended(
        bBase,
        bLast,
        readInt64(buf, pos + OFF_MAX_TIMESTAMP),
        position + pos,
        size,
        this.cfg.indexIntervalBytes,
      );
      if (checked !== null && pos === 0) {
        checked.baseOffset = bBase;
        checked.maxTimestamp = readInt64(buf, pos + OFF_MAX_TIMESTAMP);
        this.producers.onDataBatch(checked);
      } else if (readInt64(buf, pos + OFF_PRODUCER_ID) >= 0)
        this.producers.onDataBatch(this.producerBatchInfo(buf, pos));
      pos += size;
    }
    this._logEndOffset = next;
    // every-batch: durable now; the checkpoint file follows lazily (a stale one only means more to scan)
    if (!seg.unflushed) this.recoveryPoint = next;
    this.notify();
    void batches;
    return {
      baseOffset,
      lastOffset: next - 1,
      logAppendTime: logAppendTime ? now : -1,
      logStartOffset: this._logStartOffset,
      recordCount: records,
      duplicate: false,
    };
  }

  /**
   * Writes at `position` of the segment and, with every-batch flushing, fsyncs. On any failure the
   * file is cut back to `position` so nothing partial stays, and the append is rejected; if even
   * that fails, the log goes offline (every later append is rejected until reopened).
   */
  private writeDurably(seg: Segment, buf: Buffer, position: number): void {
    try {
      this.io.write(seg.fd, seg.logPath, buf, 0, buf.length, position);
      seg.size = position + buf.length;
      seg.unflushed = true;
      if (this.cfg.flushMode === "every-batch") {
        this.io.fsync(seg.fd, seg.logPath);
        seg.unflushed = false;
      }
    } catch (e) {
      const err = this.storageError(`append of ${buf.length} bytes at byte ${position} of ${seg.logPath}`, e);
      try {
        this.io.truncate(seg.fd, seg.logPath, position);
        seg.size = position;
      } catch (e2) {
        this.failure = this.storageError(`cut back ${seg.logPath} to ${position} after a failed append`, e2);
        this.ctx.logger?.error({ err: this.failure }, "partition log offline");
      }
      throw err;
    }
  }

  private storageError(what: string, e: unknown): LogError {
    this.ctx.onEvent?.("storage-error", this);
    const code = (e as NodeJS.ErrnoException)?.code;
    return new LogError(
      "KAFKA_STORAGE_ERROR",
      `${this.where}: ${what} failed${code ? ` (${code})` : ""}: ${(e as Error)?.message ?? String(e)}; nothing was acknowledged`,
      { cause: e },
    );
  }

  /** Rolls to a new segment if the active one is full (bytes, index entries, offset range) or old. */
  private maybeRoll(incomingBytes: number, lastOffset: number, now: number): void {
    const seg = this.active;
    if (seg.size === 0) return;
    const full = seg.size + incomingBytes > this.cfg.segmentBytes;
    const old = now - seg.rollTimestamp >= this.cfg.segmentMs;
    const indexFull = seg.indexEntries >= Math.floor(this.cfg.segmentIndexBytes / 8);
    const offsetOverflow = lastOffset - seg.baseOffset > INT32_MAX;
    if (full || old || indexFull || offsetOverflow) this.roll(now);
  }

  /** Closes the active segment (index files, producer snapshot) and starts a new one at the log end. */
  roll(now = this.ctx.clock.now()): void {
    const prev = this.active;
    if (prev.size === 0) return;
    const durable = this.cfg.flushMode !== "os";
    try {
      if (durable && prev.unflushed) {
        this.io.fsync(prev.fd, prev.logPath);
        prev.unflushed = false;
      }
      prev.writeIndexFiles(this.io, durable);
      prev.writeTxnIndex(this.io, this.abortedIn(prev), durable);
      const seg = new Segment(this.dir, this._logEndOffset, now);
      seg.open(this.io, true);
      this.segments.push(seg);
      this.writeSnapshot(this._logEndOffset, durable);
      if (durable) this.advanceRecoveryPoint(prev.nextOffset);
    } catch (e) {
      if (e instanceof LogError) throw e;
      throw this.storageError(`roll of ${prev.logPath}`, e);
    }
  }

  private abortedIn(seg: Segment): AbortedTxnEntry[] {
    return this.aborted.filter((a) => a.lastOffset >= seg.baseOffset && a.lastOffset < seg.nextOffset);
  }

  /** Encodes records into one batch and appends it (the in-process producer's path). */
  appendRecords(
    records: readonly RecordInput[],
    options: EncodeBatchOptions & AppendOptions = {},
  ): AppendResult {
    const batch = encodeRecordBatch(records, { timestamp: this.ctx.clock.now(), ...options });
    return this.append(batch, { ...options, encodedInProcess: true });
  }

  /**
   * Writes a COMMIT or ABORT control batch for a producer's transaction (the transaction coordinator's
   * WriteTxnMarkers) and completes the transaction on this partition.
   */
  appendControlMarker(marker: ControlMarker): AppendResult {
    this.ensureWritable();
    this.producers.checkMarker(marker.producerId, marker.producerEpoch, marker.coordinatorEpoch);
    const ts = marker.timestamp ?? this.ctx.clock.now();
    const batch = encodeControlBatch({ ...marker, timestamp: ts });
    const offset = this._logEndOffset;
    writeInt64(batch, offset, OFF_BASE_OFFSET);
    batch.writeInt32BE(0, OFF_LEADER_EPOCH);
    this.maybeRoll(batch.length, offset, ts);
    const seg = this.active;
    const position = seg.size;
    this.writeDurably(seg, batch, position);
    this.cacheTail(seg, position, batch, offset);
    seg.onBatchAppended(offset, offset, ts, position, batch.length, this.cfg.indexIntervalBytes);
    this._logEndOffset = offset + 1;
    if (!seg.unflushed) this.recoveryPoint = offset + 1;
    this.applyMarker(
      marker.producerId,
      marker.producerEpoch,
      marker.coordinatorEpoch,
      marker.type,
      offset,
      ts,
    );
    this.notify();
    return {
      baseOffset: offset,
      lastOffset: offset,
      logAppendTime: -1,
      logStartOffset: this._logStartOffset,
      recordCount: 1,
      duplicate: false,
    };
  }

  private applyMarker(
    producerId: number,
    producerEpoch: number,
    coordinatorEpoch: number,
    type: "commit" | "abort" | "unknown",
    offset: number,
    ts: number,
  ): void {
    const done = this.producers.onMarker(producerId, producerEpoch, coordinatorEpoch, type, offset, ts);
    if (done) {
      this.aborted.push({ ...done, lastStableOffset: this.producers.firstUnstableOffset() ?? offset + 1 });
    }
  }

  /** Keeps bytes just written at `position` of `seg` (first batch at `firstOffset`) for tail reads. */
  private cacheTail(seg: Segment, position: number, bytes: Buffer, firstOffset: number): void {
    const max = this.ctx.tailCacheBytes;
    if (max <= 0) return;
    const t = this.tail;
    if (t && t.seg === seg && t.start + t.len === position && t.len + bytes.length <= t.buf.length) {
      bytes.copy(t.buf, t.len);
      t.len += bytes.length;
      return;
    }
    // a new chunk; the current one stays readable as the previous (if it ends where this starts)
    const keep = t && t.seg === seg && t.start + t.len === position ? t : null;
    this.releaseChunk(this.prevTail);
    if (keep === null) this.releaseChunk(t);
    this.prevTail = keep;
    // Large appends are not copied: a disk read of them costs little per byte, the copy would not.
    if (bytes.length > max / 8) {
      this.releaseChunk(this.prevTail);
      this.tail = null;
      this.prevTail = null;
      return;
    }
    const spare = this.ctx.spareTailChunks?.pop();
    const buf = spare !== undefined && spare.length === max ? spare : Buffer.allocUnsafe(max);
    bytes.copy(buf, 0);
    this.tail = { seg, start: position, firstOffset, buf, len: bytes.length };
  }

  /** Gives a chunk no longer referenced by this log back to the shared spares. */
  private releaseChunk(t: TailChunk | null): void {
    const spares = this.ctx.spareTailChunks;
    if (t === null || spares === undefined || spares.length >= TAIL_CHUNK_SPARES) return;
    if (t.buf.length === this.ctx.tailCacheBytes) spares.push(t.buf);
  }

  /** The cached chunk of `seg` holding file bytes [start, end), if any. */
  private cachedRange(seg: Segment, start: number, end: number): TailChunk | null {
    for (const t of [this.tail, this.prevTail]) {
      if (t && t.seg === seg && start >= t.start && end <= t.start + t.len) return t;
    }
    return null;
  }

  /** The cached chunk of `seg` whose batches cover `offset` (first batch at or before it), if any. */
  private cachedOffset(seg: Segment, offset: number): TailChunk | null {
    const t = this.tail;
    if (t && t.seg === seg && offset >= t.firstOffset) return t;
    const p = this.prevTail;
    if (p && p.seg === seg && offset >= p.firstOffset) return p;
    return null;
  }

  private dropTailCache(): void {
    this.releaseChunk(this.tail);
    this.releaseChunk(this.prevTail);
    this.tail = null;
    this.prevTail = null;
  }

  // ------------------------------------------------------------ notifications

  onAppend(listener: (log: PartitionLog) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Resolves true once data past `offset` is readable (log end, or LSO for read_committed, > offset),
   * false on timeout, abort or close. For long-poll fetches without polling.
   */
  waitForData(offset: number, options: WaitForDataOptions = {}): Promise<boolean> {
    const committed = options.isolation === "read_committed";
    if ((committed ? this.lastStableOffset : this._logEndOffset) > offset) return Promise.resolve(true);
    if (this.closed || options.signal?.aborted) return Promise.resolve(false);
    return new Promise<boolean>((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      let cancel: (() => void) | undefined;
      const finish = (v: boolean) => {
        if (timer) clearTimeout(timer);
        options.signal?.removeEventListener("abort", onAbort);
        cancel?.();
        resolve(v);
      };
      const onAbort = () => finish(false);
      options.signal?.addEventListener("abort", onAbort, { once: true });
      if (options.timeoutMs !== undefined) timer = setTimeout(() => finish(false), options.timeoutMs);
      cancel = this.onData(offset, committed, finish) ?? undefined;
    });
  }

  /**
   * Calls `resolve(true)` once data past `offset` is readable (the LSO for `committed`), or
   * `resolve(false)` when the log closes; returns the function that withdraws the wait, or null
   * (and calls nothing) when data is readable already. No timer, no signal: a consumer waiting on
   * many partitions keeps one of each for all of them.
   */
  onData(offset: number, committed: boolean, resolve: (v: boolean) => void): (() => void) | null {
    if ((committed ? this.lastStableOffset : this._logEndOffset) > offset) return null;
    if (this.closed) {
      resolve(false);
      return () => {};
    }
    const waiter: Waiter = {
      offset,
      committed,
      resolve: (v) => {
        remove();
        resolve(v);
      },
    };
    const remove = () => {
      const i = this.waiters.indexOf(waiter);
      if (i >= 0) this.waiters.splice(i, 1);
    };
    this.waiters.push(waiter);
    return remove;
  }

  private notify(): void {
    if (this.waiters.length > 0) {
      const leo = this._logEndOffset;
      const lso = this.lastStableOffset;
      for (const w of [...this.waiters]) if ((w.committed ? lso : leo) > w.offset) w.resolve(true);
    }
    for (const l of this.listeners) {
      try {
        l(this);
      } catch (e) {
        this.ctx.logger?.warn({ err: e }, "onAppend listener failed");
      }
    }
    this.ctx.onAppend(this);
  }

  // ------------------------------------------------------------ read

  private outOfRange(offset: number): LogError {
    return new LogError(
      "OFFSET_OUT_OF_RANGE",
      `${this.where}: offset ${offset} is out of range (log start ${this._logStartOffset}, log end ${this._logEndOffset})`,
    );
  }

  private corruptAt(seg: Segment, position: number, what: string): LogError {
    return new LogError(
      "KAFKA_STORAGE_ERROR",
      `${this.where}: stored data at byte ${position} of ${seg.logPath} is corrupt (${what})`,
    );
  }

  /** Index of the segment holding `offset` (the last with baseOffset <= offset). */
  private segmentIndexFor(offset: number): number {
    let lo = 0;
    let hi = this.segments.length - 1;
    let ans = 0;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (this.segments[mid]!.baseOffset <= offset) {
        ans = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return ans;
  }

  private ensureSegmentOpen(seg: Segment): void {
    if (seg.fd < 0) seg.open(this.io, false);
  }

  /**
   * Finds the batch holding the first offset >= `offset` in a segment: returns its file position, or
   * -1 if the segment has none.
   */
  private findBatchPosition(seg: Segment, offset: number): number {
    this.ensureSegmentOpen(seg);
    let filePos = seg.lookup(offset);
    const t = this.cachedOffset(seg, offset);
    if (t) {
      // every batch before the chunk ends below t.firstOffset <= offset: scan the chunk in memory
      let p = Math.max(filePos, t.start) - t.start;
      while (p < t.len) {
        const last = readInt64(t.buf, p + OFF_BASE_OFFSET) + t.buf.readInt32BE(p + OFF_LAST_OFFSET_DELTA);
        if (last >= offset) return t.start + p;
        p += LOG_OVERHEAD + t.buf.readInt32BE(p + OFF_LENGTH);
      }
      if (t.start + t.len >= seg.size) return -1;
      filePos = t.start + t.len; // the chunk is older than the segment end: go on on disk
    }
    const chunk = Buffer.allocUnsafe(SEEK_CHUNK);
    while (filePos < seg.size) {
      const got = this.io.read(
        seg.fd,
        seg.logPath,
        chunk,
        0,
        Math.min(SEEK_CHUNK, seg.size - filePos),
        filePos,
      );
      let p = 0;
      while (got - p >= RECORD_BATCH_OVERHEAD) {
        const last = readInt64(chunk, p + OFF_BASE_OFFSET) + chunk.readInt32BE(p + OFF_LAST_OFFSET_DELTA);
        if (last >= offset) return filePos + p;
        const size = LOG_OVERHEAD + chunk.readInt32BE(p + OFF_LENGTH);
        // a damaged length (not covered by the CRC) must not make a fetch skip data silently
        if (size < RECORD_BATCH_OVERHEAD || filePos + p + size > seg.size) {
          throw this.corruptAt(seg, filePos + p, `batch length ${size - LOG_OVERHEAD}`);
        }
        p += size;
      }
      if (p === 0) {
        // header straddles the chunk end: re-read from it
        if (got < RECORD_BATCH_OVERHEAD) return -1;
      }
      filePos += p;
    }
    return -1;
  }

  /**
   * Stored batch bytes from `fetchOffset`: whole batches (the first may start before fetchOffset),
   * at most `maxBytes` (but at least one batch with minOneBatch), never past the high watermark or,
   * for read_committed, the last stable offset. Reads from one segment per call, like Kafka.
   */
  read(fetchOffset: number, maxBytes: number, options: ReadOptions = {}): FetchResult {
    return this.readUpTo(fetchOffset, maxBytes, options, Number.POSITIVE_INFINITY);
  }

  /** read(), stopping after the first batch that reaches offset `enough` (at least one batch). */
  private readUpTo(fetchOffset: number, maxBytes: number, options: ReadOptions, enough: number): FetchResult {
    if (this.closed) throw new LogError("LOG_CLOSED", `${this.where} is closed`);
    const committed = options.isolation === "read_committed";
    const hw = this._logEndOffset;
    const lso = this.lastStableOffset;
    if (!Number.isSafeInteger(fetchOffset) || fetchOffset < this._logStartOffset || fetchOffset > hw) {
      throw this.outOfRange(fetchOffset);
    }
    let upper = committed ? lso : hw;
    if (options.maxOffset !== undefined && options.maxOffset < upper) upper = options.maxOffset;
    const minOne = options.minOneBatch ?? true;
    const result = (records: Buffer, endOffset: number): FetchResult => ({
      records,
      highWatermark: hw,
      lastStableOffset: lso,
      logStartOffset: this._logStartOffset,
      abortedTransactions: committed
        ? records.length > 0
          ? collectAborted(this.aborted, fetchOffset, endOffset)
          : []
        : null,
    });
    if (fetchOffset >= upper) return result(EMPTY, fetchOffset);
    for (let si = this.segmentIndexFor(fetchOffset); si < this.segments.length; si++) {
      const seg = this.segments[si]!;
      if (seg.baseOffset >= upper) break;
      const start = this.findBatchPosition(seg, fetchOffset);
      if (start < 0) continue;
      const out = this.readBatchesAt(seg, start, upper, maxBytes, minOne, enough);
      if (out.bytes.length === 0) return result(EMPTY, fetchOffset);
      return result(out.bytes, out.endOffset);
    }
    return result(EMPTY, fetchOffset);
  }

  /** Reads whole batches from `start` while below `upper` and within maxBytes; one read, a view of it. */
  private readBatchesAt(
    seg: Segment,
    start: number,
    upper: number,
    maxBytes: number,
    minOne: boolean,
    enough: number,
  ): { bytes: Buffer; endOffset: number } {
    // Batches from `upper` (or after the one reaching `enough`) on are not served: load no further
    // than the index says they start.
    const target = Math.min(upper, enough);
    let end = target < seg.nextOffset ? seg.positionBefore(target) : seg.size;
    if (end <= start) end = seg.size;
    const avail = end - start;
    let want = Math.min(avail, Math.max(maxBytes, 0));
    if (want < RECORD_BATCH_OVERHEAD) want = Math.min(avail, RECORD_BATCH_OVERHEAD);
    let buf = Buffer.allocUnsafe(want);
    // Bytes still in the tail cache were validated (CRC included) when appended and never came back
    // from the device: served from memory (a copy, as a disk read gives), not re-checked.
    const cached = this.cachedRange(seg, start, start + want);
    let got = cached
      ? cached.buf.copy(buf, 0, start - cached.start, start - cached.start + want)
      : this.io.read(seg.fd, seg.logPath, buf, 0, want, start);
    let p = 0;
    let endOffset = -1;
    while (got - p >= RECORD_BATCH_OVERHEAD) {
      const size = LOG_OVERHEAD + buf.readInt32BE(p + OFF_LENGTH);
      const base = readInt64(buf, p + OFF_BASE_OFFSET);
      if (base >= upper) break;
      if (size < RECORD_BATCH_OVERHEAD) {
        if (p > 0) break;
        throw this.corruptAt(seg, start + p, `batch length ${size - LOG_OVERHEAD}`);
      }
      if (p + size > got) {
        if (p > 0 || !minOne) break;
        // The first batch is larger than maxBytes: return it whole (KIP-74).
        const big = Buffer.allocUnsafe(size);
        got = cached
          ? cached.buf.copy(big, 0, start - cached.start, Math.min(start - cached.start + size, cached.len))
          : this.io.read(seg.fd, seg.logPath, big, 0, size, start);
        buf = big;
        if (got < size) break;
      }
      if (this.ctx.verifyOnRead && !cached) {
        try {
          validateRecordBatch(buf, p, seg.logPath);
        } catch (e) {
          if (p > 0) break;
          throw new LogError(
            "KAFKA_STORAGE_ERROR",
            `${this.where}: stored batch at offset ${base} (byte ${start + p} of ${seg.logPath}) is corrupt: ${(e as Error).message}`,
            { cause: e },
          );
        }
      }
      endOffset = base + buf.readInt32BE(p + OFF_LAST_OFFSET_DELTA) + 1;
      p += size;
      if (endOffset >= enough) break;
    }
    return { bytes: p === buf.length ? buf : buf.subarray(0, p), endOffset };
  }

  /**
   * Decoded records from `fetchOffset` for in-process consumers: only data records at or after
   * fetchOffset; for read_committed, only committed ones (the Kafka consumer's filtering, using the
   * aborted transactions the fetch reports).
   */
  readRecords(fetchOffset: number, options: ReadRecordsOptions = {}): ReadRecordsResult {
    const isolation: IsolationLevel = options.isolation ?? "read_uncommitted";
    const maxBytes = options.maxBytes ?? 1024 * 1024;
    const maxRecords = options.maxRecords ?? Number.POSITIVE_INFINITY;
    const tp = options.withTopicPartition ? this : undefined;
    const out: LogRecord[] = [];
    let next = fetchOffset;
    let bytes = 0;
    let hw = this.highWatermark;
    let lso = this.lastStableOffset;
    while (out.length < maxRecords && bytes < maxBytes) {
      // Read no batch starting past the records still wanted (a poll of 500 records need not load and
      // CRC-check a whole MiB); gaps (markers, aborted, compacted) just take another turn of the loop.
      const wanted = maxRecords - out.length;
      const r = this.readUpTo(
        next,
        maxBytes - bytes,
        { isolation, minOneBatch: out.length === 0 && bytes === 0 },
        next + wanted,
      );
      hw = r.highWatermark;
      lso = r.lastStableOffset;
      if (r.records.length === 0) break;
      bytes += r.records.length;
      const d = decodeFetchedRecords(r, next, isolation, maxRecords, out, 0, tp);
      next = d.nextOffset;
      if (d.full) break;
    }
    return {
      records: out,
      nextOffset: next,
      highWatermark: hw,
      lastStableOffset: lso,
      logStartOffset: this._logStartOffset,
    };
  }

  /** Kafka's ListOffsets for one partition. */
  listOffset(spec: ListOffsetSpec, isolation: IsolationLevel = "read_uncommitted"): ListOffsetResult {
    const committed = isolation === "read_committed";
    const end = committed ? this.lastStableOffset : this.highWatermark;
    if (spec === "earliest") return { offset: this._logStartOffset, timestamp: -1 };
    if (spec === "latest") return { offset: end, timestamp: -1 };
    if (spec === "max-timestamp") {
      let best: Segment | undefined;
      for (const seg of this.segments) if (seg.maxTimestamp > (best?.maxTimestamp ?? -1)) best = seg;
      if (!best) return { offset: -1, timestamp: -1 };
      const found = this.findByTimestamp(best, best.maxTimestamp, true);
      return found && found.offset < end ? found : { offset: -1, timestamp: -1 };
    }
    const ts = spec.timestamp;
    for (const seg of this.segments) {
      if (seg.maxTimestamp < ts || seg.nextOffset <= this._logStartOffset) continue;
      const found = this.findByTimestamp(seg, ts, false);
      if (found) return found.offset < end ? found : { offset: -1, timestamp: -1 };
    }
    return { offset: -1, timestamp: -1 };
  }

  /** First record with timestamp >= ts (== ts when exact) in a segment, at or after the log start. */
  private findByTimestamp(seg: Segment, ts: number, exact: boolean): ListOffsetResult | undefined {
    this.ensureSegmentOpen(seg);
    const fromOffset = Math.max(seg.lookupTime(ts), this._logStartOffset);
    const start = this.findBatchPosition(seg, fromOffset);
    if (start < 0) return undefined;
    let found: ListOffsetResult | undefined;
    const chunk = 256 * 1024;
    seg.scan(
      this.io,
      start,
      false,
      (buf, p) => {
        const maxTs = readInt64(buf, p + OFF_MAX_TIMESTAMP);
        // For a time lookup, markers (stamped with the coordinator's clock, not data time) are no
        // answer; Kafka's are. For max-timestamp they count, as in Kafka.
        if (maxTs < ts || (!exact && buf.readInt16BE(p + OFF_ATTRIBUTES) & ATTR_CONTROL)) return true;
        for (const r of decodeBatchRecords(buf, p, fromOffset)) {
          if (exact ? r.timestamp === ts : r.timestamp >= ts) {
            found = { offset: r.offset, timestamp: r.timestamp };
            return false;
          }
        }
        return true;
      },
      chunk,
    );
    return found;
  }

  // ------------------------------------------------------------ producer state

  producerState(producerId: number): ProducerStateView | undefined {
    const e = this.producers.get(producerId);
    return e ? this.producers.view(e) : undefined;
  }

  producerStates(): ProducerStateView[] {
    return [...this.producers.producers.values()].map((e) => this.producers.view(e));
  }

  ongoingTransactions(): { producerId: number; firstOffset: number }[] {
    return [...this.producers.ongoing.entries()]
      .map(([producerId, firstOffset]) => ({ producerId, firstOffset }))
      .sort((a, b) => a.firstOffset - b.firstOffset);
  }

  /** Aborted transactions overlapping [from, to) (what a read_committed fetch of that range reports). */
  abortedTransactions(from: number, to: number): AbortedTransaction[] {
    return collectAborted(this.aborted, from, to);
  }

  // ------------------------------------------------------------ flush, checkpoints, snapshots

  /** fsyncs everything written so far and advances the recovery point. */
  flush(): void {
    if (this.closed || this.failure) return;
    try {
      for (const seg of this.segments) {
        // a segment whose background fsync is still under way is synced again here: flush() returns
        // only once everything written is durable
        if ((seg.unflushed || seg.syncsInFlight > 0) && seg.fd >= 0) {
          this.io.fsync(seg.fd, seg.logPath);
          seg.unflushed = false;
        }
      }
    } catch (e) {
      this.failure = this.storageError("fsync", e);
      this.ctx.logger?.error({ err: this.failure }, "partition log offline");
      throw this.failure;
    }
    this.lastFlushMs = Date.now();
    this.advanceRecoveryPoint(this._logEndOffset);
  }

  /** Called periodically by the manager: flushes per the flush policy. */
  maybeFlush(nowMs: number): void {
    if (this.closed || this.failure) return;
    const mode = this.cfg.flushMode;
    if (mode === "interval") {
      if (nowMs - this.lastFlushMs >= this.cfg.flushMs && this.backgroundFlushes === 0) {
        if (this.segments.some((s) => s.unflushed)) this.flushInBackground(nowMs);
        else this.lastFlushMs = nowMs;
      }
    } else if (mode === "os") {
      // Like Kafka, rolled segments are synced in the background so recovery need not rescan them.
      const toSync = this.segments.slice(0, -1).filter((s) => s.unflushed);
      if (toSync.length > 0) {
        try {
          for (const s of toSync) {
            this.io.fsync(s.fd, s.logPath);
            s.unflushed = false;
          }
          this.advanceRecoveryPoint(this.active.baseOffset);
        } catch (e) {
          this.failure = this.storageError("fsync of rolled segments", e);
        }
      }
    }
    // A recovery point that moved without a checkpoint write (throttled, or every-batch appends)
    if (nowMs - this.lastCheckpointMs >= this.ctx.checkpointIntervalMs) this.writeCheckpoint(false);
  }

  /**
   * The interval policy's flush: fsyncs the unflushed segments on the thread pool, so the event loop
   * (appends, reads) goes on meanwhile; the recovery point advances to the log end as of the start once
   * all are done. A failure takes the log offline, as a failed synchronous fsync does.
   */
  private flushInBackground(nowMs: number): void {
    const target = this._logEndOffset;
    const segs = this.segments.filter((s) => s.unflushed && s.fd >= 0);
    this.lastFlushMs = nowMs;
    let failed: unknown = null;
    for (const seg of segs) {
      seg.unflushed = false;
      seg.syncsInFlight++;
      this.backgroundFlushes++;
      this.io.fsyncInBackground(seg.fd, seg.logPath, (err) => {
        seg.onSyncDone(this.io);
        this.backgroundFlushes--;
        if (err) {
          seg.unflushed = true;
          failed ??= err;
        }
        if (this.backgroundFlushes > 0 || this.closed) return;
        if (failed) {
          if (!this.failure) {
            this.failure = this.storageError("fsync", failed);
            this.ctx.logger?.error({ err: this.failure }, "partition log offline");
          }
          return;
        }
        if (this.failure) return;
        try {
          this.advanceRecoveryPoint(target);
        } catch (e) {
          this.ctx.logger?.error({ err: e }, `${this.where}: checkpoint write failed`);
        }
      });
    }
  }

  private advanceRecoveryPoint(offset: number): void {
    if (offset > this.recoveryPoint) this.recoveryPoint = offset;
    this.writeCheckpoint(false);
  }

  /**
   * Writes partition.json when it differs from what is stored. A moved log start is written at once
   * (and fsynced: it must survive a power loss); a recovery point that alone moved is written at most
   * every `checkpointIntervalMs` (like Kafka's recovery-point checkpoint), or when `force`d (close):
   * a stale one only means more of the log is scanned after a crash, never lost or wrong data.
   */
  private writeCheckpoint(force = true): void {
    const cp = { logStartOffset: this._logStartOffset, recoveryPoint: this.recoveryPoint };
    const startMoved = cp.logStartOffset !== this.checkpointed.logStartOffset;
    if (!startMoved && cp.recoveryPoint === this.checkpointed.recoveryPoint) return;
    if (!startMoved && !force && Date.now() - this.lastCheckpointMs < this.ctx.checkpointIntervalMs) return;
    const durable = startMoved && this.cfg.flushMode !== "os";
    try {
      this.io.writeFileAtomic(path.join(this.dir, CHECKPOINT_FILE), JSON.stringify(cp), durable);
      this.checkpointed = cp;
      this.lastCheckpointMs = Date.now();
    } catch (e) {
      throw this.storageError("write of the partition checkpoint", e);
    }
  }

  private snapshotPath(offset: number): string {
    return path.join(this.dir, segmentFileName(offset, SNAPSHOT_SUFFIX));
  }

  private writeSnapshot(offset: number, durable: boolean): void {
    this.io.writeFileAtomic(this.snapshotPath(offset), this.producers.serialize(offset), durable);
    // keep the three newest
    const snaps = this.listSnapshots();
    for (const s of snaps.slice(0, Math.max(0, snaps.length - 3))) this.io.unlink(this.snapshotPath(s));
  }

  private listSnapshots(): number[] {
    return fs
      .readdirSync(this.dir)
      .filter((f) => f.endsWith(SNAPSHOT_SUFFIX) && /^\d{20}\.snapshot$/.test(f))
      .map((f) => Number(f.slice(0, 20)))
      .sort((a, b) => a - b);
  }

  // ------------------------------------------------------------ retention, delete records

  /**
   * Moves the log start to `offset` (Kafka's DeleteRecords) and deletes segments wholly below it.
   * Returns the new log start offset.
   */
  deleteRecordsBefore(offset: number): number {
    this.ensureWritable();
    if (!Number.isSafeInteger(offset) || offset < 0 || offset > this.highWatermark) {
      throw new LogError(
        "OFFSET_OUT_OF_RANGE",
        `${this.where}: cannot delete records before offset ${offset}: it must be within [0, ${this.highWatermark}] (the high watermark)`,
      );
    }
    if (offset <= this._logStartOffset) return this._logStartOffset;
    this._logStartOffset = offset;
    this.writeCheckpoint();
    this.deleteSegmentsBelowLogStart();
    return this._logStartOffset;
  }

  private deleteSegmentsBelowLogStart(): number {
    let deleted = 0;
    while (this.segments.length > 1 && this.segments[1]!.baseOffset <= this._logStartOffset) {
      deleted += this.deleteOldestSegment();
    }
    return deleted;
  }

  /** Deletes the oldest (never the active) segment; returns its size. */
  private deleteOldestSegment(): number {
    const seg = this.segments.shift()!;
    const next = this.segments[0]!;
    if (next.baseOffset > this._logStartOffset) {
      this._logStartOffset = next.baseOffset;
      this.writeCheckpoint();
    }
    seg.deleteFiles(this.io);
    this.aborted = this.aborted.filter((a) => a.lastOffset >= next.baseOffset);
    this.segmentsVersion++;
    return seg.size;
  }

  /** Forgets idle producers (no open transaction, last batch older than `cutoff`); returns how many. */
  expireProducers(cutoff: number): number {
    return this.producers.expire(cutoff);
  }

  /** Deletes old segments per retention.ms / retention.bytes (cleanup.policy has delete). */
  applyRetention(now: number): RetentionStats {
    let segmentsDeleted = 0;
    let bytesDeleted = 0;
    if (this.closed || this.failure || this.cleaning) return { segmentsDeleted, bytesDeleted };
    const below = this.segments.length;
    bytesDeleted += this.deleteSegmentsBelowLogStart();
    segmentsDeleted += below - this.segments.length;
    if (!this.cfg.cleanupPolicy.delete) return { segmentsDeleted, bytesDeleted };
    const { retentionMs, retentionBytes } = this.cfg;
    if (retentionMs >= 0) {
      while (this.segments.length > 1 && this.segments[0]!.maxTimestamp < now - retentionMs) {
        bytesDeleted += this.deleteOldestSegment();
        segmentsDeleted++;
      }
    }
    if (retentionBytes >= 0) {
      let size = this.sizeInBytes;
      while (this.segments.length > 1 && size - this.segments[0]!.size >= retentionBytes) {
        const s = this.deleteOldestSegment();
        size -= s;
        bytesDeleted += s;
        segmentsDeleted++;
      }
    }
    return { segmentsDeleted, bytesDeleted };
  }

  // ------------------------------------------------------------ cleaner support

  /** Segments the cleaner may rewrite: not active, below the LSO, older than min.compaction.lag.ms. */
  cleanableSegments(now: number): Segment[] {
    const lso = this.lastStableOffset;
    const out: Segment[] = [];
    for (const seg of this.segments.slice(0, -1)) {
      if (seg.nextOffset > lso) break;
      // Like Kafka, the record-time check applies only with a lag (timestamps may be ahead of the clock).
      if (this.cfg.minCompactionLagMs > 0 && seg.maxTimestamp > now - this.cfg.minCompactionLagMs) break;
      out.push(seg);
    }
    return out;
  }

  /** Aborted transaction entries (for the cleaner: their data may be removed). */
  abortedEntries(): readonly AbortedTxnEntry[] {
    return this.aborted;
  }

  /** The last batch of each producer must survive compaction (it carries the producer's sequence). */
  lastBatchOffsets(): Set<number> {
    const s = new Set<number>();
    for (const e of this.producers.producers.values()) {
      const last = e.batches[e.batches.length - 1];
      if (last) s.add(last.lastOffset);
    }
    return s;
  }

  /** Current segment list (read-only view, for the cleaner and tests). */
  segmentList(): readonly Segment[] {
    return this.segments;
  }

  /**
   * Replaces `inputs` (consecutive, not active) by `outputs` (already renamed into place by the
   * cleaner). Returns false if the segment list changed meanwhile.
   */
  replaceSegments(inputs: readonly Segment[], outputs: readonly Segment[]): void {
    const first = this.segments.indexOf(inputs[0]!);
    for (const s of inputs) if (s.fd >= 0) s.close(this.io);
    this.segments.splice(first, inputs.length, ...outputs);
    this.segmentsVersion++;
  }

  // ------------------------------------------------------------ integrity

  /**
   * Checks that the stored data and the indexes agree: every batch's CRC, offsets increasing within
   * and across segments, each offset-index entry pointing at a batch with that base offset, each
   * time-index entry bounding the timestamps before it. Returns the problems found (empty: all good).
   */
  checkIntegrity(): string[] {
    const problems: string[] = [];
    let prevLast = -1;
    for (const seg of this.segments) {
      this.ensureSegmentOpen(seg);
      const positions = new Map<number, number>();
      const batches: { base: number; maxTs: number }[] = [];
      const res = seg.scan(this.io, 0, true, (buf, p, filePos) => {
        const base = readInt64(buf, p + OFF_BASE_OFFSET);
        const last = base + buf.readInt32BE(p + OFF_LAST_OFFSET_DELTA);
        if (base <= prevLast)
          problems.push(`${seg.logPath}: batch at byte ${filePos} has base offset ${base} <= ${prevLast}`);
        if (base < seg.baseOffset)
          problems.push(`${seg.logPath}: batch offset ${base} below the segment base`);
        positions.set(filePos, base);
        batches.push({ base, maxTs: readInt64(buf, p + OFF_MAX_TIMESTAMP) });
        prevLast = last;
        return true;
      });
      if (res.error) problems.push(res.error.message);
      if (res.validEnd !== seg.size)
        problems.push(`${seg.logPath}: ${seg.size - res.validEnd} bytes after the last batch`);
      if (batches.length > 0 && prevLast >= seg.nextOffset) {
        problems.push(`${seg.logPath}: holds offset ${prevLast} but claims to end at ${seg.nextOffset}`);
      }
      const oi = seg.offsetIndex;
      for (let i = 0; i < oi.count; i++) {
        const at = positions.get(oi.vals[i]!);
        if (at !== oi.keys[i]) {
          problems.push(
            `${seg.logPath}: offset index entry ${oi.keys[i]} -> byte ${oi.vals[i]} points at ${at ?? "no batch"}`,
          );
        }
      }
      const ti = seg.timeIndex;
      for (let i = 0; i < ti.count; i++) {
        const bound = seg.baseOffset + ti.vals[i]!;
        for (const bt of batches) {
          if (bt.base < bound && bt.maxTs > ti.keys[i]!) {
            problems.push(
              `${seg.logPath}: time index entry (${ti.keys[i]}, ${bound}) but batch ${bt.base} has timestamp ${bt.maxTs}`,
            );
            break;
          }
        }
      }
    }
    if (prevLast >= this._logEndOffset)
      problems.push(`offset ${prevLast} stored beyond the log end ${this._logEndOffset}`);
    return problems;
  }

  // ------------------------------------------------------------ close

  /** Flushes (unless the policy is os), writes index files and a producer snapshot, closes files. */
  close(): void {
    if (this.closed) return;
    if (!this.failure) {
      try {
        if (this.cfg.flushMode !== "os") this.flush();
        this.writeCheckpoint(true);
        const act = this.active;
        act.writeIndexFiles(this.io, this.cfg.flushMode !== "os");
        act.writeTxnIndex(this.io, this.abortedIn(act), this.cfg.flushMode !== "os");
        for (const seg of this.segments) if (seg.indexDirty) seg.writeIndexFiles(this.io, false);
        this.writeSnapshot(this._logEndOffset, this.cfg.flushMode !== "os");
      } catch (e) {
        this.ctx.logger?.error({ err: e }, `${this.where}: close could not write its files`);
      }
    }
    for (const seg of this.segments) seg.close(this.io);
    this.closed = true;
    this.dropTailCache();
    for (const w of [...this.waiters]) w.resolve(false);
  }

  /** Closes and removes every file of the partition (topic deletion). */
  deleteAll(): void {
    this.closed = true;
    this.dropTailCache();
    for (const seg of this.segments) seg.close(this.io);
    for (const w of [...this.waiters]) w.resolve(false);
    fs.rmSync(this.dir, { recursive: true, force: true });
  }

  get isClosed(): boolean {
    return this.closed;
  }

  // ------------------------------------------------------------ recovery

  private readCheckpoint(): Checkpoint & { missing?: boolean } {
    try {
      const cp = JSON.parse(fs.readFileSync(path.join(this.dir, CHECKPOINT_FILE), "utf8")) as Checkpoint;
      if (Number.isSafeInteger(cp.logStartOffset) && Number.isSafeInteger(cp.recoveryPoint)) return cp;
    } catch (e) {
      // missing or torn: recover everything
      if ((e as NodeJS.ErrnoException).code === "ENOENT")
        return { logStartOffset: 0, recoveryPoint: 0, missing: true };
    }
    return { logStartOffset: 0, recoveryPoint: 0 };
  }

  private recover(): void {
    fs.mkdirSync(this.dir, { recursive: true });
    redoSwap(this.dir, this.io);
    const files = fs.readdirSync(this.dir);
    for (const f of files) {
      if (f.endsWith(".tmp") || f.endsWith(".cleaned")) this.io.unlink(path.join(this.dir, f));
    }
    const cp = this.readCheckpoint();
    const bases = files
      .filter((f) => /^\d{20}\.log$/.test(f))
      .map((f) => Number(f.slice(0, 20)))
      .sort((a, b) => a - b);
    // index files without a segment are leftovers
    const baseSet = new Set(bases);
    for (const f of files) {
      const m = /^(\d{20})\.(index|timeindex|txnindex)$/.exec(f);
      if (m && !baseSet.has(Number(m[1]))) this.io.unlink(path.join(this.dir, f));
    }
    const now = this.ctx.clock.now();
    if (bases.length === 0) {
      const seg = new Segment(this.dir, cp.logStartOffset, now);
      seg.open(this.io, true);
      this.segments = [seg];
      this._logStartOffset = cp.logStartOffset;
      this._logEndOffset = cp.logStartOffset;
      this.recoveryPoint = cp.logStartOffset;
      // A new partition: no file reads the same as {0, 0}, so there is nothing to write (and fsync).
      if (cp.missing && cp.logStartOffset === 0) {
        this.checkpointed = { logStartOffset: 0, recoveryPoint: 0 };
        this.lastCheckpointMs = Date.now();
      }
      this.writeCheckpoint();
      this.loadProducerState(this._logEndOffset);
      return;
    }
    const segs = bases.map((b) => new Segment(this.dir, b, now));
    // First segment needing a CRC scan: the one holding the recovery point (all after it too);
    // the last segment is always scanned.
    let scanFrom = segs.length - 1;
    if (!this.ctx.cleanShutdown) {
      for (let i = 0; i < segs.length; i++) {
        if (i === segs.length - 1 || segs[i + 1]!.baseOffset > cp.recoveryPoint) {
          scanFrom = Math.min(scanFrom, i);
          break;
        }
      }
    }
    const kept: Segment[] = [];
    let firstScannedBase = Number.POSITIVE_INFINITY;
    for (let i = 0; i < segs.length; i++) {
      const seg = segs[i]!;
      seg.open(this.io, false);
      const isLast = i === segs.length - 1;
      let ok = false;
      if (i < scanFrom) {
        ok = seg.loadIndexFiles(this.io);
        if (!ok) this.ctx.logger?.warn(`${this.where}: rebuilding index of ${seg.logPath}`);
      }
      if (!ok) {
        firstScannedBase = Math.min(firstScannedBase, seg.baseOffset);
        const error = this.scanAndRebuild(seg, isLast);
        kept.push(seg);
        if (error) {
          this.ctx.onEvent?.("recovery-truncation", this);
          this.ctx.logger?.warn(
            `${this.where}: truncating ${seg.logPath} at byte ${seg.size} after ${error.message}; dropping ${segs.length - i - 1} later segment(s)`,
          );
          for (const later of segs.slice(i + 1)) later.deleteFiles(this.io);
          for (const snap of this.listSnapshots())
            if (snap > seg.nextOffset) this.io.unlink(this.snapshotPath(snap));
          if (!isLast && seg.size > 0) {
            // A possibly compacted segment must not become the active one (whose offsets are contiguous).
            const fresh = new Segment(this.dir, seg.nextOffset, now);
            fresh.open(this.io, true);
            kept.push(fresh);
          }
          break;
        }
        continue;
      }
      kept.push(seg);
    }
    // Segments wholly below the log start (retention interrupted by a crash) go now.
    this.segments = kept;
    this._logEndOffset = kept[kept.length - 1]!.nextOffset;
    for (let i = 0; i < kept.length - 1; i++) {
      if (kept[i]!.nextOffset < kept[i + 1]!.baseOffset) kept[i]!.nextOffset = kept[i + 1]!.baseOffset;
    }
    this._logStartOffset = Math.max(kept[0]!.baseOffset, Math.min(cp.logStartOffset, this._logEndOffset));
    this.recoveryPoint = Math.min(cp.recoveryPoint, this._logEndOffset);
    while (this.segments.length > 1 && this.segments[1]!.baseOffset <= this._logStartOffset) {
      this.segments.shift()!.deleteFiles(this.io);
    }
    // Aborted transactions: from the txn index files below the replay start, from the replay above
    // (which starts early enough to cover any segment whose txn index file is missing or damaged).
    const txnFiles = new Map<Segment, AbortedTxnEntry[]>();
    let limit = Math.min(firstScannedBase, this._logEndOffset);
    for (const seg of this.segments) {
      if (seg.baseOffset >= limit) break;
      const entries = seg.readTxnIndex();
      if (entries === null) {
        limit = seg.baseOffset;
        break;
      }
      txnFiles.set(seg, entries);
    }
    const replayFrom = this.loadProducerState(limit);
    const loadedAborted: AbortedTxnEntry[] = [];
    for (const seg of this.segments) {
      if (seg.baseOffset >= replayFrom) break;
      for (const e of txnFiles.get(seg) ?? []) if (e.lastOffset < replayFrom) loadedAborted.push(e);
    }
    this.aborted = [...loadedAborted, ...this.aborted].sort((a, b) => a.lastOffset - b.lastOffset);
    const act = this.active;
    if (act.size > 0) act.rollTimestamp = Math.min(now, act.readHeaderAt(this.io, 0).maxTimestamp);
    for (const seg of this.segments.slice(0, -1)) {
      const rebuilt = seg.indexDirty;
      if (rebuilt) seg.writeIndexFiles(this.io, true);
      if (rebuilt || !txnFiles.has(seg)) seg.writeTxnIndex(this.io, this.abortedIn(seg), true);
      seg.close(this.io); // reopened on demand by reads
    }
    this.writeCheckpoint();
  }

  /**
   * Scans a segment, validating each batch (CRC, structure, offsets), rebuilding its indexes, and
   * truncating it at the first torn or corrupt batch. Returns the error that caused truncation, if any.
   */
  private scanAndRebuild(seg: Segment, contiguous: boolean): LogError | undefined {
    seg.resetIndexes();
    let expected = seg.baseOffset;
    let offsetError: LogError | undefined;
    let cutAt = -1;
    const res = seg.scan(this.io, 0, true, (buf, p, filePos, size) => {
      const base = readInt64(buf, p + OFF_BASE_OFFSET);
      const last = base + buf.readInt32BE(p + OFF_LAST_OFFSET_DELTA);
      // The active segment is never compacted, so its offsets are contiguous; older ones may have gaps.
      if (contiguous ? base !== expected : base < expected) {
        offsetError = new LogError(
          "CORRUPT_MESSAGE",
          `${seg.logPath}: batch at byte ${filePos} has base offset ${base}, expected ${contiguous ? "" : ">= "}${expected}`,
        );
        cutAt = filePos;
        return false;
      }
      seg.onBatchAppended(
        base,
        last,
        readInt64(buf, p + OFF_MAX_TIMESTAMP),
        filePos,
        size,
        this.cfg.indexIntervalBytes,
      );
      expected = last + 1;
      return true;
    });
    const end = cutAt >= 0 ? cutAt : res.validEnd;
    const error = offsetError ?? res.error;
    if (end < seg.size) {
      this.io.truncate(seg.fd, seg.logPath, end);
      seg.size = end;
      this.io.fsync(seg.fd, seg.logPath);
    }
    return error;
  }

  /**
   * Loads the newest usable producer snapshot at or below `limit` and replays the batches after it,
   * rebuilding producer state and the aborted-transaction entries of the replayed range.
   * Returns the offset the replay started from.
   */
  private loadProducerState(limit: number): number {
    this.producers.clear();
    this.aborted = [];
    let from = this.segments[0]!.baseOffset;
    for (const snap of this.listSnapshots().reverse()) {
      if (snap > this._logEndOffset) {
        this.io.unlink(this.snapshotPath(snap));
        continue;
      }
      if (snap > limit) continue;
      try {
        from = this.producers.load(fs.readFileSync(this.snapshotPath(snap), "utf8"));
        break;
      } catch {
        this.producers.clear();
      }
    }
    for (let si = this.segmentIndexFor(from); si < this.segments.length; si++) {
      const seg = this.segments[si]!;
      if (seg.nextOffset <= from) continue;
      const start = this.findBatchPosition(seg, from);
      if (start < 0) continue;
      seg.scan(this.io, start, false, (buf, p) => {
        const pid = readInt64(buf, p + OFF_PRODUCER_ID);
        if (pid < 0) return true;
        const attrs = buf.readInt16BE(p + OFF_ATTRIBUTES);
        if (attrs & ATTR_CONTROL) {
          const [rec] = decodeBatchRecords(buf, p);
          const base = readInt64(buf, p + OFF_BASE_OFFSET);
          if (rec) {
            const c = parseControlRecord(rec.key, rec.value);
            this.applyMarker(
              pid,
              buf.readInt16BE(p + OFF_PRODUCER_EPOCH),
              c.coordinatorEpoch,
              c.type,
              base,
              rec.timestamp,
            );
          }
        } else {
          this.producers.onDataBatch(this.producerBatchInfo(buf, p));
        }
        return true;
      });
    }
    return from;
  }
}

/**
 * The consumer's filtering of fetched batch bytes (one read(), here or in another thread): appends to
 * `out` the data records at offsets >= fetchOffset until `out` holds maxRecords; skips control batches
 * and, for read_committed, the batches of aborted transactions (from `abortedTransactions`). Starts at
 * byte `startPosition` (a batch boundary; 0 when aborted transactions are listed, whose state starts
 * at the first batch). Returns where to fetch next, the byte position of the batch holding that offset,
 * and whether it stopped because `out` was full.
 */
export function decodeFetchedRecords(
  fetched: {
    readonly records: Uint8Array;
    readonly abortedTransactions: readonly AbortedTransaction[] | null;
  },
  fetchOffset: number,
  isolation: IsolationLevel,
  maxRecords: number,
  out: LogRecord[],
  startPosition = 0,
  topicPartition?: { readonly topic: string; readonly partition: number },
): { nextOffset: number; position: number; full: boolean } {
  const committed = isolation === "read_committed";
  const records = asBuffer(fetched.records);
  const listed = committed ? fetched.abortedTransactions : null;
  const aborted =
    listed && listed.length > 0 ? [...listed].sort((a, b) => a.firstOffset - b.firstOffset) : NO_ABORTED;
  const abortedProducers = aborted.length > 0 ? new Set<number>() : null;
  const topic = topicPartition?.topic;
  const partition = topicPartition?.partition ?? 0;
  let next = fetchOffset;
  let ai = 0;
  let p = startPosition;
  // Header fields are read in place (no header object per batch).
  while (p < records.length) {
    if (records.length - p < RECORD_BATCH_OVERHEAD)
      throw new LogError(
        "CORRUPT_MESSAGE",
        `record batch at byte ${p} is truncated: ${records.length - p} bytes, a header needs ${RECORD_BATCH_OVERHEAD}`,
      );
    const size = LOG_OVERHEAD + records.readInt32BE(p + OFF_LENGTH);
    if (size < RECORD_BATCH_OVERHEAD)
      throw new LogError(
        "CORRUPT_MESSAGE",
        `record batch at byte ${p} declares length ${size - LOG_OVERHEAD}`,
      );
    const baseOffset = readInt64(records, p + OFF_BASE_OFFSET);
    const lastOffset = baseOffset + records.readInt32BE(p + OFF_LAST_OFFSET_DELTA);
    const attrs = records.readInt16BE(p + OFF_ATTRIBUTES);
    if (abortedProducers !== null) {
      while (ai < aborted.length && aborted[ai]!.firstOffset <= lastOffset) {
        abortedProducers.add(aborted[ai]!.producerId);
        ai++;
      }
    }
    if (attrs & ATTR_CONTROL) {
      if (abortedProducers?.has(readInt64(records, p + OFF_PRODUCER_ID))) {
        const [rec] = decodeBatchRecords(records, p);
        if (rec && parseControlRecord(rec.key, rec.value).type === "abort")
          abortedProducers.delete(readInt64(records, p + OFF_PRODUCER_ID));
      }
    } else if (
      lastOffset >= next &&
      !(
        abortedProducers !== null &&
        attrs & ATTR_TRANSACTIONAL &&
        abortedProducers.has(readInt64(records, p + OFF_PRODUCER_ID))
      )
    ) {
      // one record past the wanted ones: its offset is where the next poll resumes
      const room = maxRecords - out.length;
      const added = decodeBatchRecordsInto(records, p, next, room + 1, out, topic, partition);
      if (added > room) {
        const extra = out.pop()!;
        return { nextOffset: extra.offset, position: p, full: true };
      }
    }
    next = Math.max(next, lastOffset + 1);
    p += size;
  }
  return { nextOffset: next, position: p, full: false };
}

const NO_ABORTED: readonly AbortedTransaction[] = [];

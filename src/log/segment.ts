// One segment of a partition log: an append-only file of record batches named by its base offset,
// with a sparse offset index and time index kept in memory and written beside it (Kafka's shapes:
// .index = [relativeOffset int32, position int32], .timeindex = [timestamp int64, relativeOffset int32],
// .txnindex = [producerId int64, firstOffset int64, lastOffset int64, lastStableOffset int64]).
import * as fs from "node:fs";
import * as path from "node:path";
import { LogError } from "./errors.ts";
import type { LogIo } from "./io.ts";
import type { AbortedTxnEntry } from "./producer-state.ts";
import {
  LOG_OVERHEAD,
  MAGIC_V2,
  OFF_BASE_OFFSET,
  OFF_LAST_OFFSET_DELTA,
  OFF_LENGTH,
  OFF_MAGIC,
  OFF_MAX_TIMESTAMP,
  RECORD_BATCH_OVERHEAD,
  readInt64,
  validateRecordBatch,
  writeInt64,
} from "./record-batch.ts";

export function segmentFileName(baseOffset: number, suffix: string): string {
  return `${String(baseOffset).padStart(20, "0")}${suffix}`;
}

const INDEX_ENTRY = 8;
const TIME_ENTRY = 12;
const TXN_ENTRY = 32;

class GrowableIndex {
  keys: Float64Array;
  vals: Int32Array;
  count = 0;
  constructor(cap = 64) {
    this.keys = new Float64Array(cap);
    this.vals = new Int32Array(cap);
  }
  push(k: number, v: number): void {
    if (this.count === this.keys.length) {
      const nk = new Float64Array(this.keys.length * 2);
      nk.set(this.keys);
      const nv = new Int32Array(this.vals.length * 2);
      nv.set(this.vals);
      this.keys = nk;
      this.vals = nv;
    }
    this.keys[this.count] = k;
    this.vals[this.count] = v;
    this.count++;
  }
  /** Index of the last entry with key <= k (or < k when strict), -1 if none. Keys are nondecreasing. */
  floor(k: number, strict = false): number {
    let lo = 0;
    let hi = this.count - 1;
    let ans = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const key = this.keys[mid]!;
      if (strict ? key < k : key <= k) {
        ans = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return ans;
  }
  clear(): void {
    this.count = 0;
  }
}

/** Called for each batch found by a scan; return false to stop. */
export type BatchVisitor = (
  buf: Buffer,
  pos: number,
  filePosition: number,
  size: number,
) => boolean | undefined;

export interface ScanResult {
  /** File position after the last valid batch visited. */
  readonly validEnd: number;
  /** Why the scan stopped early (a torn/corrupt batch), if it did. */
  readonly error?: LogError;
}

export class Segment {
  readonly baseOffset: number;
  readonly dir: string;
  logPath: string;
  fd = -1;
  size = 0;
  /** One past the last offset stored here (baseOffset when empty). */
  nextOffset: number;
  maxTimestamp = -1;
  offsetOfMaxTimestamp = -1;
  /** When the segment started, for segment.ms rolling. */
  rollTimestamp: number;
  /** Offset index: key = absolute batch base offset, value = file position. */
  readonly offsetIndex = new GrowableIndex();
  /** Time index: key = max timestamp of every record before `value` (relative offset). */
  readonly timeIndex = new GrowableIndex();
  bytesSinceIndexEntry = 0;
  /** In-memory indexes differ from the files beside the segment. */
  indexDirty = true;
  /** Written since the last fsync. */
  unflushed = false;
  /** Background fsyncs under way on `fd`; the fd is closed only once they are done. */
  syncsInFlight = 0;
  private fdsToClose: number[] = [];

  /** "" for a live segment; ".cleaned" for the cleaner's output before it is swapped in. */
  suffix: string;

  constructor(dir: string, baseOffset: number, rollTimestamp: number, suffix = "") {
    this.dir = dir;
    this.baseOffset = baseOffset;
    this.nextOffset = baseOffset;
    this.rollTimestamp = rollTimestamp;
    this.suffix = suffix;
    this.logPath = this.fileFor(".log");
  }

  /** Renames the cleaner's output files into place (replacing a same-named input segment). */
  promote(io: LogIo): void {
    for (const ext of [".index", ".timeindex", ".txnindex", ".log"]) {
      const from = this.fileFor(ext);
      if (fs.existsSync(from)) io.rename(from, this.fileFor(ext, ""));
      else io.unlink(this.fileFor(ext, ""));
    }
    this.suffix = "";
    this.logPath = this.fileFor(".log");
  }

  fileFor(ext: string, suffix = this.suffix): string {
    return path.join(this.dir, segmentFileName(this.baseOffset, ext) + suffix);
  }
  get indexPath(): string {
    return this.fileFor(".index");
  }
  get timeIndexPath(): string {
    return this.fileFor(".timeindex");
  }
  get txnIndexPath(): string {
    return this.fileFor(".txnindex");
  }

  open(io: LogIo, create: boolean): void {
    if (this.fd >= 0) return;
    this.fd = io.open(this.logPath, create ? "w+" : "r+");
    this.size = create ? 0 : io.size(this.fd);
  }

  close(io: LogIo): void {
    if (this.fd >= 0) {
      // a background fsync still uses the fd: close it when that is done (never reuse a closed number)
      if (this.syncsInFlight > 0) this.fdsToClose.push(this.fd);
      else io.close(this.fd);
    }
    this.fd = -1;
  }

  /** A background fsync on this segment finished: close fds whose close waited for it. */
  onSyncDone(io: LogIo): void {
    this.syncsInFlight--;
    if (this.syncsInFlight === 0 && this.fdsToClose.length > 0) {
      for (const fd of this.fdsToClose) io.close(fd);
      this.fdsToClose = [];
    }
  }

  /** Records a batch appended at `position` in the in-memory indexes. */
  onBatchAppended(
    baseOffset: number,
    lastOffset: number,
    maxTimestamp: number,
    position: number,
    size: number,
    indexIntervalBytes: number,
  ): void {
    if (position > 0 && this.bytesSinceIndexEntry >= indexIntervalBytes) {
      this.offsetIndex.push(baseOffset, position);
      if (this.maxTimestamp >= 0) this.timeIndex.push(this.maxTimestamp, baseOffset - this.baseOffset);
      this.bytesSinceIndexEntry = 0;
    }
    this.bytesSinceIndexEntry += size;
    if (maxTimestamp > this.maxTimestamp) {
      this.maxTimestamp = maxTimestamp;
      this.offsetOfMaxTimestamp = baseOffset;
    }
    this.nextOffset = lastOffset + 1;
    this.indexDirty = true;
  }

  resetIndexes(): void {
    this.offsetIndex.clear();
    this.timeIndex.clear();
    this.bytesSinceIndexEntry = 0;
    this.maxTimestamp = -1;
    this.offsetOfMaxTimestamp = -1;
    this.nextOffset = this.baseOffset;
    this.indexDirty = true;
  }

  /** File position to start looking for `offset` (a batch boundary at or before it). */
  lookup(offset: number): number {
    const i = this.offsetIndex.floor(offset);
    return i < 0 ? 0 : this.offsetIndex.vals[i]!;
  }

  /**
   * A file position at or after the end of every batch with base offset < `upper`: the position of the
   * first indexed batch at or after `upper`, or the segment size. Bounds how much a read must load.
   */
  positionBefore(upper: number): number {
    const i = this.offsetIndex.floor(upper, true) + 1;
    return i < this.offsetIndex.count ? this.offsetIndex.vals[i]! : this.size;
  }

  /** Offset from which every record has a timestamp that may be >= ts (all before it are < ts). */
  lookupTime(ts: number): number {
    const i = this.timeIndex.floor(ts, true);
    return i < 0 ? this.baseOffset : this.baseOffset + this.timeIndex.vals[i]!;
  }

  /** Number of offset index entries (for index.bytes limits). */
  get indexEntries(): number {
    return this.offsetIndex.count;
  }

  // ------------------------------------------------------------ index files

  /** Writes .index and .timeindex (with a closing time entry giving max timestamp and next offset). */
  writeIndexFiles(io: LogIo, durable: boolean): void {
    const n = this.offsetIndex.count;
    const ib = Buffer.allocUnsafe(n * INDEX_ENTRY);
    for (let i = 0; i < n; i++) {
      ib.writeInt32BE(this.offsetIndex.keys[i]! - this.baseOffset, i * INDEX_ENTRY);
      ib.writeInt32BE(this.offsetIndex.vals[i]!, i * INDEX_ENTRY + 4);
    }
    io.writeFileAtomic(this.indexPath, ib, durable);
    const t = this.timeIndex.count;
    const tb = Buffer.allocUnsafe((t + 1) * TIME_ENTRY);
    for (let i = 0; i < t; i++) {
      writeInt64(tb, this.timeIndex.keys[i]!, i * TIME_ENTRY);
      tb.writeInt32BE(this.timeIndex.vals[i]!, i * TIME_ENTRY + 8);
    }
    // Closing entry: everything before nextOffset has a timestamp <= maxTimestamp.
    writeInt64(tb, this.maxTimestamp, t * TIME_ENTRY);
    tb.writeInt32BE(this.nextOffset - this.baseOffset, t * TIME_ENTRY + 8);
    io.writeFileAtomic(this.timeIndexPath, tb, durable);
    this.indexDirty = false;
  }

  /**
   * Loads the index files and checks them against the data (monotonic, positions inside the file,
   * last entry pointing at a batch with that offset). Returns false if missing or inconsistent.
   */
  loadIndexFiles(io: LogIo): boolean {
    let ib: Buffer;
    let tb: Buffer;
    try {
      ib = fs.readFileSync(this.indexPath);
      tb = fs.readFileSync(this.timeIndexPath);
    } catch {
      return false;
    }
    if (ib.length % INDEX_ENTRY !== 0 || tb.length % TIME_ENTRY !== 0 || tb.length < TIME_ENTRY) return false;
    this.offsetIndex.clear();
    this.timeIndex.clear();
    let prevOff = this.baseOffset;
    let prevPos = 0;
    for (let i = 0; i < ib.length; i += INDEX_ENTRY) {
      const off = this.baseOffset + ib.readInt32BE(i);
      const pos = ib.readInt32BE(i + 4);
      if (off <= prevOff || pos <= prevPos || pos >= this.size) return false;
      this.offsetIndex.push(off, pos);
      prevOff = off;
      prevPos = pos;
    }
    const entries = tb.length / TIME_ENTRY;
    let prevTs = -1;
    let prevRel = 0;
    for (let i = 0; i < entries; i++) {
      const ts = readInt64(tb, i * TIME_ENTRY);
      const rel = tb.readInt32BE(i * TIME_ENTRY + 8);
      if (ts < prevTs || rel < prevRel) return false;
      if (i < entries - 1) this.timeIndex.push(ts, rel);
      prevTs = ts;
      prevRel = rel;
    }
    const closingTs = readInt64(tb, (entries - 1) * TIME_ENTRY);
    const closingRel = tb.readInt32BE((entries - 1) * TIME_ENTRY + 8);
    this.maxTimestamp = closingTs;
    this.nextOffset = this.baseOffset + closingRel;
    if (this.size === 0) return this.nextOffset === this.baseOffset;
    if (this.nextOffset <= prevOff) return false;
    // The last indexed batch must be where the index says.
    if (this.offsetIndex.count > 0) {
      const h = Buffer.allocUnsafe(RECORD_BATCH_OVERHEAD);
      const pos = this.offsetIndex.vals[this.offsetIndex.count - 1]!;
      if (io.read(this.fd, this.logPath, h, 0, RECORD_BATCH_OVERHEAD, pos) < RECORD_BATCH_OVERHEAD)
        return false;
      if (h[OFF_MAGIC] !== MAGIC_V2 || readInt64(h, OFF_BASE_OFFSET) !== prevOff) return false;
    }
    this.offsetOfMaxTimestamp = -1;
    this.bytesSinceIndexEntry = 0;
    this.indexDirty = false;
    return true;
  }

  // ------------------------------------------------------------ transaction index

  /** Written even when empty, so that a missing file means "lost" (rebuilt by recovery). */
  writeTxnIndex(io: LogIo, entries: readonly AbortedTxnEntry[], durable: boolean): void {
    const b = Buffer.allocUnsafe(entries.length * TXN_ENTRY);
    entries.forEach((e, i) => {
      writeInt64(b, e.producerId, i * TXN_ENTRY);
      writeInt64(b, e.firstOffset, i * TXN_ENTRY + 8);
      writeInt64(b, e.lastOffset, i * TXN_ENTRY + 16);
      writeInt64(b, e.lastStableOffset, i * TXN_ENTRY + 24);
    });
    io.writeFileAtomic(this.txnIndexPath, b, durable);
  }

  /** The aborted transactions recorded beside the segment; null if the file is missing or damaged. */
  readTxnIndex(): AbortedTxnEntry[] | null {
    let b: Buffer;
    try {
      b = fs.readFileSync(this.txnIndexPath);
    } catch {
      return null;
    }
    if (b.length % TXN_ENTRY !== 0) return null;
    const out: AbortedTxnEntry[] = [];
    for (let i = 0; i < b.length; i += TXN_ENTRY) {
      out.push({
        producerId: readInt64(b, i),
        firstOffset: readInt64(b, i + 8),
        lastOffset: readInt64(b, i + 16),
        lastStableOffset: readInt64(b, i + 24),
      });
    }
    return out;
  }

  deleteFiles(io: LogIo): void {
    this.close(io);
    io.unlink(this.logPath);
    io.unlink(this.indexPath);
    io.unlink(this.timeIndexPath);
    io.unlink(this.txnIndexPath);
  }

  // ------------------------------------------------------------ scanning

  /**
   * Walks the batches from file position `from` to the end (or until the visitor returns false),
   * reading in large chunks. With `validate`, each batch's CRC and structure is checked and the walk
   * stops at the first bad or torn batch (reported in `error`, `validEnd` is where it starts).
   */
  scan(
    io: LogIo,
    from: number,
    validate: boolean,
    visit: BatchVisitor,
    chunkSize = 8 * 1024 * 1024,
  ): ScanResult {
    let filePos = from;
    let buf = Buffer.allocUnsafe(Math.min(chunkSize, Math.max(this.size - from, LOG_OVERHEAD)));
    while (filePos < this.size) {
      const want = Math.min(buf.length, this.size - filePos);
      const got = io.read(this.fd, this.logPath, buf, 0, want, filePos);
      let p = 0;
      while (p < got) {
        if (got - p < LOG_OVERHEAD) break;
        const size = LOG_OVERHEAD + buf.readInt32BE(p + OFF_LENGTH);
        if (size < RECORD_BATCH_OVERHEAD || filePos + p + size > this.size) {
          return {
            validEnd: filePos + p,
            error: new LogError(
              "CORRUPT_MESSAGE",
              `${this.logPath}: batch at byte ${filePos + p} is torn (declares ${size} bytes, ${this.size - filePos - p} left in the file)`,
            ),
          };
        }
        if (p + size > got) break; // continues in the next chunk
        if (validate) {
          try {
            validateRecordBatch(buf, p, this.logPath);
          } catch (e) {
            return { validEnd: filePos + p, error: e as LogError };
          }
        }
        if (visit(buf, p, filePos + p, size) === false) return { validEnd: filePos + p + size };
        p += size;
      }
      if (p === 0) {
        // One batch larger than the chunk: grow the buffer to hold it.
        const size = got >= LOG_OVERHEAD ? LOG_OVERHEAD + buf.readInt32BE(OFF_LENGTH) : LOG_OVERHEAD;
        if (got < LOG_OVERHEAD && filePos + got >= this.size) {
          return {
            validEnd: filePos,
            error: new LogError("CORRUPT_MESSAGE", `${this.logPath}: ${got} stray bytes at byte ${filePos}`),
          };
        }
        buf = Buffer.allocUnsafe(Math.max(size, buf.length * 2));
        continue;
      }
      filePos += p;
    }
    return { validEnd: filePos };
  }

  /** Reads the header fields of the batch at `position` that recovery needs. */
  readHeaderAt(
    io: LogIo,
    position: number,
  ): { baseOffset: number; lastOffset: number; maxTimestamp: number } {
    const h = Buffer.allocUnsafe(RECORD_BATCH_OVERHEAD);
    io.read(this.fd, this.logPath, h, 0, RECORD_BATCH_OVERHEAD, position);
    const base = readInt64(h, OFF_BASE_OFFSET);
    return {
      baseOffset: base,
      lastOffset: base + h.readInt32BE(OFF_LAST_OFFSET_DELTA),
      maxTimestamp: readInt64(h, OFF_MAX_TIMESTAMP),
    };
  }
}

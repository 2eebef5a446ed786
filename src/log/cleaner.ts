// Log compaction (Kafka's log cleaner) for one partition. Keeps the last record of each key among the
// cleanable segments (not active, below the LSO, older than min.compaction.lag.ms); tombstones get a
// delete horizon (now + delete.retention.ms, stored in the batch as Kafka does) on their first pass and
// are removed on a pass after it; records of aborted transactions are removed; transaction markers are
// kept; the last batch of each producer is kept (possibly empty) so its sequence survives.
// The work is asynchronous (file reads and writes yield to the event loop, so appends go on); cleaned
// segments are written aside as *.cleaned and swapped in with a manifest that recovery can redo.
import * as fs from "node:fs";
import * as path from "node:path";
import type { Clock } from "../observe/index.ts";
import type { LogIo } from "./io.ts";
import type { PartitionLog } from "./partition-log.ts";
import type { AbortedTxnEntry } from "./producer-state.ts";
import {
  ATTR_CONTROL,
  ATTR_DELETE_HORIZON,
  ATTR_TRANSACTIONAL,
  assembleBatch,
  batchRecordData,
  decodeBatchRecords,
  encodeRecords,
  LOG_OVERHEAD,
  OFF_ATTRIBUTES,
  OFF_BASE_OFFSET,
  OFF_BASE_SEQUENCE,
  OFF_BASE_TIMESTAMP,
  OFF_LAST_OFFSET_DELTA,
  OFF_LEADER_EPOCH,
  OFF_LENGTH,
  OFF_MAX_TIMESTAMP,
  OFF_PRODUCER_EPOCH,
  OFF_PRODUCER_ID,
  readInt64,
} from "./record-batch.ts";
import { compress } from "./compression.ts";
import { compressionFromId } from "./compression.ts";
import { Segment } from "./segment.ts";
import type { CompactionStats, RecordInput } from "./types.ts";

export const SWAP_MANIFEST = "cleaner-swap.json";
const CHUNK = 4 * 1024 * 1024;
const INT32_MAX = 2147483647;

const ZERO: CompactionStats = {
  partitionsCleaned: 0,
  segmentsRewritten: 0,
  recordsRemoved: 0,
  bytesBefore: 0,
  bytesAfter: 0,
};

/** Per-partition cleaner memory (not persisted: after a restart the first pass treats everything as dirty). */
interface CleanerState {
  /** Offset up to which the log was cleaned by the last pass. */
  cleanedUpTo: number;
  /** Earliest delete horizon handed out: a pass is due then even without new dirty data. */
  nextHorizon: number;
}
const states = new WeakMap<PartitionLog, CleanerState>();

/** Reads a segment file asynchronously, batch by batch. */
async function forEachBatch(
  file: string,
  size: number,
  visit: (buf: Buffer, pos: number, size: number) => void,
  afterChunk?: () => Promise<void>,
): Promise<void> {
  const fh = await fs.promises.open(file, "r");
  try {
    let filePos = 0;
    let buf = Buffer.allocUnsafe(Math.min(CHUNK, Math.max(size, LOG_OVERHEAD)));
    while (filePos < size) {
      const want = Math.min(buf.length, size - filePos);
      const { bytesRead } = await fh.read(buf, 0, want, filePos);
      if (bytesRead <= 0) break;
      let p = 0;
      while (bytesRead - p >= LOG_OVERHEAD) {
        const s = LOG_OVERHEAD + buf.readInt32BE(p + OFF_LENGTH);
        if (p + s > bytesRead) break;
        visit(buf, p, s);
        p += s;
      }
      if (afterChunk) await afterChunk();
      if (p === 0) {
        const s = LOG_OVERHEAD + buf.readInt32BE(OFF_LENGTH);
        if (s <= buf.length) break; // torn tail: stop
        buf = Buffer.allocUnsafe(s);
        continue;
      }
      filePos += p;
    }
  } finally {
    await fh.close();
  }
}

function keyString(k: Uint8Array): string {
  return Buffer.from(k.buffer, k.byteOffset, k.byteLength).toString("latin1");
}

function isAborted(aborted: readonly AbortedTxnEntry[], producerId: number, offset: number): boolean {
  for (const a of aborted) {
    if (a.producerId === producerId && a.firstOffset <= offset && offset <= a.lastOffset) return true;
  }
  return false;
}

/** Groups consecutive segments into outputs of at most segment.bytes with an int32 offset span. */
function groupSegments(segs: readonly Segment[], maxBytes: number): Segment[][] {
  const groups: Segment[][] = [];
  let cur: Segment[] = [];
  let bytes = 0;
  for (const s of segs) {
    const span = s.nextOffset - (cur[0]?.baseOffset ?? s.baseOffset);
    if (cur.length > 0 && (bytes + s.size > maxBytes || span > INT32_MAX)) {
      groups.push(cur);
      cur = [];
      bytes = 0;
    }
    cur.push(s);
    bytes += s.size;
  }
  if (cur.length > 0) groups.push(cur);
  return groups;
}

export async function compactPartition(
  log: PartitionLog,
  io: LogIo,
  clock: Clock,
  force: boolean,
  stopped: () => boolean,
): Promise<CompactionStats> {
  if (log.cleaning || log.isClosed || log.storageFailure) return ZERO;
  const now = clock.now();
  const cfg = log.config;
  const candidates = log.cleanableSegments(now);
  if (candidates.length === 0) return ZERO;
  let st = states.get(log);
  if (!st) {
    st = { cleanedUpTo: -1, nextHorizon: Number.POSITIVE_INFINITY };
    states.set(log, st);
  }
  const total = candidates.reduce((a, s) => a + s.size, 0);
  const dirty = candidates.filter((s) => s.baseOffset >= st.cleanedUpTo).reduce((a, s) => a + s.size, 0);
  const ratioDue = total > 0 && dirty / total >= cfg.minCleanableDirtyRatio && dirty > 0;
  // max.compaction.lag.ms: dirty records older than this are cleaned whatever the ratio.
  const lagDue = candidates.some(
    (s) =>
      s.baseOffset >= st.cleanedUpTo && s.maxTimestamp >= 0 && now - s.maxTimestamp > cfg.maxCompactionLagMs,
  );
  if (!force && !ratioDue && !lagDue && now < st.nextHorizon) return ZERO;

  log.cleaning = true;
  const version = log.segmentsVersion;
  const outputs: Segment[] = [];
  let swapped = false;
  try {
    const aborted = log.abortedEntries();
    // 1. the offset map: latest offset of each key among the cleanable segments
    const latest = new Map<string, number>();
    for (const seg of candidates) {
      await forEachBatch(seg.logPath, seg.size, (buf, p) => {
        const attrs = buf.readInt16BE(p + OFF_ATTRIBUTES);
        if (attrs & ATTR_CONTROL) return;
        const pid = readInt64(buf, p + OFF_PRODUCER_ID);
        if (attrs & ATTR_TRANSACTIONAL && isAborted(aborted, pid, readInt64(buf, p + OFF_BASE_OFFSET)))
          return;
        for (const r of decodeBatchRecords(buf, p))
          if (r.key !== null) latest.set(keyString(r.key), r.offset);
      });
      if (stopped()) return ZERO;
    }
    const keepLast = log.lastBatchOffsets();
    let recordsRemoved = 0;
    let bytesAfter = 0;
    let minHorizon = Number.POSITIVE_INFINITY;
    // 2. rewrite each group of segments into one .cleaned segment
    const groups = groupSegments(candidates, cfg.segmentBytes);
    for (const group of groups) {
      const out = new Segment(log.dir, group[0]!.baseOffset, now, ".cleaned");
      outputs.push(out);
      const fh = await fs.promises.open(out.logPath, "w");
      try {
        let pending: Buffer[] = [];
        let pendingBytes = 0;
        const flushPending = async () => {
          if (pendingBytes === 0) return;
          const data = Buffer.concat(pending, pendingBytes);
          await fh.write(data, 0, data.length, out.size - pendingBytes);
          pending = [];
          pendingBytes = 0;
        };
        for (const seg of group) {
          await forEachBatch(
            seg.logPath,
            seg.size,
            (buf, p, size) => {
              const r = cleanBatch(buf, p, size, latest, aborted, keepLast, now, cfg.deleteRetentionMs);
              recordsRemoved += r.removed;
              if (r.horizon !== undefined && r.horizon < minHorizon) minHorizon = r.horizon;
              if (!r.batch) return;
              // copy: the read buffer is reused for the next chunk
              const b = r.batch === "same" ? Buffer.from(buf.subarray(p, p + size)) : r.batch;
              const base = readInt64(b, OFF_BASE_OFFSET);
              out.onBatchAppended(
                base,
                base + b.readInt32BE(OFF_LAST_OFFSET_DELTA),
                readInt64(b, OFF_MAX_TIMESTAMP),
                out.size,
                b.length,
                cfg.indexIntervalBytes,
              );
              out.size += b.length;
              pending.push(b);
              pendingBytes += b.length;
            },
            flushPending,
          );
          if (stopped()) return ZERO;
        }
        await flushPending();
        await fh.sync();
      } finally {
        await fh.close();
      }
      // Offsets of the whole group stay covered (a later pass or a fetch must not see a hole as the end).
      out.nextOffset = Math.max(out.nextOffset, group[group.length - 1]!.nextOffset);
      if (out.maxTimestamp < 0) out.maxTimestamp = Math.max(...group.map((s) => s.maxTimestamp));
      out.writeIndexFiles(io, true);
      out.writeTxnIndex(
        io,
        aborted.filter((a) => a.lastOffset >= out.baseOffset && a.lastOffset < out.nextOffset),
        true,
      );
      bytesAfter += out.size;
    }
    // 3. swap, unless the log changed under us (retention, delete-records, topic deletion)
    if (stopped() || log.isClosed || log.segmentsVersion !== version) return ZERO;
    const manifest = path.join(log.dir, SWAP_MANIFEST);
    io.writeFileAtomic(
      manifest,
      JSON.stringify({
        outputs: outputs.map((o) => o.baseOffset),
        inputs: candidates.map((s) => s.baseOffset),
      }),
    );
    for (const group of groups) for (const s of group) s.close(io);
    for (const o of outputs) o.promote(io);
    const outBases = new Set(outputs.map((o) => o.baseOffset));
    for (const s of candidates) if (!outBases.has(s.baseOffset)) s.deleteFiles(io);
    io.unlink(manifest);
    swapped = true;
    log.replaceSegments(candidates, outputs);
    st.cleanedUpTo = candidates[candidates.length - 1]!.nextOffset;
    st.nextHorizon = minHorizon;
    return {
      partitionsCleaned: 1,
      segmentsRewritten: candidates.length,
      recordsRemoved,
      bytesBefore: total,
      bytesAfter,
    };
  } catch (e) {
    // Segments deleted under us (delete-records, topic deletion): this pass is void, not an error.
    if (log.isClosed || log.segmentsVersion !== version) return ZERO;
    throw e;
  } finally {
    if (!swapped) for (const o of outputs) if (o.suffix) removeCleaned(io, o);
    log.cleaning = false;
  }
}

function removeCleaned(io: LogIo, seg: Segment): void {
  for (const ext of [".log", ".index", ".timeindex", ".txnindex"]) io.unlink(seg.fileFor(ext));
}

/** Redoes an interrupted swap (called by recovery before segments are listed). */
export function redoSwap(dir: string, io: LogIo): void {
  const manifest = path.join(dir, SWAP_MANIFEST);
  let m: { outputs: number[]; inputs: number[] };
  try {
    m = JSON.parse(fs.readFileSync(manifest, "utf8")) as { outputs: number[]; inputs: number[] };
  } catch {
    io.unlink(manifest);
    return;
  }
  for (const base of m.outputs) {
    const out = new Segment(dir, base, 0, ".cleaned");
    // .log is renamed last: if its .cleaned file is still there, that output was not (fully) promoted.
    if (fs.existsSync(out.logPath)) out.promote(io);
  }
  const outs = new Set(m.outputs);
  for (const base of m.inputs) if (!outs.has(base)) new Segment(dir, base, 0).deleteFiles(io);
  io.unlink(manifest);
}

interface CleanResult {
  /** "same": keep the stored bytes; a Buffer: the rewritten batch; null: drop the batch. */
  batch: Buffer | "same" | null;
  removed: number;
  horizon?: number;
}

function cleanBatch(
  buf: Buffer,
  p: number,
  size: number,
  latest: Map<string, number>,
  aborted: readonly AbortedTxnEntry[],
  keepLast: Set<number>,
  now: number,
  deleteRetentionMs: number,
): CleanResult {
  const attrs = buf.readInt16BE(p + OFF_ATTRIBUTES);
  if (attrs & ATTR_CONTROL) return { batch: "same", removed: 0 };
  const base = readInt64(buf, p + OFF_BASE_OFFSET);
  const lastOffsetDelta = buf.readInt32BE(p + OFF_LAST_OFFSET_DELTA);
  const pid = readInt64(buf, p + OFF_PRODUCER_ID);
  const records = decodeBatchRecords(buf, p);
  const hasHorizon = (attrs & ATTR_DELETE_HORIZON) !== 0;
  const oldHorizon = hasHorizon ? readInt64(buf, p + OFF_BASE_TIMESTAMP) : -1;
  const abortedBatch = (attrs & ATTR_TRANSACTIONAL) !== 0 && isAborted(aborted, pid, base);
  const kept: RecordInput[] = [];
  const deltas: number[] = [];
  let tombstones = 0;
  if (!abortedBatch) {
    for (const r of records) {
      const isLatest = r.key === null || latest.get(keyString(r.key)) === r.offset;
      if (!isLatest) continue;
      if (r.value === null) {
        if (hasHorizon && oldHorizon <= now) continue; // tombstone past its delete horizon
        tombstones++;
      }
      kept.push({ key: r.key, value: r.value, timestamp: r.timestamp, headers: r.headers });
      deltas.push(r.offset - base);
    }
  }
  const removed = records.length - kept.length;
  const needsHorizon = tombstones > 0 && !hasHorizon;
  if (removed === 0 && !needsHorizon) {
    return { batch: "same", removed: 0, horizon: hasHorizon && tombstones > 0 ? oldHorizon : undefined };
  }
  if (kept.length === 0 && !keepLast.has(base + lastOffsetDelta)) return { batch: null, removed };
  const horizon = tombstones > 0 ? (hasHorizon ? oldHorizon : now + deleteRetentionMs) : -1;
  // With a delete horizon, Kafka stores it as the base timestamp; record deltas are relative to it.
  const baseTimestamp =
    horizon >= 0 ? horizon : (kept[0]?.timestamp ?? readInt64(buf, p + OFF_BASE_TIMESTAMP));
  let data: Uint8Array = encodeRecords(kept, baseTimestamp, baseTimestamp, deltas);
  const codec = compressionFromId(attrs & 0x07);
  if (codec !== "none" && kept.length > 0) data = compress(codec, data);
  void batchRecordData;
  const batch = assembleBatch(
    {
      baseOffset: base,
      partitionLeaderEpoch: buf.readInt32BE(p + OFF_LEADER_EPOCH),
      attributes: (horizon >= 0 ? attrs | ATTR_DELETE_HORIZON : attrs & ~ATTR_DELETE_HORIZON) & 0xffff,
      lastOffsetDelta,
      baseTimestamp,
      maxTimestamp: readInt64(buf, p + OFF_MAX_TIMESTAMP),
      producerId: pid,
      producerEpoch: buf.readInt16BE(p + OFF_PRODUCER_EPOCH),
      baseSequence: buf.readInt32BE(p + OFF_BASE_SEQUENCE),
      recordCount: kept.length,
    },
    data,
  );
  void size;
  return { batch, removed, horizon: horizon >= 0 ? horizon : undefined };
}

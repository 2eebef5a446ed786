// Kafka v2 record batch codec (magic 2). Layout, all big-endian:
//   0 baseOffset int64 | 8 batchLength int32 | 12 partitionLeaderEpoch int32 | 16 magic int8 |
//   17 crc uint32 (CRC-32C of bytes 21..end) | 21 attributes int16 | 23 lastOffsetDelta int32 |
//   27 baseTimestamp int64 | 35 maxTimestamp int64 | 43 producerId int64 | 51 producerEpoch int16 |
//   53 baseSequence int32 | 57 recordCount int32 | 61 records (compressed as a whole if a codec is set)
// Record: length varint | attributes int8 | timestampDelta varlong | offsetDelta varint |
//   keyLength varint | key | valueLength varint | value | headerCount varint | headers
import { createRequire } from "node:module";
import { COMPRESSION_IDS, compress, compressionFromId, decompress } from "./compression.ts";
import { crc32c as crc32cJs } from "./crc32c.ts";
import { LogError } from "./errors.ts";
import type {
  CompressionType,
  ControlRecord,
  DecodedRecordBatch,
  EncodeBatchOptions,
  EncodeControlBatchOptions,
  LogRecord,
  RecordBatchHeader,
  RecordHeader,
  RecordInput,
  TimestampType,
} from "./types.ts";

export const RECORD_BATCH_OVERHEAD = 61;
/** Bytes of baseOffset + batchLength: what precedes the part counted by batchLength. */
export const LOG_OVERHEAD = 12;
export const MAGIC_V2 = 2;

export const ATTR_COMPRESSION_MASK = 0x07;
export const ATTR_TIMESTAMP_TYPE = 0x08;
export const ATTR_TRANSACTIONAL = 0x10;
export const ATTR_CONTROL = 0x20;
export const ATTR_DELETE_HORIZON = 0x40;

export const NO_PRODUCER_ID = -1;
export const NO_PRODUCER_EPOCH = -1;
export const NO_SEQUENCE = -1;

// Offsets of header fields.
export const OFF_BASE_OFFSET = 0;
export const OFF_LENGTH = 8;
export const OFF_LEADER_EPOCH = 12;
export const OFF_MAGIC = 16;
export const OFF_CRC = 17;
export const OFF_ATTRIBUTES = 21;
export const OFF_LAST_OFFSET_DELTA = 23;
export const OFF_BASE_TIMESTAMP = 27;
export const OFF_MAX_TIMESTAMP = 35;
export const OFF_PRODUCER_ID = 43;
export const OFF_PRODUCER_EPOCH = 51;
export const OFF_BASE_SEQUENCE = 53;
export const OFF_RECORD_COUNT = 57;

// ---------------------------------------------------------------- CRC-32C

type CrcFn = (data: Uint8Array, start: number, end: number) => number;

/** The native CRC-32C (SSE4.2/ARMv8 via @node-rs/crc32) is ~6x the JS one; use it when it loads. */
const nativeCrc: CrcFn | null = (() => {
  if (process.env.COURANT_CRC32C === "js") return null;
  try {
    const req = createRequire(import.meta.url);
    const mod = req("@node-rs/crc32") as { crc32c(input: Uint8Array, crc?: number): number };
    const f = mod.crc32c;
    if (f(Buffer.from("123456789")) !== 0xe3069283) return null;
    return (data, start, end) =>
      f(start === 0 && end === data.length ? data : data.subarray(start, end)) >>> 0;
  } catch {
    return null;
  }
})();

/** Below this many bytes the JS CRC beats the native call (whose fixed cost is ~250 ns). */
const NATIVE_CRC_MIN_BYTES = 256;

const crcImpl: CrcFn = nativeCrc
  ? (d, s, e) => (e - s < NATIVE_CRC_MIN_BYTES ? crc32cJs(d, s, e) : nativeCrc(d, s, e))
  : (d, s, e) => crc32cJs(d, s, e);

/** CRC-32C (Castagnoli) of data[start, end). */
export function crc32c(data: Uint8Array, start = 0, end = data.length): number {
  return crcImpl(data, start, end);
}

/** Which CRC-32C implementation is in use ("native" or "js"), for benches and diagnostics. */
export const crc32cImplementation: "native" | "js" = nativeCrc ? "native" : "js";

// ---------------------------------------------------------------- int helpers

function asBuffer(data: Uint8Array): Buffer {
  return Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

export function readInt64(buf: Buffer, pos: number): number {
  return buf.readInt32BE(pos) * 4294967296 + buf.readUInt32BE(pos + 4);
}

export function writeInt64(buf: Buffer, v: number, pos: number): void {
  const hi = Math.floor(v / 4294967296);
  buf.writeInt32BE(hi, pos);
  buf.writeUInt32BE(v - hi * 4294967296, pos + 4);
}

function zigzag(v: number): number {
  return v >= 0 ? v * 2 : -v * 2 - 1;
}

function varintSize(v: number): number {
  // zigzag bounds of 1..4-byte varints, without the division loop for the usual small values
  if (v >= -64 && v < 64) return 1;
  if (v >= -8192 && v < 8192) return 2;
  if (v >= -1048576 && v < 1048576) return 3;
  let z = zigzag(v);
  let n = 1;
  while (z >= 128) {
    z = Math.floor(z / 128);
    n++;
  }
  return n;
}

function writeVarint(buf: Uint8Array, v: number, pos: number): number {
  if (v >= -64 && v < 64) {
    buf[pos] = v >= 0 ? v << 1 : (-v << 1) - 1;
    return pos + 1;
  }
  let z = zigzag(v);
  while (z >= 128) {
    buf[pos++] = (z & 0x7f) | 0x80;
    z = Math.floor(z / 128);
  }
  buf[pos++] = z;
  return pos;
}

/** Copies src into out at p; returns the position after it. */
function copyInto(out: Uint8Array, src: Uint8Array, p: number): number {
  out.set(src, p);
  return p + src.length;
}

// Decoder state: module-level so the hot loop allocates nothing per field.
let rpos = 0;

function readVarint(buf: Uint8Array, end: number): number {
  // 1-3 byte varints (lengths, deltas, counts: nearly all of them) unrolled; zigzag in int32
  const p = rpos;
  if (p < end) {
    const b0 = buf[p]!;
    if (b0 < 128) {
      rpos = p + 1;
      return (b0 >>> 1) ^ -(b0 & 1);
    }
    if (p + 1 < end) {
      const b1 = buf[p + 1]!;
      if (b1 < 128) {
        const z = (b0 & 0x7f) | (b1 << 7);
        rpos = p + 2;
        return (z >>> 1) ^ -(z & 1);
      }
      if (p + 2 < end) {
        const b2 = buf[p + 2]!;
        if (b2 < 128) {
          const z = (b0 & 0x7f) | ((b1 & 0x7f) << 7) | (b2 << 14);
          rpos = p + 3;
          return (z >>> 1) ^ -(z & 1);
        }
      }
    }
  }
  return readVarintLong(buf, end);
}

function readVarintLong(buf: Uint8Array, end: number): number {
  let z = 0;
  let mul = 1;
  for (let i = 0; i < 10; i++) {
    if (rpos >= end) throw new LogError("CORRUPT_MESSAGE", "record varint runs past the end of the batch");
    const b = buf[rpos++]!;
    z += (b & 0x7f) * mul;
    if (b < 128) return z % 2 === 0 ? z / 2 : -(z + 1) / 2;
    mul *= 128;
  }
  throw new LogError("CORRUPT_MESSAGE", "record varint longer than 10 bytes");
}

// ---------------------------------------------------------------- header

function timestampTypeOf(attributes: number): TimestampType {
  return attributes & ATTR_TIMESTAMP_TYPE ? "LogAppendTime" : "CreateTime";
}

/** Decodes the 61-byte header at `pos` (no CRC check: see validateRecordBatch). */
export function readBatchHeader(data: Uint8Array, pos = 0): RecordBatchHeader {
  const buf = asBuffer(data);
  if (buf.length - pos < RECORD_BATCH_OVERHEAD) {
    throw new LogError(
      "CORRUPT_MESSAGE",
      `record batch at byte ${pos} is truncated: ${buf.length - pos} bytes, a header needs ${RECORD_BATCH_OVERHEAD}`,
    );
  }
  const baseOffset = readInt64(buf, pos);
  const batchLength = buf.readInt32BE(pos + OFF_LENGTH);
  const attributes = buf.readInt16BE(pos + OFF_ATTRIBUTES);
  const lastOffsetDelta = buf.readInt32BE(pos + OFF_LAST_OFFSET_DELTA);
  return {
    baseOffset,
    batchLength,
    partitionLeaderEpoch: buf.readInt32BE(pos + OFF_LEADER_EPOCH),
    magic: buf.readInt8(pos + OFF_MAGIC),
    crc: buf.readUInt32BE(pos + OFF_CRC),
    attributes,
    compression: compressionFromId(attributes & ATTR_COMPRESSION_MASK),
    timestampType: timestampTypeOf(attributes),
    isTransactional: (attributes & ATTR_TRANSACTIONAL) !== 0,
    isControl: (attributes & ATTR_CONTROL) !== 0,
    hasDeleteHorizon: (attributes & ATTR_DELETE_HORIZON) !== 0,
    lastOffsetDelta,
    baseTimestamp: readInt64(buf, pos + OFF_BASE_TIMESTAMP),
    maxTimestamp: readInt64(buf, pos + OFF_MAX_TIMESTAMP),
    producerId: readInt64(buf, pos + OFF_PRODUCER_ID),
    producerEpoch: buf.readInt16BE(pos + OFF_PRODUCER_EPOCH),
    baseSequence: buf.readInt32BE(pos + OFF_BASE_SEQUENCE),
    recordCount: buf.readInt32BE(pos + OFF_RECORD_COUNT),
    lastOffset: baseOffset + lastOffsetDelta,
    sizeInBytes: LOG_OVERHEAD + batchLength,
  };
}

/**
 * Checks the batch at `pos`: complete, magic 2, sane lengths, CRC-32C. Returns its size in bytes.
 * Throws CORRUPT_MESSAGE naming the byte position and the reason.
 */
export function validateRecordBatch(data: Uint8Array, pos = 0, where = "", checkCrc = true): number {
  const buf = asBuffer(data);
  const avail = buf.length - pos;
  const at = where ? `${where}: ` : "";
  if (avail < RECORD_BATCH_OVERHEAD) {
    throw new LogError(
      "CORRUPT_MESSAGE",
      `${at}record batch at byte ${pos} is truncated: ${avail} bytes, a header needs ${RECORD_BATCH_OVERHEAD}`,
    );
  }
  const magic = buf[pos + OFF_MAGIC]!;
  if (magic !== MAGIC_V2) {
    throw new LogError(
      "CORRUPT_MESSAGE",
      `${at}record batch at byte ${pos} has magic ${magic}; only v2 (magic 2) batches are supported`,
    );
  }
  const batchLength = buf.readInt32BE(pos + OFF_LENGTH);
  const size = LOG_OVERHEAD + batchLength;
  if (size < RECORD_BATCH_OVERHEAD) {
    throw new LogError(
      "CORRUPT_MESSAGE",
      `${at}record batch at byte ${pos} declares length ${batchLength}, below the ${RECORD_BATCH_OVERHEAD - LOG_OVERHEAD}-byte minimum`,
    );
  }
  if (size > avail) {
    throw new LogError(
      "CORRUPT_MESSAGE",
      `${at}record batch at byte ${pos} is truncated: declares ${size} bytes, ${avail} present`,
    );
  }
  const stored = checkCrc ? buf.readUInt32BE(pos + OFF_CRC) : 0;
  const actual = checkCrc ? crc32c(buf, pos + OFF_ATTRIBUTES, pos + size) : 0;
  if (stored !== actual) {
    throw new LogError(
      "CORRUPT_MESSAGE",
      `${at}record batch at byte ${pos} fails its CRC-32C check (stored ${stored.toString(16)}, computed ${actual.toString(16)})`,
    );
  }
  const count = buf.readInt32BE(pos + OFF_RECORD_COUNT);
  const lastOffsetDelta = buf.readInt32BE(pos + OFF_LAST_OFFSET_DELTA);
  if (count < 0 || lastOffsetDelta < 0 || lastOffsetDelta < count - 1) {
    throw new LogError(
      "CORRUPT_MESSAGE",
      `${at}record batch at byte ${pos} has ${count} records but lastOffsetDelta ${lastOffsetDelta}`,
    );
  }
  return size;
}

/** Recomputes and stores the CRC of the batch at `pos` (after rewriting fields it covers). */
export function updateBatchCrc(buf: Buffer, pos = 0): void {
  const size = LOG_OVERHEAD + buf.readInt32BE(pos + OFF_LENGTH);
  buf.writeUInt32BE(crc32c(buf, pos + OFF_ATTRIBUTES, pos + size), pos + OFF_CRC);
}

// ---------------------------------------------------------------- encode

interface EncodeFields {
  baseOffset: number;
  partitionLeaderEpoch: number;
  attributes: number;
  lastOffsetDelta: number;
  baseTimestamp: number;
  maxTimestamp: number;
  producerId: number;
  producerEpoch: number;
  baseSequence: number;
  recordCount: number;
}

// Header keys are a few constant strings ("courant.source", ...): the last two seen are remembered.
let lastKeyA = "";
let lastLenA = 0;
let lastKeyB = "";
let lastLenB = 0;

/** UTF-8 length of a header key; short ASCII keys (the usual case) without a call into C++. */
function keyByteLength(s: string): number {
  if (s === lastKeyA) return lastLenA;
  if (s === lastKeyB) return lastLenB;
  const n = computeKeyByteLength(s);
  lastKeyB = lastKeyA;
  lastLenB = lastLenA;
  lastKeyA = s;
  lastLenA = n;
  return n;
}

function computeKeyByteLength(s: string): number {
  if (s.length <= 64) {
    let i = 0;
    while (i < s.length && s.charCodeAt(i) < 0x80) i++;
    if (i === s.length) return i;
  }
  return Buffer.byteLength(s);
}

/** Writes a header key of `byteLength` UTF-8 bytes at `p` (ASCII byte by byte: same bytes). */
function writeKey(out: Buffer, s: string, p: number, byteLength: number): void {
  if (byteLength === s.length) for (let i = 0; i < byteLength; i++) out[p + i] = s.charCodeAt(i);
  else out.write(s, p, "utf8");
}

function headerSize(h: RecordHeader): number {
  const k = keyByteLength(h.key);
  const v = h.value === null ? -1 : h.value.length;
  return varintSize(k) + k + varintSize(v) + Math.max(v, 0);
}

// What measureRecords saw besides sizes (module-level: no result object per batch).
let measuredMaxTimestamp = 0;
let measuredAllKeyed = true;

/**
 * Encoded size of each record body (into `sizes`); returns the total with the length prefixes. Also
 * notes the records' largest timestamp and whether all have keys (measuredMaxTimestamp/AllKeyed), so
 * the encoder walks the records once before writing them.
 */
function measureRecords(
  records: readonly RecordInput[],
  baseTimestamp: number,
  defaultTimestamp: number,
  offsetDeltas: readonly number[] | undefined,
  sizes: Int32Array,
): number {
  const n = records.length;
  let total = 0;
  let maxTimestamp = Number.NEGATIVE_INFINITY;
  let allKeyed = true;
  for (let i = 0; i < n; i++) {
    const r = records[i]!;
    const ts = r.timestamp ?? defaultTimestamp;
    if (ts > maxTimestamp) maxTimestamp = ts;
    const key = r.key ?? null;
    const value = r.value;
    let s = 1 + varintSize(ts - baseTimestamp) + varintSize(offsetDeltas ? offsetDeltas[i]! : i);
    if (key === null) {
      s += 1;
      allKeyed = false;
    } else s += varintSize(key.length) + key.length;
    s += value === null ? 1 : varintSize(value.length) + value.length;
    const hs = r.headers;
    if (hs && hs.length > 0) {
      s += varintSize(hs.length);
      for (let h = 0; h < hs.length; h++) s += headerSize(hs[h]!);
    } else s += 1;
    sizes[i] = s;
    total += varintSize(s) + s;
  }
  measuredMaxTimestamp = maxTimestamp;
  measuredAllKeyed = allKeyed;
  return total;
}

/** Writes the measured record bodies into `out` from `p`; returns the end position. */
function writeRecords(
  out: Uint8Array,
  p: number,
  records: readonly RecordInput[],
  baseTimestamp: number,
  defaultTimestamp: number,
  offsetDeltas: readonly number[] | undefined,
  sizes: Int32Array,
): number {
  const n = records.length;
  for (let i = 0; i < n; i++) {
    const r = records[i]!;
    const ts = r.timestamp ?? defaultTimestamp;
    p = writeVarint(out, sizes[i]!, p);
    out[p++] = 0;
    p = writeVarint(out, ts - baseTimestamp, p);
    p = writeVarint(out, offsetDeltas ? offsetDeltas[i]! : i, p);
    const key = r.key ?? null;
    if (key === null)
      out[p++] = 1; // varint -1
    else p = copyInto(out, key, writeVarint(out, key.length, p));
    const value = r.value;
    if (value === null) out[p++] = 1;
    else p = copyInto(out, value, writeVarint(out, value.length, p));
    const hs = r.headers;
    if (hs && hs.length > 0) {
      p = writeVarint(out, hs.length, p);
      for (let hi = 0; hi < hs.length; hi++) {
        const h = hs[hi]!;
        const kl = keyByteLength(h.key);
        p = writeVarint(out, kl, p);
        writeKey(out as Buffer, h.key, p, kl);
        p += kl;
        if (h.value === null) out[p++] = 1;
        else p = copyInto(out, h.value, writeVarint(out, h.value.length, p));
      }
    } else out[p++] = 0;
  }
  return p;
}

let sizeScratch = new Int32Array(1024);
function scratchFor(n: number): Int32Array {
  if (sizeScratch.length < n) sizeScratch = new Int32Array(Math.max(n, sizeScratch.length * 2));
  return sizeScratch;
}

/**
 * Encodes record bodies (the part after recordCount, uncompressed), with timestamps relative to
 * `baseTimestamp` and offset deltas from `offsetDeltas` (default 0..n-1).
 */
export function encodeRecords(
  records: readonly RecordInput[],
  baseTimestamp: number,
  defaultTimestamp: number,
  offsetDeltas?: readonly number[],
): Buffer {
  const sizes = scratchFor(records.length);
  const total = measureRecords(records, baseTimestamp, defaultTimestamp, offsetDeltas, sizes);
  const out = Buffer.allocUnsafe(total);
  writeRecords(out, 0, records, baseTimestamp, defaultTimestamp, offsetDeltas, sizes);
  return out;
}

/** Writes the batch header fields (all but the CRC) into buf[0, RECORD_BATCH_OVERHEAD). */
function writeBatchHeader(buf: Buffer, f: EncodeFields, size: number): void {
  writeInt64(buf, f.baseOffset, OFF_BASE_OFFSET);
  buf.writeInt32BE(size - LOG_OVERHEAD, OFF_LENGTH);
  buf.writeInt32BE(f.partitionLeaderEpoch, OFF_LEADER_EPOCH);
  buf.writeInt8(MAGIC_V2, OFF_MAGIC);
  buf.writeInt16BE(f.attributes, OFF_ATTRIBUTES);
  buf.writeInt32BE(f.lastOffsetDelta, OFF_LAST_OFFSET_DELTA);
  writeInt64(buf, f.baseTimestamp, OFF_BASE_TIMESTAMP);
  writeInt64(buf, f.maxTimestamp, OFF_MAX_TIMESTAMP);
  writeInt64(buf, f.producerId, OFF_PRODUCER_ID);
  buf.writeInt16BE(f.producerEpoch, OFF_PRODUCER_EPOCH);
  buf.writeInt32BE(f.baseSequence, OFF_BASE_SEQUENCE);
  buf.writeInt32BE(f.recordCount, OFF_RECORD_COUNT);
}

/** Assembles a batch from its header fields and (already compressed, if so) record data. */
export function assembleBatch(f: EncodeFields, recordData: Uint8Array): Buffer {
  const size = RECORD_BATCH_OVERHEAD + recordData.length;
  const buf = Buffer.allocUnsafe(size);
  writeBatchHeader(buf, f, size);
  buf.set(recordData, RECORD_BATCH_OVERHEAD);
  updateBatchCrc(buf, 0);
  return buf;
}

/**
 * Batches returned by encodeRecordBatch in this process, with whether every record has a key: an
 * append that says `encodedInProcess` skips re-checking only these exact buffers.
 */
const encodedBatches = new WeakMap<Uint8Array, boolean>();

/** For a buffer encodeRecordBatch returned: whether all its records have keys; else undefined. */
export function encodedInProcess(data: Uint8Array): boolean | undefined {
  return encodedBatches.get(data);
}

/**
 * Marks `data` as encodeRecordBatch output (with whether all its records have keys) that another
 * thread of this process encoded and handed over unchanged (a cluster link moves the encoded batch
 * to the broker's thread): an append with `encodedInProcess` then skips re-checking its CRC and
 * framing, as for this thread's own batches. Only for transports between threads of this process.
 */
export function vouchEncoded(data: Uint8Array, allKeyed: boolean): void {
  encodedBatches.set(data, allKeyed);
}

/** Encodes records into one v2 record batch (what a producer sends and the log stores). */
export function encodeRecordBatch(records: readonly RecordInput[], options: EncodeBatchOptions = {}): Buffer {
  if (records.length === 0) {
    throw new LogError("INVALID_RECORD", "a record batch needs at least one record");
  }
  const compression: CompressionType = options.compression ?? "none";
  const now = options.timestamp ?? Date.now();
  // Kafka uses the first record's timestamp as base; any base works since deltas are signed.
  const baseTimestamp = records[0]!.timestamp ?? now;
  let attributes = COMPRESSION_IDS[compression];
  if (options.timestampType === "LogAppendTime") attributes |= ATTR_TIMESTAMP_TYPE;
  if (options.transactional) attributes |= ATTR_TRANSACTIONAL;
  const sizes = scratchFor(records.length);
  const bodySize = measureRecords(records, baseTimestamp, now, undefined, sizes);
  const allKeyed = measuredAllKeyed;
  const fields: EncodeFields = {
    baseOffset: options.baseOffset ?? 0,
    partitionLeaderEpoch: options.partitionLeaderEpoch ?? -1,
    attributes,
    lastOffsetDelta: records.length - 1,
    baseTimestamp,
    maxTimestamp: measuredMaxTimestamp,
    producerId: options.producerId ?? NO_PRODUCER_ID,
    producerEpoch: options.producerEpoch ?? NO_PRODUCER_EPOCH,
    baseSequence: options.baseSequence ?? NO_SEQUENCE,
    recordCount: records.length,
  };
  if (compression !== "none") {
    const body = Buffer.allocUnsafe(bodySize);
    writeRecords(body, 0, records, baseTimestamp, now, undefined, sizes);
    const batch = assembleBatch(fields, compress(compression, body));
    encodedBatches.set(batch, allKeyed);
    return batch;
  }
  // Uncompressed: records are written straight into the batch (no intermediate buffer and copy).
  const size = RECORD_BATCH_OVERHEAD + bodySize;
  const buf = Buffer.allocUnsafe(size);
  writeBatchHeader(buf, fields, size);
  writeRecords(buf, RECORD_BATCH_OVERHEAD, records, baseTimestamp, now, undefined, sizes);
  updateBatchCrc(buf, 0);
  encodedBatches.set(buf, allKeyed);
  return buf;
}

export const CONTROL_TYPE_ABORT = 0;
export const CONTROL_TYPE_COMMIT = 1;

/** Encodes a transaction marker: a control batch holding one COMMIT or ABORT control record. */
export function encodeControlBatch(o: EncodeControlBatchOptions): Buffer {
  const key = Buffer.alloc(4);
  key.writeInt16BE(0, 0);
  key.writeInt16BE(o.type === "commit" ? CONTROL_TYPE_COMMIT : CONTROL_TYPE_ABORT, 2);
  const value = Buffer.alloc(6);
  value.writeInt16BE(0, 0);
  value.writeInt32BE(o.coordinatorEpoch, 2);
  const data = encodeRecords([{ key, value, timestamp: o.timestamp }], o.timestamp, o.timestamp);
  return assembleBatch(
    {
      baseOffset: o.baseOffset ?? 0,
      partitionLeaderEpoch: o.partitionLeaderEpoch ?? -1,
      attributes: ATTR_TRANSACTIONAL | ATTR_CONTROL,
      lastOffsetDelta: 0,
      baseTimestamp: o.timestamp,
      maxTimestamp: o.timestamp,
      producerId: o.producerId,
      producerEpoch: o.producerEpoch,
      baseSequence: NO_SEQUENCE,
      recordCount: 1,
    },
    data,
  );
}

/** Decodes a control record's key/value (unknown types are reported as "unknown", to be ignored). */
export function parseControlRecord(key: Uint8Array | null, value: Uint8Array | null): ControlRecord {
  if (key === null || key.length < 4) {
    throw new LogError("CORRUPT_MESSAGE", `control record key has ${key?.length ?? "null"} bytes, needs 4`);
  }
  const k = asBuffer(key);
  const typeId = k.readInt16BE(2);
  const type =
    typeId === CONTROL_TYPE_ABORT ? "abort" : typeId === CONTROL_TYPE_COMMIT ? "commit" : "unknown";
  let coordinatorEpoch = -1;
  if (type !== "unknown" && value !== null && value.length >= 6)
    coordinatorEpoch = asBuffer(value).readInt32BE(2);
  return { type, typeId, coordinatorEpoch };
}

// ---------------------------------------------------------------- decode

/** The uncompressed record data of the batch at `pos` (a view when not compressed). */
export function batchRecordData(data: Uint8Array, pos = 0): Buffer {
  const buf = asBuffer(data);
  const size = LOG_OVERHEAD + buf.readInt32BE(pos + OFF_LENGTH);
  const attributes = buf.readInt16BE(pos + OFF_ATTRIBUTES);
  const raw = buf.subarray(pos + RECORD_BATCH_OVERHEAD, pos + size);
  const codec = compressionFromId(attributes & ATTR_COMPRESSION_MASK);
  return codec === "none" ? raw : decompress(codec, raw);
}

/** Recently decoded header keys: the same few names recur on every record. */
const headerKeys: { bytes: Uint8Array; key: string }[] = [];
const HEADER_KEYS_KEPT = 16;

/** UTF-8 header key at body[start, start+len): a recent key with the same bytes, or decoded (and kept). */
function headerKey(body: Buffer, start: number, len: number): string {
  for (let c = 0; c < headerKeys.length; c++) {
    const k = headerKeys[c]!;
    const b = k.bytes;
    if (b.length !== len) continue;
    let i = 0;
    while (i < len && b[i] === body[start + i]) i++;
    if (i === len) return k.key;
  }
  const key = body.toString("utf8", start, start + len);
  if (len <= 64) {
    if (headerKeys.length >= HEADER_KEYS_KEPT) headerKeys.shift();
    headerKeys.push({ bytes: Uint8Array.prototype.slice.call(body, start, start + len), key });
  }
  return key;
}

/**
 * Decodes the records of the batch at `pos`, skipping those below `minOffset`, at most `limit` of them.
 * Timestamps follow Kafka's rule: LogAppendTime batches give every record the batch's maxTimestamp.
 * Skipped records are checked as thoroughly as returned ones, only not built.
 */
export function decodeBatchRecords(
  data: Uint8Array,
  pos = 0,
  minOffset = 0,
  limit = Number.POSITIVE_INFINITY,
): LogRecord[] {
  const out: LogRecord[] = [];
  decodeBatchRecordsInto(data, pos, minOffset, limit, out, undefined, 0);
  return out;
}

/** A decoded record that also names its topic and partition (a consumer's record). */
export interface TopicLogRecord extends LogRecord {
  readonly topic: string;
  readonly partition: number;
}

/**
 * decodeBatchRecords appending to `out` (at most `limit` records more). With a `topic`, the records
 * are built with `topic` and `partition` as well (the consumer's record shape, so a consumer need not
 * copy each one). Returns how many it appended.
 */
export function decodeBatchRecordsInto(
  data: Uint8Array,
  pos: number,
  minOffset: number,
  limit: number,
  out: LogRecord[],
  topic: string | undefined,
  partition: number,
): number {
  const buf = asBuffer(data);
  const baseOffset = readInt64(buf, pos + OFF_BASE_OFFSET);
  const attributes = buf.readInt16BE(pos + OFF_ATTRIBUTES);
  const count = buf.readInt32BE(pos + OFF_RECORD_COUNT);
  const baseTimestamp = readInt64(buf, pos + OFF_BASE_TIMESTAMP);
  const logAppend = (attributes & ATTR_TIMESTAMP_TYPE) !== 0;
  const timestampType: TimestampType = logAppend ? "LogAppendTime" : "CreateTime";
  const maxTimestamp = logAppend ? readInt64(buf, pos + OFF_MAX_TIMESTAMP) : 0;
  if (count <= 0 || limit <= 0) return 0;
  const body = batchRecordData(buf, pos);
  const end = body.length;
  let appended = 0;
  rpos = 0;
  for (let i = 0; i < count; i++) {
    const len = readVarint(body, end);
    const recEnd = rpos + len;
    if (len < 0 || recEnd > end) {
      throw new LogError(
        "CORRUPT_MESSAGE",
        `record ${i} of batch at offset ${baseOffset} declares ${len} bytes, beyond the batch`,
      );
    }
    rpos++; // attributes
    const tsDelta = readVarint(body, recEnd);
    const offset = baseOffset + readVarint(body, recEnd);
    const wanted = offset >= minOffset;
    const kl = readVarint(body, recEnd);
    let key: Buffer | null = null;
    if (kl >= 0) {
      if (rpos + kl > recEnd) throw corruptField("key", i, baseOffset);
      if (wanted) key = body.subarray(rpos, rpos + kl);
      rpos += kl;
    }
    const vl = readVarint(body, recEnd);
    let value: Buffer | null = null;
    if (vl >= 0) {
      if (rpos + vl > recEnd) throw corruptField("value", i, baseOffset);
      if (wanted) value = body.subarray(rpos, rpos + vl);
      rpos += vl;
    }
    const hc = readVarint(body, recEnd);
    let headers: RecordHeader[] = EMPTY_HEADERS;
    if (hc > 0) {
      if (wanted) headers = new Array<RecordHeader>(hc);
      for (let h = 0; h < hc; h++) {
        const hkl = readVarint(body, recEnd);
        if (hkl < 0 || rpos + hkl > recEnd) throw corruptField("header key", i, baseOffset);
        const hk = wanted ? headerKey(body, rpos, hkl) : "";
        rpos += hkl;
        const hvl = readVarint(body, recEnd);
        let hv: Buffer | null = null;
        if (hvl >= 0) {
          if (rpos + hvl > recEnd) throw corruptField("header value", i, baseOffset);
          if (wanted) hv = body.subarray(rpos, rpos + hvl);
          rpos += hvl;
        }
        if (wanted) headers[h] = { key: hk, value: hv };
      }
    }
    rpos = recEnd;
    if (wanted) {
      const timestamp = logAppend ? maxTimestamp : baseTimestamp + tsDelta;
      // Two literal shapes, each always built whole, so every reader of one kind sees one shape.
      if (topic === undefined) out.push({ offset, timestamp, timestampType, key, value, headers });
      else {
        const rec: TopicLogRecord = {
          topic,
          partition,
          offset,
          timestamp,
          timestampType,
          key,
          value,
          headers,
        };
        out.push(rec);
      }
      if (++appended >= limit) break;
    }
  }
  return appended;
}

/**
 * Walks the records of the batch at `pos` without building them: each record's framing and fields
 * must fit, offset deltas must run 0..n-1 (what producers write), and with `requireKeys` every record
 * needs a key (compacted topics). Throws INVALID_RECORD / CORRUPT_MESSAGE naming the record.
 */
export function checkBatchRecords(data: Uint8Array, pos: number, requireKeys: boolean, where = ""): void {
  const buf = asBuffer(data);
  const count = buf.readInt32BE(pos + OFF_RECORD_COUNT);
  const lastOffsetDelta = buf.readInt32BE(pos + OFF_LAST_OFFSET_DELTA);
  const at = where ? `${where}: ` : "";
  if (lastOffsetDelta !== count - 1) {
    throw new LogError(
      "INVALID_RECORD",
      `${at}batch has ${count} records but lastOffsetDelta ${lastOffsetDelta} (producers write ${count - 1})`,
    );
  }
  const body = batchRecordData(buf, pos);
  const end = body.length;
  rpos = 0;
  for (let i = 0; i < count; i++) {
    const len = readVarint(body, end);
    const recEnd = rpos + len;
    if (len < 6 || recEnd > end) {
      throw new LogError("CORRUPT_MESSAGE", `${at}record ${i} declares ${len} bytes, beyond the batch`);
    }
    rpos++; // attributes
    readVarint(body, recEnd); // timestamp delta
    const delta = readVarint(body, recEnd);
    if (delta !== i)
      throw new LogError("INVALID_RECORD", `${at}record ${i} has offset delta ${delta}, expected ${i}`);
    const kl = readVarint(body, recEnd);
    if (kl < 0 && requireKeys) {
      throw new LogError(
        "INVALID_RECORD",
        `${at}compacted topic requires a key on every record (record ${i} has none)`,
      );
    }
    if (kl > 0) rpos += kl;
    const vl = readVarint(body, recEnd);
    if (vl > 0) rpos += vl;
    if (rpos > recEnd) throw corruptField("key/value", i, 0);
    const hc = readVarint(body, recEnd);
    for (let h = 0; h < hc; h++) {
      const hkl = readVarint(body, recEnd);
      if (hkl < 0) throw corruptField("header key", i, 0);
      rpos += hkl;
      const hvl = readVarint(body, recEnd);
      if (hvl > 0) rpos += hvl;
      if (rpos > recEnd) throw corruptField("header", i, 0);
    }
    if (rpos !== recEnd) {
      throw new LogError(
        "CORRUPT_MESSAGE",
        `${at}record ${i}: fields take ${rpos - (recEnd - len)} of its ${len} bytes`,
      );
    }
  }
  if (rpos !== end) throw new LogError("CORRUPT_MESSAGE", `${at}${end - rpos} bytes after the last record`);
}

const EMPTY_HEADERS: RecordHeader[] = [];
Object.freeze(EMPTY_HEADERS);

function corruptField(field: string, i: number, baseOffset: number): LogError {
  return new LogError(
    "CORRUPT_MESSAGE",
    `record ${i} of batch at offset ${baseOffset}: ${field} runs past the record`,
  );
}

/** One batch located in a buffer of concatenated batches. */
export interface BatchLocation {
  readonly header: RecordBatchHeader;
  /** Byte position of the batch in the buffer. */
  readonly position: number;
}

/**
 * Iterates the complete batches of a buffer of concatenated batches (a fetch response's records),
 * stopping quietly at a partial trailing batch as Kafka clients do. With `verify`, checks each CRC.
 */
export function* iterateBatches(data: Uint8Array, verify = false): Generator<BatchLocation> {
  const buf = asBuffer(data);
  let pos = 0;
  while (buf.length - pos >= LOG_OVERHEAD) {
    const size = LOG_OVERHEAD + buf.readInt32BE(pos + OFF_LENGTH);
    if (size > buf.length - pos || buf.length - pos < RECORD_BATCH_OVERHEAD) return;
    if (verify) validateRecordBatch(buf, pos);
    yield { header: readBatchHeader(buf, pos), position: pos };
    pos += size;
  }
}

/** Decodes every complete batch of a buffer of concatenated batches. */
export function decodeRecordBatches(data: Uint8Array, verify = true): DecodedRecordBatch[] {
  const out: DecodedRecordBatch[] = [];
  for (const { header, position } of iterateBatches(data, verify)) {
    out.push({ header, records: decodeBatchRecords(data, position) });
  }
  return out;
}

/** Decodes a buffer holding exactly one batch (validating it). */
export function decodeRecordBatch(data: Uint8Array): DecodedRecordBatch {
  validateRecordBatch(data, 0);
  return { header: readBatchHeader(data, 0), records: decodeBatchRecords(data, 0) };
}

// Composite key layouts shared by the in-memory and lmdb window/session stores, so both order
// and filter entries identically.
//
// window entry key:  [record key][windowStart: 8 bytes][seq: 4 bytes, only with retainDuplicates]
// session entry key: [record key][sessionEnd: 8 bytes][sessionStart: 8 bytes]
//
// Timestamps are 8-byte big-endian with the sign bit flipped, so byte order = numeric order.
// The suffix has a fixed length, so an entry belongs to `key` exactly when it starts with
// `key` and its length is key.length + suffix length (longer keys that share the prefix are
// filtered out of prefix scans).
import { readTimestamp, writeTimestamp } from "./bytes.ts";
import type { Bytes } from "./types.ts";

export const TS_LEN = 8;
export const SEQ_LEN = 4;
export const MAX_SEQ = 0xffffffff;

export function windowEntryKey(key: Bytes, windowStart: number, seq: number | undefined): Uint8Array {
  const out = new Uint8Array(key.byteLength + TS_LEN + (seq === undefined ? 0 : SEQ_LEN));
  out.set(key, 0);
  writeTimestamp(out, key.byteLength, windowStart);
  if (seq !== undefined) {
    const o = key.byteLength + TS_LEN;
    out[o] = seq >>> 24;
    out[o + 1] = (seq >>> 16) & 0xff;
    out[o + 2] = (seq >>> 8) & 0xff;
    out[o + 3] = seq & 0xff;
  }
  return out;
}

export function windowSuffixLen(retainDuplicates: boolean): number {
  return TS_LEN + (retainDuplicates ? SEQ_LEN : 0);
}

export function parseWindowEntryKey(
  entry: Uint8Array,
  retainDuplicates: boolean,
): { key: Uint8Array; windowStart: number } {
  const keyLen = entry.byteLength - windowSuffixLen(retainDuplicates);
  return { key: entry.subarray(0, keyLen), windowStart: readTimestamp(entry, keyLen) };
}

export function sessionEntryKey(key: Bytes, end: number, start: number): Uint8Array {
  const out = new Uint8Array(key.byteLength + 2 * TS_LEN);
  out.set(key, 0);
  writeTimestamp(out, key.byteLength, end);
  writeTimestamp(out, key.byteLength + TS_LEN, start);
  return out;
}

export function parseSessionEntryKey(entry: Uint8Array): { key: Uint8Array; start: number; end: number } {
  const keyLen = entry.byteLength - 2 * TS_LEN;
  return {
    key: entry.subarray(0, keyLen),
    end: readTimestamp(entry, keyLen),
    start: readTimestamp(entry, keyLen + TS_LEN),
  };
}

/** Kafka Streams' default: max(retention / 2, 60 s). */
export function defaultSegmentIntervalMs(retentionMs: number): number {
  return Math.max(Math.floor(retentionMs / 2), 60_000);
}

export function segmentId(t: number, segmentIntervalMs: number): number {
  return Math.floor(t / segmentIntervalMs);
}

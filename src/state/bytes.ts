// Byte-string helpers shared by every store. Keys compare as unsigned byte strings; a latin1
// string of the bytes compares the same way (one UTF-16 code unit per byte), which lets
// in-memory stores use Map and the built-in string sort.
import type { Bytes } from "./types.ts";

export function bytesToKeyString(b: Bytes): string {
  // fromCharCode is ~4x faster than Buffer#toString for the short keys stores mostly see.
  if (b.byteLength <= 128) return String.fromCharCode.apply(null, b as unknown as number[]);
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("latin1");
}

export function keyStringToBytes(s: string): Uint8Array {
  return new Uint8Array(Buffer.from(s, "latin1"));
}

export function compareBytes(a: Bytes, b: Bytes): number {
  return Buffer.compare(a, b);
}

/** A copy as a plain Uint8Array (never `Buffer#slice`, which is a view, not a copy). */
export function copyBytes(b: Bytes): Uint8Array {
  return new Uint8Array(b);
}

// V8 keeps a typed array of up to 64 bytes on the heap; a longer one gets a backing store of
// its own (malloc, external-memory accounting, sweeping), ~400-700 ns per 65-600-byte array
// created and kept vs ~40-160 ns for a view into a shared slab (/tmp/hp/mb/slab.ts). The slab
// lives as long as any of its views, so pooled copies are for bytes held briefly: a write
// buffer until its flush, a value read to be decoded.
const ON_HEAP_MAX = 64;
const SLAB_BYTES = 32 * 1024;
const POOLED_MAX = 2048;
let slab = new Uint8Array(0);
let slabOffset = 0;

/**
 * A copy of the first `length` bytes of `b` (default all), as a view into a shared slab when
 * that is cheaper than an array of its own: for bytes that are dropped soon (a slab is freed
 * only when every copy in it is).
 */
export function copyBytesPooled(b: Bytes, length = b.byteLength): Uint8Array {
  if (length <= ON_HEAP_MAX || length > POOLED_MAX) {
    return new Uint8Array(length === b.byteLength ? b : new Uint8Array(b.buffer, b.byteOffset, length));
  }
  if (slabOffset + length > slab.length) {
    slab = new Uint8Array(SLAB_BYTES);
    slabOffset = 0;
  }
  const out = slab.subarray(slabOffset, slabOffset + length);
  out.set(length === b.byteLength ? b : new Uint8Array(b.buffer, b.byteOffset, length));
  slabOffset += (length + 7) & ~7;
  return out;
}

/**
 * `b`, or a copy of it when it is a view into a larger buffer (a pooled copy, a pool slice):
 * for bytes kept long, which must not keep a whole slab alive.
 */
export function unpooled(b: Bytes): Bytes {
  // Arrays of up to 64 bytes were never pooled (and reading `.buffer` would move them off the heap).
  if (b.byteLength <= ON_HEAP_MAX || b.byteLength === b.buffer.byteLength) return b;
  return new Uint8Array(b);
}

const TWO_32 = 4294967296;
const SIGN_BIAS = 2147483648;

/** Writes `t` (a safe integer, may be negative) as 8 bytes that sort like the number. */
export function writeTimestamp(out: Uint8Array, offset: number, t: number): void {
  const hi = Math.floor(t / TWO_32);
  const lo = t - hi * TWO_32;
  const h = (hi + SIGN_BIAS) >>> 0;
  out[offset] = h >>> 24;
  out[offset + 1] = (h >>> 16) & 0xff;
  out[offset + 2] = (h >>> 8) & 0xff;
  out[offset + 3] = h & 0xff;
  out[offset + 4] = lo >>> 24;
  out[offset + 5] = (lo >>> 16) & 0xff;
  out[offset + 6] = (lo >>> 8) & 0xff;
  out[offset + 7] = lo & 0xff;
}

function readUint32(b: Uint8Array, o: number): number {
  return ((b[o]! << 24) >>> 0) + ((b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!);
}

export function readTimestamp(b: Uint8Array, offset: number): number {
  return (readUint32(b, offset) - SIGN_BIAS) * TWO_32 + readUint32(b, offset + 4);
}

export function concatBytes(...parts: Bytes[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.byteLength;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.byteLength;
  }
  return out;
}

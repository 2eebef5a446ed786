// Snappy for Kafka record batches, in plain TS (no native addon). Kafka's Java producer writes the
// xerial framing (a magic header, then length-prefixed snappy blocks); librdkafka and others may
// write raw snappy. Reading accepts both; batches are written raw (see compression.ts).

const XERIAL_MAGIC = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]);
const XERIAL_HEADER = 16;
const XERIAL_BLOCK = 32 * 1024;

function corrupt(why: string): Error {
  return new Error(`snappy: ${why}`);
}

/** Decompresses one raw snappy block. */
export function snappyDecompressRaw(src: Uint8Array): Buffer {
  let p = 0;
  let len = 0;
  let shift = 0;
  for (;;) {
    if (p >= src.length) throw corrupt("truncated length preamble");
    const c = src[p++]!;
    len += (c & 0x7f) * 2 ** shift;
    if (c < 128) break;
    shift += 7;
    if (shift > 35) throw corrupt("length preamble too long");
  }
  const out = Buffer.allocUnsafe(len);
  let o = 0;
  while (p < src.length) {
    const tag = src[p++]!;
    const kind = tag & 3;
    if (kind === 0) {
      let n = tag >>> 2;
      if (n >= 60) {
        const bytes = n - 59;
        if (p + bytes > src.length) throw corrupt("truncated literal length");
        n = 0;
        for (let i = 0; i < bytes; i++) n |= src[p + i]! << (8 * i);
        n >>>= 0;
        p += bytes;
      }
      n += 1;
      if (p + n > src.length || o + n > len) throw corrupt("literal runs past the end");
      out.set(src.subarray(p, p + n), o);
      p += n;
      o += n;
      continue;
    }
    let n: number;
    let off: number;
    if (kind === 1) {
      if (p >= src.length) throw corrupt("truncated copy");
      n = 4 + ((tag >>> 2) & 7);
      off = ((tag >>> 5) << 8) | src[p++]!;
    } else if (kind === 2) {
      if (p + 2 > src.length) throw corrupt("truncated copy");
      n = 1 + (tag >>> 2);
      off = src[p]! | (src[p + 1]! << 8);
      p += 2;
    } else {
      if (p + 4 > src.length) throw corrupt("truncated copy");
      n = 1 + (tag >>> 2);
      off = (src[p]! | (src[p + 1]! << 8) | (src[p + 2]! << 16) | (src[p + 3]! << 24)) >>> 0;
      p += 4;
    }
    if (off === 0 || off > o || o + n > len) throw corrupt("copy out of bounds");
    if (off >= n) {
      out.copyWithin(o, o - off, o - off + n);
      o += n;
    } else {
      for (let i = 0; i < n; i++, o++) out[o] = out[o - off]!;
    }
  }
  if (o !== len) throw corrupt(`decompressed ${o} bytes, expected ${len}`);
  return out;
}

function emitLiteral(dst: Buffer, d: number, src: Uint8Array, start: number, end: number): number {
  const n = end - start - 1;
  if (n < 60) dst[d++] = n << 2;
  else if (n < 0x100) {
    dst[d++] = 60 << 2;
    dst[d++] = n;
  } else if (n < 0x10000) {
    dst[d++] = 61 << 2;
    dst[d++] = n & 0xff;
    dst[d++] = n >>> 8;
  } else {
    dst[d++] = 63 << 2;
    dst[d++] = n & 0xff;
    dst[d++] = (n >>> 8) & 0xff;
    dst[d++] = (n >>> 16) & 0xff;
    dst[d++] = n >>> 24;
  }
  dst.set(src.subarray(start, end), d);
  return d + (end - start);
}

function emitCopy(dst: Buffer, d: number, off: number, len: number): number {
  while (len > 0) {
    const n = Math.min(len, 64);
    // avoid leaving a copy shorter than 4 with a 1-byte-offset encoding: copy2 handles 1..64
    dst[d++] = ((n - 1) << 2) | 2;
    dst[d++] = off & 0xff;
    dst[d++] = off >>> 8;
    len -= n;
  }
  return d;
}

/** Compresses into one raw snappy block (greedy hash matching; offsets < 64 KiB). */
export function snappyCompressRaw(src: Uint8Array): Buffer {
  const len = src.length;
  const dst = Buffer.allocUnsafe(32 + len + Math.ceil(len / 6));
  let d = 0;
  let v = len;
  while (v >= 128) {
    dst[d++] = (v & 0x7f) | 0x80;
    v = Math.floor(v / 128);
  }
  dst[d++] = v;
  const table = new Int32Array(1 << 14).fill(-1);
  let lit = 0;
  let i = 0;
  const limit = len - 4;
  while (i < limit) {
    const x = (src[i]! | (src[i + 1]! << 8) | (src[i + 2]! << 16) | (src[i + 3]! << 24)) >>> 0;
    const h = Math.imul(x, 0x1e35a7bd) >>> 18;
    const cand = table[h]!;
    table[h] = i;
    if (
      cand >= 0 &&
      i - cand < 65536 &&
      src[cand] === src[i] &&
      src[cand + 1] === src[i + 1] &&
      src[cand + 2] === src[i + 2] &&
      src[cand + 3] === src[i + 3]
    ) {
      if (lit < i) d = emitLiteral(dst, d, src, lit, i);
      let m = 4;
      while (i + m < len && src[cand + m] === src[i + m]) m++;
      d = emitCopy(dst, d, i - cand, m);
      i += m;
      lit = i;
    } else {
      i++;
    }
  }
  if (lit < len) d = emitLiteral(dst, d, src, lit, len);
  return dst.subarray(0, d);
}

/** Decompresses Kafka snappy data: xerial-framed or raw. */
export function snappyDecompress(src: Uint8Array): Buffer {
  if (src.length >= XERIAL_HEADER && Buffer.from(src.buffer, src.byteOffset, 8).equals(XERIAL_MAGIC)) {
    const parts: Buffer[] = [];
    const view = Buffer.from(src.buffer, src.byteOffset, src.byteLength);
    let p = XERIAL_HEADER;
    while (p < view.length) {
      if (p + 4 > view.length) throw corrupt("truncated xerial block length");
      const n = view.readInt32BE(p);
      p += 4;
      if (n < 0 || p + n > view.length) throw corrupt("xerial block runs past the end");
      parts.push(snappyDecompressRaw(view.subarray(p, p + n)));
      p += n;
    }
    return Buffer.concat(parts);
  }
  return snappyDecompressRaw(src);
}

/** Compresses with the xerial framing (what Kafka's Java producer writes). */
export function snappyCompress(src: Uint8Array): Buffer {
  const parts: Buffer[] = [XERIAL_MAGIC, Buffer.from([0, 0, 0, 1, 0, 0, 0, 1])];
  for (let p = 0; p < src.length; p += XERIAL_BLOCK) {
    const block = snappyCompressRaw(src.subarray(p, Math.min(src.length, p + XERIAL_BLOCK)));
    const len = Buffer.allocUnsafe(4);
    len.writeInt32BE(block.length);
    parts.push(len, block);
  }
  return Buffer.concat(parts);
}

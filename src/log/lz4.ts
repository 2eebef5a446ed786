// LZ4 for Kafka record batches (the LZ4 *frame* format, KIP-57), in plain TS (no native addon).
// Writes independent 64 KiB blocks without checksums; reads any standard frame (verifying the header
// checksum, and the block/content checksums when present).

const MAGIC = 0x184d2204;
const BLOCK_MAX = 64 * 1024;
const MIN_MATCH = 4;
const LAST_LITERALS = 5;
const MF_LIMIT = 12;

const P1 = 2654435761;
const P2 = 2246822519;
const P3 = 3266489917;
const P4 = 668265263;
const P5 = 374761393;

function rotl(x: number, r: number): number {
  return ((x << r) | (x >>> (32 - r))) >>> 0;
}

function u32(b: Uint8Array, p: number): number {
  return (b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16) | (b[p + 3]! << 24)) >>> 0;
}

/** xxHash32 of data[start, end) with seed 0. */
export function xxh32(data: Uint8Array, start = 0, end = data.length, seed = 0): number {
  let p = start;
  let h: number;
  if (end - p >= 16) {
    let v1 = (seed + P1 + P2) >>> 0;
    let v2 = (seed + P2) >>> 0;
    let v3 = seed >>> 0;
    let v4 = (seed - P1) >>> 0;
    const lim = end - 16;
    while (p <= lim) {
      v1 = Math.imul(rotl((v1 + Math.imul(u32(data, p), P2)) >>> 0, 13), P1) >>> 0;
      v2 = Math.imul(rotl((v2 + Math.imul(u32(data, p + 4), P2)) >>> 0, 13), P1) >>> 0;
      v3 = Math.imul(rotl((v3 + Math.imul(u32(data, p + 8), P2)) >>> 0, 13), P1) >>> 0;
      v4 = Math.imul(rotl((v4 + Math.imul(u32(data, p + 12), P2)) >>> 0, 13), P1) >>> 0;
      p += 16;
    }
    h = (rotl(v1, 1) + rotl(v2, 7) + rotl(v3, 12) + rotl(v4, 18)) >>> 0;
  } else {
    h = (seed + P5) >>> 0;
  }
  h = (h + (end - start)) >>> 0;
  while (p + 4 <= end) {
    h = Math.imul(rotl((h + Math.imul(u32(data, p), P3)) >>> 0, 17), P4) >>> 0;
    p += 4;
  }
  while (p < end) {
    h = Math.imul(rotl((h + Math.imul(data[p]!, P5)) >>> 0, 11), P1) >>> 0;
    p++;
  }
  h = Math.imul(h ^ (h >>> 15), P2) >>> 0;
  h = Math.imul(h ^ (h >>> 13), P3) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

function corrupt(why: string): Error {
  return new Error(`lz4: ${why}`);
}

/** Decompresses one LZ4 block into out[o..]; returns the new output position. */
function decompressBlock(
  src: Uint8Array,
  s: number,
  end: number,
  out: Buffer,
  o: number,
  outEnd: number,
): number {
  while (s < end) {
    const token = src[s++]!;
    let lit = token >>> 4;
    if (lit === 15) {
      let b: number;
      do {
        if (s >= end) throw corrupt("truncated literal length");
        b = src[s++]!;
        lit += b;
      } while (b === 255);
    }
    if (s + lit > end || o + lit > outEnd) throw corrupt("literals run past the end");
    out.set(src.subarray(s, s + lit), o);
    s += lit;
    o += lit;
    if (s >= end) break; // last sequence has no match
    if (s + 2 > end) throw corrupt("truncated match offset");
    const off = src[s]! | (src[s + 1]! << 8);
    s += 2;
    let m = token & 15;
    if (m === 15) {
      let b: number;
      do {
        if (s >= end) throw corrupt("truncated match length");
        b = src[s++]!;
        m += b;
      } while (b === 255);
    }
    m += MIN_MATCH;
    if (off === 0 || off > o || o + m > outEnd) throw corrupt("match out of bounds");
    if (off >= m) {
      out.copyWithin(o, o - off, o - off + m);
      o += m;
    } else {
      for (let i = 0; i < m; i++, o++) out[o] = out[o - off]!;
    }
  }
  return o;
}

/** Compresses src into one LZ4 block (greedy hash matching). */
function compressBlock(src: Uint8Array, start: number, end: number, dst: Buffer, d: number): number {
  const table = new Int32Array(1 << 12).fill(-1);
  let anchor = start;
  let i = start;
  const matchLimit = end - LAST_LITERALS;
  const searchLimit = end - MF_LIMIT;
  const writeLen = (n: number) => {
    while (n >= 255) {
      dst[d++] = 255;
      n -= 255;
    }
    dst[d++] = n;
  };
  while (i < searchLimit) {
    const x = u32(src, i);
    const h = Math.imul(x, 2654435761) >>> 20;
    const cand = table[h]!;
    table[h] = i;
    if (cand >= start && i - cand < 65536 && u32(src, cand) === x) {
      let m = MIN_MATCH;
      while (i + m < matchLimit && src[cand + m] === src[i + m]) m++;
      const lit = i - anchor;
      const ml = m - MIN_MATCH;
      dst[d++] = (Math.min(lit, 15) << 4) | Math.min(ml, 15);
      if (lit >= 15) writeLen(lit - 15);
      dst.set(src.subarray(anchor, i), d);
      d += lit;
      const off = i - cand;
      dst[d++] = off & 0xff;
      dst[d++] = off >>> 8;
      if (ml >= 15) writeLen(ml - 15);
      i += m;
      anchor = i;
    } else {
      i++;
    }
  }
  const lit = end - anchor;
  dst[d++] = Math.min(lit, 15) << 4;
  if (lit >= 15) writeLen(lit - 15);
  dst.set(src.subarray(anchor, end), d);
  return d + lit;
}

/** LZ4 frame with independent 64 KiB blocks, no checksums but the mandatory header one. */
export function lz4Compress(src: Uint8Array): Buffer {
  const blocks = Math.max(1, Math.ceil(src.length / BLOCK_MAX));
  const dst = Buffer.allocUnsafe(7 + 4 + src.length + Math.ceil(src.length / 255) + blocks * 20 + 16);
  dst.writeUInt32LE(MAGIC, 0);
  dst[4] = 0x60; // version 01, block independence
  dst[5] = 0x40; // 64 KiB max block size
  dst[6] = (xxh32(dst, 4, 6) >>> 8) & 0xff;
  let d = 7;
  for (let p = 0; p < src.length; p += BLOCK_MAX) {
    const end = Math.min(src.length, p + BLOCK_MAX);
    const start = d + 4;
    const n = compressBlock(src, p, end, dst, start) - start;
    if (n >= end - p) {
      // incompressible: store raw (high bit set)
      dst.writeUInt32LE(((end - p) | 0x80000000) >>> 0, d);
      dst.set(src.subarray(p, end), start);
      d = start + (end - p);
    } else {
      dst.writeUInt32LE(n, d);
      d = start + n;
    }
  }
  dst.writeUInt32LE(0, d);
  return dst.subarray(0, d + 4);
}

export function lz4Decompress(src: Uint8Array): Buffer {
  if (src.length < 7 || u32(src, 0) !== MAGIC) throw corrupt("not an LZ4 frame (bad magic)");
  const flg = src[4]!;
  const bd = src[5]!;
  if (flg >>> 6 !== 1) throw corrupt(`unsupported frame version ${flg >>> 6}`);
  const blockChecksum = (flg & 0x10) !== 0;
  const contentSize = (flg & 0x08) !== 0;
  const contentChecksum = (flg & 0x04) !== 0;
  const dictId = (flg & 0x01) !== 0;
  const maxBlock = [0, 0, 0, 0, 64 << 10, 256 << 10, 1 << 20, 4 << 20][(bd >>> 4) & 7]!;
  if (maxBlock === 0) throw corrupt("bad block max size");
  let p = 6 + (contentSize ? 8 : 0) + (dictId ? 4 : 0);
  if (p >= src.length) throw corrupt("truncated frame header");
  if (src[p] !== ((xxh32(src, 4, p) >>> 8) & 0xff)) throw corrupt("frame header checksum mismatch");
  p++;
  const parts: Buffer[] = [];
  let scratch = Buffer.allocUnsafe(maxBlock);
  for (;;) {
    if (p + 4 > src.length) throw corrupt("truncated block size");
    const word = u32(src, p);
    p += 4;
    if (word === 0) break;
    const raw = (word & 0x80000000) !== 0;
    const n = word & 0x7fffffff;
    if (p + n + (blockChecksum ? 4 : 0) > src.length) throw corrupt("block runs past the end");
    if (blockChecksum && u32(src, p + n) !== xxh32(src, p, p + n)) throw corrupt("block checksum mismatch");
    if (raw) {
      parts.push(Buffer.from(src.subarray(p, p + n)));
    } else {
      if (scratch.length < maxBlock) scratch = Buffer.allocUnsafe(maxBlock);
      const o = decompressBlock(src, p, p + n, scratch, 0, maxBlock);
      parts.push(Buffer.from(scratch.subarray(0, o)));
    }
    p += n + (blockChecksum ? 4 : 0);
  }
  const out = Buffer.concat(parts);
  if (contentChecksum) {
    if (p + 4 > src.length) throw corrupt("truncated content checksum");
    if (u32(src, p) !== xxh32(out)) throw corrupt("content checksum mismatch");
  }
  return out;
}

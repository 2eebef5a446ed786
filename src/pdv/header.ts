// The 32-byte FRAME-HEADER, hand-specialised: every frame of both topics goes through it, so it
// reads the fixed offsets of the FRAMEHDR copybook directly (tests check it against the
// copybook-compiled decoder byte for byte). It validates every field as strictly as the
// compiled decoder, and checks the frame length against FH-BODY-LENGTH.
//
//   off len field
//    0   4  FH-TYPE         PIC X(4)           "T" + 3 digits (EBCDIC E3 F0-F9 x3)
//    4   1  FH-DIRECTION    PIC X(1)           Q (D8) or R (D9)
//    5   2  FH-VERSION      PIC 9(2)           zoned F0-F9
//    7   4  FH-TERMINAL-ID  PIC 9(9) COMP      big-endian unsigned, <= 999,999,999
//   11   4  FH-PDV-ID       PIC 9(7) COMP-3    7 digits + positive sign nibble (A/C/E/F)
//   15   4  FH-SEQUENCE     PIC 9(9) COMP      big-endian unsigned, <= 999,999,999
//   19   9  FH-TIMESTAMP    PIC 9(17) COMP-3   17 digits + positive sign nibble, kept as a string
//   28   2  FH-STATUS       PIC S9(3) COMP-3   3 digits + sign nibble (A/C/E/F +, B/D -, as IBM)
//   30   2  FH-BODY-LENGTH  PIC 9(4) COMP      <= 9999
import { PdvFrameError } from "./errors.ts";
import type { PdvDirection, PdvHeader, PdvHeaderInput } from "./types.ts";

export const HEADER_SIZE = 32;
export const MAX_BODY_LENGTH = 9999;

const EBCDIC_T = 0xe3;
const EBCDIC_Q = 0xd8;
const EBCDIC_R = 0xd9;

function bad(field: string, byteOffset: number, bytes: Uint8Array, len: number, why: string): PdvFrameError {
  let hex = "";
  for (let i = byteOffset; i < byteOffset + len && i < bytes.length; i++) {
    hex += bytes[i]!.toString(16).padStart(2, "0").toUpperCase();
  }
  return new PdvFrameError("BAD_HEADER", `${why} (bytes ${hex})`, { field, byteOffset });
}

function u32(b: Uint8Array, o: number): number {
  return ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
}

/** Packed unsigned digits as a number (≤ 15 digits); -1 when a nibble is invalid. */
function packedUnsigned(b: Uint8Array, o: number, len: number): number {
  let n = 0;
  for (let i = 0; i < len - 1; i++) {
    const x = b[o + i]!;
    const hi = x >> 4;
    const lo = x & 15;
    if (hi > 9 || lo > 9) return -1;
    n = n * 100 + hi * 10 + lo;
  }
  const last = b[o + len - 1]!;
  const hi = last >> 4;
  const sign = last & 15;
  if (hi > 9 || sign < 0xa || sign === 0xb || sign === 0xd) return -1;
  return n * 10 + hi;
}

const DIGIT_CHARS = "0123456789";
/** Packed byte -> its two digits as 0..99, or 255 when a nibble is not a digit. */
const PACKED_PAIR = new Uint8Array(256).fill(255);
for (let h = 0; h < 10; h++) for (let l = 0; l < 10; l++) PACKED_PAIR[(h << 4) | l] = h * 10 + l;

function pad9(n: number): string {
  return n >= 100_000_000 ? String(n) : String(n).padStart(9, "0");
}
function pad8(n: number): string {
  return n >= 10_000_000 ? String(n) : String(n).padStart(8, "0");
}

/** Validates a whole frame's header and length; returns the header. */
export function decodeHeaderFields(b: Uint8Array): PdvHeader {
  if (b.length < HEADER_SIZE) {
    throw new PdvFrameError(
      "FRAME_TOO_SHORT",
      `frame has ${b.length} bytes, the header alone needs ${HEADER_SIZE}`,
      {
        byteOffset: b.length,
      },
    );
  }
  // FH-TYPE
  const t1 = b[1]! - 0xf0;
  const t2 = b[2]! - 0xf0;
  const t3 = b[3]! - 0xf0;
  if (b[0] !== EBCDIC_T || t1 < 0 || t1 > 9 || t2 < 0 || t2 > 9 || t3 < 0 || t3 > 9) {
    throw bad("FH-TYPE", 0, b, 4, "frame type must be T and three digits");
  }
  const type = `T${DIGIT_CHARS[t1]}${DIGIT_CHARS[t2]}${DIGIT_CHARS[t3]}`;
  // FH-DIRECTION
  const d = b[4];
  let direction: PdvDirection;
  if (d === EBCDIC_Q) direction = "Q";
  else if (d === EBCDIC_R) direction = "R";
  else throw bad("FH-DIRECTION", 4, b, 1, "direction must be Q or R");
  // FH-VERSION
  const v1 = b[5]! - 0xf0;
  const v2 = b[6]! - 0xf0;
  if (v1 < 0 || v1 > 9 || v2 < 0 || v2 > 9) throw bad("FH-VERSION", 5, b, 2, "not a zoned decimal PIC 9(2)");
  // FH-TERMINAL-ID
  const terminalId = u32(b, 7);
  if (terminalId > 999_999_999) throw bad("FH-TERMINAL-ID", 7, b, 4, `${terminalId} exceeds PIC 9(9)`);
  // FH-PDV-ID
  const pdvId = packedUnsigned(b, 11, 4);
  if (pdvId < 0) throw bad("FH-PDV-ID", 11, b, 4, "invalid packed decimal PIC 9(7) COMP-3");
  // FH-SEQUENCE
  const sequence = u32(b, 15);
  if (sequence > 999_999_999) throw bad("FH-SEQUENCE", 15, b, 4, `${sequence} exceeds PIC 9(9)`);
  // FH-TIMESTAMP: 17 digits, kept exact as a string (built from two exact numbers: 9 + 8 digits).
  let tsHigh = 0;
  let tsLow = 0;
  for (let i = 19; i < 23; i++) {
    const x = PACKED_PAIR[b[i]!]!;
    if (x > 99) throw bad("FH-TIMESTAMP", 19, b, 9, "invalid packed decimal PIC 9(17) COMP-3");
    tsHigh = tsHigh * 100 + x;
  }
  const mid = b[23]!;
  if (mid >> 4 > 9 || (mid & 15) > 9)
    throw bad("FH-TIMESTAMP", 19, b, 9, "invalid packed decimal PIC 9(17) COMP-3");
  tsHigh = tsHigh * 10 + (mid >> 4);
  tsLow = mid & 15;
  for (let i = 24; i < 27; i++) {
    const x = PACKED_PAIR[b[i]!]!;
    if (x > 99) throw bad("FH-TIMESTAMP", 19, b, 9, "invalid packed decimal PIC 9(17) COMP-3");
    tsLow = tsLow * 100 + x;
  }
  const tl = b[27]!;
  const tsign = tl & 15;
  if (tl >> 4 > 9 || tsign < 0xa || tsign === 0xb || tsign === 0xd) {
    throw bad("FH-TIMESTAMP", 19, b, 9, "invalid packed decimal PIC 9(17) COMP-3");
  }
  tsLow = tsLow * 10 + (tl >> 4);
  const timestamp = pad9(tsHigh) + pad8(tsLow);
  // FH-STATUS
  const s0 = b[28]!;
  const s1 = b[29]!;
  const sh = s0 >> 4;
  const sl = s0 & 15;
  const sm = s1 >> 4;
  const ss = s1 & 15;
  if (sh > 9 || sl > 9 || sm > 9 || ss < 0xa) {
    throw bad("FH-STATUS", 28, b, 2, "invalid packed decimal PIC S9(3) COMP-3");
  }
  const mag = sh * 100 + sl * 10 + sm;
  const status = (ss === 0xd || ss === 0xb) && mag !== 0 ? -mag : mag;
  // FH-BODY-LENGTH
  const bodyLength = (b[30]! << 8) | b[31]!;
  if (bodyLength > MAX_BODY_LENGTH) throw bad("FH-BODY-LENGTH", 30, b, 2, `${bodyLength} exceeds PIC 9(4)`);
  if (b.length !== HEADER_SIZE + bodyLength) {
    throw new PdvFrameError(
      "BODY_LENGTH_MISMATCH",
      `frame has ${b.length} bytes but FH-BODY-LENGTH says ${HEADER_SIZE} + ${bodyLength} = ${HEADER_SIZE + bodyLength}`,
      { field: "FH-BODY-LENGTH", byteOffset: 30 },
    );
  }
  return {
    type,
    direction,
    version: v1 * 10 + v2,
    terminalId,
    pdvId,
    sequence,
    timestamp,
    status,
    bodyLength,
  };
}

function badValue(field: string, why: string): PdvFrameError {
  return new PdvFrameError("BAD_VALUE", why, { field, byteOffset: HEADER_OFFSETS[field] });
}

export const HEADER_OFFSETS: Record<string, number> = {
  "FH-TYPE": 0,
  "FH-DIRECTION": 4,
  "FH-VERSION": 5,
  "FH-TERMINAL-ID": 7,
  "FH-PDV-ID": 11,
  "FH-SEQUENCE": 15,
  "FH-TIMESTAMP": 19,
  "FH-STATUS": 28,
  "FH-BODY-LENGTH": 30,
};

function uint(v: unknown, max: number, field: string): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v > max) {
    throw badValue(field, `expected an integer 0..${max}, got ${String(v)}`);
  }
  return v;
}

/** Writes the header into out[0..32); bodyLength is the actual body size. */
export function encodeHeaderInto(h: PdvHeaderInput, bodyLength: number, out: Uint8Array): void {
  if (typeof h.type !== "string" || !/^T[0-9]{3}$/.test(h.type)) {
    throw badValue("FH-TYPE", `frame type must be T and three digits, got ${JSON.stringify(h.type)}`);
  }
  out[0] = EBCDIC_T;
  out[1] = 0xf0 + h.type.charCodeAt(1) - 48;
  out[2] = 0xf0 + h.type.charCodeAt(2) - 48;
  out[3] = 0xf0 + h.type.charCodeAt(3) - 48;
  if (h.direction === "Q") out[4] = EBCDIC_Q;
  else if (h.direction === "R") out[4] = EBCDIC_R;
  else throw badValue("FH-DIRECTION", `direction must be "Q" or "R", got ${JSON.stringify(h.direction)}`);
  const version = uint(h.version, 99, "FH-VERSION");
  out[5] = 0xf0 + Math.floor(version / 10);
  out[6] = 0xf0 + (version % 10);
  writeU32(out, 7, uint(h.terminalId, 999_999_999, "FH-TERMINAL-ID"));
  writePackedUnsigned(out, 11, 4, String(uint(h.pdvId, 9_999_999, "FH-PDV-ID")));
  writeU32(out, 15, uint(h.sequence, 999_999_999, "FH-SEQUENCE"));
  const ts = typeof h.timestamp === "bigint" ? String(h.timestamp) : h.timestamp;
  if (typeof ts !== "string" || !/^[0-9]{1,17}$/.test(ts)) {
    throw badValue(
      "FH-TIMESTAMP",
      `expected up to 17 digits YYYYMMDDhhmmssSSS, got ${JSON.stringify(String(ts))}`,
    );
  }
  writePackedUnsigned(out, 19, 9, ts);
  const st = h.status;
  if (typeof st !== "number" || !Number.isInteger(st) || st < -999 || st > 999) {
    throw badValue("FH-STATUS", `expected an integer -999..999, got ${String(st)}`);
  }
  const mag = Math.abs(st);
  out[28] = (Math.floor(mag / 100) << 4) | (Math.floor(mag / 10) % 10);
  out[29] = ((mag % 10) << 4) | (st < 0 ? 0xd : 0xc);
  if (bodyLength > MAX_BODY_LENGTH) {
    throw badValue("FH-BODY-LENGTH", `body of ${bodyLength} bytes exceeds PIC 9(4) (${MAX_BODY_LENGTH})`);
  }
  if (h.bodyLength !== undefined && h.bodyLength !== bodyLength) {
    throw badValue(
      "FH-BODY-LENGTH",
      `header says ${h.bodyLength} but the body encodes to ${bodyLength} bytes`,
    );
  }
  out[30] = bodyLength >> 8;
  out[31] = bodyLength & 0xff;
}

function writeU32(out: Uint8Array, o: number, v: number): void {
  out[o] = v >>> 24;
  out[o + 1] = (v >>> 16) & 0xff;
  out[o + 2] = (v >>> 8) & 0xff;
  out[o + 3] = v & 0xff;
}

/** Unsigned packed, sign nibble F (unsigned PIC), digits right-aligned. */
function writePackedUnsigned(out: Uint8Array, o: number, len: number, digits: string): void {
  const d = digits.padStart(len * 2 - 1, "0");
  for (let i = 0; i < len; i++) {
    const hi = d.charCodeAt(2 * i) - 48;
    const lo = i === len - 1 ? 0xf : d.charCodeAt(2 * i + 1) - 48;
    out[o + i] = (hi << 4) | lo;
  }
}

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

/** FH-TYPE strings by their three digits, made once: every frame carries one of a few types. */
const TYPE_CODES: (string | undefined)[] = new Array(1000).fill(undefined);
function typeCode(n: number): string {
  return (TYPE_CODES[n] ??= `T${String(n).padStart(3, "0")}`);
}

/** Negative when a packed byte has a nibble above 9. */
function badPackedPair(x: number): number {
  return (9 - (x >> 4)) | (9 - (x & 15));
}

/**
 * FH-TIMESTAMP's 17 digits as one flat string, straight from the nibbles (no intermediate
 * numbers or substrings); null when a digit nibble or the sign nibble is invalid.
 */
function packedTimestamp(b: Uint8Array): string | null {
  const x0 = b[19]!;
  const x1 = b[20]!;
  const x2 = b[21]!;
  const x3 = b[22]!;
  const x4 = b[23]!;
  const x5 = b[24]!;
  const x6 = b[25]!;
  const x7 = b[26]!;
  const x8 = b[27]!;
  const sign = x8 & 15;
  if (
    (badPackedPair(x0) |
      badPackedPair(x1) |
      badPackedPair(x2) |
      badPackedPair(x3) |
      badPackedPair(x4) |
      badPackedPair(x5) |
      badPackedPair(x6) |
      badPackedPair(x7) |
      (9 - (x8 >> 4))) <
      0 ||
    sign < 0xa ||
    sign === 0xb ||
    sign === 0xd
  ) {
    return null;
  }
  return String.fromCharCode(
    48 + (x0 >> 4),
    48 + (x0 & 15),
    48 + (x1 >> 4),
    48 + (x1 & 15),
    48 + (x2 >> 4),
    48 + (x2 & 15),
    48 + (x3 >> 4),
    48 + (x3 & 15),
    48 + (x4 >> 4),
    48 + (x4 & 15),
    48 + (x5 >> 4),
    48 + (x5 & 15),
    48 + (x6 >> 4),
    48 + (x6 & 15),
    48 + (x7 >> 4),
    48 + (x7 & 15),
    48 + (x8 >> 4),
  );
}

/**
 * A frame's FH-TYPE, checked, without the rest of the header: for frames whose header was
 * validated upstream, where the type alone decides what to do (decodeHeaderFields builds the whole
 * header, its 17-digit timestamp string included, per frame).
 */
export function frameTypeOf(b: Uint8Array): string {
  if (b.length < HEADER_SIZE) throw tooShort(b);
  const t1 = b[1]! - 0xf0;
  const t2 = b[2]! - 0xf0;
  const t3 = b[3]! - 0xf0;
  if (b[0] !== EBCDIC_T || t1 < 0 || t1 > 9 || t2 < 0 || t2 > 9 || t3 < 0 || t3 > 9) {
    throw bad("FH-TYPE", 0, b, 4, "frame type must be T and three digits");
  }
  return typeCode(t1 * 100 + t2 * 10 + t3);
}

/** A frame's FH-DIRECTION, checked, without the rest of the header (see frameTypeOf). */
export function frameDirectionOf(b: Uint8Array): PdvDirection {
  if (b.length < HEADER_SIZE) throw tooShort(b);
  const d = b[4];
  if (d === EBCDIC_Q) return "Q";
  if (d === EBCDIC_R) return "R";
  throw bad("FH-DIRECTION", 4, b, 1, "direction must be Q or R");
}

function tooShort(b: Uint8Array): PdvFrameError {
  return new PdvFrameError(
    "FRAME_TOO_SHORT",
    `frame has ${b.length} bytes, the header alone needs ${HEADER_SIZE}`,
    { byteOffset: b.length },
  );
}

/** Validates a whole frame's header and length; returns the header. */
export function decodeHeaderFields(b: Uint8Array): PdvHeader {
  const type = frameTypeOf(b);
  const direction = frameDirectionOf(b);
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
  // FH-TIMESTAMP: 17 digits, kept exact as a string.
  const timestamp = packedTimestamp(b);
  if (timestamp === null) throw bad("FH-TIMESTAMP", 19, b, 9, "invalid packed decimal PIC 9(17) COMP-3");
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
  encodeHeaderFieldsInto(h, out);
  encodeBodyLengthInto(h, bodyLength, out);
}

/** True when s is "T" and three ASCII digits. */
function isTypeCode(s: string): boolean {
  if (s.length !== 4 || s.charCodeAt(0) !== 84) return false;
  for (let i = 1; i < 4; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

/** True when s is 1 to 17 ASCII digits. */
function isTimestampDigits(s: string): boolean {
  if (s.length < 1 || s.length > 17) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

/**
 * Validates and writes every header field but FH-BODY-LENGTH (out[0..30)): the encoder checks the
 * header before the body (the body's layout depends on type and direction) and writes the length last.
 */
export function encodeHeaderFieldsInto(h: PdvHeaderInput, out: Uint8Array): void {
  const type = h.type;
  if (typeof type !== "string" || !isTypeCode(type)) {
    throw badValue("FH-TYPE", `frame type must be T and three digits, got ${JSON.stringify(type)}`);
  }
  out[0] = EBCDIC_T;
  out[1] = 0xf0 + type.charCodeAt(1) - 48;
  out[2] = 0xf0 + type.charCodeAt(2) - 48;
  out[3] = 0xf0 + type.charCodeAt(3) - 48;
  if (h.direction === "Q") out[4] = EBCDIC_Q;
  else if (h.direction === "R") out[4] = EBCDIC_R;
  else throw badValue("FH-DIRECTION", `direction must be "Q" or "R", got ${JSON.stringify(h.direction)}`);
  const version = uint(h.version, 99, "FH-VERSION");
  out[5] = 0xf0 + Math.floor(version / 10);
  out[6] = 0xf0 + (version % 10);
  writeU32(out, 7, uint(h.terminalId, 999_999_999, "FH-TERMINAL-ID"));
  writePackedNumber(out, 11, 4, uint(h.pdvId, 9_999_999, "FH-PDV-ID"));
  writeU32(out, 15, uint(h.sequence, 999_999_999, "FH-SEQUENCE"));
  const ts = typeof h.timestamp === "bigint" ? String(h.timestamp) : h.timestamp;
  if (typeof ts !== "string" || !isTimestampDigits(ts)) {
    throw badValue(
      "FH-TIMESTAMP",
      `expected up to 17 digits YYYYMMDDhhmmssSSS, got ${JSON.stringify(String(ts))}`,
    );
  }
  writePackedDigits(out, 19, 9, ts);
  const st = h.status;
  if (typeof st !== "number" || !Number.isInteger(st) || st < -999 || st > 999) {
    throw badValue("FH-STATUS", `expected an integer -999..999, got ${String(st)}`);
  }
  const mag = Math.abs(st);
  out[28] = (Math.floor(mag / 100) << 4) | (Math.floor(mag / 10) % 10);
  out[29] = ((mag % 10) << 4) | (st < 0 ? 0xd : 0xc);
}

/** Checks and writes FH-BODY-LENGTH (out[30..32)) for a body of bodyLength bytes. */
export function encodeBodyLengthInto(h: PdvHeaderInput, bodyLength: number, out: Uint8Array): void {
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

/** Unsigned packed of a safe integer that fits, sign nibble F (unsigned PIC). */
function writePackedNumber(out: Uint8Array, o: number, len: number, v: number): void {
  let n = v;
  const last = n % 10;
  n = (n - last) / 10;
  out[o + len - 1] = (last << 4) | 0xf;
  for (let i = len - 2; i >= 0; i--) {
    const lo = n % 10;
    n = (n - lo) / 10;
    const hi = n % 10;
    n = (n - hi) / 10;
    out[o + i] = (hi << 4) | lo;
  }
}

/** Unsigned packed, sign nibble F (unsigned PIC), digits (ASCII, already checked) right-aligned. */
function writePackedDigits(out: Uint8Array, o: number, len: number, digits: string): void {
  const pad = len * 2 - 1 - digits.length; // leading zero digits
  for (let i = 0; i < len; i++) {
    const k = 2 * i - pad;
    const hi = k >= 0 ? digits.charCodeAt(k) - 48 : 0;
    const lo = i === len - 1 ? 0xf : k + 1 >= 0 ? digits.charCodeAt(k + 1) - 48 : 0;
    out[o + i] = (hi << 4) | lo;
  }
}

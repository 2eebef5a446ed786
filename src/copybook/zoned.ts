// Generic zoned-decimal (DISPLAY numeric) reading and writing: any size, EBCDIC or ASCII, every sign option.
// The common small EBCDIC cases are inlined by the code generator; this covers the rest.
import { type BAD, bad, type DecimalValue, digitsToValue, POW10 } from "./numeric.ts";

export interface ZonedSpec {
  readonly digits: number;
  readonly scale: number;
  readonly signed: boolean;
  readonly signPosition: "leading" | "trailing";
  readonly separate: boolean;
  readonly pointAt: number;
  readonly ebcdic: boolean;
  /** Accept a positive overpunch on an unsigned field (Cobrix strict_sign_overpunching=false). */
  readonly relaxedSign: boolean;
  /** Treat leading/trailing spaces as zeros / ignore them (Cobrix behaviour; IBM: invalid). */
  readonly spaces: boolean;
}

// EBCDIC zone nibble -> sign: 1 positive, -1 negative, 0 invalid (IBM: C A E F positive, D B negative).
export const ZONE_SIGN = new Int8Array(16);
ZONE_SIGN[0xc] = 1;
ZONE_SIGN[0xa] = 1;
ZONE_SIGN[0xe] = 1;
ZONE_SIGN[0xf] = 1;
ZONE_SIGN[0xd] = -1;
ZONE_SIGN[0xb] = -1;

// ASCII overpunch characters: '{' 'A'..'I' = +0..+9, '}' 'J'..'R' = -0..-9, 'p'..'y' = -0..-9 (Micro Focus).
const ASCII_PUNCH = new Int16Array(256).fill(-1);
const ASCII_PUNCH_NEG = new Uint8Array(256);
for (let d = 0; d <= 9; d++) {
  ASCII_PUNCH[0x30 + d] = d;
  ASCII_PUNCH["{ABCDEFGHI".charCodeAt(d)] = d;
  ASCII_PUNCH["}JKLMNOPQR".charCodeAt(d)] = d;
  ASCII_PUNCH_NEG["}JKLMNOPQR".charCodeAt(d)] = 1;
  ASCII_PUNCH[0x70 + d] = d;
  ASCII_PUNCH_NEG[0x70 + d] = 1;
}

export function decodeZoned(
  b: Uint8Array,
  p: number,
  len: number,
  z: ZonedSpec,
  asNumber: boolean,
): DecimalValue | typeof BAD {
  let start = p;
  let end = p + len;
  let neg = false;
  const plus = z.ebcdic ? 0x4e : 0x2b;
  const minus = z.ebcdic ? 0x60 : 0x2d;
  const space = z.ebcdic ? 0x40 : 0x20;
  if (z.separate) {
    const sb = z.signPosition === "leading" ? b[start++]! : b[--end]!;
    if (sb === minus) neg = true;
    else if (sb !== plus) {
      if (!(z.spaces && sb === space)) return bad(`separate sign byte must be '+' or '-'`);
    }
  }
  let digits = "";
  // Number-typed fields (<= 15 digits) accumulate a number: no string building.
  let num = 0;
  let signIdx = -1;
  if (z.signed && !z.separate) signIdx = z.signPosition === "leading" ? start : end - 1;
  let seenDigit = false;
  let seenPoint = false;
  let fraction = 0;
  const pt = z.ebcdic ? 0x4b : 0x2e;
  const cm = z.ebcdic ? 0x6b : 0x2c;
  for (let i = start; i < end; i++) {
    const x = b[i]!;
    if (z.pointAt >= 0) {
      if (z.spaces) {
        // Cobrix reads the point wherever it is (left-justified "789.09     ").
        if (x === pt || x === cm) {
          if (seenPoint) return bad("two decimal points");
          seenPoint = true;
          continue;
        }
      } else if (i - start === z.pointAt) {
        if (x !== pt && x !== cm) return bad(`expected the decimal point at byte ${i - p} of the field`);
        seenPoint = true;
        continue;
      }
    }
    if (z.spaces && (x === space || x === 0)) {
      if (seenDigit && i !== end - 1) {
        // embedded blank: Cobrix skips them; keep going
      }
      continue;
    }
    let d: number;
    if (z.ebcdic) {
      const zone = x >> 4;
      d = x & 15;
      if (d > 9) return bad("invalid digit nibble");
      if (i === signIdx || (!z.signed && i === end - 1 && zone !== 0xf)) {
        const s = ZONE_SIGN[zone]!;
        if (s === 0) return bad(`invalid sign zone ${zone.toString(16).toUpperCase()}`);
        if (!z.signed && zone !== 0xf) {
          if (!z.relaxedSign) return bad("overpunched sign in an unsigned field");
          if (s < 0) return bad("negative sign in an unsigned field");
        }
        if (s < 0) neg = true;
      } else if (zone !== 0xf) return bad(`invalid zone ${zone.toString(16).toUpperCase()} in a digit`);
    } else {
      if (i === signIdx || (!z.signed && i === end - 1)) {
        d = ASCII_PUNCH[x]!;
        if (d < 0) return bad("invalid digit or overpunch character");
        if (ASCII_PUNCH_NEG[x]) {
          if (!z.signed) return bad("negative sign in an unsigned field");
          neg = true;
        } else if (!z.signed && (x < 0x30 || x > 0x39) && !z.relaxedSign)
          return bad("overpunched sign in an unsigned field");
      } else {
        d = x - 0x30;
        if (d < 0 || d > 9) return bad("invalid digit");
      }
    }
    seenDigit = true;
    if (seenPoint) fraction++;
    if (asNumber) num = num * 10 + d;
    else digits += String.fromCharCode(48 + d);
  }
  if (!seenDigit) {
    // Cobrix: a blank decimal reads as 0, a blank integer as null.
    if (z.spaces && z.scale > 0) return digitsToValue(false, "0", z.scale, asNumber);
    return bad("no digits");
  }
  let shift = 0;
  if (z.pointAt >= 0 && z.spaces) {
    if (!seenPoint) fraction = 0;
    if (fraction > z.scale) return bad("more decimal places than the picture");
    shift = z.scale - fraction;
  }
  if (asNumber) {
    let n = num * POW10[shift]!;
    if (z.scale > 0) n = n / POW10[z.scale]!;
    else if (z.scale < 0) n = n * POW10[-z.scale]!;
    return neg && n !== 0 ? -n : n;
  }
  if (shift > 0) digits += "0".repeat(shift);
  return digitsToValue(neg, digits, z.scale, asNumber);
}

/** Writes exactly `digits` unsigned digits with the sign conventions of the spec. */
export function encodeZoned(b: Uint8Array, p: number, z: ZonedSpec, neg: boolean, digits: string): void {
  let i = p;
  const plus = z.ebcdic ? 0x4e : 0x2b;
  const minus = z.ebcdic ? 0x60 : 0x2d;
  if (z.separate && z.signPosition === "leading") b[i++] = neg ? minus : plus;
  const first = i;
  for (let k = 0; k < digits.length; k++) {
    if (z.pointAt >= 0 && k === z.pointAt) b[i++] = z.ebcdic ? 0x4b : 0x2e;
    const d = digits.charCodeAt(k) - 48;
    b[i++] = z.ebcdic ? 0xf0 | d : 0x30 + d;
  }
  const last = i - 1;
  if (z.separate && z.signPosition === "trailing") b[i++] = neg ? minus : plus;
  if (z.signed && !z.separate) {
    const at = z.signPosition === "leading" ? first : last;
    const d = b[at]! & 15;
    if (z.ebcdic) b[at] = (neg ? 0xd0 : 0xc0) | (z.ebcdic ? d : 0);
    else b[at] = neg ? "}JKLMNOPQR".charCodeAt(d - 0) : 0x30 + (b[at]! - 0x30);
  }
}

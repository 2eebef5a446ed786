// Numeric helpers shared by the generated decoders and encoders: exact decimals, big values,
// floats (IBM hexadecimal and IEEE), edited pictures. The hot small cases are inlined by codegen.
import type { PictureInfo } from "./picture.ts";

/** Marker returned by helpers for an invalid value; the reason is in `lastReason`. */
export const BAD: unique symbol = Symbol("bad");
export let lastReason = "";
export function bad(reason: string): typeof BAD {
  lastReason = reason;
  return BAD;
}
export function takeReason(): string {
  return lastReason;
}

/** Decimal value type of a field: JS number when exact (≤ 15 digits), else a decimal string. */
export type DecimalValue = number | string;

export const POW10: number[] = [];
for (let i = 0; i <= 22; i++) POW10.push(10 ** i);

/** Formats an unsigned digit string (no sign) with a scale as a canonical decimal string. */
export function formatDecimal(neg: boolean, digits: string, scale: number): string {
  // Strip leading zeros by index (no regex: this is on the hot path of wide fields).
  let z = 0;
  const intLen = digits.length - Math.max(scale, 0);
  while (z < intLen - 1 && digits.charCodeAt(z) === 48) z++;
  let s: string;
  if (scale > 0) {
    const int = intLen > 0 ? digits.slice(z, intLen) : "0";
    const frac = intLen >= 0 ? digits.slice(intLen) : "0".repeat(-intLen) + digits;
    s = `${int}.${frac}`;
  } else {
    s = digits.slice(z) || "0";
    if (scale < 0 && s !== "0") s += "0".repeat(-scale);
  }
  if (neg) {
    // -0 is 0
    for (let k = 0; k < s.length; k++) {
      const c = s.charCodeAt(k);
      if (c > 48 && c <= 57) return `-${s}`;
    }
  }
  return s;
}

/** Builds the field value from an unsigned digit string: number when `asNumber`, else decimal string. */
export function digitsToValue(neg: boolean, digits: string, scale: number, asNumber: boolean): DecimalValue {
  if (asNumber) {
    let n = 0;
    for (let i = 0; i < digits.length; i++) n = n * 10 + (digits.charCodeAt(i) - 48);
    if (scale > 0) n = n / POW10[scale]!;
    else if (scale < 0) n = n * POW10[-scale]!;
    return neg && n !== 0 ? -n : n;
  }
  return formatDecimal(neg, digits, scale);
}

/**
 * Converts a value to exactly `digits` unsigned digits at `scale` plus a sign.
 * Accepts numbers (must be exactly representable at that scale), decimal strings and bigints.
 * Returns a reason string on failure.
 */
export function valueToDigits(
  value: unknown,
  digits: number,
  scale: number,
): { neg: boolean; digits: string } | string {
  let text: string;
  if (typeof value === "number") {
    if (!Number.isFinite(value)) return `${value} is not a finite number`;
    text = numberToPlainString(value);
  } else if (typeof value === "bigint") text = value.toString();
  else if (typeof value === "string") {
    text = value.trim();
    if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(text)) return `'${value}' is not a decimal number`;
    if (/[eE]/.test(text)) text = expandExponent(text);
  } else return `expected a number or decimal string, got ${value === null ? "null" : typeof value}`;
  let neg = false;
  if (text[0] === "-" || text[0] === "+") {
    neg = text[0] === "-";
    text = text.slice(1);
  }
  let [ip = "", fp = ""] = text.split(".");
  if (scale >= 0) {
    if (fp.length > scale) {
      if (/[1-9]/.test(fp.slice(scale))) return `${String(value)} has more than ${scale} decimal places`;
      fp = fp.slice(0, scale);
    }
    fp = fp.padEnd(scale, "0");
  } else {
    // Trailing P: the value must be a multiple of 10^-scale.
    if (/[1-9]/.test(fp)) return `${String(value)} must be an integer multiple of ${10 ** -scale}`;
    fp = "";
    const k = -scale;
    const t = ip.replace(/^0+/, "");
    if (t.length > 0) {
      if (t.length <= k ? /[1-9]/.test(t) : /[1-9]/.test(t.slice(t.length - k))) {
        return `${String(value)} must be a multiple of ${"1" + "0".repeat(k)} (trailing P scaling)`;
      }
      ip = t.length <= k ? "0" : t.slice(0, t.length - k);
    } else ip = "0";
  }
  let all = (ip + fp).replace(/^0+/, "");
  // With leading P (scale > digits) the first (scale - digits) decimal places must be zero.
  if (all.length > digits) return `${String(value)} does not fit ${digits} digit(s) with scale ${scale}`;
  all = all.padStart(digits, "0");
  if (!/[1-9]/.test(all)) neg = false;
  return { neg, digits: all };
}

function numberToPlainString(v: number): string {
  const s = String(v);
  return /e/i.test(s) ? expandExponent(s) : s;
}

function expandExponent(s: string): string {
  const m = /^([+-]?)(\d*)\.?(\d*)[eE]([+-]?\d+)$/.exec(s);
  if (!m) return s;
  const [, sign, a = "", b = "", e] = m;
  const exp = Number(e);
  let digits = a + b;
  let point = a.length + exp;
  if (point <= 0) {
    digits = "0".repeat(1 - point) + digits;
    point = 1;
  }
  if (point >= digits.length) return sign + digits.padEnd(point, "0");
  return `${sign}${digits.slice(0, point)}.${digits.slice(point)}`;
}

// ---------------------------------------------------------------- binary

/** Reads a big-endian (or little-endian) two's complement / unsigned integer of any size as a bigint. */
export function readBigInt(b: Uint8Array, p: number, n: number, signed: boolean, le: boolean): bigint {
  let v = 0n;
  if (le) for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[p + i]!);
  else for (let i = 0; i < n; i++) v = (v << 8n) | BigInt(b[p + i]!);
  if (signed && (le ? b[p + n - 1]! : b[p]!) & 0x80) v -= 1n << BigInt(8 * n);
  return v;
}

export function writeBigInt(b: Uint8Array, p: number, n: number, v: bigint, le: boolean): void {
  let x = v < 0n ? (1n << BigInt(8 * n)) + v : v;
  for (let i = n - 1; i >= 0; i--) {
    b[le ? p + (n - 1 - i) : p + i] = Number(x & 0xffn);
    x >>= 8n;
  }
}

/** Decodes a binary field of any size into a number or decimal string. */
export function decodeBinaryGeneric(
  b: Uint8Array,
  p: number,
  n: number,
  signed: boolean,
  le: boolean,
  scale: number,
  asNumber: boolean,
): DecimalValue | typeof BAD {
  const v = readBigInt(b, p, n, signed, le);
  const neg = v < 0n;
  const digits = (neg ? -v : v).toString();
  if (asNumber && (neg ? -v : v) > 9007199254740991n)
    return bad("binary value exceeds the exact range of the field's type");
  return digitsToValue(neg, digits, scale, asNumber);
}

// ---------------------------------------------------------------- floats

const f32 = new Float32Array(1);
const f32b = new Uint8Array(f32.buffer);
const f64 = new Float64Array(1);
const f64b = new Uint8Array(f64.buffer);
const hostLE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

export function readIeee(b: Uint8Array, p: number, n: 4 | 8, le: boolean): number {
  const swap = le !== hostLE;
  if (n === 4) {
    for (let i = 0; i < 4; i++) f32b[swap ? 3 - i : i] = b[p + i]!;
    return f32[0]!;
  }
  for (let i = 0; i < 8; i++) f64b[swap ? 7 - i : i] = b[p + i]!;
  return f64[0]!;
}

export function writeIeee(b: Uint8Array, p: number, n: 4 | 8, v: number, le: boolean): void {
  const swap = le !== hostLE;
  if (n === 4) {
    f32[0] = v;
    for (let i = 0; i < 4; i++) b[p + i] = f32b[swap ? 3 - i : i]!;
    return;
  }
  f64[0] = v;
  for (let i = 0; i < 8; i++) b[p + i] = f64b[swap ? 7 - i : i]!;
}

/** IBM hexadecimal floating point: (-1)^s × 0.F × 16^(E-64). */
export function readIbmFloat(b: Uint8Array, p: number, n: 4 | 8, le: boolean): number {
  const at = (i: number): number => b[le ? p + n - 1 - i : p + i]!;
  const b0 = at(0);
  const sign = b0 & 0x80 ? -1 : 1;
  const exp = (b0 & 0x7f) - 64;
  let frac: number;
  let bits: number;
  if (n === 4) {
    frac = (at(1) << 16) | (at(2) << 8) | at(3);
    bits = 24;
  } else {
    const hi = (at(1) << 16) | (at(2) << 8) | at(3);
    const lo = ((at(4) << 24) | (at(5) << 16) | (at(6) << 8) | at(7)) >>> 0;
    frac = hi * 4294967296 + lo; // one correctly rounded step from 56 to 53 bits
    bits = 56;
  }
  if (frac === 0) return 0;
  return sign * frac * 2 ** (4 * exp - bits);
}

export function writeIbmFloat(b: Uint8Array, p: number, n: 4 | 8, v: number, le: boolean): string | null {
  if (!Number.isFinite(v)) return `${v} cannot be stored as an IBM hexadecimal float`;
  const put = (i: number, x: number): void => {
    b[le ? p + n - 1 - i : p + i] = x;
  };
  if (v === 0) {
    for (let i = 0; i < n; i++) put(i, 0);
    return null;
  }
  const sign = v < 0 ? 0x80 : 0;
  let a = Math.abs(v);
  // Find exponent e with 16^(e-1) <= a < 16^e
  let e = Math.ceil(Math.log2(a) / 4);
  if (a >= 16 ** e) e++;
  while (a < 16 ** (e - 1)) e--;
  const bits = n === 4 ? 24 : 56;
  let frac = Math.round(a * 2 ** (bits - 4 * e));
  if (frac >= 2 ** bits) {
    e++;
    frac = Math.round(a * 2 ** (bits - 4 * e));
  }
  const ex = e + 64;
  if (ex > 127) return `${v} overflows an IBM hexadecimal float`;
  if (ex < 0) {
    for (let i = 0; i < n; i++) put(i, 0);
    return null;
  }
  put(0, sign | ex);
  if (n === 4) {
    put(1, (frac >>> 16) & 0xff);
    put(2, (frac >>> 8) & 0xff);
    put(3, frac & 0xff);
  } else {
    const hi = Math.floor(frac / 4294967296);
    const lo = frac - hi * 4294967296;
    put(1, (hi >>> 16) & 0xff);
    put(2, (hi >>> 8) & 0xff);
    put(3, hi & 0xff);
    put(4, (lo >>> 24) & 0xff);
    put(5, (lo >>> 16) & 0xff);
    put(6, (lo >>> 8) & 0xff);
    put(7, lo & 0xff);
  }
  a = 0;
  return null;
}

// ---------------------------------------------------------------- edited pictures

/**
 * Parses the display text of a numeric-edited field, checking every position against its picture symbol
 * (strict), or leniently like Cobrix (digits, signs and a point anywhere) when `lax`.
 */
export function parseEdited(
  text: string,
  pic: PictureInfo,
  asNumber: boolean,
  lax: boolean,
): DecimalValue | typeof BAD {
  return lax ? parseEditedLax(text, pic, asNumber, false) : parseEditedStrict(text, pic, asNumber);
}

function parseEditedStrict(text: string, pic: PictureInfo, asNumber: boolean): DecimalValue | typeof BAD {
  const sym = pic.symbols.replace(/[VP]/g, "");
  if (text.length !== sym.length)
    return bad(`edited PIC ${pic.text}: ${text.length} characters for ${sym.length} positions`);
  if (/^ *$/.test(text)) {
    // A zero value with full suppression prints as blanks.
    if (/[Z*+\-$]/.test(sym)) return asNumber ? 0 : formatDecimal(false, "0", pic.scale);
    return bad(`blank value for edited PIC ${pic.text}`);
  }
  let body = sym;
  let tail = "";
  if (/(CR|DB)$/.test(sym)) {
    tail = sym.slice(-2);
    body = sym.slice(0, -2);
  }
  const floatChar = ["+", "-", "$"].find((f) => body.split(f).length > 2) ?? null;
  let digits = "";
  let neg = false;
  let floatSeen = false;
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!;
    const ch = text[i]!;
    const isDigit = ch >= "0" && ch <= "9";
    let ok: boolean;
    let digitPos = false;
    if (c === "9") {
      ok = isDigit;
      digitPos = true;
    } else if (c === "Z") {
      ok = isDigit || ch === " ";
      digitPos = true;
    } else if (c === "*") {
      ok = isDigit || ch === "*";
      digitPos = true;
    } else if (floatChar && c === floatChar) {
      const first = !floatSeen;
      floatSeen = true;
      const symOk = floatChar === "$" ? ch === "$" : ch === "+" || ch === "-";
      if (ch === "-") neg = true;
      ok = ch === " " || symOk || (!first && isDigit);
      digitPos = !first;
    } else if (c === "+" || c === "-") {
      ok = ch === "-" || (c === "+" ? ch === "+" : ch === " ");
      if (ch === "-") neg = true;
    } else if (c === "$") ok = ch === "$";
    else if (c === ".") ok = ch === "." || ch === " " || ch === "*";
    else if (c === "," || c === "/") ok = ch === c || ch === " " || ch === "*";
    else if (c === "B") ok = ch === " ";
    else if (c === "0") ok = ch === "0" || ch === " " || ch === "*";
    else ok = false;
    if (!ok) return bad(`'${ch}' at position ${i + 1} does not fit '${c}' of edited PIC ${pic.text}`);
    if (digitPos) digits += isDigit ? ch : "0";
  }
  if (tail) {
    const t = text.slice(body.length);
    if (t === tail) neg = true;
    else if (t !== "  ") return bad(`'${t}' does not fit '${tail}' of edited PIC ${pic.text}`);
  }
  return digitsToValue(neg, digits, pic.scale, asNumber);
}

function parseEditedLax(
  text: string,
  pic: PictureInfo,
  asNumber: boolean,
  blankAsZero: boolean,
): DecimalValue | typeof BAD {
  let digits = "";
  let neg = false;
  let sawPoint = false;
  let fracDigits = 0;
  let sawAny = false;
  const t = text.toUpperCase();
  for (let i = 0; i < t.length; i++) {
    const c = t[i]!;
    if (c >= "0" && c <= "9") {
      digits += c;
      sawAny = true;
      if (sawPoint) fracDigits++;
    } else if (c === "-") neg = true;
    else if (c === "+" || c === " " || c === "*" || c === "$" || c === "/" || c === ",") {
      // insertion / suppression characters
    } else if (c === ".") sawPoint = true;
    else if ((c === "C" && t[i + 1] === "R") || (c === "D" && t[i + 1] === "B")) {
      neg = true;
      i++;
    } else return bad(`'${c}' is not valid in edited PIC ${pic.text}`);
  }
  if (!sawAny) {
    if (blankAsZero || /[Z*]/.test(pic.symbols)) return asNumber ? 0 : formatDecimal(false, "0", pic.scale);
    return bad(`no digits in edited PIC ${pic.text}`);
  }
  // Align digits to the picture's scale (explicit point gives its own count).
  const scale = pic.scale;
  if (pic.explicitPoint && sawPoint && fracDigits !== scale) {
    if (fracDigits > scale) return bad(`more decimal places than PIC ${pic.text}`);
    digits += "0".repeat(scale - fracDigits);
  }
  return digitsToValue(neg, digits, scale, asNumber);
}

/** Formats a value into the display text of a numeric-edited picture. */
export function formatEdited(value: unknown, pic: PictureInfo): string {
  const d = valueToDigits(value, pic.digits, pic.scale);
  if (typeof d === "string") throw new RangeError(d);
  const sym = pic.symbols.replace(/[VP]/g, (m) => (m === "V" ? "V" : ""));
  let body = sym;
  let tail = "";
  if (/(CR|DB)$/.test(sym)) {
    tail = sym.slice(-2);
    body = sym.slice(0, -2);
  }
  const isZero = !/[1-9]/.test(d.digits);
  const floatChar =
    ["+", "-", "$"].find((f) => (body.match(new RegExp(`\\${f}`, "g")) ?? []).length > 1) ?? null;
  let di = 0;
  let significant = false;
  let out = "";
  let floatPending = false;
  let floatSeen = false;
  const signChar = (c: string): string => (c === "+" ? (d.neg ? "-" : "+") : d.neg ? "-" : " ");
  const pointIdx = body.search(/[.V]/);
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!;
    const afterPoint = pointIdx >= 0 && i > pointIdx;
    if (c === "V") continue;
    if (c === "9") {
      significant = true;
      out += d.digits[di++]!;
    } else if (c === "Z" || c === "*") {
      const digit = d.digits[di++]!;
      if (digit !== "0" || afterPoint) significant = true;
      if (!significant || (isZero && afterPoint && c === "Z")) out += c === "*" ? "*" : " ";
      else out += digit;
    } else if (floatChar && c === floatChar) {
      if (!floatSeen) {
        floatSeen = true;
        floatPending = true;
        out += " ";
        continue;
      }
      const digit = d.digits[di++]!;
      if (digit !== "0" || afterPoint) significant = true;
      if (!significant) out += " ";
      else {
        if (floatPending) {
          // Put the floating symbol just left of the first significant digit.
          const sc = floatChar === "$" ? "$" : signChar(floatChar);
          out = `${out.slice(0, -1)}${sc}`;
          floatPending = false;
        }
        out += digit;
      }
    } else if (c === "+" || c === "-") out += signChar(c);
    else if (c === "$") out += "$";
    else if (c === ".") {
      if (floatPending && floatChar) {
        const sc = floatChar === "$" ? "$" : signChar(floatChar);
        out = `${out.slice(0, -1)}${sc}`;
        floatPending = false;
      }
      significant = true;
      out += ".";
    } else if (c === "," || c === "/" || c === "0" || c === "B") {
      const ins = c === "B" ? " " : c;
      out += significant ? ins : body.includes("*") ? "*" : " ";
    } else out += c;
  }
  if (floatPending && floatChar && !isZero) {
    out = `${out.slice(0, -1)}${floatChar === "$" ? "$" : signChar(floatChar)}`;
  }
  if (tail) out += d.neg ? tail : "  ";
  return out;
}

// Compiles a record layout into specialised JavaScript (new Function) for decoding, sizing and encoding.
// Generated code reads bytes at constant offsets (plus a running base after variable tables), inlines the
// common numeric cases, and calls small monomorphic helpers for the rest. No per-field interpretation at
// run time: the layout is walked once, here.
import { type CodePage, decodeText, shortTextCache, TextBlock } from "./codepages.ts";
import { CopybookLayoutError, hexOf, RecordDecodeError, RecordEncodeError } from "./errors.ts";

function layoutErr(n: LayoutNode, message: string): CopybookLayoutError {
  return new CopybookLayoutError(n.pos.file, n.pos.line, n.pos.column, n.name, message);
}
import type { FieldType, LayoutNode, RecordLayout } from "./layout.ts";
import {
  BAD,
  decodeBinaryGeneric,
  formatDecimal,
  digitsToValue,
  formatEdited,
  parseEdited,
  POW10,
  readIbmFloat,
  readIeee,
  takeReason,
  valueToDigits,
  writeBigInt,
  writeIbmFloat,
  writeIeee,
} from "./numeric.ts";
import { decodeZoned, encodeZoned, ZONE_SIGN, type ZonedSpec } from "./zoned.ts";

/** Public description of a field, given to custom field codecs. */
export interface FieldInfo {
  readonly name: string;
  readonly path: string;
  /** Offset from the record start (max-size layout, first occurrence). */
  readonly offset: number;
  readonly size: number;
  readonly picture: string | undefined;
  readonly usage: string;
  readonly kind: FieldType["kind"];
}

/** A custom decoder/encoder for fields matched by name (house rules such as bitmap24). */
export interface FieldCodecRule {
  /** Exact field name, a RegExp tested on the name, or a predicate. */
  readonly match: string | RegExp | ((field: FieldInfo) => boolean);
  /** Returns the field value; throw (any Error) to reject the bytes. */
  decode(bytes: Uint8Array, offset: number, length: number, field: FieldInfo): unknown;
  /** Writes `length` bytes at `offset`; throw to reject the value. */
  encode(value: unknown, bytes: Uint8Array, offset: number, length: number, field: FieldInfo): void;
}

export type FloatFormat = "ibm" | "ibm-le" | "ieee" | "ieee-le";

/** Selects which branch of a REDEFINES set is active for a record. */
export type RedefineSelector =
  | { readonly field: string; readonly branches: Readonly<Record<string, readonly (string | number)[]>> }
  | ((record: Record<string, unknown>) => string | null | undefined);

export interface GenOptions {
  strict: boolean;
  trim: number;
  pageFor: (n: LayoutNode) => CodePage;
  floatFormat: FloatFormat;
  variableOccurs: "shift" | "max";
  nullDetection: boolean;
  relaxedSign: boolean;
  displaySpaces: boolean;
  outName: (n: LayoutNode) => string | null;
  hookFor: (n: LayoutNode) => FieldCodecRule | undefined;
  /** Selector of the REDEFINES set whose first (redefined) item is `n`. */
  selectorFor: (n: LayoutNode) => { selector: RedefineSelector; segField?: LayoutNode } | undefined;
  occursMapping: (n: LayoutNode) => Readonly<Record<string, number>> | undefined;
  /** Nodes to emit (null = all). Ancestors of emitted nodes are emitted as containers. */
  emit: Set<LayoutNode> | null;
  trailing: "error" | "ignore";
  /** Binary (non COMP-5) values beyond the PIC digits: "full" accepts them (TRUNC(BIN)), "pic" rejects. */
  binaryRange: "full" | "pic";
}

export interface DecodeContext {
  size: number;
  corrupt: CorruptField[] | null;
}

export interface CorruptField {
  readonly field: string;
  readonly offset: number;
  readonly bytes: string;
  readonly reason: string;
}

export type DecodeFn = (
  b: Uint8Array,
  base: number,
  end: number,
  ctx: DecodeContext,
) => Record<string, unknown>;
export type SizeFn = (b: Uint8Array, base: number, end: number) => number;
export type EncodeFn = (o: Record<string, unknown>, b: Uint8Array, base: number) => number;

export function fieldInfo(n: LayoutNode): FieldInfo {
  return {
    name: n.name,
    path: n.path,
    offset: n.offset,
    size: n.size,
    picture: n.picture?.text,
    usage: n.usage,
    kind: n.type?.kind ?? "raw",
  };
}

/** Which numbers a field yields: JS number when every value is exact in a double. */
export function isNumberTyped(t: FieldType, size: number): boolean {
  switch (t.kind) {
    case "zoned":
    case "packed":
    case "edited":
      return (
        (t.kind === "edited" ? t.picture.digits : t.kind === "packed" && t.noSign ? size * 2 : t.digits) <= 15
      );
    case "binary":
      if (t.native) return size <= 4;
      return t.digits <= 15;
    case "float":
      return true;
    default:
      return false;
  }
}

const PK = new Uint8Array(256).fill(128); // packed byte -> two digits, 128 = invalid nibble
for (let h = 0; h < 10; h++) for (let l = 0; l < 10; l++) PK[(h << 4) | l] = h * 10 + l;
const ZD = new Uint8Array(256).fill(16); // EBCDIC zoned byte (zone F) -> digit, 16 = invalid
for (let d = 0; d < 10; d++) ZD[0xf0 | d] = d;
const PACK_SIGN = new Int8Array(16); // packed sign nibble -> 1 / -1 / 0 invalid (IBM)
PACK_SIGN[0xc] = 1;
PACK_SIGN[0xa] = 1;
PACK_SIGN[0xe] = 1;
PACK_SIGN[0xf] = 1;
PACK_SIGN[0xd] = -1;
PACK_SIGN[0xb] = -1;
const PACK_BYTE = new Uint8Array(100); // 0..99 -> packed byte of two digits
for (let i = 0; i < 100; i++) PACK_BYTE[i] = (Math.floor(i / 10) << 4) | (i % 10);
const DIG2: string[] = [];
for (let i = 0; i < 100; i++) DIG2.push(String(i).padStart(2, "0"));

function decodePackedGeneric(
  b: Uint8Array,
  p: number,
  len: number,
  signed: boolean,
  noSign: boolean,
  scale: number,
  asNumber: boolean,
  picDigits = 0,
): unknown {
  // An even digit count leaves the first nibble as padding: it must be 0 or the value exceeds the PIC.
  if (!noSign && picDigits > 0 && picDigits < len * 2 - 1 && b[p]! >> 4 !== 0) {
    return badR(`value exceeds the PIC's ${picDigits} digits (first nibble must be 0)`);
  }
  if (scale === 0 && !asNumber) return packedIntegerString(b, p, len, signed, noSign);
  // Digits in chunks of 14 accumulated as numbers (exact), one string per chunk.
  let digits = "";
  let chunk = 0;
  let cnt = 0;
  const last = noSign ? len : len - 1;
  for (let i = 0; i < last; i++) {
    const x = PK[b[p + i]!]!;
    if (x === 128) return badR("invalid packed digit nibble");
    chunk = chunk * 100 + x;
    cnt += 2;
    if (cnt === 14) {
      digits += String(chunk + 1e14).slice(1);
      chunk = 0;
      cnt = 0;
    }
  }
  if (cnt > 0) digits += String(chunk + 10 ** cnt).slice(1);
  let neg = false;
  if (!noSign) {
    const x = b[p + len - 1]!;
    const hi = x >> 4;
    if (hi > 9) return badR("invalid packed digit nibble");
    digits += String.fromCharCode(48 + hi);
    const s = PACK_SIGN[x & 15]!;
    if (s === 0) return badR(`invalid packed sign nibble ${(x & 15).toString(16).toUpperCase()}`);
    if (s < 0) {
      if (!signed) return badR("negative sign in an unsigned packed field");
      neg = true;
    }
  }
  return digitsToValue(neg, digits, scale, asNumber);
}

/** Nibble k of the bytes from p, most significant first. */
function nibbleAt(b: Uint8Array, p: number, k: number): number {
  return (b[p + (k >> 1)]! >> (k & 1 ? 0 : 4)) & 15;
}

/**
 * decodePackedGeneric of an integer as a decimal string (17-digit timestamps, wide ids): the
 * significant digits are read into numbers of at most 15 digits, so the string is made from one to
 * three number conversions (no per-chunk padding of leading zeros, no trimming afterwards).
 */
function packedIntegerString(
  b: Uint8Array,
  p: number,
  len: number,
  signed: boolean,
  noSign: boolean,
): unknown {
  const total = noSign ? len * 2 : len * 2 - 1; // digit nibbles
  let acc = 0;
  for (let i = 0; i < total >> 1; i++) acc |= PK[b[p + i]!]!;
  if (acc & 128) return badR("invalid packed digit nibble");
  let neg = false;
  if (!noSign) {
    const x = b[p + len - 1]!;
    if (x >> 4 > 9) return badR("invalid packed digit nibble");
    const s = PACK_SIGN[x & 15]!;
    if (s === 0) return badR(`invalid packed sign nibble ${(x & 15).toString(16).toUpperCase()}`);
    if (s < 0) {
      if (!signed) return badR("negative sign in an unsigned packed field");
      neg = true;
    }
  }
  let k = 0;
  while (k < total && nibbleAt(b, p, k) === 0) k++;
  if (k === total) return "0";
  const sig = total - k;
  let out = "";
  // First chunk: the digits above the last multiples of 15; then chunks of 15 with their zeros.
  let chunk = sig % 15 || 15;
  while (k < total) {
    let n = 0;
    for (let end = k + chunk; k < end; k++) n = n * 10 + nibbleAt(b, p, k);
    out = out === "" ? String(n) : out + String(n + 1e15).slice(1);
    chunk = 15;
  }
  return neg ? `-${out}` : out;
}

/** The checks of decodePackedGeneric alone: BAD (reason set) where it fails, else 0. */
function checkPackedGeneric(
  b: Uint8Array,
  p: number,
  len: number,
  signed: boolean,
  noSign: boolean,
  picDigits: number,
): 0 | typeof BAD {
  if (!noSign && picDigits > 0 && picDigits < len * 2 - 1 && b[p]! >> 4 !== 0) {
    return badR(`value exceeds the PIC's ${picDigits} digits (first nibble must be 0)`);
  }
  const last = noSign ? len : len - 1;
  let acc = 0;
  for (let i = 0; i < last; i++) acc |= PK[b[p + i]!]!;
  if (acc & 128) return badR("invalid packed digit nibble");
  if (!noSign) {
    const x = b[p + len - 1]!;
    if (x >> 4 > 9) return badR("invalid packed digit nibble");
    const s = PACK_SIGN[x & 15]!;
    if (s === 0) return badR(`invalid packed sign nibble ${(x & 15).toString(16).toUpperCase()}`);
    if (s < 0 && !signed) return badR("negative sign in an unsigned packed field");
  }
  return 0;
}

/** EBCDIC zoned decimal of more than 15 digits (sign overpunched at signAt, or -1 unsigned) -> decimal string. */
function decodeZonedBig(b: Uint8Array, p: number, len: number, signAt: number, scale: number): unknown {
  let digits = "";
  let chunk = 0;
  let cnt = 0;
  let neg = false;
  for (let i = 0; i < len; i++) {
    const x = b[p + i]!;
    const d = x & 15;
    if (d > 9) return badR("invalid zoned digit");
    const zone = x >> 4;
    if (i === signAt) {
      const sg = ZONE_SIGN[zone]!;
      if (sg === 0) return badR("invalid sign zone");
      if (sg < 0) neg = true;
    } else if (zone !== 15)
      return badR(
        signAt < 0 && i === len - 1 ? "overpunched sign in an unsigned field" : "invalid zoned digit",
      );
    chunk = chunk * 10 + d;
    if (++cnt === 15) {
      digits += String(chunk + 1e15).slice(1);
      chunk = 0;
      cnt = 0;
    }
  }
  if (cnt > 0) digits += String(chunk + 10 ** cnt).slice(1);
  return formatDecimal(neg, digits, scale);
}

let reason = "";
function badR(r: string): typeof BAD {
  reason = r;
  return BAD;
}
function lastReason(): string {
  const r = reason || takeReason();
  reason = "";
  return r;
}

function decodeNational(b: Uint8Array, p: number, len: number, trim: number): string {
  let s = "";
  for (let i = 0; i + 1 < len; i += 2) s += String.fromCharCode((b[p + i]! << 8) | b[p + i + 1]!);
  if (trim & 2) s = s.replace(/[\u0000-\u0020]+$/, "");
  if (trim & 1) s = s.replace(/^[\u0000-\u0020]+/, "");
  return s;
}

function allOf(b: Uint8Array, p: number, len: number, x: number, y: number): boolean {
  for (let i = 0; i < len; i++) {
    const c = b[p + i];
    if (c !== x && c !== y) return false;
  }
  return true;
}

function rawHex(b: Uint8Array, p: number, len: number): string {
  return hexOf(b, p, p + len, len);
}

/** Runtime support passed to generated code. */
interface Env {
  [k: string]: unknown;
}

class Emitter {
  readonly lines: string[] = [];
  private readonly envNames = new Map<unknown, string>();
  readonly env: Env = {};
  private seq = 0;
  constant(prefix: string, value: unknown): string {
    const hit = this.envNames.get(value);
    if (hit) return hit;
    const name = `${prefix}${this.seq++}`;
    this.envNames.set(value, name);
    this.env[name] = value;
    return name;
  }
  line(s: string): void {
    this.lines.push(s);
  }
  uid(): number {
    return this.seq++;
  }
  /** Module-level functions of the generated code (chunks of very wide records). */
  readonly preamble: string[] = [];
  build<T>(params: string, body: string): T {
    const names = Object.keys(this.env);
    const src = `"use strict";\n${names.map((n) => `const ${n} = ENV.${n};`).join("\n")}\n${this.preamble.join("\n")}\nreturn function (${params}) {\n${body}\n};`;
    return new Function("ENV", src)(this.env) as T;
  }
}

interface Pos {
  v: string;
  anchor: number;
}

const COMMON_ENV: Env = {
  PK,
  ZD,
  PACK_SIGN,
  ZONE_SIGN,
  BAD,
  POW10,
  DT: decodeText,
  DN: decodeNational,
  DZ: decodeZoned,
  DZB: decodeZonedBig,
  DP: decodePackedGeneric,
  DPV: checkPackedGeneric,
  DBIN: decodeBinaryGeneric,
  RIEEE: readIeee,
  RIBM: readIbmFloat,
  PED: parseEdited,
  ALLOF: allOf,
  HEX: rawHex,
  REASON: lastReason,
};

function q(s: string): string {
  return JSON.stringify(s);
}

function endOf(n: LayoutNode): number {
  return n.offset + n.size * (n.occurs ? n.occurs.max : 1);
}

/** Test of a segment id: ids given as "3" also match the number 3 of a numeric segment field, and back. */
function idTest(id: string | number): string {
  const alts = new Set<string>([JSON.stringify(id)]);
  if (typeof id === "number") alts.add(JSON.stringify(String(id)));
  else if (/^-?\d+(\.\d+)?$/.test(id.trim())) alts.add(String(Number(id)));
  return [...alts].map((a) => `x === ${a}`).join(" || ");
}

/**
 * Generates the decoder (or, with sizeOnly, the record sizer) of a layout. With validateOnly (strict
 * mode only), a checker: it runs every check of the decoder and throws the same RecordDecodeError, but
 * builds no record (text, hex and float fields, which cannot fail, are not even read); it returns
 * undefined. Layouts with REDEFINES selectors get no checker (null): a selector reads decoded values.
 */
export function generateDecoder(layout: RecordLayout, o: GenOptions, sizeOnly?: boolean): DecodeFn | SizeFn;
export function generateDecoder(
  layout: RecordLayout,
  o: GenOptions,
  sizeOnly: false,
  validateOnly: true,
): DecodeFn | null;
export function generateDecoder(
  layout: RecordLayout,
  o: GenOptions,
  sizeOnly = false,
  validateOnly = false,
): DecodeFn | SizeFn | null {
  if (validateOnly && (!o.strict || sizeOnly || o.emit)) return null;
  if (validateOnly && layout.nodes.some((n) => n.redefinedBy.length > 0 && o.selectorFor(n) !== undefined)) {
    return null;
  }
  const e = new Emitter();
  for (const [k, v] of Object.entries(COMMON_ENV)) e.env[k] = v;
  const root = layout.root;
  const shift = o.variableOccurs === "shift";

  // Needed nodes: emitted ones, plus counters of tables and segment fields of selectors.
  const emitSet = o.emit;
  const isEmitted = (n: LayoutNode): boolean => {
    if (sizeOnly) return false;
    if (!emitSet) return true;
    for (let p: LayoutNode | null = n; p; p = p.parent) if (emitSet.has(p)) return true;
    return false;
  };
  const containsEmitted = new Set<LayoutNode>();
  if (!sizeOnly) {
    for (const n of layout.nodes) {
      if (isEmitted(n)) for (let p: LayoutNode | null = n; p; p = p.parent) containsEmitted.add(p);
    }
  }
  const dependency = new Set<LayoutNode>();
  for (const n of layout.nodes) {
    if (n.occurs?.dependingOn) dependency.add(n.occurs.dependingOn);
    if (n.redefinedBy.length) {
      const sel = o.selectorFor(n);
      if (sel?.segField) dependency.add(sel.segField);
    }
  }

  // Error helpers: field-level failures
  const errFn = (n: LayoutNode): string => e.constant("F", n);
  e.env.MKERR = (n: LayoutNode, b: Uint8Array, p: number, base: number, len: number, why: string) =>
    new RecordDecodeError(n.path, p - base, hexOf(b, p, p + len), why);
  e.env.CORRUPT = (
    ctx: DecodeContext | null,
    n: LayoutNode,
    b: Uint8Array,
    p: number,
    base: number,
    len: number,
    why: string,
  ) => {
    // ctx is null in the record sizer: it only needs the table counts.
    if (ctx)
      (ctx.corrupt ??= []).push({
        field: n.path,
        offset: p - base,
        bytes: hexOf(b, p, p + len),
        reason: why,
      });
  };
  const failStmt = (n: LayoutNode, v: string, p: string, len: string | number, why: string): string =>
    o.strict
      ? `throw MKERR(${errFn(n)}, b, ${p}, base, ${len}, ${why});`
      : `{ ${v} = null; CORRUPT(ctx, ${errFn(n)}, b, ${p}, base, ${len}, ${why}); }`;

  const W = (s: string): void => e.line(s);

  // ---------------------------------------------------------------- elementary fields
  // Text fields at fixed offsets from `base`, decoded together by a TextBlock per code page.
  const blocks = new Map<
    string,
    { page: CodePage; trim: number; offsets: number[]; lengths: number[]; name: string }
  >();
  const genField = (n: LayoutNode, v: string, p: string, fixedOffset: number | null = null): void => {
    const t = n.type!;
    const len = n.size;
    const hook = o.hookFor(n);
    if (hook) {
      const h = e.constant("H", hook);
      const fi = e.constant("FI", fieldInfo(n));
      W(
        `try { ${v} = ${h}.decode(b, ${p}, ${len}, ${fi}); } catch (err) { ${failStmt(n, v, p, len, "(err && err.message) || String(err)")} }`,
      );
      return;
    }
    const asNumber = isNumberTyped(t, len);
    if (validateOnly && !dependency.has(n)) {
      // Checker: these decodings cannot fail, and wide packed numbers are checked without their string.
      if (t.kind === "text" || t.kind === "national" || t.kind === "raw" || t.kind === "float") return;
      if (t.kind === "packed" && (!asNumber || t.noSign)) {
        const guard = o.nullDetection
          ? `!ALLOF(b, ${p}, ${len}, 0, 0x40) && !ALLOF(b, ${p}, ${len}, 0, 0x20) && `
          : "";
        W(
          `if (${guard}DPV(b, ${p}, ${len}, ${t.signed}, ${t.noSign}, ${t.digits}) === BAD) ${failStmt(n, v, p, len, "REASON()")}`,
        );
        return;
      }
    }
    // Null detection (Cobrix): DISPLAY and packed numbers of only 0x00 / spaces are null; binary zeros are 0.
    const numericNull = o.nullDetection && (t.kind === "zoned" || t.kind === "packed" || t.kind === "edited");
    let open = "";
    if (numericNull) {
      W(`if (ALLOF(b, ${p}, ${len}, 0, 0x40) || ALLOF(b, ${p}, ${len}, 0, 0x20)) ${v} = null; else {`);
      open = "}";
    }
    const page = o.pageFor(n);
    switch (t.kind) {
      case "text": {
        // JUSTIFIED RIGHT pads on the left: the trimming policy applies mirrored.
        const trim = t.justified ? ((o.trim & 1) << 1) | ((o.trim & 2) >> 1) : o.trim;
        if (len <= 4) {
          const cache = shortTextCache(page, trim);
          if (len === 1) {
            const one = e.constant("S1_", cache.one);
            W(`${v} = ${o.nullDetection ? `b[${p}] === 0 ? null : ` : ""}${one}[b[${p}]];`);
          } else {
            const c = e.constant("SC", cache);
            W(
              `${v} = ${o.nullDetection ? `ALLOF(b, ${p}, ${len}, 0, 0) ? null : ` : ""}${c}.get(b, ${p}, ${len});`,
            );
          }
          break;
        }
        if (fixedOffset !== null) {
          const bkey = `${page.name}/${trim}`;
          let blk = blocks.get(bkey);
          if (!blk) {
            blk = { page, trim, offsets: [], lengths: [], name: `TB${e.uid()}` };
            blocks.set(bkey, blk);
          }
          const k = blk.offsets.length;
          blk.offsets.push(fixedOffset);
          blk.lengths.push(len);
          W(
            `${v} = ${o.nullDetection ? `ALLOF(b, ${p}, ${len}, 0, 0) ? null : ` : ""}${blk.name}.get(${k}, b, base);`,
          );
          break;
        }
        const pg = e.constant("PG", page);
        if (o.nullDetection)
          W(`${v} = ALLOF(b, ${p}, ${len}, 0, 0) ? null : DT(${pg}, b, ${p}, ${p} + ${len}, ${trim});`);
        else W(`${v} = DT(${pg}, b, ${p}, ${p} + ${len}, ${trim});`);
        break;
      }
      case "national":
        W(`${v} = DN(b, ${p}, ${len}, ${o.trim});`);
        break;
      case "raw":
        W(`${v} = HEX(b, ${p}, ${len});`);
        break;
      case "zoned": {
        const inline =
          page.ebcdic &&
          asNumber &&
          !t.separate &&
          t.pointAt < 0 &&
          !o.displaySpaces &&
          !o.relaxedSign &&
          t.digits >= 1;
        if (
          !inline &&
          !asNumber &&
          page.ebcdic &&
          !t.separate &&
          t.pointAt < 0 &&
          !o.displaySpaces &&
          !o.relaxedSign
        ) {
          const signAt = t.signed ? (t.signPosition === "leading" ? 0 : len - 1) : -1;
          W(`${v} = DZB(b, ${p}, ${len}, ${signAt}, ${t.scale});`);
          W(`if (${v} === BAD) ${failStmt(n, v, p, len, "REASON()")}`);
          break;
        }
        if (!inline) {
          const spec: ZonedSpec = {
            digits: t.digits,
            scale: t.scale,
            signed: t.signed,
            signPosition: t.signPosition,
            separate: t.separate,
            pointAt: t.pointAt,
            ebcdic: page.ebcdic,
            relaxedSign: o.relaxedSign,
            spaces: o.displaySpaces,
          };
          const sp = e.constant("ZS", spec);
          W(`${v} = DZ(b, ${p}, ${len}, ${sp}, ${asNumber});`);
          W(`if (${v} === BAD) ${failStmt(n, v, p, len, "REASON()")}`);
          break;
        }
        const signAt = t.signed ? (t.signPosition === "leading" ? 0 : len - 1) : len - 1;
        W(`{ let n = 0, acc = 0, d;`);
        for (let i = 0; i < len; i++) {
          if (i === signAt) continue;
          W(`d = ZD[b[${p} + ${i}]]; acc |= d; n = n * 10 + d;`);
        }
        W(
          `const sx = b[${p} + ${signAt}], sd = sx & 15, sg = ${t.signed ? "ZONE_SIGN[sx >> 4]" : "(sx >> 4) === 15 ? 1 : 0"};`,
        );
        // Digits were accumulated skipping the sign byte: put its digit in place.
        if (signAt === len - 1) W(`n = n * 10 + sd;`);
        else W(`n = n + sd * ${10 ** (len - 1)};`);
        const scaleExpr = t.scale > 0 ? ` / ${10 ** t.scale}` : t.scale < 0 ? ` * ${10 ** -t.scale}` : "";
        W(
          `if ((acc & 16) !== 0 || sd > 9 || sg === 0) ${failStmt(n, v, p, len, `(acc & 16) !== 0 || sd > 9 ? "invalid zoned digit" : ${q(t.signed ? "invalid sign zone" : "overpunched sign in an unsigned field")}`)}`,
        );
        W(`else ${v} = sg < 0 && n !== 0 ? -(n${scaleExpr}) : n${scaleExpr}; }`);
        break;
      }
      case "packed": {
        if (!asNumber || t.noSign) {
          W(`${v} = DP(b, ${p}, ${len}, ${t.signed}, ${t.noSign}, ${t.scale}, ${asNumber}, ${t.digits});`);
          W(`if (${v} === BAD) ${failStmt(n, v, p, len, "REASON()")}`);
          break;
        }
        W(`{ let n = 0, acc = 0, d;`);
        for (let i = 0; i < len - 1; i++) W(`d = PK[b[${p} + ${i}]]; acc |= d; n = n * 100 + d;`);
        W(`const lx = b[${p} + ${len - 1}], hi = lx >> 4, sg = PACK_SIGN[lx & 15];`);
        W(`n = n * 10 + hi;`);
        const scaleExpr = t.scale > 0 ? ` / ${10 ** t.scale}` : t.scale < 0 ? ` * ${10 ** -t.scale}` : "";
        const signOk = t.signed ? "sg === 0" : "sg <= 0";
        if (t.digits < len * 2 - 1) {
          // Even digit count: the first nibble is padding and must be 0 (else the value exceeds the PIC).
          W(
            `if ((b[${p}] >> 4) !== 0) ${failStmt(n, v, p, len, q(`value exceeds the PIC's ${t.digits} digits (first nibble must be 0)`))} else`,
          );
        }
        W(
          `if ((acc & 128) !== 0 || hi > 9 || ${signOk}) ${failStmt(n, v, p, len, `(acc & 128) !== 0 || hi > 9 ? "invalid packed digit nibble" : sg === 0 ? "invalid packed sign nibble " + (lx & 15).toString(16).toUpperCase() : "negative sign in an unsigned packed field"`)}`,
        );
        W(`else ${v} = sg < 0 && n !== 0 ? -(n${scaleExpr}) : n${scaleExpr}; }`);
        break;
      }
      case "binary": {
        const scaleExpr = t.scale > 0 ? ` / ${10 ** t.scale}` : t.scale < 0 ? ` * ${10 ** -t.scale}` : "";
        const limit = !t.native && o.binaryRange === "pic" ? 10 ** Math.min(t.digits, 17) : 0;
        const rangeCheck = (x: string): void => {
          if (limit)
            W(
              `if (${x} >= ${limit} || ${x} <= -${limit}) ${failStmt(n, v, p, len, q(`value exceeds PIC ${t.digits} digits`))} else`,
            );
        };
        if (!t.littleEndian && asNumber && (len === 2 || len === 4)) {
          let x: string;
          if (len === 2)
            x = t.signed ? `(((b[${p}] << 24) >> 16) | b[${p} + 1])` : `((b[${p}] << 8) | b[${p} + 1])`;
          else {
            x = `((b[${p}] << 24) | (b[${p} + 1] << 16) | (b[${p} + 2] << 8) | b[${p} + 3])`;
            if (!t.signed) x = `(${x} >>> 0)`;
          }
          W(`{ const n = ${x};`);
          rangeCheck("n");
          W(`${v} = n${scaleExpr}; }`);
          break;
        }
        if (!t.littleEndian && asNumber && len === 8) {
          W(`{ const hi = (b[${p}] << 24) | (b[${p} + 1] << 16) | (b[${p} + 2] << 8) | b[${p} + 3];`);
          W(
            `const lo = ((b[${p} + 4] << 24) | (b[${p} + 5] << 16) | (b[${p} + 6] << 8) | b[${p} + 7]) >>> 0;`,
          );
          if (t.signed) {
            W(
              `if (hi > 0x1fffff || hi < -0x200000) ${failStmt(n, v, p, len, q("binary value exceeds the exact range of a number"))}`,
            );
            W(`else { const n = hi * 4294967296 + lo;`);
          } else {
            W(
              `if ((hi >>> 0) > 0x1fffff) ${failStmt(n, v, p, len, q("binary value exceeds the exact range of a number"))}`,
            );
            W(`else { const n = (hi >>> 0) * 4294967296 + lo;`);
          }
          rangeCheck("n");
          W(`${v} = n${scaleExpr}; } }`);
          break;
        }
        W(`${v} = DBIN(b, ${p}, ${len}, ${t.signed}, ${t.littleEndian}, ${t.scale}, ${asNumber});`);
        W(`if (${v} === BAD) ${failStmt(n, v, p, len, "REASON()")}`);
        break;
      }
      case "float": {
        const ibm = o.floatFormat.startsWith("ibm");
        const le = o.floatFormat.endsWith("-le");
        W(`${v} = ${ibm ? "RIBM" : "RIEEE"}(b, ${p}, ${t.bytes}, ${le});`);
        break;
      }
      case "edited": {
        const pg = e.constant("PG", page);
        const pic = e.constant("PIC", t.picture);
        W(`${v} = PED(DT(${pg}, b, ${p}, ${p} + ${len}, 0), ${pic}, ${asNumber}, ${o.displaySpaces});`);
        W(`if (${v} === BAD) ${failStmt(n, v, p, len, "REASON()")}`);
        break;
      }
    }
    if (open) W(open);
  };

  // ---------------------------------------------------------------- walk
  const rootEnd = endOf(root);
  const posExpr = (pos: Pos, off: number): string => {
    const k = off - pos.anchor;
    return k === 0 ? pos.v : `${pos.v} + ${k}`;
  };
  const fieldVar = (n: LayoutNode): string => `v${n.id}`;

  // Is the node (and what it contains) worth generating in this mode?
  const mustVisit = (n: LayoutNode): boolean => {
    if (containsEmitted.has(n)) return true;
    if (shift && n.variable) return true;
    for (const d of dependency) {
      for (let p: LayoutNode | null = d; p; p = p.parent) if (p === n) return true;
    }
    return false;
  };

  // Segmented records: when a selector picks REDEFINES branches, a record is as long as its fixed part plus
  // its active branch (a short segment is valid; Cobrix pads it). Only for fixed layouts, sets outside tables.
  const listedBranches = new Set<LayoutNode>();
  for (const n of layout.nodes) {
    if (!n.redefinedBy.length) continue;
    const sel = o.selectorFor(n);
    if (!sel) continue;
    for (const x of [n, ...n.redefinedBy]) {
      const listed =
        typeof sel.selector === "function" ||
        x.name in sel.selector.branches ||
        x.name.replace(/-/g, "_") in sel.selector.branches;
      let inTable = false;
      for (let p: LayoutNode | null = x; p; p = p.parent) if (p.occurs) inTable = true;
      if (listed && !inTable) listedBranches.add(x);
    }
  }
  const segmented = !sizeOnly && !emitSet && !(shift && root.variable) && listedBranches.size > 0;
  let baseNeed = 0;
  if (segmented) {
    for (const n of layout.nodes) {
      if (n.kind !== "field") continue;
      let under = false;
      for (let p: LayoutNode | null = n; p; p = p.parent) if (listedBranches.has(p)) under = true;
      if (!under) baseNeed = Math.max(baseNeed, endOf(n));
    }
  }

  // Where a generated value goes: a property of an object built incrementally (var), a property of an
  // object literal built once its values are known (props: one hidden class, no transitions), or a variable.
  type Sink =
    | { kind: "var"; name: string; keys?: string[] }
    | { kind: "props"; list: string[] }
    | { kind: "assign"; name: string };
  const put = (sink: Sink | null, key: string | null, expr: string): void => {
    if (!sink || key === null) return;
    if (sink.kind === "var") {
      W(`${sink.name}[${key}] = ${expr};`);
      sink.keys?.push(key);
    } else if (sink.kind === "props") sink.list.push(`${key}: ${expr}`);
    else W(`${sink.name} = ${expr};`);
  };
  const hasFunctionSelector = layout.nodes.some((n) => {
    const sel = n.redefinedBy.length ? o.selectorFor(n) : undefined;
    return sel !== undefined && typeof sel.selector === "function";
  });
  // Groups whose children include a selected REDEFINES set get their properties one by one (inactive
  // branches are absent, not undefined).
  const incremental = (n: LayoutNode): boolean =>
    n.children.some((c) => c.redefinedBy.length > 0 && o.selectorFor(c) !== undefined);
  /** Builds a group object (or null) from its children; returns [end position, object expression]. */
  const genGroupObject = (n: LayoutNode, pos: Pos, wanted: boolean): [Pos, string | null] => {
    if (!wanted) return [genChildren(n, pos, null), null];
    const ov = `o${n.id}`;
    if (incremental(n)) {
      W(`const ${ov} = {};`);
      return [genChildren(n, pos, { kind: "var", name: ov }), ov];
    }
    if (chunkable(n, pos)) {
      genChunked(n, pos, ov);
      return [pos, ov];
    }
    const list: string[] = [];
    const end = genChildren(n, pos, { kind: "props", list });
    W(`const ${ov} = {${list.join(", ")}};`);
    return [end, ov];
  };

  // Very wide groups: V8 does not optimise very large functions, so the children of a group with many
  // of them are decoded by module-level chunk functions of CHUNK children each, storing into an object
  // whose shape is created up front. Only for static groups at fixed offsets, without counters or
  // selected REDEFINES inside (no values cross chunks).
  const CHUNK = 32;
  const chunkable = (n: LayoutNode, pos: Pos): boolean => {
    if (sizeOnly || pos.v !== "base" || (shift && n.variable)) return false;
    const kids = n.children.filter((c) => c.level !== 66 && !c.redefines);
    if (kids.length <= CHUNK) return false;
    for (const x of layout.nodes) {
      if (x === n) continue;
      let inside = false;
      for (let p: LayoutNode | null = x.parent; p; p = p.parent) if (p === n) inside = true;
      if (!inside) continue;
      if (dependency.has(x)) return false;
      if (x.redefinedBy.length && o.selectorFor(x)) return false;
    }
    return true;
  };
  const genChunked = (n: LayoutNode, pos: Pos, ov: string): void => {
    const kids = n.children.filter((c) => c.level !== 66 && !c.redefines);
    const keys: string[] = [];
    const calls: string[] = [];
    for (let i = 0; i < kids.length; i += CHUNK) {
      const saved = e.lines.splice(0);
      genChildren(n, pos, { kind: "var", name: "o", keys }, kids.slice(i, i + CHUNK));
      const fname = `CH${e.uid()}`;
      e.preamble.push(`function ${fname}(b, base, end, ctx, o) {\n${e.lines.splice(0).join("\n")}\n}`);
      e.lines.push(...saved);
      calls.push(`${fname}(b, base, end, ctx, ${ov});`);
    }
    W(`const ${ov} = {${keys.map((k) => `${k}: null`).join(", ")}};`);
    for (const c of calls) W(c);
  };

  /** Generates code for `n` at `pos`, putting its value into `sink` (null: decode only what is needed). */
  const genNode = (n: LayoutNode, pos: Pos, sink: Sink | null): Pos => {
    const static_ = !(shift && n.variable);
    if (!mustVisit(n)) {
      if (static_) return pos; // nothing to read; offsets stay static
    }
    // Emitted: the node is picked, inside a picked group, or a group containing picked nodes.
    const emitted = !sizeOnly && sink !== null && containsEmitted.has(n);
    const name = emitted ? o.outName(n) : null;
    const key = name !== null ? q(name) : null;
    if (n.occurs) return genTable(n, pos, sink, key);
    if (n.kind === "field") {
      const v = fieldVar(n);
      if (key || dependency.has(n) || validateOnly) {
        const p = `p${n.id}`;
        // Counters keep their position for error messages about the tables they size.
        if (dependency.has(n)) W(`const pp${n.id} = ${posExpr(pos, n.offset)};`);
        W(`let ${v}; { const ${p} = ${dependency.has(n) ? `pp${n.id}` : posExpr(pos, n.offset)};`);
        genField(n, v, p, pos.v === "base" && !sizeOnly ? n.offset - pos.anchor : null);
        W(`}`);
        put(sink, key, v);
      }
      return pos; // static size
    }
    const [end, obj] = genGroupObject(n, pos, key !== null);
    if (obj) put(sink, key, obj);
    return end;
  };

  const genChildren = (n: LayoutNode, pos: Pos, sink: Sink | null, only?: readonly LayoutNode[]): Pos => {
    let cur = pos;
    const kids = only ?? n.children.filter((c) => c.level !== 66);
    for (let i = 0; i < kids.length; i++) {
      const c = kids[i]!;
      if (c.redefines) continue; // handled with its redefined item
      if (c.redefinedBy.length === 0) {
        cur = genNode(c, cur, sink);
        continue;
      }
      // REDEFINES set: c and the items redefining it share the start offset.
      const set = [c, ...c.redefinedBy];
      const sel = o.selectorFor(c);
      if (shift && set.some((x) => x.variable)) {
        throw layoutErr(
          c,
          "a REDEFINES set cannot contain OCCURS DEPENDING ON with variableOccurs 'shift' (use 'max')",
        );
      }
      const visible = set.filter((x) => mustVisit(x));
      if (visible.length === 0) continue;
      if (sel) {
        const sv = `s${c.id}`;
        if (typeof sel.selector === "function") {
          const f = e.constant("SEL", sel.selector);
          W(
            `const ${sv} = ((x) => (x === null || x === undefined ? null : String(x).toUpperCase()))(${f}(r));`,
          );
        } else {
          const seg = sel.segField!;
          const br = sel.selector.branches;
          W(`const ${sv} = (() => { const x = ${fieldVar(seg)};`);
          for (const [branch, ids] of Object.entries(br)) {
            W(`if (${ids.map(idTest).join(" || ") || "false"}) return ${q(branch.toUpperCase())};`);
          }
          W(`return null; })();`);
        }
        for (const x of visible) {
          const listed =
            typeof sel.selector === "function"
              ? true
              : x.name in sel.selector.branches || x.name.replace(/-/g, "_") in sel.selector.branches;
          if (listed) {
            W(`if (${sv} === ${q(x.name)}) {`);
            if (segmented && listedBranches.has(x)) {
              const need = endOf(x);
              W(
                `if (end - base < ${need}) throw new RecordDecodeError("", 0, "", "record is " + (end - base) + " bytes, segment ${x.name} needs ${need}"); if (need < ${need}) need = ${need};`,
              );
            }
            genNode(x, cur, sink);
            W(`}`);
          } else genNode(x, cur, sink);
        }
      } else if (visible.length > 1 && o.strict && !sizeOnly) {
        // No selector: decode every branch; a branch invalid for its pictures is null (the bytes may belong
        // to another branch). If every branch fails the record fails.
        const fv = `f${c.id}`;
        W(`let ${fv} = null, ${fv}n = 0;`);
        for (const x of visible) {
          const bv = `b${x.id}`;
          W(`let ${bv} = null;`);
          W(`try {`);
          genNode(x, cur, sink ? { kind: "assign", name: bv } : null);
          W(`} catch (err) { if (!(err instanceof RecordDecodeError)) throw err; ${fv} ??= err; ${fv}n++; }`);
          const nm = isEmitted(x) ? o.outName(x) : null;
          put(sink, nm !== null ? q(nm) : null, bv);
        }
        W(`if (${fv}n === ${visible.length}) throw ${fv};`);
      } else {
        for (const x of visible) genNode(x, cur, sink);
      }
    }
    return cur;
  };
  e.env.RecordDecodeError = RecordDecodeError;

  const genTable = (n: LayoutNode, pos: Pos, sink: Sink | null, key: string | null): Pos => {
    const occ = n.occurs!;
    const id = n.id;
    const start = `t${id}`;
    W(`const ${start} = ${posExpr(pos, n.offset)};`);
    // Count
    let count: string;
    if (occ.dependingOn) {
      const cv = fieldVar(occ.dependingOn);
      const mapping = o.occursMapping(n);
      const cnt = `c${id}`;
      if (mapping) {
        const m = e.constant("OM", mapping);
        W(`let ${cnt} = typeof ${cv} === "string" ? ${m}[${cv}] : undefined;`);
      } else W(`let ${cnt} = ${cv};`);
      const counterNode = occ.dependingOn;
      const cpos = `pp${counterNode.id}`;
      const why = `"OCCURS DEPENDING ON " + ${q(counterNode.name)} + " = " + ${cv} + " is outside ${occ.min} TO ${occ.max}"`;
      if (o.strict || sizeOnly) {
        W(
          `if (typeof ${cnt} !== "number" || !(${cnt} >= ${occ.min} && ${cnt} <= ${occ.max}) || ${cnt} % 1 !== 0) throw MKERR(${errFn(n)}, b, ${cpos}, base, ${counterNode.size}, ${why});`,
        );
      } else {
        W(
          `if (typeof ${cnt} !== "number" || !(${cnt} >= ${occ.min} && ${cnt} <= ${occ.max}) || ${cnt} % 1 !== 0) { CORRUPT(ctx, ${errFn(n)}, b, ${cpos}, base, ${counterNode.size}, ${why}); ${cnt} = typeof ${cnt} === "number" && ${cnt} > ${occ.max} ? ${occ.max} : ${occ.min}; }`,
        );
      }
      count = cnt;
    } else count = String(occ.max);
    const elemVariable =
      shift && (n.children.some((c) => c.variable) || (n.kind === "group" && hasVariableDesc(n)));
    const arr = key && sink ? `a${id}` : null;
    const visitElems =
      mustVisit(n) && (arr !== null || elemVariable || hasDependencyInside(n) || validateOnly);
    if (visitElems) {
      if (arr) W(`const ${arr} = new Array(${count});`);
      const iv = `i${id}`;
      const ev = `q${id}`;
      if (elemVariable) W(`let ${ev} = ${start};`);
      W(`for (let ${iv} = 0; ${iv} < ${count}; ${iv}++) {`);
      if (!elemVariable) W(`const ${ev} = ${start} + ${iv} * ${n.size};`);
      const epos: Pos = { v: ev, anchor: n.offset };
      if (n.kind === "field") {
        const v = `v${id}`;
        if (arr || dependency.has(n) || validateOnly) {
          W(`let ${v};`);
          genField(n, v, ev);
          if (arr) W(`${arr}[${iv}] = ${v};`);
        }
      } else {
        const [end, obj] = genGroupObject(n, epos, arr !== null);
        if (obj) W(`${arr}[${iv}] = ${obj};`);
        if (elemVariable) W(`${ev} = ${posExpr(end, n.offset + n.size)};`);
      }
      W(`}`);
      if (arr) put(sink, key, arr);
      if (elemVariable) {
        return { v: ev, anchor: endOf(n) };
      }
    }
    if (shift && occ.dependingOn && !elemVariable) {
      const nv = `e${id}`;
      W(`const ${nv} = ${start} + ${count} * ${n.size};`);
      return { v: nv, anchor: endOf(n) };
    }
    if (elemVariable) {
      throw layoutErr(n, "internal: variable table without a walk");
    }
    return pos;
  };
  const hasVariableDesc = (n: LayoutNode): boolean => n.children.some((c) => c.variable);
  const hasDependencyInside = (n: LayoutNode): boolean => {
    for (const d of dependency) for (let p = d.parent; p; p = p.parent) if (p === n) return true;
    return false;
  };

  // Body: the root group is collapsed into `r` (the caller wraps it when asked to keep it).
  const blockRunAt = e.lines.length;
  W("");
  let endPos: Pos;
  if (root.kind === "field") {
    const v = fieldVar(root);
    W(`let ${v}; { const p = base;`);
    genField(root, v, "p");
    W(`}`);
    const nm = o.outName(root);
    W(sizeOnly || nm === null ? `const r = {};` : `const r = {${q(nm)}: ${v}};`);
    endPos = { v: "base", anchor: 0 };
  } else if (sizeOnly) {
    endPos = genChildren(root, { v: "base", anchor: root.offset }, null);
  } else if (validateOnly) {
    endPos = genChildren(root, { v: "base", anchor: root.offset }, null);
    W(`const r = undefined;`);
  } else if (hasFunctionSelector || incremental(root)) {
    W(`const r = {};`);
    endPos = genChildren(root, { v: "base", anchor: root.offset }, { kind: "var", name: "r" });
  } else if (chunkable(root, { v: "base", anchor: root.offset })) {
    genChunked(root, { v: "base", anchor: root.offset }, "r");
    endPos = { v: "base", anchor: root.offset };
  } else {
    const list: string[] = [];
    endPos = genChildren(root, { v: "base", anchor: root.offset }, { kind: "props", list });
    W(`const r = {${list.join(", ")}};`);
  }
  const runs: string[] = [];
  for (const blk of blocks.values()) {
    e.env[blk.name] = new TextBlock(blk.page, blk.trim, blk.offsets, blk.lengths);
    runs.push(`${blk.name}.run(b, base);`);
  }
  e.lines[blockRunAt] = runs.join(" ");
  const endExpr = posExpr(endPos, rootEnd);
  const body = e.lines.join("\n");
  if (sizeOnly) {
    return e.build<SizeFn>("b, base, end", `const ctx = null;\n${body}\nreturn ${endExpr} - base;`);
  }
  const staticSize = layout.size;
  const variable = shift && root.variable;
  let pre = "";
  if (segmented) {
    pre = `if (end - base < ${baseNeed}) throw new RecordDecodeError("", 0, "", "record is " + (end - base) + " bytes, the layout needs at least ${baseNeed}");\nlet need = ${baseNeed};`;
    const post =
      o.trailing === "error"
        ? `if (end - base > need) throw new RecordDecodeError("", 0, "", "record is " + (end - base) + " bytes, longer than its segment (" + need + ")");\n`
        : "";
    return e.build<DecodeFn>("b, base, end, ctx", `${pre}\n${body}\n${post}ctx.size = need;\nreturn r;`);
  }
  if (!variable) {
    pre = `if (end - base < ${emitSet ? neededStaticEnd(layout, containsEmitted, dependency) : staticSize}) throw new RecordDecodeError("", 0, "", "record is " + (end - base) + " bytes, the layout needs ${emitSet ? "at least " : ""}" + ${emitSet ? neededStaticEnd(layout, containsEmitted, dependency) : staticSize});`;
    if (o.trailing === "error" && !emitSet) {
      pre += `\nif (end - base > ${staticSize}) throw new RecordDecodeError("", 0, "", "record is " + (end - base) + " bytes, longer than the layout (${staticSize})");`;
    }
    pre += `\nctx.size = ${staticSize};`;
  } else {
    e.env.SIZEOF = generateDecoder(layout, o, true) as SizeFn;
    pre = `const size = SIZEOF(b, base, end);\nif (end - base < size) throw new RecordDecodeError("", 0, "", "record is " + (end - base) + " bytes, its tables need " + size);`;
    if (o.trailing === "error" && !emitSet) {
      pre += `\nif (end - base > size) throw new RecordDecodeError("", 0, "", "record is " + (end - base) + " bytes, longer than its layout (" + size + " with its OCCURS DEPENDING ON counts)");`;
    }
    pre += `\nctx.size = size;`;
  }
  return e.build<DecodeFn>("b, base, end, ctx", `${pre}\n${body}\nreturn r;`);
}

function neededStaticEnd(layout: RecordLayout, contains: Set<LayoutNode>, deps: Set<LayoutNode>): number {
  let max = 0;
  for (const n of layout.nodes) {
    if (n.kind !== "field") continue;
    if (contains.has(n) || deps.has(n)) max = Math.max(max, endOf(n));
  }
  return max;
}

// ==================================================================== encoder

export interface EncodeGenOptions extends GenOptions {
  /** Missing fields: "error" (default) or "default" (leave the template bytes). */
  missing: "error" | "default";
}

/** Builds the byte template (default value of every field) of the max-size layout. */
export function buildTemplate(layout: RecordLayout, o: GenOptions): Uint8Array {
  const t = new Uint8Array(Math.max(layout.size, 1));
  const fill = (n: LayoutNode, at: number): void => {
    const reps = n.occurs ? n.occurs.max : 1;
    for (let r = 0; r < reps; r++) {
      const a = at + r * n.size;
      if (n.kind === "field") fillField(n, t, a, o);
      else for (const c of n.children) if (!c.redefines && c.level !== 66) fill(c, a + (c.offset - n.offset));
    }
  };
  fill(layout.root, layout.root.offset);
  return t;
}

function fillField(n: LayoutNode, t: Uint8Array, at: number, o: GenOptions): void {
  const ty = n.type!;
  const page = o.pageFor(n);
  const sp = page.spaceByte >= 0 ? page.spaceByte : 0x20;
  switch (ty.kind) {
    case "text":
    case "edited":
      t.fill(sp, at, at + n.size);
      break;
    case "zoned": {
      const spec = zspec(ty, page, o);
      encodeZoned(t, at, spec, false, "0".repeat(ty.digits));
      break;
    }
    case "packed":
      t.fill(0, at, at + n.size);
      if (!ty.noSign) t[at + n.size - 1] = ty.signed ? 0x0c : 0x0f;
      break;
    default:
      t.fill(0, at, at + n.size);
  }
}

function zspec(t: Extract<FieldType, { kind: "zoned" }>, page: CodePage, o: GenOptions): ZonedSpec {
  return {
    digits: t.digits,
    scale: t.scale,
    signed: t.signed,
    signPosition: t.signPosition,
    separate: t.separate,
    pointAt: t.pointAt,
    ebcdic: page.ebcdic,
    relaxedSign: o.relaxedSign,
    spaces: o.displaySpaces,
  };
}

function encodeText(
  page: CodePage,
  b: Uint8Array,
  p: number,
  len: number,
  s: unknown,
  justified: boolean,
): string | null {
  if (typeof s !== "string") return `expected a string, got ${s === null ? "null" : typeof s}`;
  if (s.length > len)
    return `'${s.length > 40 ? `${s.slice(0, 40)}...` : s}' is ${s.length} characters, the field holds ${len}`;
  const enc = page.encodeTable();
  const sp = page.spaceByte >= 0 ? page.spaceByte : 0x20;
  const pad = len - s.length;
  let i = p;
  if (justified) for (let k = 0; k < pad; k++) b[i++] = sp;
  for (let k = 0; k < s.length; k++) {
    const x = enc[s.charCodeAt(k)]!;
    if (x === 0)
      return `character '${s[k]}' (U+${s.charCodeAt(k).toString(16).toUpperCase().padStart(4, "0")}) is not in code page ${page.name}`;
    b[i++] = x - 1;
  }
  if (!justified) for (let k = 0; k < pad; k++) b[i++] = sp;
  return null;
}

function encodeNational(b: Uint8Array, p: number, len: number, s: unknown): string | null {
  if (typeof s !== "string") return `expected a string, got ${typeof s}`;
  if (s.length * 2 > len) return `'${s}' does not fit ${len / 2} national characters`;
  let i = p;
  for (let k = 0; k < s.length; k++) {
    const c = s.charCodeAt(k);
    b[i++] = c >> 8;
    b[i++] = c & 0xff;
  }
  while (i < p + len) {
    b[i++] = 0;
    b[i++] = 0x20;
  }
  return null;
}

function encodeHex(b: Uint8Array, p: number, len: number, s: unknown): string | null {
  if (typeof s !== "string" || !/^([0-9A-Fa-f]{2})*$/.test(s) || s.length !== len * 2)
    return `expected ${len * 2} hex digits`;
  for (let i = 0; i < len; i++) b[p + i] = Number.parseInt(s.slice(i * 2, i * 2 + 2), 16);
  return null;
}

/** Count of leading "0" characters of a string of ASCII digits, or -1 when it has another character. */
function plainDigitsLead(s: string): number {
  const len = s.length;
  if (len === 0) return -1;
  let lead = 0;
  while (lead < len && s.charCodeAt(lead) === 48) lead++;
  for (let i = lead; i < len; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return -1;
  }
  return lead;
}

/**
 * Packed field from a string of plain digits (a 17-digit timestamp, say), straight from its
 * characters; false when the string is not plain digits or does not fit (the general path then
 * gives the value or the error, as valueToDigits defines them).
 */
function encodePackedDigitString(
  t: Extract<FieldType, { kind: "packed" }>,
  size: number,
  b: Uint8Array,
  p: number,
  s: string,
): boolean {
  const scale = t.scale;
  if (scale < 0) return false;
  const z = plainDigitsLead(s);
  if (z < 0) return false;
  const total = t.noSign ? size * 2 : size * 2 - 1; // digit nibbles
  const sig = s.length - z;
  if (sig > 0 && sig + scale > (t.noSign ? total : t.digits)) return false;
  // The padded value: zeros, the significant digits, then `scale` zeros.
  const start = total - scale - sig;
  let k = 0;
  for (let i = 0; i < size; i++) {
    const hi = paddedDigit(s, z, start, sig, k++);
    const lo = !t.noSign && i === size - 1 ? (t.signed ? 0xc : 0xf) : paddedDigit(s, z, start, sig, k++);
    b[p + i] = (hi << 4) | lo;
  }
  return true;
}

/** Digit k of a value whose `sig` significant digits s[z..] start at digit `start`, zeros elsewhere. */
function paddedDigit(s: string, z: number, start: number, sig: number, k: number): number {
  return k >= start && k < start + sig ? s.charCodeAt(z + k - start) - 48 : 0;
}

function encodeNumeric(n: LayoutNode, b: Uint8Array, p: number, v: unknown, o: GenOptions): string | null {
  const t = n.type!;
  switch (t.kind) {
    case "zoned": {
      const d = valueToDigits(v, t.digits, t.scale);
      if (typeof d === "string") return d;
      if (d.neg && !t.signed) return `${String(v)} is negative, the field is unsigned`;
      encodeZoned(b, p, zspec(t, o.pageFor(n), o), d.neg, d.digits);
      return null;
    }
    case "packed": {
      if (typeof v === "string" && encodePackedDigitString(t, n.size, b, p, v)) return null;
      const digits = t.noSign ? n.size * 2 : n.size * 2 - 1;
      const d = valueToDigits(v, t.noSign ? digits : t.digits, t.scale);
      if (typeof d === "string") return d;
      if (d.neg && !t.signed) return `${String(v)} is negative, the field is unsigned`;
      const all = d.digits.padStart(digits, "0");
      let k = 0;
      for (let i = 0; i < n.size; i++) {
        const hi = all.charCodeAt(k++) - 48;
        let lo: number;
        if (!t.noSign && i === n.size - 1) lo = t.signed ? (d.neg ? 0xd : 0xc) : 0xf;
        else lo = all.charCodeAt(k++) - 48;
        b[p + i] = (hi << 4) | lo;
      }
      return null;
    }
    case "binary": {
      const maxDigits = t.native ? 40 : o.binaryRange === "pic" ? t.digits : 40;
      const d = valueToDigits(v, maxDigits, t.scale);
      if (typeof d === "string") return d;
      if (d.neg && !t.signed) return `${String(v)} is negative, the field is unsigned`;
      let x = BigInt(d.digits);
      if (d.neg) x = -x;
      const bits = BigInt(8 * n.size);
      const lo = t.signed ? -(1n << (bits - 1n)) : 0n;
      const hi = t.signed ? (1n << (bits - 1n)) - 1n : (1n << bits) - 1n;
      if (x < lo || x > hi) return `${String(v)} does not fit ${n.size} bytes`;
      writeBigInt(b, p, n.size, x, t.littleEndian);
      return null;
    }
    case "float": {
      if (typeof v !== "number") return `expected a number, got ${v === null ? "null" : typeof v}`;
      const le = o.floatFormat.endsWith("-le");
      if (o.floatFormat.startsWith("ibm")) return writeIbmFloat(b, p, t.bytes, v, le);
      writeIeee(b, p, t.bytes, v, le);
      return null;
    }
    case "edited": {
      let text: string;
      try {
        text = formatEdited(v, t.picture);
      } catch (err) {
        return (err as Error).message;
      }
      return encodeText(o.pageFor(n), b, p, n.size, text, false);
    }
    default:
      return "unsupported type";
  }
}

/** Generates the encoder of a layout: writes fields from an object into bytes; returns the record size. */
export function generateEncoder(layout: RecordLayout, o: EncodeGenOptions): EncodeFn {
  const e = new Emitter();
  const shift = o.variableOccurs === "shift";
  e.env.ERR = (n: LayoutNode, p: number, base: number, why: string) =>
    new RecordEncodeError(n.path, p - base, why);
  e.env.ENC_NUM = encodeNumeric;
  e.env.ENC_PDS = encodePackedDigitString;
  e.env.ENC_TEXT = encodeText;
  e.env.ENC_NAT = encodeNational;
  e.env.ENC_HEX = encodeHex;
  e.env.POW10 = POW10;
  e.env.PB = PACK_BYTE;
  e.env.OPTS = o;
  const W = (s: string): void => e.line(s);
  const posExpr = (pos: Pos, off: number): string => {
    const k = off - pos.anchor;
    return k === 0 ? pos.v : `${pos.v} + ${k}`;
  };
  const values = new Map<LayoutNode, string>();

  const encField = (n: LayoutNode, src: string, p: string): void => {
    const t = n.type!;
    const F = e.constant("F", n);
    const fail = (why: string): string => `throw ERR(${F}, ${p}, base, ${why});`;
    const hook = o.hookFor(n);
    if (hook) {
      const h = e.constant("H", hook);
      const fi = e.constant("FI", fieldInfo(n));
      W(
        `try { ${h}.encode(${src}, b, ${p}, ${n.size}, ${fi}); } catch (err) { ${fail("(err && err.message) || String(err)")} }`,
      );
      return;
    }
    const page = e.constant("PG", o.pageFor(n));
    switch (t.kind) {
      case "text":
        W(
          `{ const why = ENC_TEXT(${page}, b, ${p}, ${n.size}, ${src}, ${t.justified}); if (why !== null) ${fail("why")} }`,
        );
        return;
      case "national":
        W(`{ const why = ENC_NAT(b, ${p}, ${n.size}, ${src}); if (why !== null) ${fail("why")} }`);
        return;
      case "raw":
        W(`{ const why = ENC_HEX(b, ${p}, ${n.size}, ${src}); if (why !== null) ${fail("why")} }`);
        return;
    }
    const asNumber = isNumberTyped(t, n.size);
    // Fast paths: packed / binary with number values.
    if (t.kind === "packed" && !t.noSign && asNumber && t.scale >= 0) {
      const sc = 10 ** t.scale;
      const lim = 10 ** t.digits;
      W(`{ const x = ${src};`);
      W(`let n = typeof x === "number" ? Math.round(Math.abs(x) * ${sc}) : -1;`);
      W(
        `if (n < 0 || n >= ${lim} || (x < 0 ? -n : n) / ${sc} !== x${t.signed ? "" : " || x < 0"}) { const why = ENC_NUM(${F}, b, ${p}, x, OPTS); if (why !== null) ${fail("why")} }`,
      );
      W(`else {`);
      W(
        `b[${p} + ${n.size - 1}] = ((n % 10) << 4) | ${t.signed ? "(x < 0 ? 13 : 12)" : "15"}; n = Math.floor(n / 10);`,
      );
      for (let i = n.size - 2; i >= 0; i--) {
        W(`{ const q = Math.floor(n / 100); b[${p} + ${i}] = PB[n - q * 100]; n = q; }`);
      }
      W(`} }`);
      return;
    }
    if (
      t.kind === "binary" &&
      asNumber &&
      !t.littleEndian &&
      (n.size === 2 || n.size === 4) &&
      t.scale >= 0
    ) {
      const sc = 10 ** t.scale;
      const lo = t.signed ? -(2 ** (8 * n.size - 1)) : 0;
      const hi = t.signed ? 2 ** (8 * n.size - 1) - 1 : 2 ** (8 * n.size) - 1;
      W(`{ const x = ${src}; const n = typeof x === "number" ? Math.round(x * ${sc}) : NaN;`);
      W(
        `if (!(n >= ${lo} && n <= ${hi}) || n / ${sc} !== x) { const why = ENC_NUM(${F}, b, ${p}, x, OPTS); if (why !== null) ${fail("why")} }`,
      );
      if (n.size === 2) W(`else { b[${p}] = (n >> 8) & 255; b[${p} + 1] = n & 255; } }`);
      else
        W(
          `else { b[${p}] = (n >>> 24) & 255; b[${p} + 1] = (n >>> 16) & 255; b[${p} + 2] = (n >>> 8) & 255; b[${p} + 3] = n & 255; } }`,
        );
      return;
    }
    if (
      t.kind === "zoned" &&
      asNumber &&
      t.scale >= 0 &&
      !t.separate &&
      t.pointAt < 0 &&
      o.pageFor(n).ebcdic
    ) {
      const sc = 10 ** t.scale;
      const lim = 10 ** t.digits;
      const len = n.size;
      const signAt = t.signPosition === "leading" ? 0 : len - 1;
      W(`{ const x = ${src};`);
      W(`let n = typeof x === "number" ? Math.round(Math.abs(x) * ${sc}) : -1;`);
      W(
        `if (n < 0 || n >= ${lim} || (x < 0 ? -n : n) / ${sc} !== x${t.signed ? "" : " || x < 0"}) { const why = ENC_NUM(${F}, b, ${p}, x, OPTS); if (why !== null) ${fail("why")} }`,
      );
      W(`else {`);
      for (let i = len - 1; i >= 0; i--) {
        const zone = t.signed && i === signAt ? "(x < 0 ? 0xd0 : 0xc0)" : "0xf0";
        W(`{ const r = n % 10; n = (n - r) / 10; b[${p} + ${i}] = ${zone} | r; }`);
      }
      W(`} }`);
      return;
    }
    if (t.kind === "packed") {
      // Wide packed fields are often given as digit strings (timestamps, ids): written directly.
      const T = e.constant("T", t);
      W(
        `{ const x = ${src}; if (typeof x !== "string" || !ENC_PDS(${T}, ${n.size}, b, ${p}, x)) { const why = ENC_NUM(${F}, b, ${p}, x, OPTS); if (why !== null) ${fail("why")} } }`,
      );
      return;
    }
    W(`{ const why = ENC_NUM(${F}, b, ${p}, ${src}, OPTS); if (why !== null) ${fail("why")} }`);
  };

  const fieldValueExpr = (n: LayoutNode, obj: string): string => {
    const nm = o.outName(n);
    return nm === null ? "undefined" : `${obj}[${q(nm)}]`;
  };

  const genNode = (n: LayoutNode, pos: Pos, obj: string): Pos => {
    const nm = o.outName(n);
    if (n.occurs) return genTable(n, pos, obj);
    if (n.kind === "field") {
      const p = `p${n.id}`;
      if (nm === null) return pos; // dropped field (FILLER): template bytes stay
      const v = `v${n.id}`;
      // Counters are read by their tables, possibly outside the group block: function-scoped.
      if (counters.has(n)) {
        hoisted.push(`let ${v};`);
        W(`${v} = ${fieldValueExpr(n, obj)};`);
      } else W(`const ${v} = ${fieldValueExpr(n, obj)};`);
      values.set(n, v);
      W(`{ const ${p} = ${posExpr(pos, n.offset)};`);
      W(
        `if (${v} === undefined || ${v} === null) { ${o.missing === "error" ? `throw ERR(${e.constant("F", n)}, ${p}, base, "missing value");` : ""} } else {`,
      );
      encField(n, v, p);
      W(`} }`);
      return pos;
    }
    const g = `g${n.id}`;
    if (nm === null) {
      // Group not present in objects (dropped FILLER group): write nothing of it.
      if (shift && n.variable)
        throw layoutErr(n, "a dropped FILLER group cannot contain OCCURS DEPENDING ON");
      return pos;
    }
    W(`const ${g} = ${obj}[${q(nm)}];`);
    W(
      `if (${g} === null || typeof ${g} !== "object") { ${o.missing === "error" ? `throw ERR(${e.constant("F", n)}, ${posExpr(pos, n.offset)}, base, "missing group (expected an object)");` : ""} } else {`,
    );
    const end = genChildren(n, pos, g);
    W(`}`);
    if (shift && n.variable) return end;
    return pos;
  };

  // Wide groups are written by module-level chunk functions, as the decoder does (V8 optimises them).
  const ECHUNK = 32;
  const hoisted: string[] = [];
  const counters = new Set<LayoutNode>();
  for (const x of layout.nodes) if (x.occurs?.dependingOn) counters.add(x.occurs.dependingOn);
  const encChunkable = (n: LayoutNode, pos: Pos): boolean => {
    if (pos.v !== "base" || (shift && n.variable)) return false;
    const kids = n.children.filter((c) => c.level !== 66 && !c.redefines);
    if (kids.length <= ECHUNK) return false;
    for (const x of layout.nodes) {
      if (x === n) continue;
      let inside = false;
      for (let p: LayoutNode | null = x.parent; p; p = p.parent) if (p === n) inside = true;
      if (inside && (x.occurs?.dependingOn || counters.has(x))) return false;
    }
    return true;
  };
  const genChildren = (n: LayoutNode, pos: Pos, obj: string): Pos => {
    if (encChunkable(n, pos)) {
      const all = n.children.filter((c) => c.level !== 66 && !c.redefines);
      for (let i = 0; i < all.length; i += ECHUNK) {
        const saved = e.lines.splice(0);
        genKids(n, pos, obj, all.slice(i, i + ECHUNK));
        const fname = `ECH${e.uid()}`;
        e.preamble.push(`function ${fname}(b, base, ${obj}) {\n${e.lines.splice(0).join("\n")}\n}`);
        e.lines.push(...saved);
        W(`${fname}(b, base, ${obj});`);
      }
      return pos;
    }
    return genKids(n, pos, obj);
  };
  const genKids = (n: LayoutNode, pos: Pos, obj: string, only?: readonly LayoutNode[]): Pos => {
    let cur = pos;
    const kids = only ?? n.children.filter((c) => c.level !== 66);
    for (const c of kids) {
      if (c.redefines) continue;
      if (c.redefinedBy.length === 0) {
        if (shift && c.variable && c.kind === "group" && !c.occurs) {
          // variable group: its end position comes from its own children
          const g = `g${c.id}`;
          const nm = o.outName(c);
          W(`const ${g} = ${obj}[${q(nm ?? c.name)}];`);
          W(
            `if (${g} === null || typeof ${g} !== "object") throw ERR(${e.constant("F", c)}, ${posExpr(cur, c.offset)}, base, "missing group (expected an object)");`,
          );
          cur = genChildren(c, cur, g);
          continue;
        }
        cur = genNode(c, cur, obj);
        continue;
      }
      const set = [c, ...c.redefinedBy];
      // Write the first branch present in the object (the selected one when decoding chose one).
      const names = set.map((x) => o.outName(x));
      W(`{ let done = false;`);
      for (let i = 0; i < set.length; i++) {
        const x = set[i]!;
        const nm = names[i];
        if (nm === null) continue;
        W(`if (!done && ${obj}[${q(nm!)}] !== undefined && ${obj}[${q(nm!)}] !== null) { done = true;`);
        genNode(x, cur, obj);
        W(`}`);
      }
      if (o.missing === "error") {
        W(
          `if (!done && ${names.some((x) => x !== null)}) throw ERR(${e.constant("F", c)}, ${posExpr(cur, c.offset)}, base, "missing value for every branch of the REDEFINES set (${set.map((x) => x.name).join(", ")})");`,
        );
      }
      W(`}`);
    }
    return cur;
  };

  const genTable = (n: LayoutNode, pos: Pos, obj: string): Pos => {
    const occ = n.occurs!;
    const id = n.id;
    const nm = o.outName(n);
    const start = `t${id}`;
    W(`const ${start} = ${posExpr(pos, n.offset)};`);
    const arr = `a${id}`;
    W(`const ${arr} = ${nm === null ? "undefined" : `${obj}[${q(nm)}]`};`);
    let count: string;
    const cnt = `c${id}`;
    if (occ.dependingOn) {
      const cv = values.get(occ.dependingOn);
      const mapping = o.occursMapping(n);
      if (!cv) throw layoutErr(n, `DEPENDING ON ${occ.dependingOn.name} is not written before the table`);
      if (mapping) {
        const m = e.constant("OM", mapping);
        W(`const ${cnt} = ${m}[${cv}];`);
      } else W(`const ${cnt} = typeof ${cv} === "string" ? Number(${cv}) : ${cv};`);
      W(
        `if (typeof ${cnt} !== "number" || !(${cnt} >= ${occ.min} && ${cnt} <= ${occ.max}) || ${cnt} % 1 !== 0) throw ERR(${e.constant("F", n)}, ${start}, base, "OCCURS DEPENDING ON ${occ.dependingOn.name} = " + ${cv} + " is outside ${occ.min} TO ${occ.max}");`,
      );
      count = cnt;
    } else {
      W(`const ${cnt} = ${occ.max};`);
      count = cnt;
    }
    if (nm === null) {
      if (shift && occ.dependingOn) {
        W(`const e${id} = ${start} + ${count} * ${n.size};`);
        return { v: `e${id}`, anchor: endOf(n) };
      }
      return pos;
    }
    const elemVariable = shift && n.kind === "group" && n.children.some((c) => c.variable);
    const iv = `i${id}`;
    const ev = `q${id}`;
    if (elemVariable) W(`let ${ev} = ${start};`);
    W(
      `if (!Array.isArray(${arr}) || ${arr}.length !== ${count}) { ${o.missing === "error" || occ.dependingOn ? `throw ERR(${e.constant("F", n)}, ${start}, base, "expected an array of " + ${count} + " element(s), got " + (Array.isArray(${arr}) ? ${arr}.length : typeof ${arr}));` : ""} } else {`,
    );
    W(`for (let ${iv} = 0; ${iv} < ${count}; ${iv}++) {`);
    if (!elemVariable) W(`const ${ev} = ${start} + ${iv} * ${n.size};`);
    if (n.kind === "field") {
      W(`const x${id} = ${arr}[${iv}];`);
      W(
        `if (x${id} === undefined || x${id} === null) throw ERR(${e.constant("F", n)}, ${ev}, base, "missing value at index " + ${iv});`,
      );
      encField(n, `x${id}`, ev);
    } else {
      W(`const x${id} = ${arr}[${iv}];`);
      W(
        `if (x${id} === null || typeof x${id} !== "object") throw ERR(${e.constant("F", n)}, ${ev}, base, "expected an object at index " + ${iv});`,
      );
      const end = genChildren(n, { v: ev, anchor: n.offset }, `x${id}`);
      if (elemVariable) W(`${ev} = ${posExpr(end, n.offset + n.size)};`);
    }
    W(`}`);
    W(`}`);
    if (elemVariable) {
      W(`const e${id} = ${ev};`);
      return { v: `e${id}`, anchor: endOf(n) };
    }
    if (shift && occ.dependingOn) {
      W(`const e${id} = ${start} + ${count} * ${n.size};`);
      return { v: `e${id}`, anchor: endOf(n) };
    }
    return pos;
  };

  const root = layout.root;
  let end: Pos;
  if (root.kind === "field") {
    W(`const v${root.id} = o[${q(o.outName(root) ?? root.name)}];`);
    encField(root, `v${root.id}`, "base");
    end = { v: "base", anchor: 0 };
  } else end = genChildren(root, { v: "base", anchor: root.offset }, "o");
  W(`return ${posExpr(end, endOf(root))} - base;`);
  return e.build<EncodeFn>("o, b, base", `${hoisted.join(" ")}\n${e.lines.join("\n")}`);
}

export { BAD };

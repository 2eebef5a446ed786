// Code pages: EBCDIC tables generated from glibc iconv (generated/codepage-tables.ts), plus ASCII and Latin-1.
import { CODE_PAGE_TABLES } from "./generated/codepage-tables.ts";

export interface CodePage {
  readonly name: string;
  /** true for EBCDIC pages (zoned digits 0xF0-0xF9, space 0x40). */
  readonly ebcdic: boolean;
  /** Byte -> UTF-16 code unit (0xFFFD when undefined). */
  readonly decodeTable: Uint16Array;
  /** Byte -> Latin-1 code (0..255) or 0xFFFF when the character is outside Latin-1 (e.g. the euro sign). */
  readonly latin1Table: Uint16Array;
  /** true when every byte maps into Latin-1 (fast Buffer 'latin1' decoding). */
  readonly allLatin1: boolean;
  /** Byte -> 1 when its character is trimmed (U+0000..U+0020, like Java's String.trim). */
  readonly trimmable: Uint8Array;
  /** The byte of U+0020. */
  readonly spaceByte: number;
  /** UTF-16 code unit -> byte + 1 (0 = not encodable). Built on first use. */
  encodeTable(): Uint16Array;
}

const ALIASES: Record<string, string> = {
  ibm037: "cp037",
  cp37: "cp037",
  "ibm-037": "cp037",
  ibm1047: "cp1047",
  latin1: "latin1",
  "iso-8859-1": "latin1",
  "us-ascii": "ascii",
};

const cache = new Map<string, CodePage>();

function makePage(name: string, ebcdic: boolean, table: ArrayLike<number>): CodePage {
  const decodeTable = Uint16Array.from(table as ArrayLike<number>);
  const latin1Table = new Uint16Array(256);
  const trimmable = new Uint8Array(256);
  let allLatin1 = true;
  let spaceByte = -1;
  for (let b = 0; b < 256; b++) {
    const c = decodeTable[b]!;
    latin1Table[b] = c <= 0xff ? c : 0xffff;
    if (c > 0xff) allLatin1 = false;
    if (c <= 0x20) trimmable[b] = 1;
    if (c === 0x20 && spaceByte < 0) spaceByte = b;
  }
  let enc: Uint16Array | null = null;
  return {
    name,
    ebcdic,
    decodeTable,
    latin1Table,
    allLatin1,
    trimmable,
    spaceByte,
    encodeTable(): Uint16Array {
      if (!enc) {
        enc = new Uint16Array(65536);
        // Lower bytes win when two bytes decode to the same character.
        for (let b = 255; b >= 0; b--) {
          const c = decodeTable[b]!;
          if (c !== 0xfffd) enc[c] = b + 1;
        }
      }
      return enc;
    },
  };
}

/** Names of all supported code pages. */
export function codePageNames(): string[] {
  return [...Object.keys(CODE_PAGE_TABLES), "ascii", "latin1"];
}

/** Returns a code page by name (cp037, cp1147, IBM-1147, 1147, ascii, latin1...). Throws on unknown names. */
export function getCodePage(name: string): CodePage {
  const key0 = name.toLowerCase().replace(/_/g, "-");
  let key = ALIASES[key0] ?? key0;
  const m = /^(?:cp|ibm-?|ibm0?|ccsid-?)?0*(\d+)$/.exec(key);
  if (m) key = `cp${m[1]!.padStart(3, "0")}`;
  const hit = cache.get(key);
  if (hit) return hit;
  let page: CodePage;
  if (key === "ascii") {
    const t: number[] = [];
    for (let b = 0; b < 256; b++) t.push(b < 128 ? b : 0xfffd);
    page = makePage("ascii", false, t);
  } else if (key === "latin1") {
    const t: number[] = [];
    for (let b = 0; b < 256; b++) t.push(b);
    page = makePage("latin1", false, t);
  } else {
    const t = CODE_PAGE_TABLES[key];
    if (!t) throw new RangeError(`unknown code page ${name} (known: ${codePageNames().join(", ")})`);
    page = makePage(key, true, t);
  }
  cache.set(key, page);
  return page;
}

/** Defines (or replaces) a custom single-byte code page from 256 UTF-16 code units. */
export function registerCodePage(name: string, table: ArrayLike<number>, ebcdic = true): CodePage {
  if (table.length !== 256)
    throw new RangeError(`code page ${name}: expected 256 entries, got ${table.length}`);
  const page = makePage(name.toLowerCase(), ebcdic, table);
  cache.set(name.toLowerCase(), page);
  return page;
}

const scratch = Buffer.allocUnsafeSlow(65536);
// Little-endian pair writes: on a big-endian host the pair table is built swapped.
const scratch16 = new Uint16Array(scratch.buffer, scratch.byteOffset, 32768);
const hostLittleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const pairCache = new Map<CodePage, { pair: Uint16Array; bad: Uint8Array }>();
/** Byte pair (b0 | b1 << 8) -> its two Latin-1 characters as one 16-bit store, and whether one is not Latin-1. */
function pairTables(page: CodePage): { pair: Uint16Array; bad: Uint8Array } {
  let t = pairCache.get(page);
  if (!t) {
    const lt = page.latin1Table;
    const pair = new Uint16Array(65536);
    const bad = new Uint8Array(65536);
    for (let x = 0; x < 65536; x++) {
      const a = lt[x & 255]!;
      const c = lt[x >> 8]!;
      pair[x] = hostLittleEndian ? (a & 255) | ((c & 255) << 8) : ((a & 255) << 8) | (c & 255);
      bad[x] = a > 255 || c > 255 ? 1 : 0;
    }
    t = { pair, bad };
    pairCache.set(page, t);
  }
  return t;
}

/** Decodes bytes [start, end) through a code page; `trim`: 0 none, 1 left, 2 right, 3 both. */
export function decodeText(
  page: CodePage,
  buf: Uint8Array,
  start: number,
  end: number,
  trim: number,
): string {
  const tr = page.trimmable;
  if (trim & 2) while (end > start && tr[buf[end - 1]!] === 1) end--;
  if (trim & 1) while (start < end && tr[buf[start]!] === 1) start++;
  const n = end - start;
  if (n === 0) return "";
  const lt = page.latin1Table;
  if (n <= scratch.length) {
    // Translate to Latin-1 in a scratch buffer and let V8 build a one-byte string natively.
    let miss = 0;
    for (let i = 0; i < n; i++) {
      const c = lt[buf[start + i]!]!;
      miss |= c;
      scratch[i] = c;
    }
    if (miss < 256) return scratch.latin1Slice(0, n);
  }
  const t = page.decodeTable;
  const parts: string[] = [];
  for (let i = start; i < end; i += 4096) {
    const stop = Math.min(end, i + 4096);
    const codes = new Array<number>(stop - i);
    for (let k = i; k < stop; k++) codes[k - i] = t[buf[k]!]!;
    parts.push(String.fromCharCode(...codes));
  }
  return parts.join("");
}

/**
 * Decoders of short text fields (1-4 bytes: codes, flags, currencies) that return interned strings: a table
 * of the 256 one-byte strings and a bounded cache for 2-4 bytes. No allocation for repeated values.
 */
export class ShortTextCache {
  readonly one: string[];
  private readonly map = new Map<number, string>();
  private readonly page: CodePage;
  private readonly trim: number;
  constructor(page: CodePage, trim: number) {
    this.page = page;
    this.trim = trim;
    this.one = [];
    for (let b = 0; b < 256; b++) {
      this.one.push(trim !== 0 && page.trimmable[b] === 1 ? "" : String.fromCharCode(page.decodeTable[b]!));
    }
  }
  get(buf: Uint8Array, p: number, len: number): string {
    let key = len;
    for (let i = 0; i < len; i++) key = key * 256 + buf[p + i]!;
    const hit = this.map.get(key);
    if (hit !== undefined) return hit;
    const s = decodeText(this.page, buf, p, p + len, this.trim);
    if (this.map.size < 65536) this.map.set(key, s);
    return s;
  }
}

/**
 * The text fields of a record at fixed offsets, decoded together: one pass translates (and trims) all of
 * them into a scratch buffer, one native call makes a single string, and each field is a substring of it
 * (V8 slices, no copy). Falls back to per-field decoding when a character is outside Latin-1.
 */
export class TextBlock {
  private readonly page: CodePage;
  private readonly trim: number;
  private readonly offs: Int32Array;
  private readonly lens: Int32Array;
  private readonly starts: Int32Array;
  private readonly ends: Int32Array;
  private s = "";
  private ok = false;
  /** The page's pair tables, looked up on the first run (not per record). */
  private tables: { pair: Uint16Array; bad: Uint8Array } | null = null;
  constructor(page: CodePage, trim: number, offsets: readonly number[], lengths: readonly number[]) {
    this.page = page;
    this.trim = trim;
    this.offs = Int32Array.from(offsets);
    this.lens = Int32Array.from(lengths);
    this.starts = new Int32Array(offsets.length);
    this.ends = new Int32Array(offsets.length);
  }
  run(b: Uint8Array, base: number): void {
    const tr = this.page.trimmable;
    const lt = this.page.latin1Table;
    const { pair, bad } = (this.tables ??= pairTables(this.page));
    const s16 = scratch16;
    const trim = this.trim;
    const offs = this.offs;
    const lens = this.lens;
    const starts = this.starts;
    const ends = this.ends;
    let j = 0;
    let miss = 0;
    for (let k = 0; k < offs.length; k++) {
      let st = base + offs[k]!;
      let en = st + lens[k]!;
      if (trim & 2) while (en > st && tr[b[en - 1]!] === 1) en--;
      if (trim & 1) while (st < en && tr[b[st]!] === 1) st++;
      // Two bytes per step through a 64K-entry pair table; fields start at even scratch offsets.
      j += j & 1;
      starts[k] = j;
      let h = j >> 1;
      let i = st;
      for (; i + 1 < en; i += 2) {
        const x = b[i]! | (b[i + 1]! << 8);
        s16[h++] = pair[x]!;
        miss |= bad[x]!;
      }
      j = h << 1;
      if (i < en) {
        const c = lt[b[i]!]!;
        miss |= c >> 8;
        scratch[j++] = c;
      }
      ends[k] = j;
    }
    this.ok = miss === 0;
    this.s = this.ok && j > 0 ? scratch.latin1Slice(0, j) : "";
  }
  get(k: number, b: Uint8Array, base: number): string {
    if (this.ok) return this.s.substring(this.starts[k]!, this.ends[k]!);
    const st = base + this.offs[k]!;
    return decodeText(this.page, b, st, st + this.lens[k]!, this.trim);
  }
}

const shortCaches = new Map<CodePage, ShortTextCache[]>();
export function shortTextCache(page: CodePage, trim: number): ShortTextCache {
  let list = shortCaches.get(page);
  if (!list) shortCaches.set(page, (list = []));
  return (list[trim] ??= new ShortTextCache(page, trim));
}

declare global {
  interface Buffer {
    latin1Slice(start: number, end: number): string;
  }
}

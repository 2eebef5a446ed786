// Helpers for comparing our decoder with Cobrix's expected outputs (lossless JSON, canonical decimals).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import {
  type CodecOptions,
  getCodePage,
  parseCopybook,
  type RecordCodec,
  registerCodePage,
} from "../../src/copybook/index.ts";

// Cobrix's default "common" EBCDIC table, emulated for the cases that use it: cp037 restricted to printable
// ASCII (invariant characters); control and national characters decode as spaces. A Cobrix choice, not IBM's
// (iconv/ICU decode every byte of cp037).
const cp037 = getCodePage("cp037").decodeTable;
registerCodePage(
  "cobrix-common",
  Array.from(cp037, (c) => (c < 0x20 || c > 0x7e ? 0x20 : c)),
);

export const FIXTURES = new URL("../fixtures/copybook/cobrix/cases/", import.meta.url).pathname;

export function fixture(caseDir: string, file: string): Uint8Array {
  return readFileSync(join(FIXTURES, caseDir, file));
}
export function fixtureText(caseDir: string, file: string): string {
  return readFileSync(join(FIXTURES, caseDir, file), "utf8");
}

export interface Num {
  readonly $num: string;
}

/** Parses JSON keeping number tokens as text (Cobrix decimals keep scale and exceed 15 digits). */
export function parseLossless(text: string): unknown {
  return JSON.parse(text, (_k, v, ctx?: { source?: string }) =>
    typeof v === "number" ? { $num: ctx?.source ?? String(v) } : v,
  );
}

/** Reads an expected file: JSONL, a JSON array, or concatenated pretty-printed objects. */
export function readExpected(caseDir: string, file: string): Record<string, unknown>[] {
  const text = fixtureText(caseDir, file).trim();
  if (text.startsWith("[")) return parseLossless(text) as Record<string, unknown>[];
  // JSONL or a sequence of pretty objects: split on top-level object boundaries.
  const out: Record<string, unknown>[] = [];
  let depth = 0;
  let start = -1;
  let inStr = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (inStr) {
      if (c === "\\") i++;
      else if (c === '"') inStr = false;
      continue;
    }
    if (c === '"') inStr = true;
    else if (c === "{") {
      if (depth === 0) start = i;
      depth++;
    } else if (c === "}") {
      depth--;
      if (depth === 0) out.push(parseLossless(text.slice(start, i + 1)) as Record<string, unknown>);
    }
  }
  return out;
}

export function canonDecimal(s: string): string {
  let t = s.trim();
  let neg = false;
  if (t.startsWith("+")) t = t.slice(1);
  if (t.startsWith("-")) {
    neg = true;
    t = t.slice(1);
  }
  const m = /^(\d*)\.?(\d*)(?:[eE]([+-]?\d+))?$/.exec(t);
  if (!m) return s;
  let digits = (m[1] ?? "") + (m[2] ?? "");
  let point = (m[1] ?? "").length + Number(m[3] ?? 0);
  if (point < 0) {
    digits = "0".repeat(-point) + digits;
    point = 0;
  }
  if (point > digits.length) digits = digits.padEnd(point, "0");
  let ip = digits.slice(0, point).replace(/^0+/, "") || "0";
  const fp = digits.slice(point).replace(/0+$/, "");
  if (ip === "") ip = "0";
  const r = fp ? `${ip}.${fp}` : ip;
  return neg && r !== "0" ? `-${r}` : r;
}

const GENERATED = /^(File_Id|Record_Id|Record_Byte_Length|Seg_Id\d+|_corrupt_fields)$/;

export interface CompareOptions {
  /** Keys compared as floats (Java Float/Double.toString on the Cobrix side). */
  floats?: ReadonlySet<string>;
  /** Normalise our strings before comparing (e.g. control characters -> space + trim). */
  normaliseString?: (s: string) => string;
  /** Paths (without array indexes) not compared: documented Cobrix/IBM differences. */
  ignore?: ReadonlySet<string>;
  /** Expected numeric 0 may stand for null (Spark na.fill(0)). */
  zeroMeansNull?: boolean;
}

export function compareValue(
  exp: unknown,
  act: unknown,
  path: string,
  out: string[],
  o: CompareOptions,
): void {
  if (exp !== null && typeof exp === "object" && "$num" in (exp as object)) {
    const e = (exp as Num).$num;
    if (o.ignore?.has(path.replace(/\[\d+\]/g, ""))) return;
    if (act === null || act === undefined) {
      if (o.zeroMeansNull && canonDecimal(e) === "0") return;
      out.push(`${path}: expected ${e}, got ${String(act)}`);
      return;
    }
    const key = path
      .replace(/\[\d+\]/g, "")
      .split(".")
      .pop()!;
    if (o.floats?.has(key) && typeof act === "number") {
      const en = Number(e);
      if (Math.fround(en) === Math.fround(act) || Math.abs(en - act) <= Math.abs(en) * 1e-14) return;
      out.push(`${path}: expected float ${e}, got ${act}`);
      return;
    }
    const a =
      typeof act === "number" || typeof act === "string" ? canonDecimal(String(act)) : JSON.stringify(act);
    if (canonDecimal(e) !== a) out.push(`${path}: expected ${e}, got ${JSON.stringify(act)}`);
    return;
  }
  if (typeof exp === "string") {
    let a = act;
    let e = exp;
    if (typeof a === "string" && o.normaliseString) {
      a = o.normaliseString(a);
      e = o.normaliseString(exp);
    }
    if (o.ignore?.has(path.replace(/\[\d+\]/g, ""))) return;
    if (a !== e) out.push(`${path}: expected ${JSON.stringify(exp)}, got ${JSON.stringify(act)}`);
    return;
  }
  if (typeof exp === "boolean" || exp === null) {
    if (act !== exp) out.push(`${path}: expected ${String(exp)}, got ${JSON.stringify(act)}`);
    return;
  }
  if (Array.isArray(exp)) {
    if (!Array.isArray(act)) {
      out.push(`${path}: expected an array, got ${JSON.stringify(act)}`);
      return;
    }
    if (exp.length !== act.length) out.push(`${path}: expected ${exp.length} elements, got ${act.length}`);
    for (let i = 0; i < Math.min(exp.length, act.length); i++)
      compareValue(exp[i], act[i], `${path}[${i}]`, out, o);
    return;
  }
  if (typeof exp === "object") {
    if (act === null || typeof act !== "object" || Array.isArray(act)) {
      out.push(`${path}: expected an object, got ${JSON.stringify(act)}`);
      return;
    }
    compareRecord(exp as Record<string, unknown>, act as Record<string, unknown>, out, o, path);
  }
}

/** Compares one expected record (nulls omitted, Spark style) with ours; pushes differences to out. */
export function compareRecord(
  exp: Record<string, unknown>,
  act: Record<string, unknown>,
  out: string[],
  o: CompareOptions = {},
  path = "",
): void {
  for (const [k, v] of Object.entries(exp)) {
    if (GENERATED.test(k)) continue;
    compareValue(v, act[k], path ? `${path}.${k}` : k, out, o);
  }
  for (const [k, v] of Object.entries(act)) {
    if (k in exp || v === null || v === undefined) continue;
    if (o.ignore?.has((path ? `${path}.${k}` : k).replace(/\[\d+\]/g, ""))) continue;
    if (o.zeroMeansNull) continue;
    if (typeof v === "object" && isAllNull(v)) continue;
    out.push(`${path ? `${path}.` : ""}${k}: unexpected ${JSON.stringify(v)}`);
  }
}

function isAllNull(v: unknown): boolean {
  if (v === null || v === undefined) return true;
  if (Array.isArray(v)) return false;
  if (typeof v === "object") return Object.values(v as object).every(isAllNull);
  return false;
}

/** Cobrix's behaviour expressed with our options (Cobrix never fails a record; it trims both sides...). */
export const COBRIX_BASE: CodecOptions = {
  names: "underscore",
  trim: "both",
  strict: false,
  nullDetection: true,
  displaySpaces: true,
  variableOccurs: "max",
  codePage: "cobrix-common",
  shortRecords: "pad",
  trailingBytes: "ignore",
};

export function cobrixCodec(caseDir: string, copybook: string, options: CodecOptions = {}): RecordCodec {
  return parseCopybook(fixtureText(caseDir, copybook), { file: copybook, lenientIndicator: true }).compile({
    ...COBRIX_BASE,
    ...options,
  });
}

/** Map of control characters to space, then Java-style trim (Cobrix's code page tables do this). */
export function controlsAsSpaces(trim: "both" | "none"): (s: string) => string {
  return (s) => {
    const t = s.replace(/[\u0000-\u001f\u007f-\u009f]/g, " ");
    return trim === "both" ? t.replace(/^[\u0000-\u0020]+|[\u0000-\u0020]+$/g, "") : t;
  };
}

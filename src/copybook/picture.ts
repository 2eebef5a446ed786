// PICTURE string analysis.

export type PictureCategory = "alphanumeric" | "alphabetic" | "national" | "numeric" | "edited";

export interface PictureInfo {
  readonly text: string;
  /** Expanded symbols, upper case: `S9(3)V99` -> `S999V99`. */
  readonly symbols: string;
  readonly category: PictureCategory;
  /** Character positions in storage for DISPLAY (V, P and a non-separate S take none). */
  readonly length: number;
  /** Numeric: digit positions (9s; for edited pictures the digit positions). */
  readonly digits: number;
  /** Digits after the decimal point; leading P's add to it, trailing P's make it negative. */
  readonly scale: number;
  readonly signed: boolean;
  /** Edited numeric with an explicit '.' (or V) decimal point. */
  readonly explicitPoint: boolean;
  /** Explicit-point numeric (`9(8).99`): digits before the point. */
  readonly pointAt?: number;
}

export function expandPicture(pic: string): string | null {
  let out = "";
  const u = pic.toUpperCase();
  for (let i = 0; i < u.length; i++) {
    const c = u[i]!;
    if (c === "(") {
      const end = u.indexOf(")", i);
      if (end < 0 || out.length === 0) return null;
      const n = Number.parseInt(u.slice(i + 1, end), 10);
      if (!Number.isFinite(n) || n < 1 || n > 1_000_000) return null;
      const prev = out[out.length - 1]!;
      // CR / DB cannot be repeated; anything else repeats the previous symbol.
      out += prev.repeat(n - 1);
      i = end;
      continue;
    }
    out += c;
  }
  return out;
}

/** Returns the analysed picture or an error message. */
export function analysePicture(pic: string): PictureInfo | string {
  const symbols = expandPicture(pic);
  if (symbols === null || symbols.length === 0) return `malformed repetition in PIC ${pic}`;
  const base = { text: pic, symbols };
  if (/^[X]+$/.test(symbols) || (/^[XA9]+$/.test(symbols) && symbols.includes("X"))) {
    return {
      ...base,
      category: "alphanumeric",
      length: symbols.length,
      digits: 0,
      scale: 0,
      signed: false,
      explicitPoint: false,
    };
  }
  if (/^[AB]+$/.test(symbols) && symbols.includes("A")) {
    return {
      ...base,
      category: "alphabetic",
      length: symbols.length,
      digits: 0,
      scale: 0,
      signed: false,
      explicitPoint: false,
    };
  }
  if (/^[NG]+$/.test(symbols)) {
    return {
      ...base,
      category: "national",
      length: symbols.length,
      digits: 0,
      scale: 0,
      signed: false,
      explicitPoint: false,
    };
  }
  const m = /^(S?)(P*)(V?)(P*)(9*)(V?)(9*)(P*)$/.exec(symbols);
  if (m && m[5]!.length + m[7]!.length > 0) {
    const [, s, p1, v1, p2, d1, v2, d2, p3] = m as unknown as string[];
    const leadingP = p1!.length + p2!.length;
    if (leadingP > 0 && d1 && v2) return `PIC ${pic}: P scaling cannot mix with V after the digits`;
    if (p3!.length > 0 && (v1 || v2 || d2)) return `PIC ${pic}: trailing P cannot follow a decimal point`;
    if (v1 && v2) return `PIC ${pic}: more than one V`;
    const digits = d1!.length + d2!.length;
    let scale: number;
    if (leadingP > 0) scale = leadingP + digits;
    else if (v1) scale = digits;
    else if (v2) scale = d2!.length;
    else scale = -p3!.length;
    if (digits > 38) return `PIC ${pic}: more than 38 digits`;
    return {
      ...base,
      category: "numeric",
      length: digits,
      digits,
      scale,
      signed: s === "S",
      explicitPoint: false,
    };
  }
  // Zoned with an explicit decimal point (Cobrix and IBM DISPLAY reading): S9(3).99, 9(8).9(2)
  const ep = /^(S?)(9+)\.(9+)$/.exec(symbols);
  if (ep) {
    const digits = ep[2]!.length + ep[3]!.length;
    return {
      ...base,
      category: "numeric",
      length: digits + 1,
      digits,
      scale: ep[3]!.length,
      signed: ep[1] === "S",
      explicitPoint: true,
      pointAt: ep[2]!.length,
    };
  }
  // Numeric-edited: 9 Z * B 0 / , . + - CR DB $ V P
  if (
    /^[9Z*B0/,.+\-$VP]*(CR|DB)?[9Z*B0/,.+\-$VP]*$/.test(symbols.replace(/CR$|DB$/, "")) ||
    /(CR|DB)$/.test(symbols)
  ) {
    const body = symbols.replace(/(CR|DB)$/, "");
    if (!/^[9Z*B0/,.+\-$VP]+$/.test(body)) return `PIC ${pic}: unsupported picture symbols`;
    const pointAt = body.search(/[.V]/);
    let digits = 0;
    let scale = 0;
    // Floating insertion (+++, ---, $$$): the first symbol of a floating string is not a digit position.
    const floatChars = ["+", "-", "$"];
    let floating: string | null = null;
    for (const f of floatChars) {
      const re = new RegExp(`\\${f}[\\${f},.B0/]*\\${f}`);
      if (re.test(body)) floating = f;
    }
    let floatSeen = false;
    for (let i = 0; i < body.length; i++) {
      const c = body[i]!;
      let isDigit = c === "9" || c === "Z" || c === "*";
      if (floating && c === floating) {
        if (floatSeen) isDigit = true;
        floatSeen = true;
      }
      if (isDigit) {
        digits++;
        if (pointAt >= 0 && i > pointAt) scale++;
      }
    }
    if (digits === 0) return `PIC ${pic}: no digit positions`;
    const signed = /[+-]/.test(body) || /(CR|DB)$/.test(symbols);
    const length = symbols.replace(/[VP]/g, "").length;
    return {
      ...base,
      category: "edited",
      length,
      digits,
      scale,
      signed,
      explicitPoint: body.includes("."),
    };
  }
  return `PIC ${pic}: unsupported combination of picture symbols`;
}

// Copybook parser: source format (fixed columns / free), tokens, COPY members, entries, hierarchy.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { ConditionName, CopybookItem, Literal, ParsedCopybook, UsageName } from "./ast.ts";
import { CopybookError, CopybookSyntaxError } from "./errors.ts";

export interface ParseOptions {
  /** Name used in error messages (default "copybook"). */
  file?: string;
  /** "fixed" (default): columns 1-6 sequence area, 7 indicator, 8-72 code, 73+ ignored. "free": whole line. */
  format?: "fixed" | "free";
  /** Fixed format: last code column (default 72). Cobrix's `comments_ubound`. */
  codeEnd?: number;
  /**
   * Fixed format: a character in column 7 that is not an indicator starts the code instead of being an
   * error (Cobrix reads copybooks whose levels start in column 7).
   */
  lenientIndicator?: boolean;
  /** Directories searched for COPY members (tried as NAME, NAME.cpy, .cob, .cbl, .copy, lower case). */
  includePath?: readonly string[];
  /** In-memory COPY members by name (checked before includePath). */
  members?: Readonly<Record<string, string>>;
}

interface Token {
  kind: "word" | "literal" | "period" | "lparen" | "rparen" | "pseudo" | "picture" | "eof";
  text: string;
  upper: string;
  hex?: boolean;
  file: string;
  line: number;
  col: number;
}

interface LogicalSource {
  text: string;
  lines: Int32Array;
  cols: Int32Array;
  file: string;
}

/** Turns source lines into one logical text with a (line, column) for every character. */
/** Lines (1-based, per file) whose code seems to run past the last code column. */
const cutLines: number[] = [];

function logicalSource(
  src: string,
  file: string,
  format: "fixed" | "free",
  codeEnd: number,
  lenient = false,
): LogicalSource {
  const chars: string[] = [];
  const lines: number[] = [];
  const cols: number[] = [];
  let inQuote: string | null = null;
  const rawLines = src.split(/\r?\n/);
  const push = (text: string, line: number, firstCol: number): void => {
    for (let i = 0; i < text.length; i++) {
      const c = text[i]!;
      chars.push(c);
      lines.push(line);
      cols.push(firstCol + i);
      if (inQuote) {
        if (c === inQuote) inQuote = null;
      } else if (c === "'" || c === '"') inQuote = c;
    }
  };
  for (let li = 0; li < rawLines.length; li++) {
    let raw = rawLines[li]!.replace(/\t/g, "    ");
    const lineNo = li + 1;
    if (format === "free") {
      const trimmed = raw.trimStart();
      if (trimmed.startsWith("*>") || trimmed.startsWith("*")) continue;
      const cut = findInlineComment(raw);
      if (cut >= 0) raw = raw.slice(0, cut);
      push(raw, lineNo, 1);
      push("\n", lineNo, raw.length + 1);
      inQuote = null;
      continue;
    }
    if (raw.length < 7) {
      push("\n", lineNo, 1);
      continue;
    }
    const indicator = raw[6]!;
    if (indicator === "*" || indicator === "/" || indicator === "D" || indicator === "d") continue;
    // Code after the last code column is ignored (sequence/identification area); remember where a
    // period or word may have been cut, for a hint in syntax errors.
    if (
      raw.length > codeEnd &&
      /[.A-Za-z0-9]/.test(raw.slice(codeEnd, codeEnd + 1)) &&
      /\S/.test(raw.slice(codeEnd - 1, codeEnd))
    ) {
      cutLines.push(lineNo);
    }
    let code = raw.slice(7, codeEnd);
    const cut = findInlineComment(code);
    if (cut >= 0) code = code.slice(0, cut);
    if (indicator === "-") {
      const first = code.search(/\S/);
      if (first < 0) continue;
      // Undo the line break we appended after the previous line.
      while (chars.length > 0 && chars[chars.length - 1] === "\n") {
        chars.pop();
        lines.pop();
        cols.pop();
      }
      if (inQuote && (code[first] === "'" || code[first] === '"')) {
        // Literal continuation: the previous line's literal runs to the last code column.
        const lastCol = cols.length ? cols[cols.length - 1]! : 0;
        for (let c = lastCol + 1; c <= codeEnd; c++) {
          chars.push(" ");
          lines.push(lines[lines.length - 1] ?? lineNo);
          cols.push(c);
        }
        push(code.slice(first + 1), lineNo, 8 + first + 1);
      } else {
        while (chars.length > 0 && /\s/.test(chars[chars.length - 1]!)) {
          chars.pop();
          lines.pop();
          cols.pop();
        }
        push(code.slice(first), lineNo, 8 + first);
      }
      push("\n", lineNo, 8 + code.length);
      continue;
    }
    if (indicator !== " " && lenient) {
      push(raw.slice(6, codeEnd), lineNo, 7);
      push("\n", lineNo, codeEnd + 1);
      continue;
    }
    if (indicator !== " ") {
      throw new CopybookSyntaxError(
        file,
        lineNo,
        7,
        "' ', '*', '/', 'D' or '-' in the indicator column",
        `'${indicator}'`,
        'fixed format; use format "free" for free-format copybooks',
      );
    }
    push(code, lineNo, 8);
    push("\n", lineNo, 8 + code.length);
  }
  return { text: chars.join(""), lines: Int32Array.from(lines), cols: Int32Array.from(cols), file };
}

function findInlineComment(s: string): number {
  let q: string | null = null;
  for (let i = 0; i < s.length - 1; i++) {
    const c = s[i]!;
    if (q) {
      if (c === q) q = null;
    } else if (c === "'" || c === '"') q = c;
    else if (c === "*" && s[i + 1] === ">") return i;
  }
  return -1;
}

const WORD_CHAR = /[A-Za-z0-9_:#@$-]/;

function tokenize(ls: LogicalSource): Token[] {
  const { text } = ls;
  const out: Token[] = [];
  let i = 0;
  const mk = (kind: Token["kind"], t: string, at: number, hex?: boolean): Token => ({
    kind,
    text: t,
    upper: t.toUpperCase(),
    file: ls.file,
    line: ls.lines[at] ?? (ls.lines.length ? ls.lines[ls.lines.length - 1]! : 1),
    col: ls.cols[at] ?? 1,
    ...(hex ? { hex } : {}),
  });
  let expectPicture = false;
  while (i < text.length) {
    const c = text[i]!;
    if (c === " " || c === "\n" || c === "\r" || c === "," || c === ";") {
      i++;
      continue;
    }
    const start = i;
    if (expectPicture) {
      while (i < text.length && !/\s/.test(text[i]!)) i++;
      let pic = text.slice(start, i);
      let period = false;
      while (pic.length > 1 && /[.,;]$/.test(pic)) {
        if (pic.endsWith(".")) period = true;
        pic = pic.slice(0, -1);
      }
      if (pic.toUpperCase() === "IS") {
        out.push(mk("word", pic, start));
        continue;
      }
      out.push(mk("picture", pic, start));
      if (period) out.push(mk("period", ".", i - 1));
      expectPicture = false;
      continue;
    }
    if (c === "'" || c === '"') {
      i++;
      let s = "";
      for (;;) {
        if (i >= text.length || text[i] === "\n") {
          throw new CopybookSyntaxError(
            ls.file,
            ls.lines[start]!,
            ls.cols[start]!,
            `closing ${c} of the literal`,
            "end of line",
          );
        }
        if (text[i] === c) {
          if (text[i + 1] === c) {
            s += c;
            i += 2;
            continue;
          }
          i++;
          break;
        }
        s += text[i];
        i++;
      }
      out.push(mk("literal", s, start));
      continue;
    }
    if ((c === "X" || c === "x") && (text[i + 1] === "'" || text[i + 1] === '"')) {
      const q = text[i + 1]!;
      const end = text.indexOf(q, i + 2);
      if (end < 0)
        throw new CopybookSyntaxError(
          ls.file,
          ls.lines[start]!,
          ls.cols[start]!,
          `closing ${q} of the hex literal`,
          "end of line",
        );
      const hex = text.slice(i + 2, end);
      if (!/^([0-9A-Fa-f]{2})*$/.test(hex)) {
        throw new CopybookSyntaxError(
          ls.file,
          ls.lines[start]!,
          ls.cols[start]!,
          "an even number of hex digits",
          `X${q}${hex}${q}`,
        );
      }
      let s = "";
      for (let k = 0; k < hex.length; k += 2)
        s += String.fromCharCode(Number.parseInt(hex.slice(k, k + 2), 16));
      i = end + 1;
      out.push(mk("literal", s, start, true));
      continue;
    }
    if (c === "=" && text[i + 1] === "=") {
      i += 2;
      out.push(mk("pseudo", "==", start));
      continue;
    }
    if (c === ".") {
      if (/[0-9]/.test(text[i + 1] ?? "")) {
        i++;
        while (i < text.length && /[0-9]/.test(text[i]!)) i++;
        out.push(mk("word", text.slice(start, i), start));
        continue;
      }
      i++;
      out.push(mk("period", ".", start));
      continue;
    }
    if (c === "(") {
      i++;
      out.push(mk("lparen", "(", start));
      continue;
    }
    if (c === ")") {
      i++;
      out.push(mk("rparen", ")", start));
      continue;
    }
    if (WORD_CHAR.test(c) || ((c === "+" || c === "-") && /[0-9.]/.test(text[i + 1] ?? ""))) {
      i++;
      while (i < text.length && WORD_CHAR.test(text[i]!)) i++;
      // Decimal numeric literal: 12.5
      if (text[i] === "." && /[0-9]/.test(text[i + 1] ?? "") && /^[+-]?[0-9]+$/.test(text.slice(start, i))) {
        i++;
        while (i < text.length && /[0-9]/.test(text[i]!)) i++;
      }
      const tok = mk("word", text.slice(start, i), start);
      out.push(tok);
      if (tok.upper === "PIC" || tok.upper === "PICTURE") expectPicture = true;
      continue;
    }
    throw new CopybookSyntaxError(
      ls.file,
      ls.lines[start]!,
      ls.cols[start]!,
      "a word, literal or '.'",
      `'${c}'`,
    );
  }
  const endAt = text.length - 1;
  out.push({ ...mk("eof", "", Math.max(0, endAt)), text: "end of file", upper: "" });
  return out;
}

function lex(src: string, file: string, opts: ParseOptions): Token[] {
  return tokenize(
    logicalSource(src, file, opts.format ?? "fixed", opts.codeEnd ?? 72, opts.lenientIndicator === true),
  );
}

function describe(t: Token): string {
  if (t.kind === "eof") return "end of file";
  if (t.kind === "period") return "'.'";
  if (t.kind === "literal") return `literal '${t.text}'`;
  return `'${t.text}'`;
}

function loadMember(name: string, opts: ParseOptions, from: Token): { text: string; file: string } {
  const m = opts.members;
  if (m) {
    for (const k of [name, name.toUpperCase(), name.toLowerCase()]) {
      const t = m[k];
      if (t !== undefined) return { text: t, file: k };
    }
  }
  const exts = ["", ".cpy", ".cob", ".cbl", ".copy", ".CPY", ".COB", ".CBL", ".txt"];
  for (const dir of opts.includePath ?? []) {
    for (const base of [name, name.toLowerCase(), name.toUpperCase()]) {
      for (const ext of exts) {
        const p = join(dir, base + ext);
        if (existsSync(p)) return { text: readFileSync(p, "latin1"), file: p };
      }
    }
  }
  throw new CopybookSyntaxError(
    from.file,
    from.line,
    from.col,
    `COPY member ${name} in the include path (${(opts.includePath ?? []).join(", ") || "none given"})`,
    "no such member",
  );
}

/** Expands COPY statements (recursively) in a token list. */
function expandCopies(tokens: Token[], opts: ParseOptions, depth: number, chain: string[]): Token[] {
  const out: Token[] = [];
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (t.kind !== "word" || t.upper !== "COPY") {
      out.push(t);
      continue;
    }
    const nameTok = tokens[++i]!;
    if (nameTok.kind !== "word" && nameTok.kind !== "literal") {
      throw new CopybookSyntaxError(
        nameTok.file,
        nameTok.line,
        nameTok.col,
        "a member name after COPY",
        describe(nameTok),
      );
    }
    let p = i + 1;
    if (tokens[p]?.upper === "OF" || tokens[p]?.upper === "IN") p += 2;
    if (tokens[p]?.upper === "SUPPRESS") p++;
    const replacing: Array<{ from: Token[]; to: Token[]; mode: "" | "LEADING" | "TRAILING" }> = [];
    if (tokens[p]?.upper === "REPLACING") {
      p++;
      const operand = (): Token[] => {
        const a = tokens[p]!;
        if (a.kind === "pseudo") {
          const seq: Token[] = [];
          p++;
          while (tokens[p] && tokens[p]!.kind !== "pseudo") {
            if (tokens[p]!.kind === "eof") break;
            seq.push(tokens[p]!);
            p++;
          }
          if (tokens[p]?.kind !== "pseudo")
            throw new CopybookSyntaxError(a.file, a.line, a.col, "closing '=='", describe(tokens[p] ?? a));
          p++;
          return seq;
        }
        if (a.kind === "word" || a.kind === "literal") {
          p++;
          return [a];
        }
        throw new CopybookSyntaxError(
          a.file,
          a.line,
          a.col,
          "a REPLACING operand (==text==, word or literal)",
          describe(a),
        );
      };
      while (tokens[p] && tokens[p]!.kind !== "period" && tokens[p]!.kind !== "eof") {
        let mode: "" | "LEADING" | "TRAILING" = "";
        if (tokens[p]!.upper === "LEADING" || tokens[p]!.upper === "TRAILING") {
          mode = tokens[p]!.upper as "LEADING" | "TRAILING";
          p++;
        }
        const from = operand();
        const by = tokens[p]!;
        if (by.upper !== "BY") throw new CopybookSyntaxError(by.file, by.line, by.col, "BY", describe(by));
        p++;
        const to = operand();
        replacing.push({ from, to, mode });
      }
    }
    const end = tokens[p]!;
    if (end.kind !== "period")
      throw new CopybookSyntaxError(
        end.file,
        end.line,
        end.col,
        "'.' ending the COPY statement",
        describe(end),
      );
    i = p;
    const name = nameTok.text;
    if (depth > 16 || chain.includes(name.toUpperCase())) {
      throw new CopybookSyntaxError(
        nameTok.file,
        nameTok.line,
        nameTok.col,
        "a COPY member that does not include itself",
        `cycle ${[...chain, name].join(" -> ")}`,
      );
    }
    const member = loadMember(name, opts, nameTok);
    let sub = lex(member.text, member.file, opts);
    sub.pop(); // eof
    sub = applyReplacing(sub, replacing);
    out.push(...expandCopies(sub, opts, depth + 1, [...chain, name.toUpperCase()]));
  }
  return out;
}

function applyReplacing(
  tokens: Token[],
  pairs: Array<{ from: Token[]; to: Token[]; mode: "" | "LEADING" | "TRAILING" }>,
): Token[] {
  if (pairs.length === 0) return tokens;
  const out: Token[] = [];
  outer: for (let i = 0; i < tokens.length; i++) {
    for (const { from, to, mode } of pairs) {
      if (from.length === 0) continue;
      const f0 = from[0]!;
      if (
        from.length === 1 &&
        (mode || /^[^A-Za-z0-9]|[^A-Za-z0-9]$/.test(f0.text)) &&
        tokens[i]!.kind === "word"
      ) {
        // Partial-word replacement (:TAG: convention, LEADING/TRAILING).
        const w = tokens[i]!;
        const f = f0.upper;
        const rep = to.map((t) => t.text).join("");
        let nt: string | null = null;
        if (mode === "LEADING" && w.upper.startsWith(f)) nt = rep + w.text.slice(f.length);
        else if (mode === "TRAILING" && w.upper.endsWith(f))
          nt = w.text.slice(0, w.text.length - f.length) + rep;
        else if (!mode && w.upper.includes(f))
          nt = w.text.split(new RegExp(escapeRe(f0.text), "gi")).join(rep);
        if (nt !== null) {
          out.push({ ...w, text: nt, upper: nt.toUpperCase() });
          continue outer;
        }
        continue;
      }
      let match = true;
      for (let k = 0; k < from.length; k++) {
        const a = tokens[i + k];
        if (!a || a.kind !== from[k]!.kind || a.upper !== from[k]!.upper) {
          match = false;
          break;
        }
      }
      if (match) {
        for (const t of to)
          out.push({ ...t, file: tokens[i]!.file, line: tokens[i]!.line, col: tokens[i]!.col });
        i += from.length - 1;
        continue outer;
      }
    }
    out.push(tokens[i]!);
  }
  return out;
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

const USAGE_WORDS: Record<string, UsageName> = {
  DISPLAY: "display",
  COMP: "binary",
  "COMP-0": "binary",
  "COMP-4": "binary",
  COMPUTATIONAL: "binary",
  "COMPUTATIONAL-0": "binary",
  "COMPUTATIONAL-4": "binary",
  BINARY: "binary",
  "COMP-5": "comp5",
  "COMPUTATIONAL-5": "comp5",
  "COMP-9": "comp9",
  "COMP-3": "packed",
  "COMPUTATIONAL-3": "packed",
  "PACKED-DECIMAL": "packed",
  "COMP-3U": "packed-unsigned",
  "COMP-1": "float",
  "COMPUTATIONAL-1": "float",
  "COMP-2": "double",
  "COMPUTATIONAL-2": "double",
  NATIONAL: "national",
  INDEX: "index",
  POINTER: "pointer",
};

const FIGURATIVE = new Set([
  "ZERO",
  "ZEROS",
  "ZEROES",
  "SPACE",
  "SPACES",
  "HIGH-VALUE",
  "HIGH-VALUES",
  "LOW-VALUE",
  "LOW-VALUES",
  "QUOTE",
  "QUOTES",
  "NULL",
  "NULLS",
]);

const CLAUSE_WORDS = new Set([
  "REDEFINES",
  "PIC",
  "PICTURE",
  "USAGE",
  "OCCURS",
  "SIGN",
  "LEADING",
  "TRAILING",
  "JUST",
  "JUSTIFIED",
  "SYNC",
  "SYNCHRONIZED",
  "BLANK",
  "VALUE",
  "VALUES",
  "GLOBAL",
  "EXTERNAL",
  "RENAMES",
  "IS",
  ...Object.keys(USAGE_WORDS),
]);

class Parser {
  private p = 0;
  private readonly t: Token[];
  constructor(tokens: Token[]) {
    this.t = tokens;
  }
  private peek(k = 0): Token {
    return this.t[Math.min(this.p + k, this.t.length - 1)]!;
  }
  private fail(expected: string, tok = this.peek()): never {
    throw new CopybookSyntaxError(tok.file, tok.line, tok.col, expected, describe(tok));
  }
  private accept(...words: string[]): Token | null {
    const tok = this.peek();
    if (tok.kind === "word" && words.includes(tok.upper)) {
      this.p++;
      return tok;
    }
    return null;
  }
  private expectInt(what: string): number {
    const tok = this.peek();
    if (tok.kind !== "word" || !/^[0-9]+$/.test(tok.text)) this.fail(what);
    this.p++;
    return Number.parseInt(tok.text, 10);
  }
  private expectName(what: string): string {
    const tok = this.peek();
    if (tok.kind !== "word" || /^[0-9]+$/.test(tok.text)) this.fail(what);
    this.p++;
    // Qualified names (A OF B / A IN B): keep the first, the layout resolves it.
    if (this.peek().upper === "OF" || this.peek().upper === "IN") {
      this.p++;
      const q = this.expectName("a qualifying name after OF/IN");
      return `${tok.text} OF ${q}`;
    }
    return tok.text;
  }

  private literal(): Literal {
    const tok = this.peek();
    if (tok.kind === "literal") {
      this.p++;
      return tok.text;
    }
    if (tok.kind === "word") {
      if (/^[+-]?[0-9]*\.?[0-9]+$/.test(tok.text)) {
        this.p++;
        return Number(tok.text);
      }
      if (tok.upper === "ALL") {
        this.p++;
        const v = this.literal();
        return { figurative: `ALL ${typeof v === "string" ? v : JSON.stringify(v)}` };
      }
      if (FIGURATIVE.has(tok.upper)) {
        this.p++;
        return { figurative: tok.upper.replace(/(S|ES)$/, "").replace(/^ZERO$/, "ZERO") };
      }
    }
    return this.fail("a literal (number, 'text', or ZERO/SPACE/HIGH-VALUE/LOW-VALUE)");
  }

  private values(): Array<Literal | readonly [Literal, Literal]> {
    this.accept("IS", "ARE");
    const out: Array<Literal | readonly [Literal, Literal]> = [];
    do {
      const lo = this.literal();
      if (this.accept("THRU", "THROUGH")) out.push([lo, this.literal()] as const);
      else out.push(lo);
    } while (
      this.peek().kind === "literal" ||
      (this.peek().kind === "word" &&
        (/^[+-]?[0-9]*\.?[0-9]+$/.test(this.peek().text) ||
          FIGURATIVE.has(this.peek().upper) ||
          this.peek().upper === "ALL"))
    );
    return out;
  }

  parse(): ParsedCopybook {
    const records: CopybookItem[] = [];
    const stack: CopybookItem[] = [];
    let last: CopybookItem | null = null;
    while (this.peek().kind !== "eof") {
      const tok = this.peek();
      if (tok.kind === "word" && /^(SKIP1|SKIP2|SKIP3|EJECT)$/.test(tok.upper)) {
        this.p++;
        if (this.peek().kind === "period") this.p++;
        continue;
      }
      if (tok.kind === "period") {
        this.p++;
        continue;
      }
      if (tok.kind !== "word" || !/^[0-9]{1,2}$/.test(tok.text))
        this.fail("a level number (01-49, 66, 77 or 88)");
      const level = Number.parseInt(tok.text, 10);
      if (!((level >= 1 && level <= 49) || level === 66 || level === 77 || level === 88)) {
        this.fail("a level number (01-49, 66, 77 or 88)");
      }
      this.p++;
      const pos = { file: tok.file, line: tok.line, column: tok.col };
      let name: string;
      let filler = false;
      const nt = this.peek();
      if (nt.kind === "word" && nt.upper === "FILLER") {
        this.p++;
        filler = true;
        name = "FILLER";
      } else if (nt.kind === "word" && !CLAUSE_WORDS.has(nt.upper) && !/^[0-9]+$/.test(nt.text)) {
        this.p++;
        name = nt.text.toUpperCase();
      } else if (level === 66 || level === 88) {
        return this.fail(`a name after level ${level}`);
      } else {
        filler = true;
        name = "FILLER";
      }
      const item: CopybookItem = { level, name, filler, pos, conditions: [], children: [] };
      if (level === 88) {
        if (!this.accept("VALUE", "VALUES")) this.fail("VALUE or VALUES in a level-88 entry");
        const cond: ConditionName = { name, values: this.values() };
        if (!last)
          throw new CopybookSyntaxError(
            tok.file,
            tok.line,
            tok.col,
            "a data item before a level-88 condition",
            `88 ${name}`,
          );
        last.conditions.push(cond);
        this.endEntry();
        continue;
      }
      if (level === 66) {
        if (!this.accept("RENAMES")) this.fail("RENAMES in a level-66 entry");
        const from = this.expectName("the name of the first renamed item");
        let thru: string | undefined;
        if (this.accept("THRU", "THROUGH")) thru = this.expectName("the name of the last renamed item");
        item.renames = thru ? { from, thru } : { from };
        this.endEntry();
        const root = stack[0];
        if (!root)
          throw new CopybookSyntaxError(
            tok.file,
            tok.line,
            tok.col,
            "a record (01) before a level-66 entry",
            `66 ${name}`,
          );
        root.children.push(item);
        continue;
      }
      this.clauses(item);
      this.endEntry();
      if (level === 1 || level === 77) {
        stack.length = 0;
        stack.push(item);
        records.push(item);
      } else {
        while (stack.length > 0 && stack[stack.length - 1]!.level >= level) stack.pop();
        const parent = stack[stack.length - 1];
        if (!parent) {
          // Copybooks without an 01 level: make an implicit record.
          const root: CopybookItem = {
            level: 1,
            name: "RECORD",
            filler: false,
            pos,
            conditions: [],
            children: [],
          };
          records.push(root);
          stack.push(root);
          root.children.push(item);
        } else {
          if (parent.picture !== undefined) {
            throw new CopybookSyntaxError(
              tok.file,
              tok.line,
              tok.col,
              `a level number not below elementary item ${parent.name}`,
              `level ${tok.text}`,
              `${parent.name} has a PIC clause so it cannot have subordinate items`,
            );
          }
          parent.children.push(item);
        }
        stack.push(item);
      }
      last = item;
    }
    return { records };
  }

  private endEntry(): void {
    const tok = this.peek();
    if (tok.kind !== "period") this.fail("a clause or '.' ending the entry");
    this.p++;
  }

  private clauses(item: CopybookItem): void {
    for (;;) {
      const tok = this.peek();
      if (tok.kind === "period" || tok.kind === "eof") return;
      if (tok.kind !== "word") this.fail("a clause (PIC, USAGE, OCCURS, REDEFINES, VALUE, ...)");
      const u = tok.upper;
      if (u === "REDEFINES") {
        this.p++;
        item.redefines = this.expectName("the name of the redefined item").toUpperCase();
      } else if (u === "PIC" || u === "PICTURE") {
        this.p++;
        this.accept("IS");
        const pt = this.peek();
        if (pt.kind !== "picture") this.fail("a picture string");
        this.p++;
        item.picture = pt.text.toUpperCase();
      } else if (u === "USAGE") {
        this.p++;
        this.accept("IS");
        const ut = this.peek();
        const usage = USAGE_WORDS[ut.upper];
        if (!usage) this.fail("a usage (DISPLAY, COMP, COMP-1..5, BINARY, PACKED-DECIMAL...)");
        this.p++;
        item.usage = usage;
      } else if (USAGE_WORDS[u]) {
        this.p++;
        item.usage = USAGE_WORDS[u];
      } else if (u === "OCCURS") {
        this.p++;
        const n = this.expectInt("the number of occurrences after OCCURS");
        let min = n;
        let max = n;
        const sawTo = this.accept("TO") !== null;
        if (sawTo) max = this.expectInt("the maximum number of occurrences after TO");
        this.accept("TIMES");
        let dependingOn: string | undefined;
        if (this.accept("DEPENDING")) {
          this.accept("ON");
          dependingOn = this.expectName("the name of the counter after DEPENDING ON").toUpperCase();
        }
        // `OCCURS n DEPENDING ON x` (no TO): 0 to n occurrences.
        if (dependingOn && max === min && !sawTo) min = 0;
        if (max < min) this.fail(`a maximum (${max}) not below the minimum (${min})`, tok);
        for (;;) {
          if (this.accept("ASCENDING", "DESCENDING")) {
            this.accept("KEY");
            this.accept("IS");
            while (
              this.peek().kind === "word" &&
              !CLAUSE_WORDS.has(this.peek().upper) &&
              !["ASCENDING", "DESCENDING", "INDEXED"].includes(this.peek().upper)
            )
              this.p++;
            continue;
          }
          if (this.accept("INDEXED")) {
            this.accept("BY");
            while (
              this.peek().kind === "word" &&
              !CLAUSE_WORDS.has(this.peek().upper) &&
              !["ASCENDING", "DESCENDING"].includes(this.peek().upper)
            )
              this.p++;
            continue;
          }
          break;
        }
        item.occurs = dependingOn ? { min, max, dependingOn } : { min, max };
      } else if (u === "SIGN" || u === "LEADING" || u === "TRAILING") {
        this.p++;
        let position: "leading" | "trailing";
        if (u === "SIGN") {
          this.accept("IS");
          const w = this.accept("LEADING", "TRAILING");
          if (!w) this.fail("LEADING or TRAILING after SIGN");
          position = w.upper === "LEADING" ? "leading" : "trailing";
        } else position = u === "LEADING" ? "leading" : "trailing";
        let separate = false;
        if (this.accept("SEPARATE")) {
          separate = true;
          this.accept("CHARACTER");
        }
        item.sign = { position, separate };
      } else if (u === "JUST" || u === "JUSTIFIED") {
        this.p++;
        this.accept("RIGHT");
        item.justified = true;
      } else if (u === "SYNC" || u === "SYNCHRONIZED") {
        this.p++;
        this.accept("LEFT", "RIGHT");
        item.sync = true;
      } else if (u === "BLANK") {
        this.p++;
        this.accept("WHEN");
        if (!this.accept("ZERO", "ZEROS", "ZEROES")) this.fail("ZERO after BLANK WHEN");
        item.blankWhenZero = true;
      } else if (u === "VALUE" || u === "VALUES") {
        this.p++;
        const vs = this.values();
        const v0 = vs[0]!;
        item.value = Array.isArray(v0) ? (v0 as readonly [Literal, Literal])[0] : (v0 as Literal);
      } else if (u === "GLOBAL" || u === "EXTERNAL" || u === "IS") {
        this.p++;
      } else {
        this.fail("a clause (PIC, USAGE, OCCURS, REDEFINES, VALUE, SIGN, SYNC, JUSTIFIED) or '.'");
      }
    }
  }
}

/** Parses copybook text into items (no layout yet). Throws CopybookSyntaxError. */
export function parseCopybookItems(text: string, options: ParseOptions = {}): ParsedCopybook {
  const file = options.file ?? "copybook";
  if (options.format !== undefined && options.format !== "fixed" && options.format !== "free") {
    throw new CopybookError(
      "COPYBOOK_OPTION",
      `option format: '${String(options.format)}' is not fixed or free`,
    );
  }
  cutLines.length = 0;
  let parsed: ParsedCopybook;
  try {
    const tokens = expandCopies(lex(text, file, options), options, 0, []);
    parsed = new Parser(tokens).parse();
  } catch (e) {
    // A word or period cut at column 72 is the usual cause of a puzzling error in fixed format.
    const near = e instanceof CopybookSyntaxError ? cutLines.filter((l) => l <= e.line).pop() : undefined;
    if (e instanceof CopybookSyntaxError && near !== undefined && (options.format ?? "fixed") === "fixed") {
      throw new CopybookSyntaxError(
        e.file,
        e.line,
        e.column,
        e.expected,
        e.found,
        `line ${near} has code past column ${options.codeEnd ?? 72}, which fixed format ignores`,
      );
    }
    throw e;
  }
  if (parsed.records.length === 0) {
    throw new CopybookSyntaxError(file, 1, 1, "at least one data description entry", "none");
  }
  return parsed;
}

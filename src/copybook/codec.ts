// Public codec API: parse a copybook, compile a record layout into a decoder/encoder.
import type { CopybookItem } from "./ast.ts";
import { type CodePage, getCodePage } from "./codepages.ts";
import {
  buildTemplate,
  type CorruptField,
  type DecodeContext,
  type DecodeFn,
  type EncodeFn,
  type FieldCodecRule,
  type FieldInfo,
  type FloatFormat,
  fieldInfo,
  type GenOptions,
  generateDecoder,
  generateEncoder,
  type RedefineSelector,
  type SizeFn,
} from "./codegen.ts";
import { CopybookError, RecordEncodeError } from "./errors.ts";
import { buildLayout, type LayoutNode, type RecordLayout } from "./layout.ts";
import { type ParseOptions, parseCopybookItems } from "./parser.ts";

export interface CodecOptions {
  /** Which 01/77 record to compile (default: the only one; with several, all of them as alternatives). */
  record?: string;
  /** Default code page of text fields (default "cp037"); "ascii"/"latin1" also switch numerics to ASCII. */
  codePage?: string;
  /** Per-field code page, by field name. */
  fieldCodePages?: Readonly<Record<string, string>>;
  /** false = lenient: invalid fields become null and are listed (decodeDetailed().corrupt). Default true. */
  strict?: boolean;
  /** String trimming: "right" (default: trailing spaces/controls), "left", "both", "none". */
  trim?: "none" | "left" | "right" | "both";
  /** COMP-1 / COMP-2 format (default "ibm": IBM hexadecimal, big-endian). */
  floatFormat?: FloatFormat;
  /** OCCURS DEPENDING ON: "shift" (IBM: the table takes count × size, later fields move; default) or "max". */
  variableOccurs?: "shift" | "max";
  /** Numbers of only 0x00/spaces and text of only 0x00 decode to null (Cobrix improved_null_detection). */
  nullDetection?: boolean;
  /** false: accept a positive overpunch on an unsigned DISPLAY field (Cobrix strict_sign_overpunching=false). */
  strictSignOverpunch?: boolean;
  /** Accept spaces / 0x00 inside DISPLAY numbers (Cobrix behaviour; IBM treats them as invalid). */
  displaySpaces?: boolean;
  /** Keep the 01 level as the top-level key (default false: its fields are the top level). */
  keepRoot?: boolean;
  /** FILLER handling: values dropped, groups kept as FILLER_n by default (as Cobrix). */
  fillers?: { values?: "drop" | "keep"; groups?: "drop" | "keep"; naming?: "sequence" | "previous" };
  /** Output names: as in the copybook (default) or with '-' replaced by '_' (Cobrix). */
  names?: "copybook" | "underscore";
  /** Custom field codecs (house rules), first match wins. */
  fieldCodecs?: readonly FieldCodecRule[];
  /** REDEFINES branch selectors, keyed by the name of any item of the set. */
  redefines?: Readonly<Record<string, RedefineSelector>>;
  /** Segment id field: with segmentRedefines, its value selects REDEFINES branches (Cobrix redefine_segment_id_map). */
  segmentField?: string;
  /** Branch name -> segment ids that activate it. Branches not listed are always decoded. */
  segmentRedefines?: Readonly<Record<string, readonly (string | number)[]>>;
  /** DEPENDING ON a PIC X field: value -> count, by counter field name (Cobrix occurs_mappings). */
  occursMappings?: Readonly<Record<string, Readonly<Record<string, number>>>>;
  /** Bytes after the record in decode(): "error" (default) or "ignore". */
  trailingBytes?: "error" | "ignore";
  /**
   * A record shorter than its layout: "error" (default) or "pad" (decoded as if padded with 0x00 bytes,
   * as Cobrix reads short variable-length segments).
   */
  shortRecords?: "error" | "pad";
  /** Add each level-66 RENAMES item as a key holding the renamed elementary items (default false). */
  renames?: boolean;
  /** Encoding a record with missing fields: "error" (default) or "default" (spaces / zeros). */
  missing?: "error" | "default";
  /** Non COMP-5 binary values beyond the PIC digits: "full" accepts them (default, TRUNC(BIN)), "pic" rejects. */
  binaryRange?: "full" | "pic";
}

export interface DecodeResult {
  readonly record: Record<string, unknown>;
  /** Bytes the record occupies. */
  readonly size: number;
  /** Lenient mode: fields that were invalid (their value is null). */
  readonly corrupt: readonly CorruptField[];
}

/** A decoder of some fields only (header-only decode): no work, no strings for the others. */
export interface PartialDecoder {
  readonly fields: readonly string[];
  decode(bytes: Uint8Array, offset?: number, end?: number): Record<string, unknown>;
}

const TRIM = { none: 0, left: 1, right: 2, both: 3 } as const;

export class Copybook {
  /** One layout per 01/77 record. */
  readonly records: readonly RecordLayout[];
  private readonly items: readonly CopybookItem[];
  constructor(items: readonly CopybookItem[]) {
    this.items = items;
    this.records = items.map((i) => buildLayout(i));
  }
  get recordNames(): string[] {
    return this.records.map((r) => r.root.name);
  }
  /** The layout of one record (by name), or of the whole copybook (several records as alternatives). */
  layout(record?: string): RecordLayout {
    if (record !== undefined) {
      const hit = this.records.find((r) => r.root.name === record.toUpperCase());
      if (!hit)
        throw new CopybookError(
          "COPYBOOK_RECORD",
          `no record ${record} in the copybook (records: ${this.recordNames.join(", ")})`,
        );
      return hit;
    }
    if (this.records.length === 1) return this.records[0]!;
    // Several 01 records: they share the same storage (alternatives), as Cobrix reads them.
    const first = this.items[0]!;
    const root: CopybookItem = {
      level: 0,
      name: "",
      filler: false,
      pos: first.pos,
      conditions: [],
      children: this.items.map((it, i) => (i === 0 ? it : { ...it, redefines: first.name })),
    };
    return buildLayout(root);
  }
  compile(options: CodecOptions = {}): RecordCodec {
    return new RecordCodec(this.layout(options.record), options);
  }
}

/** Parses copybook text. Throws CopybookSyntaxError / CopybookLayoutError naming file, line and column. */
export function parseCopybook(text: string, options: ParseOptions = {}): Copybook {
  return new Copybook(parseCopybookItems(text, options).records);
}

/** Parses a copybook and compiles one record in a single call. */
export function compileCopybook(text: string, options: CodecOptions & ParseOptions = {}): RecordCodec {
  return parseCopybook(text, options).compile(options);
}

function matchRule(rule: FieldCodecRule, info: FieldInfo): boolean {
  const m = rule.match;
  if (typeof m === "string") return m.toUpperCase() === info.name;
  if (m instanceof RegExp) return m.test(info.name);
  return m(info);
}

export class RecordCodec {
  readonly layout: RecordLayout;
  readonly options: Readonly<CodecOptions>;
  /** Max size of a record (all tables full). */
  readonly maxSize: number;
  /** True when the record size depends on OCCURS DEPENDING ON counts. */
  readonly variable: boolean;
  private readonly gen: GenOptions;
  private readonly decodeFn: DecodeFn;
  private readonly sizeFn: SizeFn | null;
  private encodeFn: EncodeFn | null = null;
  private template: Uint8Array | null = null;
  private readonly partials = new Map<string, PartialDecoder>();
  private readonly ctx: DecodeContext = { size: 0, corrupt: null };

  constructor(layout: RecordLayout, options: CodecOptions = {}) {
    validateOptions(options);
    this.layout = layout;
    this.options = options;
    const defaultPage = getCodePage(options.codePage ?? "cp037");
    const fieldPages = new Map<string, CodePage>();
    for (const [k, v] of Object.entries(options.fieldCodePages ?? {}))
      fieldPages.set(k.toUpperCase(), getCodePage(v));
    const byName = (name: string, what: string): LayoutNode => {
      const u = name.toUpperCase();
      const hit =
        layout.nodes.find((n) => n.name === u) ??
        layout.nodes.find((n) => n.name.replace(/-/g, "_") === u.replace(/-/g, "_")) ??
        layout.nodes.find((n) => n.path === u || n.path.endsWith(`.${u}`));
      if (!hit)
        throw new CopybookError("COPYBOOK_OPTION", `${what}: no field ${name} in record ${layout.root.name}`);
      return hit;
    };
    const selectors = new Map<LayoutNode, { selector: RedefineSelector; segField?: LayoutNode }>();
    for (const [k, sel] of Object.entries(options.redefines ?? {})) {
      const n = byName(k, "redefines");
      const setRoot = n.redefines ?? n;
      if (typeof sel === "function") selectors.set(setRoot, { selector: sel });
      else {
        const branches: Record<string, readonly (string | number)[]> = {};
        for (const [b, ids] of Object.entries(sel.branches))
          branches[byName(b, "redefines branch").name] = ids;
        selectors.set(setRoot, {
          selector: { field: sel.field, branches },
          segField: byName(sel.field, "redefines field"),
        });
      }
    }
    if (options.segmentRedefines) {
      if (!options.segmentField)
        throw new CopybookError("COPYBOOK_OPTION", "segmentRedefines needs segmentField");
      const seg = byName(options.segmentField, "segmentField");
      const bySet = new Map<LayoutNode, Record<string, readonly (string | number)[]>>();
      for (const [b, ids] of Object.entries(options.segmentRedefines)) {
        const n = byName(b, "segmentRedefines");
        const setRoot = n.redefines ?? n;
        const br = bySet.get(setRoot) ?? {};
        br[n.name] = ids;
        bySet.set(setRoot, br);
      }
      for (const [setRoot, branches] of bySet) {
        selectors.set(setRoot, { selector: { field: seg.name, branches }, segField: seg });
      }
    }
    const mappings = new Map<LayoutNode, Readonly<Record<string, number>>>();
    // Keyed by table name (Cobrix) or by counter name (applies to every table it sizes).
    for (const [k, m] of Object.entries(options.occursMappings ?? {}))
      mappings.set(byName(k, "occursMappings"), m);
    const mappingFor = (table: LayoutNode): Readonly<Record<string, number>> | undefined =>
      mappings.get(table) ?? (table.occurs?.dependingOn ? mappings.get(table.occurs.dependingOn) : undefined);
    const hooks = new Map<LayoutNode, FieldCodecRule>();
    for (const n of layout.nodes) {
      if (n.kind !== "field") continue;
      const info = fieldInfo(n);
      const rule = options.fieldCodecs?.find((r) => matchRule(r, info));
      if (rule) hooks.set(n, rule);
    }
    const names = computeOutputNames(layout, options);
    this.gen = {
      strict: options.strict !== false,
      trim: TRIM[options.trim ?? "right"],
      pageFor: (n) => {
        for (let p: LayoutNode | null = n; p; p = p.parent) {
          const pg = fieldPages.get(p.name);
          if (pg) return pg;
        }
        return defaultPage;
      },
      floatFormat: options.floatFormat ?? "ibm",
      variableOccurs: options.variableOccurs ?? "shift",
      nullDetection: options.nullDetection === true,
      relaxedSign: options.strictSignOverpunch === false,
      displaySpaces: options.displaySpaces === true,
      outName: (n) => names.get(n) ?? null,
      hookFor: (n) => hooks.get(n),
      selectorFor: (n) => selectors.get(n),
      occursMapping: mappingFor,
      emit: null,
      trailing: options.trailingBytes ?? "error",
      binaryRange: options.binaryRange ?? "full",
    };
    this.maxSize = layout.size;
    this.variable = this.gen.variableOccurs === "shift" && layout.root.variable;
    this.decodeFn = generateDecoder(layout, this.gen) as DecodeFn;
    this.sizeFn = this.variable ? (generateDecoder(layout, this.gen, true) as SizeFn) : null;
    this.initRenames();
  }

  private wrap(r: Record<string, unknown>): Record<string, unknown> {
    if (this.renameAccessors) this.addRenames(r);
    if (this.options.keepRoot && this.layout.root.name) return { [this.outRootName()]: r };
    return r;
  }

  // Level-66 RENAMES as extra keys (option `renames`): each is an object of the renamed elementary items.
  private renameAccessors: Array<{ key: string; fields: Array<{ key: string; path: string[] }> }> | null =
    null;
  private initRenames(): void {
    if (!this.options.renames || this.layout.renames.length === 0) return;
    const names = computeOutputNames(this.layout, this.options);
    const conv = (s: string): string => (this.options.names === "underscore" ? s.replace(/-/g, "_") : s);
    this.renameAccessors = [];
    for (const rn of this.layout.renames) {
      const { from, thru } = rn.renames!;
      // last node of thru's subtree
      let lastId = thru.id;
      for (const n of this.layout.nodes) {
        for (let p: LayoutNode | null = n; p; p = p.parent) if (p === thru) lastId = Math.max(lastId, n.id);
      }
      const fields: Array<{ key: string; path: string[] }> = [];
      for (const n of this.layout.nodes) {
        if (n.id < from.id || n.id > lastId || n.kind !== "field") continue;
        const path: string[] = [];
        let ok = true;
        for (let p: LayoutNode | null = n; p && p !== this.layout.root; p = p.parent) {
          const k = names.get(p);
          if (k == null || p.occurs) ok = false;
          else path.unshift(k);
        }
        if (ok) fields.push({ key: path[path.length - 1]!, path });
      }
      this.renameAccessors.push({ key: conv(rn.name), fields });
    }
  }
  private addRenames(r: Record<string, unknown>): void {
    for (const acc of this.renameAccessors!) {
      const o: Record<string, unknown> = {};
      for (const f of acc.fields) {
        let v: unknown = r;
        for (const k of f.path)
          v = v !== null && typeof v === "object" ? (v as Record<string, unknown>)[k] : undefined;
        if (v !== undefined) o[f.key] = v;
      }
      r[acc.key] = o;
    }
  }
  private outRootName(): string {
    const n = this.layout.root.name;
    return this.options.names === "underscore" ? n.replace(/-/g, "_") : n;
  }

  /** Decodes the record in bytes[offset, end). Strict mode throws RecordDecodeError; lenient gives nulls. */
  decode(bytes: Uint8Array, offset = 0, end = bytes.length): Record<string, unknown> {
    checkRange(bytes, offset, end);
    const ctx = this.ctx;
    ctx.corrupt = null;
    if (end - offset < this.maxSize && this.options.shortRecords === "pad")
      return this.decodePadded(bytes, offset, end, ctx);
    return this.wrap(this.decodeFn(bytes, offset, end, ctx));
  }

  /**
   * Checks that decode() would accept the record in bytes[offset, end) (strict mode: throws the
   * RecordDecodeError decode would throw), building as few values as it can. For encoders that verify
   * what they wrote.
   */
  validate(bytes: Uint8Array, offset = 0, end = bytes.length): void {
    if (this.validateFn === undefined) {
      this.validateFn = this.gen.strict ? generateDecoder(this.layout, this.gen, false, true) : null;
    }
    if (this.validateFn === null || (end - offset < this.maxSize && this.options.shortRecords === "pad")) {
      this.decode(bytes, offset, end);
      return;
    }
    checkRange(bytes, offset, end);
    this.validateFn(bytes, offset, end, this.ctx);
  }
  /** The generated checker (null: none for this layout, validate() decodes); compiled on first use. */
  private validateFn: DecodeFn | null | undefined = undefined;

  private padded: DecodeFn | null = null;
  private decodePadded(
    bytes: Uint8Array,
    offset: number,
    end: number,
    ctx: DecodeContext,
  ): Record<string, unknown> {
    const buf = new Uint8Array(this.maxSize);
    buf.set(bytes.subarray(offset, end));
    this.padded ??= generateDecoder(this.layout, { ...this.gen, trailing: "ignore" }) as DecodeFn;
    const r = this.wrap(this.padded(buf, 0, buf.length, ctx));
    ctx.size = end - offset;
    return r;
  }

  /** Decodes and also returns the record size and (lenient mode) the corrupt fields. */
  decodeDetailed(bytes: Uint8Array, offset = 0, end = bytes.length): DecodeResult {
    checkRange(bytes, offset, end);
    const ctx: DecodeContext = { size: 0, corrupt: null };
    const record =
      end - offset < this.maxSize && this.options.shortRecords === "pad"
        ? this.decodePadded(bytes, offset, end, ctx)
        : this.wrap(this.decodeFn(bytes, offset, end, ctx));
    return { record, size: ctx.size, corrupt: ctx.corrupt ?? [] };
  }

  /** Size of the record starting at offset (reads only OCCURS DEPENDING ON counters). */
  sizeOf(bytes: Uint8Array, offset = 0, end = bytes.length): number {
    checkRange(bytes, offset, end);
    return this.sizeFn ? this.sizeFn(bytes, offset, end) : this.maxSize;
  }

  /** A decoder of the named fields only (names, or dotted paths; groups bring their children). */
  pick(fields: readonly string[]): PartialDecoder {
    const key = fields.join("\u0000");
    const hit = this.partials.get(key);
    if (hit) return hit;
    const emit = new Set<LayoutNode>();
    for (const f of fields) {
      const u = f.toUpperCase();
      const cands = this.layout.nodes.filter((n) => n.name === u || n.path === u || n.path.endsWith(`.${u}`));
      if (cands.length === 0)
        throw new CopybookError("COPYBOOK_FIELD", `no field ${f} in record ${this.layout.root.name}`);
      if (cands.length > 1 && !cands.every((c) => c === cands[0])) {
        throw new CopybookError(
          "COPYBOOK_FIELD",
          `field name ${f} is ambiguous: ${cands.map((c) => c.path).join(", ")}`,
        );
      }
      emit.add(cands[0]!);
    }
    const fn = generateDecoder(this.layout, { ...this.gen, emit, trailing: "ignore" }) as DecodeFn;
    const ctx: DecodeContext = { size: 0, corrupt: null };
    const partial: PartialDecoder = {
      fields: [...fields],
      decode: (bytes, offset = 0, end = bytes.length) => {
        checkRange(bytes, offset, end);
        ctx.corrupt = null;
        return this.wrap(fn(bytes, offset, end, ctx));
      },
    };
    this.partials.set(key, partial);
    return partial;
  }

  private viewClass: (new (b: Uint8Array, o: number, e: number) => Record<string, unknown>) | null = null;

  /**
   * A lazy view of a record: each top-level field is decoded (and cached) when first read; fields nobody
   * reads cost nothing. `JSON.stringify(view)` decodes the whole record. Errors surface on access.
   */
  view(bytes: Uint8Array, offset = 0, end = bytes.length): Record<string, unknown> {
    if (!this.viewClass) {
      const names = computeOutputNames(this.layout, this.options);
      const keys: Array<[string, string]> = [];
      for (const c of this.layout.root.kind === "group" ? this.layout.root.children : [this.layout.root]) {
        const k = names.get(c);
        if (c.level !== 66 && k != null) keys.push([k, c.path]);
      }
      const codec = this;
      class RecordView {
        readonly #b: Uint8Array;
        readonly #o: number;
        readonly #e: number;
        readonly #cache = new Map<string, unknown>();
        constructor(b: Uint8Array, o: number, e: number) {
          this.#b = b;
          this.#o = o;
          this.#e = e;
        }
        get(key: string, path: string): unknown {
          if (this.#cache.has(key)) return this.#cache.get(key);
          const r = codec.pick([path]).decode(this.#b, this.#o, this.#e);
          const v = codec.options.keepRoot ? (Object.values(r)[0] as Record<string, unknown>)[key] : r[key];
          this.#cache.set(key, v);
          return v;
        }
        toJSON(): Record<string, unknown> {
          return codec.decode(this.#b, this.#o, this.#e);
        }
      }
      for (const [key, path] of keys) {
        Object.defineProperty(RecordView.prototype, key, {
          get(this: RecordView) {
            return this.get(key, path);
          },
          enumerable: true,
        });
      }
      this.viewClass = RecordView as unknown as new (
        b: Uint8Array,
        o: number,
        e: number,
      ) => Record<string, unknown>;
    }
    return new this.viewClass(bytes, offset, end);
  }

  private encoder(): EncodeFn {
    if (!this.encodeFn) {
      this.encodeFn = generateEncoder(this.layout, { ...this.gen, missing: this.options.missing ?? "error" });
      this.template = buildTemplate(this.layout, this.gen);
    }
    return this.encodeFn;
  }

  private unwrap(record: Record<string, unknown>): Record<string, unknown> {
    if (this.options.keepRoot && this.layout.root.name) {
      const inner = record[this.outRootName()];
      if (inner === null || typeof inner !== "object") {
        throw new RecordEncodeError(this.layout.root.name, 0, "missing the record object (keepRoot)");
      }
      return inner as Record<string, unknown>;
    }
    return record;
  }

  /** Encodes a record object into a new byte array of the record's size. Throws RecordEncodeError. */
  encode(record: Record<string, unknown>): Uint8Array {
    const fn = this.encoder();
    const buf = new Uint8Array(this.maxSize);
    buf.set(this.template!);
    const size = fn(this.unwrap(record), buf, 0);
    return size === buf.length ? buf : buf.slice(0, size);
  }

  /** Encodes into bytes at offset (needs maxSize bytes of room); returns the record size. */
  encodeInto(record: Record<string, unknown>, bytes: Uint8Array, offset = 0): number {
    const fn = this.encoder();
    if (bytes.length - offset < this.maxSize) {
      throw new RecordEncodeError(
        this.layout.root.name,
        0,
        `needs ${this.maxSize} bytes of room, ${bytes.length - offset} given`,
      );
    }
    bytes.set(this.template!, offset);
    return fn(this.unwrap(record), bytes, offset);
  }

  /** Public description of every elementary field. */
  fields(): FieldInfo[] {
    return this.layout.nodes.filter((n) => n.kind === "field").map(fieldInfo);
  }

  /** Level-88 condition names that hold for a decoded record: [field, condition] pairs. */
  conditions(record: Record<string, unknown>): Array<{ field: string; condition: string }> {
    const out: Array<{ field: string; condition: string }> = [];
    const names = computeOutputNames(this.layout, this.options);
    const walk = (n: LayoutNode, obj: unknown): void => {
      if (obj === null || typeof obj !== "object") return;
      for (const c of n.children) {
        const nm = names.get(c);
        if (nm == null) continue;
        const v = (obj as Record<string, unknown>)[nm];
        if (c.kind === "group" && !c.occurs) walk(c, v);
        else if (c.kind === "field" && !c.occurs) {
          for (const cond of c.conditions)
            if (conditionHolds(cond.values, v)) out.push({ field: c.path, condition: cond.name });
        }
      }
    };
    walk(this.layout.root, this.unwrap(record));
    return out;
  }
}

/** The record bounds must lie inside the bytes: reading past them would yield undefined, not an error. */
function checkRange(bytes: Uint8Array, offset: number, end: number): void {
  if (
    !(
      offset >= 0 &&
      end <= bytes.length &&
      offset <= end &&
      Number.isInteger(offset) &&
      Number.isInteger(end)
    )
  ) {
    throw new RangeError(`record bounds [${offset}, ${end}) are outside the ${bytes.length} bytes given`);
  }
}

const CHOICES: ReadonlyArray<[keyof CodecOptions, readonly unknown[]]> = [
  ["trim", ["none", "left", "right", "both"]],
  ["floatFormat", ["ibm", "ibm-le", "ieee", "ieee-le"]],
  ["variableOccurs", ["shift", "max"]],
  ["names", ["copybook", "underscore"]],
  ["trailingBytes", ["error", "ignore"]],
  ["shortRecords", ["error", "pad"]],
  ["missing", ["error", "default"]],
  ["binaryRange", ["full", "pic"]],
];

/** Rejects option values the codec does not know (a typo must not silently change the decoding). */
function validateOptions(o: CodecOptions): void {
  for (const [key, allowed] of CHOICES) {
    const v = o[key];
    if (v !== undefined && !allowed.includes(v)) {
      throw new CopybookError(
        "COPYBOOK_OPTION",
        `option ${key}: '${String(v)}' is not one of ${allowed.join(", ")}`,
      );
    }
  }
  const f = o.fillers;
  if (f) {
    if (f.values !== undefined && f.values !== "drop" && f.values !== "keep")
      throw new CopybookError(
        "COPYBOOK_OPTION",
        `option fillers.values: '${String(f.values)}' is not drop or keep`,
      );
    if (f.groups !== undefined && f.groups !== "drop" && f.groups !== "keep")
      throw new CopybookError(
        "COPYBOOK_OPTION",
        `option fillers.groups: '${String(f.groups)}' is not drop or keep`,
      );
    if (f.naming !== undefined && f.naming !== "sequence" && f.naming !== "previous")
      throw new CopybookError(
        "COPYBOOK_OPTION",
        `option fillers.naming: '${String(f.naming)}' is not sequence or previous`,
      );
  }
}

function literalValue(l: unknown): unknown {
  if (l !== null && typeof l === "object" && "figurative" in l) {
    const f = (l as { figurative: string }).figurative;
    if (f.startsWith("ZERO")) return 0;
    if (f.startsWith("SPACE")) return "";
    return f;
  }
  return l;
}

function conditionHolds(values: readonly unknown[], v: unknown): boolean {
  for (const entry of values) {
    if (Array.isArray(entry)) {
      const lo = literalValue(entry[0]);
      const hi = literalValue(entry[1]);
      if (typeof v === "number" && typeof lo === "number" && typeof hi === "number" && v >= lo && v <= hi)
        return true;
      if (typeof v === "string" && typeof lo === "string" && typeof hi === "string" && v >= lo && v <= hi)
        return true;
    } else {
      const x = literalValue(entry);
      if (typeof v === "string" && typeof x === "string" ? v.trimEnd() === x.trimEnd() : v === x) return true;
      if (typeof v === "string" && typeof x === "number" && Number(v) === x) return true;
    }
  }
  return false;
}

/** Output key of every node (null = not emitted), following the FILLER and naming options. */
export function computeOutputNames(
  layout: RecordLayout,
  options: CodecOptions,
): Map<LayoutNode, string | null> {
  const names = new Map<LayoutNode, string | null>();
  const dropValues = (options.fillers?.values ?? "drop") === "drop";
  const dropGroups = (options.fillers?.groups ?? "keep") === "drop";
  const naming = options.fillers?.naming ?? "sequence";
  const conv = (s: string): string => (options.names === "underscore" ? s.replace(/-/g, "_") : s);
  let seqValues = 0;
  let seqGroups = 0;
  let previous = "";
  const visit = (n: LayoutNode): boolean => {
    // returns whether anything is emitted for n
    let name: string | null;
    if (n.filler && n.parent) {
      // Cobrix numbering: value fillers FILLER_P1.., group fillers FILLER_1.., whether dropped or not.
      const generated =
        naming === "previous"
          ? `FILLER_AFTER_${previous}`
          : n.kind === "field"
            ? `FILLER_P${++seqValues}`
            : `FILLER_${++seqGroups}`;
      const drop = n.kind === "field" ? dropValues : dropGroups;
      name = drop ? null : generated;
      previous = generated;
    } else {
      name = conv(n.name);
      previous = name;
    }
    let any = name !== null;
    if (n.kind === "group") {
      let childAny = false;
      for (const c of n.children) if (c.level !== 66 && visit(c)) childAny = true;
      // A group whose every child is dropped disappears (Cobrix).
      if (!childAny && n.parent) {
        name = null;
        any = false;
      }
    }
    names.set(n, name);
    return any;
  };
  visit(layout.root);
  return names;
}

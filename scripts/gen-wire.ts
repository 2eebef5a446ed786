// Generates TypeScript codecs for the Kafka protocol from Kafka's own message definitions
// (test/fixtures/wire/kafka-messages/*.json, Apache Kafka 3.9). Every version of every message in the folder gets
// a typed decoder and encoder; one function per struct branches on the version at run time, as
// Kafka's Java generator does. Output: src/wire/generated/*.ts (committed; a test fails if stale).
//
//   node scripts/gen-wire.ts          writes the files
//   generateWire(dir) -> Map          the same text in memory (used by the staleness test)
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

interface FieldSpec {
  name: string;
  type: string;
  versions?: string;
  nullableVersions?: string;
  taggedVersions?: string;
  tag?: number;
  default?: string | boolean | number;
  fields?: FieldSpec[];
  flexibleVersions?: string;
  about?: string;
}

interface MessageSpec {
  apiKey?: number;
  type: "request" | "response" | "header" | "data";
  name: string;
  validVersions: string;
  flexibleVersions: string;
  fields: FieldSpec[];
  commonStructs?: { name: string; versions?: string; fields: FieldSpec[] }[];
}

interface Range {
  lo: number;
  hi: number; // inclusive; Infinity for "N+"; lo > hi for "none"
}

const NONE: Range = { lo: 1, hi: 0 };

function parseRange(s: string | undefined): Range {
  if (s === undefined || s === "none" || s === "") return NONE;
  if (s.endsWith("+")) return { lo: Number(s.slice(0, -1)), hi: Number.POSITIVE_INFINITY };
  const dash = s.indexOf("-");
  if (dash > 0) return { lo: Number(s.slice(0, dash)), hi: Number(s.slice(dash + 1)) };
  return { lo: Number(s), hi: Number(s) };
}

function intersect(a: Range, b: Range): Range {
  return { lo: Math.max(a.lo, b.lo), hi: Math.min(a.hi, b.hi) };
}

function isEmpty(r: Range): boolean {
  return r.lo > r.hi;
}

/** A JS condition on `v` true exactly for versions in `r`, given that v lies in `ctx`. "" = always. */
function cond(r: Range, ctx: Range): string | null {
  const x = intersect(r, ctx);
  if (isEmpty(x)) return null;
  const parts: string[] = [];
  if (x.lo > ctx.lo) parts.push(`v >= ${x.lo}`);
  if (x.hi < ctx.hi) parts.push(`v <= ${x.hi}`);
  return parts.join(" && ");
}

/** Covers all of `ctx` ∩ field versions? */
function covers(r: Range, field: Range, ctx: Range): boolean {
  const f = intersect(field, ctx);
  if (isEmpty(f)) return true;
  const x = intersect(r, f);
  return x.lo === f.lo && x.hi === f.hi;
}

function stripComments(text: string): string {
  return text
    .split("\n")
    .map((line) => {
      // JSON strings here never contain "//", so a plain cut is safe.
      const i = line.indexOf("//");
      return i >= 0 ? line.slice(0, i) : line;
    })
    .join("\n");
}

function camel(name: string): string {
  if (name.length === 0) return name;
  // "V3AndBelowTopics" -> "v3AndBelowTopics"; "ThrottleTimeMs" -> "throttleTimeMs"
  return name[0]!.toLowerCase() + name.slice(1);
}

const PRIMITIVES = new Set([
  "bool",
  "int8",
  "int16",
  "uint16",
  "int32",
  "int64",
  "float64",
  "string",
  "bytes",
  "records",
  "uuid",
]);

const ELEMENT_FN: Record<string, string> = {
  int8: "Int8",
  int16: "Int16",
  uint16: "Uint16",
  int32: "Int32",
  int64: "Int64",
  float64: "Float64",
  bool: "Bool",
  uuid: "Uuid",
  string: "String",
  bytes: "Bytes",
};

interface StructDef {
  tsName: string;
  fields: FieldSpec[];
}

class MessageGen {
  readonly spec: MessageSpec;
  readonly valid: Range;
  readonly flex: Range;
  readonly structs = new Map<string, StructDef>(); // schema struct name -> def
  readonly order: StructDef[] = [];
  readonly out: string[] = [];
  readonly imports = new Set<string>();

  constructor(spec: MessageSpec) {
    this.spec = spec;
    this.valid = parseRange(spec.validVersions);
    this.flex = parseRange(spec.flexibleVersions);
    for (const cs of spec.commonStructs ?? []) this.register(cs.name, cs.fields);
    const top: StructDef = { tsName: spec.name, fields: spec.fields };
    this.order.push(top);
    this.collect(spec.fields);
  }

  private register(name: string, fields: FieldSpec[]): void {
    if (this.structs.has(name)) return;
    const def: StructDef = { tsName: this.spec.name + name, fields };
    this.structs.set(name, def);
    this.order.push(def);
    this.collect(fields);
  }

  private collect(fields: FieldSpec[]): void {
    for (const f of fields) {
      const base = f.type.startsWith("[]") ? f.type.slice(2) : f.type;
      if (!PRIMITIVES.has(base) && f.fields) this.register(base, f.fields);
    }
  }

  private struct(name: string): StructDef {
    const def = this.structs.get(name);
    if (!def) throw new Error(`${this.spec.name}: unknown struct type ${name}`);
    return def;
  }

  private flexExpr(f: FieldSpec): string {
    if (f.flexibleVersions !== undefined) {
      const fr = parseRange(f.flexibleVersions);
      const c = cond(fr, this.valid);
      return c === null ? "false" : c === "" ? "true" : `(${c})`;
    }
    return "flex";
  }

  private baseType(f: FieldSpec): { array: boolean; base: string } {
    return f.type.startsWith("[]") ? { array: true, base: f.type.slice(2) } : { array: false, base: f.type };
  }

  private tsType(f: FieldSpec): string {
    const { array, base } = this.baseType(f);
    let t: string;
    switch (base) {
      case "bool":
        t = "boolean";
        break;
      case "int8":
      case "int16":
      case "uint16":
      case "int32":
      case "int64":
      case "float64":
        t = "number";
        break;
      case "string":
      case "uuid":
        t = "string";
        break;
      case "bytes":
      case "records":
        t = "Uint8Array";
        break;
      default:
        t = this.struct(base).tsName;
    }
    if (array) t = `${t}[]`;
    if (!isEmpty(intersect(parseRange(f.nullableVersions), this.valid))) t = `${t} | null`;
    return t;
  }

  private isSingleStruct(f: FieldSpec): boolean {
    const { array, base } = this.baseType(f);
    return !array && !PRIMITIVES.has(base);
  }

  /** The default value of a field as a JS expression. */
  private defaultExpr(f: FieldSpec): string {
    const { array, base } = this.baseType(f);
    const d = f.default;
    if (d === "null") return "null";
    if (array) return "[]";
    switch (base) {
      case "bool":
        return d === true || d === "true" ? "true" : "false";
      case "int8":
      case "int16":
      case "uint16":
      case "int32":
      case "int64":
      case "float64": {
        if (d === undefined) return "0";
        const n = typeof d === "string" && d.startsWith("0x") ? Number.parseInt(d, 16) : Number(d);
        if (!Number.isFinite(n)) throw new Error(`${this.spec.name}.${f.name}: bad default ${String(d)}`);
        return String(n);
      }
      case "string":
        return JSON.stringify(d === undefined ? "" : String(d));
      case "uuid":
        this.imports.add("ZERO_UUID");
        return "ZERO_UUID";
      case "bytes":
      case "records":
        this.imports.add("EMPTY_BYTES");
        return "EMPTY_BYTES";
      default:
        return "undefined";
    }
  }

  /** Expression that reads field f (for a version where it is present). */
  private readExpr(f: FieldSpec, flexE: string): string {
    const { array, base } = this.baseType(f);
    const fr = parseRange(f.versions);
    const nr = parseRange(f.nullableVersions);
    const nullAll = covers(nr, fr, this.valid) && !isEmpty(intersect(nr, this.valid));
    const nullNone = isEmpty(intersect(intersect(nr, fr), this.valid));
    const nc = cond(nr, this.valid);
    const pick = (nullable: string, nonNull: string): string =>
      nullAll ? nullable : nullNone ? nonNull : `(${nc} ? ${nullable} : ${nonNull})`;
    const q = JSON.stringify(f.name);
    if (array) {
      let elem: string;
      if (PRIMITIVES.has(base)) {
        const e = ELEMENT_FN[base];
        if (!e) throw new Error(`${this.spec.name}.${f.name}: no array element codec for ${base}`);
        elem = `read${e}Element`;
        this.imports.add(elem);
      } else {
        elem = `read${this.struct(base).tsName}`;
      }
      this.imports.add("readArray");
      if (!nullNone) this.imports.add("readNullableArray");
      return pick(
        `readNullableArray(r, ${flexE}, ${q}, v, ${elem})`,
        `readArray(r, ${flexE}, ${q}, v, ${elem})`,
      );
    }
    switch (base) {
      case "bool":
        return "r.bool()";
      case "int8":
      case "int16":
      case "uint16":
      case "int32":
      case "int64":
      case "float64":
        return `r.${base}()`;
      case "uuid":
        return "r.uuid()";
      case "string":
        return pick(`r.nstring(${flexE})`, `r.string(${flexE}, ${q})`);
      case "bytes":
      case "records":
        return pick(`r.nbytes(${flexE})`, `r.bytes(${flexE}, ${q})`);
      default: {
        const s = this.struct(base).tsName;
        return pick(`(r.int8() < 0 ? null : read${s}(r, v))`, `read${s}(r, v)`);
      }
    }
  }

  /** Statement(s) that write value expression `x` of field f. */
  private writeStmt(f: FieldSpec, x: string, flexE: string): string {
    const { array, base } = this.baseType(f);
    if (array) {
      let elem: string;
      if (PRIMITIVES.has(base)) {
        elem = `write${ELEMENT_FN[base]}Element`;
        this.imports.add(elem);
      } else {
        elem = `write${this.struct(base).tsName}`;
      }
      this.imports.add("writeArray");
      return `writeArray(w, ${flexE}, ${x}, v, ${elem});`;
    }
    switch (base) {
      case "bool":
      case "int8":
      case "int16":
      case "uint16":
      case "int32":
      case "int64":
      case "float64":
        return `w.${base}(${x});`;
      case "uuid":
        return `w.uuid(${x});`;
      case "string":
        return `w.nstring(${x}, ${flexE});`;
      case "bytes":
      case "records":
        return `w.nbytes(${x}, ${flexE});`;
      default: {
        const s = this.struct(base).tsName;
        const nr = parseRange(f.nullableVersions);
        if (isEmpty(intersect(nr, this.valid))) return `write${s}(w, v, ${x} ?? {});`;
        const nc = cond(nr, this.valid);
        const nullable = `{ const s = ${x}; if (s == null) w.int8(-1); else { w.int8(1); write${s}(w, v, s); } }`;
        if (nc === "") return nullable;
        return `if (${nc}) ${nullable} else write${s}(w, v, ${x} ?? {});`;
      }
    }
  }

  private isTaggedIn(f: FieldSpec): Range {
    return intersect(parseRange(f.taggedVersions), this.valid);
  }

  generate(): string {
    const hasFlex = !isEmpty(intersect(this.flex, this.valid));
    const body: string[] = [];
    for (const def of this.order) body.push(this.genStruct(def, hasFlex));
    const imports = [...this.imports].sort();
    const typeImports = hasFlex ? ["Encodable", "UnknownTaggedField"] : ["Encodable"];
    const head = [
      "// GENERATED by scripts/gen-wire.ts from test/fixtures/wire/kafka-messages/" +
        this.spec.name +
        ".json. Do not edit.",
      "// Kafka protocol message definitions: Apache License 2.0, The Apache Software Foundation.",
      `import type { ${typeImports.join(", ")}, Reader, Writer } from "../codec.ts";`,
    ];
    if (imports.length > 0) head.push(`import { ${imports.join(", ")} } from "../codec.ts";`);
    return `${head.join("\n")}\n\n${body.join("\n")}`;
  }

  private genStruct(def: StructDef, hasFlex: boolean): string {
    const flexCond = cond(this.flex, this.valid);
    const flexInit = flexCond === null ? "false" : flexCond === "" ? "true" : flexCond;
    const lines: string[] = [];
    // Interface
    lines.push(`export interface ${def.tsName} {`);
    for (const f of def.fields) {
      const fr = intersect(parseRange(f.versions), this.valid);
      if (isEmpty(fr)) continue;
      const opt = this.isSingleStruct(f) ? "?" : "";
      const about = f.about ? `  /** ${f.about.replace(/\*\//g, "* /")} (versions ${f.versions}) */\n` : "";
      lines.push(`${about}  ${camel(f.name)}${opt}: ${this.tsType(f)};`);
    }
    if (hasFlex) lines.push("  _unknownTaggedFields?: UnknownTaggedField[];");
    lines.push("}", "");

    const regular = def.fields.filter((f) => !isEmpty(intersect(parseRange(f.versions), this.valid)));
    const tagged = regular.filter((f) => !isEmpty(this.isTaggedIn(f)));

    // Reader
    lines.push(`export function read${def.tsName}(r: Reader, v: number): ${def.tsName} {`);
    lines.push(`  const flex = ${flexInit};`);
    lines.push(`  const m: ${def.tsName} = {`);
    for (const f of regular) {
      const fr = parseRange(f.versions);
      const tr = this.isTaggedIn(f);
      // present as a regular field in versions fr \ tr (taggedVersions are always a suffix)
      const regularRange: Range = isEmpty(tr) ? fr : { lo: fr.lo, hi: Math.min(fr.hi, tr.lo - 1) };
      const c = cond(regularRange, this.valid);
      const dflt = this.defaultExpr(f);
      let expr: string;
      if (c === null) expr = dflt;
      else if (c === "") expr = this.readExpr(f, this.flexExpr(f));
      else expr = `${c} ? ${this.readExpr(f, this.flexExpr(f))} : ${dflt}`;
      lines.push(`    ${camel(f.name)}: ${expr},`);
    }
    lines.push("  };");
    if (hasFlex) {
      lines.push("  if (flex) {");
      lines.push("    const n = r.uvarint();");
      lines.push("    for (let i = 0; i < n; i++) {");
      lines.push("      const tag = r.uvarint();");
      lines.push("      const end = r.taggedFieldEnd();");
      let first = true;
      for (const f of tagged) {
        const tc = cond(this.isTaggedIn(f), this.valid);
        const test = tc ? `tag === ${f.tag} && ${tc}` : `tag === ${f.tag}`;
        lines.push(`      ${first ? "if" : "} else if"} (${test}) {`);
        lines.push(`        m.${camel(f.name)} = ${this.readExpr(f, "true")};`);
        lines.push(`        r.checkTaggedEnd(end, ${JSON.stringify(f.name)});`);
        first = false;
      }
      if (first) {
        lines.push("      (m._unknownTaggedFields ??= []).push({ tag, data: r.raw(end - r.pos) });");
      } else {
        lines.push("      } else {");
        lines.push("        (m._unknownTaggedFields ??= []).push({ tag, data: r.raw(end - r.pos) });");
        lines.push("      }");
      }
      lines.push("      r.pos = end;");
      lines.push("    }");
      lines.push("  }");
    }
    lines.push("  return m;", "}", "");

    // Writer
    lines.push(
      `export function write${def.tsName}(w: Writer, v: number, m: Encodable<${def.tsName}>): void {`,
    );
    lines.push(`  const flex = ${flexInit};`);
    for (const f of regular) {
      const fr = parseRange(f.versions);
      const tr = this.isTaggedIn(f);
      const regularRange: Range = isEmpty(tr) ? fr : { lo: fr.lo, hi: Math.min(fr.hi, tr.lo - 1) };
      const c = cond(regularRange, this.valid);
      if (c === null) continue;
      const fn = camel(f.name);
      const nullableField = !isEmpty(intersect(parseRange(f.nullableVersions), this.valid));
      const x = this.isSingleStruct(f)
        ? `m.${fn}`
        : nullableField
          ? `(m.${fn} === undefined ? ${this.defaultExpr(f)} : m.${fn})`
          : `(m.${fn} ?? ${this.defaultExpr(f)})`;
      const stmt = this.writeStmt(f, x, this.flexExpr(f));
      lines.push(c === "" ? `  ${stmt}` : `  if (${c}) { ${stmt} }`);
    }
    if (hasFlex) {
      if (tagged.length === 0) {
        this.imports.add("writeTaggedFields");
        lines.push("  if (flex) {");
        lines.push("    if (m._unknownTaggedFields && m._unknownTaggedFields.length > 0) {");
        lines.push(
          "      writeTaggedFields(w, m._unknownTaggedFields.map((u) => ({ tag: u.tag!, write: null, data: u.data })));",
        );
        lines.push("    } else w.uvarint(0);");
        lines.push("  }");
      } else {
        this.imports.add("writeTaggedFields");
        lines.push("  if (flex) {");
        lines.push(
          "    const tf: { tag: number; write: ((w: Writer) => void) | null; data?: Uint8Array }[] = [];",
        );
        for (const f of tagged) {
          const tc = cond(this.isTaggedIn(f), this.valid);
          const name = camel(f.name);
          const dflt = this.defaultExpr(f);
          let present: string;
          if (this.isSingleStruct(f)) present = `m.${name} != null`;
          else if (f.type.startsWith("[]"))
            present = dflt === "null" ? `m.${name} != null` : `(m.${name}?.length ?? 0) > 0`;
          else if (f.type === "bytes" || f.type === "records")
            present = dflt === "null" ? `m.${name} != null` : `(m.${name}?.length ?? 0) > 0`;
          else present = `m.${name} !== undefined && m.${name} !== ${dflt}`;
          const value = this.isSingleStruct(f) ? `m.${name}` : `m.${name}!`;
          const stmt = this.writeStmt(f, value, "true");
          lines.push(
            `    if (${tc ? `${tc} && ` : ""}${present}) tf.push({ tag: ${f.tag}, write: (w) => { ${stmt} } });`,
          );
        }
        lines.push(
          "    if (m._unknownTaggedFields) for (const u of m._unknownTaggedFields) tf.push({ tag: u.tag!, write: null, data: u.data });",
        );
        lines.push("    if (tf.length === 0) w.uvarint(0);");
        lines.push("    else writeTaggedFields(w, tf);");
        lines.push("  }");
      }
    }
    lines.push("}", "");
    return lines.join("\n");
  }
}

export interface GeneratedApi {
  apiKey: number;
  name: string;
  request: MessageSpec;
  response: MessageSpec;
}

/** Generates every file in memory: file name -> content. */
export function generateWire(messagesDir: string): Map<string, string> {
  const files = new Map<string, string>();
  const specs: MessageSpec[] = [];
  for (const file of readdirSync(messagesDir).sort()) {
    if (!file.endsWith(".json")) continue;
    const spec = JSON.parse(stripComments(readFileSync(join(messagesDir, file), "utf8"))) as MessageSpec;
    specs.push(spec);
  }
  const names: string[] = [];
  for (const spec of specs) {
    const gen = new MessageGen(spec);
    files.set(`${spec.name}.ts`, gen.generate());
    names.push(spec.name);
  }
  // API table
  const byKey = new Map<number, { req?: MessageSpec; res?: MessageSpec }>();
  for (const s of specs) {
    if (s.apiKey === undefined) continue;
    const e = byKey.get(s.apiKey) ?? {};
    if (s.type === "request") e.req = s;
    else if (s.type === "response") e.res = s;
    byKey.set(s.apiKey, e);
  }
  const idx: string[] = [
    "// GENERATED by scripts/gen-wire.ts. Do not edit.",
    'import type { Encodable, Reader, Writer } from "../codec.ts";',
  ];
  for (const n of names) {
    idx.push(`import { read${n}, write${n} } from "./${n}.ts";`);
  }
  for (const n of names) idx.push(`export * from "./${n}.ts";`);
  idx.push("");
  idx.push("export interface ApiDefinition {");
  idx.push("  readonly apiKey: number;");
  idx.push('  /** e.g. "Produce" */');
  idx.push("  readonly name: string;");
  idx.push("  readonly minVersion: number;");
  idx.push("  readonly maxVersion: number;");
  idx.push("  /** First flexible version (request header v2, response header v1), or -1. */");
  idx.push("  readonly firstFlexibleVersion: number;");
  idx.push("  readonly readRequest: (r: Reader, v: number) => unknown;");
  idx.push("  readonly writeRequest: (w: Writer, v: number, m: Encodable<never>) => void;");
  idx.push("  readonly readResponse: (r: Reader, v: number) => unknown;");
  idx.push("  readonly writeResponse: (w: Writer, v: number, m: Encodable<never>) => void;");
  idx.push("}");
  idx.push("");
  idx.push("/** Every API defined in test/fixtures/wire/kafka-messages, by API key. */");
  idx.push(
    "export const API_DEFINITIONS: ReadonlyMap<number, ApiDefinition> = new Map<number, ApiDefinition>([",
  );
  for (const key of [...byKey.keys()].sort((a, b) => a - b)) {
    const { req, res } = byKey.get(key)!;
    if (!req || !res) throw new Error(`api ${key} lacks a request or response schema`);
    const vr = parseRange(req.validVersions);
    const fr = parseRange(req.flexibleVersions);
    const name = req.name.replace(/Request$/, "");
    idx.push(
      `  [${key}, { apiKey: ${key}, name: ${JSON.stringify(name)}, minVersion: ${vr.lo}, maxVersion: ${vr.hi}, firstFlexibleVersion: ${isEmpty(fr) ? -1 : fr.lo}, readRequest: read${req.name}, writeRequest: write${req.name} as ApiDefinition["writeRequest"], readResponse: read${res.name}, writeResponse: write${res.name} as ApiDefinition["writeResponse"] }],`,
    );
  }
  idx.push("]);");
  idx.push("");
  const keyConsts = [...byKey.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([k, e]) => `  ${e.req!.name.replace(/Request$/, "")}: ${k},`);
  idx.push("/** API keys by name. */");
  idx.push("export const ApiKey = {");
  idx.push(...keyConsts);
  idx.push("} as const;");
  idx.push("");
  files.set("index.ts", idx.join("\n"));
  return files;
}

const here = dirname(fileURLToPath(import.meta.url));
// Kafka's schemas are data (with // comments), kept beside the test fixtures so the linter leaves them alone.
export const MESSAGES_DIR = join(here, "..", "test", "fixtures", "wire", "kafka-messages");
export const GENERATED_DIR = join(here, "..", "src", "wire", "generated");

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const files = generateWire(MESSAGES_DIR);
  rmSync(GENERATED_DIR, { recursive: true, force: true });
  mkdirSync(GENERATED_DIR, { recursive: true });
  for (const [name, text] of files) writeFileSync(join(GENERATED_DIR, name), text);
  console.log(`wrote ${files.size} files to ${GENERATED_DIR}`);
}

// courant copybook decode|encode|layout: records of any copybook and record format, as JSON lines.
import { readFileSync } from "node:fs";
import { createReadStream, createWriteStream } from "node:fs";
import { createInterface } from "node:readline";
import type { Writable } from "node:stream";
import type { Command } from "commander";
import {
  type CodecOptions,
  CopybookError,
  type FramingOptions,
  frameRecords,
  type ParseOptions,
  parseCopybook,
  type RecordCodec,
  RecordDecodeError,
  RecordEncodeError,
  type RecordFormat,
  RecordFramingError,
  SegmentedCodec,
  streamRecords,
  HierarchyBuilder,
} from "../copybook/index.ts";

export interface CopybookCliOptions {
  copybook: string;
  record?: string;
  free?: boolean;
  include?: string[];
  codePage?: string;
  lenient?: boolean;
  format?: string;
  recordLength?: string;
  rdw?: string;
  rdwIncludesHeader?: boolean;
  rdwExcludesHeader?: boolean;
  rdwAdjustment?: string;
  lengthField?: string;
  lengthAdjustment?: string;
  prefixBytes?: string;
  fileStart?: string;
  fileEnd?: string;
  variableOccurs?: string;
  float?: string;
  trim?: string;
  names?: string;
  keepRoot?: boolean;
  nullDetection?: boolean;
  segmentField?: string;
  segmentRedefines?: string;
  pick?: string;
  pretty?: boolean;
  segmentChildren?: string;
  segments?: string;
  shortRecords?: string;
}

const FORMATS: Record<string, RecordFormat> = {
  F: "F",
  FB: "FB",
  V: "V",
  VB: "VB",
  "LENGTH-FIELD": "length-field",
  OCCURS: "occurs",
  TEXT: "text",
  D: "text",
  "LENGTH-PREFIXED": "length-prefixed",
  FRAMES: "length-prefixed",
};

function int(v: string | undefined, what: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n)) throw new CopybookError("CLI_OPTION", `${what} must be an integer, got '${v}'`);
  return n;
}

/** Parses `BRANCH=ID1,ID2;BRANCH2=ID3` into a segment map. */
function segmentMap(text: string): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const part of text.split(";")) {
    if (!part.trim()) continue;
    const [branch, ids] = part.split(/=>|=/);
    if (!branch || ids === undefined)
      throw new CopybookError("CLI_OPTION", `--segment-redefines: expected BRANCH=ID,ID;..., got '${part}'`);
    out[branch.trim()] = ids.split(",").map((s) => s.trim());
  }
  return out;
}

export function buildCodec(opts: CopybookCliOptions): { codec: RecordCodec; framing: FramingOptions } {
  const parseOptions: ParseOptions = {
    file: opts.copybook,
    format: opts.free ? "free" : "fixed",
    includePath: opts.include ?? [],
  };
  const text = readFileSync(opts.copybook, "latin1");
  const codecOptions = codecOptionsOf(opts);
  const codec = parseCopybook(text, parseOptions).compile(codecOptions);
  return { codec, framing: framingOf(opts, codec) };
}

function codecOptionsOf(opts: CopybookCliOptions): CodecOptions {
  return {
    ...(opts.record ? { record: opts.record } : {}),
    codePage: opts.codePage ?? "cp037",
    strict: !opts.lenient,
    ...(opts.variableOccurs ? { variableOccurs: opts.variableOccurs as "shift" | "max" } : {}),
    ...(opts.float ? { floatFormat: opts.float as "ibm" | "ibm-le" | "ieee" | "ieee-le" } : {}),
    ...(opts.trim ? { trim: opts.trim as "none" | "left" | "right" | "both" } : {}),
    ...(opts.names ? { names: opts.names as "copybook" | "underscore" } : {}),
    ...(opts.keepRoot ? { keepRoot: true } : {}),
    ...(opts.nullDetection ? { nullDetection: true } : {}),
    ...(opts.shortRecords ? { shortRecords: opts.shortRecords as "error" | "pad" } : {}),
    ...(opts.segmentField ? { segmentField: opts.segmentField } : {}),
    ...(opts.segmentRedefines ? { segmentRedefines: segmentMap(opts.segmentRedefines) } : {}),
  };
}

function framingOf(opts: CopybookCliOptions, _codec: RecordCodec): FramingOptions {
  const format = FORMATS[(opts.format ?? "F").toUpperCase()];
  if (!format)
    throw new CopybookError(
      "CLI_OPTION",
      `unknown --format ${opts.format} (F, FB, V, VB, length-field, occurs, text, length-prefixed)`,
    );
  const order = opts.rdw === undefined ? undefined : opts.rdw.toLowerCase();
  if (order !== undefined && order !== "big" && order !== "little") {
    throw new CopybookError("CLI_OPTION", `--rdw must be big or little, got '${opts.rdw}'`);
  }
  const rdw = {
    ...(order ? { byteOrder: order as "big" | "little" } : {}),
    ...(opts.rdwIncludesHeader
      ? { includesHeader: true }
      : opts.rdwExcludesHeader
        ? { includesHeader: false }
        : {}),
    ...(opts.rdwAdjustment !== undefined ? { adjustment: int(opts.rdwAdjustment, "--rdw-adjustment")! } : {}),
  };
  const framing: FramingOptions = {
    format,
    rdw,
    bdw: { ...(order ? { byteOrder: order as "big" | "little" } : {}) },
    ...(opts.recordLength !== undefined ? { recordLength: int(opts.recordLength, "--record-length")! } : {}),
    ...(opts.lengthField ? { lengthField: opts.lengthField } : {}),
    ...(opts.lengthAdjustment !== undefined
      ? { lengthAdjustment: int(opts.lengthAdjustment, "--length-adjustment")! }
      : {}),
    ...(opts.prefixBytes !== undefined
      ? { prefixBytes: int(opts.prefixBytes, "--prefix-bytes") as 2 | 4 }
      : {}),
    ...(opts.fileStart !== undefined ? { fileStartOffset: int(opts.fileStart, "--file-start")! } : {}),
    ...(opts.fileEnd !== undefined ? { fileEndOffset: int(opts.fileEnd, "--file-end")! } : {}),
  };
  return framing;
}

/** A buffered line writer (one write per ~64 KiB). */
function lineWriter(out: Writable): {
  line(s: string): void;
  flush(): Promise<void>;
  readonly pending: boolean;
} {
  let buf: string[] = [];
  let size = 0;
  let waiting: Promise<void> | null = null;
  const push = (): void => {
    if (buf.length === 0) return;
    const chunk = buf.join("");
    buf = [];
    size = 0;
    if (out.destroyed || out.writableEnded) return;
    if (!out.write(chunk)) {
      waiting = new Promise((resolve) => {
        const done = (): void => {
          out.off("drain", done);
          out.off("close", done);
          out.off("error", done);
          resolve();
        };
        out.on("drain", done);
        out.on("close", done);
        out.on("error", done);
      });
    }
  };
  return {
    line(s: string) {
      buf.push(s, "\n");
      size += s.length + 1;
      if (size > 65536) push();
    },
    get pending() {
      return waiting !== null;
    },
    async flush() {
      push();
      if (waiting) await waiting;
      waiting = null;
    },
  };
}

function errorObject(err: unknown, index: number, fileOffset: number): Record<string, unknown> {
  if (err instanceof RecordDecodeError) {
    return {
      error: {
        message: err.message,
        code: err.code,
        record: index,
        fileOffset,
        field: err.field || null,
        byteOffset: err.offset,
        bytes: err.bytes,
      },
    };
  }
  const e = err as { message?: string; code?: string };
  return { error: { message: e.message ?? String(err), code: e.code ?? "ERROR", record: index, fileOffset } };
}

/** Decodes DATA to JSON lines on `out`; a summary on `err`. Returns the exit code. */
export async function decodeCommand(
  data: string,
  opts: CopybookCliOptions,
  out: Writable,
  err: Writable,
): Promise<number> {
  let codec: RecordCodec;
  let framing: FramingOptions;
  try {
    ({ codec, framing } = buildCodec(opts));
  } catch (e) {
    err.write(`${(e as Error).message}\n`);
    return 2;
  }
  // Streamed: files of any size decode in bounded memory.
  const source: AsyncIterable<Uint8Array> =
    data === "-"
      ? (process.stdin as AsyncIterable<Uint8Array>)
      : createReadStream(data, { highWaterMark: 1 << 20 });
  let totalBytes = 0;
  // A closed pipe (| head) ends the output quietly.
  let closed = false;
  out.on("error", (e: NodeJS.ErrnoException) => {
    if (e.code === "EPIPE") closed = true;
    else throw e;
  });
  const picker = opts.pick ? codec.pick(opts.pick.split(",").map((s) => s.trim())) : null;
  // --segments ID=RECORD;...: the segment id selects the 01 record of each record.
  let segmented: SegmentedCodec | null = null;
  if (opts.segments) {
    if (!opts.segmentField) {
      err.write("--segments needs --segment-field\n");
      return 2;
    }
    const map: Record<string, string> = {};
    for (const [record, ids] of Object.entries(segmentMap(opts.segments)))
      for (const id of ids) map[id] = record;
    const { record: _record, segmentRedefines: _redefines, ...codecOpts } = codecOptionsOf(opts);
    const cb = parseCopybook(readFileSync(opts.copybook, "latin1"), {
      file: opts.copybook,
      format: opts.free ? "free" : "fixed",
      includePath: opts.include ?? [],
    });
    segmented = new SegmentedCodec(cb, { ...codecOpts, segmentField: opts.segmentField, segments: map });
  }
  // --segment-children PARENT=CHILD,CHILD;...: rebuild parent/child segments (needs --segment-redefines).
  let hierarchy: HierarchyBuilder | null = null;
  if (opts.segmentChildren) {
    if (!opts.segmentField || !opts.segmentRedefines) {
      err.write("--segment-children needs --segment-field and --segment-redefines\n");
      return 2;
    }
    const segNode = codec.fields().find((f) => f.name === opts.segmentField!.toUpperCase());
    const key = opts.names === "underscore" ? segNode!.name.replace(/-/g, "_") : segNode!.name;
    const conv = (s: string): string =>
      opts.names === "underscore" ? s.toUpperCase().replace(/-/g, "_") : s.toUpperCase();
    const branches: Record<string, string[]> = {};
    for (const [b, ids] of Object.entries(segmentMap(opts.segmentRedefines))) branches[conv(b)] = ids;
    const children: Record<string, string[]> = {};
    for (const [p, kids] of Object.entries(segmentMap(opts.segmentChildren)))
      children[conv(p)] = kids.map(conv);
    hierarchy = new HierarchyBuilder({ segmentKey: key, branches, children });
  }
  const w = lineWriter(out);
  const t0 = process.hrtime.bigint();
  let ok = 0;
  let bad = 0;
  let corrupt = 0;
  let framingError: string | null = null;
  try {
    for await (const r of streamRecords(source, framing, codec)) {
      if (closed) break;
      const bytes = r.data;
      totalBytes = r.fileOffset + (r.end - r.start);
      try {
        let rec: Record<string, unknown>;
        if (segmented) rec = segmented.decode(bytes, r.start, r.end);
        else if (picker) rec = picker.decode(bytes, r.start, r.end);
        else if (opts.lenient) {
          const d = codec.decodeDetailed(bytes, r.start, r.end);
          rec = d.corrupt.length ? { ...d.record, _corrupt_fields: d.corrupt } : d.record;
          if (d.corrupt.length) corrupt++;
        } else rec = codec.decode(bytes, r.start, r.end);
        ok++;
        if (hierarchy) {
          for (const root of hierarchy.push(rec))
            w.line(opts.pretty ? JSON.stringify(root, null, 2) : JSON.stringify(root));
          continue;
        }
        w.line(opts.pretty ? JSON.stringify(rec, null, 2) : JSON.stringify(rec));
        if (w.pending) await w.flush();
      } catch (e) {
        if (!(e instanceof RecordDecodeError)) throw e;
        w.line(JSON.stringify(errorObject(e, r.index, r.fileOffset)));
        bad++;
      }
    }
  } catch (e) {
    if (!(e instanceof RecordFramingError)) throw e;
    framingError = e.message;
    w.line(
      JSON.stringify({
        error: { message: e.message, code: e.code, record: e.recordIndex, fileOffset: e.offset },
      }),
    );
  }
  if (hierarchy) {
    for (const root of hierarchy.finish()) w.line(JSON.stringify(root));
    for (const o of hierarchy.orphans)
      w.line(JSON.stringify({ error: { message: o.reason, code: "SEGMENT_ORPHAN" } }));
  }
  await w.flush();
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  err.write(
    `${ok + bad} records: ${ok} decoded, ${bad} failed${opts.lenient ? `, ${corrupt} with corrupt fields` : ""}` +
      `${framingError ? `; stopped: ${framingError}` : ""}; ${totalBytes} bytes in ${secs.toFixed(3)} s` +
      ` (${(totalBytes / 1e6 / Math.max(secs, 1e-9)).toFixed(1)} MB/s)\n`,
  );
  return framingError ? 1 : bad > 0 ? 1 : 0;
}

/** Encodes JSON lines (file or '-') to framed records on `out`; errors and a summary on `err`. */
export async function encodeCommand(
  input: string,
  opts: CopybookCliOptions,
  out: Writable,
  err: Writable,
): Promise<number> {
  let codec: RecordCodec;
  let framing: FramingOptions;
  try {
    ({ codec, framing } = buildCodec(opts));
  } catch (e) {
    err.write(`${(e as Error).message}\n`);
    return 2;
  }
  const rl = createInterface({
    input: input === "-" ? process.stdin : createReadStream(input),
    crlfDelay: Number.POSITIVE_INFINITY,
  });
  let lineNo = 0;
  let ok = 0;
  let bad = 0;
  let batch: Uint8Array[] = [];
  const flush = async (): Promise<void> => {
    if (batch.length === 0) return;
    const chunk = frameRecords(batch, framing);
    batch = [];
    if (!out.write(chunk)) await new Promise<void>((resolve) => out.once("drain", () => resolve()));
  };
  for await (const line of rl) {
    lineNo++;
    if (!line.trim()) continue;
    try {
      const obj = JSON.parse(line) as unknown;
      if (obj === null || typeof obj !== "object" || Array.isArray(obj))
        throw new RecordEncodeError("", 0, "expected a JSON object");
      if ("error" in obj)
        throw new RecordEncodeError("", 0, "the line is an error object from decode, not a record");
      const rec = { ...(obj as Record<string, unknown>) };
      delete rec._corrupt_fields;
      batch.push(codec.encode(rec));
      ok++;
      if (batch.length >= 1024) await flush();
    } catch (e) {
      bad++;
      err.write(
        `${JSON.stringify({ error: { line: lineNo, message: (e as Error).message, code: (e as { code?: string }).code ?? "BAD_JSON" } })}\n`,
      );
    }
  }
  await flush();
  err.write(`${lineNo} lines: ${ok} records encoded, ${bad} failed\n`);
  return bad > 0 ? 1 : 0;
}

/** Prints the layout table (level, name, offset, size, type) of a copybook. */
export function layoutCommand(opts: CopybookCliOptions, out: Writable): number {
  const { codec } = buildCodec(opts);
  const rows: string[] = [];
  for (const n of codec.layout.nodes) {
    const depth = n.path.split(".").length - 1;
    const usage: Record<string, string> = {
      display: "",
      binary: " COMP",
      comp5: " COMP-5",
      comp9: " COMP-9",
      packed: " COMP-3",
      "packed-unsigned": " COMP-3U",
      float: "COMP-1",
      double: "COMP-2",
      national: " NATIONAL",
      index: "INDEX",
      pointer: "POINTER",
    };
    const type =
      n.kind === "field"
        ? `${n.picture ? `PIC ${n.picture.text}` : ""}${usage[n.usage] ?? ""}`.trim()
        : "group";
    const occurs = n.occurs
      ? ` OCCURS ${n.occurs.min === n.occurs.max ? n.occurs.max : `${n.occurs.min} TO ${n.occurs.max}`}${n.occurs.dependingOn ? ` DEPENDING ON ${n.occurs.dependingOn.name}` : ""}`
      : "";
    const redef = n.redefines ? ` REDEFINES ${n.redefines.name}` : "";
    rows.push(
      `${`${"  ".repeat(depth)}${String(n.level).padStart(2, "0")} ${n.name}`.padEnd(44)}${String(n.offset + 1).padStart(7)}${String(n.offset + n.size * (n.occurs?.max ?? 1)).padStart(7)}${String(n.size * (n.occurs?.max ?? 1)).padStart(7)}  ${type}${occurs}${redef}`,
    );
  }
  out.write(
    `${"FIELD".padEnd(44)}${"START".padStart(7)}${"END".padStart(7)}${"LENGTH".padStart(7)}  TYPE\n${rows.join("\n")}\n`,
  );
  out.write(`record size ${codec.maxSize}${codec.variable ? " (max; OCCURS DEPENDING ON)" : ""}\n`);
  return 0;
}

function common(cmd: Command): Command {
  return cmd
    .requiredOption("-c, --copybook <file>", "copybook file")
    .option("--record <name>", "01 record to use (default: the only one / all as alternatives)")
    .option("--free", "free-format copybook (default fixed columns 8-72)")
    .option("-I, --include <dir...>", "directories searched for COPY members")
    .option("--code-page <page>", "EBCDIC code page (cp037, cp1147, ...; ascii, latin1)", "cp037")
    .option(
      "--lenient",
      "invalid fields become null (listed in _corrupt_fields) instead of failing the record",
    )
    .option(
      "-f, --format <format>",
      "record format: F, FB, V, VB, length-field, occurs, text, length-prefixed",
      "F",
    )
    .option("--record-length <n>", "F/FB record length (default: from the copybook)")
    .option("--rdw <order>", "RDW/BDW byte order: big (IBM, default) or little")
    .option("--rdw-includes-header", "the RDW length counts its 4 bytes (default for big)")
    .option("--rdw-excludes-header", "the RDW length does not count its 4 bytes (default for little)")
    .option("--rdw-adjustment <n>", "added to every RDW length")
    .option("--length-field <name>", "length-field format: the field holding the record length")
    .option("--length-adjustment <n>", "added to the length field's value")
    .option("--prefix-bytes <n>", "length-prefixed format: 2 or 4 (default 4, big-endian)")
    .option("--file-start <n>", "bytes to skip at the start of the file")
    .option("--file-end <n>", "bytes to skip at the end of the file")
    .option("--variable-occurs <mode>", "OCCURS DEPENDING ON: shift (IBM, default) or max")
    .option("--float <format>", "COMP-1/COMP-2: ibm (default), ibm-le, ieee, ieee-le")
    .option("--trim <policy>", "string trimming: right (default), left, both, none")
    .option("--names <style>", "output names: copybook (default) or underscore")
    .option("--keep-root", "keep the 01 level as the top-level key")
    .option("--null-detection", "blank numbers and all-zero text decode to null")
    .option("--short-records <mode>", "records shorter than the layout: error (default) or pad")
    .option("--segment-field <name>", "segment id field")
    .option("--segment-redefines <map>", "segment id -> REDEFINES branch: 'BRANCH=ID1,ID2;BRANCH2=ID3'")
    .option(
      "--segments <map>",
      "segment id -> 01 record: 'RECORD=ID1,ID2;RECORD2=ID3' (with --segment-field)",
    )
    .option("--segment-children <map>", "rebuild parent/child segments: 'PARENT=CHILD1,CHILD2;...'");
}

export function register(program: Command): void {
  const cb = program
    .command("copybook")
    .description("COBOL copybook records (EBCDIC, packed, binary) to and from JSON");

  common(cb.command("decode"))
    .description(
      "decode a data file to JSON lines, one per record; bad records print {error} and decoding goes on",
    )
    .argument("<data>", "data file ('-' for stdin)")
    .option("--pick <fields>", "decode only these fields (comma-separated)")
    .option("--pretty", "indent the JSON")
    .action(async (data: string, opts: CopybookCliOptions) => {
      process.exitCode = await decodeCommand(data, opts, process.stdout, process.stderr);
    });

  common(cb.command("encode"))
    .description("encode JSON lines (as printed by decode) to records in the chosen format")
    .argument("[input]", "JSON lines file ('-' or omitted for stdin)")
    .option("-o, --output <file>", "output file (default stdout)")
    .action(async (input: string | undefined, opts: CopybookCliOptions & { output?: string }) => {
      const out = opts.output ? createWriteStream(opts.output) : process.stdout;
      process.exitCode = await encodeCommand(input ?? "-", opts, out, process.stderr);
      if (opts.output) await new Promise<void>((resolve) => out.end(resolve));
    });

  common(cb.command("layout"))
    .description("print the field layout (offsets, sizes, types) of a copybook")
    .action((opts: CopybookCliOptions) => {
      try {
        process.exitCode = layoutCommand(opts, process.stdout);
      } catch (e) {
        process.stderr.write(`${(e as Error).message}\n`);
        process.exitCode = 2;
      }
    });
}

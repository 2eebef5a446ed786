// PdvFrameCodec: header-only and full decoding of PDV frames, and encoding, on top of the
// copybook layer (compiled record codecs, cp1147, bitmap24 as a custom field codec).
import {
  type Copybook,
  CopybookError,
  type FieldCodecRule,
  parseCopybook,
  type RecordCodec,
  RecordDecodeError,
  RecordEncodeError,
  type RedefineSelector,
} from "../copybook/index.ts";
import { decodeBitmap24, encodeBitmap24, isBitmap24FieldName } from "./bitmap24.ts";
import { type FrameTypeSpec, PDV_CATALOG, readPdvCopybook } from "./catalog.ts";
import { PdvFrameError } from "./errors.ts";
import { decodeHeaderFields, encodeBodyLengthInto, encodeHeaderFieldsInto, HEADER_SIZE } from "./header.ts";
import type { PdvBody, PdvDirection, PdvFrame, PdvFrameInput, PdvHeader } from "./types.ts";

/** The code page of every PDV text field. */
export const PDV_CODE_PAGE = "cp1147";

/**
 * House rule bitmap24 as a copybook field codec: PIC X(3) fields named *-BITMAP decode to the
 * ascending list of horse numbers 1..24 and encode from any list of them.
 */
export const bitmap24FieldCodec: FieldCodecRule = {
  match: (f) => isBitmap24FieldName(f.name) && f.kind === "text" && f.size === 3,
  decode: (bytes, offset) => decodeBitmap24(bytes, offset),
  encode: (value, bytes, offset, _length, field) => encodeBitmap24(value, bytes, offset, field.name),
};

/** How a record's REDEFINES set is chosen: a field's value names the active branch. */
export interface PdvRedefineRule {
  /** Any item of the REDEFINES set (the redefined item). */
  readonly set: string;
  /** The field whose value selects the branch. */
  readonly field: string;
  /** Field value -> active branch. */
  readonly branches: Readonly<Record<string, string>>;
  /** Branch for any other value. */
  readonly otherwise: string;
}

/** REDEFINES selection per record: only the active branch is decoded and shown. */
export const PDV_REDEFINES: Readonly<Record<string, PdvRedefineRule>> = {
  // T050-KIND A = arrival, O = odds; any other kind shows the raw T050-PAYLOAD.
  "T050-REQUEST": {
    set: "T050-PAYLOAD",
    field: "T050-KIND",
    branches: { A: "T050-ARRIVAL", O: "T050-ODDS" },
    otherwise: "T050-PAYLOAD",
  },
};

function selectorOf(rule: PdvRedefineRule): Record<string, RedefineSelector> {
  return {
    [rule.set]: (record: Record<string, unknown>) =>
      rule.branches[String(record[rule.field])] ?? rule.otherwise,
  };
}

/** On encode, the body must carry exactly the branch its selector field chooses. */
function checkBranch(rule: PdvRedefineRule, body: Record<string, unknown>, record: string): void {
  const want = rule.branches[String(body[rule.field])] ?? rule.otherwise;
  const all = new Set([...Object.values(rule.branches), rule.otherwise]);
  if (body[want] === undefined || body[want] === null) {
    throw new PdvFrameError(
      "BAD_VALUE",
      `${record}: ${rule.field} = ${JSON.stringify(body[rule.field])} selects ${want}, which is missing`,
      { field: want },
    );
  }
  for (const b of all) {
    const present = body[b] !== undefined && body[b] !== null;
    if (b !== want && present) {
      throw new PdvFrameError(
        "BAD_VALUE",
        `${record}: ${rule.field} = ${JSON.stringify(body[rule.field])} selects ${want}, but ${b} is given`,
        { field: b },
      );
    }
  }
}

export interface PdvFrameCodecOptions {
  /** Frame types known by FH-TYPE (default: the PDV catalog). */
  readonly catalog?: ReadonlyMap<string, FrameTypeSpec>;
  /** More house rules, tried before bitmap24. */
  readonly fieldCodecs?: readonly FieldCodecRule[];
  /**
   * Decode every encoded body before returning it (default true), so encode never yields a frame
   * the decoder refuses. Producers of known-good values (the simulator) may turn it off for speed.
   */
  readonly verifyEncoding?: boolean;
}

interface BodyCodec {
  readonly record: string;
  readonly codec: RecordCodec;
  readonly rule: PdvRedefineRule | undefined;
}

/** Decodes and encodes PDV frames. Record codecs are compiled on first use of a type, then cached. */
export class PdvFrameCodec {
  readonly catalog: ReadonlyMap<string, FrameTypeSpec>;
  private readonly fieldCodecs: readonly FieldCodecRule[];
  // Per direction, so that a frame's lookup needs no key string.
  private readonly requestBodies = new Map<string, BodyCodec | null>();
  private readonly responseBodies = new Map<string, BodyCodec | null>();
  /** Parsed copybooks by type, while compiling: a type's request and response share one parse. */
  private parsed: Map<string, Copybook> | null = null;
  private readonly scratch = new Uint8Array(HEADER_SIZE);
  private readonly verifyEncoding: boolean;

  constructor(options: PdvFrameCodecOptions = {}) {
    this.catalog = options.catalog ?? PDV_CATALOG;
    this.fieldCodecs = [...(options.fieldCodecs ?? []), bitmap24FieldCodec];
    this.verifyEncoding = options.verifyEncoding !== false;
  }

  /**
   * Header-only decode: validates the 32-byte header and the frame length (32 + FH-BODY-LENGTH)
   * and reads nothing of the body. Throws PdvFrameError.
   */
  decodeHeader(bytes: Uint8Array): PdvHeader {
    return decodeHeaderFields(bytes);
  }

  /** True when the type has a layout for that direction (else decode() is header-only). */
  hasLayout(type: string, direction: PdvDirection): boolean {
    return this.bodyCodec(type, direction) !== null;
  }

  /**
   * Full decode: header, then the body of the frame's type and direction (OCCURS as arrays, the
   * active REDEFINES branch only). Unknown types, and directions a type has no record for, decode
   * header-only (body null). Throws PdvFrameError naming the field and the byte offset in the frame.
   */
  decode(bytes: Uint8Array): PdvFrame {
    const header = decodeHeaderFields(bytes);
    const body = this.bodyCodec(header.type, header.direction);
    if (body === null) return { header, body: null, record: null };
    try {
      return { header, body: body.codec.decode(bytes, HEADER_SIZE, bytes.length), record: body.record };
    } catch (e) {
      throw fromDecodeError(e, body.record);
    }
  }

  /** Decodes only the named body fields (plus the header), for consumers that need a few. */
  decodeFields(bytes: Uint8Array, fields: readonly string[]): PdvFrame {
    const header = decodeHeaderFields(bytes);
    const body = this.bodyCodec(header.type, header.direction);
    if (body === null) return { header, body: null, record: null };
    try {
      return {
        header,
        body: body.codec.pick(fields).decode(bytes, HEADER_SIZE, bytes.length),
        record: body.record,
      };
    } catch (e) {
      if (e instanceof CopybookError && e.code === "COPYBOOK_FIELD") {
        throw new PdvFrameError("NO_LAYOUT", `${body.record}: ${e.message}`);
      }
      throw fromDecodeError(e, body.record);
    }
  }

  /**
   * Encodes a frame. FH-BODY-LENGTH is computed; a body is required for types with a layout in that
   * direction; `bodyBytes` are used as-is for header-only frames. Throws PdvFrameError (BAD_VALUE).
   * The frame owns its whole ArrayBuffer (it can be transferred to another thread), unless
   * `sharedBlock`: then it may be a view into a block shared with other frames (as Node's small
   * Buffers are), cheaper for frames that live briefly (~40 % of a T090's encoding).
   */
  encode(frame: PdvFrameInput, options: { readonly sharedBlock?: boolean } = {}): Uint8Array {
    const h = frame.header;
    if (h === null || typeof h !== "object") throw new PdvFrameError("BAD_VALUE", "frame.header is missing");
    // Header problems first: the body's layout depends on type and direction. FH-BODY-LENGTH is
    // checked and written once the body is known.
    const head = this.scratch;
    encodeHeaderFieldsInto(h, head);
    let out: Uint8Array;
    let bodyLength: number;
    if (frame.body != null) {
      const bc = this.bodyCodec(h.type, h.direction);
      if (bc === null) {
        throw new PdvFrameError(
          "NO_LAYOUT",
          `frame type ${String(h.type)} has no ${h.direction === "R" ? "response" : "request"} layout; give bodyBytes instead of body`,
        );
      }
      if (bc.rule) checkBranch(bc.rule, frame.body as Record<string, unknown>, bc.record);
      // The body is encoded in place after the header: one buffer per frame.
      const codec = bc.codec;
      out =
        options.sharedBlock === true
          ? frameBlock(HEADER_SIZE + codec.maxSize)
          : new Uint8Array(HEADER_SIZE + codec.maxSize);
      // Copied before any field codec runs: a hook encoding another frame reuses the scratch.
      for (let i = 0; i < HEADER_SIZE - 2; i++) out[i] = head[i]!;
      try {
        bodyLength = codec.encodeInto(frame.body as Record<string, unknown>, out, HEADER_SIZE);
      } catch (e) {
        throw fromEncodeError(e, bc.record);
      }
      // Guard: never emit a body the decoder would refuse (an encoder/decoder asymmetry in a
      // picture check must surface here, naming the field, not at the terminal).
      if (this.verifyEncoding) {
        try {
          codec.validate(out, HEADER_SIZE, HEADER_SIZE + bodyLength);
        } catch (e) {
          if (!(e instanceof RecordDecodeError)) throw e;
          throw new PdvFrameError(
            "BAD_VALUE",
            `${bc.record}: the value does not fit its picture: ${e.reason}`,
            {
              field: leafName(e.field || bc.record),
              byteOffset: HEADER_SIZE + e.offset,
              cause: e,
            },
          );
        }
      }
      encodeBodyLengthInto(h, bodyLength, out);
      out = frameBlockUsed(out, HEADER_SIZE + bodyLength);
    } else {
      const body = frame.bodyBytes ?? new Uint8Array(0);
      const bc = this.bodyCodec(h.type, h.direction);
      if (bc !== null && frame.bodyBytes === undefined) {
        throw new PdvFrameError("BAD_VALUE", `frame type ${h.type} needs a body (${bc.record})`);
      }
      bodyLength = body.length;
      out = new Uint8Array(HEADER_SIZE + bodyLength);
      for (let i = 0; i < HEADER_SIZE - 2; i++) out[i] = head[i]!;
      encodeBodyLengthInto(h, bodyLength, out);
      out.set(body, HEADER_SIZE);
    }
    return out;
  }

  /** Compiles every record of the catalog now (else each is compiled on first use); returns how many. */
  compileAll(): number {
    let n = 0;
    this.parsed = new Map();
    try {
      for (const type of this.catalog.keys()) {
        if (this.bodyCodec(type, "Q")) n++;
        if (this.bodyCodec(type, "R")) n++;
      }
    } finally {
      this.parsed = null;
    }
    return n;
  }

  /** The compiled record codec of a type and direction, or null (unknown type, no such record). */
  recordCodec(type: string, direction: PdvDirection): RecordCodec | null {
    return this.bodyCodec(type, direction)?.codec ?? null;
  }

  private bodyCodec(type: string, direction: PdvDirection): BodyCodec | null {
    const bodies = direction === "Q" ? this.requestBodies : this.responseBodies;
    let hit = bodies.get(type);
    if (hit !== undefined) return hit;
    const spec = this.catalog.get(type);
    const record = spec ? (direction === "Q" ? spec.requestRecord : spec.responseRecord) : null;
    hit =
      spec && record
        ? {
            record,
            rule: PDV_REDEFINES[record],
            codec: this.parse(type, spec.copybook).compile({
              record,
              codePage: PDV_CODE_PAGE,
              fieldCodecs: this.fieldCodecs,
              ...(PDV_REDEFINES[record] ? { redefines: selectorOf(PDV_REDEFINES[record]) } : {}),
              binaryRange: "pic",
            }),
          }
        : null;
    bodies.set(type, hit);
    return hit;
  }

  private parse(type: string, copybook: string): Copybook {
    let hit = this.parsed?.get(type);
    if (hit === undefined) {
      hit = parseCopybook(copybook, { file: `${type}.cpy` });
      this.parsed?.set(type, hit);
    }
    return hit;
  }
}

/** The FRAME-HEADER compiled by the copybook layer (the reference the fast header path is tested against). */
export function compileHeaderCopybook(): RecordCodec {
  return parseCopybook(readPdvCopybook("FRAMEHDR"), { file: "FRAMEHDR.cpy" }).compile({
    codePage: PDV_CODE_PAGE,
    binaryRange: "pic",
  });
}

function leafName(path: string): string {
  const i = path.lastIndexOf(".");
  return i < 0 ? path : path.slice(i + 1);
}

function fromDecodeError(e: unknown, record: string): PdvFrameError {
  if (e instanceof RecordDecodeError) {
    const sizeProblem = e.field === "";
    return new PdvFrameError(
      sizeProblem ? "BODY_SIZE" : "BAD_FIELD",
      sizeProblem ? `${record}: ${e.reason}` : `${e.reason} (bytes ${e.bytes || "none"})`,
      {
        field: sizeProblem ? record : leafName(e.field),
        byteOffset: HEADER_SIZE + e.offset,
        cause: e,
      },
    );
  }
  if (e instanceof PdvFrameError) return e;
  throw e;
}

function fromEncodeError(e: unknown, record: string): PdvFrameError {
  if (e instanceof RecordEncodeError) {
    return new PdvFrameError("BAD_VALUE", `${record}: ${e.reason}`, {
      field: leafName(e.field),
      byteOffset: HEADER_SIZE + e.offset,
      cause: e,
    });
  }
  if (e instanceof PdvFrameError) return e;
  if (e instanceof CopybookError)
    return new PdvFrameError("BAD_VALUE", `${record}: ${e.message}`, { cause: e });
  throw e;
}

export type { PdvBody };

// Encoded frames are allocated in shared 64 KiB blocks: a frame of its own was a backing store per
// frame (an array over 64 bytes), ~300-500 ns each, for bytes that mostly live until a producer has
// copied them into a batch. The block lives as long as any frame in it does.
const FRAME_BLOCK_BYTES = 64 * 1024;
let block = new Uint8Array(0);
let blockUsed = 0;

/** `size` zeroed bytes for a frame being encoded (a block's bytes are handed out once). */
function frameBlock(size: number): Uint8Array {
  if (size > FRAME_BLOCK_BYTES / 4) return new Uint8Array(size);
  if (blockUsed + size > block.length) {
    block = new Uint8Array(FRAME_BLOCK_BYTES);
    blockUsed = 0;
  }
  const out = block.subarray(blockUsed, blockUsed + size);
  blockUsed += size; // reserved whole while encoding: a nested encode takes the bytes after it
  return out;
}

/** The first `used` bytes of a frame from frameBlock; the rest of its reservation goes back when nothing came after it. */
function frameBlockUsed(out: Uint8Array, used: number): Uint8Array {
  if (out.buffer !== block.buffer) return used < out.length ? out.slice(0, used) : out;
  const end = out.byteOffset + out.length;
  if (end === blockUsed) blockUsed = (out.byteOffset + used + 7) & ~7;
  return used < out.length ? out.subarray(0, used) : out;
}

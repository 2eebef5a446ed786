// Record framing: splits a byte stream into records (F/FB, V with RDW, VB with BDW+RDW, length from a field,
// text lines, length-prefixed frames, sizes from OCCURS DEPENDING ON), with file header/trailer skipping.
import type { RecordCodec } from "./codec.ts";
import { RecordFramingError } from "./errors.ts";

export interface RecordDescriptorWord {
  /**
   * "big" (IBM: length in bytes 0-1, big-endian; bytes 2-3 zero). "little": length in bytes 2-3 little-endian
   * (Cobrix's default), or bytes 0-1 little-endian when bytes 2-3 are zero.
   */
  readonly byteOrder?: "big" | "little";
  /** The length counts the 4-byte header itself (IBM). Default true for "big", false for "little". */
  readonly includesHeader?: boolean;
  /** Added to the length read (Cobrix rdw_adjustment / bdw_adjustment). */
  readonly adjustment?: number;
}

export type RecordFormat =
  /** Fixed length (the codec's size unless recordLength is given). FB is the same byte stream. */
  | "F"
  | "FB"
  /** Variable: each record preceded by a 4-byte RDW. */
  | "V"
  /** Variable blocked: blocks with a 4-byte BDW holding records with RDWs. */
  | "VB"
  /** Record length read from a field of the record (lengthField), plus lengthAdjustment. */
  | "length-field"
  /** Records sized by their OCCURS DEPENDING ON counts (Cobrix variable_size_occurs). */
  | "occurs"
  /** Text lines (LF or CRLF). */
  | "text"
  /** Each record preceded by a big-endian length (prefixBytes, default 4), e.g. PDV frames. */
  | "length-prefixed";

export interface FramingOptions {
  readonly format?: RecordFormat;
  /** F/FB: record length (default: the codec's size). */
  readonly recordLength?: number;
  readonly rdw?: RecordDescriptorWord;
  readonly bdw?: RecordDescriptorWord;
  /** length-field: field whose value is the record length (decoded with the codec). */
  readonly lengthField?: string;
  readonly lengthAdjustment?: number;
  /** length-prefixed: 2 or 4 bytes (default 4), big-endian unless prefixLittleEndian. */
  readonly prefixBytes?: 2 | 4;
  readonly prefixLittleEndian?: boolean;
  /** Bytes to skip at the start / end of the file (Cobrix file_start_offset / file_end_offset). */
  readonly fileStartOffset?: number;
  readonly fileEndOffset?: number;
  /** F: accept a last record shorter than recordLength (default: framing error). */
  readonly allowPartialLastRecord?: boolean;
  /** Largest record accepted (default 100 MiB, as Cobrix). */
  readonly maxRecordLength?: number;
}

export interface RawRecord {
  /** 0-based record index in the file. */
  readonly index: number;
  /** Record bytes are data[start, end) (headers excluded). */
  readonly start: number;
  readonly end: number;
}

function readDescriptor(
  data: Uint8Array,
  at: number,
  d: RecordDescriptorWord | undefined,
  what: string,
  index: number,
): number {
  const order = d?.byteOrder ?? "big";
  const b0 = data[at]!;
  const b1 = data[at + 1]!;
  const b2 = data[at + 2]!;
  const b3 = data[at + 3]!;
  let len: number;
  if (order === "big") {
    if (what === "BDW" && b0 & 0x80) {
      // Extended BDW: bits 1-31 hold the length.
      len = ((b0 & 0x7f) << 24) | (b1 << 16) | (b2 << 8) | b3;
    } else {
      if (b2 !== 0 || b3 !== 0) {
        throw new RecordFramingError(
          at,
          index,
          `${what} bytes 2-3 must be zero (spanned records are not supported), got ${hex4(b0, b1, b2, b3)}`,
        );
      }
      len = (b0 << 8) | b1;
    }
  } else if (b0 === 0 && b1 === 0) len = b2 | (b3 << 8);
  else if (b2 === 0 && b3 === 0) len = b0 | (b1 << 8);
  else
    throw new RecordFramingError(at, index, `${what} ${hex4(b0, b1, b2, b3)} is not a little-endian length`);
  const includes = d?.includesHeader ?? order === "big";
  if (includes) len -= 4;
  len += d?.adjustment ?? 0;
  return len;
}

function hex4(a: number, b: number, c: number, d: number): string {
  return [a, b, c, d].map((x) => x.toString(16).padStart(2, "0").toUpperCase()).join(" ");
}

/** Splits data into records. Throws RecordFramingError when the framing is broken (the stream cannot go on). */
export function* splitRecords(
  data: Uint8Array,
  options: FramingOptions = {},
  codec?: RecordCodec,
): Generator<RawRecord> {
  const state: SplitState = { pos: options.fileStartOffset ?? 0, index: 0, base: 0, final: true };
  yield* splitCore(data, options, codec, state);
}

interface SplitState {
  /** Position in data where splitting resumes / stopped. */
  pos: number;
  index: number;
  /** File offset of data[0] (for error messages). */
  base: number;
  /** false: an incomplete record at the end is not an error, splitting stops before it. */
  final: boolean;
}

/** Thrown (non-final mode) when the data ends inside a record. */
const INCOMPLETE = Symbol("incomplete");

function* splitCore(
  data: Uint8Array,
  options: FramingOptions,
  codec: RecordCodec | undefined,
  state: SplitState,
): Generator<RawRecord> {
  try {
    yield* splitInner(data, options, codec, state);
  } catch (e) {
    if (e !== INCOMPLETE) throw e;
  }
}

function* splitInner(
  data: Uint8Array,
  options: FramingOptions,
  codec: RecordCodec | undefined,
  state: SplitState,
): Generator<RawRecord> {
  const format = options.format ?? "F";
  let pos = state.pos;
  const base = state.base;
  const final = state.final;
  const stop = data.length - (options.fileEndOffset ?? 0);
  const max = options.maxRecordLength ?? 100 * 1024 * 1024;
  if (pos > stop) {
    if (!final) throw INCOMPLETE;
    throw new RecordFramingError(
      0,
      0,
      `file of ${base + data.length} bytes is shorter than its header and trailer`,
    );
  }
  let index = state.index;
  // Every yield records the resume point first, so a consumer may stop anywhere.
  const emit = (start: number, end: number): RawRecord => {
    state.pos = end;
    state.index = index + 1;
    return { index: index++, start, end };
  };
  const need = (n: number, what: string): void => {
    if (pos + n > stop) {
      if (!final) throw INCOMPLETE;
      throw new RecordFramingError(base + pos, index, `${what} needs ${n} bytes, ${stop - pos} left`);
    }
  };
  const checkLen = (len: number, what: string, at: number): void => {
    if (len < 0 || len > max)
      throw new RecordFramingError(
        base + at,
        index,
        `${what} gives record length ${len} (allowed 0..${max})`,
      );
  };
  switch (format) {
    case "F":
    case "FB": {
      const len = options.recordLength ?? codec?.maxSize;
      if (!len || len <= 0)
        throw new RecordFramingError(base + pos, 0, "fixed records need recordLength or a codec");
      while (pos < stop) {
        if (pos + len > stop) {
          if (!final) throw INCOMPLETE;
          if (options.allowPartialLastRecord) {
            yield emit(pos, stop);
            return;
          }
          throw new RecordFramingError(
            pos,
            index,
            `last record has ${stop - pos} bytes, fixed length is ${len} (data size ${stop - (options.fileStartOffset ?? 0)} is not a multiple)`,
          );
        }
        yield emit(pos, pos + len);
        pos += len;
      }
      return;
    }
    case "V":
      while (pos < stop) {
        need(4, "RDW");
        const len = readDescriptor(data, pos, options.rdw, "RDW", index);
        checkLen(len, "RDW", pos);
        pos += 4;
        need(len, "record");
        yield emit(pos, pos + len);
        pos += len;
      }
      return;
    case "VB":
      while (pos < stop) {
        need(4, "BDW");
        const blen = readDescriptor(data, pos, { includesHeader: true, ...options.bdw }, "BDW", index);
        checkLen(blen, "BDW", pos);
        pos += 4;
        need(blen, "block");
        const bend = pos + blen;
        while (pos < bend) {
          if (pos + 4 > bend)
            throw new RecordFramingError(base + pos, index, "RDW crosses the end of its block");
          const len = readDescriptor(data, pos, options.rdw, "RDW", index);
          checkLen(len, "RDW", pos);
          pos += 4;
          if (pos + len > bend)
            throw new RecordFramingError(
              base + pos,
              index,
              `record of ${len} bytes crosses the end of its block`,
            );
          yield emit(pos, pos + len);
          pos += len;
        }
      }
      return;
    case "length-field": {
      if (!codec || !options.lengthField)
        throw new RecordFramingError(base + pos, 0, "length-field framing needs a codec and lengthField");
      const picker = codec.pick([options.lengthField]);
      const key = Object.keys(picker.decode(new Uint8Array(codec.maxSize)))[0]!;
      while (pos < stop) {
        if (!final && stop - pos < codec.maxSize) throw INCOMPLETE;
        let v: unknown;
        try {
          v = picker.decode(data, pos, stop)[key];
        } catch (err) {
          throw new RecordFramingError(
            pos,
            index,
            `cannot read length field ${options.lengthField}: ${(err as Error).message}`,
          );
        }
        const len = Number(v) + (options.lengthAdjustment ?? 0);
        if (!Number.isInteger(len) || len <= 0)
          throw new RecordFramingError(
            pos,
            index,
            `length field ${options.lengthField} = ${String(v)} is not a record length`,
          );
        checkLen(len, "length field", pos);
        need(len, "record");
        yield emit(pos, pos + len);
        pos += len;
      }
      return;
    }
    case "occurs": {
      if (!codec) throw new RecordFramingError(base + pos, 0, "occurs framing needs a codec");
      while (pos < stop) {
        if (!final && stop - pos < codec.maxSize) throw INCOMPLETE;
        let len: number;
        try {
          len = codec.sizeOf(data, pos, stop);
        } catch (err) {
          throw new RecordFramingError(
            base + pos,
            index,
            `cannot size the record: ${(err as Error).message}`,
          );
        }
        need(len, "record");
        yield emit(pos, pos + len);
        pos += len;
      }
      return;
    }
    case "text":
      while (pos < stop) {
        let nl = data.indexOf(0x0a, pos);
        if (nl < 0 || nl >= stop) nl = stop;
        let end = nl;
        if (end > pos && data[end - 1] === 0x0d) end--;
        if (nl === stop && !final) throw INCOMPLETE;
        const lineStart = pos;
        pos = nl + 1;
        if (!(end === lineStart && nl === stop)) {
          yield emit(lineStart, end);
          state.pos = pos;
        } else state.pos = pos;
      }
      return;
    case "length-prefixed": {
      const pb = options.prefixBytes ?? 4;
      while (pos < stop) {
        need(pb, "length prefix");
        let len = 0;
        if (options.prefixLittleEndian) for (let i = pb - 1; i >= 0; i--) len = len * 256 + data[pos + i]!;
        else for (let i = 0; i < pb; i++) len = len * 256 + data[pos + i]!;
        checkLen(len, "length prefix", pos);
        pos += pb;
        need(len, "record");
        yield emit(pos, pos + len);
        pos += len;
      }
      return;
    }
    default:
      throw new RecordFramingError(base + pos, 0, `unknown record format ${String(format)}`);
  }
}

/** A record of a stream: `data[start, end)`; `fileOffset` is where it starts in the whole stream. */
export interface StreamRecord {
  readonly index: number;
  readonly data: Uint8Array;
  readonly start: number;
  readonly end: number;
  readonly fileOffset: number;
}

/**
 * Splits a stream of chunks (e.g. fs.createReadStream) into records without holding the whole file:
 * records are views into an internal buffer, valid until the next iteration.
 */
export async function* streamRecords(
  chunks: AsyncIterable<Uint8Array>,
  options: FramingOptions = {},
  codec?: RecordCodec,
): AsyncGenerator<StreamRecord> {
  let pending: Uint8Array = new Uint8Array(0);
  let consumed = 0; // file offset of pending[0]
  let skip = options.fileStartOffset ?? 0;
  let index = 0;
  const inner: FramingOptions = { ...options, fileStartOffset: 0 };
  const run = function* (data: Uint8Array, final: boolean): Generator<StreamRecord> {
    const state: SplitState = { pos: 0, index, base: consumed, final };
    for (const r of splitCore(data, inner, codec, state)) {
      yield { index: r.index, data, start: r.start, end: r.end, fileOffset: consumed + r.start };
    }
    index = state.index;
    pending = data.subarray(state.pos);
    consumed += state.pos;
  };
  for await (const chunk of chunks) {
    let c = chunk;
    if (skip > 0) {
      const k = Math.min(skip, c.length);
      skip -= k;
      consumed += k;
      c = c.subarray(k);
      if (c.length === 0) continue;
    }
    let data: Uint8Array;
    if (pending.length === 0) data = c;
    else {
      data = new Uint8Array(pending.length + c.length);
      data.set(pending);
      data.set(c, pending.length);
    }
    yield* run(data, false);
    // Keep the unconsumed tail: copy it, the chunk's memory may be reused by the stream.
    pending = Uint8Array.from(pending);
  }
  if (skip > 0)
    throw new RecordFramingError(
      0,
      0,
      `stream of ${consumed} bytes is shorter than its ${options.fileStartOffset}-byte header`,
    );
  yield* run(pending, true);
}

/** Writes records with the framing of `options` (F, V, VB with one record per block, length-prefixed, text). */
export function frameRecords(records: readonly Uint8Array[], options: FramingOptions = {}): Uint8Array {
  const format = options.format ?? "F";
  const parts: Uint8Array[] = [];
  const desc = (len: number, d: RecordDescriptorWord | undefined, headerDefault: boolean): Uint8Array => {
    const order = d?.byteOrder ?? "big";
    const v =
      len + ((d?.includesHeader ?? (order === "big" ? true : headerDefault)) ? 4 : 0) - (d?.adjustment ?? 0);
    return order === "big" ? Uint8Array.of(v >> 8, v & 255, 0, 0) : Uint8Array.of(0, 0, v & 255, v >> 8);
  };
  for (const r of records) {
    switch (format) {
      case "V":
        parts.push(desc(r.length, options.rdw, false), r);
        break;
      case "VB":
        parts.push(
          desc(r.length + 4, { includesHeader: true, ...options.bdw }, true),
          desc(r.length, options.rdw, false),
          r,
        );
        break;
      case "length-prefixed": {
        const pb = options.prefixBytes ?? 4;
        const h = new Uint8Array(pb);
        let v = r.length;
        for (let i = 0; i < pb; i++) {
          h[options.prefixLittleEndian ? i : pb - 1 - i] = v & 255;
          v = Math.floor(v / 256);
        }
        parts.push(h, r);
        break;
      }
      case "text":
        parts.push(r, Uint8Array.of(0x0a));
        break;
      default:
        parts.push(r);
    }
  }
  const total = parts.reduce((a, p) => a + p.length, 0);
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

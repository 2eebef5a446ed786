// Primitive readers and writers of the Kafka protocol, used by the generated message codecs.
// int64 fields are JavaScript numbers: exact for |x| < 2^53, which covers offsets, timestamps and
// producer ids in practice; larger values lose precision (documented in docs/wire.md).
// bytes and records fields decode as views into the request buffer (no copy); records are never
// parsed here, so stored record batches are served exactly as stored.

/** A request or response that does not follow its schema. */
export class WireDecodeError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = "WireDecodeError";
    this.code = code;
  }
}

const TWO_32 = 4294967296;
const EMPTY = Buffer.alloc(0);

export interface UnknownTaggedField {
  readonly tag: number;
  readonly data: Uint8Array;
}

export class Reader {
  buf: Buffer;
  pos: number;
  end: number;
  /** Array elements this message may still declare: bounds the memory a hostile message can cost. */
  elementBudget = 4_000_000;

  constructor(buf: Uint8Array, pos = 0, end = buf.length) {
    this.buf = Buffer.isBuffer(buf) ? buf : Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
    this.pos = pos;
    this.end = end;
  }

  remaining(): number {
    return this.end - this.pos;
  }

  private need(n: number, what: string): void {
    if (this.pos + n > this.end) {
      throw new WireDecodeError(
        "TRUNCATED",
        `truncated message: ${what} needs ${n} byte(s) at byte ${this.pos}, only ${this.end - this.pos} left`,
      );
    }
  }

  int8(): number {
    this.need(1, "int8");
    return this.buf.readInt8(this.pos++);
  }
  bool(): boolean {
    this.need(1, "bool");
    return this.buf[this.pos++] !== 0;
  }
  int16(): number {
    this.need(2, "int16");
    const v = this.buf.readInt16BE(this.pos);
    this.pos += 2;
    return v;
  }
  uint16(): number {
    this.need(2, "uint16");
    const v = this.buf.readUInt16BE(this.pos);
    this.pos += 2;
    return v;
  }
  int32(): number {
    this.need(4, "int32");
    const v = this.buf.readInt32BE(this.pos);
    this.pos += 4;
    return v;
  }
  uint32(): number {
    this.need(4, "uint32");
    const v = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }
  int64(): number {
    this.need(8, "int64");
    const hi = this.buf.readInt32BE(this.pos);
    const lo = this.buf.readUInt32BE(this.pos + 4);
    this.pos += 8;
    return hi * TWO_32 + lo;
  }
  float64(): number {
    this.need(8, "float64");
    const v = this.buf.readDoubleBE(this.pos);
    this.pos += 8;
    return v;
  }
  uvarint(): number {
    let result = 0;
    let shift = 0;
    for (;;) {
      this.need(1, "varint");
      const b = this.buf[this.pos++]!;
      if (shift < 28) result |= (b & 0x7f) << shift;
      else result += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) return result;
      shift += 7;
      if (shift > 35)
        throw new WireDecodeError("BAD_VARINT", `unsigned varint longer than 5 bytes at byte ${this.pos}`);
    }
  }
  uuid(): string {
    this.need(16, "uuid");
    const s = this.buf.toString("base64url", this.pos, this.pos + 16);
    this.pos += 16;
    return s;
  }

  /** Length prefix of a string: classic int16, or compact unsigned varint (n+1). -1 = null. */
  private strLen(flex: boolean): number {
    const n = flex ? this.uvarint() - 1 : this.int16();
    if (n < -1) throw new WireDecodeError("BAD_LENGTH", `negative string length ${n} at byte ${this.pos}`);
    return n;
  }
  nstring(flex: boolean): string | null {
    const n = this.strLen(flex);
    if (n === -1) return null;
    this.need(n, "string");
    const s = this.buf.toString("utf8", this.pos, this.pos + n);
    this.pos += n;
    return s;
  }
  string(flex: boolean, field: string): string {
    const s = this.nstring(flex);
    if (s === null)
      throw new WireDecodeError("NULL_FIELD", `non-nullable string ${field} is null at byte ${this.pos}`);
    return s;
  }
  nbytes(flex: boolean): Buffer | null {
    const n = flex ? this.uvarint() - 1 : this.int32();
    if (n === -1) return null;
    if (n < -1) throw new WireDecodeError("BAD_LENGTH", `negative bytes length ${n} at byte ${this.pos}`);
    this.need(n, "bytes");
    const b = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }
  bytes(flex: boolean, field: string): Buffer {
    const b = this.nbytes(flex);
    if (b === null)
      throw new WireDecodeError("NULL_FIELD", `non-nullable bytes ${field} is null at byte ${this.pos}`);
    return b;
  }
  raw(n: number): Buffer {
    this.need(n, "bytes");
    const b = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }
  /** Array length: -1 = null. Rejects lengths that cannot fit in the remaining bytes (hostile input). */
  arrayLength(flex: boolean, field: string): number {
    const n = flex ? this.uvarint() - 1 : this.int32();
    if (n < -1)
      throw new WireDecodeError("BAD_LENGTH", `negative array length ${n} for ${field} at byte ${this.pos}`);
    if (n > this.end - this.pos) {
      throw new WireDecodeError(
        "BAD_LENGTH",
        `array ${field} claims ${n} elements but only ${this.end - this.pos} bytes remain at byte ${this.pos}`,
      );
    }
    if (n > 0 && (this.elementBudget -= n) < 0) {
      throw new WireDecodeError(
        "TOO_MANY_ELEMENTS",
        `message declares too many array elements (at ${field})`,
      );
    }
    return n;
  }
  nonNullArrayLength(flex: boolean, field: string): number {
    const n = this.arrayLength(flex, field);
    if (n === -1)
      throw new WireDecodeError("NULL_FIELD", `non-nullable array ${field} is null at byte ${this.pos}`);
    return n;
  }
  /** Reads the header of one tagged field; returns the end position of its data. */
  taggedFieldEnd(): number {
    const size = this.uvarint();
    const end = this.pos + size;
    if (end > this.end)
      throw new WireDecodeError("TRUNCATED", `tagged field of ${size} bytes overruns the message`);
    return end;
  }
  checkTaggedEnd(end: number, field: string): void {
    if (this.pos !== end) {
      throw new WireDecodeError(
        "BAD_TAGGED_FIELD",
        `tagged field ${field} has ${end - this.pos} bytes left over`,
      );
    }
  }
}

/**
 * Builds a message as a list of chunks: small fields go into a growing scratch buffer; large bytes
 * (record batches) are kept as references to the caller's buffers, so fetch responses never copy
 * stored batches.
 */
export class Writer {
  private chunks: Buffer[] = [];
  private buf: Buffer;
  private pos = 0;
  private start = 0;
  private total = 0;

  constructor(initial = 256) {
    this.buf = Buffer.allocUnsafe(initial);
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    if (this.pos > this.start) this.chunks.push(this.buf.subarray(this.start, this.pos));
    this.buf = Buffer.allocUnsafe(Math.max(n, this.buf.length * 2, 1024));
    this.pos = 0;
    this.start = 0;
  }

  get length(): number {
    return this.total;
  }

  int8(v: number): void {
    this.ensure(1);
    this.buf.writeInt8(v, this.pos);
    this.pos += 1;
    this.total += 1;
  }
  bool(v: boolean): void {
    this.ensure(1);
    this.buf[this.pos++] = v ? 1 : 0;
    this.total += 1;
  }
  int16(v: number): void {
    this.ensure(2);
    this.buf.writeInt16BE(v, this.pos);
    this.pos += 2;
    this.total += 2;
  }
  uint16(v: number): void {
    this.ensure(2);
    this.buf.writeUInt16BE(v, this.pos);
    this.pos += 2;
    this.total += 2;
  }
  int32(v: number): void {
    this.ensure(4);
    this.buf.writeInt32BE(v, this.pos);
    this.pos += 4;
    this.total += 4;
  }
  uint32(v: number): void {
    this.ensure(4);
    this.buf.writeUInt32BE(v >>> 0, this.pos);
    this.pos += 4;
    this.total += 4;
  }
  int64(v: number): void {
    this.ensure(8);
    const hi = Math.floor(v / TWO_32);
    const lo = v - hi * TWO_32;
    this.buf.writeInt32BE(hi | 0, this.pos);
    this.buf.writeUInt32BE(lo >>> 0, this.pos + 4);
    this.pos += 8;
    this.total += 8;
  }
  float64(v: number): void {
    this.ensure(8);
    this.buf.writeDoubleBE(v, this.pos);
    this.pos += 8;
    this.total += 8;
  }
  uvarint(v: number): void {
    this.ensure(5);
    while (v >= 0x80) {
      this.buf[this.pos++] = (v & 0x7f) | 0x80;
      this.total++;
      v = Math.floor(v / 128);
    }
    this.buf[this.pos++] = v;
    this.total++;
  }
  uuid(v: string): void {
    const b = Buffer.from(v, "base64url");
    if (b.length !== 16) throw new WireDecodeError("BAD_UUID", `uuid ${JSON.stringify(v)} is not 16 bytes`);
    this.rawBytes(b);
  }
  nstring(v: string | null, flex: boolean): void {
    if (v === null) {
      if (flex) this.uvarint(0);
      else this.int16(-1);
      return;
    }
    const n = Buffer.byteLength(v, "utf8");
    if (flex) this.uvarint(n + 1);
    else this.int16(n);
    this.ensure(n);
    this.buf.write(v, this.pos, n, "utf8");
    this.pos += n;
    this.total += n;
  }
  nbytes(v: Uint8Array | null, flex: boolean): void {
    if (v === null) {
      if (flex) this.uvarint(0);
      else this.int32(-1);
      return;
    }
    if (flex) this.uvarint(v.length + 1);
    else this.int32(v.length);
    this.rawBytes(v);
  }
  arrayLength(n: number, flex: boolean): void {
    if (flex) this.uvarint(n + 1);
    else this.int32(n);
  }
  rawBytes(v: Uint8Array): void {
    if (v.length >= 4096) {
      if (this.pos > this.start) this.chunks.push(this.buf.subarray(this.start, this.pos));
      this.start = this.pos;
      this.chunks.push(Buffer.isBuffer(v) ? v : Buffer.from(v.buffer, v.byteOffset, v.byteLength));
      this.total += v.length;
      return;
    }
    this.ensure(v.length);
    this.buf.set(v, this.pos);
    this.pos += v.length;
    this.total += v.length;
  }
  /** Writes an int32 at an absolute position already written (used for size prefixes). */
  patchInt32(at: number, v: number): void {
    let off = at;
    for (const c of this.chunks) {
      if (off < c.length) {
        if (off + 4 > c.length) throw new Error("size prefix spans chunks");
        c.writeInt32BE(v, off);
        return;
      }
      off -= c.length;
    }
    this.buf.writeInt32BE(v, this.start + off);
  }

  /** The message as chunks, in order (for socket writes without concatenation). */
  finishChunks(): Buffer[] {
    if (this.pos > this.start) this.chunks.push(this.buf.subarray(this.start, this.pos));
    this.start = this.pos;
    return this.chunks;
  }

  /** The message as one buffer. */
  finish(): Buffer {
    const chunks = this.finishChunks();
    if (chunks.length === 1) return chunks[0]!;
    if (chunks.length === 0) return EMPTY;
    return Buffer.concat(chunks, this.total);
  }
}

/** Writes tagged fields: each value is first encoded alone to learn its size. */
export function writeTaggedFields(
  w: Writer,
  fields: { tag: number; write: ((w: Writer) => void) | null; data?: Uint8Array }[],
): void {
  fields.sort((a, b) => a.tag - b.tag);
  w.uvarint(fields.length);
  for (const f of fields) {
    let data = f.data;
    if (f.write) {
      const sub = new Writer(64);
      f.write(sub);
      data = sub.finish();
    }
    w.uvarint(f.tag);
    w.uvarint(data!.length);
    w.rawBytes(data!);
  }
}

/** Deep partial: what encoders accept; every absent field is written as its schema default. */
export type Encodable<T> = T extends Uint8Array
  ? T
  : T extends readonly (infer U)[]
    ? Encodable<U>[]
    : T extends object
      ? { [K in keyof T]?: Encodable<T[K]> }
      : T;

export type ElementReader<T> = (r: Reader, v: number, flex: boolean) => T;
export type ElementWriter<T> = (w: Writer, v: number, e: T, flex: boolean) => void;

export function readArray<T>(
  r: Reader,
  flex: boolean,
  field: string,
  v: number,
  elem: ElementReader<T>,
): T[] {
  const n = r.nonNullArrayLength(flex, field);
  const a: T[] = [];
  for (let i = 0; i < n; i++) a.push(elem(r, v, flex));
  return a;
}

export function readNullableArray<T>(
  r: Reader,
  flex: boolean,
  field: string,
  v: number,
  elem: ElementReader<T>,
): T[] | null {
  const n = r.arrayLength(flex, field);
  if (n < 0) return null;
  const a: T[] = [];
  for (let i = 0; i < n; i++) a.push(elem(r, v, flex));
  return a;
}

export function writeArray<T>(
  w: Writer,
  flex: boolean,
  a: readonly T[] | null,
  v: number,
  elem: ElementWriter<T>,
): void {
  if (a === null) {
    w.arrayLength(-1, flex);
    return;
  }
  w.arrayLength(a.length, flex);
  for (let i = 0; i < a.length; i++) elem(w, v, a[i]!, flex);
}

export const readInt8Element: ElementReader<number> = (r) => r.int8();
export const readInt16Element: ElementReader<number> = (r) => r.int16();
export const readUint16Element: ElementReader<number> = (r) => r.uint16();
export const readInt32Element: ElementReader<number> = (r) => r.int32();
export const readInt64Element: ElementReader<number> = (r) => r.int64();
export const readFloat64Element: ElementReader<number> = (r) => r.float64();
export const readBoolElement: ElementReader<boolean> = (r) => r.bool();
export const readUuidElement: ElementReader<string> = (r) => r.uuid();
export const readStringElement: ElementReader<string> = (r, _v, flex) => r.string(flex, "array element");
export const readBytesElement: ElementReader<Uint8Array> = (r, _v, flex) => r.bytes(flex, "array element");

export const writeInt8Element: ElementWriter<number> = (w, _v, e) => w.int8(e);
export const writeInt16Element: ElementWriter<number> = (w, _v, e) => w.int16(e);
export const writeUint16Element: ElementWriter<number> = (w, _v, e) => w.uint16(e);
export const writeInt32Element: ElementWriter<number> = (w, _v, e) => w.int32(e);
export const writeInt64Element: ElementWriter<number> = (w, _v, e) => w.int64(e);
export const writeFloat64Element: ElementWriter<number> = (w, _v, e) => w.float64(e);
export const writeBoolElement: ElementWriter<boolean> = (w, _v, e) => w.bool(e);
export const writeUuidElement: ElementWriter<string> = (w, _v, e) => w.uuid(e);
export const writeStringElement: ElementWriter<string> = (w, _v, e, flex) => w.nstring(e, flex);
export const writeBytesElement: ElementWriter<Uint8Array> = (w, _v, e, flex) => w.nbytes(e, flex);

export const EMPTY_BYTES: Uint8Array = EMPTY;
export const ZERO_UUID = "AAAAAAAAAAAAAAAAAAAAAA";

// Records written between the rewards apps besides the domain events: dead letters, unmatched
// frames, decoded pairs, and the frame envelope used inside the correlation store.
import { type Serde, SerdeError, Serdes } from "../../src/serde/index.ts";
import { declareFreshSerializer } from "../../src/streams/index.ts";
import type { BudgetAccountState } from "./domain/index.ts";

/** A frame that could not be decoded, with everything needed to look at it again. */
export interface DeadLetter {
  /** "header": the 32-byte header is invalid; "body": the header is fine, the body is not. */
  readonly stage: "header" | "body";
  readonly code: string;
  readonly reason: string;
  readonly field: string | null;
  readonly byteOffset: number | null;
  readonly sourceTopic: string;
  readonly sourcePartition: number;
  readonly sourceOffset: number;
  readonly sourceTimestamp: number;
  readonly key: string | null;
  readonly frameLength: number;
  /** The raw frame bytes, base64. */
  readonly rawBase64: string;
}

/** A frame whose partner never came within the correlation window. */
export interface UnmatchedFrame {
  readonly direction: "Q" | "R";
  readonly type: string;
  readonly terminalId: number;
  readonly pdvId: number;
  readonly sequence: number;
  readonly timestamp: number;
  readonly reason: string;
  /** "topic/partition/offset" of the frame in the source topic. */
  readonly source: string;
  readonly rawBase64: string;
}

/** A matched request/response pair, fully decoded: the data lake's feed. */
export interface DecodedPair {
  readonly type: string;
  readonly terminalId: number;
  readonly pdvId: number;
  readonly sequence: number;
  readonly status: number;
  readonly requestTime: number;
  readonly responseTime: number;
  readonly request: Readonly<Record<string, unknown>> | null;
  readonly response: Readonly<Record<string, unknown>> | null;
}

/** JSON serde; its serializer returns fresh bytes, so stores keep them without a copy. */
export const json = <T>(): Serde<T> => declareFreshSerializer(Serdes.Json<T>());

/**
 * JSON serde that gives back the bytes of the last value it serialized when asked for the same
 * object again: a reward is written to the rewards store, then the same object to the `rewards`
 * topic, and one JSON text serves both (1.5 % of the coupons thread). Both holders only read
 * them, as with json()'s fresh bytes.
 */
export function sharedJson<T>(): Serde<T> {
  const inner = Serdes.Json<T>();
  let last: T | null = null;
  let lastBytes: Uint8Array | null = null;
  return declareFreshSerializer<T>({
    serialize(topic, v) {
      if (v !== null && v === last) return lastBytes;
      const b = inner.serialize(topic, v);
      last = v;
      lastBytes = b;
      return b;
    },
    deserialize: (topic, d) => inner.deserialize(topic, d),
  });
}

/** A source frame's coordinates, "topic/partition/offset", carried as a record header from app 1 on. */
export const SOURCE_HEADER = "courant.source";

/** The part of a source header before the offset: "topic/partition/". */
export function sourcePrefix(topic: string, partition: number): string {
  return `${topic}/${partition}/`;
}

/** A frame waiting in the correlation store for its partner. */
export interface PendingFrame {
  /** Q: a request waiting for its response; R: a response that came first; M: matched (dedup marker). */
  readonly state: "Q" | "R" | "M";
  /** Event time of the frame (or of the match, for M). */
  readonly timestamp: number;
  /** When stream time passes this, the entry expires. */
  readonly deadline: number;
  readonly source: string;
  readonly frame: Uint8Array;
}

const NO_FRAME = new Uint8Array(0);

/**
 * Binary serde for PendingFrame (frames are bytes; JSON/base64 would double the store): state (1
 * byte), timestamp and deadline (float64 BE), the source's UTF-8 length (uint16 BE) and bytes,
 * then the frame. Written with Buffer's own codecs: three reads or writes per frame of the
 * correlation, 5 % of the pipeline's CPU through TextDecoder and DataView objects.
 */
export const pendingFrameSerde: Serde<PendingFrame> = declareFreshSerializer<PendingFrame>({
  serialize(_t, v) {
    if (v === null) return null;
    const n = Buffer.byteLength(v.source, "utf8");
    const out = Buffer.allocUnsafe(19 + n + v.frame.length);
    out[0] = v.state.charCodeAt(0);
    out.writeDoubleBE(v.timestamp, 1);
    out.writeDoubleBE(v.deadline, 9);
    out.writeUInt16BE(n, 17);
    out.write(v.source, 19, "utf8");
    out.set(v.frame, 19 + n);
    return out;
  },
  deserialize(_t, d) {
    if (d === null) return null;
    if (d.length < 19) throw new SerdeError(`pending frame record of ${d.length} bytes is too short`);
    const b = Buffer.isBuffer(d) ? d : Buffer.from(d.buffer, d.byteOffset, d.byteLength);
    const n = b.readUInt16BE(17);
    if (19 + n > b.length)
      throw new SerdeError(`pending frame record: source of ${n} bytes overruns the record`);
    return {
      state: String.fromCharCode(b[0]!) as PendingFrame["state"],
      timestamp: b.readDoubleBE(1),
      deadline: b.readDoubleBE(9),
      source: b.toString("utf8", 19, 19 + n),
      // A view, not a copy: a store hands out bytes that nobody writes to afterwards (lmdb's
      // reads are copied out of its shared read buffer; buffered writes are never changed in
      // place), and a frame is only ever read. A copy of its own was ~300 ns per read (a
      // backing store allocated for every frame over 64 bytes). Matched markers have no frame.
      frame:
        d.length === 19 + n ? NO_FRAME : new Uint8Array(d.buffer, d.byteOffset + 19 + n, d.length - 19 - n),
    };
  },
});

export function toBase64(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("base64");
}

/** First byte of the binary forms below; JSON (what earlier versions stored) starts otherwise. */
const BINARY_V1 = 0x01;

/**
 * A ledger counter (a PDV's coupons of a day) as 9 bytes: version 1, then a float64 BE. Written at
 * every coupon; JSON text and its encoding cost more than the write. JSON values stored by an
 * earlier version are read as such.
 */
export const counterSerde: Serde<number> = declareFreshSerializer<number>({
  serialize(_t, v) {
    if (v === null) return null;
    const out = Buffer.allocUnsafe(9);
    out[0] = BINARY_V1;
    out.writeDoubleBE(v, 1);
    return out;
  },
  deserialize(t, d) {
    if (d === null) return null;
    if (d[0] !== BINARY_V1) return jsonValue<number>(t, d);
    if (d.length !== 9) throw new SerdeError(`counter record of ${d.length} bytes (expected 9)`);
    return Buffer.from(d.buffer, d.byteOffset, d.byteLength).readDoubleBE(1);
  },
});

/**
 * A campaign's budget account: version 1, four float64 BE (used cents, issued, cancelled, next
 * coupon index), then the campaign id in UTF-8. Written at every coupon (cached: once per commit
 * in the changelog, but serialized at each write). JSON from an earlier version is read as such.
 */
export const budgetAccountSerde: Serde<BudgetAccountState> = declareFreshSerializer<BudgetAccountState>({
  serialize(_t, v) {
    if (v === null) return null;
    const n = Buffer.byteLength(v.campaignId, "utf8");
    const out = Buffer.allocUnsafe(33 + n);
    out[0] = BINARY_V1;
    out.writeDoubleBE(v.usedCents, 1);
    out.writeDoubleBE(v.issuedCount, 9);
    out.writeDoubleBE(v.canceledCount, 17);
    out.writeDoubleBE(v.nextCouponIndex, 25);
    out.write(v.campaignId, 33, "utf8");
    return out;
  },
  deserialize(t, d) {
    if (d === null) return null;
    if (d[0] !== BINARY_V1) return jsonValue<BudgetAccountState>(t, d);
    if (d.length < 33) throw new SerdeError(`budget account record of ${d.length} bytes is too short`);
    const b = Buffer.from(d.buffer, d.byteOffset, d.byteLength);
    return {
      campaignId: b.toString("utf8", 33),
      usedCents: b.readDoubleBE(1),
      issuedCount: b.readDoubleBE(9),
      canceledCount: b.readDoubleBE(17),
      nextCouponIndex: b.readDoubleBE(25),
    };
  },
});

const jsonRecords = Serdes.Json<unknown>();
function jsonValue<T>(topic: string, d: Uint8Array): T {
  return jsonRecords.deserialize(topic, d) as T;
}

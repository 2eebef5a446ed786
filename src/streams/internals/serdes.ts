// Serdes for values that cross internal topics: table changes (KTable.groupBy repartition).
import { type Serde, Serdes } from "../../serde/index.ts";
import type { Change } from "../types.ts";

/** [flags: 1 = has new, 2 = has old][u32 len new][new][old]. */
export function changeSerde<V>(inner: Serde<V>): Serde<Change<V>> {
  return declareFreshSerializer<Change<V>>({
    serialize(topic, c) {
      if (c === null) return null;
      const n = c.newValue === null ? null : inner.serialize(topic, c.newValue);
      const o = c.oldValue === null ? null : inner.serialize(topic, c.oldValue);
      const nl = n === null ? 0 : n.byteLength;
      const out = new Uint8Array(5 + nl + (o === null ? 0 : o.byteLength));
      out[0] = (n === null ? 0 : 1) | (o === null ? 0 : 2);
      new DataView(out.buffer).setUint32(1, nl);
      if (n !== null) out.set(n, 5);
      if (o !== null) out.set(o, 5 + nl);
      return out;
    },
    deserialize(topic, data) {
      if (data === null) return null;
      const flags = data[0]!;
      const nl = new DataView(data.buffer, data.byteOffset, data.byteLength).getUint32(1);
      const newValue = flags & 1 ? inner.deserialize(topic, data.subarray(5, 5 + nl)) : null;
      const oldValue = flags & 2 ? inner.deserialize(topic, data.subarray(5 + nl)) : null;
      return { newValue, oldValue };
    },
  });
}

/**
 * Serdes whose serialize returns a new array at every call that nothing else keeps or writes:
 * a store may keep such bytes without a copy (KeyValueBytesStore.putOwned). Serdes.Bytes (the
 * caller's own array) and custom serdes that reuse an output buffer must never be listed.
 */
const FRESH_SERIALIZERS = new WeakSet<object>([
  Serdes.String,
  Serdes.Int32,
  Serdes.Int64,
  Serdes.BigInt64,
  Serdes.Float64,
]);

/**
 * Declares that `serde.serialize` returns a new array at every call, which nobody keeps or
 * writes afterwards (JSON/Avro serdes that encode into a fresh buffer do): state stores then
 * keep the serialized bytes without a defensive copy. Returns `serde`.
 */
export function declareFreshSerializer<T>(serde: Serde<T>): Serde<T> {
  FRESH_SERIALIZERS.add(serde);
  return serde;
}

/**
 * True when `serde` was declared (or is known) to serialize into fresh arrays: registered with
 * declareFreshSerializer, or carrying `serializesFresh: true` (how a serde layer that cannot
 * import the streams layer, e.g. `Serdes.Json()`, can say so).
 */
export function serializesFresh(serde: Serde<unknown>): boolean {
  return (
    FRESH_SERIALIZERS.has(serde) || (serde as { readonly serializesFresh?: unknown }).serializesFresh === true
  );
}

/** Identity of a key for in-memory maps: strings as is, anything else through its serialized bytes. */
export function keyIdentity(key: unknown, serde: Serde<unknown>): string {
  if (typeof key === "string") return `s${key}`;
  if (typeof key === "number") return `n${key}`;
  const b = serde.serialize("", key);
  return b === null ? "null" : `b${Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("latin1")}`;
}

/** 8-byte big-endian two's complement as a number (inexact beyond ±2^53: callers check). */
function decodeLong(d: Uint8Array): number {
  const hi = (d[0]! << 24) | (d[1]! << 16) | (d[2]! << 8) | d[3]!;
  const lo = ((d[4]! << 24) | (d[5]! << 16) | (d[6]! << 8) | d[7]!) >>> 0;
  return hi * 4294967296 + lo;
}

/** Kafka's LongSerde layout (8-byte big-endian two's complement) for counts, safe-integer range. */
export const LongSerde: Serde<number> = declareFreshSerializer<number>({
  serialize(_t, v) {
    if (v === null) return null;
    const out = new Uint8Array(8);
    const hi = Math.floor(v / 4294967296);
    const lo = v - hi * 4294967296;
    const h = hi >>> 0;
    out[0] = h >>> 24;
    out[1] = (h >>> 16) & 255;
    out[2] = (h >>> 8) & 255;
    out[3] = h & 255;
    out[4] = lo >>> 24;
    out[5] = (lo >>> 16) & 255;
    out[6] = (lo >>> 8) & 255;
    out[7] = lo & 255;
    return out;
  },
  deserialize(_t, d) {
    if (d === null) return null;
    if (d.byteLength !== 8) throw new Error(`a long is 8 bytes, got ${d.byteLength}`);
    const hi = (d[0]! << 24) | (d[1]! << 16) | (d[2]! << 8) | d[3]! | 0;
    const lo = ((d[4]! << 24) | (d[5]! << 16) | (d[6]! << 8) | d[7]!) >>> 0;
    return hi * 4294967296 + lo;
  },
});

/**
 * The same serde with a faster serializer where one gives identical bytes: Serdes.String encodes
 * with TextEncoder, which costs ~3x Buffer.from for short strings (both write U+FFFD for lone
 * surrogates). The String deserializer is kept (it validates UTF-8); Int32/Int64 decode without
 * a DataView (and BigInt), with the same results and the same errors.
 */
export function fastSerde<T>(serde: Serde<T>): Serde<T> {
  if ((serde as unknown) === Serdes.Int64) {
    // Same bytes as Serdes.Int64 (8-byte big-endian), without BigInt; same safe-integer check.
    return declareFreshSerializer({
      serialize: (t, v) => {
        if (v !== null && !Number.isSafeInteger(v)) return Serdes.Int64.serialize(t, v as number);
        return LongSerde.serialize(t, v as number | null);
      },
      // Without a DataView and BigInt; anything but a safe integer in 8 bytes takes the original
      // path, which throws its own error.
      deserialize: (t, d) => {
        if (d === null || d.byteLength !== 8) return Serdes.Int64.deserialize(t, d);
        const n = decodeLong(d);
        return Number.isSafeInteger(n) ? n : Serdes.Int64.deserialize(t, d);
      },
    } as Serde<T>);
  }
  if ((serde as unknown) === Serdes.Int32) {
    // Same bytes as Serdes.Int32 (4-byte big-endian two's complement), without a DataView.
    return declareFreshSerializer({
      serialize: (t, v) => {
        if (v === null) return null;
        const n = v as number;
        if (!Number.isInteger(n) || n < -2147483648 || n > 2147483647) return Serdes.Int32.serialize(t, n);
        const out = new Uint8Array(4);
        out[0] = (n >>> 24) & 255;
        out[1] = (n >>> 16) & 255;
        out[2] = (n >>> 8) & 255;
        out[3] = n & 255;
        return out;
      },
      deserialize: (t, d) =>
        d === null || d.byteLength !== 4
          ? Serdes.Int32.deserialize(t, d)
          : (d[0]! << 24) | (d[1]! << 16) | (d[2]! << 8) | d[3]!,
    } as Serde<T>);
  }
  if ((serde as unknown) === Serdes.String) {
    return declareFreshSerializer({
      serialize: (_t, v) => (v === null ? null : Buffer.from(v as string, "utf8")),
      deserialize: serde.deserialize.bind(serde),
    } as Serde<T>);
  }
  return serde;
}

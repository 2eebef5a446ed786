// Typed state stores as processors and interactive queries see them, built over the byte stores
// of the state layer. Keys are serialized with the store's key serde, so ranges follow the byte
// order of serialized keys (for strings: code point order). DSL stores are "timestamped": each
// value is stored with the timestamp of the record that produced it (8 bytes, then the value).
import type { TopicConfig } from "../cluster/index.ts";
import type { Serde } from "../serde/index.ts";
import type {
  Bytes,
  KeyValueBytesStore,
  SessionBytesStore,
  WindowBytesStore,
  WindowedKey,
} from "../state/index.ts";
import { StreamsError } from "./errors.ts";
import { declareFreshSerializer, fastSerde, serializesFresh } from "./internals/serdes.ts";
import type { KeyValue } from "./types.ts";
import type { Windowed } from "./windows.ts";

export interface ValueAndTimestamp<V> {
  readonly value: V;
  readonly timestamp: number;
}

export interface ReadOnlyKeyValueStore<K, V> {
  readonly name: string;
  get(key: K): V | undefined;
  /** Entries with key in [from, to] (inclusive, serialized byte order); undefined = open bound. */
  range(from?: K, to?: K): KeyValue<K, V>[];
  reverseRange(from?: K, to?: K): KeyValue<K, V>[];
  all(): KeyValue<K, V>[];
  approximateNumEntries(): number;
}

export interface KeyValueStore<K, V> extends ReadOnlyKeyValueStore<K, V> {
  /**
   * As ReadOnlyKeyValueStore.range; with `limit`, only the first `limit` entries, read and decoded
   * at about the cost of those alone: a processor sweeps a large store in bounded batches
   * (resuming after the last key it saw) instead of materialising all of it.
   */
  range(from?: K, to?: K, limit?: number): KeyValue<K, V>[];
  /** As range(from, to, limit), keys only: values are not decoded (an index built from a large store). */
  keys(from?: K, to?: K, limit?: number): K[];
  put(key: K, value: V | null): void;
  putIfAbsent(key: K, value: V): V | undefined;
  putAll(entries: readonly KeyValue<K, V | null>[]): void;
  delete(key: K): V | undefined;
}

export interface ReadOnlyWindowStore<K, V> {
  readonly name: string;
  fetch(key: K, windowStart: number): V | undefined;
  /** Windows of `key` starting in [timeFrom, timeTo], ascending by start. */
  fetchRange(key: K, timeFrom: number, timeTo: number): KeyValue<number, V>[];
  fetchAll(timeFrom: number, timeTo: number): KeyValue<Windowed<K>, V>[];
  all(): KeyValue<Windowed<K>, V>[];
}

export interface WindowStore<K, V> extends ReadOnlyWindowStore<K, V> {
  put(key: K, value: V | null, windowStart: number): void;
}

export interface ReadOnlySessionStore<K, V> {
  readonly name: string;
  /** Every session of `key`. */
  fetch(key: K): KeyValue<Windowed<K>, V>[];
  findSessions(key: K, earliestSessionEnd: number, latestSessionStart: number): KeyValue<Windowed<K>, V>[];
  fetchSession(key: K, start: number, end: number): V | undefined;
  all(): KeyValue<Windowed<K>, V>[];
}

export interface SessionStore<K, V> extends ReadOnlySessionStore<K, V> {
  put(session: Windowed<K>, value: V | null): void;
  remove(session: Windowed<K>): void;
}

export type StoreKind = "keyValue" | "window" | "session";

/** Describes a store to create in every task that uses it (Kafka's StoreBuilder). */
export interface StoreSpec<K, V> {
  readonly kind: StoreKind;
  readonly name: string;
  readonly keySerde: Serde<K>;
  readonly valueSerde: Serde<V>;
  /** lmdb in the runtime when true; in-memory otherwise. */
  readonly persistent: boolean;
  readonly logging: boolean;
  readonly logConfig?: TopicConfig;
  readonly caching?: boolean;
  /** Window/session stores. */
  readonly windowSizeMs?: number;
  readonly retentionMs?: number;
  readonly retainDuplicates?: boolean;
  /** Values carry the producing record's timestamp (DSL stores). */
  readonly timestamped: boolean;
}

interface CommonStoreOptions<K, V> {
  readonly name: string;
  readonly keySerde: Serde<K>;
  readonly valueSerde: Serde<V>;
  readonly persistent?: boolean;
  readonly logging?: boolean;
  readonly logConfig?: TopicConfig;
  readonly caching?: boolean;
}

/** Factories of store specs for the Processor API (`topology.addStateStore(spec, ...processors)`). */
export const Stores = {
  keyValueStore<K, V>(o: CommonStoreOptions<K, V> & { timestamped?: boolean }): StoreSpec<K, V> {
    return {
      kind: "keyValue",
      persistent: true,
      logging: true,
      timestamped: false,
      ...o,
    };
  },
  windowStore<K, V>(
    o: CommonStoreOptions<K, V> & { windowSizeMs: number; retentionMs: number; retainDuplicates?: boolean },
  ): StoreSpec<K, V> {
    return { kind: "window", persistent: true, logging: true, timestamped: false, ...o };
  },
  sessionStore<K, V>(o: CommonStoreOptions<K, V> & { retentionMs: number }): StoreSpec<K, V> {
    return { kind: "session", persistent: true, logging: true, timestamped: false, ...o };
  },
} as const;

/** A Serde for ValueAndTimestamp<V>: 8-byte timestamp followed by the inner value bytes. */
export function timestampedSerde<V>(innerSerde: Serde<V>): Serde<ValueAndTimestamp<V>> {
  const inner = fastSerde(innerSerde);
  return declareFreshSerializer<ValueAndTimestamp<V>>({
    serialize(topic, vt) {
      if (vt === null) return null;
      const v = inner.serialize(topic, vt.value);
      const n = v === null ? 0 : v.byteLength;
      const out = new Uint8Array(8 + n);
      // The state layer's timestamp layout (sign-biased big-endian), written inline.
      const t = vt.timestamp;
      const hi = Math.floor(t / 4294967296);
      const lo = t - hi * 4294967296;
      const h = (hi + 2147483648) >>> 0;
      out[0] = h >>> 24;
      out[1] = (h >>> 16) & 255;
      out[2] = (h >>> 8) & 255;
      out[3] = h & 255;
      out[4] = lo >>> 24;
      out[5] = (lo >>> 16) & 255;
      out[6] = (lo >>> 8) & 255;
      out[7] = lo & 255;
      if (v !== null) out.set(v, 8);
      return out;
    },
    deserialize(topic, data) {
      if (data === null) return null;
      const h = ((data[0]! << 24) | (data[1]! << 16) | (data[2]! << 8) | data[3]!) >>> 0;
      const lo = ((data[4]! << 24) | (data[5]! << 16) | (data[6]! << 8) | data[7]!) >>> 0;
      const timestamp = (h - 2147483648) * 4294967296 + lo;
      const value = inner.deserialize(topic, data.subarray(8)) as V;
      return { value, timestamp };
    },
  });
}

function ser<T>(serde: Serde<T>, topic: string, v: T, what: string, store: string): Uint8Array {
  let b: Uint8Array | null;
  try {
    b = serde.serialize(topic, v);
  } catch (e) {
    throw new StreamsError(
      "SERIALIZATION",
      `store ${store}: cannot serialize ${what}: ${(e as Error).message}`,
      {
        cause: e,
      },
    );
  }
  if (b === null) throw new StreamsError("SERIALIZATION", `store ${store}: ${what} serialized to null`);
  return b;
}

function de<T>(serde: Serde<T>, topic: string, b: Uint8Array): T {
  return serde.deserialize(topic, b) as T;
}

/** What every typed store view shares: the inner byte store, its serdes and a one-key cache. */
abstract class SerdeBoundStore<K, V, S extends { readonly name: string }> {
  readonly name: string;
  readonly inner: S;
  protected readonly keySerde: Serde<K>;
  protected readonly valueSerde: Serde<V>;
  protected readonly topic: string;
  /** Both serializers return fresh arrays: puts may hand them to the store without a copy. */
  protected readonly freshBytes: boolean;
  constructor(inner: S, keySerde: Serde<K>, valueSerde: Serde<V>, topic: string) {
    this.name = inner.name;
    this.inner = inner;
    this.keySerde = fastSerde(keySerde);
    this.valueSerde = fastSerde(valueSerde);
    this.topic = topic;
    this.freshBytes =
      serializesFresh(this.keySerde as Serde<unknown>) && serializesFresh(this.valueSerde as Serde<unknown>);
  }
  private lastKey: unknown = undefined;
  private lastKeyBytes: Uint8Array | undefined;
  /** Serialized key; the last one is remembered (a record touches its key several times). */
  keyBytes(key: K): Uint8Array {
    if (key === this.lastKey && this.lastKeyBytes !== undefined && typeof key !== "object")
      return this.lastKeyBytes;
    const b = ser(this.keySerde, this.topic, key, "key", this.name);
    this.lastKey = key;
    this.lastKeyBytes = b;
    return b;
  }
  decodeKey(b: Uint8Array): K {
    return de(this.keySerde, this.topic, b);
  }
  decodeValue(b: Uint8Array): V {
    return de(this.valueSerde, this.topic, b);
  }
}

export class TypedKeyValueStore<K, V>
  extends SerdeBoundStore<K, V, KeyValueBytesStore>
  implements KeyValueStore<K, V>
{
  get(key: K): V | undefined {
    const b = this.inner.get(this.keyBytes(key));
    return b === undefined ? undefined : de(this.valueSerde, this.topic, b);
  }
  put(key: K, value: V | null): void {
    const k = this.keyBytes(key);
    const v = value === null ? null : ser(this.valueSerde, this.topic, value, "value", this.name);
    if (this.freshBytes && this.inner.putOwned !== undefined) this.inner.putOwned(k, v);
    else this.inner.put(k, v);
  }
  putIfAbsent(key: K, value: V): V | undefined {
    const b = this.inner.putIfAbsent(
      this.keyBytes(key),
      ser(this.valueSerde, this.topic, value, "value", this.name),
    );
    return b === undefined ? undefined : de(this.valueSerde, this.topic, b);
  }
  putAll(entries: readonly KeyValue<K, V | null>[]): void {
    for (const e of entries) this.put(e.key, e.value);
  }
  delete(key: K): V | undefined {
    const b = this.inner.delete(this.keyBytes(key));
    return b === undefined ? undefined : de(this.valueSerde, this.topic, b);
  }
  private decode(it: Iterable<KeyValue<Bytes, Bytes>>): KeyValue<K, V>[] {
    const out: KeyValue<K, V>[] = [];
    for (const e of it) {
      out.push({
        key: de(this.keySerde, this.topic, e.key),
        value: de(this.valueSerde, this.topic, e.value),
      });
    }
    return out;
  }
  range(from?: K, to?: K, limit?: number): KeyValue<K, V>[] {
    return this.decode(
      this.inner.range(
        from === undefined ? undefined : this.keyBytes(from),
        to === undefined ? undefined : this.keyBytes(to),
        limit,
      ),
    );
  }
  keys(from?: K, to?: K, limit?: number): K[] {
    const out: K[] = [];
    for (const e of this.inner.range(
      from === undefined ? undefined : this.keyBytes(from),
      to === undefined ? undefined : this.keyBytes(to),
      limit,
    ))
      out.push(de(this.keySerde, this.topic, e.key));
    return out;
  }
  reverseRange(from?: K, to?: K): KeyValue<K, V>[] {
    return this.decode(
      this.inner.reverseRange(
        from === undefined ? undefined : this.keyBytes(from),
        to === undefined ? undefined : this.keyBytes(to),
      ),
    );
  }
  all(): KeyValue<K, V>[] {
    return this.decode(this.inner.all());
  }
  approximateNumEntries(): number {
    return this.inner.approximateNumEntries();
  }
}

export class TypedWindowStore<K, V>
  extends SerdeBoundStore<K, V, WindowBytesStore>
  implements WindowStore<K, V>
{
  put(key: K, value: V | null, windowStart: number): void {
    const k = this.keyBytes(key);
    const v = value === null ? null : ser(this.valueSerde, this.topic, value, "value", this.name);
    if (this.freshBytes && this.inner.putOwned !== undefined) this.inner.putOwned(k, v, windowStart);
    else this.inner.put(k, v, windowStart);
  }
  fetch(key: K, windowStart: number): V | undefined {
    const b = this.inner.fetch(this.keyBytes(key), windowStart);
    return b === undefined ? undefined : de(this.valueSerde, this.topic, b);
  }
  fetchRange(key: K, timeFrom: number, timeTo: number): KeyValue<number, V>[] {
    const out: KeyValue<number, V>[] = [];
    for (const e of this.inner.fetchRange(this.keyBytes(key), timeFrom, timeTo)) {
      out.push({ key: e.key, value: de(this.valueSerde, this.topic, e.value) });
    }
    return out;
  }
  private decodeAll(it: Iterable<KeyValue<WindowedKey<Bytes>, Bytes>>): KeyValue<Windowed<K>, V>[] {
    const out: KeyValue<Windowed<K>, V>[] = [];
    for (const e of it) {
      out.push({
        key: {
          key: de(this.keySerde, this.topic, e.key.key),
          window: { start: e.key.windowStart, end: e.key.windowEnd },
        },
        value: de(this.valueSerde, this.topic, e.value),
      });
    }
    return out;
  }
  fetchAll(timeFrom: number, timeTo: number): KeyValue<Windowed<K>, V>[] {
    return this.decodeAll(this.inner.fetchAll(timeFrom, timeTo));
  }
  all(): KeyValue<Windowed<K>, V>[] {
    return this.decodeAll(this.inner.all());
  }
}

export class TypedSessionStore<K, V>
  extends SerdeBoundStore<K, V, SessionBytesStore>
  implements SessionStore<K, V>
{
  private decode(it: Iterable<KeyValue<WindowedKey<Bytes>, Bytes>>): KeyValue<Windowed<K>, V>[] {
    const out: KeyValue<Windowed<K>, V>[] = [];
    for (const e of it) {
      out.push({
        key: {
          key: de(this.keySerde, this.topic, e.key.key),
          window: { start: e.key.windowStart, end: e.key.windowEnd },
        },
        value: de(this.valueSerde, this.topic, e.value),
      });
    }
    return out;
  }
  fetch(key: K): KeyValue<Windowed<K>, V>[] {
    return this.decode(
      this.inner.findSessions(this.keyBytes(key), Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER),
    );
  }
  findSessions(key: K, earliestSessionEnd: number, latestSessionStart: number): KeyValue<Windowed<K>, V>[] {
    return this.decode(this.inner.findSessions(this.keyBytes(key), earliestSessionEnd, latestSessionStart));
  }
  fetchSession(key: K, start: number, end: number): V | undefined {
    const b = this.inner.fetchSession(this.keyBytes(key), start, end);
    return b === undefined ? undefined : de(this.valueSerde, this.topic, b);
  }
  all(): KeyValue<Windowed<K>, V>[] {
    return this.decode(this.inner.all());
  }
  put(session: Windowed<K>, value: V | null): void {
    this.inner.put(
      { key: this.keyBytes(session.key), windowStart: session.window.start, windowEnd: session.window.end },
      value === null ? null : ser(this.valueSerde, this.topic, value, "value", this.name),
    );
  }
  remove(session: Windowed<K>): void {
    this.inner.remove({
      key: this.keyBytes(session.key),
      windowStart: session.window.start,
      windowEnd: session.window.end,
    });
  }
}

/** Read-only views that hide timestamps of timestamped stores (what queries and the driver return). */
export function plainKeyValueView<K, V>(
  s: ReadOnlyKeyValueStore<K, ValueAndTimestamp<V>>,
): ReadOnlyKeyValueStore<K, V> {
  const strip = (xs: KeyValue<K, ValueAndTimestamp<V>>[]) =>
    xs.map((e) => ({ key: e.key, value: e.value.value }));
  return {
    name: s.name,
    get: (k) => s.get(k)?.value,
    range: (f, t) => strip(s.range(f, t)),
    reverseRange: (f, t) => strip(s.reverseRange(f, t)),
    all: () => strip(s.all()),
    approximateNumEntries: () => s.approximateNumEntries(),
  };
}

export function plainWindowView<K, V>(
  s: ReadOnlyWindowStore<K, ValueAndTimestamp<V>>,
): ReadOnlyWindowStore<K, V> {
  return {
    name: s.name,
    fetch: (k, t) => s.fetch(k, t)?.value,
    fetchRange: (k, f, t) => s.fetchRange(k, f, t).map((e) => ({ key: e.key, value: e.value.value })),
    fetchAll: (f, t) => s.fetchAll(f, t).map((e) => ({ key: e.key, value: e.value.value })),
    all: () => s.all().map((e) => ({ key: e.key, value: e.value.value })),
  };
}

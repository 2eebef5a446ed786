// Store contracts shared by the streams runtime (which wraps them with serdes, caching and
// changelogging) and the store implementations (lmdb, memory). Inner stores hold bytes:
// keys compare as unsigned byte strings, so range scans and window layouts are the same on
// every implementation.

export type Bytes = Uint8Array;

export interface KeyValue<K, V> {
  readonly key: K;
  readonly value: V;
}

/** Iterators are plain arrays/iterables; callers must not hold them across await points of writes. */
export interface StateStore {
  readonly name: string;
  readonly persistent: boolean;
  /** Makes writes so far durable (called at commit). */
  flush(): void | Promise<void>;
  close(): void | Promise<void>;
}

export interface KeyValueBytesStore extends StateStore {
  get(key: Bytes): Bytes | undefined;
  put(key: Bytes, value: Bytes | null): void;
  /**
   * Optional fast path of put: the caller hands over `key` and `value` (fresh arrays that no
   * one writes to afterwards, e.g. just serialized), so the store keeps them without copying.
   */
  putOwned?(key: Bytes, value: Bytes | null): void;
  putIfAbsent(key: Bytes, value: Bytes): Bytes | undefined;
  delete(key: Bytes): Bytes | undefined;
  /**
   * Keys in [from, to] inclusive, ascending; undefined bound = open. With `limit`, only the first
   * `limit` entries, and a scan costs about as much as what it returns (a sweep in bounded batches).
   */
  range(from: Bytes | undefined, to: Bytes | undefined, limit?: number): Iterable<KeyValue<Bytes, Bytes>>;
  reverseRange(from: Bytes | undefined, to: Bytes | undefined): Iterable<KeyValue<Bytes, Bytes>>;
  all(): Iterable<KeyValue<Bytes, Bytes>>;
  approximateNumEntries(): number;
  /** Removes every entry (used before a full restore). */
  clear(): void | Promise<void>;
}

export interface WindowedKey<K> {
  readonly key: K;
  readonly windowStart: number;
  readonly windowEnd: number;
}

export interface WindowBytesStore extends StateStore {
  readonly windowSizeMs: number;
  readonly retentionMs: number;
  put(key: Bytes, value: Bytes | null, windowStart: number): void;
  /** Optional fast path of put that keeps `value` without a copy (see KeyValueBytesStore.putOwned). */
  putOwned?(key: Bytes, value: Bytes | null, windowStart: number): void;
  fetch(key: Bytes, windowStart: number): Bytes | undefined;
  /** Windows of `key` whose start is in [timeFrom, timeTo], ascending by start. */
  fetchRange(key: Bytes, timeFrom: number, timeTo: number): Iterable<KeyValue<number, Bytes>>;
  fetchAll(timeFrom: number, timeTo: number): Iterable<KeyValue<WindowedKey<Bytes>, Bytes>>;
  all(): Iterable<KeyValue<WindowedKey<Bytes>, Bytes>>;
  /** Drops segments entirely older than `streamTime - retentionMs`. */
  expire(streamTime: number): void;
  clear(): void | Promise<void>;
}

export interface SessionBytesStore extends StateStore {
  readonly retentionMs: number;
  /** Sessions of `key` with end >= earliestSessionEnd and start <= latestSessionStart. */
  findSessions(
    key: Bytes,
    earliestSessionEnd: number,
    latestSessionStart: number,
  ): Iterable<KeyValue<WindowedKey<Bytes>, Bytes>>;
  put(session: WindowedKey<Bytes>, value: Bytes | null): void;
  remove(session: WindowedKey<Bytes>): void;
  fetchSession(key: Bytes, start: number, end: number): Bytes | undefined;
  all(): Iterable<KeyValue<WindowedKey<Bytes>, Bytes>>;
  expire(streamTime: number): void;
  clear(): void | Promise<void>;
}

export type StoreType = "keyValue" | "window" | "session";

/** Where a store lives: `persistent` uses lmdb under the task's state directory. */
export interface StoreSupplierOptions {
  readonly name: string;
  readonly persistent: boolean;
  /** Changelog enabled (default true): every write is also produced to `<appId>-<name>-changelog`. */
  readonly logging?: boolean;
  readonly windowSizeMs?: number;
  readonly retentionMs?: number;
  readonly retainDuplicates?: boolean;
}

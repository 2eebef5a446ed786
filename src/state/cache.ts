// Record cache, as Kafka Streams' caching layer: a size-bounded cache in front of stores that
// coalesces updates per key and forwards only the latest value of each dirty key, at flush
// (commit) or when an entry is evicted. It is why `count` emits one update per key per
// commit instead of one per record. One RecordCache (a byte budget, LRU over all stores) is
// shared by the stores of a thread; each store has a namespace in it. maxBytes 0 disables
// caching: every write is forwarded at once.
//
// Order: a namespace forwards its dirty entries in the order they were last written. When the
// least recently used entry is evicted and is dirty, the whole namespace is flushed first (as
// Kafka Streams does), so downstream sees each key's updates in write order.
import { bytesToKeyString, copyBytes, unpooled } from "./bytes.ts";
import { parseWindowEntryKey, windowEntryKey, windowSuffixLen } from "./layout.ts";
import { SortedBytesMap } from "./sorted-map.ts";
import type { Bytes, KeyValue, KeyValueBytesStore, WindowBytesStore, WindowedKey } from "./types.ts";

const ENTRY_OVERHEAD_BYTES = 64;

interface CacheEntry {
  readonly ns: CacheNamespace;
  readonly key: Uint8Array;
  value: Uint8Array | null;
  dirty: boolean;
  size: number;
}

export interface DirtyEntry {
  readonly key: Uint8Array;
  /** null = delete */
  readonly value: Uint8Array | null;
}

export interface RecordCacheStats {
  hits: number;
  misses: number;
  evictions: number;
  flushes: number;
  forwarded: number;
}

export class RecordCache {
  readonly maxBytes: number;
  private readonly lru = new Set<CacheEntry>();
  private bytes = 0;
  readonly stats: RecordCacheStats = { hits: 0, misses: 0, evictions: 0, flushes: 0, forwarded: 0 };

  constructor(maxBytes: number) {
    if (!(maxBytes >= 0) || !Number.isSafeInteger(maxBytes)) {
      throw new RangeError(`record cache size must be a non-negative integer of bytes, got ${maxBytes}`);
    }
    this.maxBytes = maxBytes;
  }

  /** A store's part of the cache; `onFlush` receives its dirty entries in write order. */
  namespace(name: string, onFlush: (entries: DirtyEntry[]) => void): CacheNamespace {
    return new CacheNamespace(this, name, onFlush);
  }

  get sizeBytes(): number {
    return this.bytes;
  }

  get entries(): number {
    return this.lru.size;
  }

  /** The most recently used entry: touching it again leaves the order as it is (a hot key). */
  private mru: CacheEntry | undefined;

  /** @internal */
  touch(e: CacheEntry): void {
    if (e === this.mru) return;
    this.lru.delete(e);
    this.lru.add(e);
    this.mru = e;
  }

  /** @internal */
  added(e: CacheEntry): void {
    this.lru.add(e);
    this.mru = e;
    this.bytes += e.size;
    this.evictIfNeeded();
  }

  /** @internal */
  resized(delta: number): void {
    this.bytes += delta;
    if (delta > 0) this.evictIfNeeded();
  }

  /** @internal */
  removed(e: CacheEntry): void {
    if (this.lru.delete(e)) this.bytes -= e.size;
    if (e === this.mru) this.mru = undefined;
  }

  private evictIfNeeded(): void {
    while (this.bytes > this.maxBytes && this.lru.size > 0) {
      const eldest = this.lru.values().next().value!;
      if (eldest.dirty) eldest.ns.flush();
      // flush() may have re-entered and evicted it already
      if (this.lru.has(eldest)) {
        eldest.ns.evict(eldest);
        this.stats.evictions++;
      }
    }
  }
}

export class CacheNamespace {
  readonly name: string;
  private readonly cache: RecordCache;
  private readonly onFlush: (entries: DirtyEntry[]) => void;
  private readonly entries = new SortedBytesMap<CacheEntry>();
  private readonly dirty = new Set<CacheEntry>();

  constructor(cache: RecordCache, name: string, onFlush: (entries: DirtyEntry[]) => void) {
    this.cache = cache;
    this.name = name;
    this.onFlush = onFlush;
  }

  /** The last written dirty entry: writing it again leaves the write order as it is. */
  private lastDirty: CacheEntry | undefined;
  /**
   * The key of the last lookup and its map string, reused by a write of the same array when the
   * caller owns it (an owned key is never written to, so it cannot have changed since): a
   * read-modify-write through a typed store converts its key once.
   */
  private lastKey: Bytes | undefined;
  private lastKeyString = "";

  private keyString(key: Bytes, owned: boolean): string {
    if (owned && key === this.lastKey) return this.lastKeyString;
    const ks = bytesToKeyString(key);
    this.lastKey = key;
    this.lastKeyString = ks;
    return ks;
  }

  /** The cached entry (value null = cached delete), or undefined on a miss. */
  get(key: Bytes): { value: Uint8Array | null } | undefined {
    const e = this.entries.getByString(this.keyString(key, false))?.value;
    if (e === undefined) {
      this.cache.stats.misses++;
      return undefined;
    }
    this.cache.stats.hits++;
    this.cache.touch(e);
    return e;
  }

  /** `keyOwned`/`valueOwned`: fresh arrays nobody writes to, kept without a copy. */
  put(key: Bytes, value: Bytes | null, dirty: boolean, keyOwned = false, valueOwned = false): void {
    const size = ENTRY_OVERHEAD_BYTES + key.byteLength + (value?.byteLength ?? 0);
    const v = value === null || valueOwned ? value : copyBytes(value);
    const ks = this.keyString(key, keyOwned);
    const e = this.entries.getByString(ks)?.value;
    if (e !== undefined) {
      e.value = v;
      if (dirty) {
        e.dirty = true;
        if (e !== this.lastDirty) {
          this.dirty.delete(e);
          this.dirty.add(e);
          this.lastDirty = e;
        }
      }
      this.cache.touch(e);
      const delta = size - e.size;
      e.size = size;
      if (delta !== 0) this.cache.resized(delta);
      return;
    }
    const ne: CacheEntry = { ns: this, key: keyOwned ? key : copyBytes(key), value: v, dirty, size };
    this.entries.setByString(ks, ne.key, ne);
    if (dirty) {
      this.dirty.add(ne);
      this.lastDirty = ne;
    }
    this.cache.added(ne);
  }

  /** Cached entries in [from, to], ascending (values null = cached deletes). */
  range(from: Bytes | undefined, to: Bytes | undefined): { key: Uint8Array; value: Uint8Array | null }[] {
    return this.entries.range(from, to, false).map((e) => e.value);
  }

  /** Forwards every dirty entry (in last-write order) and marks them clean. */
  flush(): void {
    if (this.dirty.size === 0) return;
    const batch: DirtyEntry[] = [];
    for (const e of this.dirty) {
      e.dirty = false;
      batch.push({ key: e.key, value: e.value });
    }
    this.dirty.clear();
    this.lastDirty = undefined;
    this.cache.stats.flushes++;
    this.cache.stats.forwarded += batch.length;
    this.onFlush(batch);
  }

  /** @internal drops a clean entry */
  evict(e: CacheEntry): void {
    this.entries.delete(e.key);
    this.dirty.delete(e);
    if (e === this.lastDirty) this.lastDirty = undefined;
    this.cache.removed(e);
  }

  get dirtyCount(): number {
    return this.dirty.size;
  }

  /** Drops every entry without forwarding (after flush at close, or on task migration). */
  clear(): void {
    for (const e of this.entries.values()) this.cache.removed(e.value);
    this.entries.clear();
    this.dirty.clear();
    this.lastDirty = undefined;
  }
}

/** Receives each coalesced update as it leaves the cache; oldValue is the store's prior value. */
export type CacheFlushListener<K> = (
  key: K,
  newValue: Uint8Array | null,
  oldValue: Uint8Array | null,
) => void;

export class CachingKeyValueStore implements KeyValueBytesStore {
  readonly inner: KeyValueBytesStore;
  private readonly ns: CacheNamespace;

  constructor(inner: KeyValueBytesStore, cache: RecordCache, onFlush?: CacheFlushListener<Uint8Array>) {
    this.inner = inner;
    this.ns = cache.namespace(inner.name, (batch) => {
      for (const { key, value } of batch) {
        const old = onFlush === undefined ? undefined : inner.get(key);
        // The cache's own copies, never written to: the store may keep them.
        if (inner.putOwned !== undefined) inner.putOwned(key, value);
        else inner.put(key, value);
        onFlush?.(key, value, old ?? null);
      }
    });
  }
  get name(): string {
    return this.inner.name;
  }
  get persistent(): boolean {
    return this.inner.persistent;
  }
  get(key: Bytes): Bytes | undefined {
    const c = this.ns.get(key);
    if (c !== undefined) return c.value ?? undefined;
    const v = this.inner.get(key);
    // A store's value is never written to once stored: cached without a copy, unless it is a
    // view into a shared slab (lmdb reads), which the cache would keep alive whole.
    if (v === undefined) return undefined;
    const kept = unpooled(v);
    this.ns.put(key, kept, false, false, true);
    return kept;
  }
  put(key: Bytes, value: Bytes | null): void {
    this.ns.put(key, value, true);
  }
  putOwned(key: Bytes, value: Bytes | null): void {
    this.ns.put(key, value, true, true, true);
  }
  putIfAbsent(key: Bytes, value: Bytes): Bytes | undefined {
    const old = this.get(key);
    if (old === undefined) this.put(key, value);
    return old;
  }
  delete(key: Bytes): Bytes | undefined {
    const old = this.get(key);
    this.put(key, null);
    return old;
  }
  /**
   * With `limit`: each cached entry hides or replaces at most one stored entry, so the first
   * `limit + cached` stored entries are enough for the first `limit` merged ones.
   */
  range(from: Bytes | undefined, to: Bytes | undefined, limit?: number): KeyValue<Bytes, Bytes>[] {
    const cached = this.ns.range(from, to);
    if (limit === undefined) return mergeSorted(cached, [...this.inner.range(from, to)]);
    const out = mergeSorted(cached, [...this.inner.range(from, to, limit + cached.length)]);
    if (out.length > limit) out.length = Math.max(0, limit);
    return out;
  }
  reverseRange(from: Bytes | undefined, to: Bytes | undefined): KeyValue<Bytes, Bytes>[] {
    return this.range(from, to).reverse();
  }
  all(): KeyValue<Bytes, Bytes>[] {
    return this.range(undefined, undefined);
  }
  /** The inner store's count (cached inserts are not counted until flushed). */
  approximateNumEntries(): number {
    return this.inner.approximateNumEntries();
  }
  clear(): void | Promise<void> {
    this.ns.clear();
    return this.inner.clear();
  }
  /** Forwards dirty entries into the inner store (and the listener), then flushes it. */
  flush(): void | Promise<void> {
    this.ns.flush();
    return this.inner.flush();
  }
  /** Forwards outstanding dirty entries before closing, as Kafka Streams does. */
  async close(): Promise<void> {
    this.ns.flush();
    this.ns.clear();
    await this.inner.close();
  }
}

/** Merges cached entries (null = delete, wins over the store) with store entries, ascending. */
function mergeSorted(
  cached: { key: Uint8Array; value: Uint8Array | null }[],
  stored: KeyValue<Bytes, Bytes>[],
): KeyValue<Bytes, Bytes>[] {
  const out: KeyValue<Bytes, Bytes>[] = [];
  let i = 0;
  for (const s of stored) {
    while (i < cached.length && Buffer.compare(cached[i]!.key, s.key) < 0) {
      const c = cached[i++]!;
      if (c.value !== null) out.push({ key: c.key, value: c.value });
    }
    if (i < cached.length && Buffer.compare(cached[i]!.key, s.key) === 0) {
      const c = cached[i++]!;
      if (c.value !== null) out.push({ key: c.key, value: c.value });
      continue;
    }
    out.push(s);
  }
  for (; i < cached.length; i++) {
    const c = cached[i]!;
    if (c.value !== null) out.push({ key: c.key, value: c.value });
  }
  return out;
}

/** Caching for window stores (not with retainDuplicates, as in Kafka Streams). Cache key = [key][windowStart]. */
export class CachingWindowStore implements WindowBytesStore {
  readonly inner: WindowBytesStore;
  private readonly ns: CacheNamespace;

  constructor(
    inner: WindowBytesStore,
    cache: RecordCache,
    onFlush?: CacheFlushListener<WindowedKey<Uint8Array>>,
  ) {
    if ((inner as { retainDuplicates?: boolean }).retainDuplicates === true) {
      throw new TypeError(`window store '${inner.name}' retains duplicates and cannot be cached`);
    }
    this.inner = inner;
    this.ns = cache.namespace(inner.name, (batch) => {
      for (const { key: entryKey, value } of batch) {
        const { key, windowStart } = parseWindowEntryKey(entryKey, false);
        const old = onFlush === undefined ? undefined : inner.fetch(key, windowStart);
        if (inner.putOwned !== undefined) inner.putOwned(key, value, windowStart);
        else inner.put(key, value, windowStart);
        onFlush?.({ key, windowStart, windowEnd: windowStart + inner.windowSizeMs }, value, old ?? null);
      }
    });
  }
  get name(): string {
    return this.inner.name;
  }
  get persistent(): boolean {
    return this.inner.persistent;
  }
  get windowSizeMs(): number {
    return this.inner.windowSizeMs;
  }
  get retentionMs(): number {
    return this.inner.retentionMs;
  }
  put(key: Bytes, value: Bytes | null, windowStart: number): void {
    this.ns.put(windowEntryKey(key, windowStart, undefined), value, true, true);
  }
  putOwned(key: Bytes, value: Bytes | null, windowStart: number): void {
    this.ns.put(windowEntryKey(key, windowStart, undefined), value, true, true, true);
  }
  fetch(key: Bytes, windowStart: number): Bytes | undefined {
    const c = this.ns.get(windowEntryKey(key, windowStart, undefined));
    if (c !== undefined) return c.value ?? undefined;
    return this.inner.fetch(key, windowStart);
  }
  fetchRange(key: Bytes, timeFrom: number, timeTo: number): KeyValue<number, Bytes>[] {
    const len = key.byteLength + windowSuffixLen(false);
    const lo = windowEntryKey(key, Math.max(timeFrom, Number.MIN_SAFE_INTEGER), undefined);
    const hi = windowEntryKey(key, Math.min(timeTo, Number.MAX_SAFE_INTEGER), undefined);
    const byStart = new Map<number, Bytes | null>();
    for (const kv of this.inner.fetchRange(key, timeFrom, timeTo)) byStart.set(kv.key, kv.value);
    for (const c of this.ns.range(lo, hi)) {
      if (c.key.byteLength !== len) continue;
      byStart.set(parseWindowEntryKey(c.key, false).windowStart, c.value);
    }
    const out: KeyValue<number, Bytes>[] = [];
    for (const [start, value] of [...byStart].sort((a, b) => a[0] - b[0])) {
      if (value !== null) out.push({ key: start, value });
    }
    return out;
  }
  /** Merges cache and store; ordered by window start, then key. */
  fetchAll(timeFrom: number, timeTo: number): KeyValue<WindowedKey<Bytes>, Bytes>[] {
    const merged = new Map<string, { key: WindowedKey<Bytes>; value: Bytes | null }>();
    for (const kv of this.inner.fetchAll(timeFrom, timeTo)) {
      const ek = windowEntryKey(kv.key.key, kv.key.windowStart, undefined);
      merged.set(Buffer.from(ek).toString("latin1"), { key: kv.key, value: kv.value });
    }
    for (const c of this.ns.range(undefined, undefined)) {
      const { key, windowStart } = parseWindowEntryKey(c.key, false);
      if (windowStart < timeFrom || windowStart > timeTo) continue;
      merged.set(Buffer.from(c.key).toString("latin1"), {
        key: { key, windowStart, windowEnd: windowStart + this.inner.windowSizeMs },
        value: c.value,
      });
    }
    const out: KeyValue<WindowedKey<Bytes>, Bytes>[] = [];
    for (const m of merged.values()) if (m.value !== null) out.push({ key: m.key, value: m.value });
    return out.sort((a, b) => a.key.windowStart - b.key.windowStart || Buffer.compare(a.key.key, b.key.key));
  }
  all(): KeyValue<WindowedKey<Bytes>, Bytes>[] {
    return this.fetchAll(Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
  }
  expire(streamTime: number): void {
    this.inner.expire(streamTime);
  }
  clear(): void | Promise<void> {
    this.ns.clear();
    return this.inner.clear();
  }
  flush(): void | Promise<void> {
    this.ns.flush();
    return this.inner.flush();
  }
  async close(): Promise<void> {
    this.ns.flush();
    this.ns.clear();
    await this.inner.close();
  }
}

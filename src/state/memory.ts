// In-memory stores: the same semantics and orderings as the lmdb stores, without durability.
// Used for `persistent: false` stores and by the test driver.
import { compareBytes, copyBytes } from "./bytes.ts";
import { StateStoreError } from "./errors.ts";
import {
  defaultSegmentIntervalMs,
  MAX_SEQ,
  parseSessionEntryKey,
  parseWindowEntryKey,
  segmentId,
  sessionEntryKey,
  windowEntryKey,
  windowSuffixLen,
} from "./layout.ts";
import { SortedBytesMap } from "./sorted-map.ts";
import type {
  Bytes,
  KeyValue,
  KeyValueBytesStore,
  SessionBytesStore,
  WindowBytesStore,
  WindowedKey,
} from "./types.ts";

abstract class MemoryStoreBase {
  readonly name: string;
  readonly persistent = false;
  protected closed = false;
  constructor(name: string) {
    this.name = name;
  }
  protected checkOpen(): void {
    if (this.closed) throw new StateStoreError("STORE_CLOSED", this.name, "store is closed");
  }
  get isOpen(): boolean {
    return !this.closed;
  }
  flush(): void {}
  close(): void {
    this.closed = true;
  }
}

export class InMemoryKeyValueStore extends MemoryStoreBase implements KeyValueBytesStore {
  private readonly data = new SortedBytesMap<Uint8Array>();

  get(key: Bytes): Bytes | undefined {
    this.checkOpen();
    return this.data.get(key);
  }

  put(key: Bytes, value: Bytes | null): void {
    this.checkOpen();
    if (value === null) this.data.delete(key);
    else this.data.set(copyBytes(key), copyBytes(value));
  }

  putIfAbsent(key: Bytes, value: Bytes): Bytes | undefined {
    this.checkOpen();
    const old = this.data.get(key);
    if (old === undefined) this.data.set(copyBytes(key), copyBytes(value));
    return old;
  }

  delete(key: Bytes): Bytes | undefined {
    this.checkOpen();
    return this.data.delete(key);
  }

  range(from: Bytes | undefined, to: Bytes | undefined): KeyValue<Bytes, Bytes>[] {
    this.checkOpen();
    return this.data.range(from, to, false);
  }

  reverseRange(from: Bytes | undefined, to: Bytes | undefined): KeyValue<Bytes, Bytes>[] {
    this.checkOpen();
    return this.data.range(from, to, true);
  }

  all(): KeyValue<Bytes, Bytes>[] {
    return this.range(undefined, undefined);
  }

  approximateNumEntries(): number {
    return this.data.size;
  }

  clear(): void {
    this.data.clear();
  }
}

/** Segments keyed by id; entries within a segment ordered by the composite entry key. */
class MemorySegments {
  readonly segments = new Map<number, SortedBytesMap<Uint8Array>>();
  readonly intervalMs: number;
  constructor(intervalMs: number) {
    this.intervalMs = intervalMs;
  }
  get(t: number, create: boolean): SortedBytesMap<Uint8Array> | undefined {
    const id = segmentId(t, this.intervalMs);
    let s = this.segments.get(id);
    if (s === undefined && create) {
      s = new SortedBytesMap();
      this.segments.set(id, s);
    }
    return s;
  }
  /** Segments that may hold times in [from, to], ascending. */
  between(from: number, to: number): SortedBytesMap<Uint8Array>[] {
    const lo = segmentId(from, this.intervalMs);
    const hi = segmentId(to, this.intervalMs);
    const ids = [...this.segments.keys()].filter((id) => id >= lo && id <= hi).sort((a, b) => a - b);
    return ids.map((id) => this.segments.get(id)!);
  }
  /** Drops segments whose every time is <= cutoff. */
  dropThrough(cutoff: number): void {
    for (const id of this.segments.keys()) {
      if ((id + 1) * this.intervalMs - 1 <= cutoff) this.segments.delete(id);
    }
  }
  count(): number {
    let n = 0;
    for (const s of this.segments.values()) n += s.size;
    return n;
  }
}

export interface WindowStoreOptions {
  readonly windowSizeMs: number;
  readonly retentionMs: number;
  /** Keep every put (stream-stream join buffers) instead of overwriting per (key, window). */
  readonly retainDuplicates?: boolean;
  /** Default max(retention / 2, 60 s), as Kafka Streams. */
  readonly segmentIntervalMs?: number;
}

export function validateWindowOptions(name: string, o: WindowStoreOptions): void {
  if (!(o.windowSizeMs > 0) || !Number.isSafeInteger(o.windowSizeMs)) {
    throw new StateStoreError(
      "STORE_INVALID_ARGUMENT",
      name,
      `windowSizeMs must be a positive integer, got ${o.windowSizeMs}`,
    );
  }
  if (!(o.retentionMs >= o.windowSizeMs) || !Number.isSafeInteger(o.retentionMs)) {
    throw new StateStoreError(
      "STORE_INVALID_ARGUMENT",
      name,
      `retentionMs (${o.retentionMs}) must be an integer >= windowSizeMs (${o.windowSizeMs})`,
    );
  }
}

export function compareWindowed(
  a: KeyValue<WindowedKey<Bytes>, Bytes>,
  b: KeyValue<WindowedKey<Bytes>, Bytes>,
): number {
  return a.key.windowStart - b.key.windowStart || compareBytes(a.key.key, b.key.key);
}

export class InMemoryWindowStore extends MemoryStoreBase implements WindowBytesStore {
  readonly windowSizeMs: number;
  readonly retentionMs: number;
  readonly retainDuplicates: boolean;
  private readonly segments: MemorySegments;
  private observedStreamTime = Number.NEGATIVE_INFINITY;
  private seq = 0;

  constructor(name: string, options: WindowStoreOptions) {
    super(name);
    validateWindowOptions(name, options);
    this.windowSizeMs = options.windowSizeMs;
    this.retentionMs = options.retentionMs;
    this.retainDuplicates = options.retainDuplicates ?? false;
    this.segments = new MemorySegments(
      options.segmentIntervalMs ?? defaultSegmentIntervalMs(this.retentionMs),
    );
  }

  private get cutoff(): number {
    return this.observedStreamTime - this.retentionMs;
  }

  put(key: Bytes, value: Bytes | null, windowStart: number): void {
    this.checkOpen();
    if (this.retainDuplicates && value === null) return; // Kafka Streams: no deletes with duplicates
    if (windowStart > this.observedStreamTime) {
      this.observedStreamTime = windowStart;
      this.segments.dropThrough(this.cutoff);
    }
    if (windowStart <= this.cutoff) return; // expired: dropped, as Kafka Streams does
    if (value === null) {
      this.segments.get(windowStart, false)?.delete(windowEntryKey(key, windowStart, undefined));
      return;
    }
    const seq = this.retainDuplicates ? (this.seq = (this.seq + 1) >>> 0) : undefined;
    this.segments.get(windowStart, true)!.set(windowEntryKey(key, windowStart, seq), copyBytes(value));
  }

  fetch(key: Bytes, windowStart: number): Bytes | undefined {
    this.checkOpen();
    if (windowStart <= this.cutoff) return undefined;
    const seg = this.segments.get(windowStart, false);
    if (seg === undefined) return undefined;
    if (!this.retainDuplicates) return seg.get(windowEntryKey(key, windowStart, undefined));
    const r = seg.range(windowEntryKey(key, windowStart, 0), windowEntryKey(key, windowStart, MAX_SEQ));
    return r[0]?.value;
  }

  fetchRange(key: Bytes, timeFrom: number, timeTo: number): KeyValue<number, Bytes>[] {
    this.checkOpen();
    const from = Math.max(timeFrom, this.cutoff + 1, Number.MIN_SAFE_INTEGER);
    timeTo = Math.min(timeTo, Number.MAX_SAFE_INTEGER);
    const out: KeyValue<number, Bytes>[] = [];
    if (from > timeTo) return out;
    const lo = windowEntryKey(key, from, this.retainDuplicates ? 0 : undefined);
    const hi = windowEntryKey(key, timeTo, this.retainDuplicates ? MAX_SEQ : undefined);
    const len = key.byteLength + windowSuffixLen(this.retainDuplicates);
    for (const seg of this.segments.between(from, timeTo)) {
      for (const e of seg.range(lo, hi)) {
        if (e.key.byteLength !== len) continue;
        out.push({ key: parseWindowEntryKey(e.key, this.retainDuplicates).windowStart, value: e.value });
      }
    }
    return out;
  }

  fetchAll(timeFrom: number, timeTo: number): KeyValue<WindowedKey<Bytes>, Bytes>[] {
    this.checkOpen();
    const from = Math.max(timeFrom, this.cutoff + 1, Number.MIN_SAFE_INTEGER);
    timeTo = Math.min(timeTo, Number.MAX_SAFE_INTEGER);
    const out: KeyValue<WindowedKey<Bytes>, Bytes>[] = [];
    if (from > timeTo) return out;
    for (const seg of this.segments.between(from, timeTo)) {
      const part: KeyValue<WindowedKey<Bytes>, Bytes>[] = [];
      for (const e of seg.range(undefined, undefined)) {
        const { key, windowStart } = parseWindowEntryKey(e.key, this.retainDuplicates);
        if (windowStart < from || windowStart > timeTo) continue;
        part.push({ key: { key, windowStart, windowEnd: windowStart + this.windowSizeMs }, value: e.value });
      }
      part.sort(compareWindowed); // stable: duplicates stay in insertion (seq) order
      for (const kv of part) out.push(kv);
    }
    return out;
  }

  all(): KeyValue<WindowedKey<Bytes>, Bytes>[] {
    return this.fetchAll(Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
  }

  expire(streamTime: number): void {
    if (streamTime > this.observedStreamTime) {
      this.observedStreamTime = streamTime;
      this.segments.dropThrough(this.cutoff);
    }
  }

  /** Entries held, including expired ones not yet dropped with their segment. */
  approximateNumEntries(): number {
    return this.segments.count();
  }

  clear(): void {
    this.segments.segments.clear();
    this.observedStreamTime = Number.NEGATIVE_INFINITY;
  }
}

export interface SessionStoreOptions {
  readonly retentionMs: number;
  readonly segmentIntervalMs?: number;
}

export function compareSessions(
  a: KeyValue<WindowedKey<Bytes>, Bytes>,
  b: KeyValue<WindowedKey<Bytes>, Bytes>,
): number {
  return (
    compareBytes(a.key.key, b.key.key) ||
    a.key.windowEnd - b.key.windowEnd ||
    a.key.windowStart - b.key.windowStart
  );
}

export class InMemorySessionStore extends MemoryStoreBase implements SessionBytesStore {
  readonly retentionMs: number;
  // Segmented by session end, like the lmdb store.
  private readonly segments: MemorySegments;
  private observedStreamTime = Number.NEGATIVE_INFINITY;

  constructor(name: string, options: SessionStoreOptions) {
    super(name);
    if (!(options.retentionMs >= 0) || !Number.isSafeInteger(options.retentionMs)) {
      throw new StateStoreError(
        "STORE_INVALID_ARGUMENT",
        name,
        `retentionMs must be a non-negative integer, got ${options.retentionMs}`,
      );
    }
    this.retentionMs = options.retentionMs;
    this.segments = new MemorySegments(
      options.segmentIntervalMs ?? defaultSegmentIntervalMs(this.retentionMs),
    );
  }

  private get cutoff(): number {
    return this.observedStreamTime - this.retentionMs;
  }

  findSessions(
    key: Bytes,
    earliestSessionEnd: number,
    latestSessionStart: number,
  ): KeyValue<WindowedKey<Bytes>, Bytes>[] {
    this.checkOpen();
    const fromEnd = Math.max(earliestSessionEnd, this.cutoff + 1, Number.MIN_SAFE_INTEGER);
    latestSessionStart = Math.min(latestSessionStart, Number.MAX_SAFE_INTEGER);
    const out: KeyValue<WindowedKey<Bytes>, Bytes>[] = [];
    const lo = sessionEntryKey(key, fromEnd, Number.MIN_SAFE_INTEGER);
    const hi = sessionEntryKey(key, Number.MAX_SAFE_INTEGER, latestSessionStart);
    const len = key.byteLength + 16;
    for (const seg of this.segments.between(fromEnd, Number.MAX_SAFE_INTEGER)) {
      for (const e of seg.range(lo, hi)) {
        if (e.key.byteLength !== len) continue;
        const s = parseSessionEntryKey(e.key);
        if (s.start > latestSessionStart) continue;
        out.push({ key: { key: s.key, windowStart: s.start, windowEnd: s.end }, value: e.value });
      }
    }
    return out;
  }

  put(session: WindowedKey<Bytes>, value: Bytes | null): void {
    this.checkOpen();
    if (value === null) {
      this.remove(session);
      return;
    }
    if (session.windowEnd > this.observedStreamTime) {
      this.observedStreamTime = session.windowEnd;
      this.segments.dropThrough(this.cutoff);
    }
    if (session.windowEnd <= this.cutoff) return;
    this.segments
      .get(session.windowEnd, true)!
      .set(sessionEntryKey(session.key, session.windowEnd, session.windowStart), copyBytes(value));
  }

  remove(session: WindowedKey<Bytes>): void {
    this.checkOpen();
    this.segments
      .get(session.windowEnd, false)
      ?.delete(sessionEntryKey(session.key, session.windowEnd, session.windowStart));
  }

  fetchSession(key: Bytes, start: number, end: number): Bytes | undefined {
    this.checkOpen();
    if (end <= this.cutoff) return undefined;
    return this.segments.get(end, false)?.get(sessionEntryKey(key, end, start));
  }

  /** Every live session, ordered by key, then end, then start. */
  all(): KeyValue<WindowedKey<Bytes>, Bytes>[] {
    this.checkOpen();
    const out: KeyValue<WindowedKey<Bytes>, Bytes>[] = [];
    for (const seg of this.segments.segments.values()) {
      for (const e of seg.values()) {
        const s = parseSessionEntryKey(e.key);
        if (s.end <= this.cutoff) continue;
        out.push({ key: { key: s.key, windowStart: s.start, windowEnd: s.end }, value: e.value });
      }
    }
    return out.sort(compareSessions);
  }

  expire(streamTime: number): void {
    if (streamTime > this.observedStreamTime) {
      this.observedStreamTime = streamTime;
      this.segments.dropThrough(this.cutoff);
    }
  }

  approximateNumEntries(): number {
    return this.segments.count();
  }

  clear(): void {
    this.segments.segments.clear();
    this.observedStreamTime = Number.NEGATIVE_INFINITY;
  }
}

export function inMemoryKeyValueStore(name: string): InMemoryKeyValueStore {
  return new InMemoryKeyValueStore(name);
}

export function inMemoryWindowStore(name: string, options: WindowStoreOptions): InMemoryWindowStore {
  return new InMemoryWindowStore(name, options);
}

export function inMemorySessionStore(name: string, options: SessionStoreOptions): InMemorySessionStore {
  return new InMemorySessionStore(name, options);
}

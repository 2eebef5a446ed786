// Store logic shared by the in-memory and lmdb implementations: each store is built on
// OrderedBytes (key-value) or a SegmentSet (window, session), so both implementations have
// the same semantics and orderings by construction.
import { compareBytes, readTimestamp } from "./bytes.ts";
import { StateStoreError } from "./errors.ts";
import {
  MAX_SEQ,
  parseSessionEntryKey,
  parseWindowEntryKey,
  segmentId,
  sessionEntryKey,
  windowEntryKey,
  windowSuffixLen,
} from "./layout.ts";
import type { OrderedBytes, SegmentSet } from "./ordered.ts";
import type {
  Bytes,
  KeyValue,
  KeyValueBytesStore,
  SessionBytesStore,
  WindowBytesStore,
  WindowedKey,
} from "./types.ts";

/** What differs between implementations: durability and teardown. */
export interface StoreBackend {
  readonly persistent: boolean;
  flush(): void | Promise<void>;
  close(): void | Promise<void>;
  /** Persisted observed stream time of a windowed store (lmdb keeps it across restarts). */
  loadStreamTime?(): number | undefined;
  saveStreamTime?(t: number): void;
  /** Runs a restore batch atomically (one lmdb transaction), recording the checkpoint with it. */
  restore(fn: () => void, nextOffset: number | undefined): void;
  /** Next changelog offset to restore from; undefined = from the beginning. */
  checkpoint(): number | undefined;
}

/** Changelog record of a store: for window/session stores the key is the entry key (see layout.ts). */
export interface ChangelogRecord {
  readonly key: Bytes;
  /** null = tombstone */
  readonly value: Bytes | null;
}

/** A window store that reports writes by entry key (for change logging) and restores from a changelog. */
export interface EntryLoggedWindowStore extends WindowBytesStore {
  readonly retainDuplicates: boolean;
  readonly streamTime: number;
  onEntryWrite: ((entryKey: Uint8Array, value: Bytes | null, windowStart: number) => void) | undefined;
  restoreBatch(records: Iterable<ChangelogRecord>, nextOffset?: number): void;
  checkpoint(): number | undefined;
  approximateNumEntries(): number;
}

export function memoryBackend(): StoreBackend {
  let restored: number | undefined;
  return {
    persistent: false,
    flush() {},
    close() {},
    restore(fn, nextOffset) {
      fn();
      if (nextOffset !== undefined) restored = nextOffset;
    },
    checkpoint: () => restored,
  };
}

abstract class StoreBase {
  readonly name: string;
  protected readonly backend: StoreBackend;
  protected closed = false;
  constructor(name: string, backend: StoreBackend) {
    this.name = name;
    this.backend = backend;
  }
  get persistent(): boolean {
    return this.backend.persistent;
  }
  get isOpen(): boolean {
    return !this.closed;
  }
  protected checkOpen(): void {
    if (this.closed) throw new StateStoreError("STORE_CLOSED", this.name, "store is closed");
  }
  flush(): void | Promise<void> {
    this.checkOpen();
    return this.backend.flush();
  }
  /**
   * Applies changelog records in bulk (one lmdb transaction for persistent stores) and
   * records `nextOffset` (last record's offset + 1) as the store's checkpoint atomically.
   * Records bypass change logging and caching: call it on the inner store.
   */
  restoreBatch(records: Iterable<ChangelogRecord>, nextOffset?: number): void {
    this.checkOpen();
    this.backend.restore(() => {
      for (const r of records) this.applyChangelogRecord(r.key, r.value);
    }, nextOffset);
  }
  /** Next changelog offset to restore from (undefined: from the beginning). */
  checkpoint(): number | undefined {
    return this.backend.checkpoint();
  }
  protected abstract applyChangelogRecord(key: Bytes, value: Bytes | null): void;
  close(): void | Promise<void> {
    if (this.closed) return;
    this.closed = true;
    return this.backend.close();
  }
}

export class KeyValueStore extends StoreBase implements KeyValueBytesStore {
  protected readonly data: OrderedBytes;
  constructor(name: string, data: OrderedBytes, backend: StoreBackend) {
    super(name, backend);
    this.data = data;
  }

  get(key: Bytes): Bytes | undefined {
    this.checkOpen();
    return this.data.get(key);
  }

  put(key: Bytes, value: Bytes | null): void {
    this.checkOpen();
    this.data.put(key, value);
  }

  /** As put, keeping `key` and `value` without a copy (see KeyValueBytesStore.putOwned). */
  putOwned(key: Bytes, value: Bytes | null): void {
    this.checkOpen();
    this.data.put(key, value, true, true);
  }

  putIfAbsent(key: Bytes, value: Bytes): Bytes | undefined {
    this.checkOpen();
    const old = this.data.get(key);
    if (old === undefined) this.data.put(key, value);
    return old;
  }

  delete(key: Bytes): Bytes | undefined {
    this.checkOpen();
    const old = this.data.get(key);
    if (old !== undefined) this.data.put(key, null);
    return old;
  }

  range(from: Bytes | undefined, to: Bytes | undefined, limit?: number): KeyValue<Bytes, Bytes>[] {
    this.checkOpen();
    return this.data.range(from, to, false, limit);
  }

  reverseRange(from: Bytes | undefined, to: Bytes | undefined): KeyValue<Bytes, Bytes>[] {
    this.checkOpen();
    return this.data.range(from, to, true);
  }

  all(): KeyValue<Bytes, Bytes>[] {
    return this.range(undefined, undefined);
  }

  approximateNumEntries(): number {
    this.checkOpen();
    return this.data.size();
  }

  clear(): void {
    this.checkOpen();
    this.data.clear();
  }

  protected applyChangelogRecord(key: Bytes, value: Bytes | null): void {
    this.data.put(key, value);
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

export function validateSessionOptions(name: string, o: SessionStoreOptions): void {
  if (!(o.retentionMs >= 0) || !Number.isSafeInteger(o.retentionMs)) {
    throw new StateStoreError(
      "STORE_INVALID_ARGUMENT",
      name,
      `retentionMs must be a non-negative integer, got ${o.retentionMs}`,
    );
  }
}

function compareWindowed(
  a: KeyValue<WindowedKey<Bytes>, Bytes>,
  b: KeyValue<WindowedKey<Bytes>, Bytes>,
): number {
  return a.key.windowStart - b.key.windowStart || compareBytes(a.key.key, b.key.key);
}

function compareSessions(
  a: KeyValue<WindowedKey<Bytes>, Bytes>,
  b: KeyValue<WindowedKey<Bytes>, Bytes>,
): number {
  return (
    compareBytes(a.key.key, b.key.key) ||
    a.key.windowEnd - b.key.windowEnd ||
    a.key.windowStart - b.key.windowStart
  );
}

const MIN_T = Number.MIN_SAFE_INTEGER;
const MAX_T = Number.MAX_SAFE_INTEGER;

/** Common part of window and session stores: segments, observed stream time and expiry. */
abstract class SegmentedStore extends StoreBase {
  readonly retentionMs: number;
  protected readonly segments: SegmentSet;
  protected observedStreamTime: number;

  constructor(name: string, retentionMs: number, segments: SegmentSet, backend: StoreBackend) {
    super(name, backend);
    this.retentionMs = retentionMs;
    this.segments = segments;
    this.observedStreamTime = backend.loadStreamTime?.() ?? Number.NEGATIVE_INFINITY;
  }

  /** Entries with a time <= cutoff are expired. */
  protected get cutoff(): number {
    return this.observedStreamTime - this.retentionMs;
  }

  protected observe(t: number): void {
    if (t <= this.observedStreamTime) return;
    this.observedStreamTime = t;
    this.backend.saveStreamTime?.(t);
    const cutoff = this.cutoff;
    const interval = this.segments.intervalMs;
    for (const id of this.segments.ids()) {
      if ((id + 1) * interval - 1 > cutoff) break;
      this.segments.drop(id);
    }
  }

  protected segmentFor(t: number, create: boolean): OrderedBytes | undefined {
    return this.segments.get(segmentId(t, this.segments.intervalMs), create);
  }

  /** Live segments that may hold times in [from, to], ascending. */
  protected segmentsBetween(from: number, to: number): OrderedBytes[] {
    const lo = segmentId(from, this.segments.intervalMs);
    const hi = segmentId(to, this.segments.intervalMs);
    const out: OrderedBytes[] = [];
    for (const id of this.segments.ids()) {
      if (id < lo) continue;
      if (id > hi) break;
      const s = this.segments.get(id, false);
      if (s !== undefined) out.push(s);
    }
    return out;
  }

  expire(streamTime: number): void {
    this.checkOpen();
    this.observe(streamTime);
  }

  /** Entries held, including expired ones not yet dropped with their segment. */
  approximateNumEntries(): number {
    this.checkOpen();
    let n = 0;
    for (const id of this.segments.ids()) n += this.segments.get(id, false)?.size() ?? 0;
    return n;
  }

  /** Stream time seen by the store (max window start / session end put, or expire()). */
  get streamTime(): number {
    return this.observedStreamTime;
  }

  clear(): void {
    this.checkOpen();
    this.segments.dropAll();
    this.observedStreamTime = Number.NEGATIVE_INFINITY;
    this.backend.saveStreamTime?.(this.observedStreamTime);
  }
}

export class WindowStore extends SegmentedStore implements EntryLoggedWindowStore {
  readonly windowSizeMs: number;
  readonly retainDuplicates: boolean;
  private seq = 0;

  constructor(name: string, options: WindowStoreOptions, segments: SegmentSet, backend: StoreBackend) {
    validateWindowOptions(name, options);
    super(name, options.retentionMs, segments, backend);
    this.windowSizeMs = options.windowSizeMs;
    this.retainDuplicates = options.retainDuplicates ?? false;
  }

  put(key: Bytes, value: Bytes | null, windowStart: number): void {
    this.putEntry(key, value, windowStart, false);
  }

  /** As put, keeping `value` without a copy (see KeyValueBytesStore.putOwned). */
  putOwned(key: Bytes, value: Bytes | null, windowStart: number): void {
    this.putEntry(key, value, windowStart, true);
  }

  private putEntry(key: Bytes, value: Bytes | null, windowStart: number, valueOwned: boolean): void {
    this.checkOpen();
    if (this.retainDuplicates && value === null) return; // Kafka Streams: no deletes with duplicates
    this.observe(windowStart);
    if (windowStart <= this.cutoff) return; // expired: dropped, as Kafka Streams does
    if (value === null) {
      const entryKey = windowEntryKey(key, windowStart, undefined);
      this.segmentFor(windowStart, false)?.put(entryKey, null);
      this.onEntryWrite?.(entryKey, null, windowStart);
      return;
    }
    // Duplicates need distinct keys; the sequence restarts per process, so a put after a
    // restart may land before older duplicates of the same window start (as in Kafka Streams).
    const seq = this.retainDuplicates ? (this.seq = (this.seq + 1) >>> 0) : undefined;
    const entryKey = windowEntryKey(key, windowStart, seq);
    this.segmentFor(windowStart, true)!.put(entryKey, value, true, valueOwned);
    this.onEntryWrite?.(entryKey, value, windowStart);
  }

  fetch(key: Bytes, windowStart: number): Bytes | undefined {
    this.checkOpen();
    if (windowStart <= this.cutoff) return undefined;
    const seg = this.segmentFor(windowStart, false);
    if (seg === undefined) return undefined;
    if (!this.retainDuplicates) return seg.get(windowEntryKey(key, windowStart, undefined));
    return seg.range(windowEntryKey(key, windowStart, 0), windowEntryKey(key, windowStart, MAX_SEQ), false)[0]
      ?.value;
  }

  fetchRange(key: Bytes, timeFrom: number, timeTo: number): KeyValue<number, Bytes>[] {
    this.checkOpen();
    const from = Math.max(timeFrom, this.cutoff + 1, MIN_T);
    const to = Math.min(timeTo, MAX_T);
    const out: KeyValue<number, Bytes>[] = [];
    if (from > to) return out;
    const lo = windowEntryKey(key, from, this.retainDuplicates ? 0 : undefined);
    const hi = windowEntryKey(key, to, this.retainDuplicates ? MAX_SEQ : undefined);
    const len = key.byteLength + windowSuffixLen(this.retainDuplicates);
    const tsAt = key.byteLength;
    for (const seg of this.segmentsBetween(from, to)) {
      for (const e of seg.range(lo, hi, false)) {
        if (e.key.byteLength !== len) continue; // a longer key sharing the prefix
        out.push({ key: readTimestamp(e.key, tsAt), value: e.value });
      }
    }
    return out;
  }

  /** Windows starting in [timeFrom, timeTo], ordered by start, then key, then insertion. */
  fetchAll(timeFrom: number, timeTo: number): KeyValue<WindowedKey<Bytes>, Bytes>[] {
    this.checkOpen();
    const from = Math.max(timeFrom, this.cutoff + 1, MIN_T);
    const to = Math.min(timeTo, MAX_T);
    const out: KeyValue<WindowedKey<Bytes>, Bytes>[] = [];
    if (from > to) return out;
    for (const seg of this.segmentsBetween(from, to)) {
      const part: KeyValue<WindowedKey<Bytes>, Bytes>[] = [];
      for (const e of seg.range(undefined, undefined, false)) {
        const { key, windowStart } = parseWindowEntryKey(e.key, this.retainDuplicates);
        if (windowStart < from || windowStart > to) continue;
        part.push({ key: { key, windowStart, windowEnd: windowStart + this.windowSizeMs }, value: e.value });
      }
      part.sort(compareWindowed); // stable: duplicates stay in sequence order
      for (const kv of part) out.push(kv);
    }
    return out;
  }

  all(): KeyValue<WindowedKey<Bytes>, Bytes>[] {
    return this.fetchAll(MIN_T, MAX_T);
  }

  /** Listener of every effective write, by entry key (change logging needs the duplicate sequence). */
  onEntryWrite: ((entryKey: Uint8Array, value: Bytes | null, windowStart: number) => void) | undefined;

  protected applyChangelogRecord(entryKey: Bytes, value: Bytes | null): void {
    const { windowStart } = parseWindowEntryKey(entryKey, this.retainDuplicates);
    if (this.retainDuplicates) {
      // Continue after restored sequence numbers so new duplicates never overwrite them.
      const seq = new DataView(entryKey.buffer, entryKey.byteOffset, entryKey.byteLength).getUint32(
        entryKey.byteLength - 4,
      );
      if (seq > this.seq) this.seq = seq;
    }
    this.observe(windowStart);
    if (windowStart <= this.cutoff) return;
    this.segmentFor(windowStart, value !== null)?.put(entryKey, value);
  }
}

export interface SessionStoreOptions {
  readonly retentionMs: number;
  readonly segmentIntervalMs?: number;
}

export class SessionStore extends SegmentedStore implements SessionBytesStore {
  constructor(name: string, options: SessionStoreOptions, segments: SegmentSet, backend: StoreBackend) {
    validateSessionOptions(name, options);
    super(name, options.retentionMs, segments, backend);
  }

  /** Sessions of `key` with end >= earliestSessionEnd and start <= latestSessionStart, by end then start. */
  findSessions(
    key: Bytes,
    earliestSessionEnd: number,
    latestSessionStart: number,
  ): KeyValue<WindowedKey<Bytes>, Bytes>[] {
    this.checkOpen();
    const fromEnd = Math.max(earliestSessionEnd, this.cutoff + 1, MIN_T);
    const latestStart = Math.min(latestSessionStart, MAX_T);
    const out: KeyValue<WindowedKey<Bytes>, Bytes>[] = [];
    const lo = sessionEntryKey(key, fromEnd, MIN_T);
    const hi = sessionEntryKey(key, MAX_T, latestStart);
    const len = key.byteLength + 16;
    for (const seg of this.segmentsBetween(fromEnd, MAX_T)) {
      for (const e of seg.range(lo, hi, false)) {
        if (e.key.byteLength !== len) continue;
        const s = parseSessionEntryKey(e.key);
        if (s.start > latestStart) continue;
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
    this.observe(session.windowEnd);
    if (session.windowEnd <= this.cutoff) return;
    this.segmentFor(session.windowEnd, true)!.put(
      sessionEntryKey(session.key, session.windowEnd, session.windowStart),
      value,
      true,
    );
  }

  remove(session: WindowedKey<Bytes>): void {
    this.checkOpen();
    this.segmentFor(session.windowEnd, false)?.put(
      sessionEntryKey(session.key, session.windowEnd, session.windowStart),
      null,
    );
  }

  fetchSession(key: Bytes, start: number, end: number): Bytes | undefined {
    this.checkOpen();
    if (end <= this.cutoff) return undefined;
    return this.segmentFor(end, false)?.get(sessionEntryKey(key, end, start));
  }

  /** Every live session, ordered by key, then end, then start. */
  all(): KeyValue<WindowedKey<Bytes>, Bytes>[] {
    this.checkOpen();
    const out: KeyValue<WindowedKey<Bytes>, Bytes>[] = [];
    for (const id of this.segments.ids()) {
      for (const e of this.segments.get(id, false)?.range(undefined, undefined, false) ?? []) {
        const s = parseSessionEntryKey(e.key);
        if (s.end <= this.cutoff) continue;
        out.push({ key: { key: s.key, windowStart: s.start, windowEnd: s.end }, value: e.value });
      }
    }
    return out.sort(compareSessions);
  }

  protected applyChangelogRecord(entryKey: Bytes, value: Bytes | null): void {
    const { end } = parseSessionEntryKey(entryKey);
    this.observe(end);
    if (end <= this.cutoff) return;
    this.segmentFor(end, value !== null)?.put(entryKey, value);
  }
}

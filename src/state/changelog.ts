// Change logging: wrappers that report every write of a store as a (key, value|null)
// changelog record through a callback. The runtime produces them to the store's changelog
// topic inside its transaction; restoreBatch() on the inner store replays them.
// Window and session changelog keys are the stores' entry keys (layout.ts), as in Kafka
// Streams: [key][windowStart][seq] and [key][end][start].
import { copyBytes, copyBytesPooled } from "./bytes.ts";
import { sessionEntryKey } from "./layout.ts";
import type { EntryLoggedWindowStore } from "./stores.ts";
import type {
  Bytes,
  KeyValue,
  KeyValueBytesStore,
  SessionBytesStore,
  WindowBytesStore,
  WindowedKey,
} from "./types.ts";

export type ChangeLogger = (key: Uint8Array, value: Uint8Array | null) => void;

/** Kafka Streams' name for a store's changelog topic. */
export function changelogTopicName(applicationId: string, storeName: string): string {
  return `${applicationId}-${storeName}-changelog`;
}

export class ChangeLoggingKeyValueStore implements KeyValueBytesStore {
  readonly inner: KeyValueBytesStore;
  private readonly log: ChangeLogger;
  /**
   * Copies of a caller's bytes, one serving both the store and the log (nobody writes to it).
   * A persistent (lmdb) store keeps its copies only until its next flush: pooled copies.
   */
  private readonly copy: (b: Bytes) => Uint8Array;
  constructor(inner: KeyValueBytesStore, log: ChangeLogger) {
    this.inner = inner;
    this.log = log;
    this.copy = inner.persistent ? copyBytesPooled : copyBytes;
  }
  get name(): string {
    return this.inner.name;
  }
  get persistent(): boolean {
    return this.inner.persistent;
  }
  get(key: Bytes): Bytes | undefined {
    return this.inner.get(key);
  }
  put(key: Bytes, value: Bytes | null): void {
    const k = this.copy(key);
    const v = value === null ? null : this.copy(value);
    if (this.inner.putOwned !== undefined) this.inner.putOwned(k, v);
    else this.inner.put(k, v);
    this.log(k, v);
  }
  /** As put, keeping `key` and `value` (fresh arrays nobody writes to) in the store and the log uncopied. */
  putOwned(key: Bytes, value: Bytes | null): void {
    if (this.inner.putOwned !== undefined) this.inner.putOwned(key, value);
    else this.inner.put(key, value);
    this.log(key, value);
  }
  putIfAbsent(key: Bytes, value: Bytes): Bytes | undefined {
    const old = this.inner.putIfAbsent(key, value);
    if (old === undefined) this.log(this.copy(key), this.copy(value));
    return old;
  }
  /** Logs a tombstone only when the key was there: deleting an absent key changes nothing to restore. */
  delete(key: Bytes): Bytes | undefined {
    const old = this.inner.delete(key);
    if (old !== undefined) this.log(this.copy(key), null);
    return old;
  }
  range(from: Bytes | undefined, to: Bytes | undefined, limit?: number): Iterable<KeyValue<Bytes, Bytes>> {
    return this.inner.range(from, to, limit);
  }
  reverseRange(from: Bytes | undefined, to: Bytes | undefined): Iterable<KeyValue<Bytes, Bytes>> {
    return this.inner.reverseRange(from, to);
  }
  all(): Iterable<KeyValue<Bytes, Bytes>> {
    return this.inner.all();
  }
  approximateNumEntries(): number {
    return this.inner.approximateNumEntries();
  }
  /** Not logged: clear() is for restores, which rebuild from the changelog. */
  clear(): void | Promise<void> {
    return this.inner.clear();
  }
  flush(): void | Promise<void> {
    return this.inner.flush();
  }
  close(): void | Promise<void> {
    return this.inner.close();
  }
}

/** Logs by entry key, so duplicates (join buffers) keep their sequence number in the changelog. */
export class ChangeLoggingWindowStore implements WindowBytesStore {
  readonly inner: EntryLoggedWindowStore;
  constructor(inner: EntryLoggedWindowStore, log: ChangeLogger) {
    this.inner = inner;
    if (inner.onEntryWrite !== undefined) {
      throw new TypeError(`window store '${inner.name}' already has a change logger`);
    }
    inner.onEntryWrite = (entryKey, value) => log(entryKey, value === null ? null : copyBytes(value));
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
    this.inner.put(key, value, windowStart);
  }
  fetch(key: Bytes, windowStart: number): Bytes | undefined {
    return this.inner.fetch(key, windowStart);
  }
  fetchRange(key: Bytes, timeFrom: number, timeTo: number): Iterable<KeyValue<number, Bytes>> {
    return this.inner.fetchRange(key, timeFrom, timeTo);
  }
  fetchAll(timeFrom: number, timeTo: number): Iterable<KeyValue<WindowedKey<Bytes>, Bytes>> {
    return this.inner.fetchAll(timeFrom, timeTo);
  }
  all(): Iterable<KeyValue<WindowedKey<Bytes>, Bytes>> {
    return this.inner.all();
  }
  expire(streamTime: number): void {
    this.inner.expire(streamTime);
  }
  clear(): void | Promise<void> {
    return this.inner.clear();
  }
  flush(): void | Promise<void> {
    return this.inner.flush();
  }
  close(): void | Promise<void> {
    this.inner.onEntryWrite = undefined;
    return this.inner.close();
  }
}

export class ChangeLoggingSessionStore implements SessionBytesStore {
  readonly inner: SessionBytesStore;
  private readonly log: ChangeLogger;
  constructor(inner: SessionBytesStore, log: ChangeLogger) {
    this.inner = inner;
    this.log = log;
  }
  get name(): string {
    return this.inner.name;
  }
  get persistent(): boolean {
    return this.inner.persistent;
  }
  get retentionMs(): number {
    return this.inner.retentionMs;
  }
  findSessions(
    key: Bytes,
    earliestSessionEnd: number,
    latestSessionStart: number,
  ): Iterable<KeyValue<WindowedKey<Bytes>, Bytes>> {
    return this.inner.findSessions(key, earliestSessionEnd, latestSessionStart);
  }
  put(session: WindowedKey<Bytes>, value: Bytes | null): void {
    this.inner.put(session, value);
    this.log(
      sessionEntryKey(session.key, session.windowEnd, session.windowStart),
      value === null ? null : copyBytes(value),
    );
  }
  remove(session: WindowedKey<Bytes>): void {
    this.inner.remove(session);
    this.log(sessionEntryKey(session.key, session.windowEnd, session.windowStart), null);
  }
  fetchSession(key: Bytes, start: number, end: number): Bytes | undefined {
    return this.inner.fetchSession(key, start, end);
  }
  all(): Iterable<KeyValue<WindowedKey<Bytes>, Bytes>> {
    return this.inner.all();
  }
  expire(streamTime: number): void {
    this.inner.expire(streamTime);
  }
  clear(): void | Promise<void> {
    return this.inner.clear();
  }
  flush(): void | Promise<void> {
    return this.inner.flush();
  }
  close(): void | Promise<void> {
    return this.inner.close();
  }
}

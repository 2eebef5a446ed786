// Change-logging wrappers: every write to a store is also sent to the store's changelog topic
// `<appId>-<store>-changelog` (partition = task partition) through the task's record collector,
// so exactly-once commits it atomically with the outputs. Restore decodes the same layout.
import type {
  Bytes,
  EntryLoggedWindowStore,
  KeyValueBytesStore,
  SessionBytesStore,
  WindowBytesStore,
} from "../../state/index.ts";
import { ChangeLoggingKeyValueStore, ChangeLoggingSessionStore, readTimestamp } from "../../state/index.ts";
import type { Headers } from "../types.ts";
import type { TaskContext } from "./context.ts";

const NO_HEADERS: Headers = Object.freeze([]) as Headers;

/**
 * The state layer's change-logging key-value store, logging to the store's changelog topic
 * through the task's collector (with the record's timestamp, into the task's partition).
 */
export class LoggedKeyValueStore extends ChangeLoggingKeyValueStore {
  constructor(inner: KeyValueBytesStore, topic: string, partition: number, ctx: TaskContext) {
    super(inner, (key, value) => ctx.collector.send(topic, key, value, ctx.timestamp, NO_HEADERS, partition));
  }
  /** No-op: local durability is the runtime's (one lmdb flush per commit, after the transaction). */
  override flush(): void {}
}

/** Changelog key of a window store entry: key bytes + 8-byte window start (+ 4-byte sequence for duplicates). */
export function windowChangelogKey(key: Bytes, windowStart: number, seq: number | undefined): Uint8Array {
  const n = key.byteLength;
  const out = new Uint8Array(n + 8 + (seq === undefined ? 0 : 4));
  out.set(key, 0);
  // Same layout as writeTimestamp (sign-biased big-endian), without a DataView per call.
  const hi = Math.floor(windowStart / 4294967296);
  const lo = windowStart - hi * 4294967296;
  const h = (hi + 2147483648) >>> 0;
  out[n] = h >>> 24;
  out[n + 1] = (h >>> 16) & 255;
  out[n + 2] = (h >>> 8) & 255;
  out[n + 3] = h & 255;
  out[n + 4] = lo >>> 24;
  out[n + 5] = (lo >>> 16) & 255;
  out[n + 6] = (lo >>> 8) & 255;
  out[n + 7] = lo & 255;
  if (seq !== undefined) {
    out[n + 8] = seq >>> 24;
    out[n + 9] = (seq >>> 16) & 255;
    out[n + 10] = (seq >>> 8) & 255;
    out[n + 11] = seq & 255;
  }
  return out;
}

export function parseWindowChangelogKey(
  b: Uint8Array,
  duplicates: boolean,
): { key: Uint8Array; windowStart: number } {
  const suffix = duplicates ? 12 : 8;
  const n = b.byteLength - suffix;
  return { key: b.subarray(0, n), windowStart: readTimestamp(b, n) };
}

/**
 * Change logging of a window store. A store that reports its writes by entry key (the state
 * layer's stores: EntryLoggedWindowStore.onEntryWrite) is logged by those keys, as the state
 * layer's ChangeLoggingWindowStore does: a duplicate's changelog key carries the store's own
 * sequence, which continues after restored ones. (A sequence of the logger's own restarted at
 * 0 with the process, so after a restart a new duplicate could take the changelog key of an
 * older one, and a later restore lost the older one.) Other stores are logged per put.
 */
export class LoggedWindowStore implements WindowBytesStore {
  readonly inner: WindowBytesStore;
  private readonly topic: string;
  private readonly partition: number;
  private readonly ctx: TaskContext;
  private readonly duplicates: boolean;
  /** The inner store reports its writes by entry key (see the class comment). */
  private readonly byEntry: boolean;
  private seq = 0;
  constructor(
    inner: WindowBytesStore,
    topic: string,
    partition: number,
    ctx: TaskContext,
    duplicates: boolean,
  ) {
    this.inner = inner;
    this.topic = topic;
    this.partition = partition;
    this.ctx = ctx;
    this.duplicates = duplicates;
    const entryLogged = inner as Partial<EntryLoggedWindowStore>;
    this.byEntry = "onEntryWrite" in inner && typeof entryLogged.restoreBatch === "function";
    if (this.byEntry) {
      if (entryLogged.onEntryWrite !== undefined) {
        throw new TypeError(`window store '${inner.name}' already has a change logger`);
      }
      entryLogged.onEntryWrite = (entryKey, value) => {
        ctx.collector.send(topic, entryKey, value, ctx.timestamp, NO_HEADERS, partition);
      };
    }
  }
  get name() {
    return this.inner.name;
  }
  get persistent() {
    return this.inner.persistent;
  }
  get windowSizeMs() {
    return this.inner.windowSizeMs;
  }
  get retentionMs() {
    return this.inner.retentionMs;
  }
  /** No-op: local durability is the runtime's (one lmdb flush per commit, after the transaction). */
  flush(): void {}
  close() {
    if (this.byEntry) (this.inner as EntryLoggedWindowStore).onEntryWrite = undefined;
    return this.inner.close();
  }
  put(key: Bytes, value: Bytes | null, windowStart: number): void {
    this.inner.put(key, value, windowStart);
    if (!this.byEntry) this.log(key, value, windowStart);
  }
  putOwned(key: Bytes, value: Bytes | null, windowStart: number): void {
    if (this.inner.putOwned !== undefined) this.inner.putOwned(key, value, windowStart);
    else this.inner.put(key, value, windowStart);
    if (!this.byEntry) this.log(key, value, windowStart);
  }
  private log(key: Bytes, value: Bytes | null, windowStart: number): void {
    if (this.duplicates && value === null) return;
    const k = windowChangelogKey(
      key,
      windowStart,
      this.duplicates ? (this.seq = (this.seq + 1) >>> 0) : undefined,
    );
    this.ctx.collector.send(this.topic, k, value, this.ctx.timestamp, NO_HEADERS, this.partition);
  }
  fetch(key: Bytes, windowStart: number) {
    return this.inner.fetch(key, windowStart);
  }
  fetchRange(key: Bytes, from: number, to: number) {
    return this.inner.fetchRange(key, from, to);
  }
  fetchAll(from: number, to: number) {
    return this.inner.fetchAll(from, to);
  }
  all() {
    return this.inner.all();
  }
  expire(t: number) {
    this.inner.expire(t);
  }
  clear() {
    return this.inner.clear();
  }
}

/**
 * The state layer's change-logging session store, logging to the store's changelog topic through
 * the task's collector; its changelog key is the session entry key, [key][end][start].
 */
export class LoggedSessionStore extends ChangeLoggingSessionStore {
  constructor(inner: SessionBytesStore, topic: string, partition: number, ctx: TaskContext) {
    super(inner, (key, value) => ctx.collector.send(topic, key, value, ctx.timestamp, NO_HEADERS, partition));
  }
  /** No-op: local durability is the runtime's (one lmdb flush per commit, after the transaction). */
  override flush(): void {}
}

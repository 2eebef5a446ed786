// In-memory window store specialised for speed (join buffers and windowed aggregations are on
// the hot path): per segment, a Map from the record key to its windows in parallel arrays
// sorted by (window start, sequence). A put appends (event time mostly increases) and a
// fetchRange is one Map lookup plus a binary search: no composite key is built or compared.
// Semantics, orderings and changelog entry keys are those of WindowStore (stores.ts); the
// same contract tests run on both.
import { bytesToKeyString, compareBytes, copyBytes, readTimestamp } from "./bytes.ts";
import { StateStoreError } from "./errors.ts";
import { defaultSegmentIntervalMs, SEQ_LEN, segmentId, TS_LEN, windowEntryKey } from "./layout.ts";
import type { ChangelogRecord, EntryLoggedWindowStore, WindowStoreOptions } from "./stores.ts";
import { validateWindowOptions } from "./stores.ts";
import type { Bytes, KeyValue, WindowedKey } from "./types.ts";

interface KeyWindows {
  readonly key: Uint8Array;
  readonly starts: number[];
  readonly seqs: number[];
  readonly values: Uint8Array[];
}

const MIN_T = Number.MIN_SAFE_INTEGER;
const MAX_T = Number.MAX_SAFE_INTEGER;

/** First index with (starts[i], seqs[i]) >= (start, seq). */
function lowerBound(w: KeyWindows, start: number, seq: number): number {
  let lo = 0;
  let hi = w.starts.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const s = w.starts[mid]!;
    if (s < start || (s === start && w.seqs[mid]! < seq)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export class MemoryWindowStore implements EntryLoggedWindowStore {
  readonly name: string;
  readonly persistent = false;
  readonly windowSizeMs: number;
  readonly retentionMs: number;
  readonly retainDuplicates: boolean;
  onEntryWrite: ((entryKey: Uint8Array, value: Bytes | null, windowStart: number) => void) | undefined;
  private readonly intervalMs: number;
  private readonly segments = new Map<number, Map<string, KeyWindows>>();
  private sortedIds: number[] | undefined;
  private observedStreamTime = Number.NEGATIVE_INFINITY;
  private seq = 0;
  private closed = false;
  private restoredOffset: number | undefined;

  constructor(name: string, options: WindowStoreOptions) {
    validateWindowOptions(name, options);
    this.name = name;
    this.windowSizeMs = options.windowSizeMs;
    this.retentionMs = options.retentionMs;
    this.retainDuplicates = options.retainDuplicates ?? false;
    this.intervalMs = options.segmentIntervalMs ?? defaultSegmentIntervalMs(options.retentionMs);
  }

  private checkOpen(): void {
    if (this.closed) throw new StateStoreError("STORE_CLOSED", this.name, "store is closed");
  }

  get isOpen(): boolean {
    return !this.closed;
  }

  get streamTime(): number {
    return this.observedStreamTime;
  }

  private get cutoff(): number {
    return this.observedStreamTime - this.retentionMs;
  }

  private ids(): number[] {
    if (this.sortedIds === undefined) this.sortedIds = [...this.segments.keys()].sort((a, b) => a - b);
    return this.sortedIds;
  }

  private observe(t: number): void {
    if (t <= this.observedStreamTime) return;
    this.observedStreamTime = t;
    const cutoff = this.cutoff;
    for (const id of this.ids()) {
      if ((id + 1) * this.intervalMs - 1 > cutoff) break;
      this.segments.delete(id);
      this.sortedIds = undefined;
    }
  }

  private windowsOf(key: Bytes, start: number, create: boolean): KeyWindows | undefined {
    const id = segmentId(start, this.intervalMs);
    let seg = this.segments.get(id);
    if (seg === undefined) {
      if (!create) return undefined;
      seg = new Map();
      this.segments.set(id, seg);
      this.sortedIds = undefined;
    }
    const ks = bytesToKeyString(key);
    let w = seg.get(ks);
    if (w === undefined && create) {
      w = { key: copyBytes(key), starts: [], seqs: [], values: [] };
      seg.set(ks, w);
    }
    return w;
  }

  private insert(w: KeyWindows, start: number, seq: number, value: Uint8Array): void {
    const n = w.starts.length;
    if (n === 0 || w.starts[n - 1]! < start || (w.starts[n - 1] === start && w.seqs[n - 1]! < seq)) {
      w.starts.push(start);
      w.seqs.push(seq);
      w.values.push(value);
      return;
    }
    const i = lowerBound(w, start, seq);
    if (w.starts[i] === start && w.seqs[i] === seq) {
      w.values[i] = value;
      return;
    }
    w.starts.splice(i, 0, start);
    w.seqs.splice(i, 0, seq);
    w.values.splice(i, 0, value);
  }

  private remove(key: Bytes, start: number, seq: number): void {
    const w = this.windowsOf(key, start, false);
    if (w === undefined) return;
    const i = lowerBound(w, start, seq);
    if (w.starts[i] !== start || w.seqs[i] !== seq) return;
    w.starts.splice(i, 1);
    w.seqs.splice(i, 1);
    w.values.splice(i, 1);
    if (w.starts.length === 0)
      this.segments.get(segmentId(start, this.intervalMs))?.delete(bytesToKeyString(key));
  }

  put(key: Bytes, value: Bytes | null, windowStart: number): void {
    this.checkOpen();
    if (this.retainDuplicates && value === null) return; // Kafka Streams: no deletes with duplicates
    this.observe(windowStart);
    if (windowStart <= this.cutoff) return; // expired: dropped
    if (value === null) {
      this.remove(key, windowStart, 0);
      this.onEntryWrite?.(windowEntryKey(key, windowStart, undefined), null, windowStart);
      return;
    }
    const seq = this.retainDuplicates ? (this.seq = (this.seq + 1) >>> 0) : 0;
    const v = copyBytes(value);
    this.insert(this.windowsOf(key, windowStart, true)!, windowStart, seq, v);
    this.onEntryWrite?.(
      windowEntryKey(key, windowStart, this.retainDuplicates ? seq : undefined),
      v,
      windowStart,
    );
  }

  fetch(key: Bytes, windowStart: number): Bytes | undefined {
    this.checkOpen();
    if (windowStart <= this.cutoff) return undefined;
    const w = this.windowsOf(key, windowStart, false);
    if (w === undefined) return undefined;
    const i = lowerBound(w, windowStart, 0);
    return w.starts[i] === windowStart ? w.values[i] : undefined;
  }

  fetchRange(key: Bytes, timeFrom: number, timeTo: number): KeyValue<number, Bytes>[] {
    this.checkOpen();
    const from = Math.max(timeFrom, this.cutoff + 1, MIN_T);
    const to = Math.min(timeTo, MAX_T);
    const out: KeyValue<number, Bytes>[] = [];
    if (from > to) return out;
    const lo = segmentId(from, this.intervalMs);
    const hi = segmentId(to, this.intervalMs);
    let ks: string | undefined;
    for (const id of this.ids()) {
      if (id < lo) continue;
      if (id > hi) break;
      ks ??= bytesToKeyString(key);
      const w = this.segments.get(id)!.get(ks);
      if (w === undefined) continue;
      for (let i = lowerBound(w, from, 0); i < w.starts.length; i++) {
        const s = w.starts[i]!;
        if (s > to) break;
        out.push({ key: s, value: w.values[i]! });
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
    const lo = segmentId(from, this.intervalMs);
    const hi = segmentId(to, this.intervalMs);
    for (const id of this.ids()) {
      if (id < lo) continue;
      if (id > hi) break;
      const part: KeyValue<WindowedKey<Bytes>, Bytes>[] = [];
      for (const w of this.segments.get(id)!.values()) {
        for (let i = lowerBound(w, from, 0); i < w.starts.length; i++) {
          const s = w.starts[i]!;
          if (s > to) break;
          part.push({
            key: { key: w.key, windowStart: s, windowEnd: s + this.windowSizeMs },
            value: w.values[i]!,
          });
        }
      }
      part.sort((a, b) => a.key.windowStart - b.key.windowStart || compareBytes(a.key.key, b.key.key));
      for (const kv of part) out.push(kv);
    }
    return out;
  }

  all(): KeyValue<WindowedKey<Bytes>, Bytes>[] {
    return this.fetchAll(MIN_T, MAX_T);
  }

  expire(streamTime: number): void {
    this.checkOpen();
    this.observe(streamTime);
  }

  approximateNumEntries(): number {
    let n = 0;
    for (const seg of this.segments.values()) for (const w of seg.values()) n += w.starts.length;
    return n;
  }

  /** Applies changelog records keyed by window entry key (layout.ts). */
  restoreBatch(records: Iterable<ChangelogRecord>, nextOffset?: number): void {
    this.checkOpen();
    const suffix = TS_LEN + (this.retainDuplicates ? SEQ_LEN : 0);
    for (const r of records) {
      const keyLen = r.key.byteLength - suffix;
      const key = r.key.subarray(0, keyLen);
      const start = readTimestamp(r.key, keyLen);
      let seq = 0;
      if (this.retainDuplicates) {
        const o = keyLen + TS_LEN;
        seq = ((r.key[o]! << 24) >>> 0) + ((r.key[o + 1]! << 16) | (r.key[o + 2]! << 8) | r.key[o + 3]!);
        if (seq > this.seq) this.seq = seq; // continue after restored sequences
      }
      this.observe(start);
      if (start <= this.cutoff) continue;
      if (r.value === null) this.remove(key, start, seq);
      else this.insert(this.windowsOf(key, start, true)!, start, seq, copyBytes(r.value));
    }
    if (nextOffset !== undefined) this.restoredOffset = nextOffset;
  }

  checkpoint(): number | undefined {
    return this.restoredOffset;
  }

  clear(): void {
    this.checkOpen();
    this.segments.clear();
    this.sortedIds = undefined;
    this.observedStreamTime = Number.NEGATIVE_INFINITY;
  }

  flush(): void {
    this.checkOpen();
  }

  close(): void {
    this.closed = true;
  }
}

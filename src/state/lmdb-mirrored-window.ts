// A persistent window store whose whole content is also kept in memory: reads and writes run
// at in-memory speed (MemoryWindowStore) and every write goes behind to lmdb (the same
// segment databases and entry keys as LmdbWindowStore, committed at flush), so a restart
// reloads from local disk instead of replaying the changelog. Meant for stores bounded by a
// short retention, above all stream-stream join buffers (join window + grace), where the
// plain lmdb store spends most of its time in per-call lmdb range reads.
import { segmentId } from "./layout.ts";
import { type LmdbEnvironment, type LmdbOrderedBytes, LmdbSegmentSet } from "./lmdb.ts";
import { defaultSegmentIntervalMs } from "./layout.ts";
import { MemoryWindowStore } from "./memory-window.ts";
import type { ChangelogRecord, EntryLoggedWindowStore, WindowStoreOptions } from "./stores.ts";
import type { Bytes, KeyValue, WindowedKey } from "./types.ts";
import { readTimestamp } from "./bytes.ts";

export class LmdbMirroredWindowStore implements EntryLoggedWindowStore {
  readonly persistent = true;
  readonly env: LmdbEnvironment;
  onEntryWrite: ((entryKey: Uint8Array, value: Bytes | null, windowStart: number) => void) | undefined;
  private readonly mem: MemoryWindowStore;
  private readonly segments: LmdbSegmentSet;
  private readonly intervalMs: number;
  private savedStreamTime: number;

  constructor(env: LmdbEnvironment, name: string, options: WindowStoreOptions) {
    this.env = env;
    this.intervalMs = options.segmentIntervalMs ?? defaultSegmentIntervalMs(options.retentionMs);
    this.mem = new MemoryWindowStore(name, { ...options, segmentIntervalMs: this.intervalMs });
    this.segments = new LmdbSegmentSet(env, name, this.intervalMs);
    // Reload what was flushed before (restoreBatch keeps duplicate sequences and continues after them).
    for (const id of this.segments.ids()) {
      this.mem.restoreBatch(this.segments.get(id, false)!.range(undefined, undefined, false));
    }
    const t = env.getMeta(`streamTime:${name}`);
    if (t !== undefined) this.mem.expire(t);
    this.savedStreamTime = this.mem.streamTime;
    this.mem.onEntryWrite = (entryKey, value, windowStart) => {
      const seg = this.segments.get(segmentId(windowStart, this.intervalMs), value !== null) as
        | LmdbOrderedBytes
        | undefined;
      seg?.putBehind(entryKey, value); // reads come from memory: no need for a read-through buffer
      this.onEntryWrite?.(entryKey, value, windowStart);
    };
  }

  get name(): string {
    return this.mem.name;
  }
  get windowSizeMs(): number {
    return this.mem.windowSizeMs;
  }
  get retentionMs(): number {
    return this.mem.retentionMs;
  }
  get retainDuplicates(): boolean {
    return this.mem.retainDuplicates;
  }
  get streamTime(): number {
    return this.mem.streamTime;
  }

  /** Mirrors the memory store's stream time and segment drops to lmdb. */
  private afterWrite(): void {
    const t = this.mem.streamTime;
    if (t <= this.savedStreamTime) return;
    this.savedStreamTime = t;
    this.env.setMeta(`streamTime:${this.name}`, t);
    const cutoff = t - this.retentionMs;
    for (const id of [...this.segments.ids()]) {
      if ((id + 1) * this.intervalMs - 1 > cutoff) break;
      this.segments.drop(id);
    }
  }

  put(key: Bytes, value: Bytes | null, windowStart: number): void {
    this.mem.put(key, value, windowStart);
    this.afterWrite();
  }
  fetch(key: Bytes, windowStart: number): Bytes | undefined {
    return this.mem.fetch(key, windowStart);
  }
  fetchRange(key: Bytes, timeFrom: number, timeTo: number): KeyValue<number, Bytes>[] {
    return this.mem.fetchRange(key, timeFrom, timeTo);
  }
  fetchAll(timeFrom: number, timeTo: number): KeyValue<WindowedKey<Bytes>, Bytes>[] {
    return this.mem.fetchAll(timeFrom, timeTo);
  }
  all(): KeyValue<WindowedKey<Bytes>, Bytes>[] {
    return this.mem.all();
  }
  expire(streamTime: number): void {
    this.mem.expire(streamTime);
    this.afterWrite();
  }
  approximateNumEntries(): number {
    return this.mem.approximateNumEntries();
  }

  restoreBatch(records: Iterable<ChangelogRecord>, nextOffset?: number): void {
    const list = Array.isArray(records) ? (records as ChangelogRecord[]) : [...records];
    this.mem.restoreBatch(list);
    const suffix = this.retainDuplicates ? 12 : 8;
    this.env.transact(() => {
      for (const r of list) {
        const start = readTimestamp(r.key, r.key.byteLength - suffix);
        if (start <= this.mem.streamTime - this.retentionMs) continue;
        (
          this.segments.get(segmentId(start, this.intervalMs), r.value !== null) as
            | LmdbOrderedBytes
            | undefined
        )?.put(r.key, r.value);
      }
      if (nextOffset !== undefined) this.env.writeCheckpointInTxn(this.name, nextOffset);
    });
    this.afterWrite();
  }

  checkpoint(): number | undefined {
    return this.env.checkpoint(this.name);
  }

  clear(): void {
    this.mem.clear();
    this.segments.dropAll();
    this.savedStreamTime = this.mem.streamTime;
  }

  flush(): Promise<void> {
    return this.env.flush();
  }

  close(): void {
    this.mem.close();
  }
}

export function lmdbMirroredWindowStore(
  env: LmdbEnvironment,
  name: string,
  options: WindowStoreOptions,
): LmdbMirroredWindowStore {
  return new LmdbMirroredWindowStore(env, name, options);
}

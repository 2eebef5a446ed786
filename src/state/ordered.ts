// The ordered byte map every store is built on: in memory (SortedBytesMap) or on lmdb
// (a named database with a write buffer). Window and session stores are sets of these,
// one per time segment.
import { copyBytes } from "./bytes.ts";
import { SortedBytesMap } from "./sorted-map.ts";
import type { Bytes, KeyValue } from "./types.ts";

export interface OrderedBytes {
  get(key: Bytes): Bytes | undefined;
  /**
   * `null` deletes. Implementations copy key and value, except what the caller marks as owned
   * (`keyOwned`, `valueOwned`): a fresh array nobody writes to afterwards, which they may keep.
   */
  put(key: Bytes, value: Bytes | null, keyOwned?: boolean, valueOwned?: boolean): void;
  /** from <= key <= to, undefined bound = open; with `limit`, the first `limit` entries in scan order. */
  range(
    from: Bytes | undefined,
    to: Bytes | undefined,
    reverse: boolean,
    limit?: number,
  ): KeyValue<Bytes, Bytes>[];
  size(): number;
  clear(): void;
}

export class MemoryOrderedBytes implements OrderedBytes {
  private readonly data = new SortedBytesMap<Uint8Array>();
  get(key: Bytes): Bytes | undefined {
    return this.data.get(key);
  }
  put(key: Bytes, value: Bytes | null, keyOwned = false, valueOwned = false): void {
    if (value === null) this.data.delete(key);
    else this.data.set(keyOwned ? key : copyBytes(key), valueOwned ? value : copyBytes(value));
  }
  range(
    from: Bytes | undefined,
    to: Bytes | undefined,
    reverse: boolean,
    limit?: number,
  ): KeyValue<Bytes, Bytes>[] {
    return this.data.range(from, to, reverse, limit);
  }
  size(): number {
    return this.data.size;
  }
  clear(): void {
    this.data.clear();
  }
}

/** Time segments of a window or session store. */
export interface SegmentSet {
  readonly intervalMs: number;
  get(id: number, create: boolean): OrderedBytes | undefined;
  /** Live segment ids, ascending. */
  ids(): number[];
  drop(id: number): void;
  dropAll(): void;
}

export class MemorySegmentSet implements SegmentSet {
  readonly intervalMs: number;
  private readonly segments = new Map<number, MemoryOrderedBytes>();
  private sortedIds: number[] | undefined;
  constructor(intervalMs: number) {
    this.intervalMs = intervalMs;
  }
  get(id: number, create: boolean): OrderedBytes | undefined {
    let s = this.segments.get(id);
    if (s === undefined && create) {
      s = new MemoryOrderedBytes();
      this.segments.set(id, s);
      this.sortedIds = undefined;
    }
    return s;
  }
  ids(): number[] {
    if (this.sortedIds === undefined) this.sortedIds = [...this.segments.keys()].sort((a, b) => a - b);
    return this.sortedIds;
  }
  drop(id: number): void {
    this.segments.delete(id);
    this.sortedIds = undefined;
  }
  dropAll(): void {
    this.segments.clear();
    this.sortedIds = undefined;
  }
}

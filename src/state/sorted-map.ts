// An ordered map from byte-string keys to values, for the in-memory stores and the record
// cache. Values live in a Map keyed by the latin1 string of the key bytes (which compares
// like unsigned bytes); order is kept in a list of sorted chunks (as Python's
// sortedcontainers does), so inserts and deletes cost O(log n + chunk) and scans can be
// interleaved with writes at no extra cost.
import { bytesToKeyString } from "./bytes.ts";
import type { Bytes } from "./types.ts";

export interface SortedEntry<V> {
  readonly key: Bytes;
  value: V;
}

const CHUNK_MAX = 512;

class SortedStringList {
  private chunks: string[][] = [];
  private maxes: string[] = [];

  static fromUnsorted(keys: string[]): SortedStringList {
    const l = new SortedStringList();
    keys.sort();
    for (let i = 0; i < keys.length; i += CHUNK_MAX) {
      const c = keys.slice(i, i + CHUNK_MAX);
      l.chunks.push(c);
      l.maxes.push(c[c.length - 1]!);
    }
    return l;
  }

  clear(): void {
    this.chunks = [];
    this.maxes = [];
  }

  private chunkFor(k: string): number {
    // First chunk whose max >= k.
    const m = this.maxes;
    let lo = 0;
    let hi = m.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (m[mid]! < k) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  insert(k: string): void {
    if (this.chunks.length === 0) {
      this.chunks.push([k]);
      this.maxes.push(k);
      return;
    }
    let ci = this.chunkFor(k);
    if (ci === this.chunks.length) {
      ci--;
      const c = this.chunks[ci]!;
      c.push(k);
      this.maxes[ci] = k;
      if (c.length > CHUNK_MAX * 2) this.split(ci);
      return;
    }
    const c = this.chunks[ci]!;
    c.splice(lowerBound(c, k), 0, k);
    if (c.length > CHUNK_MAX * 2) this.split(ci);
  }

  private split(ci: number): void {
    const c = this.chunks[ci]!;
    const right = c.splice(CHUNK_MAX);
    this.chunks.splice(ci + 1, 0, right);
    this.maxes.splice(ci, 1, c[c.length - 1]!, right[right.length - 1]!);
  }

  remove(k: string): void {
    const ci = this.chunkFor(k);
    const c = this.chunks[ci];
    if (c === undefined) return;
    const i = lowerBound(c, k);
    if (c[i] !== k) return;
    c.splice(i, 1);
    if (c.length === 0) {
      this.chunks.splice(ci, 1);
      this.maxes.splice(ci, 1);
    } else if (i === c.length) {
      this.maxes[ci] = c[c.length - 1]!;
    }
  }

  /** Calls `f` for keys in [from, to] in order until it returns false. */
  scan(from: string | undefined, to: string | undefined, reverse: boolean, f: (k: string) => boolean): void {
    const chunks = this.chunks;
    if (chunks.length === 0) return;
    if (!reverse) {
      let ci = from === undefined ? 0 : this.chunkFor(from);
      let i = from === undefined || ci >= chunks.length ? 0 : lowerBound(chunks[ci]!, from);
      for (; ci < chunks.length; ci++, i = 0) {
        const c = chunks[ci]!;
        for (; i < c.length; i++) {
          const k = c[i]!;
          if (to !== undefined && k > to) return;
          if (!f(k)) return;
        }
      }
    } else {
      let ci = to === undefined ? chunks.length - 1 : Math.min(this.chunkFor(to), chunks.length - 1);
      let i = to === undefined ? chunks[ci]!.length - 1 : upperBound(chunks[ci]!, to) - 1;
      for (; ci >= 0; ci--, i = ci >= 0 ? chunks[ci]!.length - 1 : 0) {
        const c = chunks[ci]!;
        for (; i >= 0; i--) {
          const k = c[i]!;
          if (from !== undefined && k < from) return;
          if (!f(k)) return;
        }
      }
    }
  }
}

export class SortedBytesMap<V> {
  private readonly map = new Map<string, SortedEntry<V>>();
  /**
   * Built on an ordered scan, then maintained while scans keep coming: point-only users (counts)
   * never pay for order, and a map scanned once (a processor's all() at init) then only written
   * drops it after as many inserts as it holds keys (rebuilding costs about what keeping it did).
   */
  private order: SortedStringList | undefined;
  private insertsSinceScan = 0;

  get size(): number {
    return this.map.size;
  }

  get(key: Bytes): V | undefined {
    return this.map.get(bytesToKeyString(key))?.value;
  }

  getByString(k: string): SortedEntry<V> | undefined {
    return this.map.get(k);
  }

  /** Stores `value` under `key` (the key bytes are kept as given: pass a copy if you reuse buffers). */
  set(key: Bytes, value: V): V | undefined {
    return this.setByString(bytesToKeyString(key), key, value);
  }

  setByString(k: string, key: Bytes, value: V): V | undefined {
    const e = this.map.get(k);
    if (e !== undefined) {
      const old = e.value;
      e.value = value;
      return old;
    }
    this.map.set(k, { key, value });
    if (this.order !== undefined) {
      if (++this.insertsSinceScan > this.map.size && this.insertsSinceScan > 1024) this.order = undefined;
      else this.order.insert(k);
    }
    return undefined;
  }

  delete(key: Bytes): V | undefined {
    return this.deleteByString(bytesToKeyString(key));
  }

  deleteByString(k: string): V | undefined {
    const e = this.map.get(k);
    if (e === undefined) return undefined;
    this.map.delete(k);
    this.order?.remove(k);
    return e.value;
  }

  clear(): void {
    this.map.clear();
    this.order = undefined;
  }

  /** Entries in insertion order (not sorted). */
  values(): IterableIterator<SortedEntry<V>> {
    return this.map.values();
  }

  /**
   * Entries with from <= key <= to (undefined bound = open), ascending or descending; with
   * `limit`, only the first `limit` of them in that order.
   */
  range(from: Bytes | undefined, to: Bytes | undefined, reverse = false, limit?: number): SortedEntry<V>[] {
    return this.rangeByString(
      from === undefined ? undefined : bytesToKeyString(from),
      to === undefined ? undefined : bytesToKeyString(to),
      reverse,
      limit,
    );
  }

  rangeByString(
    from: string | undefined,
    to: string | undefined,
    reverse = false,
    limit = Number.POSITIVE_INFINITY,
  ): SortedEntry<V>[] {
    const out: SortedEntry<V>[] = [];
    if ((from !== undefined && to !== undefined && from > to) || limit <= 0) return out;
    if (this.order === undefined) this.order = SortedStringList.fromUnsorted([...this.map.keys()]);
    this.insertsSinceScan = 0;
    this.order.scan(from, to, reverse, (k) => {
      out.push(this.map.get(k)!);
      return out.length < limit;
    });
    return out;
  }
}

function lowerBound(a: string[], k: string): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid]! < k) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function upperBound(a: string[], k: string): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid]! <= k) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

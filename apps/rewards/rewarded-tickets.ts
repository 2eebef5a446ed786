// Which tickets a ledger task has rewarded, as a Bloom filter over the keys of its rewards store
// ("campaign|ticket"). Every bet asks the store whether it was rewarded already, and the answer is
// almost always no: a read of an absent key was 5 % of the coupons thread (a byte key built, the
// write buffer and then lmdb's B-tree searched). The filter's "no" is certain, so the store is read
// only on a "maybe" (a rewarded ticket, or ~1 % false positives).
//
// The filter must know every key of the store before its "no" can be trusted. A new task's store
// is empty: known at once. A restored one is scanned, keys only, a bounded batch per call of
// step() (the ledger calls it while the scan is not done, and reads the store meanwhile). Keys
// written during the scan are added as they come; keys deleted (retention) stay in the filter,
// which only adds false positives, and the filter is built again once it holds more keys than it
// was sized for.
import type { KeyValueStore } from "../../src/streams/index.ts";

/** Bits per key: with 7 hashes, ~0.8 % false positives at capacity. */
const BITS_PER_KEY = 10;
const HASHES = 7;
/** Smallest capacity (keys): 2^18 keys are 320 KiB of bits. */
const MIN_CAPACITY = 1 << 18;

/** A Bloom filter of strings (no removal). */
export class StringBloomFilter {
  readonly capacity: number;
  private readonly bits: Uint32Array;
  private readonly mask: number;
  /** Keys added (with repeats): what the capacity is compared with. */
  added = 0;

  constructor(capacity: number) {
    this.capacity = Math.max(1, capacity);
    // A power of two of bits, so a hash is reduced with a mask.
    let n = 32;
    while (n < this.capacity * BITS_PER_KEY) n *= 2;
    this.bits = new Uint32Array(n / 32);
    this.mask = n - 1;
  }

  add(key: string): void {
    this.added++;
    let h1 = hash1(key);
    const h2 = hash2(h1);
    for (let i = 0; i < HASHES; i++) {
      const b = h1 & this.mask;
      this.bits[b >>> 5]! |= 1 << (b & 31);
      h1 = (h1 + h2) | 0;
    }
  }

  /** False: `key` was never added. True: it may have been. */
  mightContain(key: string): boolean {
    let h1 = hash1(key);
    const h2 = hash2(h1);
    for (let i = 0; i < HASHES; i++) {
      const b = h1 & this.mask;
      if ((this.bits[b >>> 5]! & (1 << (b & 31))) === 0) return false;
      h1 = (h1 + h2) | 0;
    }
    return true;
  }
}

/** FNV-1a over UTF-16 code units. */
function hash1(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/**
 * The step of double hashing, mixed from the first hash (murmur3's finalizer, odd): one pass over
 * the key. Two keys then share their probes only when their 32-bit hashes are equal, which is
 * rare next to the filter's own false positives.
 */
function hash2(h1: number): number {
  let h = h1 ^ 0x9e3779b9;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return (h | 1) >>> 0;
}

/** Keys a scan step reads from the store (keys only, no value decoded). */
export const SCAN_BATCH = 1024;

/** The rewards store's keys as a filter, built from the store by steps when it is not empty. */
export class RewardedTickets<V> {
  private readonly store: KeyValueStore<string, V>;
  private filter: StringBloomFilter;
  /** Last key scanned; undefined: the scan has not started. */
  private cursor: string | undefined = undefined;
  private complete = false;

  constructor(store: KeyValueStore<string, V>) {
    this.store = store;
    // The count only sizes the filter; what it holds is known from the scan (an empty store: at once).
    this.filter = new StringBloomFilter(Math.max(MIN_CAPACITY, 2 * store.approximateNumEntries()));
    this.step();
  }

  /** True when every key of the store is in the filter (its "no" can be trusted). */
  get ready(): boolean {
    return this.complete;
  }

  /** False only when `key` is certainly not in the store. */
  mightContain(key: string): boolean {
    if (!this.complete) {
      this.step();
      if (!this.complete) return true;
    }
    return this.filter.mightContain(key);
  }

  /** A key written to the store. */
  add(key: string): void {
    this.filter.add(key);
    if (this.complete && this.filter.added > this.filter.capacity) this.rebuild();
  }

  /** Scans the next batch of the store's keys into the filter; returns true when the scan is done. */
  step(batch = SCAN_BATCH): boolean {
    if (this.complete) return true;
    // range() includes its lower bound: one more key, the cursor itself, is read again.
    const want = this.cursor === undefined ? batch : batch + 1;
    const keys = this.store.keys(this.cursor, undefined, want);
    for (const k of keys) this.filter.add(k);
    if (keys.length > 0) this.cursor = keys[keys.length - 1];
    if (keys.length < want) this.complete = true;
    return this.complete;
  }

  /** Starts over with a filter sized for the store as it is now (deleted keys leave it). */
  private rebuild(): void {
    this.filter = new StringBloomFilter(Math.max(MIN_CAPACITY, 2 * this.store.approximateNumEntries()));
    this.cursor = undefined;
    this.complete = false;
    this.step();
  }
}

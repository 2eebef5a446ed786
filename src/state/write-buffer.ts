// The write buffer in front of one lmdb database: the puts and deletes since the last flush, read
// through by gets and range scans, applied to lmdb in write order at the flush.
//
// Bytes, not objects. Keys and values are copied into one growing arena, and a hash index of typed
// arrays finds a key's latest entry. The Map of latin1 key strings it replaces cost, per write, a
// key string, an entry object and a Map insert (~0.6 µs in the coupons app, whose stores buffer
// tens of thousands of writes between two flushes); all of them lived until the flush, long enough
// to be promoted, and the promoted ones were most of what the main thread's garbage collector
// copied. Nothing here is handed out: gets and scans return copies, so the arena is reused after
// each flush.
import { copyBytesPooled } from "./bytes.ts";
import type { Bytes } from "./types.ts";

const MIN_ARENA_BYTES = 64 * 1024;
const MIN_SLOTS = 1024;
const MIN_ENTRIES = 256;
/** A slot whose entry was removed: probes go on past it, inserts may reuse it. */
const REMOVED = -1;

/** FNV-1a over bytes. */
function hashBytes(b: Bytes): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < b.length; i++) h = Math.imul(h ^ b[i]!, 0x01000193);
  return h | 0;
}

function grown<T extends Int32Array | Uint8Array>(a: T, n: number): T {
  if (a.length >= n) return a;
  const out = new (a.constructor as new (n: number) => T)(Math.max(n, a.length * 2));
  out.set(a);
  return out;
}

export class WriteBuffer {
  private arena = new Uint8Array(MIN_ARENA_BYTES);
  private arenaEnd = 0;
  /** Per entry (in write order): where its key starts in the arena, key and value lengths (-1: a delete). */
  private keyAt = new Int32Array(MIN_ENTRIES);
  private keyLength = new Int32Array(MIN_ENTRIES);
  private valueLength = new Int32Array(MIN_ENTRIES);
  private hashOf = new Int32Array(MIN_ENTRIES);
  /** 1: overwritten by a later entry of its key, or removed. */
  private dead = new Uint8Array(MIN_ENTRIES);
  private entries = 0;
  /** Open addressing: entry + 1, 0 empty, REMOVED. Power-of-two length, at most half used. */
  private slots = new Int32Array(MIN_SLOTS);
  private slotsUsed = 0;
  /** Keys buffered (one per key, deletes included). */
  size = 0;

  /**
   * The slot of `key`'s live entry, or -(slot to insert at) - 1 when it is not buffered. The hash
   * is left in `lastHash`.
   */
  private find(key: Bytes): number {
    const h = hashBytes(key);
    this.lastHash = h;
    const slots = this.slots;
    const mask = slots.length - 1;
    const n = key.length;
    let free = -1;
    for (let i = h & mask; ; i = (i + 1) & mask) {
      const s = slots[i]!;
      if (s === 0) return -(free >= 0 ? free : i) - 1;
      if (s === REMOVED) {
        if (free < 0) free = i;
        continue;
      }
      const e = s - 1;
      if (this.hashOf[e] !== h || this.keyLength[e] !== n) continue;
      const a = this.arena;
      let at = this.keyAt[e]!;
      let j = 0;
      while (j < n && a[at++] === key[j]) j++;
      if (j === n) return i;
    }
  }
  private lastHash = 0;

  /** Buffers a put (`value` null: a delete). Returns true when the key was not buffered before. */
  set(key: Bytes, value: Bytes | null): boolean {
    let slot = this.find(key);
    const h = this.lastHash;
    const e = this.append(key, value, h);
    if (slot >= 0) {
      this.dead[this.slots[slot]! - 1] = 1;
      this.slots[slot] = e + 1;
      return false;
    }
    slot = -slot - 1;
    if (this.slots[slot] === 0) this.slotsUsed++;
    this.slots[slot] = e + 1;
    this.size++;
    if (this.slotsUsed * 2 > this.slots.length) this.rehash();
    return true;
  }

  /** Forgets `key`'s buffered write (neither put nor delete stays). Returns whether there was one. */
  remove(key: Bytes): boolean {
    const slot = this.find(key);
    if (slot < 0) return false;
    this.dead[this.slots[slot]! - 1] = 1;
    this.slots[slot] = REMOVED;
    this.size--;
    return true;
  }

  /**
   * `key`'s buffered write: undefined when there is none, null for a delete, else a copy of the
   * value (pooled: for bytes dropped soon, see copyBytesPooled).
   */
  get(key: Bytes): Uint8Array | null | undefined {
    const slot = this.find(key);
    if (slot < 0) return undefined;
    return this.valueOf(this.slots[slot]! - 1);
  }

  private valueOf(e: number): Uint8Array | null {
    const n = this.valueLength[e]!;
    if (n < 0) return null;
    const at = this.keyAt[e]! + this.keyLength[e]!;
    return copyBytesPooled(this.arena.subarray(at, at + n));
  }

  /** A copy of entry `e`'s key. */
  private keyOf(e: number): Uint8Array {
    const at = this.keyAt[e]!;
    return this.arena.slice(at, at + this.keyLength[e]!);
  }

  /**
   * Calls `f` for every buffered write in write order, with views of the arena valid only during
   * the call (lmdb copies them at once). `value` is null for a delete.
   */
  forEach(f: (key: Uint8Array, value: Uint8Array | null) => void): void {
    const a = this.arena;
    for (let e = 0; e < this.entries; e++) {
      if (this.dead[e] === 1) continue;
      const at = this.keyAt[e]!;
      const k = this.keyLength[e]!;
      const v = this.valueLength[e]!;
      f(a.subarray(at, at + k), v < 0 ? null : a.subarray(at + k, at + k + v));
    }
  }

  /** The buffered writes with from <= key <= to (undefined: open), copied, in key order. */
  range(from: Bytes | undefined, to: Bytes | undefined): { key: Uint8Array; value: Uint8Array | null }[] {
    const picked: number[] = [];
    for (let e = 0; e < this.entries; e++) {
      if (this.dead[e] === 1) continue;
      if (from !== undefined && this.compareKey(e, from) < 0) continue;
      if (to !== undefined && this.compareKey(e, to) > 0) continue;
      picked.push(e);
    }
    const keys = picked.map((e) => this.keyOf(e));
    const order = picked.map((_, i) => i).sort((x, y) => Buffer.compare(keys[x]!, keys[y]!));
    return order.map((i) => ({ key: keys[i]!, value: this.valueOf(picked[i]!) }));
  }

  /** Entry `e`'s key compared with `b`, as unsigned byte strings. */
  private compareKey(e: number, b: Bytes): number {
    const a = this.arena;
    const at = this.keyAt[e]!;
    const n = this.keyLength[e]!;
    const m = Math.min(n, b.length);
    for (let i = 0; i < m; i++) {
      const d = a[at + i]! - b[i]!;
      if (d !== 0) return d;
    }
    return n - m === b.length - m ? 0 : n < b.length ? -1 : 1;
  }

  /** Drops every buffered write; the arena and index keep their size for the next ones. */
  clear(): void {
    if (this.entries === 0 && this.slotsUsed === 0) return;
    // A buffer that was once large and is now small gives its memory back.
    if (this.arena.length > 4 * Math.max(MIN_ARENA_BYTES, this.arenaEnd))
      this.arena = new Uint8Array(Math.max(MIN_ARENA_BYTES, this.arenaEnd));
    const entries = Math.max(MIN_ENTRIES, this.entries);
    if (this.keyAt.length > 4 * entries) {
      this.keyAt = new Int32Array(entries);
      this.keyLength = new Int32Array(entries);
      this.valueLength = new Int32Array(entries);
      this.hashOf = new Int32Array(entries);
      this.dead = new Uint8Array(entries);
    }
    // The index must stay a power of two (probes wrap with a mask).
    let slots = MIN_SLOTS;
    while (slots < this.size * 4) slots *= 2;
    if (this.slots.length > 4 * slots) this.slots = new Int32Array(slots);
    else this.slots.fill(0);
    this.arenaEnd = 0;
    this.entries = 0;
    this.slotsUsed = 0;
    this.size = 0;
  }

  private append(key: Bytes, value: Bytes | null, h: number): number {
    const e = this.entries;
    if (e === this.keyAt.length) {
      const n = e * 2;
      this.keyAt = grown(this.keyAt, n);
      this.keyLength = grown(this.keyLength, n);
      this.valueLength = grown(this.valueLength, n);
      this.hashOf = grown(this.hashOf, n);
      this.dead = grown(this.dead, n);
    }
    const k = key.length;
    const v = value === null ? 0 : value.length;
    let at = this.arenaEnd;
    if (at + k + v > this.arena.length) {
      this.arena = grown(this.arena, at + k + v);
    }
    const a = this.arena;
    // Short keys byte by byte (a typed-array set has a fixed cost that dominates below ~32 bytes).
    if (k <= 32) for (let i = 0; i < k; i++) a[at + i] = key[i]!;
    else a.set(key, at);
    if (value !== null) a.set(value, at + k);
    this.keyAt[e] = at;
    this.keyLength[e] = k;
    this.valueLength[e] = value === null ? -1 : v;
    this.hashOf[e] = h;
    this.dead[e] = 0;
    at += k + v;
    this.arenaEnd = at;
    this.entries = e + 1;
    return e;
  }

  /** A new index sized for the live keys (removed slots are dropped, not carried over). */
  private rehash(): void {
    let n = MIN_SLOTS;
    while (n < this.size * 4) n *= 2;
    const slots = new Int32Array(n);
    const mask = n - 1;
    let used = 0;
    for (const s of this.slots) {
      if (s <= 0) continue;
      let i = this.hashOf[s - 1]! & mask;
      while (slots[i] !== 0) i = (i + 1) & mask;
      slots[i] = s;
      used++;
    }
    this.slots = slots;
    this.slotsUsed = used;
  }
}

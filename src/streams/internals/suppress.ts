// KTable.suppress: holds the latest change per key until a time bound passes, then emits it once.
// untilWindowCloses: a windowed key is released when stream time - grace >= window end (final
// results). untilTimeLimit: released `timeToWait` after the record's timestamp. The buffer is
// kept in memory (ordered by release time) and mirrored in a logged store so it survives restarts.
import type { Serde } from "../../serde/index.ts";
import { readTimestamp, writeTimestamp } from "../../state/index.ts";
import { StreamsError } from "../errors.ts";
import type { KeyValueStore, ValueAndTimestamp } from "../stores.ts";
import type { Change } from "../types.ts";
import type { Windowed } from "../windows.ts";
import type { TaskContext } from "./context.ts";
import { ProcessorNode } from "./node.ts";
import { changeSerde } from "./serdes.ts";

interface Buffered {
  key: unknown;
  keyBytes: Uint8Array;
  change: Change<unknown>;
  timestamp: number;
  releaseAt: number;
}

export interface SuppressOptions {
  readonly storeName: string;
  readonly mode: "untilWindowCloses" | "untilTimeLimit";
  /** untilWindowCloses: the window grace; untilTimeLimit: the time to wait. */
  readonly delayMs: number;
  readonly maxRecords?: number;
  readonly onFull: "shutdown" | "emitEarly";
  readonly closeWhenIdleMs?: number;
  readonly keySerde: Serde<unknown>;
  readonly valueSerde: Serde<unknown>;
}

export class SuppressNode extends ProcessorNode {
  private readonly o: SuppressOptions;
  private store!: KeyValueStore<Uint8Array, Uint8Array>;
  private readonly byKey = new Map<string, Buffered>();
  /** Distinct release times ascending, each with the keys due then. */
  private times: number[] = [];
  private readonly atTime = new Map<number, Set<string>>();
  private observed = -1;
  private readonly changeSerde: Serde<Change<unknown>>;
  constructor(name: string, o: SuppressOptions) {
    super(name);
    this.o = o;
    this.changeSerde = changeSerde(o.valueSerde);
  }
  override init(ctx: TaskContext): void {
    super.init(ctx);
    this.store = ctx.getStore(this.o.storeName) as KeyValueStore<Uint8Array, Uint8Array>;
    this.observed = ctx.streamTime;
    // Rebuild the in-memory order from the store (after restore).
    for (const e of this.store.all()) {
      const releaseAt = readTimestamp(e.value, 0);
      const timestamp = readTimestamp(e.value, 8);
      const change = this.changeSerde.deserialize("", e.value.subarray(16))!;
      const key = this.o.keySerde.deserialize("", e.key);
      this.index({ key, keyBytes: e.key, change, timestamp, releaseAt });
    }
    if (this.o.closeWhenIdleMs !== undefined) {
      const every = Math.max(1, Math.min(this.o.closeWhenIdleMs, 1000));
      ctx.schedule(every, "wallClockTime", (now) => this.closeIfIdle(now), this.name);
    }
  }
  private idOf(b: Uint8Array): string {
    return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("latin1");
  }
  private index(b: Buffered): void {
    const id = this.idOf(b.keyBytes);
    this.byKey.set(id, b);
    let set = this.atTime.get(b.releaseAt);
    if (set === undefined) {
      set = new Set();
      this.atTime.set(b.releaseAt, set);
      let lo = 0;
      let hi = this.times.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (this.times[mid]! < b.releaseAt) lo = mid + 1;
        else hi = mid;
      }
      this.times.splice(lo, 0, b.releaseAt);
    }
    set.add(id);
  }
  private unindex(id: string, b: Buffered): void {
    this.byKey.delete(id);
    const set = this.atTime.get(b.releaseAt);
    if (set !== undefined) {
      set.delete(id);
      if (set.size === 0) {
        this.atTime.delete(b.releaseAt);
        const i = this.times.indexOf(b.releaseAt);
        if (i >= 0) this.times.splice(i, 1);
      }
    }
  }
  process(key: unknown, value: unknown, ts: number): void {
    if (ts > this.observed) this.observed = ts;
    const change = value as Change<unknown>;
    const keyBytes = this.o.keySerde.serialize("", key) ?? new Uint8Array(0);
    const id = this.idOf(keyBytes);
    const prior = this.byKey.get(id);
    // Non-resetting (as Kafka): an update keeps the release time of the first buffered version.
    const releaseAt =
      prior !== undefined
        ? prior.releaseAt
        : this.o.mode === "untilWindowCloses"
          ? (key as Windowed<unknown>).window.end
          : ts + this.o.delayMs;
    // Keep the oldest "old value" seen while buffered, the newest "new value".
    const merged: Change<unknown> = {
      newValue: change.newValue,
      oldValue: prior === undefined ? change.oldValue : prior.change.oldValue,
    };
    if (prior !== undefined) this.unindex(id, prior);
    const b: Buffered = { key, keyBytes, change: merged, timestamp: ts, releaseAt };
    this.index(b);
    this.persist(b);
    this.evict(this.observed);
    if (this.o.maxRecords !== undefined && this.byKey.size > this.o.maxRecords) {
      if (this.o.onFull === "shutdown") {
        throw new StreamsError(
          "ILLEGAL_STATE",
          `suppression buffer ${this.o.storeName} is full (${this.byKey.size} > ${this.o.maxRecords} records) and is configured to shut down`,
        );
      }
      while (this.byKey.size > this.o.maxRecords) this.emitOldest();
    }
  }
  private persist(b: Buffered): void {
    const c = this.changeSerde.serialize("", b.change)!;
    const v = new Uint8Array(16 + c.byteLength);
    writeTimestamp(v, 0, b.releaseAt);
    writeTimestamp(v, 8, b.timestamp);
    v.set(c, 16);
    this.store.put(b.keyBytes, v);
  }
  private emitOldest(): void {
    const t = this.times[0];
    if (t === undefined) return;
    const id = this.atTime.get(t)!.values().next().value as string;
    this.emit(id, this.byKey.get(id)!);
  }
  private emit(id: string, b: Buffered): void {
    this.unindex(id, b);
    this.store.delete(b.keyBytes);
    this.forward(b.key, b.change, b.timestamp);
  }
  private evict(streamTime: number): void {
    const limit = streamTime - (this.o.mode === "untilWindowCloses" ? this.o.delayMs : 0);
    const releaseLimit = this.o.mode === "untilWindowCloses" ? limit : streamTime;
    while (this.times.length > 0 && this.times[0]! <= releaseLimit) {
      const t = this.times[0]!;
      for (const id of [...this.atTime.get(t)!]) this.emit(id, this.byKey.get(id)!);
    }
  }
  private closeIfIdle(now: number): void {
    const idle = now - this.ctx.lastRecordWallClock;
    if (idle >= this.o.closeWhenIdleMs!) this.evict(this.observed + idle);
  }
}

/** Writes a table's changes into a store so it can be queried and looked up (Materialized). */
export class TableMaterializeNode extends ProcessorNode {
  private readonly storeName: string;
  private store!: KeyValueStore<unknown, ValueAndTimestamp<unknown>>;
  constructor(name: string, storeName: string) {
    super(name);
    this.storeName = storeName;
  }
  override init(ctx: TaskContext): void {
    super.init(ctx);
    this.store = ctx.getStore(this.storeName) as KeyValueStore<unknown, ValueAndTimestamp<unknown>>;
  }
  process(key: unknown, value: unknown, ts: number): void {
    if (key === null || key === undefined) return;
    const c = value as Change<unknown>;
    this.store.put(key, c.newValue === null ? null : { value: c.newValue, timestamp: ts });
    this.forward(key, value, ts);
  }
}

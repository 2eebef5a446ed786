// Join nodes with Kafka Streams' semantics: stream-stream (windowed, with KIP-633's spurious-
// result-free left/outer joins), stream-table, stream-globalTable, table-table and the
// foreign-key table-table join (subscription/response protocol over internal topics).
import type { Serde } from "../../serde/index.ts";
import { readTimestamp, writeTimestamp } from "../../state/index.ts";
import type { KeyValueStore, WindowStore } from "../stores.ts";
import type { Change } from "../types.ts";
import type { TaskContext } from "./context.ts";
import type { ValueGetter, ValueGetterSupplier } from "./getters.ts";
import { ProcessorNode } from "./node.ts";

type Joiner = (l: unknown, r: unknown, k: unknown) => unknown;

/** Stream time shared by the two sides of one stream-stream join in a task. */
export class JoinTimeTracker {
  streamTime = -1;
  /** Lowest timestamp held in the outer-join store (so emission is skipped when nothing is due). */
  minTime = Number.POSITIVE_INFINITY;
  advance(ts: number): void {
    if (ts > this.streamTime) this.streamTime = ts;
  }
}

const LEFT = 0;
const RIGHT = 1;

export interface StreamStreamJoinOptions {
  readonly thisStore: string;
  readonly otherStore: string;
  readonly outerStore: string | undefined;
  readonly joiner: Joiner;
  readonly isLeftSide: boolean;
  /** This side emits a non-joined result (left side of a left join, both sides of an outer join). */
  readonly outer: boolean;
  /** The JoinWindows: before/after as declared for the left side. */
  readonly beforeMs: number;
  readonly afterMs: number;
  readonly graceMs: number;
  readonly trackerKey: string;
  readonly keySerde: Serde<unknown>;
  readonly thisValueSerde: Serde<unknown>;
  readonly otherValueSerde: Serde<unknown>;
  readonly leftValueSerde: Serde<unknown>;
  readonly rightValueSerde: Serde<unknown>;
}

export class StreamStreamJoinNode extends ProcessorNode {
  private readonly o: StreamStreamJoinOptions;
  private thisStore!: WindowStore<unknown, unknown>;
  private otherStore!: WindowStore<unknown, unknown>;
  private outerStore: KeyValueStore<Uint8Array, Uint8Array> | undefined;
  private tracker!: JoinTimeTracker;
  // Window bounds from this side's point of view.
  private readonly lookBefore: number;
  private readonly lookAfter: number;
  constructor(name: string, o: StreamStreamJoinOptions) {
    super(name);
    this.o = o;
    this.lookBefore = o.isLeftSide ? o.beforeMs : o.afterMs;
    this.lookAfter = o.isLeftSide ? o.afterMs : o.beforeMs;
  }
  override init(ctx: TaskContext): void {
    super.init(ctx);
    this.thisStore = ctx.getStore(this.o.thisStore) as WindowStore<unknown, unknown>;
    this.otherStore = ctx.getStore(this.o.otherStore) as WindowStore<unknown, unknown>;
    if (this.o.outerStore !== undefined) {
      this.outerStore = ctx.getStore(this.o.outerStore) as KeyValueStore<Uint8Array, Uint8Array>;
    }
    let t = ctx.shared.get(this.o.trackerKey) as JoinTimeTracker | undefined;
    if (t === undefined) {
      t = new JoinTimeTracker();
      if (ctx.streamTime > t.streamTime) t.streamTime = ctx.streamTime;
      ctx.shared.set(this.o.trackerKey, t);
      // After a restart the outer store may hold records: find the lowest time again.
      if (this.outerStore !== undefined) {
        const first = this.outerStore.range(undefined, undefined)[0];
        if (first !== undefined) t.minTime = readTimestamp(first.key, 0);
      }
    }
    this.tracker = t;
  }
  private join(thisV: unknown, otherV: unknown, key: unknown): unknown {
    return this.o.isLeftSide ? this.o.joiner(thisV, otherV, key) : this.o.joiner(otherV, thisV, key);
  }
  process(key: unknown, value: unknown, ts: number): void {
    const o = this.o;
    const tracker = this.tracker;
    tracker.advance(ts);
    if (key === null || key === undefined) {
      if (o.outer && value !== null) this.forward(key, this.join(value, null, key), ts);
      else this.ctx.drop("null-key");
      return;
    }
    if (value === null) {
      this.ctx.drop("null-value");
      return;
    }
    // A record whose whole join window has closed can never be joined: dropped as late.
    if (ts + this.lookAfter + o.graceMs < tracker.streamTime) {
      this.ctx.drop("late");
      return;
    }
    this.thisStore.put(key, value, ts);
    if (ts === tracker.streamTime && this.outerStore !== undefined) this.emitNonJoined();
    const timeFrom = Math.max(0, ts - this.lookBefore);
    const timeTo = Math.max(0, ts + this.lookAfter);
    const others = this.otherStore.fetchRange(key, timeFrom, timeTo);
    if (others.length === 0) {
      if (!o.outer) return;
      if (this.outerStore === undefined || timeTo < tracker.streamTime) {
        this.forward(key, this.join(value, null, key), ts);
      } else {
        if (ts < tracker.minTime) tracker.minTime = ts;
        this.putOuter(key, value, ts);
      }
      return;
    }
    for (let i = 0; i < others.length; i++) {
      const other = others[i]!;
      if (this.outerStore !== undefined) this.deleteOuter(key, other.key);
      this.forward(key, this.join(value, other.value, key), Math.max(ts, other.key));
    }
  }
  private outerKey(keyBytes: Uint8Array, ts: number, side: number): Uint8Array {
    const out = new Uint8Array(9 + keyBytes.byteLength);
    writeTimestamp(out, 0, ts);
    out[8] = side;
    out.set(keyBytes, 9);
    return out;
  }
  private keyBytes(key: unknown): Uint8Array {
    return this.o.keySerde.serialize("", key) ?? new Uint8Array(0);
  }
  private putOuter(key: unknown, value: unknown, ts: number): void {
    const k = this.outerKey(this.keyBytes(key), ts, this.o.isLeftSide ? LEFT : RIGHT);
    const v = this.o.thisValueSerde.serialize("", value) ?? new Uint8Array(0);
    const prev = this.outerStore!.get(k);
    const prevLen = prev === undefined ? 0 : prev.byteLength;
    const list = new Uint8Array(prevLen + 4 + v.byteLength);
    if (prev !== undefined) list.set(prev, 0);
    new DataView(list.buffer).setUint32(prevLen, v.byteLength);
    list.set(v, prevLen + 4);
    this.outerStore!.put(k, list);
  }
  private deleteOuter(key: unknown, otherTs: number): void {
    const k = this.outerKey(this.keyBytes(key), otherTs, this.o.isLeftSide ? RIGHT : LEFT);
    if (this.outerStore!.get(k) !== undefined) this.outerStore!.delete(k);
  }
  private emitNonJoined(): void {
    const o = this.o;
    const tracker = this.tracker;
    const store = this.outerStore!;
    // Nothing can be due while the oldest held record's window is still open.
    if (tracker.minTime + Math.max(o.afterMs, o.beforeMs) + o.graceMs >= tracker.streamTime) return;
    let leftOpen = false;
    let rightOpen = false;
    let minRemaining = Number.POSITIVE_INFINITY;
    const done: Uint8Array[] = [];
    for (const e of store.range(undefined, undefined)) {
      if (leftOpen && rightOpen) break;
      const ts = readTimestamp(e.key, 0);
      const side = e.key[8]!;
      // A left record looks ahead `after`; a right record `before` (its window on the left side).
      const lookAhead = side === LEFT ? o.afterMs : o.beforeMs;
      if (ts + lookAhead + o.graceMs >= tracker.streamTime) {
        if (side === LEFT) leftOpen = true;
        else rightOpen = true;
        if (ts < minRemaining) minRemaining = ts;
        continue;
      }
      const key = o.keySerde.deserialize("", e.key.subarray(9));
      const vSerde = side === LEFT ? o.leftValueSerde : o.rightValueSerde;
      const dv = new DataView(e.value.buffer, e.value.byteOffset, e.value.byteLength);
      for (let p = 0; p < e.value.byteLength; ) {
        const n = dv.getUint32(p);
        const v = vSerde.deserialize("", e.value.subarray(p + 4, p + 4 + n));
        p += 4 + n;
        this.forward(key, side === LEFT ? o.joiner(v, null, key) : o.joiner(null, v, key), ts);
      }
      done.push(e.key);
    }
    for (const k of done) store.delete(k);
    tracker.minTime = minRemaining;
  }
}

/** KStream-KTable and KStream-GlobalKTable joins: look the table up, never triggered by the table. */
export class StreamTableJoinNode extends ProcessorNode {
  private readonly getterSupplier: ValueGetterSupplier;
  private getter!: ValueGetter;
  private readonly joiner: Joiner;
  private readonly leftJoin: boolean;
  private readonly keyMapper: ((k: unknown, v: unknown) => unknown) | undefined;
  constructor(
    name: string,
    getter: ValueGetterSupplier,
    joiner: Joiner,
    leftJoin: boolean,
    keyMapper?: (k: unknown, v: unknown) => unknown,
  ) {
    super(name);
    this.getterSupplier = getter;
    this.joiner = joiner;
    this.leftJoin = leftJoin;
    this.keyMapper = keyMapper;
  }
  override init(ctx: TaskContext): void {
    super.init(ctx);
    this.getter = this.getterSupplier.make(ctx);
  }
  process(key: unknown, value: unknown, ts: number): void {
    if (value === null) {
      this.ctx.drop("null-value");
      return;
    }
    const lookup = this.keyMapper === undefined ? key : this.keyMapper(key, value);
    if (lookup === null || lookup === undefined) {
      // KIP-962: a left join forwards a record whose (mapped) key is null, with no table value.
      if (this.leftJoin) this.forward(key, this.joiner(value, null, key), ts);
      else this.ctx.drop("null-key");
      return;
    }
    const right = this.getter.get(lookup);
    const rv = right === undefined ? null : right.value;
    if (rv === null && !this.leftJoin) return;
    this.forward(key, this.joiner(value, rv, key), ts);
  }
}

export type TableJoinMode = "inner" | "left" | "outer" | "leftRightSide";

/** One side of a KTable-KTable equi-join (Kafka's KTableKTable{Inner,Left,Right,Outer}Join). */
export class TableTableJoinNode extends ProcessorNode {
  private readonly otherSupplier: ValueGetterSupplier;
  private other!: ValueGetter;
  private readonly joiner: Joiner;
  private readonly mode: TableJoinMode;
  private readonly isLeftSide: boolean;
  constructor(
    name: string,
    other: ValueGetterSupplier,
    joiner: Joiner,
    mode: TableJoinMode,
    isLeftSide: boolean,
  ) {
    super(name);
    this.otherSupplier = other;
    this.joiner = joiner;
    this.mode = mode;
    this.isLeftSide = isLeftSide;
  }
  override init(ctx: TaskContext): void {
    super.init(ctx);
    this.other = this.otherSupplier.make(ctx);
  }
  private j(thisV: unknown, otherV: unknown, key: unknown): unknown {
    return this.isLeftSide ? this.joiner(thisV, otherV, key) : this.joiner(otherV, thisV, key);
  }
  process(key: unknown, value: unknown, ts: number): void {
    if (key === null || key === undefined) {
      this.ctx.drop("null-key");
      return;
    }
    const c = value as Change<unknown>;
    const other = this.other.get(key);
    const ov = other === undefined ? null : other.value;
    let nv: unknown = null;
    let old: unknown = null;
    let rts = ts;
    switch (this.mode) {
      case "inner":
        if (ov === null) return;
        rts = Math.max(ts, other!.timestamp);
        if (c.newValue !== null) nv = this.j(c.newValue, ov, key);
        if (c.oldValue !== null) old = this.j(c.oldValue, ov, key);
        break;
      case "left":
        if (ov === null) {
          if (c.newValue === null && c.oldValue === null) return;
        } else rts = Math.max(ts, other!.timestamp);
        if (c.newValue !== null) nv = this.j(c.newValue, ov, key);
        if (c.oldValue !== null) old = this.j(c.oldValue, ov, key);
        break;
      case "leftRightSide":
        if (ov === null) return;
        rts = Math.max(ts, other!.timestamp);
        nv = this.j(c.newValue, ov, key);
        old = this.j(c.oldValue, ov, key);
        break;
      case "outer":
        if (ov === null) {
          if (c.newValue === null && c.oldValue === null) return;
        } else rts = Math.max(ts, other!.timestamp);
        if (ov !== null || c.newValue !== null) nv = this.j(c.newValue, ov, key);
        if (ov !== null || c.oldValue !== null) old = this.j(c.oldValue, ov, key);
        break;
    }
    this.forward(key, { newValue: nv, oldValue: old }, rts);
  }
}

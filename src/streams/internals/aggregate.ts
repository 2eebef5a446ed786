// Stateful aggregation nodes: stream and table aggregations (count/reduce/aggregate), windowed
// aggregations on time, sliding and session windows, KTable sources and stream-to-table. Event
// time rules follow Kafka Streams: output timestamp = max timestamp of the inputs aggregated;
// a window closes when observed stream time - grace >= its end; later records are dropped and
// counted as "late".
import type {
  KeyValueStore,
  SessionStore,
  TypedKeyValueStore,
  TypedWindowStore,
  ValueAndTimestamp,
  WindowStore,
} from "../stores.ts";
import type { Change } from "../types.ts";
import type { SessionWindows, SlidingWindows, TimeWindows, Window, Windowed } from "../windows.ts";
import type { TaskContext } from "./context.ts";
import { ProcessorNode } from "./node.ts";

type TsStore = KeyValueStore<unknown, ValueAndTimestamp<unknown>>;
type TsWindowStore = WindowStore<unknown, ValueAndTimestamp<unknown>>;
type Init = () => unknown;
type Agg = (k: unknown, v: unknown, agg: unknown) => unknown;

/** With a record cache, the node forwards when the cache flushes an entry, not on each update. */
function registerKeyValueForwarder(node: ProcessorNode, ctx: TaskContext, storeName: string): boolean {
  if (!ctx.cachedStores.has(storeName)) return false;
  const store = ctx.getStore(storeName) as TypedKeyValueStore<unknown, ValueAndTimestamp<unknown>>;
  ctx.cacheForwarders.set(storeName, (k, n, o) => {
    const nv = n === null ? null : store.decodeValue(n);
    const ov = o === null ? null : store.decodeValue(o);
    const ts = nv?.timestamp ?? ctx.timestamp;
    ctx.timestamp = ts;
    node.forward(store.decodeKey(k), { newValue: nv?.value ?? null, oldValue: ov?.value ?? null }, ts);
  });
  return true;
}

function registerWindowForwarder(
  node: ProcessorNode,
  ctx: TaskContext,
  storeName: string,
  sizeMs: number,
): boolean {
  if (!ctx.cachedStores.has(storeName)) return false;
  const store = ctx.getStore(storeName) as TypedWindowStore<unknown, ValueAndTimestamp<unknown>>;
  ctx.cacheForwarders.set(storeName, (k, n, o, start) => {
    const nv = n === null ? null : store.decodeValue(n);
    const ov = o === null ? null : store.decodeValue(o);
    const ts = nv?.timestamp ?? ctx.timestamp;
    ctx.timestamp = ts;
    const w: Windowed<unknown> = { key: store.decodeKey(k), window: { start: start!, end: start! + sizeMs } };
    node.forward(w, { newValue: nv?.value ?? null, oldValue: ov?.value ?? null }, ts);
  });
  return true;
}

/** KTable source / toTable: materializes the latest value per key and forwards the change. */
export class TableSourceNode extends ProcessorNode {
  private readonly storeName: string;
  private store!: TsStore;
  constructor(name: string, storeName: string) {
    super(name);
    this.storeName = storeName;
  }
  override init(ctx: TaskContext): void {
    super.init(ctx);
    this.store = ctx.getStore(this.storeName) as TsStore;
  }
  process(key: unknown, value: unknown, ts: number): void {
    if (key === null || key === undefined) {
      this.ctx.drop("null-key");
      return;
    }
    const old = this.store.get(key);
    this.store.put(key, value === null ? null : { value, timestamp: ts });
    this.forward(key, { newValue: value, oldValue: old === undefined ? null : old.value }, ts);
  }
}

/** KGroupedStream aggregate (count and reduce are built on it). */
export class StreamAggregateNode extends ProcessorNode {
  private readonly storeName: string;
  private readonly initializer: Init | null;
  private readonly aggregator: Agg;
  private store!: TsStore;
  /** initializer null = reduce: the first value is the aggregate. */
  constructor(name: string, storeName: string, initializer: Init | null, aggregator: Agg) {
    super(name);
    this.storeName = storeName;
    this.initializer = initializer;
    this.aggregator = aggregator;
  }
  private cached = false;
  override init(ctx: TaskContext): void {
    super.init(ctx);
    this.store = ctx.getStore(this.storeName) as TsStore;
    this.cached = registerKeyValueForwarder(this, ctx, this.storeName);
  }
  process(key: unknown, value: unknown, ts: number): void {
    if (key === null || key === undefined || value === null) {
      this.ctx.drop(key === null || key === undefined ? "null-key" : "null-value");
      return;
    }
    const old = this.store.get(key);
    let newAgg: unknown;
    let newTs = ts;
    if (old === undefined) {
      newAgg = this.initializer === null ? value : this.aggregator(key, value, this.initializer());
    } else {
      newAgg = this.aggregator(key, value, old.value);
      if (old.timestamp > ts) newTs = old.timestamp;
    }
    this.store.put(key, { value: newAgg, timestamp: newTs });
    if (!this.cached)
      this.forward(key, { newValue: newAgg, oldValue: old === undefined ? null : old.value }, newTs);
  }
}

/** KGroupedTable aggregate: subtract the old value, add the new one (Kafka's KTableAggregate). */
export class TableAggregateNode extends ProcessorNode {
  private readonly storeName: string;
  private readonly initializer: Init | null;
  private readonly adder: Agg;
  private readonly subtractor: Agg;
  private store!: TsStore;
  constructor(name: string, storeName: string, initializer: Init | null, adder: Agg, subtractor: Agg) {
    super(name);
    this.storeName = storeName;
    this.initializer = initializer;
    this.adder = adder;
    this.subtractor = subtractor;
  }
  private cached = false;
  override init(ctx: TaskContext): void {
    super.init(ctx);
    this.store = ctx.getStore(this.storeName) as TsStore;
    this.cached = registerKeyValueForwarder(this, ctx, this.storeName);
  }
  process(key: unknown, value: unknown, ts: number): void {
    if (key === null || key === undefined) {
      this.ctx.drop("null-key");
      return;
    }
    const change = value as Change<unknown>;
    const old = this.store.get(key);
    const oldAgg = old === undefined ? null : old.value;
    let agg = oldAgg;
    let newTs = ts;
    if (change.oldValue !== null && oldAgg !== null) {
      agg = this.subtractor(key, change.oldValue, oldAgg);
      newTs = Math.max(ts, old!.timestamp);
    }
    if (change.newValue !== null) {
      if (agg === null) {
        agg =
          this.initializer === null ? change.newValue : this.adder(key, change.newValue, this.initializer());
      } else {
        agg = this.adder(key, change.newValue, agg);
      }
      if (old !== undefined) newTs = Math.max(ts, old.timestamp);
    }
    this.store.put(key, agg === null ? null : { value: agg, timestamp: newTs });
    if (!this.cached) this.forward(key, { newValue: agg, oldValue: oldAgg }, newTs);
  }
}

/** KTable.groupBy: re-keys each change; the old value goes first (subtract), then the new one (add). */
export class TableRepartitionMapNode extends ProcessorNode {
  private readonly selector: (k: unknown, v: unknown) => readonly [unknown, unknown];
  constructor(name: string, selector: (k: unknown, v: unknown) => readonly [unknown, unknown]) {
    super(name);
    this.selector = selector;
  }
  process(key: unknown, value: unknown, ts: number): void {
    const c = value as Change<unknown>;
    if (c.oldValue !== null) {
      const [k, v] = this.selector(key, c.oldValue);
      if (k !== null && k !== undefined && v !== null) this.forward(k, { newValue: null, oldValue: v }, ts);
    }
    if (c.newValue !== null) {
      const [k, v] = this.selector(key, c.newValue);
      if (k !== null && k !== undefined && v !== null) this.forward(k, { newValue: v, oldValue: null }, ts);
    }
  }
}

/** Tracks the highest timestamp seen by one operator (Kafka's observedStreamTime). */
function observe(node: { observed: number; ctx: TaskContext }, ts: number): number {
  if (ts > node.observed) node.observed = ts;
  return node.observed;
}

export class TimeWindowAggregateNode extends ProcessorNode {
  private readonly storeName: string;
  private readonly windows: TimeWindows;
  private readonly initializer: Init | null;
  private readonly aggregator: Agg;
  private store!: TsWindowStore;
  observed = -1;
  constructor(
    name: string,
    storeName: string,
    windows: TimeWindows,
    initializer: Init | null,
    aggregator: Agg,
  ) {
    super(name);
    this.storeName = storeName;
    this.windows = windows;
    this.initializer = initializer;
    this.aggregator = aggregator;
  }
  private cached = false;
  override init(ctx: TaskContext): void {
    super.init(ctx);
    this.store = ctx.getStore(this.storeName) as TsWindowStore;
    this.observed = ctx.streamTime;
    this.cached = registerWindowForwarder(this, ctx, this.storeName, this.windows.sizeMs);
  }
  process(key: unknown, value: unknown, ts: number): void {
    if (key === null || key === undefined || value === null) {
      this.ctx.drop(key === null || key === undefined ? "null-key" : "null-value");
      return;
    }
    const closeTime = observe(this, ts) - this.windows.graceMs;
    const size = this.windows.sizeMs;
    for (const start of this.windows.windowStartsFor(ts)) {
      const end = start + size;
      if (end <= closeTime) {
        this.ctx.drop("late");
        continue;
      }
      const old = this.store.fetch(key, start);
      let newAgg: unknown;
      let newTs = ts;
      if (old === undefined) {
        newAgg = this.initializer === null ? value : this.aggregator(key, value, this.initializer());
      } else {
        newAgg = this.aggregator(key, value, old.value);
        if (old.timestamp > ts) newTs = old.timestamp;
      }
      this.store.put(key, { value: newAgg, timestamp: newTs }, start);
      if (this.cached) continue;
      const w: Windowed<unknown> = { key, window: { start, end } };
      this.forward(w, { newValue: newAgg, oldValue: old === undefined ? null : old.value }, newTs);
    }
  }
}

/**
 * Sliding windows (KIP-450): every distinct window [t - d, t] and [t + 1, t + 1 + d] that holds
 * records. Follows Kafka Streams' in-order algorithm so aggregates and emitted updates match it.
 */
export class SlidingWindowAggregateNode extends ProcessorNode {
  private readonly storeName: string;
  private readonly d: number;
  private readonly grace: number;
  private readonly initializer: Init;
  private readonly aggregator: Agg;
  private store!: TsWindowStore;
  observed = -1;
  constructor(name: string, storeName: string, windows: SlidingWindows, initializer: Init, aggregator: Agg) {
    super(name);
    this.storeName = storeName;
    this.d = windows.timeDifferenceMs;
    this.grace = windows.graceMs;
    this.initializer = initializer;
    this.aggregator = aggregator;
  }
  override init(ctx: TaskContext): void {
    super.init(ctx);
    this.store = ctx.getStore(this.storeName) as TsWindowStore;
    this.observed = ctx.streamTime;
  }
  process(key: unknown, value: unknown, ts: number): void {
    if (key === null || key === undefined || value === null) {
      this.ctx.drop(key === null || key === undefined ? "null-key" : "null-value");
      return;
    }
    const closeTime = observe(this, ts) - this.grace;
    const d = this.d;
    if (ts + 1 + d <= closeTime) {
      this.ctx.drop("late");
      return;
    }
    if (ts < d) {
      this.processEarly(key, value, ts, closeTime);
      return;
    }
    const starts = new Set<number>();
    let leftWinAgg: ValueAndTimestamp<unknown> | undefined;
    let rightWinAgg: ValueAndTimestamp<unknown> | undefined;
    let leftCreated = false;
    let rightCreated = false;
    let prevTs: number | undefined;
    for (const e of this.store.fetchRange(key, Math.max(0, ts - 2 * d), ts + 1)) {
      const start = e.key;
      starts.add(start);
      const end = start + d;
      const maxTs = e.value.timestamp;
      if (end < ts) {
        leftWinAgg = e.value;
        prevTs = maxTs;
      } else if (end === ts) {
        leftCreated = true;
        if (maxTs < ts) prevTs = maxTs;
        this.update(key, value, { start, end }, e.value, closeTime, ts);
      } else if (start <= ts) {
        rightWinAgg = e.value;
        this.update(key, value, { start, end }, e.value, closeTime, ts);
      } else if (start === ts + 1) {
        rightCreated = true;
      }
    }
    if (prevTs !== undefined) {
      const prevRightStart = prevTs + 1;
      if (!starts.has(prevRightStart) && prevRightStart + d >= ts) {
        this.update(key, value, { start: prevRightStart, end: prevRightStart + d }, undefined, closeTime, ts);
      }
    }
    if (!leftCreated) {
      const base =
        prevTs !== undefined && ts - d <= prevTs && leftWinAgg !== undefined
          ? { value: leftWinAgg.value, timestamp: ts }
          : undefined;
      this.update(key, value, { start: ts - d, end: ts }, base, closeTime, ts);
    }
    if (!rightCreated && rightWinAgg !== undefined && rightWinAgg.timestamp > ts) {
      this.createRight(key, ts, rightWinAgg);
    }
  }
  private processEarly(key: unknown, value: unknown, ts: number, closeTime: number): void {
    const d = this.d;
    let combined: { start: number; value: ValueAndTimestamp<unknown> } | undefined;
    let rightWinAgg: ValueAndTimestamp<unknown> | undefined;
    let rightCreated = false;
    const starts = new Set<number>();
    let prevTs: number | undefined;
    for (const e of this.store.fetchRange(key, 0, ts + 1)) {
      const start = e.key;
      starts.add(start);
      if (start === 0) {
        combined = { start, value: e.value };
        if (e.value.timestamp < ts) prevTs = e.value.timestamp;
      } else if (start <= ts) {
        rightWinAgg = e.value;
        this.update(key, value, { start, end: start + d }, e.value, closeTime, ts);
      } else if (start === ts + 1) {
        rightCreated = true;
      }
    }
    if (rightWinAgg === undefined && combined !== undefined && combined.value.timestamp > ts) {
      rightWinAgg = combined.value;
    }
    if (!rightCreated && rightWinAgg !== undefined && rightWinAgg.timestamp > ts) {
      this.createRight(key, ts, rightWinAgg);
    }
    if (prevTs !== undefined && !starts.has(prevTs + 1)) {
      this.update(key, value, { start: prevTs + 1, end: prevTs + 1 + d }, undefined, closeTime, ts);
    }
    this.update(key, value, { start: 0, end: d }, combined?.value, closeTime, ts);
  }
  private createRight(key: unknown, ts: number, agg: ValueAndTimestamp<unknown>): void {
    const w = { start: ts + 1, end: ts + 1 + this.d };
    this.store.put(key, agg, w.start);
    this.forward({ key, window: w }, { newValue: agg.value, oldValue: null }, agg.timestamp);
  }
  private update(
    key: unknown,
    value: unknown,
    w: Window,
    old: ValueAndTimestamp<unknown> | undefined,
    closeTime: number,
    ts: number,
  ): void {
    if (w.end < closeTime) {
      this.ctx.drop("late");
      return;
    }
    const oldAgg = old === undefined ? this.initializer() : old.value;
    const newAgg = this.aggregator(key, value, oldAgg);
    const newTs = old === undefined ? ts : Math.max(ts, old.timestamp);
    this.store.put(key, { value: newAgg, timestamp: newTs }, w.start);
    this.forward(
      { key, window: w },
      { newValue: newAgg, oldValue: old === undefined ? null : old.value },
      newTs,
    );
  }
}

/** Session windows: merges overlapping sessions; removed sessions are retracted with a tombstone. */
export class SessionWindowAggregateNode extends ProcessorNode {
  private readonly storeName: string;
  private readonly windows: SessionWindows;
  private readonly initializer: Init | null;
  private readonly aggregator: Agg;
  private readonly merger: ((k: unknown, a: unknown, b: unknown) => unknown) | null;
  private store!: SessionStore<unknown, unknown>;
  observed = -1;
  constructor(
    name: string,
    storeName: string,
    windows: SessionWindows,
    initializer: Init | null,
    aggregator: Agg,
    merger: ((k: unknown, a: unknown, b: unknown) => unknown) | null,
  ) {
    super(name);
    this.storeName = storeName;
    this.windows = windows;
    this.initializer = initializer;
    this.aggregator = aggregator;
    this.merger = merger;
  }
  override init(ctx: TaskContext): void {
    super.init(ctx);
    this.store = ctx.getStore(this.storeName) as SessionStore<unknown, unknown>;
    this.observed = ctx.streamTime;
  }
  process(key: unknown, value: unknown, ts: number): void {
    if (key === null || key === undefined || value === null) {
      this.ctx.drop(key === null || key === undefined ? "null-key" : "null-value");
      return;
    }
    const closeTime = observe(this, ts) - this.windows.graceMs;
    const gap = this.windows.inactivityGapMs;
    const overlapping = this.store.findSessions(key, ts - gap, ts + gap);
    let start = ts;
    let end = ts;
    // Kafka: aggregate = merge(initializer(), each overlapping session), then add the record.
    let agg: unknown = overlapping.length > 0 && this.initializer !== null ? this.initializer() : null;
    for (const s of overlapping) {
      if (agg === null) agg = s.value;
      else agg = this.merger === null ? this.aggregator(key, s.value, agg) : this.merger(key, agg, s.value);
      if (s.key.window.start < start) start = s.key.window.start;
      if (s.key.window.end > end) end = s.key.window.end;
    }
    if (end < closeTime) {
      this.ctx.drop("late");
      return;
    }
    for (const s of overlapping) {
      if (s.key.window.start === start && s.key.window.end === end) continue;
      this.store.remove(s.key);
      this.forward(s.key, { newValue: null, oldValue: s.value }, s.key.window.end);
    }
    const same = overlapping.find((s) => s.key.window.start === start && s.key.window.end === end);
    if (agg === null)
      agg = this.initializer === null ? value : this.aggregator(key, value, this.initializer());
    else agg = this.aggregator(key, value, agg);
    const w: Windowed<unknown> = { key, window: { start, end } };
    this.store.put(w, agg);
    this.forward(w, { newValue: agg, oldValue: same === undefined ? null : same.value }, end);
  }
}

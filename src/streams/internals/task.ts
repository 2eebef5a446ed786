// A stream task: one sub-topology instance for one input partition (group). It owns its stores,
// chooses the next record across its input partitions by timestamp (Kafka's PartitionGroup),
// deserializes, extracts event time, runs the processor graph synchronously, tracks stream time
// and punctuates. The same class runs inside the TopologyTestDriver and the runtime.
import type { ConsumedRecord } from "../../cluster/index.ts";
import type { Clock } from "../../observe/index.ts";
import type {
  KeyValueBytesStore,
  SessionBytesStore,
  StateStore,
  WindowBytesStore,
} from "../../state/index.ts";
import {
  CachingKeyValueStore,
  CachingWindowStore,
  inMemoryKeyValueStore,
  inMemorySessionStore,
  inMemoryWindowStore,
  type RecordCache,
} from "../../state/index.ts";
import { ProcessingError, StreamsError } from "../errors.ts";
import { TypedKeyValueStore, TypedSessionStore, TypedWindowStore } from "../stores.ts";
import { TableSourceNode } from "./aggregate.ts";
import type { InternalTopologyBuilder, ProcessorTopology, StoreDef } from "./builder.ts";
import { type RecordCollector, TaskContext } from "./context.ts";
import { LoggedKeyValueStore, LoggedSessionStore, LoggedWindowStore } from "./logged.ts";
import { EMPTY_HEADERS, type SourceNode } from "./node.ts";

/** Creates the byte stores of a task (lmdb for persistent stores in the runtime; memory otherwise). */
export interface StoreProvider {
  keyValue(name: string, persistent: boolean, taskId: string): KeyValueBytesStore;
  window(
    name: string,
    persistent: boolean,
    taskId: string,
    o: { windowSizeMs: number; retentionMs: number; retainDuplicates: boolean },
  ): WindowBytesStore;
  session(name: string, persistent: boolean, taskId: string, o: { retentionMs: number }): SessionBytesStore;
}

export const memoryStoreProvider: StoreProvider = {
  keyValue: (name) => inMemoryKeyValueStore(name),
  window: (name, _p, _t, o) => inMemoryWindowStore(name, o),
  session: (name, _p, _t, o) => inMemorySessionStore(name, o),
};

/**
 * Guard for the state layer's in-memory window store (as of ca012c1), whose put on an existing
 * (key, window) adds a second entry instead of replacing it: delete first. Harmless once fixed.
 */
function overwritingWindowStore(inner: WindowBytesStore, duplicates: boolean): WindowBytesStore {
  if (duplicates || (inner as { overwriteGuarded?: boolean }).overwriteGuarded) return inner;
  (inner as { overwriteGuarded?: boolean }).overwriteGuarded = true;
  const put = inner.put.bind(inner);
  inner.putOwned = undefined; // every write goes through the guarded put
  const logged = inner as { onEntryWrite?: unknown };
  inner.put = (key, value, windowStart) => {
    if (value !== null && inner.fetch(key, windowStart) !== undefined) {
      // The changelog records the overwrite alone, not this delete before it.
      const hook = logged.onEntryWrite;
      logged.onEntryWrite = undefined;
      try {
        put(key, null, windowStart);
      } finally {
        logged.onEntryWrite = hook;
      }
    }
    put(key, value, windowStart);
  };
  return inner;
}

export type DeserializationDecision = "continue" | "fail";

/** Decides what to do with a record whose key or value cannot be deserialized. */
export type DeserializationHandler = (record: ConsumedRecord, error: Error) => DeserializationDecision;

export interface TaskStore {
  readonly def: StoreDef;
  /** The byte store without logging (restore writes here). */
  readonly inner: StateStore;
  readonly changelogTopic: string | undefined;
  readonly typed: unknown;
  /** The caching layer, when the store is cached. */
  readonly cached?: { flush(): void | Promise<void> };
}

export interface TaskOptions {
  readonly applicationId: string;
  readonly clock: Clock;
  readonly collector: RecordCollector;
  readonly storeProvider: StoreProvider;
  readonly globalStores: Map<string, unknown>;
  readonly onDeserializationError?: DeserializationHandler;
  /** Write changelogs (false in the test driver's pure mode is not needed: the collector ignores them). */
  readonly logging?: boolean;
  /** Record cache of the thread (absent or 0 bytes: every update is forwarded at once). */
  readonly cache?: RecordCache;
}

interface Queue {
  readonly topic: string;
  readonly partition: number;
  records: ConsumedRecord[];
  head: number;
  partitionTime: number;
}

export class StreamTask {
  readonly id: string;
  readonly subtopologyId: number;
  readonly partition: number;
  readonly topology: ProcessorTopology;
  readonly ctx: TaskContext;
  readonly stores = new Map<string, TaskStore>();
  private readonly options: TaskOptions;
  private readonly queues = new Map<string, Queue>();
  private queueList: Queue[] = [];
  /** Next offset to commit per input partition ("topic:partition"). */
  readonly consumed = new Map<string, number>();
  private initialized = false;
  private buffered = 0;

  constructor(
    builder: InternalTopologyBuilder,
    subtopologyId: number,
    partition: number,
    options: TaskOptions,
    topology?: ProcessorTopology,
  ) {
    this.id = subtopologyId < 0 ? "global" : `${subtopologyId}_${partition}`;
    this.subtopologyId = subtopologyId;
    this.partition = partition;
    this.options = options;
    this.topology = topology ?? builder.build(subtopologyId);
    this.ctx = new TaskContext(
      options.applicationId,
      this.id,
      options.clock,
      options.collector,
      options.globalStores,
    );
    for (const def of this.topology.storeDefs) this.createStore(def, builder);
  }

  private createStore(def: StoreDef, builder: InternalTopologyBuilder): void {
    const s = def.spec;
    const p = this.options.storeProvider;
    const logging = (this.options.logging ?? true) && s.logging;
    const topic = builder.changelogTopic(s.name);
    let inner: StateStore;
    let typed: unknown;
    const cache = this.options.cache;
    // Processor API stores are cached too (Kafka's withCachingEnabled): writes of a key are
    // coalesced until the commit (or an eviction); only DSL (timestamped) stores forward
    // their flushed updates downstream. Global stores are never cached: nothing flushes a global
    // task's cache before its stores are checkpointed.
    const cacheable =
      cache !== undefined && cache.maxBytes > 0 && s.caching === true && this.subtopologyId >= 0;
    let cached: { flush(): void | Promise<void> } | undefined;
    const ctx = this.ctx;
    if (s.kind === "keyValue") {
      const raw = p.keyValue(s.name, s.persistent, this.id);
      inner = raw;
      let w: KeyValueBytesStore = logging
        ? new LoggedKeyValueStore(raw, topic, this.partition, this.ctx)
        : raw;
      if (cacheable) {
        // No listener for Processor API stores: a flush then skips reading each key's old value.
        const c = new CachingKeyValueStore(
          w,
          cache,
          s.timestamped ? (k, n, o) => ctx.cacheForwarders.get(s.name)?.(k, n, o) : undefined,
        );
        cached = c;
        w = c;
        if (s.timestamped) ctx.cachedStores.add(s.name);
      }
      typed = new TypedKeyValueStore(w, s.keySerde, s.valueSerde, topic);
    } else if (s.kind === "window") {
      const o = {
        windowSizeMs: s.windowSizeMs!,
        retentionMs: s.retentionMs!,
        retainDuplicates: s.retainDuplicates ?? false,
      };
      const made = p.window(s.name, s.persistent, this.id, o);
      // In-memory window stores (any provider) get the overwrite guard (see overwritingWindowStore).
      const raw = made.persistent ? made : overwritingWindowStore(made, o.retainDuplicates);
      inner = raw;
      let w: WindowBytesStore = logging
        ? new LoggedWindowStore(raw, topic, this.partition, this.ctx, o.retainDuplicates)
        : raw;
      if (cacheable && !o.retainDuplicates) {
        const c = new CachingWindowStore(
          w,
          cache,
          s.timestamped
            ? (k, n, o2) => ctx.cacheForwarders.get(s.name)?.(k.key, n, o2, k.windowStart)
            : undefined,
        );
        cached = c;
        w = c;
        if (s.timestamped) ctx.cachedStores.add(s.name);
      }
      typed = new TypedWindowStore(w, s.keySerde, s.valueSerde, topic);
    } else {
      const raw = p.session(s.name, s.persistent, this.id, { retentionMs: s.retentionMs! });
      inner = raw;
      const w = logging ? new LoggedSessionStore(raw, topic, this.partition, this.ctx) : raw;
      typed = new TypedSessionStore(w, s.keySerde, s.valueSerde, topic);
    }
    this.stores.set(s.name, { def, inner, changelogTopic: logging ? topic : undefined, typed, cached });
    this.ctx.registerStore(s.name, typed);
  }

  /**
   * The global task: every global store's update path. Its stores are registered in
   * `options.globalStores`, which every stream task reads.
   */
  static global(builder: InternalTopologyBuilder, options: TaskOptions): StreamTask | undefined {
    const parts = builder.globalParts();
    if (parts.length === 0) return undefined;
    const names = parts.flatMap((p) => p.nodes);
    const { nodes, byName } = builder.instantiate(names);
    const sourcesByTopic = new Map<string, SourceNode>();
    for (const n of names) {
      const d = builder.nodes.get(n)!;
      if (d.kind === "source") for (const t of d.topics!) sourcesByTopic.set(t, byName.get(n) as SourceNode);
    }
    const storeDefs = parts.map((p) => builder.stores.get(p.store)!);
    const st = {
      id: -1,
      nodes: names,
      sourceTopics: parts.map((p) => p.topic),
      sinkTopics: [],
      stores: parts.map((p) => p.store),
      repartitionSourceTopics: [],
    };
    const task = new StreamTask(
      builder,
      -1,
      0,
      { ...options, logging: false },
      { subtopology: st, sourcesByTopic, nodes, storeDefs },
    );
    for (const [name, s] of task.stores) options.globalStores.set(name, s.typed);
    return task;
  }

  /** Initializes processors (after stores are restored). */
  initialize(streamTime = -1): void {
    if (this.initialized) return;
    this.ctx.streamTime = streamTime;
    for (const n of this.topology.nodes) n.init(this.ctx);
    this.initialized = true;
  }

  get isInitialized(): boolean {
    return this.initialized;
  }

  sourceTopics(): string[] {
    return [...this.topology.sourcesByTopic.keys()];
  }

  /** Processes one record now (the test driver's path, and the runtime's via `process`). */
  processRecord(rec: ConsumedRecord, partitionTime?: number, wallClock?: number): void {
    const source = this.topology.sourcesByTopic.get(rec.topic);
    if (source === undefined) {
      throw new StreamsError("ILLEGAL_STATE", `task ${this.id} has no source for topic ${rec.topic}`);
    }
    const ctx = this.ctx;
    let key: unknown;
    let value: unknown;
    try {
      key = rec.key === null ? null : source.keySerde.deserialize(rec.topic, rec.key, rec.headers);
      value = rec.value === null ? null : source.valueSerde.deserialize(rec.topic, rec.value, rec.headers);
    } catch (e) {
      const err = new StreamsError(
        "DESERIALIZATION",
        `cannot deserialize record ${rec.topic}-${rec.partition}@${rec.offset} (source ${source.name}): ${(e as Error).message}`,
        { cause: e },
      );
      const decision = this.options.onDeserializationError?.(rec, err) ?? "fail";
      this.markConsumed(rec);
      if (decision === "continue") {
        ctx.drop("deserialization");
        return;
      }
      throw err;
    }
    const ts = this.extractTimestamp(source, rec, key, value, partitionTime ?? -1);
    if (ts < 0) {
      ctx.drop("negative-timestamp");
      this.markConsumed(rec);
      return;
    }
    ctx.topic = rec.topic;
    ctx.partition = rec.partition;
    ctx.offset = rec.offset;
    ctx.timestamp = ts;
    ctx.headers = rec.headers;
    if (ts > ctx.streamTime) ctx.streamTime = ts;
    ctx.lastRecordWallClock = wallClock ?? ctx.clock.now();
    try {
      source.process(key, value, ts);
    } catch (e) {
      if (e instanceof ProcessingError) throw e;
      throw new ProcessingError(
        source.name,
        { topic: rec.topic, partition: rec.partition, offset: rec.offset },
        e,
      );
    }
    ctx.stats.processed++;
    this.markConsumed(rec);
    if (ctx.schedules.length > 0) ctx.punctuate("streamTime", ctx.streamTime);
  }

  /** "topic:partition" keys of `consumed` by topic, for the task's own partition (no string per record). */
  private readonly consumedKeys = new Map<string, string>();

  private markConsumed(rec: ConsumedRecord): void {
    let k: string | undefined;
    if (rec.partition === this.partition) {
      k = this.consumedKeys.get(rec.topic);
      if (k === undefined) this.consumedKeys.set(rec.topic, (k = `${rec.topic}:${rec.partition}`));
    } else k = `${rec.topic}:${rec.partition}`;
    this.consumed.set(k, rec.offset + 1);
  }

  private extractTimestamp(
    source: SourceNode,
    rec: ConsumedRecord,
    key: unknown,
    value: unknown,
    partitionTime: number,
  ): number {
    if (source.extractor === undefined) return rec.timestamp;
    return source.extractor(
      {
        topic: rec.topic,
        partition: rec.partition,
        offset: rec.offset,
        timestamp: rec.timestamp,
        key,
        value,
        headers: rec.headers,
      },
      partitionTime,
    );
  }

  // ---- runtime path: buffered records chosen by timestamp across partitions ----

  /**
   * Queues fetched records of an input partition. The task takes the array: it clears each entry
   * once processed, so a processed record is garbage at once (not when the queue drains).
   */
  addRecords(topic: string, partition: number, records: ConsumedRecord[]): void {
    if (records.length === 0) return;
    const k = `${topic}:${partition}`;
    let q = this.queues.get(k);
    if (q === undefined) {
      q = { topic, partition, records: [], head: 0, partitionTime: -1 };
      this.queues.set(k, q);
      // Table inputs first: the choice below keeps the first queue among equal timestamps, so a
      // table update is applied before a stream record of the same instant joins the table (the
      // update is valid from its timestamp on). Otherwise the order of the inputs' first fetch
      // decided, and a stream record could join a table not yet loaded.
      this.queueList = [...this.queues.values()].sort(
        (a, b) => Number(this.feedsTable(b.topic)) - Number(this.feedsTable(a.topic)),
      );
    }
    if (q.head >= q.records.length) {
      q.records = records;
      q.head = 0;
    } else {
      q.records = q.records.slice(q.head).concat(records);
      q.head = 0;
    }
    this.buffered += records.length;
  }

  /** The topic's source materializes a KTable (builder.table, or toTable right at the source). */
  private feedsTable(topic: string): boolean {
    return (
      this.topology.sourcesByTopic.get(topic)?.children.some((c) => c instanceof TableSourceNode) === true
    );
  }

  get bufferedRecords(): number {
    return this.buffered;
  }

  /** Records buffered for one input partition. */
  queueSize(topic: string, partition: number): number {
    const q = this.queues.get(`${topic}:${partition}`);
    return q === undefined ? 0 : q.records.length - q.head;
  }

  /** Offset of the first buffered (not yet processed) record of a partition, if any. */
  firstBufferedOffset(topic: string, partition: number): number | undefined {
    const q = this.queues.get(`${topic}:${partition}`);
    return q === undefined || q.head >= q.records.length ? undefined : q.records[q.head]!.offset;
  }

  private inputs: { topic: string; partition: number }[] | undefined;

  /**
   * The input partitions of this task (one per source topic): one array for the task's life
   * (the thread asks for it per chunk of records), which callers must not modify.
   */
  inputPartitions(): { topic: string; partition: number }[] {
    this.inputs ??= this.sourceTopics().map((topic) => ({ topic, partition: this.partition }));
    return this.inputs;
  }

  /** Drops buffered records of partitions (on revocation or seek). */
  clearBuffers(): void {
    for (const q of this.queueList) {
      q.records = [];
      q.head = 0;
    }
    this.buffered = 0;
  }

  /**
   * Processes up to `max` buffered records; returns how many were processed. Ends early when an
   * input's queue becomes empty while another's is not (see processRun): the caller decides
   * whether to go on (Kafka's enforced processing: wait while an empty input has lag).
   */
  process(max: number): number {
    // One wall-clock reading per call (a synchronous run of records), not one per record.
    const wallClock = this.ctx.clock.now();
    this.ctx.runWallClock = wallClock;
    try {
      return this.processRun(max, wallClock);
    } finally {
      this.ctx.runWallClock = undefined;
      // The last record's headers are views of its fetched batch: kept here until the next record,
      // they held a whole fetch buffer per idle task (and went with a wall-clock punctuation's output).
      this.ctx.headers = EMPTY_HEADERS;
    }
  }

  private processRun(max: number, wallClock: number): number {
    let n = 0;
    const qs = this.queueList;
    const async = this.ctx.asyncOperators;
    while (n < max && this.buffered > 0) {
      if (async.length > 0 && async.some((a) => a.full())) break;
      let best: Queue | undefined;
      if (qs.length === 1) best = qs[0];
      else {
        let bestTs = Number.POSITIVE_INFINITY;
        for (let i = 0; i < qs.length; i++) {
          const q = qs[i]!;
          if (q.head < q.records.length) {
            const t = q.records[q.head]!.timestamp;
            if (t < bestTs) {
              bestTs = t;
              best = q;
            }
          }
        }
      }
      if (best === undefined || best.head >= best.records.length) break;
      const rec = best.records[best.head]!;
      // Let go of it: a queue holding processed records until it drains kept a whole poll alive
      // through young-generation collections (they were then promoted and marked).
      (best.records as (ConsumedRecord | undefined)[])[best.head++] = undefined;
      this.buffered--;
      let drained = false;
      if (best.head === best.records.length) {
        best.records = [];
        best.head = 0;
        drained = true;
      }
      this.processRecord(rec, best.partitionTime, wallClock);
      if (rec.timestamp > best.partitionTime) best.partitionTime = rec.timestamp;
      n++;
      // An input ran dry while others still hold records: the run ends here, so the caller checks
      // whether that input has more on the broker before the next record (as Kafka does per
      // record); the next record could otherwise be chosen without that input's earlier ones.
      // Tested once per emptied queue, not per record.
      if (drained && this.buffered > 0) break;
    }
    return n;
  }

  /**
   * Flushes record caches: each store's dirty entries go to the store (and its changelog) and
   * their owners forward them downstream. Called before a commit.
   */
  flushCaches(): void {
    const ctx = this.ctx;
    const saved = [ctx.topic, ctx.partition, ctx.offset, ctx.timestamp, ctx.headers] as const;
    ctx.topic = null;
    ctx.partition = this.partition;
    ctx.offset = -1;
    ctx.headers = [];
    try {
      for (const s of this.stores.values()) if (s.cached) void s.cached.flush();
    } finally {
      [ctx.topic, ctx.partition, ctx.offset, ctx.timestamp, ctx.headers] = saved;
    }
  }

  punctuateWallClock(): number {
    if (this.ctx.schedules.length === 0) return 0;
    return this.ctx.punctuate("wallClockTime", this.ctx.clock.now());
  }

  async drainAsync(): Promise<void> {
    for (const a of this.ctx.asyncOperators) await a.drain();
  }

  async flushStores(): Promise<void> {
    for (const s of this.stores.values()) await s.inner.flush();
  }

  /** `dirty`: after an abort; cached updates are dropped instead of written. */
  async close(dirty = false): Promise<void> {
    if (dirty) {
      for (const s of this.stores.values()) {
        if (s.cached) await (s.cached as unknown as { clear(): void | Promise<void> }).clear();
      }
    }
    for (const n of this.topology.nodes) {
      try {
        n.close();
      } catch {
        // closing continues with the other processors
      }
    }
    for (const s of this.stores.values()) await s.inner.close();
  }
}

// TopologyTestDriver, in the shape of Kafka Streams' kafka-streams-test-utils: pipe records into
// input topics, read output topics as {key, value, timestamp, headers}, read stores, advance
// wall-clock time. It runs the real processors synchronously with no broker: one task per
// sub-topology (partition 0); records written to internal topics (repartition, foreign-key
// subscription) are fed to the reading task within the same pipeInput call.
import type { ConsumedRecord, RecordHeader } from "../cluster/index.ts";
import { ManualClock } from "../observe/index.ts";
import { RecordCache } from "../state/index.ts";
import type { Serde } from "../serde/index.ts";
import { StreamsError } from "./errors.ts";
import type { RecordCollector } from "./internals/context.ts";
import {
  type DeserializationHandler,
  memoryStoreProvider,
  type StoreProvider,
  StreamTask,
} from "./internals/task.ts";
import {
  plainKeyValueView,
  plainWindowView,
  type ReadOnlyKeyValueStore,
  type ReadOnlySessionStore,
  type ReadOnlyWindowStore,
  type KeyValueStore,
  type SessionStore,
  type ValueAndTimestamp,
  type WindowStore,
} from "./stores.ts";
import type { Topology } from "./topology.ts";
import type { Headers, KeyValue } from "./types.ts";

export interface TestDriverConfig {
  readonly applicationId?: string;
  /** Initial wall-clock time (default 0). */
  readonly initialWallClockTimeMs?: number;
  readonly storeProvider?: StoreProvider;
  readonly onDeserializationError?: DeserializationHandler;
  /** Record cache size (default 0: every update is forwarded; caches are flushed after each input record). */
  readonly cacheMaxBytes?: number;
}

export interface TestRecord<K, V> {
  readonly key: K | null;
  readonly value: V | null;
  readonly timestamp: number;
  readonly headers: Headers;
}

interface Captured {
  readonly key: Uint8Array | null;
  readonly value: Uint8Array | null;
  readonly timestamp: number;
  readonly headers: Headers;
}

export class TopologyTestDriver {
  private readonly topology: Topology;
  private readonly clock: ManualClock;
  private readonly tasks: StreamTask[] = [];
  private readonly global: StreamTask | undefined;
  private readonly taskByTopic = new Map<string, StreamTask>();
  private readonly outputs = new Map<string, Captured[]>();
  private readonly offsets = new Map<string, number>();
  private readonly pending: ConsumedRecord[] = [];
  private readonly internalTopics = new Set<string>();
  private readonly changelogTopics = new Set<string>();
  private readonly globalStores = new Map<string, unknown>();
  private processing = false;
  private closed = false;

  constructor(topology: Topology, config: TestDriverConfig = {}) {
    this.topology = topology;
    const b = topology.internal;
    b.applicationId = config.applicationId ?? "test-driver";
    this.clock = new ManualClock(config.initialWallClockTimeMs ?? 0);
    for (const t of b.internalTopics.keys()) this.internalTopics.add(b.resolveTopic(t));
    for (const s of b.stores.keys()) this.changelogTopics.add(b.changelogTopic(s));
    const collector: RecordCollector = {
      send: (topic, key, value, timestamp, headers) => this.capture(topic, key, value, timestamp, headers),
      partitionsFor: () => 1,
    };
    const options = {
      applicationId: b.applicationId,
      clock: this.clock,
      collector,
      storeProvider: config.storeProvider ?? memoryStoreProvider,
      globalStores: this.globalStores,
      onDeserializationError: config.onDeserializationError,
      cache: new RecordCache(config.cacheMaxBytes ?? 0),
    };
    this.global = StreamTask.global(b, options);
    if (this.global) {
      for (const t of this.global.sourceTopics()) this.taskByTopic.set(t, this.global);
      this.global.initialize();
    }
    for (const st of b.subtopologies()) {
      const task = new StreamTask(b, st.id, 0, options);
      this.tasks.push(task);
      for (const t of task.sourceTopics()) this.taskByTopic.set(t, task);
    }
    for (const t of this.tasks) t.initialize();
  }

  private capture(
    topic: string,
    key: Uint8Array | null,
    value: Uint8Array | null,
    timestamp: number,
    headers: Headers,
  ): void {
    if (this.changelogTopics.has(topic)) return;
    const copy: Captured = { key, value, timestamp, headers: [...headers] };
    if (this.taskByTopic.has(topic)) {
      // Fed back in (repartition and subscription topics, or a user topic read by the topology).
      const offset = this.nextOffset(topic);
      this.pending.push({
        topic,
        partition: 0,
        offset,
        timestamp,
        timestampType: "CreateTime",
        key,
        value,
        headers: copy.headers,
      });
      if (this.internalTopics.has(topic)) return;
    }
    let list = this.outputs.get(topic);
    if (!list) this.outputs.set(topic, (list = []));
    list.push(copy);
  }

  private nextOffset(topic: string): number {
    const o = this.offsets.get(topic) ?? 0;
    this.offsets.set(topic, o + 1);
    return o;
  }

  /** @internal Pipes one serialized record and processes everything it causes. */
  pipeRaw(
    topic: string,
    key: Uint8Array | null,
    value: Uint8Array | null,
    timestamp: number,
    headers: Headers,
  ): void {
    if (this.closed) throw new StreamsError("ILLEGAL_STATE", "the test driver is closed");
    const task = this.taskByTopic.get(topic);
    if (task === undefined) {
      throw new StreamsError(
        "MISSING_SOURCE_TOPIC",
        `topic ${topic} is not read by the topology; known: ${[...this.taskByTopic.keys()].join(", ")}`,
      );
    }
    this.pending.push({
      topic,
      partition: 0,
      offset: this.nextOffset(topic),
      timestamp,
      timestampType: "CreateTime",
      key,
      value,
      headers,
    });
    if (this.processing) return;
    this.processing = true;
    try {
      while (this.pending.length > 0) {
        const rec = this.pending.shift()!;
        this.taskByTopic.get(rec.topic)!.processRecord(rec);
        if (this.pending.length === 0) {
          // Kafka's driver commits after every record: caches are flushed, which may emit more.
          for (const t of this.tasks) t.flushCaches();
        }
      }
    } finally {
      this.processing = false;
      this.pending.length = 0;
    }
  }

  createInputTopic<K, V>(
    name: string,
    keySerde: Serde<K>,
    valueSerde: Serde<V>,
    options: { startTimestampMs?: number; autoAdvanceMs?: number } = {},
  ): TestInputTopic<K, V> {
    return new TestInputTopic<K, V>(
      this,
      name,
      keySerde,
      valueSerde,
      options.startTimestampMs ?? 0,
      options.autoAdvanceMs ?? 0,
    );
  }

  createOutputTopic<K, V>(name: string, keySerde: Serde<K>, valueSerde: Serde<V>): TestOutputTopic<K, V> {
    return new TestOutputTopic<K, V>(this, name, keySerde, valueSerde);
  }

  /** @internal */
  takeOutput(topic: string): Captured | undefined {
    return this.outputs.get(topic)?.shift();
  }

  /** @internal Takes every captured record of `topic` at once (shift() per record is quadratic). */
  takeAllOutput(topic: string): Captured[] {
    const list = this.outputs.get(topic);
    if (list === undefined || list.length === 0) return [];
    this.outputs.set(topic, []);
    return list;
  }

  /** @internal Puts back records taken by takeAllOutput but not consumed, ahead of any newer ones. */
  returnOutput(topic: string, records: Captured[]): void {
    if (records.length === 0) return;
    this.outputs.set(topic, records.concat(this.outputs.get(topic) ?? []));
  }

  /** @internal */
  outputSize(topic: string): number {
    return this.outputs.get(topic)?.length ?? 0;
  }

  producedTopicNames(): string[] {
    return [...this.outputs.keys()];
  }

  /** Advances the wall clock and runs due wall-clock punctuations. */
  advanceWallClockTime(ms: number): void {
    this.clock.advance(ms);
    this.processing = true;
    try {
      this.global?.punctuateWallClock();
      for (const t of this.tasks) t.punctuateWallClock();
      while (this.pending.length > 0) {
        const rec = this.pending.shift()!;
        this.taskByTopic.get(rec.topic)!.processRecord(rec);
      }
    } finally {
      this.processing = false;
    }
  }

  /** Waits for async operators to finish and forwards their results. */
  async flushAsync(): Promise<void> {
    for (const t of this.tasks) await t.drainAsync();
    this.processing = true;
    try {
      while (this.pending.length > 0) {
        const rec = this.pending.shift()!;
        this.taskByTopic.get(rec.topic)!.processRecord(rec);
      }
    } finally {
      this.processing = false;
    }
  }

  private findStore(name: string): unknown {
    for (const t of this.tasks) {
      const s = t.stores.get(name);
      if (s) return s.typed;
    }
    const g = this.globalStores.get(name);
    if (g !== undefined) return g;
    throw new StreamsError(
      "STORE_NOT_FOUND",
      `no store named ${name}; stores: ${this.storeNames().join(", ")}`,
    );
  }

  private isTimestamped(name: string): boolean {
    return this.topology.internal.stores.get(name)?.spec.timestamped ?? false;
  }

  storeNames(): string[] {
    return [...this.topology.internal.stores.keys()];
  }

  /** A key-value store; DSL (timestamped) stores are shown without their timestamps. */
  getKeyValueStore<K, V>(name: string): ReadOnlyKeyValueStore<K, V> {
    const s = this.findStore(name) as KeyValueStore<K, unknown>;
    if (this.isTimestamped(name)) return plainKeyValueView(s as KeyValueStore<K, ValueAndTimestamp<V>>);
    return s as KeyValueStore<K, V>;
  }

  /** Writable access to a Processor API key-value store (as Kafka's driver allows). */
  getWritableKeyValueStore<K, V>(name: string): KeyValueStore<K, V> {
    return this.findStore(name) as KeyValueStore<K, V>;
  }

  getTimestampedKeyValueStore<K, V>(name: string): ReadOnlyKeyValueStore<K, ValueAndTimestamp<V>> {
    return this.findStore(name) as KeyValueStore<K, ValueAndTimestamp<V>>;
  }

  getWindowStore<K, V>(name: string): ReadOnlyWindowStore<K, V> {
    const s = this.findStore(name) as WindowStore<K, unknown>;
    if (this.isTimestamped(name)) return plainWindowView(s as WindowStore<K, ValueAndTimestamp<V>>);
    return s as WindowStore<K, V>;
  }

  getTimestampedWindowStore<K, V>(name: string): ReadOnlyWindowStore<K, ValueAndTimestamp<V>> {
    return this.findStore(name) as WindowStore<K, ValueAndTimestamp<V>>;
  }

  getSessionStore<K, V>(name: string): ReadOnlySessionStore<K, V> {
    return this.findStore(name) as SessionStore<K, V>;
  }

  /** Dropped records by reason, summed over tasks (Kafka's dropped-records metric). */
  droppedRecords(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const t of [...this.tasks, ...(this.global ? [this.global] : [])]) {
      for (const [r, n] of t.ctx.stats.dropped) out[r] = (out[r] ?? 0) + n;
    }
    return out;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const t of this.tasks) await t.close();
    await this.global?.close();
  }
}

export class TestInputTopic<K, V> {
  private readonly driver: TopologyTestDriver;
  readonly name: string;
  private readonly keySerde: Serde<K>;
  private readonly valueSerde: Serde<V>;
  private currentTime: number;
  private readonly autoAdvanceMs: number;
  /** @internal */
  constructor(
    driver: TopologyTestDriver,
    name: string,
    keySerde: Serde<K>,
    valueSerde: Serde<V>,
    start: number,
    autoAdvance: number,
  ) {
    this.driver = driver;
    this.name = name;
    this.keySerde = keySerde;
    this.valueSerde = valueSerde;
    this.currentTime = start;
    this.autoAdvanceMs = autoAdvance;
  }
  /** Pipes a record; without a timestamp, the topic's current time (advanced by autoAdvanceMs). */
  pipeInput(key: K | null, value: V | null, timestamp?: number, headers: readonly RecordHeader[] = []): void {
    let ts = timestamp;
    if (ts === undefined) {
      ts = this.currentTime;
      this.currentTime += this.autoAdvanceMs;
    }
    this.driver.pipeRaw(
      this.name,
      key === null ? null : this.keySerde.serialize(this.name, key),
      value === null ? null : this.valueSerde.serialize(this.name, value),
      ts,
      headers,
    );
  }
  pipeValue(value: V | null, timestamp?: number): void {
    this.pipeInput(null, value, timestamp);
  }
  pipeKeyValueList(list: readonly (readonly [K | null, V | null])[], timestamp?: number): void {
    for (const [k, v] of list) this.pipeInput(k, v, timestamp);
  }
  pipeRecordList(
    list: readonly { key: K | null; value: V | null; timestamp?: number; headers?: RecordHeader[] }[],
  ): void {
    for (const r of list) this.pipeInput(r.key, r.value, r.timestamp, r.headers);
  }
  advanceTime(ms: number): void {
    this.currentTime += ms;
  }
}

export class TestOutputTopic<K, V> {
  private readonly driver: TopologyTestDriver;
  readonly name: string;
  private readonly keySerde: Serde<K>;
  private readonly valueSerde: Serde<V>;
  /** @internal */
  constructor(driver: TopologyTestDriver, name: string, keySerde: Serde<K>, valueSerde: Serde<V>) {
    this.driver = driver;
    this.name = name;
    this.keySerde = keySerde;
    this.valueSerde = valueSerde;
  }
  readRecord(): TestRecord<K, V> {
    const c = this.driver.takeOutput(this.name);
    if (c === undefined) throw new StreamsError("ILLEGAL_STATE", `output topic ${this.name} is empty`);
    return this.toTestRecord(c);
  }
  private toTestRecord(c: Captured): TestRecord<K, V> {
    return {
      key: c.key === null ? null : this.keySerde.deserialize(this.name, c.key, c.headers),
      value: c.value === null ? null : this.valueSerde.deserialize(this.name, c.value, c.headers),
      timestamp: c.timestamp,
      headers: c.headers,
    };
  }
  readKeyValue(): KeyValue<K | null, V | null> {
    const r = this.readRecord();
    return { key: r.key, value: r.value };
  }
  readValue(): V | null {
    return this.readRecord().value;
  }
  readRecordsToList(): TestRecord<K, V>[] {
    const all = this.driver.takeAllOutput(this.name);
    const out: TestRecord<K, V>[] = [];
    for (let i = 0; i < all.length; i++) {
      try {
        out.push(this.toTestRecord(all[i]!));
      } catch (e) {
        // As readRecord() one by one: the failing record is consumed, the rest stay queued.
        this.driver.returnOutput(this.name, all.slice(i + 1));
        throw e;
      }
    }
    return out;
  }
  readKeyValuesToList(): KeyValue<K | null, V | null>[] {
    return this.readRecordsToList().map((r) => ({ key: r.key, value: r.value }));
  }
  readValuesToList(): (V | null)[] {
    return this.readRecordsToList().map((r) => r.value);
  }
  /** Latest value per key (a tombstone removes the key), as Kafka's readKeyValuesToMap. */
  readKeyValuesToMap(): Map<K | null, V | null> {
    const m = new Map<K | null, V | null>();
    for (const r of this.readRecordsToList()) {
      if (r.value === null) m.delete(r.key);
      else m.set(r.key, r.value);
    }
    return m;
  }
  getQueueSize(): number {
    return this.driver.outputSize(this.name);
  }
  isEmpty(): boolean {
    return this.getQueueSize() === 0;
  }
}

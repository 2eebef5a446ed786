// The DSL: StreamsBuilder, KStream, KTable, GlobalKTable and the grouped/windowed/cogrouped
// intermediates. Each operator adds nodes to the logical topology; generics carry K and V through
// the chain. A key-changing operator marks the stream so the next stateful operator (aggregation
// or join) first repartitions through `<appId>-<name>-repartition`, as Kafka Streams does.
import type { Serde } from "../serde/index.ts";
import { Serdes } from "../serde/index.ts";
import { StreamsError, TopologyError } from "./errors.ts";
import {
  SessionWindowAggregateNode,
  SlidingWindowAggregateNode,
  StreamAggregateNode,
  TableAggregateNode,
  TableRepartitionMapNode,
  TableSourceNode,
  TimeWindowAggregateNode,
} from "./internals/aggregate.ts";
import { AsyncMapValuesNode } from "./internals/async.ts";
import { InternalTopologyBuilder } from "./internals/builder.ts";
import {
  filteredGetter,
  joinedGetter,
  mappedGetter,
  storeGetter,
  type ValueGetterSupplier,
} from "./internals/getters.ts";
import { StreamStreamJoinNode, StreamTableJoinNode, TableTableJoinNode } from "./internals/joins.ts";
import { ForeignKeyJoinBuilder } from "./internals/fkjoin.ts";
import { type ProcessorNode, UserProcessorNode } from "./internals/node.ts";
import { changeSerde, LongSerde } from "./internals/serdes.ts";
import {
  BranchNode,
  FilterNode,
  FlatMapNode,
  FlatMapValuesNode,
  MapNode,
  MapValuesNode,
  PassThroughNode,
  PeekNode,
  SelectKeyNode,
  TableFilterNode,
  TableMapValuesNode,
  TableToStreamNode,
} from "./internals/stateless.ts";
import { SuppressNode, TableMaterializeNode } from "./internals/suppress.ts";
import type { ProcessorSupplier } from "./processor.ts";
import { type StoreSpec, timestampedSerde, type ValueAndTimestamp, type WindowStore } from "./stores.ts";
import { Topology } from "./topology.ts";
import type {
  Aggregator,
  Consumed,
  ForeachAction,
  Grouped,
  Initializer,
  Joined,
  KeyValueMapper,
  KeyValuePair,
  Materialized,
  Merger,
  Predicate,
  Produced,
  RecordContext,
  Reducer,
  Repartitioned,
  StreamJoined,
  TopicNameExtractor,
  ValueJoiner,
  ValueMapper,
} from "./types.ts";
import {
  type JoinWindows,
  SessionWindows,
  SlidingWindows,
  type Suppressed,
  TimeWindows,
  type Windowed,
  WindowedSerdes,
} from "./windows.ts";

type U = unknown;
type AnySerde = Serde<unknown>;

export interface StreamsBuilderOptions {
  /** Serde used where none is given and none can be inferred (default JSON). */
  readonly defaultKeySerde?: Serde<unknown>;
  readonly defaultValueSerde?: Serde<unknown>;
}

export class StreamsBuilder {
  /** @internal */
  readonly internal = new InternalTopologyBuilder();
  /** @internal */
  readonly defaultKeySerde: AnySerde;
  /** @internal */
  readonly defaultValueSerde: AnySerde;
  private counter = 0;
  private built = false;

  constructor(options: StreamsBuilderOptions = {}) {
    this.defaultKeySerde = options.defaultKeySerde ?? (Serdes.Json() as AnySerde);
    this.defaultValueSerde = options.defaultValueSerde ?? (Serdes.Json() as AnySerde);
  }

  /** @internal Kafka-style generated names: PREFIX-0000000007. */
  newName(prefix: string): string {
    return `${prefix}-${String(this.counter++).padStart(10, "0")}`;
  }

  /** @internal */
  addNode(
    prefix: string,
    make: (name: string) => ProcessorNode,
    parents: readonly string[],
    named?: string,
  ): string {
    const name = named ?? this.newName(prefix);
    this.internal.addProcessor(name, () => make(name), parents);
    return name;
  }

  stream<K = Uint8Array, V = Uint8Array>(
    topics: string | readonly string[],
    consumed: Consumed<K, V> = {},
  ): KStream<K, V> {
    const name = consumed.name ?? this.newName("KSTREAM-SOURCE");
    const list = typeof topics === "string" ? [topics] : [...topics];
    this.internal.addSource(
      name,
      list,
      (consumed.keySerde ?? this.defaultKeySerde) as AnySerde,
      (consumed.valueSerde ?? this.defaultValueSerde) as AnySerde,
      consumed.timestampExtractor as never,
      { offsetReset: consumed.offsetReset },
    );
    return new KStream<K, V>(this, name, consumed.keySerde, consumed.valueSerde, false, list);
  }

  table<K = Uint8Array, V = Uint8Array>(
    topic: string,
    consumed: Consumed<K, V> = {},
    materialized: Materialized<K, V> = {},
  ): KTable<K, V> {
    const src = consumed.name ?? this.newName("KSTREAM-SOURCE");
    const keySerde = (materialized.keySerde ?? consumed.keySerde ?? this.defaultKeySerde) as Serde<K>;
    const valueSerde = (materialized.valueSerde ?? consumed.valueSerde ?? this.defaultValueSerde) as Serde<V>;
    this.internal.addSource(
      src,
      [topic],
      keySerde as AnySerde,
      valueSerde as AnySerde,
      consumed.timestampExtractor as never,
      {
        offsetReset: consumed.offsetReset,
      },
    );
    const storeName =
      materialized.storeName ?? `${topic}-STATE-STORE-${String(this.counter++).padStart(10, "0")}`;
    const node = this.addNode("KTABLE-SOURCE", (n) => new TableSourceNode(n, storeName), [src]);
    this.internal.addStore(kvSpec(storeName, keySerde, valueSerde, materialized), [node]);
    return new KTable<K, V>(this, node, keySerde, valueSerde, storeGetter(storeName), storeName, [topic]);
  }

  globalTable<K = Uint8Array, V = Uint8Array>(
    topic: string,
    consumed: Consumed<K, V> = {},
    materialized: Materialized<K, V> = {},
  ): GlobalKTable<K, V> {
    const keySerde = (materialized.keySerde ?? consumed.keySerde ?? this.defaultKeySerde) as Serde<K>;
    const valueSerde = (materialized.valueSerde ?? consumed.valueSerde ?? this.defaultValueSerde) as Serde<V>;
    const storeName =
      materialized.storeName ?? `${topic}-STATE-STORE-${String(this.counter++).padStart(10, "0")}`;
    const src = consumed.name ?? this.newName("KSTREAM-SOURCE");
    const spec = { ...kvSpec(storeName, keySerde, valueSerde, materialized), logging: false };
    this.internal.addGlobalStore(spec as StoreSpec<U, U>, topic);
    this.internal.addSource(
      src,
      [topic],
      keySerde as AnySerde,
      valueSerde as AnySerde,
      consumed.timestampExtractor as never,
      {
        global: true,
      },
    );
    const node = this.newName("KTABLE-SOURCE");
    this.internal.addProcessor(node, () => new TableSourceNode(node, storeName), [src], true);
    this.internal.nodes.get(node)!.stores.add(storeName);
    return new GlobalKTable<K, V>(storeName, keySerde, valueSerde);
  }

  /** Adds a store for Processor API operators used inside the DSL (`stream.process(..., storeName)`). */
  addStateStore<K, V>(spec: StoreSpec<K, V>): this {
    this.internal.addStore(spec as StoreSpec<U, U>, []);
    return this;
  }

  build(): Topology {
    if (this.built) throw new TopologyError("StreamsBuilder.build() may be called only once");
    this.built = true;
    return new Topology(this.internal);
  }
}

function kvSpec<K, V>(
  name: string,
  keySerde: Serde<K>,
  valueSerde: Serde<V>,
  m: Materialized<unknown, unknown>,
): StoreSpec<K, ValueAndTimestamp<V>> {
  return {
    kind: "keyValue",
    name,
    keySerde,
    valueSerde: timestampedSerde(valueSerde),
    persistent: m.storeType !== "inMemory",
    logging: m.logging ?? true,
    logConfig: m.logConfig,
    caching: m.caching ?? true,
    timestamped: true,
  };
}

function rawSpec(
  name: string,
  kind: "keyValue",
  m: { storeType?: string; logging?: boolean },
): StoreSpec<U, U> {
  return {
    kind,
    name,
    keySerde: Serdes.Bytes as AnySerde,
    valueSerde: Serdes.Bytes as AnySerde,
    persistent: m.storeType !== "inMemory",
    logging: m.logging ?? true,
    timestamped: false,
  };
}

export class KStream<K, V> {
  /** @internal */ readonly builder: StreamsBuilder;
  /** @internal */ readonly node: string;
  /** @internal */ readonly keySerde: Serde<K> | undefined;
  /** @internal */ readonly valueSerde: Serde<V> | undefined;
  /** @internal */ readonly repartitionRequired: boolean;
  /** @internal Source topics feeding this stream directly (for co-partitioning checks). */
  readonly sourceTopics: readonly string[];

  /** @internal */
  constructor(
    builder: StreamsBuilder,
    node: string,
    keySerde: Serde<K> | undefined,
    valueSerde: Serde<V> | undefined,
    repartitionRequired: boolean,
    sourceTopics: readonly string[] = [],
  ) {
    this.builder = builder;
    this.node = node;
    this.keySerde = keySerde;
    this.valueSerde = valueSerde;
    this.repartitionRequired = repartitionRequired;
    this.sourceTopics = sourceTopics;
  }

  private next<K2, V2>(
    prefix: string,
    make: (n: string) => ProcessorNode,
    keySerde: Serde<K2> | undefined,
    valueSerde: Serde<V2> | undefined,
    repartition: boolean,
    named?: string,
  ): KStream<K2, V2> {
    const n = this.builder.addNode(prefix, make, [this.node], named);
    return new KStream<K2, V2>(this.builder, n, keySerde, valueSerde, repartition, this.sourceTopics);
  }

  filter(predicate: Predicate<K, V>, named?: string): KStream<K, V> {
    return this.next(
      "KSTREAM-FILTER",
      (n) => new FilterNode(n, predicate as never, false),
      this.keySerde,
      this.valueSerde,
      this.repartitionRequired,
      named,
    );
  }

  filterNot(predicate: Predicate<K, V>, named?: string): KStream<K, V> {
    return this.next(
      "KSTREAM-FILTER",
      (n) => new FilterNode(n, predicate as never, true),
      this.keySerde,
      this.valueSerde,
      this.repartitionRequired,
      named,
    );
  }

  map<KR, VR>(mapper: KeyValueMapper<K, V, KeyValuePair<KR, VR>>, named?: string): KStream<KR, VR> {
    return this.next<KR, VR>(
      "KSTREAM-MAP",
      (n) => new MapNode(n, mapper as never),
      undefined,
      undefined,
      true,
      named,
    );
  }

  mapValues<VR>(mapper: ValueMapper<V, VR, K>, named?: string): KStream<K, VR> {
    return this.next<K, VR>(
      "KSTREAM-MAPVALUES",
      (n) => new MapValuesNode(n, mapper as never),
      this.keySerde,
      undefined,
      this.repartitionRequired,
      named,
    );
  }

  selectKey<KR>(mapper: KeyValueMapper<K, V, KR>, named?: string): KStream<KR, V> {
    return this.next<KR, V>(
      "KSTREAM-KEY-SELECT",
      (n) => new SelectKeyNode(n, mapper as never),
      undefined,
      this.valueSerde,
      true,
      named,
    );
  }

  flatMap<KR, VR>(
    mapper: KeyValueMapper<K, V, Iterable<KeyValuePair<KR, VR>>>,
    named?: string,
  ): KStream<KR, VR> {
    return this.next<KR, VR>(
      "KSTREAM-FLATMAP",
      (n) => new FlatMapNode(n, mapper as never),
      undefined,
      undefined,
      true,
      named,
    );
  }

  flatMapValues<VR>(mapper: ValueMapper<V, Iterable<VR>, K>, named?: string): KStream<K, VR> {
    return this.next<K, VR>(
      "KSTREAM-FLATMAPVALUES",
      (n) => new FlatMapValuesNode(n, mapper as never),
      this.keySerde,
      undefined,
      this.repartitionRequired,
      named,
    );
  }

  peek(action: ForeachAction<K, V>, named?: string): KStream<K, V> {
    return this.next(
      "KSTREAM-PEEK",
      (n) => new PeekNode(n, action as never),
      this.keySerde,
      this.valueSerde,
      this.repartitionRequired,
      named,
    );
  }

  foreach(action: ForeachAction<K, V>, named?: string): void {
    this.builder.addNode("KSTREAM-FOREACH", (n) => new PeekNode(n, action as never), [this.node], named);
  }

  /**
   * Calls an async function per record with at most `concurrency` calls in flight; results are
   * forwarded in input order per key. See docs/streams.md for how this interacts with exactly-once.
   */
  mapValuesAsync<VR>(
    mapper: (value: V, key: K) => Promise<VR>,
    options: { concurrency?: number; name?: string } = {},
  ): KStream<K, VR> {
    return this.next<K, VR>(
      "KSTREAM-MAPVALUES-ASYNC",
      (n) => new AsyncMapValuesNode(n, mapper as never, options.concurrency ?? 16),
      this.keySerde,
      undefined,
      this.repartitionRequired,
      options.name,
    );
  }

  /** Branches: `split().branch(pred, "name").defaultBranch("other")` → record of named streams. */
  split(named?: string): BranchedKStream<K, V> {
    return new BranchedKStream<K, V>(this, named ?? this.builder.newName("KSTREAM-BRANCH"));
  }

  merge(other: KStream<K, V>, named?: string): KStream<K, V> {
    const n = this.builder.addNode(
      "KSTREAM-MERGE",
      (x) => new PassThroughNode(x),
      [this.node, other.node],
      named,
    );
    return new KStream<K, V>(
      this.builder,
      n,
      this.keySerde ?? other.keySerde,
      this.valueSerde ?? other.valueSerde,
      this.repartitionRequired || other.repartitionRequired,
      [...this.sourceTopics, ...other.sourceTopics],
    );
  }

  /** Writes to a topic, or to the topic chosen per record by `topic(key, value, context)`. */
  to(topic: string | TopicNameExtractor<K, V>, produced: Produced<K, V> = {}): void {
    const name = produced.name ?? this.builder.newName("KSTREAM-SINK");
    this.builder.internal.addSink(
      name,
      typeof topic === "string" ? topic : (topic as (k: U, v: U, c: RecordContext) => string),
      (produced.keySerde ?? this.keySerde ?? this.builder.defaultKeySerde) as AnySerde,
      (produced.valueSerde ?? this.valueSerde ?? this.builder.defaultValueSerde) as AnySerde,
      produced.partitioner as never,
      [this.node],
    );
  }

  /** Repartitions through `<appId>-<name>-repartition` (optionally with its own partition count). */
  repartition(options: Repartitioned<K, V> = {}): KStream<K, V> {
    const name = options.name ?? this.builder.newName("KSTREAM-REPARTITION");
    return this.repartitionThrough(
      name,
      options.keySerde ?? this.keySerde,
      options.valueSerde ?? this.valueSerde,
      options.numberOfPartitions,
      options.partitioner as never,
    );
  }

  /** @internal */
  repartitionThrough(
    name: string,
    keySerde: Serde<K> | undefined,
    valueSerde: Serde<V> | undefined,
    numPartitions?: number,
    partitioner?: never,
  ): KStream<K, V> {
    const b = this.builder;
    const topic = `${name}-repartition`;
    b.internal.addInternalTopic({ name: topic, kind: "repartition", numPartitions });
    const ks = (keySerde ?? b.defaultKeySerde) as AnySerde;
    const vs = (valueSerde ?? b.defaultValueSerde) as AnySerde;
    // Records with a null key cannot be partitioned by key: dropped before the topic (as Kafka).
    const filter = b.addNode(
      "KSTREAM-FILTER",
      (n) => new FilterNode(n, (k: U) => k !== null && k !== undefined, false),
      [this.node],
    );
    b.internal.addSink(b.newName("KSTREAM-SINK"), topic, ks, vs, partitioner, [filter]);
    const src = b.newName("KSTREAM-SOURCE");
    b.internal.addSource(src, [topic], ks, vs);
    return new KStream<K, V>(b, src, keySerde, valueSerde, false, [topic]);
  }

  /** @internal */
  repartitionIfRequired(name: string, keySerde?: Serde<K>, valueSerde?: Serde<V>): KStream<K, V> {
    if (!this.repartitionRequired) return this;
    return this.repartitionThrough(name, keySerde ?? this.keySerde, valueSerde ?? this.valueSerde);
  }

  toTable(materialized: Materialized<K, V> = {}, named?: string): KTable<K, V> {
    const keySerde = (materialized.keySerde ?? this.keySerde ?? this.builder.defaultKeySerde) as Serde<K>;
    const valueSerde = (materialized.valueSerde ??
      this.valueSerde ??
      this.builder.defaultValueSerde) as Serde<V>;
    const base = this.repartitionIfRequired(
      named ?? this.builder.newName("KSTREAM-TOTABLE"),
      keySerde,
      valueSerde,
    );
    const storeName = materialized.storeName ?? this.builder.newName("KSTREAM-TOTABLE-STATE-STORE");
    const node = this.builder.addNode(
      "KSTREAM-TOTABLE",
      (n) => new TableSourceNode(n, storeName),
      [base.node],
      named,
    );
    this.builder.internal.addStore(kvSpec(storeName, keySerde, valueSerde, materialized), [node]);
    return new KTable<K, V>(
      this.builder,
      node,
      keySerde,
      valueSerde,
      storeGetter(storeName),
      storeName,
      base.sourceTopics,
    );
  }

  groupByKey(grouped: Grouped<K, V> = {}): KGroupedStream<K, V> {
    return new KGroupedStream<K, V>(
      this,
      grouped.keySerde ?? this.keySerde,
      grouped.valueSerde ?? this.valueSerde,
      grouped.name,
    );
  }

  groupBy<KR>(selector: KeyValueMapper<K, V, KR>, grouped: Grouped<KR, V> = {}): KGroupedStream<KR, V> {
    const s = this.selectKey(selector);
    return new KGroupedStream<KR, V>(
      s,
      grouped.keySerde,
      grouped.valueSerde ?? this.valueSerde,
      grouped.name,
    );
  }

  // ---- joins ----

  join<VO, VR>(
    other: KStream<K, VO>,
    joiner: ValueJoiner<V, VO, VR, K>,
    windows: JoinWindows,
    options?: StreamJoined<K, V, VO>,
  ): KStream<K, VR>;
  join<VO, VR>(
    table: KTable<K, VO>,
    joiner: ValueJoiner<V, VO, VR, K>,
    options?: Joined<K, V, VO>,
  ): KStream<K, VR>;
  join<GK, GV, VR>(
    table: GlobalKTable<GK, GV>,
    keyMapper: KeyValueMapper<K, V, GK>,
    joiner: ValueJoiner<V, GV, VR, K>,
    named?: string,
  ): KStream<K, VR>;
  join(other: unknown, a: unknown, b?: unknown, c?: unknown): KStream<K, U> {
    return this.doJoin("inner", other, a, b, c);
  }

  leftJoin<VO, VR>(
    other: KStream<K, VO>,
    joiner: ValueJoiner<V, VO | null, VR, K>,
    windows: JoinWindows,
    options?: StreamJoined<K, V, VO>,
  ): KStream<K, VR>;
  leftJoin<VO, VR>(
    table: KTable<K, VO>,
    joiner: ValueJoiner<V, VO | null, VR, K>,
    options?: Joined<K, V, VO>,
  ): KStream<K, VR>;
  leftJoin<GK, GV, VR>(
    table: GlobalKTable<GK, GV>,
    keyMapper: KeyValueMapper<K, V, GK>,
    joiner: ValueJoiner<V, GV | null, VR, K>,
    named?: string,
  ): KStream<K, VR>;
  leftJoin(other: unknown, a: unknown, b?: unknown, c?: unknown): KStream<K, U> {
    return this.doJoin("left", other, a, b, c);
  }

  outerJoin<VO, VR>(
    other: KStream<K, VO>,
    joiner: ValueJoiner<V | null, VO | null, VR, K>,
    windows: JoinWindows,
    options?: StreamJoined<K, V, VO>,
  ): KStream<K, VR> {
    return this.doJoin("outer", other, joiner, windows, options) as KStream<K, VR>;
  }

  private doJoin(
    mode: "inner" | "left" | "outer",
    other: unknown,
    a: unknown,
    b: unknown,
    c: unknown,
  ): KStream<K, U> {
    if (other instanceof KStream) {
      return this.streamStreamJoin(
        mode,
        other,
        a as never,
        b as JoinWindows,
        (c ?? {}) as StreamJoined<K, V, U>,
      );
    }
    if (mode === "outer") throw new TopologyError("outerJoin is defined for stream-stream joins only");
    if (other instanceof KTable)
      return this.streamTableJoin(mode, other, a as never, (b ?? {}) as Joined<K, V, U>);
    if (other instanceof GlobalKTable)
      return this.streamGlobalJoin(mode, other, a as never, b as never, c as string | undefined);
    throw new TopologyError("join: the other side must be a KStream, a KTable or a GlobalKTable");
  }

  private streamStreamJoin(
    mode: "inner" | "left" | "outer",
    other: KStream<K, U>,
    joiner: (l: U, r: U, k: U) => U,
    windows: JoinWindows,
    o: StreamJoined<K, V, U>,
  ): KStream<K, U> {
    const b = this.builder;
    const joinName =
      o.name ??
      b.newName(
        mode === "inner" ? "KSTREAM-JOIN" : mode === "left" ? "KSTREAM-LEFTJOIN" : "KSTREAM-OUTERJOIN",
      );
    const keySerde = (o.keySerde ?? this.keySerde ?? other.keySerde ?? b.defaultKeySerde) as AnySerde;
    const leftVS = (o.valueSerde ?? this.valueSerde ?? b.defaultValueSerde) as AnySerde;
    const rightVS = (o.otherValueSerde ?? other.valueSerde ?? b.defaultValueSerde) as AnySerde;
    const left = this.repartitionIfRequired(`${joinName}-left`, keySerde as Serde<K>, leftVS as Serde<V>);
    const right = other.repartitionIfRequired(`${joinName}-right`, keySerde as Serde<K>, rightVS);
    const base = o.storeName ?? joinName;
    const thisStore = `${base}-this-join-store`;
    const otherStore = `${base}-other-join-store`;
    const windowSize = windows.beforeMs + windows.afterMs;
    const retention = windowSize + windows.graceMs;
    const wspec = (name: string, vs: AnySerde): StoreSpec<U, U> => ({
      kind: "window",
      name,
      keySerde,
      valueSerde: vs,
      persistent: o.storeType !== "inMemory",
      logging: o.logging ?? true,
      windowSizeMs: Math.max(1, windowSize),
      retentionMs: Math.max(1, retention),
      retainDuplicates: true,
      timestamped: false,
    });
    const outerStore = mode === "inner" ? undefined : `${base}-outer-shared-join-store`;
    const trackerKey = `join-tracker:${joinName}`;
    const common = {
      joiner,
      beforeMs: windows.beforeMs,
      afterMs: windows.afterMs,
      graceMs: windows.graceMs,
      trackerKey,
      keySerde,
      leftValueSerde: leftVS,
      rightValueSerde: rightVS,
      outerStore,
    };
    const thisJoin = b.addNode(
      "KSTREAM-JOINTHIS",
      (n) =>
        new StreamStreamJoinNode(n, {
          ...common,
          thisStore,
          otherStore,
          isLeftSide: true,
          outer: mode !== "inner",
          thisValueSerde: leftVS,
          otherValueSerde: rightVS,
        }),
      [left.node],
      `${joinName}-this`,
    );
    const otherJoin = b.addNode(
      "KSTREAM-JOINOTHER",
      (n) =>
        new StreamStreamJoinNode(n, {
          ...common,
          thisStore: otherStore,
          otherStore: thisStore,
          isLeftSide: false,
          outer: mode === "outer",
          thisValueSerde: rightVS,
          otherValueSerde: leftVS,
        }),
      [right.node],
      `${joinName}-other`,
    );
    b.internal.addStore(wspec(thisStore, leftVS), [thisJoin, otherJoin]);
    b.internal.addStore(wspec(otherStore, rightVS), [thisJoin, otherJoin]);
    if (outerStore !== undefined)
      b.internal.addStore(rawSpec(outerStore, "keyValue", o), [thisJoin, otherJoin]);
    b.internal.copartition([...left.sourceTopics, ...right.sourceTopics]);
    const merge = b.addNode(
      "KSTREAM-MERGE",
      (n) => new PassThroughNode(n),
      [thisJoin, otherJoin],
      `${joinName}-merge`,
    );
    return new KStream<K, U>(b, merge, left.keySerde, undefined, false, [
      ...left.sourceTopics,
      ...right.sourceTopics,
    ]);
  }

  private streamTableJoin(
    mode: "inner" | "left",
    table: KTable<K, U>,
    joiner: (l: U, r: U, k: U) => U,
    o: Joined<K, V, U>,
  ): KStream<K, U> {
    const b = this.builder;
    const name = o.name ?? b.newName("KSTREAM-JOIN");
    const left = this.repartitionIfRequired(
      `${name}`,
      (o.keySerde ?? table.keySerde) as Serde<K>,
      o.valueSerde,
    );
    const getter = table.valueGetterSupplier();
    const node = b.addNode(
      "KSTREAM-JOIN",
      (n) => new StreamTableJoinNode(n, getter, joiner, mode === "left"),
      [left.node],
      o.name,
    );
    b.internal.connectStores([node], getter.storeNames);
    b.internal.copartition([...left.sourceTopics, ...table.sourceTopics]);
    return new KStream<K, U>(b, node, left.keySerde, undefined, false, left.sourceTopics);
  }

  private streamGlobalJoin(
    mode: "inner" | "left",
    table: GlobalKTable<U, U>,
    keyMapper: (k: U, v: U) => U,
    joiner: (l: U, r: U, k: U) => U,
    named?: string,
  ): KStream<K, U> {
    const b = this.builder;
    const getter = storeGetter(table.storeName);
    const node = b.addNode(
      "KSTREAM-JOIN",
      (n) => new StreamTableJoinNode(n, getter, joiner, mode === "left", keyMapper),
      [this.node],
      named,
    );
    return new KStream<K, U>(b, node, this.keySerde, undefined, this.repartitionRequired, this.sourceTopics);
  }

  /** Runs a Processor API processor; `storeNames` are stores added with `builder.addStateStore`. */
  process<KOut, VOut>(
    supplier: ProcessorSupplier<K, V, KOut, VOut>,
    ...storeNames: string[]
  ): KStream<KOut, VOut> {
    const b = this.builder;
    const name = b.newName("KSTREAM-PROCESSOR");
    b.internal.addProcessor(name, () => new UserProcessorNode(name, supplier() as never, storeNames), [
      this.node,
    ]);
    if (storeNames.length > 0) b.internal.connectStores([name], storeNames);
    return new KStream<KOut, VOut>(b, name, undefined, undefined, true, this.sourceTopics);
  }

  /** Like `process`, for processors that do not change the key (no repartition is marked). */
  processValues<VOut>(supplier: ProcessorSupplier<K, V, K, VOut>, ...storeNames: string[]): KStream<K, VOut> {
    const s = this.process(supplier, ...storeNames);
    return new KStream<K, VOut>(
      this.builder,
      s.node,
      this.keySerde,
      undefined,
      this.repartitionRequired,
      this.sourceTopics,
    );
  }
}

export class BranchedKStream<K, V> {
  private readonly source: KStream<K, V>;
  private readonly prefix: string;
  private readonly predicates: ((k: U, v: U) => boolean)[] = [];
  private readonly names: string[] = [];
  private readonly result: Record<string, KStream<K, V>> = {};
  private node: string | undefined;
  private closed = false;
  /** @internal */
  constructor(source: KStream<K, V>, prefix: string) {
    this.source = source;
    this.prefix = prefix;
  }
  private ensureNode(): void {
    if (this.node !== undefined) return;
    const b = this.source.builder;
    this.node = this.prefix;
    b.internal.addProcessor(this.prefix, () => new BranchNode(this.prefix, this.predicates, this.names), [
      this.source.node,
    ]);
  }
  private add(pred: ((k: U, v: U) => boolean) | null, name: string | undefined): void {
    if (this.closed) throw new TopologyError("no branch may follow defaultBranch()/noDefaultBranch()");
    this.ensureNode();
    const idx = this.predicates.length + 1;
    const branchName = `${this.prefix}-${name ?? String(idx)}`;
    this.predicates.push(pred as (k: U, v: U) => boolean);
    this.names.push(branchName);
    const s = this.source.builder.addNode(
      "KSTREAM-BRANCHCHILD",
      (n) => new PassThroughNode(n),
      [this.node!],
      branchName,
    );
    this.result[branchName] = new KStream<K, V>(
      this.source.builder,
      s,
      this.source.keySerde,
      this.source.valueSerde,
      this.source.repartitionRequired,
      this.source.sourceTopics,
    );
  }
  branch(predicate: Predicate<K, V>, name?: string): this {
    this.add(predicate as never, name);
    return this;
  }
  /** Ends the split; returns the branches keyed `<splitName>-<branchName or index>`. */
  defaultBranch(name?: string): Record<string, KStream<K, V>> {
    this.add(null, name ?? "0");
    this.closed = true;
    return this.result;
  }
  noDefaultBranch(): Record<string, KStream<K, V>> {
    this.ensureNode();
    this.closed = true;
    return this.result;
  }
}

export class KTable<K, V> {
  /** @internal */ readonly builder: StreamsBuilder;
  /** @internal */ readonly node: string;
  /** @internal */ readonly keySerde: Serde<K>;
  /** @internal */ readonly valueSerde: Serde<V> | undefined;
  /** @internal */ private getter: ValueGetterSupplier | undefined;
  /** The store holding this table, if it is materialized (queryable under this name). */
  readonly queryableStoreName: string | undefined;
  /** @internal */ readonly sourceTopics: readonly string[];
  /** @internal Grace of the windows this (windowed) table was aggregated on. */
  readonly windowGraceMs: number | undefined;

  /** @internal */
  constructor(
    builder: StreamsBuilder,
    node: string,
    keySerde: Serde<K>,
    valueSerde: Serde<V> | undefined,
    getter: ValueGetterSupplier | undefined,
    storeName: string | undefined,
    sourceTopics: readonly string[],
    windowGraceMs?: number,
  ) {
    this.builder = builder;
    this.node = node;
    this.keySerde = keySerde;
    this.valueSerde = valueSerde;
    this.getter = getter;
    this.queryableStoreName = storeName;
    this.sourceTopics = sourceTopics;
    this.windowGraceMs = windowGraceMs;
  }

  /** @internal A way to look values up by key; materializes the table if nothing else can. */
  valueGetterSupplier(): ValueGetterSupplier {
    if (this.getter === undefined) {
      throw new TopologyError(`table ${this.node} cannot be looked up; materialize it (give it a storeName)`);
    }
    return this.getter;
  }

  private derive<V2>(
    prefix: string,
    make: (n: string) => ProcessorNode,
    valueSerde: Serde<V2> | undefined,
    getter: ValueGetterSupplier | undefined,
    materialized: Materialized<K, V2> | undefined,
    named?: string,
  ): KTable<K, V2> {
    const b = this.builder;
    let node = b.addNode(prefix, make, [this.node], named);
    if (getter !== undefined) b.internal.connectStores([node], getter.storeNames);
    let storeName: string | undefined;
    if (materialized?.storeName !== undefined || materialized?.valueSerde !== undefined) {
      storeName = materialized.storeName ?? b.newName(`${prefix}-STATE-STORE`);
      const vs = (materialized.valueSerde ?? valueSerde ?? b.defaultValueSerde) as Serde<V2>;
      const mat = b.addNode("KTABLE-MATERIALIZE", (n) => new TableMaterializeNode(n, storeName!), [node]);
      b.internal.addStore(
        kvSpec(
          storeName,
          materialized.keySerde ?? this.keySerde,
          vs,
          materialized as Materialized<U, U>,
        ) as StoreSpec<U, U>,
        [mat],
      );
      node = mat;
      getter = storeGetter(storeName);
      valueSerde = vs;
    }
    return new KTable<K, V2>(
      b,
      node,
      this.keySerde,
      valueSerde,
      getter,
      storeName,
      this.sourceTopics,
      this.windowGraceMs,
    );
  }

  filter(predicate: Predicate<K, V>, materialized?: Materialized<K, V>): KTable<K, V> {
    const g = this.getter === undefined ? undefined : filteredGetter(this.getter, predicate as never, false);
    return this.derive(
      "KTABLE-FILTER",
      (n) => new TableFilterNode(n, predicate as never, false),
      this.valueSerde,
      g,
      materialized,
    );
  }

  filterNot(predicate: Predicate<K, V>, materialized?: Materialized<K, V>): KTable<K, V> {
    const g = this.getter === undefined ? undefined : filteredGetter(this.getter, predicate as never, true);
    return this.derive(
      "KTABLE-FILTER",
      (n) => new TableFilterNode(n, predicate as never, true),
      this.valueSerde,
      g,
      materialized,
    );
  }

  mapValues<VR>(mapper: ValueMapper<V, VR, K>, materialized?: Materialized<K, VR>): KTable<K, VR> {
    const g = this.getter === undefined ? undefined : mappedGetter(this.getter, mapper as never);
    return this.derive<VR>(
      "KTABLE-MAPVALUES",
      (n) => new TableMapValuesNode(n, mapper as never),
      undefined,
      g,
      materialized,
    );
  }

  toStream<KR = K>(keyMapper?: KeyValueMapper<K, V, KR>, named?: string): KStream<KR, V> {
    const n = this.builder.addNode(
      "KTABLE-TOSTREAM",
      (x) => new TableToStreamNode(x, keyMapper as never),
      [this.node],
      named,
    );
    return new KStream<KR, V>(
      this.builder,
      n,
      (keyMapper === undefined ? this.keySerde : undefined) as Serde<KR> | undefined,
      this.valueSerde,
      keyMapper !== undefined,
      this.sourceTopics,
    );
  }

  /** Emits a key's latest change once a time bound passes (e.g. final window results). */
  suppress(suppressed: Suppressed): KTable<K, V> {
    const b = this.builder;
    let delay: number;
    if (suppressed.kind === "untilWindowCloses") {
      if (this.windowGraceMs === undefined) {
        throw new TopologyError(
          "suppress(untilWindowCloses) applies to windowed tables (from windowedBy(...).aggregate/count/reduce)",
        );
      }
      delay = this.windowGraceMs;
    } else delay = suppressed.timeToWaitMs;
    const storeName =
      suppressed.name !== undefined ? `${suppressed.name}-store` : b.newName("KTABLE-SUPPRESS-STATE-STORE");
    const node = b.addNode(
      "KTABLE-SUPPRESS",
      (n) =>
        new SuppressNode(n, {
          storeName,
          mode: suppressed.kind,
          delayMs: delay,
          maxRecords: suppressed.buffer.maxRecords,
          onFull: suppressed.buffer.onFull ?? "shutdown",
          closeWhenIdleMs: suppressed.kind === "untilWindowCloses" ? suppressed.closeWhenIdleMs : undefined,
          keySerde: this.keySerde as AnySerde,
          valueSerde: (this.valueSerde ?? b.defaultValueSerde) as AnySerde,
        }),
      [this.node],
      suppressed.name,
    );
    b.internal.addStore(rawSpec(storeName, "keyValue", { storeType: "inMemory" }), [node]);
    return new KTable<K, V>(
      b,
      node,
      this.keySerde,
      this.valueSerde,
      undefined,
      undefined,
      this.sourceTopics,
      this.windowGraceMs,
    );
  }

  groupBy<KR, VR>(
    selector: KeyValueMapper<K, V, KeyValuePair<KR, VR>>,
    grouped: Grouped<KR, VR> = {},
  ): KGroupedTable<KR, VR> {
    const n = this.builder.addNode(
      "KTABLE-SELECT",
      (x) => new TableRepartitionMapNode(x, selector as never),
      [this.node],
    );
    return new KGroupedTable<KR, VR>(this.builder, n, grouped.keySerde, grouped.valueSerde, grouped.name);
  }

  join<VO, VR>(
    other: KTable<K, VO>,
    joiner: ValueJoiner<V, VO, VR, K>,
    materialized?: Materialized<K, VR>,
  ): KTable<K, VR>;
  join<KO, VO, VR>(
    other: KTable<KO, VO>,
    foreignKeyExtractor: (value: V) => KO | null,
    joiner: ValueJoiner<V, VO, VR, K>,
    materialized?: Materialized<K, VR>,
  ): KTable<K, VR>;
  join(other: KTable<U, U>, a: unknown, b?: unknown, c?: unknown): KTable<K, U> {
    if (typeof b === "function") return this.fkJoin(false, other, a as never, b as never, c as never);
    return this.tableJoin("inner", other as KTable<K, U>, a as never, b as never);
  }

  leftJoin<VO, VR>(
    other: KTable<K, VO>,
    joiner: ValueJoiner<V, VO | null, VR, K>,
    materialized?: Materialized<K, VR>,
  ): KTable<K, VR>;
  leftJoin<KO, VO, VR>(
    other: KTable<KO, VO>,
    foreignKeyExtractor: (value: V) => KO | null,
    joiner: ValueJoiner<V, VO | null, VR, K>,
    materialized?: Materialized<K, VR>,
  ): KTable<K, VR>;
  leftJoin(other: KTable<U, U>, a: unknown, b?: unknown, c?: unknown): KTable<K, U> {
    if (typeof b === "function") return this.fkJoin(true, other, a as never, b as never, c as never);
    return this.tableJoin("left", other as KTable<K, U>, a as never, b as never);
  }

  outerJoin<VO, VR>(
    other: KTable<K, VO>,
    joiner: ValueJoiner<V | null, VO | null, VR, K>,
    materialized?: Materialized<K, VR>,
  ): KTable<K, VR> {
    return this.tableJoin("outer", other as KTable<K, U>, joiner as never, materialized as never) as KTable<
      K,
      VR
    >;
  }

  private tableJoin(
    mode: "inner" | "left" | "outer",
    other: KTable<K, U>,
    joiner: (l: U, r: U, k: U) => U,
    materialized: Materialized<K, U> | undefined,
  ): KTable<K, U> {
    const b = this.builder;
    const lg = this.valueGetterSupplier();
    const rg = other.valueGetterSupplier();
    const prefix =
      mode === "inner" ? "KTABLE-JOIN" : mode === "left" ? "KTABLE-LEFTJOIN" : "KTABLE-OUTERJOIN";
    const leftNode = b.addNode(`${prefix}THIS`, (n) => new TableTableJoinNode(n, rg, joiner, mode, true), [
      this.node,
    ]);
    const rightMode = mode === "left" ? "leftRightSide" : mode;
    const rightNode = b.addNode(
      `${prefix}OTHER`,
      (n) => new TableTableJoinNode(n, lg, joiner, rightMode, false),
      [other.node],
    );
    b.internal.connectStores([leftNode], rg.storeNames);
    b.internal.connectStores([rightNode], lg.storeNames);
    b.internal.copartition([...this.sourceTopics, ...other.sourceTopics]);
    const merge = b.addNode("KTABLE-MERGE", (n) => new PassThroughNode(n), [leftNode, rightNode]);
    const merged = new KTable<K, U>(
      b,
      merge,
      this.keySerde,
      undefined,
      joinedGetter(lg, rg, joiner, mode),
      undefined,
      [...this.sourceTopics, ...other.sourceTopics],
    );
    if (materialized === undefined) return merged;
    return merged.materialize(materialized);
  }

  /** @internal */
  materialize(materialized: Materialized<K, U>): KTable<K, U> {
    const b = this.builder;
    const storeName = materialized.storeName ?? b.newName("KTABLE-MATERIALIZE-STATE-STORE");
    const vs = (materialized.valueSerde ?? this.valueSerde ?? b.defaultValueSerde) as AnySerde;
    const node = b.addNode("KTABLE-MATERIALIZE", (n) => new TableMaterializeNode(n, storeName), [this.node]);
    b.internal.addStore(
      kvSpec(
        storeName,
        materialized.keySerde ?? this.keySerde,
        vs,
        materialized as Materialized<U, U>,
      ) as StoreSpec<U, U>,
      [node],
    );
    return new KTable<K, U>(b, node, this.keySerde, vs, storeGetter(storeName), storeName, this.sourceTopics);
  }

  private fkJoin(
    leftJoin: boolean,
    other: KTable<U, U>,
    extractor: (v: U) => U,
    joiner: (l: U, r: U, k: U) => U,
    materialized: Materialized<K, U> | undefined,
  ): KTable<K, U> {
    const b = this.builder;
    const fk = new ForeignKeyJoinBuilder(b, {
      leftNode: this.node,
      rightNode: other.node,
      leftGetter: this.valueGetterSupplier(),
      rightGetter: other.valueGetterSupplier(),
      leftKeySerde: this.keySerde as AnySerde,
      rightKeySerde: other.keySerde as AnySerde,
      leftValueSerde: (this.valueSerde ?? b.defaultValueSerde) as AnySerde,
      rightValueSerde: (other.valueSerde ?? b.defaultValueSerde) as AnySerde,
      extractor,
      joiner,
      leftJoin,
    });
    const node = fk.build();
    const t = new KTable<K, U>(b, node, this.keySerde, undefined, undefined, undefined, this.sourceTopics);
    return t.materialize(materialized ?? {});
  }
}

export class GlobalKTable<K, V> {
  /** @internal */ readonly storeName: string;
  /** @internal */ readonly keySerde: Serde<K>;
  /** @internal */ readonly valueSerde: Serde<V>;
  /** @internal */
  constructor(storeName: string, keySerde: Serde<K>, valueSerde: Serde<V>) {
    this.storeName = storeName;
    this.keySerde = keySerde;
    this.valueSerde = valueSerde;
  }
  get queryableStoreName(): string {
    return this.storeName;
  }
}

function countInit(): number {
  return 0;
}
function countAdd(_k: unknown, _v: unknown, agg: unknown): number {
  return (agg as number) + 1;
}
function countSub(_k: unknown, _v: unknown, agg: unknown): number {
  return (agg as number) - 1;
}

export class KGroupedStream<K, V> {
  /** @internal */ readonly stream: KStream<K, V>;
  /** @internal */ readonly keySerde: Serde<K> | undefined;
  /** @internal */ readonly valueSerde: Serde<V> | undefined;
  /** @internal */ readonly name: string | undefined;
  /** @internal */
  constructor(
    stream: KStream<K, V>,
    keySerde: Serde<K> | undefined,
    valueSerde: Serde<V> | undefined,
    name: string | undefined,
  ) {
    this.stream = stream;
    this.keySerde = keySerde;
    this.valueSerde = valueSerde;
    this.name = name;
  }

  /** @internal */
  input(storeName: string): KStream<K, V> {
    return this.stream.repartitionIfRequired(this.name ?? storeName, this.keySerde, this.valueSerde);
  }

  private aggregateInto<VA>(
    initializer: Initializer<VA> | null,
    aggregator: (k: U, v: U, a: U) => U,
    materialized: Materialized<K, VA>,
    defaultValueSerde: Serde<VA> | undefined,
  ): KTable<K, VA> {
    const b = this.stream.builder;
    const storeName = materialized.storeName ?? b.newName("KSTREAM-AGGREGATE-STATE-STORE");
    const input = this.input(storeName);
    const keySerde = (materialized.keySerde ?? this.keySerde ?? b.defaultKeySerde) as Serde<K>;
    const vs = (materialized.valueSerde ?? defaultValueSerde ?? b.defaultValueSerde) as Serde<VA>;
    const node = b.addNode(
      "KSTREAM-AGGREGATE",
      (n) => new StreamAggregateNode(n, storeName, initializer, aggregator),
      [input.node],
    );
    b.internal.addStore(
      kvSpec(storeName, keySerde, vs, materialized as Materialized<U, U>) as StoreSpec<U, U>,
      [node],
    );
    return new KTable<K, VA>(b, node, keySerde, vs, storeGetter(storeName), storeName, input.sourceTopics);
  }

  count(materialized: Materialized<K, number> = {}): KTable<K, number> {
    return this.aggregateInto<number>(countInit, countAdd, materialized, LongSerde);
  }

  reduce(reducer: Reducer<V>, materialized: Materialized<K, V> = {}): KTable<K, V> {
    return this.aggregateInto<V>(null, (_k, v, a) => reducer(a as V, v as V), materialized, this.valueSerde);
  }

  aggregate<VA>(
    initializer: Initializer<VA>,
    aggregator: Aggregator<K, V, VA>,
    materialized: Materialized<K, VA> = {},
  ): KTable<K, VA> {
    return this.aggregateInto<VA>(initializer, aggregator as never, materialized, undefined);
  }

  windowedBy(windows: TimeWindows | SlidingWindows): TimeWindowedKStream<K, V>;
  windowedBy(windows: SessionWindows): SessionWindowedKStream<K, V>;
  windowedBy(
    windows: TimeWindows | SlidingWindows | SessionWindows,
  ): TimeWindowedKStream<K, V> | SessionWindowedKStream<K, V> {
    if (windows instanceof SessionWindows) return new SessionWindowedKStream<K, V>(this, windows);
    return new TimeWindowedKStream<K, V>(this, windows);
  }

  cogroup<VA>(aggregator: Aggregator<K, V, VA>): CogroupedKStream<K, VA> {
    return new CogroupedKStream<K, VA>(this.stream.builder, [
      { grouped: this as KGroupedStream<K, U>, aggregator: aggregator as never },
    ]);
  }
}

export type EmitStrategy = "onWindowUpdate" | "onWindowClose";

export class TimeWindowedKStream<K, V> {
  private readonly grouped: KGroupedStream<K, V>;
  private readonly windows: TimeWindows | SlidingWindows;
  private emit: EmitStrategy = "onWindowUpdate";
  /** @internal */
  constructor(grouped: KGroupedStream<K, V>, windows: TimeWindows | SlidingWindows) {
    this.grouped = grouped;
    this.windows = windows;
  }
  /** "onWindowClose" emits one final result per window (KIP-825), like suppress(untilWindowCloses). */
  emitStrategy(strategy: EmitStrategy): this {
    this.emit = strategy;
    return this;
  }
  /** @internal */
  aggregateWith<VA>(
    inputs: { node: string; makeAgg: (storeName: string) => (n: string) => ProcessorNode }[],
    materialized: Materialized<K, VA>,
    defaultValueSerde: Serde<VA> | undefined,
  ): KTable<Windowed<K>, VA> {
    const b = this.grouped.stream.builder;
    const w = this.windows;
    const storeName = materialized.storeName ?? b.newName("KSTREAM-AGGREGATE-STATE-STORE");
    const keySerde = (materialized.keySerde ?? this.grouped.keySerde ?? b.defaultKeySerde) as Serde<K>;
    const vs = (materialized.valueSerde ?? defaultValueSerde ?? b.defaultValueSerde) as Serde<VA>;
    const sizeMs = w instanceof TimeWindows ? w.sizeMs : w.timeDifferenceMs;
    const minRetention = w instanceof TimeWindows ? w.sizeMs + w.graceMs : 2 * w.timeDifferenceMs + w.graceMs;
    const retentionMs = materialized.retentionMs ?? minRetention;
    if (retentionMs < minRetention) {
      throw new StreamsError(
        "CONFIG_INVALID",
        `store ${storeName}: retention ${retentionMs} ms is shorter than window size + grace (${minRetention} ms)`,
      );
    }
    const nodes = inputs.map((i) => b.addNode("KSTREAM-AGGREGATE", i.makeAgg(storeName), [i.node]));
    const spec: StoreSpec<U, U> = {
      kind: "window",
      name: storeName,
      keySerde: keySerde as AnySerde,
      valueSerde: timestampedSerde(vs) as AnySerde,
      persistent: materialized.storeType !== "inMemory",
      logging: materialized.logging ?? true,
      logConfig: materialized.logConfig,
      windowSizeMs: sizeMs,
      retentionMs,
      // Only time windows forward through the cache; sliding windows forward every update.
      caching: materialized.caching ?? w instanceof TimeWindows,
      timestamped: true,
    };
    b.internal.addStore(spec, nodes);
    let node = nodes[0]!;
    if (nodes.length > 1) node = b.addNode("COGROUPKSTREAM-MERGE", (n) => new PassThroughNode(n), nodes);
    const getter: ValueGetterSupplier = {
      storeNames: [storeName],
      make(ctx) {
        const s = ctx.getStore(storeName) as WindowStore<U, ValueAndTimestamp<U>>;
        return { get: (k) => s.fetch((k as Windowed<U>).key, (k as Windowed<U>).window.start) };
      },
    };
    const table = new KTable<Windowed<K>, VA>(
      b,
      node,
      WindowedSerdes.timeWindowed(keySerde, sizeMs),
      vs,
      getter,
      storeName,
      [],
      w.graceMs,
    );
    return this.emit === "onWindowClose" ? table.suppress({ kind: "untilWindowCloses", buffer: {} }) : table;
  }
  private make<VA>(
    initializer: Initializer<VA> | null,
    aggregator: (k: U, v: U, a: U) => U,
  ): (storeName: string) => (n: string) => ProcessorNode {
    const w = this.windows;
    return (storeName) => (n) =>
      w instanceof TimeWindows
        ? new TimeWindowAggregateNode(n, storeName, w, initializer, aggregator)
        : new SlidingWindowAggregateNode(n, storeName, w, initializer ?? (() => null), aggregator);
  }
  private run<VA>(
    initializer: Initializer<VA> | null,
    aggregator: (k: U, v: U, a: U) => U,
    materialized: Materialized<K, VA>,
    defaultValueSerde: Serde<VA> | undefined,
  ): KTable<Windowed<K>, VA> {
    const b = this.grouped.stream.builder;
    const storeName = materialized.storeName ?? b.newName("KSTREAM-AGGREGATE-STATE-STORE");
    const input = this.grouped.input(storeName);
    return this.aggregateWith<VA>(
      [{ node: input.node, makeAgg: this.make(initializer, aggregator) }],
      { ...materialized, storeName },
      defaultValueSerde,
    );
  }
  count(materialized: Materialized<K, number> = {}): KTable<Windowed<K>, number> {
    return this.run<number>(countInit, countAdd, materialized, LongSerde);
  }
  reduce(reducer: Reducer<V>, materialized: Materialized<K, V> = {}): KTable<Windowed<K>, V> {
    // Sliding windows need an initializer: a reduce starts from "no value yet" (null).
    const agg = (_k: U, v: U, a: U) => (a === null ? v : reducer(a as V, v as V));
    return this.run<V>(
      this.windows instanceof SlidingWindows ? () => null as V : null,
      agg,
      materialized,
      this.grouped.valueSerde,
    );
  }
  aggregate<VA>(
    initializer: Initializer<VA>,
    aggregator: Aggregator<K, V, VA>,
    materialized: Materialized<K, VA> = {},
  ): KTable<Windowed<K>, VA> {
    return this.run<VA>(initializer, aggregator as never, materialized, undefined);
  }
}

export class SessionWindowedKStream<K, V> {
  private readonly grouped: KGroupedStream<K, V>;
  private readonly windows: SessionWindows;
  private emit: EmitStrategy = "onWindowUpdate";
  /** @internal */
  constructor(grouped: KGroupedStream<K, V>, windows: SessionWindows) {
    this.grouped = grouped;
    this.windows = windows;
  }
  emitStrategy(strategy: EmitStrategy): this {
    this.emit = strategy;
    return this;
  }
  private run<VA>(
    initializer: Initializer<VA> | null,
    aggregator: (k: U, v: U, a: U) => U,
    merger: ((k: U, a: U, b: U) => U) | null,
    materialized: Materialized<K, VA>,
    defaultValueSerde: Serde<VA> | undefined,
  ): KTable<Windowed<K>, VA> {
    const b = this.grouped.stream.builder;
    const w = this.windows;
    const storeName = materialized.storeName ?? b.newName("KSTREAM-AGGREGATE-STATE-STORE");
    const input = this.grouped.input(storeName);
    const keySerde = (materialized.keySerde ?? this.grouped.keySerde ?? b.defaultKeySerde) as Serde<K>;
    const vs = (materialized.valueSerde ?? defaultValueSerde ?? b.defaultValueSerde) as Serde<VA>;
    const node = b.addNode(
      "KSTREAM-SESSION-AGGREGATE",
      (n) => new SessionWindowAggregateNode(n, storeName, w, initializer, aggregator, merger),
      [input.node],
    );
    b.internal.addStore(
      {
        kind: "session",
        name: storeName,
        keySerde: keySerde as AnySerde,
        valueSerde: vs as AnySerde,
        persistent: materialized.storeType !== "inMemory",
        logging: materialized.logging ?? true,
        logConfig: materialized.logConfig,
        retentionMs: materialized.retentionMs ?? w.inactivityGapMs + w.graceMs,
        timestamped: false,
      },
      [node],
    );
    const table = new KTable<Windowed<K>, VA>(
      b,
      node,
      WindowedSerdes.sessionWindowed(keySerde),
      vs,
      undefined,
      storeName,
      [],
      w.graceMs,
    );
    return this.emit === "onWindowClose" ? table.suppress({ kind: "untilWindowCloses", buffer: {} }) : table;
  }
  count(materialized: Materialized<K, number> = {}): KTable<Windowed<K>, number> {
    return this.run<number>(
      countInit,
      countAdd,
      (_k, a, c) => (a as number) + (c as number),
      materialized,
      LongSerde,
    );
  }
  reduce(reducer: Reducer<V>, materialized: Materialized<K, V> = {}): KTable<Windowed<K>, V> {
    return this.run<V>(
      null,
      (_k, v, a) => reducer(a as V, v as V),
      null,
      materialized,
      this.grouped.valueSerde,
    );
  }
  aggregate<VA>(
    initializer: Initializer<VA>,
    aggregator: Aggregator<K, V, VA>,
    merger: Merger<K, VA>,
    materialized: Materialized<K, VA> = {},
  ): KTable<Windowed<K>, VA> {
    return this.run<VA>(initializer, aggregator as never, merger as never, materialized, undefined);
  }
}

export class KGroupedTable<K, V> {
  private readonly builder: StreamsBuilder;
  private readonly selectNode: string;
  private readonly keySerde: Serde<K> | undefined;
  private readonly valueSerde: Serde<V> | undefined;
  private readonly name: string | undefined;
  /** @internal */
  constructor(
    builder: StreamsBuilder,
    selectNode: string,
    keySerde: Serde<K> | undefined,
    valueSerde: Serde<V> | undefined,
    name: string | undefined,
  ) {
    this.builder = builder;
    this.selectNode = selectNode;
    this.keySerde = keySerde;
    this.valueSerde = valueSerde;
    this.name = name;
  }
  private run<VA>(
    initializer: Initializer<VA> | null,
    adder: (k: U, v: U, a: U) => U,
    subtractor: (k: U, v: U, a: U) => U,
    materialized: Materialized<K, VA>,
    defaultValueSerde: Serde<VA> | undefined,
  ): KTable<K, VA> {
    const b = this.builder;
    const storeName = materialized.storeName ?? b.newName("KTABLE-AGGREGATE-STATE-STORE");
    const topic = `${this.name ?? storeName}-repartition`;
    b.internal.addInternalTopic({ name: topic, kind: "repartition" });
    const ks = (this.keySerde ?? b.defaultKeySerde) as AnySerde;
    const cs = changeSerde((this.valueSerde ?? b.defaultValueSerde) as AnySerde) as AnySerde;
    b.internal.addSink(b.newName("KSTREAM-SINK"), topic, ks, cs, undefined, [this.selectNode]);
    const src = b.newName("KSTREAM-SOURCE");
    b.internal.addSource(src, [topic], ks, cs);
    const keySerde = (materialized.keySerde ?? this.keySerde ?? b.defaultKeySerde) as Serde<K>;
    const vs = (materialized.valueSerde ?? defaultValueSerde ?? b.defaultValueSerde) as Serde<VA>;
    const node = b.addNode(
      "KTABLE-AGGREGATE",
      (n) => new TableAggregateNode(n, storeName, initializer, adder, subtractor),
      [src],
    );
    b.internal.addStore(
      kvSpec(storeName, keySerde, vs, materialized as Materialized<U, U>) as StoreSpec<U, U>,
      [node],
    );
    return new KTable<K, VA>(b, node, keySerde, vs, storeGetter(storeName), storeName, [topic]);
  }
  count(materialized: Materialized<K, number> = {}): KTable<K, number> {
    return this.run<number>(countInit, countAdd, countSub, materialized, LongSerde);
  }
  reduce(adder: Reducer<V>, subtractor: Reducer<V>, materialized: Materialized<K, V> = {}): KTable<K, V> {
    return this.run<V>(
      null,
      (_k, v, a) => adder(a as V, v as V),
      (_k, v, a) => subtractor(a as V, v as V),
      materialized,
      this.valueSerde,
    );
  }
  aggregate<VA>(
    initializer: Initializer<VA>,
    adder: Aggregator<K, V, VA>,
    subtractor: Aggregator<K, V, VA>,
    materialized: Materialized<K, VA> = {},
  ): KTable<K, VA> {
    return this.run<VA>(initializer, adder as never, subtractor as never, materialized, undefined);
  }
}

export class CogroupedKStream<K, VA> {
  private readonly builder: StreamsBuilder;
  private readonly inputs: { grouped: KGroupedStream<K, U>; aggregator: (k: U, v: U, a: U) => U }[];
  /** @internal */
  constructor(
    builder: StreamsBuilder,
    inputs: { grouped: KGroupedStream<K, U>; aggregator: (k: U, v: U, a: U) => U }[],
  ) {
    this.builder = builder;
    this.inputs = inputs;
  }
  cogroup<V>(grouped: KGroupedStream<K, V>, aggregator: Aggregator<K, V, VA>): CogroupedKStream<K, VA> {
    return new CogroupedKStream<K, VA>(this.builder, [
      ...this.inputs,
      { grouped: grouped as KGroupedStream<K, U>, aggregator: aggregator as never },
    ]);
  }
  aggregate(initializer: Initializer<VA>, materialized: Materialized<K, VA> = {}): KTable<K, VA> {
    const b = this.builder;
    const storeName = materialized.storeName ?? b.newName("COGROUPKSTREAM-AGGREGATE-STATE-STORE");
    const keySerde = (materialized.keySerde ??
      this.inputs[0]!.grouped.keySerde ??
      b.defaultKeySerde) as Serde<K>;
    const vs = (materialized.valueSerde ?? b.defaultValueSerde) as Serde<VA>;
    const nodes: string[] = [];
    const topics: string[] = [];
    for (const i of this.inputs) {
      const input = i.grouped.input(`${storeName}-${nodes.length}`);
      topics.push(...input.sourceTopics);
      nodes.push(
        b.addNode(
          "COGROUPKSTREAM-AGGREGATE",
          (n) => new StreamAggregateNode(n, storeName, initializer, i.aggregator),
          [input.node],
        ),
      );
    }
    b.internal.addStore(
      kvSpec(storeName, keySerde, vs, materialized as Materialized<U, U>) as StoreSpec<U, U>,
      nodes,
    );
    b.internal.copartition(topics);
    const merge = b.addNode("COGROUPKSTREAM-MERGE", (n) => new PassThroughNode(n), nodes);
    return new KTable<K, VA>(b, merge, keySerde, vs, storeGetter(storeName), storeName, topics);
  }
  windowedBy(windows: TimeWindows): {
    aggregate(initializer: Initializer<VA>, materialized?: Materialized<K, VA>): KTable<Windowed<K>, VA>;
  } {
    return {
      aggregate: (initializer, materialized = {}) => {
        const first = this.inputs[0]!.grouped;
        const tw = new TimeWindowedKStream<K, U>(first, windows);
        const storeName =
          materialized.storeName ?? this.builder.newName("COGROUPKSTREAM-AGGREGATE-STATE-STORE");
        const inputs = this.inputs.map((i, idx) => ({
          node: i.grouped.input(`${storeName}-${idx}`).node,
          makeAgg: (s: string) => (n: string) =>
            new TimeWindowAggregateNode(n, s, windows, initializer, i.aggregator),
        }));
        return tw.aggregateWith<VA>(inputs, { ...materialized, storeName }, undefined) as unknown as KTable<
          Windowed<K>,
          VA
        >;
      },
    };
  }
}

// Topology: the processing graph an application runs, built by the DSL (StreamsBuilder) or by
// hand with the Processor API. `describe()` prints sub-topologies, sources, processors, stores
// and sinks like Kafka Streams' TopologyDescription, and returns a structured form for graphs.
import type { Serde } from "../serde/index.ts";
import { Serdes } from "../serde/index.ts";
import { TopologyError } from "./errors.ts";
import { InternalTopologyBuilder } from "./internals/builder.ts";
import { type ProcessorNode, UserProcessorNode } from "./internals/node.ts";
import type { Processor, ProcessorContext, ProcessorSupplier } from "./processor.ts";
import type { StoreSpec } from "./stores.ts";
import type { Record, RecordContext, StreamPartitioner, TimestampExtractor } from "./types.ts";

export interface NodeDescription {
  readonly name: string;
  readonly type: "source" | "processor" | "sink";
  readonly topics?: readonly string[];
  readonly topic?: string;
  readonly stores: readonly string[];
  readonly predecessors: readonly string[];
  readonly successors: readonly string[];
}

export interface SubtopologyDescription {
  readonly id: number;
  readonly nodes: readonly NodeDescription[];
}

export interface GlobalStoreDescription {
  readonly id: number;
  readonly store: string;
  readonly topic: string;
  readonly nodes: readonly NodeDescription[];
}

export interface TopologyDescription {
  readonly subtopologies: readonly SubtopologyDescription[];
  readonly globalStores: readonly GlobalStoreDescription[];
  /** The text form, as Kafka's `TopologyDescription.toString()`. */
  toString(): string;
}

export class Topology {
  /** @internal */
  readonly internal: InternalTopologyBuilder;

  constructor(internal?: InternalTopologyBuilder) {
    this.internal = internal ?? new InternalTopologyBuilder();
  }

  addSource<K, V>(
    name: string,
    topics: string | readonly string[],
    options: {
      keySerde?: Serde<K>;
      valueSerde?: Serde<V>;
      timestampExtractor?: TimestampExtractor<K, V>;
    } = {},
  ): this {
    this.internal.addSource(
      name,
      typeof topics === "string" ? [topics] : topics,
      (options.keySerde ?? Serdes.Bytes) as Serde<unknown>,
      (options.valueSerde ?? Serdes.Bytes) as Serde<unknown>,
      options.timestampExtractor as TimestampExtractor<unknown, unknown> | undefined,
    );
    return this;
  }

  addProcessor<KIn, VIn, KOut, VOut>(
    name: string,
    supplier: ProcessorSupplier<KIn, VIn, KOut, VOut>,
    ...parentNames: string[]
  ): this {
    const internal = this.internal;
    this.internal.addProcessor(
      name,
      () => new UserProcessorNode(name, supplier() as unknown as UserProcessor, internal.storesOf(name)),
      parentNames,
    );
    return this;
  }

  addSink<K, V>(
    name: string,
    topic: string | ((key: K, value: V, context: RecordContext) => string),
    options: { keySerde?: Serde<K>; valueSerde?: Serde<V>; partitioner?: StreamPartitioner<K, V> },
    ...parentNames: string[]
  ): this {
    this.internal.addSink(
      name,
      topic as string | ((k: unknown, v: unknown, c: RecordContext) => string),
      (options.keySerde ?? Serdes.Bytes) as Serde<unknown>,
      (options.valueSerde ?? Serdes.Bytes) as Serde<unknown>,
      options.partitioner as StreamPartitioner<unknown, unknown> | undefined,
      parentNames,
    );
    return this;
  }

  addStateStore<K, V>(spec: StoreSpec<K, V>, ...processorNames: string[]): this {
    this.internal.addStore(spec as StoreSpec<unknown, unknown>, processorNames);
    return this;
  }

  connectProcessorAndStateStores(processorName: string, ...storeNames: string[]): this {
    this.internal.connectStores([processorName], storeNames);
    return this;
  }

  /**
   * A global store: every instance reads all partitions of `topic` into it through `processor`
   * (which should only write the store). No changelog: the topic is the changelog.
   */
  addGlobalStore<K, V>(
    spec: StoreSpec<K, V>,
    sourceName: string,
    topic: string,
    options: { keySerde?: Serde<K>; valueSerde?: Serde<V> },
    processorName: string,
    supplier: ProcessorSupplier<K, V, never, never>,
  ): this {
    if (spec.logging) spec = { ...spec, logging: false };
    this.internal.addGlobalStore(spec as StoreSpec<unknown, unknown>, topic);
    this.internal.addSource(
      sourceName,
      [topic],
      (options.keySerde ?? Serdes.Bytes) as Serde<unknown>,
      (options.valueSerde ?? Serdes.Bytes) as Serde<unknown>,
      undefined,
      { global: true },
    );
    this.internal.addProcessor(
      processorName,
      () => new UserProcessorNode(processorName, supplier() as unknown as UserProcessor, [spec.name]),
      [sourceName],
      true,
    );
    this.internal.nodes.get(processorName)!.stores.add(spec.name);
    return this;
  }

  describe(): TopologyDescription {
    return describeTopology(this.internal);
  }
}

type UserProcessor = {
  init?(c: ProcessorContext<unknown, unknown>): void;
  process(r: Record<unknown, unknown>): void;
  close?(): void;
};

export type { Processor, ProcessorNode };

function describeTopology(b: InternalTopologyBuilder): TopologyDescription {
  const successors = new Map<string, string[]>();
  for (const d of b.nodes.values()) {
    for (const p of d.parents) {
      let s = successors.get(p);
      if (!s) successors.set(p, (s = []));
      s.push(d.name);
    }
  }
  const describeNode = (n: string): NodeDescription => {
    const d = b.nodes.get(n);
    if (!d) throw new TopologyError(`unknown node ${n}`);
    return {
      name: n,
      type: d.kind,
      topics: d.topics?.map((t) => b.resolveTopic(t)),
      topic: d.kind === "sink" ? (d.topic === undefined ? undefined : b.resolveTopic(d.topic)) : undefined,
      stores: [...d.stores],
      predecessors: d.parents,
      successors: successors.get(n) ?? [],
    };
  };
  const subtopologies = b.subtopologies().map((st) => ({ id: st.id, nodes: st.nodes.map(describeNode) }));
  let gid = subtopologies.length;
  const globalStores = b.globalParts().map((g) => ({
    id: gid++,
    store: g.store,
    topic: g.topic,
    nodes: g.nodes.map(describeNode),
  }));
  const line = (nd: NodeDescription): string => {
    const out: string[] = [];
    if (nd.type === "source") out.push(`    Source: ${nd.name} (topics: [${nd.topics!.join(", ")}])`);
    else if (nd.type === "sink")
      out.push(`    Sink: ${nd.name} (${nd.topic ? `topic: ${nd.topic}` : "extractor"})`);
    else out.push(`    Processor: ${nd.name} (stores: [${nd.stores.join(", ")}])`);
    if (nd.successors.length > 0) out.push(`      --> ${nd.successors.join(", ")}`);
    else if (nd.type !== "sink") out.push("      --> none");
    if (nd.predecessors.length > 0) out.push(`      <-- ${nd.predecessors.join(", ")}`);
    return out.join("\n");
  };
  const text = [
    "Topologies:",
    ...subtopologies.map((s) => [`   Sub-topology: ${s.id}`, ...s.nodes.map(line)].join("\n")),
    ...globalStores.map((g) =>
      [`   Sub-topology: ${g.id} for global store (will not generate tasks)`, ...g.nodes.map(line)].join(
        "\n",
      ),
    ),
  ].join("\n");
  return { subtopologies, globalStores, toString: () => text };
}

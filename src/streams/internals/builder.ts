// The logical topology: nodes (sources, processors, sinks), stores and internal topics, grouped
// into sub-topologies (connected components over parent/child links and shared stores, as in
// Kafka Streams). Built into fresh ProcessorNode graphs per task.
import type { TopicConfig } from "../../cluster/index.ts";
import type { Serde } from "../../serde/index.ts";
import { TopologyError } from "../errors.ts";
import type { StoreSpec } from "../stores.ts";
import type { StreamPartitioner, TimestampExtractor } from "../types.ts";
import { type ProcessorNode, SinkNode, SourceNode, type TopicChooser } from "./node.ts";

export type NodeKind = "source" | "processor" | "sink";

export interface NodeDef {
  readonly name: string;
  readonly kind: NodeKind;
  readonly parents: string[];
  readonly make: () => ProcessorNode;
  readonly stores: Set<string>;
  /** Source: topics (internal ones unprefixed). */
  readonly topics?: readonly string[];
  readonly offsetReset?: "earliest" | "latest";
  /** Sink: static topic, or undefined when chosen per record. */
  readonly topic?: string;
  /** Part of a global store's update path (no tasks). */
  readonly global?: boolean;
}

export interface StoreDef {
  readonly spec: StoreSpec<unknown, unknown>;
  readonly global: boolean;
  /** Global stores: the source topic that is also their changelog. */
  readonly globalTopic?: string;
}

export interface InternalTopicDef {
  /** Unprefixed name; the real topic is `<applicationId>-<name>`. */
  readonly name: string;
  readonly kind: "repartition" | "subscription";
  readonly numPartitions?: number;
  readonly config?: TopicConfig;
}

export interface Subtopology {
  readonly id: number;
  readonly nodes: readonly string[];
  /** Resolved source topics. */
  readonly sourceTopics: readonly string[];
  readonly sinkTopics: readonly string[];
  readonly stores: readonly string[];
  readonly repartitionSourceTopics: readonly string[];
}

/** Instances for one task. */
export interface ProcessorTopology {
  readonly subtopology: Subtopology;
  readonly sourcesByTopic: Map<string, SourceNode>;
  readonly nodes: ProcessorNode[];
  readonly storeDefs: StoreDef[];
}

export class InternalTopologyBuilder {
  applicationId = "";
  readonly nodes = new Map<string, NodeDef>();
  readonly stores = new Map<string, StoreDef>();
  readonly internalTopics = new Map<string, InternalTopicDef>();
  /** Groups of (unresolved) topics that must have equal partition counts (joins). */
  readonly copartitionGroups: string[][] = [];
  private readonly topicOwners = new Map<string, string>();
  private cachedSubtopologies: Subtopology[] | undefined;

  private checkNewName(name: string): void {
    if (this.nodes.has(name))
      throw new TopologyError(`a processor named ${name} already exists in the topology`);
    this.cachedSubtopologies = undefined;
  }

  private checkParents(name: string, parents: readonly string[]): void {
    if (parents.length === 0) throw new TopologyError(`processor ${name} must have at least one parent`);
    for (const p of parents) {
      const d = this.nodes.get(p);
      if (d === undefined) throw new TopologyError(`parent processor ${p} of ${name} is not in the topology`);
      if (d.kind === "sink") throw new TopologyError(`sink ${p} cannot be the parent of ${name}`);
    }
  }

  addSource(
    name: string,
    topics: readonly string[],
    keySerde: Serde<unknown>,
    valueSerde: Serde<unknown>,
    extractor?: TimestampExtractor<unknown, unknown>,
    options: { offsetReset?: "earliest" | "latest"; global?: boolean } = {},
  ): void {
    this.checkNewName(name);
    if (topics.length === 0) throw new TopologyError(`source ${name} must read at least one topic`);
    for (const t of topics) {
      const owner = this.topicOwners.get(t);
      if (owner !== undefined) {
        throw new TopologyError(
          `topic ${t} is already read by source ${owner}; a topic can have only one source`,
        );
      }
      this.topicOwners.set(t, name);
    }
    this.nodes.set(name, {
      name,
      kind: "source",
      parents: [],
      stores: new Set(),
      topics: [...topics],
      offsetReset: options.offsetReset,
      global: options.global,
      make: () => new SourceNode(name, topics, keySerde, valueSerde, extractor),
    });
  }

  addProcessor(name: string, make: () => ProcessorNode, parents: readonly string[], global = false): void {
    this.checkNewName(name);
    this.checkParents(name, parents);
    this.nodes.set(name, { name, kind: "processor", parents: [...parents], stores: new Set(), make, global });
  }

  addSink(
    name: string,
    topic: string | TopicChooser,
    keySerde: Serde<unknown>,
    valueSerde: Serde<unknown>,
    partitioner: StreamPartitioner<unknown, unknown> | undefined,
    parents: readonly string[],
  ): void {
    this.checkNewName(name);
    this.checkParents(name, parents);
    const resolve = typeof topic === "string" ? undefined : topic;
    this.nodes.set(name, {
      name,
      kind: "sink",
      parents: [...parents],
      stores: new Set(),
      topic: typeof topic === "string" ? topic : undefined,
      make: () =>
        new SinkNode(name, resolve ?? this.resolveTopic(topic as string), keySerde, valueSerde, partitioner),
    });
  }

  addInternalTopic(def: InternalTopicDef): void {
    this.internalTopics.set(def.name, def);
    this.cachedSubtopologies = undefined;
  }

  addStore(spec: StoreSpec<unknown, unknown>, processorNames: readonly string[] = []): void {
    const existing = this.stores.get(spec.name);
    if (existing !== undefined && existing.spec !== spec) {
      throw new TopologyError(`a state store named ${spec.name} already exists in the topology`);
    }
    if (existing === undefined) this.stores.set(spec.name, { spec, global: false });
    this.connectStores(processorNames, [spec.name]);
  }

  addGlobalStore(spec: StoreSpec<unknown, unknown>, topic: string): void {
    if (this.stores.has(spec.name))
      throw new TopologyError(`a state store named ${spec.name} already exists`);
    this.stores.set(spec.name, { spec, global: true, globalTopic: topic });
  }

  connectStores(processorNames: readonly string[], storeNames: readonly string[]): void {
    for (const p of processorNames) {
      const d = this.nodes.get(p);
      if (d === undefined) throw new TopologyError(`processor ${p} is not in the topology`);
      for (const s of storeNames) {
        if (!this.stores.has(s)) throw new TopologyError(`store ${s} is not in the topology (add it first)`);
        d.stores.add(s);
      }
    }
    this.cachedSubtopologies = undefined;
  }

  copartition(topics: readonly string[]): void {
    this.copartitionGroups.push([...topics]);
  }

  resolveTopic(t: string): string {
    // Before an application id is set (describe() of a fresh topology) names show unprefixed.
    return this.internalTopics.has(t) && this.applicationId !== "" ? `${this.applicationId}-${t}` : t;
  }

  changelogTopic(storeName: string): string {
    return `${this.applicationId}-${storeName}-changelog`;
  }

  subtopologies(): Subtopology[] {
    if (this.cachedSubtopologies) return this.cachedSubtopologies;
    const names = [...this.nodes.values()].filter((d) => !d.global).map((d) => d.name);
    const parent = new Map<string, string>(names.map((n) => [n, n]));
    const find = (x: string): string => {
      let r = x;
      while (parent.get(r) !== r) r = parent.get(r)!;
      parent.set(x, r);
      return r;
    };
    const union = (a: string, b: string) => {
      const ra = find(a);
      const rb = find(b);
      if (ra !== rb) parent.set(rb, ra);
    };
    const storeUser = new Map<string, string>();
    for (const n of names) {
      const d = this.nodes.get(n)!;
      for (const p of d.parents) union(p, n);
      for (const s of d.stores) {
        if (this.stores.get(s)?.global) continue;
        const u = storeUser.get(s);
        if (u === undefined) storeUser.set(s, n);
        else union(u, n);
      }
    }
    const groups = new Map<string, string[]>();
    for (const n of names) {
      const r = find(n);
      let g = groups.get(r);
      if (!g) groups.set(r, (g = []));
      g.push(n);
    }
    const out: Subtopology[] = [];
    let id = 0;
    for (const g of groups.values()) {
      const sourceTopics: string[] = [];
      const sinkTopics: string[] = [];
      const repart: string[] = [];
      const stores = new Set<string>();
      for (const n of g) {
        const d = this.nodes.get(n)!;
        if (d.kind === "source") {
          for (const t of d.topics!) {
            sourceTopics.push(this.resolveTopic(t));
            if (this.internalTopics.has(t)) repart.push(this.resolveTopic(t));
          }
        }
        if (d.kind === "sink" && d.topic !== undefined) sinkTopics.push(this.resolveTopic(d.topic));
        for (const s of d.stores) if (!this.stores.get(s)?.global) stores.add(s);
      }
      out.push({
        id: id++,
        nodes: g,
        sourceTopics,
        sinkTopics,
        stores: [...stores],
        repartitionSourceTopics: repart,
      });
    }
    this.cachedSubtopologies = out;
    return out;
  }

  /** Global store update paths: source topic, nodes and store. */
  globalParts(): { store: string; topic: string; nodes: string[] }[] {
    const out: { store: string; topic: string; nodes: string[] }[] = [];
    for (const [name, def] of this.stores) {
      if (!def.global) continue;
      const nodes = [...this.nodes.values()]
        .filter(
          (d) =>
            d.global && (d.stores.has(name) || (d.kind === "source" && d.topics?.includes(def.globalTopic!))),
        )
        .map((d) => d.name);
      out.push({ store: name, topic: def.globalTopic!, nodes });
    }
    return out;
  }

  /** Instantiates the nodes of `nodeNames` with their links. */
  instantiate(nodeNames: readonly string[]): { nodes: ProcessorNode[]; byName: Map<string, ProcessorNode> } {
    const byName = new Map<string, ProcessorNode>();
    const nodes: ProcessorNode[] = [];
    for (const n of nodeNames) {
      const node = this.nodes.get(n)!.make();
      byName.set(n, node);
      nodes.push(node);
    }
    for (const n of nodeNames) {
      for (const p of this.nodes.get(n)!.parents) byName.get(p)?.addChild(byName.get(n)!);
    }
    return { nodes, byName };
  }

  build(subtopologyId: number): ProcessorTopology {
    const st = this.subtopologies()[subtopologyId];
    if (!st) throw new TopologyError(`no sub-topology ${subtopologyId}`);
    const { nodes, byName } = this.instantiate(st.nodes);
    const sourcesByTopic = new Map<string, SourceNode>();
    for (const n of st.nodes) {
      const d = this.nodes.get(n)!;
      if (d.kind === "source") {
        for (const t of d.topics!) sourcesByTopic.set(this.resolveTopic(t), byName.get(n) as SourceNode);
      }
    }
    const storeDefs = st.stores.map((s) => this.stores.get(s)!);
    return { subtopology: st, sourcesByTopic, nodes, storeDefs };
  }

  /** Stores a node may access (its own plus global ones). */
  storesOf(node: string): string[] {
    return [...(this.nodes.get(node)?.stores ?? [])];
  }
}

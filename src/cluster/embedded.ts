// EmbeddedCluster: the Cluster seam implemented in-process over a Broker (no sockets, no copies of
// stored records beyond decoding). It can own its broker (EmbeddedCluster.open) or wrap one that a
// process also serves over the wire (EmbeddedCluster.wrap).
import type { MessagePort } from "node:worker_threads";
import { Broker, type BrokerOptions, kafkaError } from "../broker/index.ts";
import { decodeAssignment } from "./consumer-protocol.ts";
import { EmbeddedConsumer } from "./embedded-consumer.ts";
import { EmbeddedProducer } from "./embedded-producer.ts";
import { LinkedCluster, type LinkedClusterOptions } from "./link-client.ts";
import { ClusterLink } from "./link-server.ts";
import type {
  Admin,
  Cluster,
  Consumer,
  ConsumerOptions,
  GroupDescription,
  GroupListing,
  NewTopic,
  Offset,
  OffsetAndMetadata,
  OffsetSpec,
  PartitionLag,
  Producer,
  ProducerOptions,
  TopicConfig,
  TopicDescription,
  TopicPartition,
} from "./types.ts";
import { tpKey } from "./types.ts";

export type EmbeddedClusterOptions = BrokerOptions;

export class EmbeddedCluster implements Cluster {
  readonly kind = "embedded" as const;
  readonly broker: Broker;
  private readonly ownsBroker: boolean;
  private readonly clients = new Set<{ close(): Promise<void> }>();
  private readonly links = new Set<ClusterLink>();
  private closed = false;

  private constructor(broker: Broker, ownsBroker: boolean) {
    this.broker = broker;
    this.ownsBroker = ownsBroker;
  }

  /** Opens a broker on `dataDir` (taking its lock) and a cluster over it; close() closes both. */
  static async open(options: EmbeddedClusterOptions): Promise<EmbeddedCluster> {
    return new EmbeddedCluster(await Broker.open(options), true);
  }

  /** A cluster over an already open broker; close() leaves the broker open. */
  static wrap(broker: Broker): EmbeddedCluster {
    return new EmbeddedCluster(broker, false);
  }

  /**
   * For a worker thread: a Cluster over the embedded broker that another thread serves on `port` (see
   * serveLink), with the same producer, consumer and admin semantics as a local EmbeddedCluster.
   */
  static attach(port: MessagePort, options?: LinkedClusterOptions): LinkedCluster {
    return new LinkedCluster(port, options);
  }

  /**
   * Serves this cluster's broker to the worker thread holding the other end of `port` (a MessageChannel
   * port; the worker calls EmbeddedCluster.attach on its end). The link closes when the worker's cluster
   * closes or its thread ends, on link.close(), and when this cluster closes.
   */
  serveLink(port: MessagePort): ClusterLink {
    this.check();
    const link = new ClusterLink(this.broker, new EmbeddedAdmin(this.broker), port, (l) =>
      this.links.delete(l),
    );
    this.links.add(link);
    return link;
  }

  /** Answers the queued calls of every link now (see Cluster.serveWaiting). */
  serveWaiting(): void {
    for (const l of this.links) l.serveWaiting();
  }

  /** Links being served (see serveLink). */
  get activeLinks(): readonly ClusterLink[] {
    return [...this.links];
  }

  admin(): Admin {
    return new EmbeddedAdmin(this.broker);
  }

  async createProducer(options?: ProducerOptions): Promise<Producer> {
    this.check();
    let p: EmbeddedProducer | undefined;
    p = await EmbeddedProducer.create(this.broker, options, () => {
      if (p) this.clients.delete(p);
    });
    this.clients.add(p);
    return p;
  }

  async createConsumer(options?: ConsumerOptions): Promise<Consumer> {
    this.check();
    const c: EmbeddedConsumer = new EmbeddedConsumer(this.broker, options, () => this.clients.delete(c));
    this.clients.add(c);
    return c;
  }

  private check(): void {
    if (this.closed) throw kafkaError("INVALID_STATE", "the cluster is closed");
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // Workers first: their calls fail at once (BROKER_NOT_AVAILABLE) instead of racing the shutdown.
    for (const l of [...this.links]) await l.close();
    for (const c of [...this.clients]) await c.close().catch(() => {});
    if (this.ownsBroker) await this.broker.close();
  }
}

function throwIfError(code: string, message: string | null | undefined, what: string): void {
  if (code !== "NONE") throw kafkaError(code, message ? `${what}: ${message}` : `${what}: ${code}`);
}

export class EmbeddedAdmin implements Admin {
  private readonly broker: Broker;
  constructor(broker: Broker) {
    this.broker = broker;
  }

  async createTopics(
    topics: readonly NewTopic[],
    options?: { readonly ifNotExists?: boolean },
  ): Promise<void> {
    const res = this.broker.createTopics({
      topics: topics.map((t) => ({ name: t.name, numPartitions: t.partitions, configs: t.config })),
    });
    for (const r of res) {
      if (r.errorCode === "TOPIC_ALREADY_EXISTS" && options?.ifNotExists) continue;
      throwIfError(r.errorCode, r.errorMessage, `create topic "${r.name}"`);
    }
  }

  async deleteTopics(names: readonly string[]): Promise<void> {
    for (const r of this.broker.deleteTopics({ names }))
      throwIfError(r.errorCode, r.errorMessage, `delete topic "${r.name}"`);
  }

  async listTopics(options?: { readonly includeInternal?: boolean }): Promise<string[]> {
    return this.broker.log
      .listTopics()
      .filter((t) => options?.includeInternal || !this.broker.isInternalTopic(t))
      .sort();
  }

  async describeTopics(names: readonly string[]): Promise<TopicDescription[]> {
    return names.map((name) => {
      if (!this.broker.log.hasTopic(name))
        throw kafkaError("UNKNOWN_TOPIC_OR_PARTITION", `topic "${name}" does not exist`);
      const info = this.broker.log.describeTopic(name);
      const partitions = [];
      for (let p = 0; p < info.partitions; p++) {
        const log = this.broker.log.partition(name, p);
        partitions.push({
          partition: p,
          leader: this.broker.brokerId,
          logStartOffset: log.logStartOffset,
          highWatermark: log.highWatermark,
        });
      }
      return {
        name,
        internal: this.broker.isInternalTopic(name),
        partitions,
        config: { ...info.effectiveConfig },
      };
    });
  }

  /** Sets the given config entries, keeping the other overrides (incremental, like kafka-configs --alter). */
  async alterTopicConfig(name: string, config: TopicConfig): Promise<void> {
    const [r] = this.broker.alterConfigs({
      resources: [{ resourceType: "topic", resourceName: name, configs: config }],
      incremental: true,
    });
    throwIfError(r!.errorCode, r!.errorMessage, `alter config of topic "${name}"`);
  }

  async createPartitions(name: string, totalCount: number): Promise<void> {
    const [r] = this.broker.createPartitions({ topics: [{ name, count: totalCount }] });
    throwIfError(r!.errorCode, r!.errorMessage, `create partitions of topic "${name}"`);
  }

  async deleteRecords(partition: TopicPartition, beforeOffset: Offset): Promise<Offset> {
    const [t] = this.broker.deleteRecords({
      topics: [
        {
          name: partition.topic,
          partitions: [{ partitionIndex: partition.partition, offset: beforeOffset }],
        },
      ],
    });
    const p = t!.partitions[0]!;
    throwIfError(
      p.errorCode,
      null,
      `delete records of ${partition.topic}-${partition.partition} before ${beforeOffset}`,
    );
    return p.lowWatermark;
  }

  async listOffsets(partitions: readonly TopicPartition[], spec: OffsetSpec): Promise<Map<string, Offset>> {
    const ts = spec === "earliest" ? -2 : spec === "latest" ? -1 : spec.timestamp;
    const res = this.broker.listOffsets({
      topics: partitions.map((tp) => ({
        name: tp.topic,
        partitions: [{ partitionIndex: tp.partition, timestamp: ts }],
      })),
    });
    const out = new Map<string, Offset>();
    for (const t of res.topics)
      for (const p of t.partitions) {
        throwIfError(p.errorCode, null, `list offsets of ${t.name}-${p.partitionIndex}`);
        out.set(tpKey({ topic: t.name, partition: p.partitionIndex }), p.offset);
      }
    return out;
  }

  async listGroups(): Promise<GroupListing[]> {
    return this.broker
      .listGroups()
      .map((g) => ({ groupId: g.groupId, state: g.groupState, protocolType: g.protocolType }));
  }

  async describeGroups(groupIds: readonly string[]): Promise<GroupDescription[]> {
    return this.broker.describeGroups({ groupIds }).map((g) => ({
      groupId: g.groupId,
      state: g.groupState,
      protocol: g.protocolData,
      generationId: this.broker.groups.generation(g.groupId),
      members: g.members.map((m) => {
        let assignment: TopicPartition[] = [];
        if (g.protocolType === "consumer" && m.memberAssignment.length > 0) {
          try {
            assignment = [...decodeAssignment(m.memberAssignment).partitions];
          } catch {
            assignment = [];
          }
        }
        return {
          memberId: m.memberId,
          groupInstanceId: m.groupInstanceId ?? undefined,
          clientId: m.clientId,
          assignment,
        };
      }),
    }));
  }

  async listGroupOffsets(groupId: string): Promise<OffsetAndMetadata[]> {
    return this.broker
      .groupOffsets(groupId)
      .map((o) => ({
        topic: o.topic,
        partition: o.partition,
        offset: o.value.offset,
        metadata: o.value.metadata ?? undefined,
      }))
      .sort((a, b) => (a.topic === b.topic ? a.partition - b.partition : a.topic < b.topic ? -1 : 1));
  }

  async describeLag(groupId: string): Promise<PartitionLag[]> {
    const committed = new Map<string, { tp: TopicPartition; offset: number | null }>();
    for (const o of this.broker.groupOffsets(groupId))
      committed.set(tpKey(o), { tp: { topic: o.topic, partition: o.partition }, offset: o.value.offset });
    // Partitions assigned to members but never committed also lag (from the log start).
    for (const d of await this.describeGroups([groupId]))
      for (const m of d.members)
        for (const tp of m.assignment)
          if (!committed.has(tpKey(tp))) committed.set(tpKey(tp), { tp, offset: null });
    const out: PartitionLag[] = [];
    for (const { tp, offset } of committed.values()) {
      if (!this.broker.partitionExists(tp.topic, tp.partition)) continue;
      const log = this.broker.log.partition(tp.topic, tp.partition);
      const endOffset = log.lastStableOffset;
      const from = offset ?? log.logStartOffset;
      out.push({ ...tp, committed: offset, endOffset, lag: Math.max(0, endOffset - from) });
    }
    return out.sort((a, b) => (a.topic === b.topic ? a.partition - b.partition : a.topic < b.topic ? -1 : 1));
  }

  async deleteGroups(groupIds: readonly string[]): Promise<void> {
    for (const r of this.broker.deleteGroups({ groupIds }))
      throwIfError(r.errorCode, null, `delete group "${r.groupId}"`);
  }
}

// Internal topics of an application: repartition / subscription topics and store changelogs,
// with partition counts derived as Kafka Streams does (explicit count, else the co-partition
// group's, else the max over the writing sub-topology's sources), then created if missing.
import type { Admin, NewTopic } from "../../cluster/index.ts";
import { StreamsError } from "../errors.ts";
import type { InternalTopologyBuilder } from "../internals/builder.ts";

export interface TopicLayout {
  /** Resolved topic name -> partition count (sources, internal topics, changelogs). */
  readonly partitions: Map<string, number>;
  /** Sub-topology id -> number of tasks. */
  readonly tasksPerSubtopology: Map<number, number>;
  readonly internalTopics: NewTopic[];
}

/** 1 day extra retention on windowed changelogs (Kafka's windowstore.changelog.additional.retention.ms). */
const WINDOW_CHANGELOG_EXTRA_RETENTION_MS = 24 * 3600 * 1000;

export async function planTopics(b: InternalTopologyBuilder, admin: Admin): Promise<TopicLayout> {
  const subs = b.subtopologies();
  const internalResolved = new Map<string, string>();
  for (const t of b.internalTopics.keys()) internalResolved.set(b.resolveTopic(t), t);
  const external = new Set<string>();
  for (const st of subs) for (const t of st.sourceTopics) if (!internalResolved.has(t)) external.add(t);
  for (const g of b.globalParts()) external.add(g.topic);
  const partitions = new Map<string, number>();
  const existing = new Set(await admin.listTopics({ includeInternal: true }));
  const missing = [...external].filter((t) => !existing.has(t));
  if (missing.length > 0) {
    throw new StreamsError(
      "MISSING_SOURCE_TOPIC",
      `source topic(s) ${missing.join(", ")} do not exist; create them before starting the application`,
    );
  }
  for (const d of await admin.describeTopics([...external])) partitions.set(d.name, d.partitions.length);
  // Internal topics: explicit counts first, then propagate until nothing changes.
  for (const [resolved, raw] of internalResolved) {
    const n = b.internalTopics.get(raw)!.numPartitions;
    if (n !== undefined) partitions.set(resolved, n);
  }
  const groups = b.copartitionGroups.map((g) => g.map((t) => b.resolveTopic(t)));
  for (let changed = true; changed; ) {
    changed = false;
    for (const g of groups) {
      const known = g.map((t) => partitions.get(t)).filter((n): n is number => n !== undefined);
      if (known.length === 0) continue;
      const n = Math.max(...known);
      for (const t of g) {
        if (partitions.get(t) === undefined && internalResolved.has(t)) {
          partitions.set(t, n);
          changed = true;
        }
      }
    }
    for (const st of subs) {
      const known = st.sourceTopics.map((t) => partitions.get(t)).filter((n): n is number => n !== undefined);
      if (known.length === 0) continue;
      const n = Math.max(...known);
      for (const t of st.sinkTopics) {
        if (internalResolved.has(t) && partitions.get(t) === undefined) {
          partitions.set(t, n);
          changed = true;
        }
      }
    }
  }
  for (const t of internalResolved.keys()) {
    if (partitions.get(t) === undefined)
      throw new StreamsError("TOPOLOGY_INVALID", `cannot determine the partition count of ${t}`);
  }
  for (const g of groups) {
    const counts = new Set(g.map((t) => partitions.get(t)));
    if (counts.size > 1) {
      throw new StreamsError(
        "CO_PARTITIONING",
        `topics ${g.map((t) => `${t}(${partitions.get(t)})`).join(", ")} are joined but have different partition counts; repartition one side`,
      );
    }
  }
  const tasksPerSubtopology = new Map<number, number>();
  const internalTopics: NewTopic[] = [];
  for (const t of internalResolved.keys()) {
    internalTopics.push({ name: t, partitions: partitions.get(t)!, config: { "cleanup.policy": "delete" } });
  }
  for (const st of subs) {
    const n = Math.max(...st.sourceTopics.map((t) => partitions.get(t) ?? 1));
    tasksPerSubtopology.set(st.id, n);
    for (const s of st.stores) {
      const def = b.stores.get(s)!;
      if (!def.spec.logging) continue;
      const topic = b.changelogTopic(s);
      partitions.set(topic, n);
      const windowed = def.spec.kind !== "keyValue";
      internalTopics.push({
        name: topic,
        partitions: n,
        config: {
          "cleanup.policy": windowed ? "compact,delete" : "compact",
          ...(windowed
            ? { "retention.ms": String((def.spec.retentionMs ?? 0) + WINDOW_CHANGELOG_EXTRA_RETENTION_MS) }
            : {}),
          ...(def.spec.logConfig ?? {}),
        },
      });
    }
  }
  return { partitions, tasksPerSubtopology, internalTopics };
}

export async function createInternalTopics(admin: Admin, layout: TopicLayout): Promise<void> {
  const existing = new Set(await admin.listTopics({ includeInternal: true }));
  const toCreate = layout.internalTopics.filter((t) => !existing.has(t.name));
  if (toCreate.length > 0) await admin.createTopics(toCreate, { ifNotExists: true });
  const present = layout.internalTopics.filter((t) => existing.has(t.name));
  if (present.length > 0) {
    for (const d of await admin.describeTopics(present.map((t) => t.name))) {
      const want = layout.partitions.get(d.name);
      if (want !== undefined && d.partitions.length !== want) {
        throw new StreamsError(
          "TOPOLOGY_INVALID",
          `internal topic ${d.name} has ${d.partitions.length} partitions but the topology needs ${want}; reset the application (courant app reset)`,
        );
      }
    }
  }
}

// Helpers shared by the runtime tests: feeding a simulated day, campaigns and coupon pools into a
// cluster, and reading topics back (read_committed: only what committed transactions wrote).
import { couponPoolKey } from "../../apps/rewards/coupon-pool.ts";
import type { Campaign } from "../../apps/rewards/domain/index.ts";
import type { UnmatchedFrame } from "../../apps/rewards/records.ts";
import type { SimulatedFrame } from "../../apps/rewards/simulator/day.ts";
import { TOPICS } from "../../apps/rewards/topics.ts";
import type { Cluster, ConsumedRecord, ProducerRecord } from "../../src/cluster/index.ts";
import { clockTick } from "./fixtures.ts";

const enc = new TextEncoder();

/**
 * Produces a day's frames (in order) plus a clock tick an hour after the last of `tickFor`
 * (default: these frames; null: no tick, more frames follow), and the campaigns and the pools
 * (unless `tables` is false: fed already).
 */
export async function feedDay(
  cluster: Cluster,
  frames: readonly SimulatedFrame[],
  campaigns: readonly Campaign[],
  codesPerCampaign: number,
  partitions: number,
  options: { readonly tables?: boolean; readonly tickFor?: readonly SimulatedFrame[] | null } = {},
): Promise<void> {
  const tickFor = options.tickFor === undefined ? frames : options.tickFor;
  const admin = cluster.admin();
  await admin.createTopics(
    [
      { name: TOPICS.requests, partitions },
      { name: TOPICS.responses, partitions },
      { name: TOPICS.campaigns, partitions: 1, config: { "cleanup.policy": "compact" } },
      { name: TOPICS.coupons, partitions: 1, config: { "cleanup.policy": "compact" } },
    ],
    { ifNotExists: true },
  );
  const p = await cluster.createProducer({ clientId: "test-feeder" });
  try {
    const tables: ProducerRecord[] = campaigns.map((c) => ({
      topic: TOPICS.campaigns,
      key: enc.encode(c.id),
      value: enc.encode(JSON.stringify(c.spec)),
    }));
    for (const c of campaigns) {
      for (let i = 0; i < codesPerCampaign; i++) {
        tables.push({
          topic: TOPICS.coupons,
          key: enc.encode(couponPoolKey(c.id, i)),
          value: enc.encode(`${c.id}-${i}`),
        });
      }
    }
    if (options.tables !== false)
      for (let i = 0; i < tables.length; i += 5000) await p.send(tables.slice(i, i + 5000));
    const batch: ProducerRecord[] = [];
    for (const f of frames) {
      batch.push({ topic: f.topic, key: enc.encode(f.key), value: f.value, timestamp: f.timestamp });
      if (batch.length >= 1000) await p.send(batch.splice(0));
    }
    if (tickFor === null) {
      await p.send(batch.splice(0));
      return;
    }
    // A tick per terminal on both topics, so every partition's time passes the last window.
    const last = tickFor.at(-1)!.timestamp + 3_600_000;
    for (const terminal of new Set(tickFor.map((f) => f.key))) {
      for (const topic of [TOPICS.requests, TOPICS.responses]) {
        batch.push({
          topic,
          key: enc.encode(terminal),
          value: clockTick(last, Number(terminal)),
          timestamp: last,
        });
      }
    }
    await p.send(batch.splice(0));
  } finally {
    await p.close();
  }
}

/** Every record of a topic up to its current end (last stable offset), all partitions. */
export async function readTopic(cluster: Cluster, topic: string): Promise<ConsumedRecord[]> {
  const [desc] = await cluster.admin().describeTopics([topic]);
  if (!desc) return [];
  const tps = desc.partitions.map((p) => ({ topic, partition: p.partition }));
  const consumer = await cluster.createConsumer({ isolationLevel: "read_committed" });
  try {
    consumer.assign(tps);
    await consumer.seekToBeginning(tps);
    const ends = await consumer.endOffsets(tps);
    const out: ConsumedRecord[] = [];
    const behind = async () => {
      for (const tp of tps)
        if ((await consumer.position(tp)) < (ends.get(`${tp.topic}:${tp.partition}`) ?? 0)) return true;
      return false;
    };
    while (await behind()) out.push(...(await consumer.poll({ maxWaitMs: 100 })));
    return out;
  } finally {
    await consumer.close();
  }
}

const dec = new TextDecoder();
export function jsonValues<T>(records: readonly ConsumedRecord[]): T[] {
  return records.flatMap((r) => (r.value === null ? [] : [JSON.parse(dec.decode(r.value)) as T]));
}

/** Sum of a topic's end offsets (records written, committed or not). */
export async function topicSize(cluster: Cluster, topic: string): Promise<number> {
  const [desc] = await cluster.admin().describeTopics([topic]);
  return desc ? desc.partitions.reduce((n, p) => n + p.highWatermark, 0) : 0;
}

/** The unmatched requests written to `frames.unmatched`, as the oracle keys them, sorted. */
export async function unmatchedRequestKeys(cluster: Cluster): Promise<string[]> {
  return jsonValues<UnmatchedFrame>(await readTopic(cluster, TOPICS.unmatched))
    .filter((u) => u.direction === "Q")
    .map((u) => `${u.type}|${u.terminalId}|${u.sequence}@${u.timestamp}`)
    .sort();
}

// `courant rewards campaigns apply FILE`: validates a campaign file and writes each campaign to
// the compacted `campaigns` topic (key: campaign id, value: the campaign as JSON). With `prune`,
// campaigns absent from the file are deleted (tombstones).
import { readFile } from "node:fs/promises";
import type { Cluster } from "../../src/cluster/index.ts";
import { type Campaign, CampaignError, parseCampaignFile } from "./domain/index.ts";
import { TOPICS } from "./topics.ts";

const utf8 = new TextEncoder();

export interface ApplyCampaignsResult {
  readonly applied: readonly string[];
  readonly deleted: readonly string[];
}

export async function readCampaignFile(path: string): Promise<Campaign[]> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (e) {
    throw new CampaignError(
      "CAMPAIGN_FILE_UNREADABLE",
      `cannot read campaign file ${path}: ${(e as Error).message}`,
    );
  }
  return parseCampaignFile(text, path);
}

/** Reads the live campaign ids (latest value per key, tombstones removed) from the topic. */
export async function currentCampaignIds(
  cluster: Cluster,
  topic: string = TOPICS.campaigns,
): Promise<Set<string>> {
  const consumer = await cluster.createConsumer({ isolationLevel: "read_committed" });
  try {
    const tp = { topic, partition: 0 };
    consumer.assign([tp]);
    const end = (await consumer.endOffsets([tp])).get(`${topic}:0`) ?? 0;
    await consumer.seekToBeginning([tp]);
    const ids = new Set<string>();
    const dec = new TextDecoder();
    while ((await consumer.position(tp)) < end) {
      for (const r of await consumer.poll({ maxWaitMs: 200 })) {
        if (r.key === null) continue;
        const id = dec.decode(r.key);
        if (r.value === null) ids.delete(id);
        else ids.add(id);
      }
    }
    return ids;
  } finally {
    await consumer.close();
  }
}

export async function applyCampaigns(
  cluster: Cluster,
  campaigns: readonly Campaign[],
  options: { readonly prune?: boolean; readonly topic?: string } = {},
): Promise<ApplyCampaignsResult> {
  const topic = options.topic ?? TOPICS.campaigns;
  await cluster
    .admin()
    .createTopics([{ name: topic, partitions: 1, config: { "cleanup.policy": "compact" } }], {
      ifNotExists: true,
    });
  const deleted: string[] = [];
  if (options.prune) {
    const keep = new Set(campaigns.map((c) => c.id));
    for (const id of await currentCampaignIds(cluster, topic)) if (!keep.has(id)) deleted.push(id);
  }
  const producer = await cluster.createProducer({ clientId: "campaigns-apply", idempotent: true });
  try {
    await producer.send([
      ...campaigns.map((c) => ({
        topic,
        key: utf8.encode(c.id),
        value: utf8.encode(JSON.stringify(c.spec)),
      })),
      ...deleted.map((id) => ({ topic, key: utf8.encode(id), value: null })),
    ]);
  } finally {
    await producer.close();
  }
  return { applied: campaigns.map((c) => c.id), deleted };
}

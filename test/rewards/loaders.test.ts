import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { applyCampaigns, currentCampaignIds, readCampaignFile } from "../../apps/rewards/campaigns-topic.ts";
import { couponPoolKey, loadCouponFile } from "../../apps/rewards/coupon-pool.ts";
import { type Cluster, EmbeddedCluster } from "../../src/cluster/index.ts";

const dir = mkdtempSync(join(tmpdir(), "courant-rewards-loaders-"));
let cluster: Cluster;
before(async () => {
  cluster = await EmbeddedCluster.open({ dataDir: join(dir, "data") });
});
after(async () => {
  await cluster?.close();
  rmSync(dir, { recursive: true, force: true });
});

const dec = new TextDecoder();

/** Latest value per key of a compacted topic (reads to the end). */
async function table(topic: string): Promise<Map<string, string | null>> {
  const consumer = await cluster.createConsumer({ isolationLevel: "read_committed" });
  const tp = { topic, partition: 0 };
  consumer.assign([tp]);
  await consumer.seekToBeginning([tp]);
  const end = (await consumer.endOffsets([tp])).get(`${topic}:0`) ?? 0;
  const out = new Map<string, string | null>();
  while ((await consumer.position(tp)) < end) {
    for (const r of await consumer.poll({ maxWaitMs: 100 })) {
      out.set(dec.decode(r.key!), r.value === null ? null : dec.decode(r.value));
    }
  }
  await consumer.close();
  return out;
}

test("coupon file (CSV) -> coupons topic, keyed by campaign and position; bad rows rejected by line", async () => {
  const path = join(dir, "coupons.csv");
  writeFileSync(
    path,
    [
      "campaign_id,code,comment",
      "A,CODE-A1,first",
      "B,CODE-B1,",
      "A,CODE-A2,",
      ",CODE-X,empty campaign",
      "A,CODE-A1,repeated",
      "A,THIS-CODE-IS-FAR-TOO-LONG,",
      "B,CODE-B2,",
    ].join("\n"),
  );
  const progress: number[] = [];
  const s = await loadCouponFile(cluster, path, { onProgress: (p) => progress.push(p.fraction) });
  assert.equal(s.rowsRead, 7);
  assert.equal(s.recordsWritten, 4);
  assert.equal(s.rowsRejected, 3);
  assert.deepEqual(
    s.rejects.map((r) => r.line),
    [5, 6, 7],
  );
  assert.match(s.rejects[1]!.reason, /CODE-A1 appears twice for campaign A/);
  assert.deepEqual(s.campaigns, { A: 2, B: 2 });
  assert.equal(progress.at(-1), 1);
  const t = await table("coupons");
  assert.equal(t.get(couponPoolKey("A", 0)), "CODE-A1");
  assert.equal(t.get(couponPoolKey("A", 1)), "CODE-A2");
  assert.equal(t.get(couponPoolKey("B", 1)), "CODE-B2");
  // Loading again is idempotent: same keys, same codes.
  await loadCouponFile(cluster, path);
  const t2 = await table("coupons");
  assert.deepEqual([...t2.entries()].sort(), [...t.entries()].sort());
});

test("a Parquet coupon file from the data lake loads the same way", async () => {
  const path = join(dir, "lake.parquet");
  const { DuckDBInstance } = await import("@duckdb/node-api");
  const db = await DuckDBInstance.create(":memory:");
  const c = await db.connect();
  await c.run(
    `COPY (SELECT 'PQ' AS campaign_id, 'PQ-' || i AS code FROM range(2500) t(i) ORDER BY i) TO '${path}' (FORMAT parquet)`,
  );
  c.closeSync();
  db.closeSync();
  const fractions: number[] = [];
  const s = await loadCouponFile(cluster, path, {
    topic: "lake-coupons",
    onProgress: (p) => fractions.push(p.fraction),
  });
  assert.deepEqual(s.campaigns, { PQ: 2500 });
  assert.equal(s.rowsRejected, 0);
  assert.equal(fractions.at(-1), 1);
  const t = await table("lake-coupons");
  assert.equal(t.get(couponPoolKey("PQ", 2499)), "PQ-2499");
});

test("the demo coupon file loads completely", async () => {
  const s = await loadCouponFile(cluster, "apps/rewards/demo/coupons.csv", { topic: "demo-coupons" });
  assert.equal(s.rowsRejected, 0);
  assert.deepEqual(s.campaigns, { "QUINTE-2026": 12000, "IDF-COUPLE": 500, "R1C3-BOOST": 400 });
});

test("campaigns apply: validated file to the compacted topic; --prune tombstones the missing ones", async () => {
  const campaigns = await readCampaignFile("apps/rewards/demo/campaigns.yaml");
  const r = await applyCampaigns(cluster, campaigns);
  assert.deepEqual(r.applied, ["QUINTE-2026", "IDF-COUPLE", "R1C3-BOOST"]);
  assert.deepEqual(await currentCampaignIds(cluster), new Set(r.applied));
  const t = await table("campaigns");
  assert.equal(JSON.parse(t.get("IDF-COUPLE")!).capPerPdvPerDay, 8);
  const pruned = await applyCampaigns(cluster, campaigns.slice(0, 1), { prune: true });
  assert.deepEqual([...pruned.deleted].sort(), ["IDF-COUPLE", "R1C3-BOOST"]);
  assert.deepEqual(await currentCampaignIds(cluster), new Set(["QUINTE-2026"]));
  await assert.rejects(readCampaignFile(join(dir, "missing.yaml")), /cannot read campaign file/);
});

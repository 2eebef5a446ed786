// The correlation's worker thread ends abruptly (as a fatal error in it would) again and again
// while it works; each time the main thread starts it again and its apps resume from their last
// commit. At the end the coupons are exactly the oracle's. 3 kills by default, 20 with
// COURANT_SOAK=1 (on a larger day).
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import type { WorkerRewardsApp } from "../../apps/rewards/app-worker.ts";
import type { Reward, RewardCancellation } from "../../apps/rewards/domain/index.ts";
import { startRewardsApps } from "../../apps/rewards/pipeline.ts";
import { simulateDay } from "../../apps/rewards/simulator/day.ts";
import { TOPICS } from "../../apps/rewards/topics.ts";
import { EmbeddedCluster } from "../../src/cluster/index.ts";
import { waitFor } from "../../src/observe/index.ts";
import { CRASH_CODES, crashDay, TEST_CAMPAIGNS } from "./fixtures.ts";
import { feedDay, jsonValues, readTopic, topicSize, unmatchedRequestKeys } from "./harness.ts";
import { dayAnswer } from "./oracle.ts";

const SOAK = process.env.COURANT_SOAK === "1";
const KILLS = SOAK ? 20 : 3;
const dir = mkdtempSync(join(tmpdir(), "courant-rewards-worker-restart-"));
after(() => rmSync(dir, { recursive: true, force: true }));

test(`the correlation's worker thread killed ${KILLS} times while it works: the coupons are exactly the oracle's`, {
  timeout: 600_000,
}, async (t) => {
  const frames = simulateDay(crashDay(13, SOAK ? 150 : 60));
  const codes = CRASH_CODES;
  const answer = dayAnswer(frames, TEST_CAMPAIGNS, codes);
  for (const c of TEST_CAMPAIGNS)
    assert.ok(
      answer.issued.filter((k) => k.startsWith(`${c.id}|`)).length < codes,
      `${c.id}: pool must not bind`,
    );
  const cluster = await EmbeddedCluster.open({ dataDir: join(dir, "data") });
  const apps = await startRewardsApps({
    cluster,
    stateDir: join(dir, "state"),
    partitions: 3,
    placement: "workers",
    maxWorkerRestarts: KILLS,
  });
  try {
    // Fed in parts, one before each kill, so that every kill finds work in flight.
    const parts = KILLS + 1;
    const part = (i: number) =>
      frames.slice(Math.floor((i * frames.length) / parts), Math.floor(((i + 1) * frames.length) / parts));
    const correlation = apps.get("correlation") as WorkerRewardsApp;
    for (let k = 0; k < KILLS; k++) {
      const before = await topicSize(cluster, TOPICS.bets);
      await feedDay(cluster, part(k), TEST_CAMPAIGNS, codes, 3, { tables: k === 0, tickFor: null });
      await waitFor(async () => (await topicSize(cluster, TOPICS.bets)) > before, {
        timeoutMs: 60_000,
        intervalMs: 10,
        what: `bets of part ${k + 1} coming`,
      });
      await correlation.killThread();
      await waitFor(() => correlation.workerRestarts === k + 1, { timeoutMs: 10_000, what: "restart begun" });
      await correlation.restartSettled();
      await waitFor(() => correlation.state() === "RUNNING", {
        timeoutMs: 30_000,
        what: `running after kill ${k + 1}`,
      });
      t.diagnostic(`kill ${k + 1}: ${await topicSize(cluster, TOPICS.bets)} bet records written so far`);
    }
    await feedDay(cluster, part(parts - 1), TEST_CAMPAIGNS, codes, 3, { tables: false, tickFor: frames });
    await waitFor(
      async () =>
        (await readTopic(cluster, TOPICS.rewards)).length >= answer.issued.length &&
        (await readTopic(cluster, TOPICS.rewardsCanceled)).length >= answer.canceled.length &&
        (await unmatchedRequestKeys(cluster)).length >= answer.unmatchedRequests.length,
      { timeoutMs: 180_000, intervalMs: 250, what: "the day's coupons" },
    );
    const rewards = jsonValues<Reward>(await readTopic(cluster, TOPICS.rewards));
    const canceled = jsonValues<RewardCancellation>(await readTopic(cluster, TOPICS.rewardsCanceled));
    assert.deepEqual(
      rewards.map((r) => `${r.campaignId}|${r.ticketId}`).sort(),
      answer.issued,
      "issued == oracle",
    );
    assert.deepEqual(
      canceled.map((r) => `${r.campaignId}|${r.ticketId}`).sort(),
      answer.canceled,
      "cancelled == oracle",
    );
    assert.deepEqual(await unmatchedRequestKeys(cluster), answer.unmatchedRequests, "unmatched == oracle");
    const codesIssued = rewards.map((r) => `${r.campaignId}/${r.couponCode}`);
    assert.equal(new Set(codesIssued).size, codesIssued.length, "no code handed out twice");
  } finally {
    await apps.close();
    await cluster.close();
  }
});

// The three apps on the real runtime (embedded broker, exactly_once_v2, lmdb state): a simulated
// day in, the exact answer of the oracle out; ops endpoints and interactive queries over HTTP.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import type { Reward, RewardCancellation } from "../../apps/rewards/domain/index.ts";
import type { WorkerRewardsApp } from "../../apps/rewards/app-worker.ts";
import { startRewardsApps } from "../../apps/rewards/pipeline.ts";
import { type DeadLetter, SOURCE_HEADER, type UnmatchedFrame } from "../../apps/rewards/records.ts";
import { simulateDay } from "../../apps/rewards/simulator/day.ts";
import { APP_IDS, TOPICS } from "../../apps/rewards/topics.ts";
import { EmbeddedCluster } from "../../src/cluster/index.ts";
import { waitFor } from "../../src/observe/index.ts";
import { CODES, SMALL_DAY, TEST_CAMPAIGNS } from "./fixtures.ts";
import { feedDay, jsonValues, readTopic, topicSize, unmatchedRequestKeys } from "./harness.ts";
import { dayAnswer } from "./oracle.ts";

const dir = mkdtempSync(join(tmpdir(), "courant-rewards-e2e-"));
after(() => rmSync(dir, { recursive: true, force: true }));

for (const [label, placement, mainThreadApps] of [
  ["inline", "inline", undefined],
  ["workers, default split", "workers", undefined],
  ["workers, a thread each", "workers", []],
] as const)
  test(`a simulated day through the three apps on the embedded broker equals the oracle's answer (${label})`, async () => {
    const frames = simulateDay(SMALL_DAY);
    const answer = dayAnswer(frames, TEST_CAMPAIGNS, CODES);
    for (const c of TEST_CAMPAIGNS) {
      assert.ok(
        answer.issued.filter((k) => k.startsWith(`${c.id}|`)).length < CODES,
        `${c.id}: pool must not bind`,
      );
    }
    const cluster = await EmbeddedCluster.open({ dataDir: join(dir, label, "data") });
    let apps: Awaited<ReturnType<typeof startRewardsApps>> | undefined;
    try {
      await feedDay(cluster, frames, TEST_CAMPAIGNS, CODES, 3);
      apps = await startRewardsApps({
        cluster,
        stateDir: join(dir, label, "state"),
        partitions: 3,
        placement,
        mainThreadApps,
      });
      await waitFor(
        async () =>
          (await readTopic(cluster, TOPICS.rewardsCanceled)).length >= answer.canceled.length &&
          (await readTopic(cluster, TOPICS.rewards)).length >= answer.issued.length,
        {
          timeoutMs: 120_000,
          intervalMs: 250,
          what: `${answer.issued.length} coupons issued and ${answer.canceled.length} cancelled`,
        },
      );
      await waitFor(
        async () => {
          const u = jsonValues<UnmatchedFrame>(await readTopic(cluster, TOPICS.unmatched));
          return u.filter((x) => x.direction === "Q").length >= answer.unmatchedRequests.length;
        },
        { timeoutMs: 60_000, intervalMs: 250, what: "unmatched requests" },
      );
      const rewards = jsonValues<Reward>(await readTopic(cluster, TOPICS.rewards));
      const canceled = jsonValues<RewardCancellation>(await readTopic(cluster, TOPICS.rewardsCanceled));
      assert.deepEqual(rewards.map((r) => `${r.campaignId}|${r.ticketId}`).sort(), answer.issued);
      assert.deepEqual(canceled.map((r) => `${r.campaignId}|${r.ticketId}`).sort(), answer.canceled);
      const dlq = jsonValues<DeadLetter>(await readTopic(cluster, TOPICS.dlq));
      assert.equal(dlq.length, answer.dlq);
      assert.deepEqual(await unmatchedRequestKeys(cluster), answer.unmatchedRequests);
      const push = await readTopic(cluster, TOPICS.push);
      assert.equal(push.length, rewards.length + canceled.length);

      // The figures of the live view, wherever the apps run.
      const figures = await Promise.all(apps.apps.map((a) => a.figures()));
      assert.ok(figures.every((f) => f.state === "RUNNING"));
      const couponsFigures = await apps.get("coupons")!.figures();
      assert.equal(couponsFigures.ledger.issued, answer.issued.length);
      assert.equal(couponsFigures.ledger.canceled, answer.canceled.length);
      assert.ok(couponsFigures.couponsIssuedThisRun >= answer.issued.length);
      // Every frame is either decoded (header) or in the DLQ of the header stage. Counters are
      // not transactional: work replayed after an aborted transaction (a rebalance at start) counts again.
      const framesFigures = await apps.get("frames")!.figures();
      assert.ok(framesFigures.frames + framesFigures.dlq >= frames.length);

      // Ops endpoints of every app.
      for (const a of apps.apps) {
        assert.equal((await fetch(`${a.url}/health`)).status, 200);
        const ready = await fetch(`${a.url}/ready`);
        assert.equal(ready.status, 200);
        const body = (await ready.json()) as { checks: { name: string; ok: boolean }[] };
        assert.deepEqual(
          body.checks.map((c) => [c.name, c.ok]),
          [
            ["state restored", true],
            ["consumer group joined", true],
          ],
        );
      }
      const coupons = apps.get("coupons")!;
      const metricsText = await (await fetch(`${coupons.url}/metrics`)).text();
      assert.match(metricsText, /courant_rewards_coupons_issued_total\{[^}]*campaign="QUINTE"[^}]*\} \d+/);
      // Interactive queries.
      const c = TEST_CAMPAIGNS[0]!;
      const budget = (await (await fetch(`${coupons.url}/rewards/campaigns/${c.id}/budget`)).json()) as {
        issuedCount: number;
        usedCents: number;
      };
      const issuedQ = answer.issued.filter((k) => k.startsWith(`${c.id}|`)).length;
      const canceledQ = answer.canceled.filter((k) => k.startsWith(`${c.id}|`)).length;
      assert.equal(budget.issuedCount, issuedQ);
      assert.equal(budget.usedCents, (issuedQ - canceledQ) * c.couponValueCents);
      const r0 = rewards[0]!;
      const byTicket = (await (
        await fetch(`${coupons.url}/rewards/tickets/${r0.ticketId}/coupons`)
      ).json()) as { coupons: Reward[] };
      assert.ok(byTicket.coupons.some((x) => x.couponCode === r0.couponCode));
      const byPdv = (await (await fetch(`${coupons.url}/rewards/pdv/${r0.pdvId}/coupons`)).json()) as {
        count: number;
        coupons: Reward[];
      };
      assert.equal(byPdv.count, rewards.filter((r) => r.pdvId === r0.pdvId).length);
      assert.equal((await fetch(`${coupons.url}/rewards/tickets/NOPE/coupons`)).status, 404);
      assert.equal((await fetch(`${coupons.url}/rewards/campaigns/NOPE/budget`)).status, 404);
    } finally {
      await apps?.close();
      await cluster.close();
    }
  });

test("workers placement: an app that cannot start fails startRewardsApps with its code, and nothing is left running", async () => {
  const { createServer } = await import("node:net");
  const busy = createServer();
  await new Promise<void>((r) => busy.listen(0, "127.0.0.1", () => r()));
  const port = (busy.address() as { port: number }).port;
  const cluster = await EmbeddedCluster.open({ dataDir: join(dir, "busy", "data") });
  try {
    await assert.rejects(
      startRewardsApps({
        cluster,
        stateDir: join(dir, "busy", "state"),
        partitions: 1,
        placement: "workers",
        apps: ["frames"],
        mainThreadApps: [],
        basePort: port,
      }),
      (e: Error & { code?: string }) => {
        assert.equal(e.code, "OPS_LISTEN_FAILED");
        assert.match(e.message, /rewards-frames/);
        return true;
      },
    );
    // The failed worker's link is closed: the cluster has none left open.
    await waitFor(() => cluster.activeLinks.length === 0, { timeoutMs: 10_000, what: "links closed" });
  } finally {
    busy.close();
    await cluster.close();
  }
});

test("workers placement: a worker thread that dies is started again, and the day's answer is still exact", async () => {
  const frames = simulateDay(SMALL_DAY);
  const answer = dayAnswer(frames, TEST_CAMPAIGNS, CODES);
  const cluster = await EmbeddedCluster.open({ dataDir: join(dir, "restart", "data") });
  let apps: Awaited<ReturnType<typeof startRewardsApps>> | undefined;
  try {
    await feedDay(cluster, frames, TEST_CAMPAIGNS, CODES, 3);
    apps = await startRewardsApps({
      cluster,
      stateDir: join(dir, "restart", "state"),
      partitions: 3,
      placement: "workers",
    });
    const correlation = apps.get("correlation") as WorkerRewardsApp;
    // Killed while it works: some bets are out, not all of them.
    await waitFor(async () => (await readTopic(cluster, TOPICS.bets)).length > 0, {
      timeoutMs: 60_000,
      intervalMs: 20,
      what: "first bets",
    });
    const betsAtKill = (await readTopic(cluster, TOPICS.bets)).length;
    await correlation.killThread();
    await waitFor(() => correlation.workerRestarts === 1, { timeoutMs: 10_000, what: "restart begun" });
    await correlation.restartSettled();
    // Static membership: the new thread takes the dead one's partitions back at once, without
    // waiting out its session.
    await waitFor(() => correlation.state() === "RUNNING", { timeoutMs: 5_000, what: "running again" });
    await waitFor(
      async () =>
        (await readTopic(cluster, TOPICS.rewardsCanceled)).length >= answer.canceled.length &&
        (await readTopic(cluster, TOPICS.rewards)).length >= answer.issued.length &&
        jsonValues<UnmatchedFrame>(await readTopic(cluster, TOPICS.unmatched)).filter(
          (u) => u.direction === "Q",
        ).length >= answer.unmatchedRequests.length,
      { timeoutMs: 120_000, intervalMs: 250, what: "the day's coupons after the restart" },
    );
    assert.ok(betsAtKill < (await readTopic(cluster, TOPICS.bets)).length, "killed before all bets were out");
    const rewards = jsonValues<Reward>(await readTopic(cluster, TOPICS.rewards));
    const canceled = jsonValues<RewardCancellation>(await readTopic(cluster, TOPICS.rewardsCanceled));
    assert.deepEqual(rewards.map((r) => `${r.campaignId}|${r.ticketId}`).sort(), answer.issued);
    assert.deepEqual(canceled.map((r) => `${r.campaignId}|${r.ticketId}`).sort(), answer.canceled);
    assert.deepEqual(await unmatchedRequestKeys(cluster), answer.unmatchedRequests);
    const f = await correlation.figures();
    assert.equal(f.workerRestarts, 1);
    assert.equal((await fetch(`${correlation.url}/health`)).status, 200);
    // The dead thread's link is closed: one link per live worker.
    assert.equal(cluster.activeLinks.length, 1);
  } finally {
    await apps?.close();
    await cluster.close();
  }
});

test("workers placement: past its restart budget a dead worker thread's apps stay in ERROR", async () => {
  const cluster = await EmbeddedCluster.open({ dataDir: join(dir, "no-restart", "data") });
  let apps: Awaited<ReturnType<typeof startRewardsApps>> | undefined;
  try {
    apps = await startRewardsApps({
      cluster,
      stateDir: join(dir, "no-restart", "state"),
      partitions: 1,
      placement: "workers",
      apps: ["correlation"],
      mainThreadApps: [],
      maxWorkerRestarts: 0,
    });
    const correlation = apps.get("correlation") as WorkerRewardsApp;
    await correlation.killThread();
    await waitFor(() => correlation.state() === "ERROR", { timeoutMs: 10_000, what: "ERROR" });
    await correlation.restartSettled();
    assert.equal(correlation.workerRestarts, 0);
    assert.equal(correlation.state(), "ERROR");
    assert.equal(apps.running, false);
    await assert.rejects(
      correlation.figures(),
      /rewards-correlation is not running: its worker thread exited/,
    );
    await waitFor(() => cluster.activeLinks.length === 0, { timeoutMs: 10_000, what: "link closed" });
  } finally {
    await apps?.close();
    await cluster.close();
  }
});

test("two instances of an app share its partitions, and every frame is decoded once", async () => {
  const frames = simulateDay(SMALL_DAY);
  const cluster = await EmbeddedCluster.open({ dataDir: join(dir, "instances", "data") });
  const started: Awaited<ReturnType<typeof startRewardsApps>>[] = [];
  try {
    for (const instance of ["a", "b"])
      started.push(
        await startRewardsApps({
          cluster,
          stateDir: join(dir, "instances", `state-${instance}`),
          partitions: 3,
          apps: ["frames"],
          instance,
        }),
      );
    // Both members in one stable group before the day comes, so both get partitions.
    await waitFor(
      async () => {
        const [g] = await cluster.admin().describeGroups([APP_IDS.frames]);
        return g?.state === "Stable" && g.members.length === 2 && started.every((s) => s.running);
      },
      { timeoutMs: 30_000, intervalMs: 50, what: "a stable group of two" },
    );
    await feedDay(cluster, frames, TEST_CAMPAIGNS, CODES, 3);
    // The day's frames and the feeder's clock ticks.
    const fed = (await topicSize(cluster, TOPICS.requests)) + (await topicSize(cluster, TOPICS.responses));
    await waitFor(
      async () =>
        (await readTopic(cluster, TOPICS.valid)).length + (await readTopic(cluster, TOPICS.dlq)).length >=
        fed,
      { timeoutMs: 60_000, intervalMs: 250, what: "every frame decoded or dead-lettered" },
    );
    const valid = await readTopic(cluster, TOPICS.valid);
    const sources = valid.map((r) =>
      new TextDecoder().decode(r.headers.find((h) => h.key === SOURCE_HEADER)!.value!),
    );
    assert.equal(new Set(sources).size, sources.length, "no frame decoded twice");
    assert.equal(valid.length + (await readTopic(cluster, TOPICS.dlq)).length, fed);
    // Both took a share: each decoded some frames.
    for (const s of started) assert.ok((await s.get("frames")!.figures()).frames > 0);
    await assert.rejects(
      startRewardsApps({
        cluster,
        stateDir: join(dir, "instances", "bad"),
        apps: ["frames"],
        instance: "a/b",
      }),
      /instance "a\/b" is not valid/,
    );
  } finally {
    for (const s of started) await s.close();
    await cluster.close();
  }
});

test("workers placement: a worker thread started again serves its ops endpoints on the same fixed port", async () => {
  const { createServer } = await import("node:net");
  const probe = createServer();
  await new Promise<void>((r) => probe.listen(0, "127.0.0.1", () => r()));
  const port = (probe.address() as { port: number }).port;
  await new Promise<void>((r) => probe.close(() => r()));
  const cluster = await EmbeddedCluster.open({ dataDir: join(dir, "fixed-port", "data") });
  let apps: Awaited<ReturnType<typeof startRewardsApps>> | undefined;
  try {
    apps = await startRewardsApps({
      cluster,
      stateDir: join(dir, "fixed-port", "state"),
      partitions: 1,
      placement: "workers",
      apps: ["correlation"],
      mainThreadApps: [],
      basePort: port,
    });
    const correlation = apps.get("correlation") as WorkerRewardsApp;
    const url = correlation.url;
    await correlation.killThread();
    await waitFor(() => correlation.workerRestarts === 1, { timeoutMs: 10_000, what: "restart begun" });
    await correlation.restartSettled();
    await waitFor(() => correlation.state() === "RUNNING", { timeoutMs: 10_000, what: "running again" });
    // The dead thread's server let go of the port: the new one listens on it (what `npm start`'s
    // printed URLs, on ports 8091-8093, rely on).
    assert.equal(correlation.url, url);
    assert.equal((await fetch(`${url}/health`)).status, 200);
  } finally {
    await apps?.close();
    await cluster.close();
  }
});

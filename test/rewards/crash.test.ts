// Crash test: the rewards apps (and the embedded broker they run on, in the same process) are
// killed with SIGKILL at random moments while processing a simulated day, restarted, killed
// again; a last run finishes the day. The coupons issued and cancelled must equal the oracle's
// answer exactly: none lost, none doubled, no cap or budget exceeded, no code handed out twice.
// Modest by default (3 kills); COURANT_SOAK=1 runs 15.
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import type { Reward, RewardCancellation } from "../../apps/rewards/domain/index.ts";
import { simulateDay } from "../../apps/rewards/simulator/day.ts";
import { TOPICS } from "../../apps/rewards/topics.ts";
import { EmbeddedCluster } from "../../src/cluster/index.ts";
import { CRASH_CODES, crashDay, TEST_CAMPAIGNS } from "./fixtures.ts";
import { feedDay, jsonValues, readTopic, unmatchedRequestKeys } from "./harness.ts";
import { dayAnswer } from "./oracle.ts";

const SOAK = process.env.COURANT_SOAK === "1";
const KILLS = SOAK ? 15 : 3;
const dir = mkdtempSync(join(tmpdir(), "courant-rewards-crash-"));
after(() => rmSync(dir, { recursive: true, force: true }));

function run(
  data: string,
  extra: string[],
): { child: ChildProcess; exit: Promise<number | null>; started: Promise<void> } {
  const child = spawn(
    process.execPath,
    ["bin/courant.js", "rewards", "run", "--data", data, "--partitions", "3", ...extra],
    { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, COURANT_LOG_LEVEL: "error" } },
  );
  let out = "";
  let err = "";
  const started = new Promise<void>((resolve) => {
    child.stdout!.on("data", (b: Buffer) => {
      out += b.toString();
      if (out.includes("running")) resolve();
    });
  });
  child.stderr!.on("data", (b: Buffer) => {
    err += b.toString();
  });
  const exit = new Promise<number | null>((resolve) =>
    child.on("exit", (code) => {
      if (code !== 0 && code !== null) console.error(`run exited ${code}\n${out}\n${err}`);
      resolve(code);
    }),
  );
  return { child, exit, started };
}

test(`the apps killed -9 ${KILLS} times during a day issue exactly the oracle's coupons`, {
  timeout: 900_000,
}, async (t) => {
  const frames = simulateDay(crashDay(11, SOAK ? 120 : 60));
  const codes = CRASH_CODES;
  const answer = dayAnswer(frames, TEST_CAMPAIGNS, codes);
  for (const c of TEST_CAMPAIGNS) {
    assert.ok(
      answer.issued.filter((k) => k.startsWith(`${c.id}|`)).length < codes,
      `${c.id}: pool must not bind`,
    );
  }
  const data = join(dir, "data");
  // The day is fed in parts, one more before each run, so every run has work in flight when it
  // is killed (fed whole, the apps had processed it all before the third kill).
  const parts = KILLS + 1;
  const part = (i: number) =>
    frames.slice(Math.floor((i * frames.length) / parts), Math.floor(((i + 1) * frames.length) / parts));
  const feed = async (i: number) => {
    const cluster = await EmbeddedCluster.open({ dataDir: data });
    await feedDay(cluster, part(i), TEST_CAMPAIGNS, codes, 3, {
      tables: i === 0,
      tickFor: i === parts - 1 ? frames : null,
    });
    await cluster.close();
  };
  let seed = 12345;
  const rnd = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
  for (let i = 0; i < KILLS; i++) {
    await feed(i);
    const r = run(data, []);
    await Promise.race([r.started, r.exit]);
    // Random moment: during restore, processing or a commit.
    await new Promise((res) => setTimeout(res, 20 + Math.floor(rnd() * 1200)));
    r.child.kill("SIGKILL");
    await r.exit;
    const peek = await EmbeddedCluster.open({ dataDir: data });
    const done = (await readTopic(peek, TOPICS.rewards)).length;
    await peek.close();
    t.diagnostic(
      `kill ${i + 1}: ${done} of ${answer.issued.length} coupons committed (${i + 1} of ${parts} parts of the day fed)`,
    );
  }
  await feed(parts - 1);
  const last = run(data, ["--until-idle"]);
  assert.equal(await last.exit, 0, "the last run finishes cleanly");

  const cluster = await EmbeddedCluster.open({ dataDir: data });
  try {
    const rewards = jsonValues<Reward>(await readTopic(cluster, TOPICS.rewards));
    const canceled = jsonValues<RewardCancellation>(await readTopic(cluster, TOPICS.rewardsCanceled));
    const issuedKeys = rewards.map((r) => `${r.campaignId}|${r.ticketId}`);
    assert.equal(
      new Set(issuedKeys).size,
      issuedKeys.length,
      "no coupon issued twice for a (campaign, ticket)",
    );
    if (issuedKeys.length !== answer.issued.length) {
      // Say where the pipeline stopped before failing: inputs consumed? upstream complete?
      const lags: string[] = [];
      for (const g of ["rewards-frames", "rewards-correlation", "rewards-coupons"]) {
        const l = await cluster.admin().describeLag(g);
        lags.push(`${g}: ${l.map((p) => `${p.topic}:${p.partition}=${p.lag}`).join(" ")}`);
      }
      t.diagnostic(
        `bets ${(await readTopic(cluster, TOPICS.bets)).length}/${answer.bets.length}, by-campaign ${(await readTopic(cluster, TOPICS.byCampaign)).length}, rewards ${issuedKeys.length}/${answer.issued.length}; ${lags.join("; ")}`,
      );
    }
    assert.deepEqual([...issuedKeys].sort(), answer.issued, "issued == oracle");
    assert.deepEqual(
      canceled.map((r) => `${r.campaignId}|${r.ticketId}`).sort(),
      answer.canceled,
      "cancelled == oracle",
    );
    const codes = rewards.map((r) => `${r.campaignId}/${r.couponCode}`);
    assert.equal(new Set(codes).size, codes.length, "no code handed out twice");
    for (const c of TEST_CAMPAIGNS) {
      const mine = rewards.filter((r) => r.campaignId === c.id);
      const back = canceled.filter((r) => r.campaignId === c.id).length;
      assert.ok((mine.length - back) * c.couponValueCents <= c.totalBudgetCents, `${c.id} budget`);
      const perPdvDay = new Map<string, number>();
      for (const r of mine)
        perPdvDay.set(`${r.pdvId}|${r.day}`, (perPdvDay.get(`${r.pdvId}|${r.day}`) ?? 0) + 1);
      for (const n of perPdvDay.values()) assert.ok(n <= c.capPerPdvPerDay, `${c.id} cap`);
      // Codes are allocated in pool order without gaps: a replay takes the very same code.
      const idx = mine.map((r) => r.couponIndex).sort((a, b) => a - b);
      assert.deepEqual(
        idx,
        idx.map((_, i) => i),
        `${c.id} codes allocated without gaps or repeats`,
      );
    }
    assert.equal((await readTopic(cluster, TOPICS.push)).length, rewards.length + canceled.length);
    assert.equal((await readTopic(cluster, TOPICS.dlq)).length, answer.dlq);
    assert.deepEqual(await unmatchedRequestKeys(cluster), answer.unmatchedRequests);
  } finally {
    await cluster.close();
  }
});

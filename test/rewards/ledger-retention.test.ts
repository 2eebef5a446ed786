// Retention of the coupons ledger (docs/rewards.md, "Retention"): rewards, their by-PDV index
// entries and PDV/day counters of a Paris day older than the retention are deleted by a bounded
// sweep punctuation; budgets stay exact; expired coupons are neither cancelled nor issued again.
import assert from "node:assert/strict";
import { test } from "node:test";
import pino from "pino";
import { addDays, buildCouponsTopology, pdvIndexKey, STORES } from "../../apps/rewards/coupons-app.ts";
import {
  type BetCancellation,
  type BudgetAccountState,
  Campaign,
  CouponLedger,
  MemoryLedgerStore,
  parisLocalToEpochMs,
  type Reward,
  type RewardCancellation,
} from "../../apps/rewards/domain/index.ts";
import { rewardsMetrics } from "../../apps/rewards/metrics.ts";
import { rewardsQueryRoutes } from "../../apps/rewards/queries.ts";
import { TOPICS } from "../../apps/rewards/topics.ts";
import { MetricsRegistry } from "../../src/observe/index.ts";
import { PdvFrameCodec } from "../../src/pdv/index.ts";
import { Serdes } from "../../src/serde/index.ts";
import type { TopologyTestDriver } from "../../src/streams/index.ts";
import { acceptedBet, couponsDriver, drain, json } from "./coupons-driver.ts";

const SPEC = {
  id: "LONG",
  period: { from: "2026-06-01", to: "2026-07-31" },
  couponValue: 2,
  capPerPdvPerDay: 1000,
  totalBudget: 100_000,
};
/** 15:00 Paris on a day of June 2026. */
const at = (day: number, hour = 15, minute = 0) => parisLocalToEpochMs(2026, 6, day, hour, minute);
const SWEEP_EVERY_MS = 1000;

function ledgerOf(d: TopologyTestDriver) {
  const rewards = d.getKeyValueStore<string, Reward>(STORES.rewards);
  const byPdv = d.getKeyValueStore<string, Uint8Array>(STORES.rewardsByPdv);
  const pdvDay = d.getKeyValueStore<string, number>(STORES.pdvDay);
  const accounts = d.getKeyValueStore<string, BudgetAccountState>(STORES.accounts);
  return {
    rewards: () => rewards.all().map((e) => e.key),
    index: () => byPdv.all().map((e) => e.key),
    counters: () => Object.fromEntries(pdvDay.all().map((e) => [e.key, e.value])),
    account: () => accounts.get(SPEC.id),
  };
}

/** A driver on the campaign LONG, with `send(ticket, pdv, day)` issuing a bet at 15:00 (+i s) that day. */
function retentionDriver(options: Parameters<typeof couponsDriver>[2]) {
  const c = couponsDriver(SPEC, 500, options);
  let i = 0;
  const send = (ticketId: string, pdvId: number, day: number, time = at(day)) => {
    const b = acceptedBet(ticketId, pdvId, i++, time);
    c.bets.pipeInput(String(b.terminalId), b, b.acceptedAt);
  };
  const cancel = (ticketId: string, pdvId: number, canceledAt: number) =>
    c.cancels.pipeInput(
      String(pdvId * 10),
      { ticketId, terminalId: pdvId * 10, pdvId, refundedStakeCents: 200, reasonCode: 1, canceledAt },
      canceledAt,
    );
  const sweep = () => c.d.advanceWallClockTime(SWEEP_EVERY_MS);
  return { ...c, send, cancel, sweep, ledger: ledgerOf(c.d) };
}

test("addDays: calendar days across months, years and DST changes", () => {
  assert.equal(addDays("2026-06-14", -35), "2026-05-10");
  assert.equal(addDays("2026-03-01", -1), "2026-02-28");
  assert.equal(addDays("2028-03-01", -1), "2028-02-29");
  assert.equal(addDays("2027-01-04", -35), "2026-11-30");
  assert.equal(addDays("2026-10-25", -1), "2026-10-24"); // the autumn DST change in Paris
  assert.equal(addDays("2026-12-31", 1), "2027-01-01");
});

test("ledger retention: a day's rewards, PDV index entries and counters are kept within the retention, deleted after; the budget stays spent", async () => {
  const { d, send, sweep, ledger } = retentionDriver({
    rewardRetentionDays: 2,
    retentionSweepIntervalMs: SWEEP_EVERY_MS,
  });
  send("D14-1", 1, 14);
  send("D14-2", 1, 14);
  send("D14-3", 2, 14);
  send("D15-1", 1, 15);
  const budget = { usedCents: 800, issuedCount: 4, canceledCount: 0, nextCouponIndex: 4 };
  assert.deepEqual(ledger.account(), { campaignId: "LONG", ...budget });
  // Stream time on the 16th, last minute: the 14th is 2 days before, still kept.
  send("D16-1", 2, 16, at(16, 23, 59));
  sweep();
  assert.deepEqual(ledger.rewards(), ["LONG|D14-1", "LONG|D14-2", "LONG|D14-3", "LONG|D15-1", "LONG|D16-1"]);
  assert.equal(ledger.index().length, 5);
  assert.deepEqual(ledger.counters(), {
    "LONG|1|2026-06-14": 2,
    "LONG|2|2026-06-14": 1,
    "LONG|1|2026-06-15": 1,
    "LONG|2|2026-06-16": 1,
  });
  // Just past midnight, Paris time, on the 17th: the 14th is more than 2 days before.
  send("D17-1", 1, 17, at(17, 0, 1));
  const accountBefore = ledger.account();
  sweep();
  assert.deepEqual(ledger.rewards(), ["LONG|D15-1", "LONG|D16-1", "LONG|D17-1"]);
  assert.deepEqual(ledger.index(), [
    pdvIndexKey(1, "LONG", "D15-1"),
    pdvIndexKey(1, "LONG", "D17-1"),
    pdvIndexKey(2, "LONG", "D16-1"),
  ]);
  assert.deepEqual(ledger.counters(), {
    "LONG|1|2026-06-15": 1,
    "LONG|2|2026-06-16": 1,
    "LONG|1|2026-06-17": 1,
  });
  // The account is one per campaign and never expires: what the expired coupons spent stays spent.
  assert.deepEqual(ledger.account(), accountBefore);
  assert.deepEqual(ledger.account(), {
    campaignId: "LONG",
    usedCents: 1200,
    issuedCount: 6,
    canceledCount: 0,
    nextCouponIndex: 6,
  });
  await d.close();
});

test("ledger retention: a cancellation of an expired coupon frees nothing, before and after the sweep; the bet seen again gets no coupon", async () => {
  const lines: string[] = [];
  const log = pino({ level: "info" }, { write: (line: string) => void lines.push(line) });
  const { d, metrics, send, cancel, sweep, ledger } = retentionDriver({ rewardRetentionDays: 2, log });
  send("OLD-1", 1, 14);
  send("OLD-2", 1, 14);
  send("NEW-1", 1, 17); // the 14th expires (stream time on the 17th), not swept yet
  const spent = ledger.account();
  assert.equal(spent?.usedCents, 600);
  drain(d, TOPICS.rewards, Serdes.String, json<Reward>());
  drain(d, TOPICS.push, Serdes.String, Serdes.Bytes);
  // Still in the store but expired: not taken back (said in the log).
  cancel("OLD-1", 1, at(17, 16));
  assert.equal(ledger.rewards().includes("LONG|OLD-1"), true);
  assert.ok(
    lines.some((l) => l.includes("cancellation of an expired coupon") && l.includes('"ticket":"OLD-1"')),
  );
  sweep();
  assert.deepEqual(ledger.rewards(), ["LONG|NEW-1"]);
  // Deleted: the ledger no longer knows the ticket, nothing to take back either.
  cancel("OLD-2", 1, at(17, 17));
  // The expired bets seen again (a replay): refused, not issued a second time.
  send("OLD-1", 1, 14);
  send("OLD-2", 1, 14);
  assert.deepEqual(drain(d, TOPICS.rewardsCanceled, Serdes.String, json<RewardCancellation>()), []);
  assert.deepEqual(drain(d, TOPICS.rewards, Serdes.String, json<Reward>()), []);
  assert.deepEqual(drain(d, TOPICS.push, Serdes.String, Serdes.Bytes), []);
  assert.deepEqual(ledger.account(), spent);
  assert.deepEqual(ledger.counters(), { "LONG|1|2026-06-17": 1 });
  const skipped = await metrics.couponsSkipped.get();
  assert.deepEqual(
    skipped.values.map((v) => [v.labels.reason, v.value]),
    [["expired", 2]],
  );
  // A cancellation of a coupon still kept works as ever.
  cancel("NEW-1", 1, at(17, 18));
  const canceled = drain(d, TOPICS.rewardsCanceled, Serdes.String, json<RewardCancellation>());
  assert.deepEqual(
    canceled.map((r) => r.key),
    ["NEW-1"],
  );
  assert.equal(ledger.account()?.usedCents, 400);
  const push = drain(d, TOPICS.push, Serdes.String, Serdes.Bytes);
  assert.equal(new PdvFrameCodec().decode(push[0]!.value!).body!["T090-ACTION"], "C");
  await d.close();
});

test("ledger retention: each sweep punctuation examines at most its batch; a pass resumes where the last one stopped, then rests until the day changes", async () => {
  const { d, send, sweep, ledger } = retentionDriver({ rewardRetentionDays: 2, retentionSweepBatch: 10 });
  // 45 coupons of the 14th (tickets A00..A44, first in key order) over 3 PDVs, one of the 15th,
  // 5 of the 17th.
  for (let i = 0; i < 45; i++) send(`A${String(i).padStart(2, "0")}`, 1 + (i % 3), 14);
  send("B0", 2, 15);
  for (let i = 0; i < 5; i++) send(`Z${i}`, 1, 17);
  const account = ledger.account();
  assert.equal(ledger.rewards().length, 51);
  assert.equal(Object.keys(ledger.counters()).length, 5);
  const left: number[] = [];
  const counters: number[] = [];
  for (let p = 0; p < 7; p++) {
    sweep();
    left.push(ledger.rewards().length);
    counters.push(Object.keys(ledger.counters()).length);
    assert.equal(ledger.index().length, ledger.rewards().length, "index entries go with their rewards");
  }
  // 10 rewards examined per punctuation: 10 of the 14th deleted each time, then the last 5 with
  // B0 and 4 of the 17th; the 6th examines the last reward, then with the rest of its batch the
  // 5 counters (3 deleted). The pass complete, the 7th punctuation has nothing to do.
  assert.deepEqual(left, [41, 31, 21, 11, 6, 6, 6]);
  assert.deepEqual(counters, [5, 5, 5, 5, 5, 2, 2]);
  assert.deepEqual(ledger.counters(), { "LONG|2|2026-06-15": 1, "LONG|1|2026-06-17": 5 });
  assert.deepEqual(ledger.account(), account);
  // The next day moves the oldest kept day to the 16th: a new pass deletes the 15th.
  send("Z5", 2, 18);
  sweep();
  assert.deepEqual(ledger.rewards(), ["LONG|Z0", "LONG|Z1", "LONG|Z2", "LONG|Z3", "LONG|Z4", "LONG|Z5"]);
  assert.deepEqual(ledger.counters(), { "LONG|1|2026-06-17": 5, "LONG|2|2026-06-18": 1 });
  await d.close();
});

test("interactive queries: coupons of a PDV and of a ticket no longer show expired ones; the budget does", async () => {
  const { d, send, sweep } = retentionDriver({ rewardRetentionDays: 2 });
  send("T1", 7, 14);
  send("T2", 7, 16);
  const routes = rewardsQueryRoutes(<V>(name: string) => [d.getKeyValueStore<string, V>(name)]);
  const route = (path: string) => routes.find((r) => r.path === path)!.handler;
  const pdvCoupons = () =>
    (
      route("/pdv/:pdvId/coupons")({ params: { pdvId: "7" }, query: {} }) as { coupons: Reward[] }
    ).coupons.map((c) => c.ticketId);
  const ticket = (ticketId: string) =>
    route("/tickets/:ticketId/coupons")({ params: { ticketId }, query: {} });
  const budget = () =>
    route("/campaigns/:campaignId/budget")({ params: { campaignId: "LONG" }, query: {} }) as {
      usedCents: number;
      issuedCount: number;
    };
  sweep();
  assert.deepEqual(pdvCoupons(), ["T1", "T2"]);
  assert.ok(ticket("T1"));
  send("T3", 7, 17);
  sweep();
  assert.deepEqual(pdvCoupons(), ["T2", "T3"]);
  assert.equal(ticket("T1"), undefined);
  assert.ok(ticket("T2"));
  assert.deepEqual([budget().usedCents, budget().issuedCount], [600, 3]);
  await d.close();
});

test("ledger (domain): a bet of a day before retainedFrom is refused; a cancellation of an expired coupon frees nothing", () => {
  const campaign = Campaign.from(SPEC);
  const store = new MemoryLedgerStore();
  store.addCoupons("LONG", ["C0", "C1", "C2"]);
  const ledger = new CouponLedger(store);
  const old = acceptedBet("OLD", 1, 0, at(14));
  assert.equal(ledger.issue(campaign, old).issued, true);
  ledger.retainedFrom = "2026-06-15";
  const cancellation: BetCancellation = {
    ticketId: "OLD",
    terminalId: 10,
    pdvId: 1,
    refundedStakeCents: 200,
    reasonCode: 1,
    canceledAt: at(17),
  };
  assert.deepEqual(ledger.cancel("LONG", cancellation), { canceled: false, reason: "expired" });
  assert.deepEqual(ledger.issue(campaign, acceptedBet("OLD-2", 1, 1, at(14))), {
    issued: false,
    reason: "expired",
  });
  assert.equal(ledger.issue(campaign, acceptedBet("NEW", 1, 2, at(15))).issued, true);
  assert.deepEqual(
    { used: ledger.budget(campaign).usedCents, issued: ledger.budget(campaign).issuedCount },
    { used: 400, issued: 2 },
  );
});

test("coupons topology: the retention options are checked", () => {
  const metrics = rewardsMetrics(new MetricsRegistry());
  assert.throws(() => buildCouponsTopology({ metrics, rewardRetentionDays: 0 }), /rewardRetentionDays/);
  assert.throws(() => buildCouponsTopology({ metrics, retentionSweepBatch: 2.5 }), /retentionSweepBatch/);
  assert.throws(
    () => buildCouponsTopology({ metrics, retentionSweepIntervalMs: -1 }),
    /retentionSweepIntervalMs/,
  );
});

// The three rewards topologies chained through TopologyTestDriver on a simulated day, compared
// with the independently computed answer of test/rewards/oracle.ts; plus the coupons topology
// alone on a hand-written sequence where caps and budget bind.
import assert from "node:assert/strict";
import { test } from "node:test";
import { buildCorrelationTopology } from "../../apps/rewards/correlation-app.ts";
import { couponPoolKey } from "../../apps/rewards/coupon-pool.ts";
import { buildCouponsTopology, STORES } from "../../apps/rewards/coupons-app.ts";
import type {
  AcceptedBet,
  BetCancellation,
  Reward,
  RewardCancellation,
} from "../../apps/rewards/domain/index.ts";
import { buildFramesTopology } from "../../apps/rewards/frames-app.ts";
import { rewardsMetrics } from "../../apps/rewards/metrics.ts";
import type { DeadLetter, UnmatchedFrame } from "../../apps/rewards/records.ts";
import { simulateDay } from "../../apps/rewards/simulator/day.ts";
import { TOPICS } from "../../apps/rewards/topics.ts";
import { MetricsRegistry } from "../../src/observe/index.ts";
import { epochMsToPdvTimestamp, PdvFrameCodec } from "../../src/pdv/index.ts";
import { Serdes } from "../../src/serde/index.ts";
import { type TestRecord, TopologyTestDriver } from "../../src/streams/index.ts";
import { dayAnswer } from "./oracle.ts";

import { acceptedBet, BET_T0, couponsDriver, drain, json } from "./coupons-driver.ts";
import { CODES, clockTick, DAY, SMALL_DAY, TEST_CAMPAIGNS } from "./fixtures.ts";

test("simulated day through the three topologies equals the oracle's answer", async () => {
  const frames = simulateDay(SMALL_DAY);
  const answer = dayAnswer(frames, TEST_CAMPAIGNS, CODES);
  assert.ok(answer.bets.length > 300, `a real day: ${answer.bets.length} bets`);
  assert.ok(answer.cancellations.length > 10 && answer.dlq > 10 && answer.unmatchedRequests.length > 3);
  const metrics = rewardsMetrics(new MetricsRegistry());

  // App 1: header decoding.
  const d1 = new TopologyTestDriver(buildFramesTopology({ metrics }), { applicationId: "rewards-frames" });
  const req = d1.createInputTopic(TOPICS.requests, Serdes.String, Serdes.Bytes);
  const resp = d1.createInputTopic(TOPICS.responses, Serdes.String, Serdes.Bytes);
  for (const f of frames) (f.topic === TOPICS.requests ? req : resp).pipeInput(f.key, f.value, f.timestamp);
  // A broadcast an hour after the day's last frame moves stream time past every window.
  const codec = new PdvFrameCodec();
  const last = frames.at(-1)!.timestamp + 3_600_000;
  const tick = clockTick(last);
  req.pipeInput("1", tick, last);
  resp.pipeInput("1", tick, last);
  const valid = drain(d1, TOPICS.valid, Serdes.String, Serdes.Bytes);
  const dlq = drain(d1, TOPICS.dlq, Serdes.String, json<DeadLetter>());
  assert.equal(dlq.length, answer.dlq);
  assert.equal(valid.length, frames.length - answer.dlq + 2);
  const letter = dlq[0]!.value!;
  assert.ok([TOPICS.requests, TOPICS.responses].includes(letter.sourceTopic as never));
  assert.ok(letter.sourceOffset >= 0 && letter.reason.length > 0 && letter.rawBase64.length > 0);
  await d1.close();

  // App 2: correlation and full decoding.
  const d2 = new TopologyTestDriver(buildCorrelationTopology({ metrics }), {
    applicationId: "rewards-correlation",
  });
  const vin = d2.createInputTopic(TOPICS.valid, Serdes.String, Serdes.Bytes);
  for (const r of valid) vin.pipeInput(r.key, r.value, r.timestamp, r.headers);
  const unmatched = drain(d2, TOPICS.unmatched, Serdes.String, json<UnmatchedFrame>());
  const bets = drain(d2, TOPICS.bets, Serdes.String, json<AcceptedBet>());
  const cancels = drain(d2, TOPICS.betsCanceled, Serdes.String, json<BetCancellation>());
  const rejected = drain(d2, TOPICS.betsRejected, Serdes.String, json<unknown>());
  const decoded = drain(d2, TOPICS.decoded, Serdes.String, json<{ type: string }>());
  const unmatchedQ = unmatched
    .filter((u) => u.value!.direction === "Q")
    .map((u) => `${u.value!.type}|${u.value!.terminalId}|${u.value!.sequence}@${u.value!.timestamp}`)
    .sort();
  assert.deepEqual(unmatchedQ, answer.unmatchedRequests);
  assert.deepEqual(
    bets.map((b) => b.value!).sort((a, b) => (a.ticketId < b.ticketId ? -1 : 1)),
    [...answer.bets].sort((a, b) => (a.ticketId < b.ticketId ? -1 : 1)),
  );
  assert.equal(rejected.length, answer.rejectedBets);
  assert.deepEqual(
    cancels.map((c) => c.value!.ticketId).sort(),
    answer.cancellations.map((c) => c.ticketId).sort(),
  );
  assert.ok(decoded.length >= bets.length + cancels.length);
  assert.ok(
    bets.every((b) => b.key === String(b.value!.terminalId)),
    "bets keyed by terminal",
  );
  await d2.close();

  // App 3: coupons.
  const d3 = new TopologyTestDriver(buildCouponsTopology({ metrics }), { applicationId: "rewards-coupons" });
  const cin = d3.createInputTopic(TOPICS.campaigns, Serdes.String, Serdes.String);
  for (const c of TEST_CAMPAIGNS) cin.pipeInput(c.id, JSON.stringify(c.spec), 0);
  const pool = d3.createInputTopic(TOPICS.coupons, Serdes.String, Serdes.String);
  for (const c of TEST_CAMPAIGNS)
    for (let i = 0; i < CODES; i++) pool.pipeInput(couponPoolKey(c.id, i), `${c.id}-${i}`, 0);
  // bets and cancellations in the order app 2 wrote them (one partition here).
  const bin = d3.createInputTopic(TOPICS.bets, Serdes.String, json<AcceptedBet>());
  const xin = d3.createInputTopic(TOPICS.betsCanceled, Serdes.String, json<BetCancellation>());
  const merged = [
    ...bets.map((r) => ({ r, cancel: false })),
    ...cancels.map((r) => ({ r, cancel: true })),
  ].sort((a, b) => a.r.timestamp - b.r.timestamp);
  for (const { r, cancel } of merged) {
    if (cancel) xin.pipeInput(r.key, r.value as BetCancellation, r.timestamp, r.headers);
    else bin.pipeInput(r.key, r.value as AcceptedBet, r.timestamp, r.headers);
  }
  const rewards = drain(d3, TOPICS.rewards, Serdes.String, json<Reward>());
  const canceled = drain(d3, TOPICS.rewardsCanceled, Serdes.String, json<RewardCancellation>());
  const push = drain(d3, TOPICS.push, Serdes.String, Serdes.Bytes);
  assert.deepEqual(rewards.map((r) => `${r.value!.campaignId}|${r.value!.ticketId}`).sort(), answer.issued);
  assert.deepEqual(
    canceled.map((r) => `${r.value!.campaignId}|${r.value!.ticketId}`).sort(),
    answer.canceled,
  );
  assert.ok(
    answer.issued.length > 100 && answer.canceled.length > 3,
    `${answer.issued.length} issued, ${answer.canceled.length} cancelled`,
  );
  assert.equal(push.length, rewards.length + canceled.length);
  const codes = rewards.map((r) => r.value!.couponCode);
  assert.equal(new Set(codes).size, codes.length, "every code handed out once");
  // The push frames are valid T090 frames carrying the coupon.
  const p0 = codec.decode(push[0]!.value!);
  assert.equal(p0.header.type, "T090");
  assert.equal(String(p0.body!["T090-COUPON-CODE"]).trim(), rewards[0]!.value!.couponCode);
  assert.equal(p0.header.pdvId, rewards[0]!.value!.pdvId);
  // Interactive-query store: the budget of a campaign reflects issued minus cancelled.
  const accounts = d3.getKeyValueStore<
    string,
    { usedCents: number; issuedCount: number; canceledCount: number }
  >("ledger-accounts");
  for (const c of TEST_CAMPAIGNS) {
    const a = accounts.get(c.id);
    const issued = answer.issued.filter((k) => k.startsWith(`${c.id}|`)).length;
    const canc = answer.canceled.filter((k) => k.startsWith(`${c.id}|`)).length;
    assert.equal(a?.issuedCount ?? 0, issued);
    assert.equal(a?.usedCents ?? 0, (issued - canc) * c.couponValueCents);
  }
  await d3.close();
});

test("coupons topology: caps and budget bind, a cancellation frees them, duplicates get nothing", async () => {
  const { d, metrics, bets, cancels } = couponsDriver(
    { id: "TIGHT", period: { from: DAY, to: DAY }, couponValue: 5, capPerPdvPerDay: 2, totalBudget: 15 },
    10,
  );
  const t0 = BET_T0;
  const bet = acceptedBet;
  const send = (b: AcceptedBet) => bets.pipeInput(String(b.terminalId), b, b.acceptedAt);
  send(bet("A1", 1, 1)); // coupon 0
  send(bet("A2", 1, 2)); // coupon 1
  send(bet("A3", 1, 3)); // cap reached for PDV 1
  send(bet("B1", 2, 4)); // coupon 2: budget 15 € used
  send(bet("B2", 2, 5)); // budget exhausted
  send(bet("A1", 1, 1)); // duplicate: nothing
  cancels.pipeInput(
    "10",
    {
      ticketId: "A2",
      terminalId: 10,
      pdvId: 1,
      refundedStakeCents: 200,
      reasonCode: 1,
      canceledAt: t0 + 9000,
    },
    t0 + 9000,
  );
  send(bet("A4", 1, 10)); // cap and budget freed: coupon 3 (codes are never reused)
  const rewards = drain(d, TOPICS.rewards, Serdes.String, json<Reward>()).map(
    (r) => `${r.value!.ticketId}:${r.value!.couponCode}`,
  );
  assert.deepEqual(rewards, ["A1:TIGHT-0", "A2:TIGHT-1", "B1:TIGHT-2", "A4:TIGHT-3"]);
  const canceled = drain(d, TOPICS.rewardsCanceled, Serdes.String, json<RewardCancellation>());
  assert.deepEqual(
    canceled.map((r) => [r.key, r.value!.couponCode, r.value!.valueCents]),
    [["A2", "TIGHT-1", 500]],
  );
  const pushes = drain(d, TOPICS.push, Serdes.String, Serdes.Bytes).map(
    (p) => new PdvFrameCodec().decode(p.value!).body!["T090-ACTION"],
  );
  assert.deepEqual(pushes, ["I", "I", "I", "C", "I"]);
  const skipped = await metrics.couponsSkipped.get();
  const reasons = Object.fromEntries(skipped.values.map((v) => [v.labels.reason, v.value]));
  assert.deepEqual(reasons, { cap_reached: 1, budget_exhausted: 1 });
  await d.close();
});

test("coupons topology: a cancellation that overtakes its bet takes the coupon back when the bet comes, once", async () => {
  const { d, bets, cancels } = couponsDriver(
    { id: "EARLY", period: { from: DAY, to: DAY }, couponValue: 5, capPerPdvPerDay: 9, totalBudget: 1000 },
    10,
  );
  const t0 = BET_T0;
  const bet = (ticketId: string, i: number) => acceptedBet(ticketId, 1, i);
  const cancel = (ticketId: string, at: number) =>
    cancels.pipeInput(
      "10",
      { ticketId, terminalId: 10, pdvId: 1, refundedStakeCents: 200, reasonCode: 1, canceledAt: at },
      at,
    );
  bets.pipeInput("10", bet("K1", 1), t0 + 1100); // coupon 0, no cancellation waiting
  cancel("K2", t0 + 1500); // overtakes its bet: kept for it
  bets.pipeInput("10", bet("K2", 2), t0 + 2100); // coupon 1, taken back at once
  bets.pipeInput("10", bet("K2", 2), t0 + 2200); // duplicate: nothing, and no second cancellation
  bets.pipeInput("10", bet("K3", 3), t0 + 3100); // coupon 2
  const rewards = drain(d, TOPICS.rewards, Serdes.String, json<Reward>()).map(
    (r) => `${r.value!.ticketId}:${r.value!.couponCode}`,
  );
  assert.deepEqual(rewards, ["K1:EARLY-0", "K2:EARLY-1", "K3:EARLY-2"]);
  const canceled = drain(d, TOPICS.rewardsCanceled, Serdes.String, json<RewardCancellation>());
  assert.deepEqual(
    canceled.map((r) => [r.key, r.value!.couponCode]),
    [["K2", "EARLY-1"]],
  );
  // The waiting cancellation is used up: the store holds none.
  assert.equal(d.getKeyValueStore<string, BetCancellation>(STORES.earlyCancels).all().length, 0);
  await d.close();
});

test("coupons topology: an early cancellation whose bet does not come is dropped after a day; a younger one still waits", async () => {
  const { d, bets, cancels } = couponsDriver(
    { id: "LATE", period: { from: DAY, to: DAY }, couponValue: 5, capPerPdvPerDay: 9, totalBudget: 1000 },
    10,
  );
  const t0 = BET_T0;
  const hour = 3_600_000;
  const cancel = (ticketId: string, at: number) =>
    cancels.pipeInput(
      "10",
      { ticketId, terminalId: 10, pdvId: 1, refundedStakeCents: 200, reasonCode: 1, canceledAt: at },
      at,
    );
  const waiting = () =>
    d
      .getKeyValueStore<string, BetCancellation>(STORES.earlyCancels)
      .all()
      .map((e) => e.key)
      .sort();
  cancel("OLD", t0 + 1000);
  cancel("USED", t0 + 2000);
  cancel("YOUNG", t0 + 20 * hour);
  // Out of arrival order: older than YOUNG, so it waits for YOUNG's turn, never dropped early.
  cancel("LATE-ARRIVAL", t0 + 3000);
  bets.pipeInput("10", acceptedBet("USED", 1, 2), t0 + 21 * hour); // its cancellation is used up
  assert.deepEqual(waiting(), ["LATE|LATE-ARRIVAL", "LATE|OLD", "LATE|YOUNG"]);
  // Stream time a day past OLD's cancellation (every campaign's owner sees every cancellation).
  cancel("TICK", t0 + 25 * hour);
  assert.deepEqual(waiting(), ["LATE|LATE-ARRIVAL", "LATE|TICK", "LATE|YOUNG"]);
  cancel("TICK2", t0 + 45 * hour);
  assert.deepEqual(waiting(), ["LATE|TICK", "LATE|TICK2"]);
  // OLD's bet, a day and more late, gets its coupon for good; YOUNG's would have been taken back.
  bets.pipeInput("10", acceptedBet("OLD", 1, 1), t0 + 45 * hour + 1);
  const rewards = drain(d, TOPICS.rewards, Serdes.String, json<Reward>()).map((r) => r.value!.ticketId);
  assert.deepEqual(rewards, ["USED", "OLD"]);
  const canceled = drain(d, TOPICS.rewardsCanceled, Serdes.String, json<RewardCancellation>());
  assert.deepEqual(
    canceled.map((r) => r.key),
    ["USED"],
  );
  await d.close();
});

test("frames topology: each valid frame carries its source coordinates and ingest time as headers", async () => {
  const metrics = rewardsMetrics(new MetricsRegistry());
  let now = 1_750_000_000_000;
  const d = new TopologyTestDriver(buildFramesTopology({ metrics, now: () => now }), {
    applicationId: "rewards-frames",
  });
  const frames = simulateDay({ ...SMALL_DAY, date: DAY }).slice(0, 250); // offsets of one to three digits
  const inputs = {
    [TOPICS.requests]: d.createInputTopic(TOPICS.requests, Serdes.String, Serdes.Bytes),
    [TOPICS.responses]: d.createInputTopic(TOPICS.responses, Serdes.String, Serdes.Bytes),
  };
  const expected: string[] = [];
  const offsets = new Map<string, number>();
  for (const [i, f] of frames.entries()) {
    now += i % 3 === 0 ? 1 : 0; // several frames share a millisecond
    inputs[f.topic as keyof typeof inputs]!.pipeInput(f.key, f.value, f.timestamp);
    const o = offsets.get(f.topic) ?? 0;
    offsets.set(f.topic, o + 1);
    if (f.kind !== "malformed") expected.push(`${f.topic}/0/${o}|${now}`);
  }
  const valid = drain(d, TOPICS.valid, Serdes.String, Serdes.Bytes);
  await d.close();
  const text = (r: TestRecord<string, Uint8Array>, name: string) =>
    new TextDecoder().decode(r.headers.find((h) => h.key === name)?.value ?? new Uint8Array());
  assert.deepEqual(
    valid.map((r) => `${text(r, "courant.source")}|${text(r, "courant.ingest")}`),
    expected,
  );
});

test("correlation topology: a terminal that starts again in another region gives its next bets that region", async () => {
  // PairDecoder mirrors the terminals store in memory: a new T001 must replace what it holds.
  const codec = new PdvFrameCodec();
  const t0 = Date.parse(`${DAY}T10:00:00+02:00`);
  let seq = 0;
  const frame = (
    type: string,
    direction: "Q" | "R",
    at: number,
    sequence: number,
    body: object,
  ): [Uint8Array, number] => [
    codec.encode({
      header: {
        type,
        direction,
        version: 1,
        terminalId: 5,
        pdvId: 75001,
        sequence,
        timestamp: epochMsToPdvTimestamp(at),
        status: 0,
      },
      body: body as never,
    }),
    at,
  ];
  const start = (at: number, region: number) => {
    seq = 1;
    return [
      frame("T001", "Q", at, seq, {
        "T001-SOFTWARE-VERSION": "1.0",
        "T001-OPERATOR-ID": "OP",
        "T001-REGION-CODE": region,
        "T001-OPEN-DATE": 20260614,
      }),
      frame("T001", "R", at + 50, seq, {
        "T001-SESSION-ID": "S",
        "T001-SERVER-TIME": 20260614100000000n,
        "T001-MEETING-COUNT": 0,
        "T001-MEETING": [],
      }),
    ];
  };
  const bet = (at: number, ticket: string) => {
    seq++;
    return [
      frame("T031", "Q", at, seq, {
        "T031-REUNION": 1,
        "T031-COURSE": 3,
        "T031-BET-TYPE": "SGA",
        "T031-FORMULA": "U",
        "T031-UNIT-STAKE": "2.00",
        "T031-MULTIPLIER": 1,
        "T031-TOTAL-STAKE": "2.00",
        "T031-PAYMENT-MODE": "E",
        "T031-FIELD-BITMAP": [],
        "T031-NB-SELECTIONS": 1,
        "T031-SELECTION": [7],
      }),
      frame("T031", "R", at + 80, seq, {
        "T031-TICKET-ID": ticket,
        "T031-ACCEPTED-STAKE": "2.00",
        "T031-REJECT-REASON": "  ",
        "T031-BALANCE": "0.00",
      }),
    ];
  };
  const metrics = rewardsMetrics(new MetricsRegistry());
  const d = new TopologyTestDriver(buildCorrelationTopology({ metrics }), {
    applicationId: "rewards-correlation",
  });
  const vin = d.createInputTopic(TOPICS.valid, Serdes.String, Serdes.Bytes);
  // Record timestamps as the frames' own times: the second start comes after the window.
  for (const [f, at] of [
    ...start(t0, 75),
    ...bet(t0 + 1000, "T-A"),
    ...start(t0 + 60_000, 11),
    ...bet(t0 + 61_000, "T-B"),
  ])
    vin.pipeInput("5", f, at);
  const bets = drain(d, TOPICS.bets, Serdes.String, json<AcceptedBet>()).map((b) => b.value!);
  assert.deepEqual(
    bets.map((b) => [b.ticketId, b.regionCode]),
    [
      ["T-A", 75],
      ["T-B", 11],
    ],
  );
  await d.close();
});

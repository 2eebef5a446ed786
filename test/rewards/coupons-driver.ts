// The coupons topology alone in a TopologyTestDriver, with one campaign and its coupon pool
// loaded, and hand-made accepted bets: shared by the tests that drive the ledger record by record.
import { couponPoolKey } from "../../apps/rewards/coupon-pool.ts";
import { buildCouponsTopology, type CouponsAppOptions } from "../../apps/rewards/coupons-app.ts";
import {
  type AcceptedBet,
  type BetCancellation,
  Campaign,
  parisLocalToEpochMs,
} from "../../apps/rewards/domain/index.ts";
import { rewardsMetrics } from "../../apps/rewards/metrics.ts";
import { TOPICS } from "../../apps/rewards/topics.ts";
import { MetricsRegistry } from "../../src/observe/index.ts";
import { type Serde, Serdes } from "../../src/serde/index.ts";
import { type TestRecord, TopologyTestDriver } from "../../src/streams/index.ts";

export const json = <T>() => Serdes.Json<T>();

/** Every record written to `topic` so far. */
export function drain<K, V>(
  d: TopologyTestDriver,
  topic: string,
  k: Serde<K>,
  v: Serde<V>,
): TestRecord<K, V>[] {
  return d.createOutputTopic(topic, k, v).readRecordsToList();
}

/**
 * The coupons topology in a test driver, with one campaign and its pool of `codes` codes loaded.
 * `options` go to buildCouponsTopology (retention, logger).
 */
export function couponsDriver(
  spec: Parameters<typeof Campaign.from>[0],
  codes: number,
  options: Omit<CouponsAppOptions, "metrics"> = {},
) {
  const metrics = rewardsMetrics(new MetricsRegistry());
  const d = new TopologyTestDriver(buildCouponsTopology({ metrics, ...options }), {
    applicationId: "rewards-coupons",
  });
  const c = Campaign.from(spec);
  d.createInputTopic(TOPICS.campaigns, Serdes.String, Serdes.String).pipeInput(
    c.id,
    JSON.stringify(c.spec),
    0,
  );
  const pool = d.createInputTopic(TOPICS.coupons, Serdes.String, Serdes.String);
  for (let i = 0; i < codes; i++) pool.pipeInput(couponPoolKey(c.id, i), `${c.id}-${i}`, 0);
  return {
    d,
    metrics,
    campaign: c,
    bets: d.createInputTopic(TOPICS.bets, Serdes.String, json<AcceptedBet>()),
    cancels: d.createInputTopic(TOPICS.betsCanceled, Serdes.String, json<BetCancellation>()),
  };
}

export const BET_T0 = parisLocalToEpochMs(2026, 6, 14, 15);

/** A qualifying accepted bet of PDV `pdvId` (terminal pdvId * 10), i s after `t0` (default 15:00 on 2026-06-14). */
export function acceptedBet(ticketId: string, pdvId: number, i: number, t0 = BET_T0): AcceptedBet {
  return {
    ticketId,
    terminalId: pdvId * 10,
    pdvId,
    regionCode: 75,
    sequence: i,
    reunion: 1,
    course: 1,
    betType: "SGA",
    formula: "U",
    totalStakeCents: 200,
    acceptedStakeCents: 200,
    paymentMode: "E",
    placedAt: t0 + i * 1000,
    acceptedAt: t0 + i * 1000 + 100,
  };
}

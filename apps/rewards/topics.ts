// The topics of the rewards pipeline and how they are laid out. Everything a terminal sends or
// receives is keyed by its terminal id (the source topics are), so a terminal's frames, bets and
// cancellations stay in order in one partition from end to end.
import type { Admin, NewTopic } from "../../src/cluster/index.ts";

export const TOPICS = {
  requests: "pdv.requests",
  responses: "pdv.responses",
  /** Frames whose header decoded, both directions, keyed by terminal, timestamped with FH-TIMESTAMP. */
  valid: "frames.valid",
  dlq: "frames.dlq",
  unmatched: "frames.unmatched",
  decoded: "frames.decoded",
  bets: "bets",
  betsRejected: "bets.rejected",
  betsCanceled: "bets.canceled",
  payouts: "payouts",
  campaigns: "campaigns",
  coupons: "coupons",
  rewards: "rewards",
  rewardsCanceled: "rewards.canceled",
  push: "pdv.push",
  /** The coupons app's repartition topic: (campaign, bet | cancellation), keyed by campaign id. */
  byCampaign: "rewards-coupons-by-campaign-repartition",
} as const;

export const APP_IDS = {
  frames: "rewards-frames",
  correlation: "rewards-correlation",
  coupons: "rewards-coupons",
} as const;

/** Topic definitions: `partitions` for the keyed flows; tables of reference data are compacted. */
export function rewardsTopics(partitions: number): NewTopic[] {
  const compact = { "cleanup.policy": "compact" };
  const keyed = [
    TOPICS.requests,
    TOPICS.responses,
    TOPICS.valid,
    TOPICS.dlq,
    TOPICS.unmatched,
    TOPICS.decoded,
    TOPICS.bets,
    TOPICS.betsRejected,
    TOPICS.betsCanceled,
    TOPICS.payouts,
    TOPICS.rewards,
    TOPICS.rewardsCanceled,
    TOPICS.push,
    TOPICS.byCampaign,
  ];
  return [
    ...keyed.map((name) => ({ name, partitions })),
    { name: TOPICS.campaigns, partitions: 1, config: compact },
    { name: TOPICS.coupons, partitions: 1, config: compact },
  ];
}

/** Creates the pipeline's topics that do not exist yet. */
export async function ensureRewardsTopics(admin: Admin, partitions: number): Promise<void> {
  await admin.createTopics(rewardsTopics(partitions), { ifNotExists: true });
}

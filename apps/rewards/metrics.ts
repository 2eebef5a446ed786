// The rewards pipeline's own metrics (prefixed courant_ by the registry).
import type { Counter, Histogram } from "prom-client";
import type { LatestGauge, MetricsRegistry, Tally } from "../../src/observe/index.ts";

export interface RewardsMetrics {
  readonly frames: Counter;
  /** Hot-path counts (see MetricsRegistry.tallyCounter): frames by direction, pairs by type, bets by outcome, coupons by campaign. */
  readonly tallies: {
    readonly frames: (direction: string) => Tally;
    readonly matched: (type: string) => Tally;
    readonly bets: (outcome: string) => Tally;
    readonly couponsIssued: (campaign: string) => Tally;
    readonly couponsCanceled: (campaign: string) => Tally;
  };
  readonly unknownTypes: Counter;
  readonly dlq: Counter;
  readonly unmatched: Counter;
  readonly duplicates: Counter;
  readonly matched: Counter;
  readonly bets: Counter;
  readonly cancellations: Counter;
  readonly payouts: Counter;
  readonly couponsIssued: Counter;
  readonly couponsCanceled: Counter;
  readonly couponsSkipped: Counter;
  readonly budgetUsedCents: LatestGauge;
  readonly frameToCoupon: Histogram;
  /** The latest frame-to-coupon delays (ms), for exact recent percentiles in the live view. */
  readonly recentLatencies: LatencyWindow;
}

/**
 * A ring of the last `capacity` samples; percentiles over those of the last `windowMs`. By count
 * alone, the live view kept showing a restart's catch-up (p99 ~800 ms) for minutes once the PDVs'
 * daily caps slowed coupons down to a few a second.
 */
export class LatencyWindow {
  private readonly samples: Float64Array;
  private readonly at: Float64Array;
  private next = 0;
  private filled = 0;
  total = 0;
  private readonly windowMs: number;
  private readonly clock: () => number;

  constructor(capacity = 8192, windowMs = 60_000, clock: () => number = () => performance.now()) {
    this.samples = new Float64Array(capacity);
    this.at = new Float64Array(capacity);
    this.windowMs = windowMs;
    this.clock = clock;
  }

  record(ms: number): void {
    this.samples[this.next] = ms;
    this.at[this.next] = this.clock();
    this.next = (this.next + 1) % this.samples.length;
    if (this.filled < this.samples.length) this.filled++;
    this.total++;
  }

  /** p in [0, 100], over the samples of the last windowMs; NaN when there are none. */
  percentile(p: number): number {
    const since = this.clock() - this.windowMs;
    const recent: number[] = [];
    for (let i = 0; i < this.filled; i++) if (this.at[i]! >= since) recent.push(this.samples[i]!);
    if (recent.length === 0) return Number.NaN;
    const sorted = Float64Array.from(recent).sort();
    const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
    return sorted[i]!;
  }

  reset(): void {
    this.next = 0;
    this.filled = 0;
  }
}

export function rewardsMetrics(m: MetricsRegistry): RewardsMetrics {
  const frames = m.tallyCounter("rewards_frames_total", "PDV frames whose header decoded, by direction", [
    "direction",
  ]);
  const matched = m.tallyCounter(
    "rewards_pairs_matched_total",
    "Request/response pairs matched, by frame type",
    ["type"],
  );
  const bets = m.tallyCounter("rewards_bets_total", "Bets (T031 pairs), by outcome", ["outcome"]);
  const issued = m.tallyCounter("rewards_coupons_issued_total", "Coupons issued, by campaign", ["campaign"]);
  const canceled = m.tallyCounter(
    "rewards_coupons_canceled_total",
    "Coupons taken back after a cancellation",
    ["campaign"],
  );
  return {
    frames: frames.counter,
    tallies: {
      frames: byLabel((v) => frames.tally(v)),
      matched: byLabel((v) => matched.tally(v)),
      bets: byLabel((v) => bets.tally(v)),
      couponsIssued: byLabel((v) => issued.tally(v)),
      couponsCanceled: byLabel((v) => canceled.tally(v)),
    },
    unknownTypes: m.counter(
      "rewards_frames_unknown_type_total",
      "Frames of a type not in the catalog (passed on)",
      ["type"],
    ),
    dlq: m.counter("rewards_frames_dlq_total", "Frames sent to frames.dlq, by stage and error code", [
      "stage",
      "code",
    ]),
    unmatched: m.counter(
      "rewards_frames_unmatched_total",
      "Frames without a partner when the window closed",
      ["direction"],
    ),
    duplicates: m.counter(
      "rewards_duplicate_frames_total",
      "Duplicate requests/responses dropped by correlation",
      ["direction"],
    ),
    matched: matched.counter,
    bets: bets.counter,
    cancellations: m.counter("rewards_bet_cancellations_total", "Accepted bet cancellations (T034)"),
    payouts: m.counter("rewards_payouts_total", "Payouts (T033)"),
    couponsIssued: issued.counter,
    couponsCanceled: canceled.counter,
    couponsSkipped: m.counter(
      "rewards_coupons_skipped_total",
      "Qualifying bets without a coupon, by reason",
      ["campaign", "reason"],
    ),
    budgetUsedCents: m.latestGauge(
      "rewards_budget_used_cents",
      "Budget used by active coupons, by campaign",
      ["campaign"],
    ),
    frameToCoupon: m.histogram(
      "rewards_frame_to_coupon_seconds",
      "From the response frame's record timestamp to the coupon's issuing",
      [],
      [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    ),
    recentLatencies: new LatencyWindow(),
  };
}

/** Record header carrying the source frame's record timestamp (ingest time) down the pipeline. */
export const INGEST_HEADER = "courant.ingest";

export function ingestHeaderValue(ms: number): Uint8Array {
  return Buffer.from(String(ms), "latin1"); // digits only: same bytes as UTF-8
}

/** The ingest time an INGEST_HEADER value holds (ingestHeaderValue's inverse), NaN if it is not one. */
export function ingestHeaderMs(b: Uint8Array): number {
  // Read digit by digit: a string per coupon to get a number was a sizeable share of the
  // coupons thread's allocations.
  if (b.length === 0 || b.length > 16) return Number.NaN;
  let ms = 0;
  for (let i = 0; i < b.length; i++) {
    const d = b[i]! - 48;
    if (d < 0 || d > 9) return Number.NaN;
    ms = ms * 10 + d;
  }
  return ms;
}

/** One lookup per label value: `make(value)` is called once per distinct value. */
export function byLabel<C>(make: (value: string) => C): (value: string) => C {
  const cache = new Map<string, C>();
  return (value) => {
    let c = cache.get(value);
    if (c === undefined) cache.set(value, (c = make(value)));
    return c;
  };
}

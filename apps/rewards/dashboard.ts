// Figures of the live view of `courant start`: what the pipeline has done and how it keeps up.
import type { Cluster } from "../../src/cluster/index.ts";
import type { RewardsApps } from "./pipeline.ts";

export interface DashboardSnapshot {
  /** Frames whose header was decoded by this run, and their rate over the last interval. */
  readonly frames: number;
  readonly framesPerSecond: number;
  readonly bets: number;
  /** Totals since the first run (from the ledger state). */
  readonly couponsIssued: number;
  readonly couponsCanceled: number;
  /** Qualifying bets without a coupon in this run, by reason (a cap or the budget reached...). */
  readonly couponsSkipped: Readonly<Record<string, number>>;
  readonly budgetUsedCents: number;
  readonly budgetTotalCents: number;
  readonly dlq: number;
  readonly unmatched: number;
  readonly lag: Record<string, number>;
  /** Recent frame -> coupon delays, ms (NaN before the first coupon). */
  readonly latencyP50Ms: number;
  readonly latencyP99Ms: number;
  /** Each app's state, and how many times its worker thread was started again. */
  readonly apps: readonly { readonly name: string; readonly state: string; readonly restarts: number }[];
}

export class RewardsDashboard {
  private readonly apps: RewardsApps;
  private readonly cluster: Cluster;
  private lastFrames = 0;
  private lastAt = performance.now();

  constructor(cluster: Cluster, apps: RewardsApps) {
    this.cluster = cluster;
    this.apps = apps;
  }

  async snapshot(): Promise<DashboardSnapshot> {
    // Each app reports its own figures (it may run in a worker thread of its own).
    // An app that is down (its worker gone) shows as zeros; its state and /health tell why.
    const [frames, correlation, coupons] = await Promise.all(
      (["frames", "correlation", "coupons"] as const).map((n) =>
        this.apps
          .get(n)
          ?.figures()
          .catch(() => undefined),
      ),
    );
    const framesDone = frames?.frames ?? 0;
    const now = performance.now();
    const fps = ((framesDone - this.lastFrames) * 1000) / Math.max(1, now - this.lastAt);
    this.lastFrames = framesDone;
    this.lastAt = now;
    return {
      frames: framesDone,
      framesPerSecond: fps,
      bets: correlation?.betsAccepted ?? 0,
      couponsIssued: coupons?.ledger.issued ?? 0,
      couponsCanceled: coupons?.ledger.canceled ?? 0,
      couponsSkipped: coupons?.couponsSkippedThisRun ?? {},
      budgetUsedCents: coupons?.ledger.usedCents ?? 0,
      budgetTotalCents: coupons?.ledger.totalBudgetCents ?? 0,
      dlq: (frames?.dlq ?? 0) + (correlation?.dlq ?? 0),
      unmatched: correlation?.unmatchedRequests ?? 0,
      lag: await this.apps.lag(this.cluster),
      latencyP50Ms: coupons?.latencyP50Ms ?? Number.NaN,
      latencyP99Ms: coupons?.latencyP99Ms ?? Number.NaN,
      apps: this.apps.apps.map((a) => ({ name: a.name, state: a.state(), restarts: a.workerRestarts ?? 0 })),
    };
  }
}

/** Short names of the reasons a qualifying bet got no coupon, for the live view. */
const SKIP_NAMES: Readonly<Record<string, string>> = {
  cap_reached: "cap",
  budget_exhausted: "budget",
  no_coupon_code: "no code",
  campaign_unknown: "unknown campaign",
};

export function formatSnapshot(s: DashboardSnapshot): string {
  const lag = Object.values(s.lag).reduce((n, x) => n + (Number.isFinite(x) ? x : 0), 0);
  const ms = (x: number) => (Number.isFinite(x) ? `${x.toFixed(0)}` : "-");
  const pct = s.budgetTotalCents > 0 ? ((100 * s.budgetUsedCents) / s.budgetTotalCents).toFixed(1) : "0.0";
  return [
    `${s.framesPerSecond.toFixed(0).padStart(6)} frames/s`,
    `bets ${s.bets}`,
    `coupons +${s.couponsIssued} -${s.couponsCanceled}`,
    // Why coupons stop rising: a PDV's daily cap, the budget, the coupon pool.
    ...(Object.keys(s.couponsSkipped).length > 0
      ? [
          `not issued ${Object.entries(s.couponsSkipped)
            .sort((a, b) => b[1] - a[1])
            .map(([r, n]) => `${SKIP_NAMES[r] ?? r} ${n}`)
            .join(", ")}`,
        ]
      : []),
    `budget ${(s.budgetUsedCents / 100).toFixed(0)}/${(s.budgetTotalCents / 100).toFixed(0)} € (${pct}%)`,
    `dlq ${s.dlq}`,
    `unmatched ${s.unmatched}`,
    `lag ${lag}`,
    `frame→coupon p50 ${ms(s.latencyP50Ms)} ms p99 ${ms(s.latencyP99Ms)} ms`,
    // An app that is not running, or whose thread died and was started again, is named: its
    // figures are otherwise only missing.
    ...s.apps
      .filter((a) => a.state !== "RUNNING" || a.restarts > 0)
      .map((a) => `${a.name} ${a.state}${a.restarts > 0 ? ` (thread restarted ${a.restarts}×)` : ""}`),
  ].join("  ");
}

// Figures of the live view of `courant start`: what the pipeline has done and how it keeps up.
import type { Counter } from "prom-client";
import type { Cluster } from "../../src/cluster/index.ts";
import { STORES } from "./coupons-app.ts";
import { type BudgetAccountState, Campaign } from "./domain/index.ts";
import type { RewardsApps } from "./pipeline.ts";

export interface DashboardSnapshot {
  /** Frames whose header was decoded by this run, and their rate over the last interval. */
  readonly frames: number;
  readonly framesPerSecond: number;
  readonly bets: number;
  /** Totals since the first run (from the ledger state). */
  readonly couponsIssued: number;
  readonly couponsCanceled: number;
  readonly budgetUsedCents: number;
  readonly budgetTotalCents: number;
  readonly dlq: number;
  readonly unmatched: number;
  readonly lag: Record<string, number>;
  /** Recent frame -> coupon delays, ms (NaN before the first coupon). */
  readonly latencyP50Ms: number;
  readonly latencyP99Ms: number;
}

async function sum(
  c: Counter | undefined,
  filter?: (labels: Partial<Record<string, string | number>>) => boolean,
): Promise<number> {
  if (!c) return 0;
  const m = await c.get();
  return m.values.reduce((n, v) => n + (filter && !filter(v.labels) ? 0 : v.value), 0);
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
    const frames = await sum(this.apps.get("frames")?.metrics.frames);
    const now = performance.now();
    const fps = ((frames - this.lastFrames) * 1000) / Math.max(1, now - this.lastAt);
    this.lastFrames = frames;
    this.lastAt = now;
    const coupons = this.apps.get("coupons");
    let issued = 0;
    let canceled = 0;
    let used = 0;
    let total = 0;
    if (coupons && coupons.streams.state === "RUNNING") {
      const accounts = coupons.streams.keyValueStore<string, BudgetAccountState>(STORES.accounts);
      for (const { value } of accounts.all()) {
        issued += value.issuedCount;
        canceled += value.canceledCount;
        used += value.usedCents;
      }
      for (const t of this.apps.tables) {
        if (t.name !== "campaigns") continue;
        for (const { value } of t.all()) {
          try {
            total += Campaign.from(JSON.parse(value)).totalBudgetCents;
          } catch {
            // an invalid campaign record is skipped by the app too
          }
        }
      }
    }
    const correlation = this.apps.get("correlation");
    const lat = coupons?.metrics.recentLatencies;
    return {
      frames,
      framesPerSecond: fps,
      bets: await sum(correlation?.metrics.bets, (l) => l.outcome === "accepted"),
      couponsIssued: issued,
      couponsCanceled: canceled,
      budgetUsedCents: used,
      budgetTotalCents: total,
      dlq: (await sum(this.apps.get("frames")?.metrics.dlq)) + (await sum(correlation?.metrics.dlq)),
      unmatched: await sum(correlation?.metrics.unmatched, (l) => l.direction === "Q"),
      lag: await this.apps.lag(this.cluster),
      latencyP50Ms: lat ? lat.percentile(50) : Number.NaN,
      latencyP99Ms: lat ? lat.percentile(99) : Number.NaN,
    };
  }
}

export function formatSnapshot(s: DashboardSnapshot): string {
  const lag = Object.values(s.lag).reduce((n, x) => n + (Number.isFinite(x) ? x : 0), 0);
  const ms = (x: number) => (Number.isFinite(x) ? `${x.toFixed(0)}` : "-");
  const pct = s.budgetTotalCents > 0 ? ((100 * s.budgetUsedCents) / s.budgetTotalCents).toFixed(1) : "0.0";
  return [
    `${s.framesPerSecond.toFixed(0).padStart(6)} frames/s`,
    `bets ${s.bets}`,
    `coupons +${s.couponsIssued} -${s.couponsCanceled}`,
    `budget ${(s.budgetUsedCents / 100).toFixed(0)}/${(s.budgetTotalCents / 100).toFixed(0)} € (${pct}%)`,
    `dlq ${s.dlq}`,
    `unmatched ${s.unmatched}`,
    `lag ${lag}`,
    `frame→coupon p50 ${ms(s.latencyP50Ms)} ms p99 ${ms(s.latencyP99Ms)} ms`,
  ].join("  ");
}

// The coupon ledger of one campaign owner: issues at most one coupon per (bet, campaign), never
// beyond the campaign's budget or its cap per PDV per day, and takes coupons back when their bet
// is cancelled. It is pure decision logic over a LedgerStore, so the same code runs inside a
// stream processor (stores backed by changelogs, exactly-once) and in tests and the oracle
// (in-memory maps). The pipeline routes every record of a campaign to a single task, so the
// ledger never races with another writer of the same campaign (see docs/rewards.md).
import type { Campaign, Disqualification } from "./campaign.ts";
import type { AcceptedBet, BetCancellation, Reward, RewardCancellation } from "./events.ts";

/** Persistent counters of a campaign's budget. */
export interface BudgetAccountState {
  readonly campaignId: string;
  /** Value of coupons issued and not cancelled. */
  readonly usedCents: number;
  readonly issuedCount: number;
  readonly canceledCount: number;
  /** Next unused position in the campaign's coupon pool (cancelled codes are never reused). */
  readonly nextCouponIndex: number;
}

/** What the ledger reads and writes; implemented by stream state stores and by MemoryLedgerStore. */
export interface LedgerStore {
  getAccount(campaignId: string): BudgetAccountState | undefined;
  putAccount(state: BudgetAccountState): void;
  /** Active (not cancelled) coupons of a campaign for a PDV on a Paris day. */
  getPdvDayCount(campaignId: string, pdvId: number, day: string): number;
  putPdvDayCount(campaignId: string, pdvId: number, day: string, count: number): void;
  getReward(campaignId: string, ticketId: string): Reward | undefined;
  putReward(reward: Reward): void;
  /** The coupon code at `index` of the campaign's pool, if loaded. */
  couponCode(campaignId: string, index: number): string | undefined;
  /**
   * Cancellations that arrived before their bet (bets and cancellations travel on two topics, so
   * one may overtake the other): kept until the bet comes or they expire.
   */
  getEarlyCancel(campaignId: string, ticketId: string): BetCancellation | undefined;
  putEarlyCancel(campaignId: string, cancellation: BetCancellation | null, ticketId: string): void;
}

/** A campaign's budget: what is spent, what is left. */
export class BudgetAccount {
  readonly campaign: Campaign;
  readonly state: BudgetAccountState;

  constructor(campaign: Campaign, state: BudgetAccountState | undefined) {
    this.campaign = campaign;
    this.state = state ?? {
      campaignId: campaign.id,
      usedCents: 0,
      issuedCount: 0,
      canceledCount: 0,
      nextCouponIndex: 0,
    };
  }

  get remainingCents(): number {
    return this.campaign.totalBudgetCents - this.state.usedCents;
  }

  canAfford(cents: number): boolean {
    return this.state.usedCents + cents <= this.campaign.totalBudgetCents;
  }

  spend(cents: number): BudgetAccountState {
    return {
      ...this.state,
      usedCents: this.state.usedCents + cents,
      issuedCount: this.state.issuedCount + 1,
      nextCouponIndex: this.state.nextCouponIndex + 1,
    };
  }

  refund(cents: number): BudgetAccountState {
    return {
      ...this.state,
      usedCents: this.state.usedCents - cents,
      canceledCount: this.state.canceledCount + 1,
    };
  }
}

export type SkipReason =
  | Disqualification
  | "duplicate"
  /** The bet's day is older than the ledger keeps (CouponLedger.retainedFrom). */
  | "expired"
  | "budget_exhausted"
  | "cap_reached"
  | "no_coupon_code";

export type IssueOutcome =
  | {
      readonly issued: true;
      readonly reward: Reward;
      /** Set when the bet's cancellation had already arrived: the coupon is taken back at once. */
      readonly canceled?: Extract<CancelOutcome, { canceled: true }>;
    }
  | { readonly issued: false; readonly reason: SkipReason };

export type CancelOutcome =
  | { readonly canceled: true; readonly cancellation: RewardCancellation; readonly reward: Reward }
  | { readonly canceled: false; readonly reason: "not_rewarded" | "already_canceled" | "expired" };

/** A campaign's budget as shown to operators (interactive query). */
export interface BudgetReport {
  readonly campaignId: string;
  readonly totalBudgetCents: number;
  readonly usedCents: number;
  readonly remainingCents: number;
  readonly couponValueCents: number;
  readonly issuedCount: number;
  readonly canceledCount: number;
  readonly activeCount: number;
  readonly capPerPdvPerDay: number;
  readonly period: { readonly from: string; readonly to: string };
}

export class CouponLedger {
  private readonly store: LedgerStore;
  /**
   * The oldest Paris day ("YYYY-MM-DD") whose rewards and PDV/day counters the store still keeps,
   * when a retention deletes older ones (undefined: everything is kept). Only ever moves forward.
   * A bet of an earlier day is refused ("expired"): its reward, had it been issued, may be gone,
   * so a second copy of the bet could no longer be told from a first one, nor its PDV's cap of
   * that day be checked. Issuing it would risk a second coupon for one bet.
   */
  retainedFrom: string | undefined = undefined;

  constructor(store: LedgerStore) {
    this.store = store;
  }

  /**
   * Decides whether `bet` gets a coupon of `campaign` and records it. Checks, in order: the bet
   * still qualifies (the campaign may have changed since routing), not already rewarded by this
   * campaign, its day still kept by the ledger, budget, PDV daily cap, a coupon code is available.
   */
  issue(campaign: Campaign, bet: AcceptedBet): IssueOutcome {
    const q = campaign.qualify(bet);
    if (!q.ok) return { issued: false, reason: q.reason };
    if (this.store.getReward(campaign.id, bet.ticketId) !== undefined)
      return { issued: false, reason: "duplicate" };
    const day = campaign.dayOf(bet);
    if (this.retainedFrom !== undefined && day < this.retainedFrom)
      return { issued: false, reason: "expired" };
    const account = new BudgetAccount(campaign, this.store.getAccount(campaign.id));
    if (!account.canAfford(campaign.couponValueCents)) return { issued: false, reason: "budget_exhausted" };
    const count = this.store.getPdvDayCount(campaign.id, bet.pdvId, day);
    if (count >= campaign.capPerPdvPerDay) return { issued: false, reason: "cap_reached" };
    const index = account.state.nextCouponIndex;
    const code = this.store.couponCode(campaign.id, index);
    if (code === undefined) return { issued: false, reason: "no_coupon_code" };
    const reward: Reward = {
      campaignId: campaign.id,
      couponCode: code,
      couponIndex: index,
      valueCents: campaign.couponValueCents,
      ticketId: bet.ticketId,
      terminalId: bet.terminalId,
      pdvId: bet.pdvId,
      day,
      betPlacedAt: bet.placedAt,
      issuedAt: bet.acceptedAt,
      status: "issued",
    };
    this.store.putReward(reward);
    this.store.putPdvDayCount(campaign.id, bet.pdvId, day, count + 1);
    this.store.putAccount(account.spend(campaign.couponValueCents));
    const early = this.store.getEarlyCancel(campaign.id, bet.ticketId);
    if (early !== undefined) {
      this.store.putEarlyCancel(campaign.id, null, bet.ticketId);
      const c = this.cancel(campaign.id, early);
      if (c.canceled) return { issued: true, reward, canceled: c };
    }
    return { issued: true, reward };
  }

  /**
   * Takes back the coupon `campaignId` gave for the cancelled bet, freeing its budget and its
   * place under the PDV's cap for the bet's day. Cancellations are offered to every campaign, so
   * "not_rewarded" is the common, normal answer.
   *
   * A coupon of a day before `retainedFrom` is expired: it is not taken back and the budget it
   * spent stays spent. While the retention has not deleted it yet the answer is "expired"; once
   * it has, the reward was the only record of the ticket and the answer is "not_rewarded" (the
   * cancellation then waits a day as an early one, in vain: a bet of that day is refused).
   */
  cancel(campaignId: string, cancellation: BetCancellation): CancelOutcome {
    const reward = this.store.getReward(campaignId, cancellation.ticketId);
    if (reward === undefined) {
      // Either the bet did not earn this campaign's coupon, or it has not arrived yet: remember
      // the cancellation so that the coupon, if it is issued later, is taken back at once. The
      // outcome is then the same in either order: issued and cancelled.
      this.store.putEarlyCancel(campaignId, cancellation, cancellation.ticketId);
      return { canceled: false, reason: "not_rewarded" };
    }
    if (reward.status === "canceled") return { canceled: false, reason: "already_canceled" };
    if (this.retainedFrom !== undefined && reward.day < this.retainedFrom)
      return { canceled: false, reason: "expired" };
    const canceled: Reward = { ...reward, status: "canceled", canceledAt: cancellation.canceledAt };
    this.store.putReward(canceled);
    const count = this.store.getPdvDayCount(campaignId, reward.pdvId, reward.day);
    this.store.putPdvDayCount(campaignId, reward.pdvId, reward.day, Math.max(0, count - 1));
    const state = this.store.getAccount(campaignId);
    if (state !== undefined) {
      this.store.putAccount({
        ...state,
        usedCents: state.usedCents - reward.valueCents,
        canceledCount: state.canceledCount + 1,
      });
    }
    return {
      canceled: true,
      reward: canceled,
      cancellation: {
        campaignId,
        couponCode: reward.couponCode,
        valueCents: reward.valueCents,
        ticketId: reward.ticketId,
        terminalId: reward.terminalId,
        pdvId: reward.pdvId,
        day: reward.day,
        canceledAt: cancellation.canceledAt,
      },
    };
  }

  budget(campaign: Campaign): BudgetReport {
    const a = new BudgetAccount(campaign, this.store.getAccount(campaign.id));
    return {
      campaignId: campaign.id,
      totalBudgetCents: campaign.totalBudgetCents,
      usedCents: a.state.usedCents,
      remainingCents: a.remainingCents,
      couponValueCents: campaign.couponValueCents,
      issuedCount: a.state.issuedCount,
      canceledCount: a.state.canceledCount,
      activeCount: a.state.issuedCount - a.state.canceledCount,
      capPerPdvPerDay: campaign.capPerPdvPerDay,
      period: campaign.spec.period,
    };
  }
}

/** In-memory LedgerStore: tests, the reference oracle, small tools. */
export class MemoryLedgerStore implements LedgerStore {
  readonly accounts = new Map<string, BudgetAccountState>();
  readonly pdvDayCounts = new Map<string, number>();
  readonly rewards = new Map<string, Reward>();
  readonly pools = new Map<string, string[]>();
  readonly earlyCancels = new Map<string, BetCancellation>();

  /** Loads coupon codes of a campaign, in pool order. */
  addCoupons(campaignId: string, codes: readonly string[]): void {
    const pool = this.pools.get(campaignId) ?? [];
    pool.push(...codes);
    this.pools.set(campaignId, pool);
  }

  getAccount(campaignId: string): BudgetAccountState | undefined {
    return this.accounts.get(campaignId);
  }
  putAccount(state: BudgetAccountState): void {
    this.accounts.set(state.campaignId, state);
  }
  getPdvDayCount(campaignId: string, pdvId: number, day: string): number {
    return this.pdvDayCounts.get(`${campaignId}|${pdvId}|${day}`) ?? 0;
  }
  putPdvDayCount(campaignId: string, pdvId: number, day: string, count: number): void {
    this.pdvDayCounts.set(`${campaignId}|${pdvId}|${day}`, count);
  }
  getReward(campaignId: string, ticketId: string): Reward | undefined {
    return this.rewards.get(`${campaignId}|${ticketId}`);
  }
  putReward(reward: Reward): void {
    this.rewards.set(`${reward.campaignId}|${reward.ticketId}`, reward);
  }
  couponCode(campaignId: string, index: number): string | undefined {
    return this.pools.get(campaignId)?.[index];
  }
  getEarlyCancel(campaignId: string, ticketId: string): BetCancellation | undefined {
    return this.earlyCancels.get(`${campaignId}|${ticketId}`);
  }
  putEarlyCancel(campaignId: string, cancellation: BetCancellation | null, ticketId: string): void {
    if (cancellation === null) this.earlyCancels.delete(`${campaignId}|${ticketId}`);
    else this.earlyCancels.set(`${campaignId}|${ticketId}`, cancellation);
  }
}

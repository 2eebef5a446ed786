// App 3, "rewards-coupons": confronts accepted bets with the active campaigns and the coupon
// pools, issues coupons (`rewards` + a T090 push frame on `pdv.push`), and takes them back when
// their bet is cancelled (`rewards.canceled` + a T090 cancel push).
//
// Two sub-topologies: `route` (keyed by terminal, like its inputs) finds each bet's qualifying
// campaigns and re-keys (campaign, bet) pairs by campaign id through a repartition topic; the
// `ledger` (keyed by campaign) owns every campaign's budget, PDV/day counters and rewarded
// tickets, so all decisions about one campaign are taken by one task, in order, in one
// transaction with their outputs (docs/rewards.md, "Keys and partitioning").
import type { GaugeSlot, Logger, Tally } from "../../src/observe/index.ts";
import { epochMsToPdvTimestamp, PdvFrameCodec } from "../../src/pdv/index.ts";
import { type Serde, Serdes } from "../../src/serde/index.ts";
import {
  type KeyValueStore,
  type Processor,
  type ProcessorContext,
  type ReadOnlyKeyValueStore,
  Record,
  Stores,
  Topology,
} from "../../src/streams/index.ts";
import { RewardedTickets } from "./rewarded-tickets.ts";
import { type CampaignWork, campaignWorkSerde } from "./campaign-work.ts";
import { couponPoolKey } from "./coupon-pool.ts";
import {
  type AcceptedBet,
  type BetCancellation,
  type BudgetAccountState,
  Campaign,
  CampaignBook,
  CouponLedger,
  type LedgerStore,
  parisDay,
  parisLocalToEpochMs,
  type Reward,
  type RewardCancellation,
} from "./domain/index.ts";
import { byLabel, INGEST_HEADER, ingestHeaderMs, type RewardsMetrics } from "./metrics.ts";
import { budgetAccountSerde, counterSerde, json, sharedJson } from "./records.ts";
import { TOPICS } from "./topics.ts";

export const STORES = {
  campaigns: "campaigns-table",
  coupons: "coupon-codes",
  accounts: "ledger-accounts",
  pdvDay: "ledger-pdv-day",
  rewards: "ledger-rewards",
  rewardsByPdv: "ledger-rewards-by-pdv",
  earlyCancels: "ledger-early-cancellations",
} as const;

/** The repartition topic carrying (campaign, bet | cancellation) pairs to the campaign's owner. */
export const BY_CAMPAIGN_TOPIC = TOPICS.byCampaign;

export type { CampaignWork } from "./campaign-work.ts";

const SINKS = {
  byCampaign: "by-campaign-sink",
  rewards: "rewards-sink",
  canceled: "rewards-canceled-sink",
  push: "push-sink",
} as const;

/**
 * The campaign book as of the `campaigns` table, recompiled only when a campaign's JSON changes.
 * An invalid record in the topic is skipped (and logged once), never fatal.
 */
export class CampaignTableView {
  private readonly compiled = new Map<string, { raw: string; campaign: Campaign | null }>();
  private book = new CampaignBook();
  private readonly log: Logger | undefined;

  constructor(log?: Logger) {
    this.log = log;
  }

  refresh(table: ReadOnlyKeyValueStore<string, string>): CampaignBook {
    const entries = table.all();
    let changed = entries.length !== this.compiled.size;
    for (const { key, value } of entries) {
      const had = this.compiled.get(key);
      if (had !== undefined && had.raw === value) continue;
      changed = true;
      let campaign: Campaign | null = null;
      try {
        campaign = Campaign.from(JSON.parse(value), `campaigns topic, key ${key}`);
      } catch (e) {
        this.log?.error({ campaign: key, err: (e as Error).message }, "invalid campaign record skipped");
      }
      this.compiled.set(key, { raw: value, campaign });
    }
    if (changed) {
      const live = new Set(entries.map((e) => e.key));
      for (const k of [...this.compiled.keys()]) if (!live.has(k)) this.compiled.delete(k);
      this.book = new CampaignBook(
        [...this.compiled.values()].flatMap((c) => (c.campaign ? [c.campaign] : [])),
      );
    }
    return this.book;
  }
}

class TableWriter implements Processor<string, string | null> {
  private store!: KeyValueStore<string, string>;
  private readonly name: string;
  constructor(name: string) {
    this.name = name;
  }
  init(context: ProcessorContext<never, never>): void {
    this.store = context.getStateStore(this.name);
  }
  process(record: Record<string, string | null>): void {
    if (record.key === null || record.key === undefined) return;
    this.store.put(record.key, record.value);
  }
}

class RouteBets implements Processor<string, AcceptedBet, string, CampaignWork> {
  private ctx!: ProcessorContext<string, CampaignWork>;
  private table!: ReadOnlyKeyValueStore<string, string>;
  private readonly view: CampaignTableView;
  private readonly tables: ReferenceTables | undefined;
  constructor(log?: Logger, tables?: ReferenceTables) {
    this.view = new CampaignTableView(log);
    this.tables = tables;
  }
  init(context: ProcessorContext<string, CampaignWork>): void {
    this.ctx = context;
    this.table = this.tables?.campaigns ?? context.getStateStore(STORES.campaigns);
  }
  process(record: Record<string, AcceptedBet>): void {
    const bet = record.value;
    if (bet === null || typeof bet !== "object") return;
    for (const c of this.view.refresh(this.table).qualifyingFor(bet)) {
      this.ctx.forward(
        new Record<string, CampaignWork>(c.id, { kind: "bet", bet }, record.timestamp, record.headers),
      );
    }
  }
}

class RouteCancels implements Processor<string, BetCancellation, string, CampaignWork> {
  private ctx!: ProcessorContext<string, CampaignWork>;
  private table!: ReadOnlyKeyValueStore<string, string>;
  private readonly view: CampaignTableView;
  private readonly tables: ReferenceTables | undefined;
  constructor(log?: Logger, tables?: ReferenceTables) {
    this.view = new CampaignTableView(log);
    this.tables = tables;
  }
  init(context: ProcessorContext<string, CampaignWork>): void {
    this.ctx = context;
    this.table = this.tables?.campaigns ?? context.getStateStore(STORES.campaigns);
  }
  process(record: Record<string, BetCancellation>): void {
    const cancellation = record.value;
    if (cancellation === null || typeof cancellation !== "object") return;
    // A cancellation does not carry the bet's fields: every campaign's owner checks its ledger.
    for (const c of this.view.refresh(this.table).all()) {
      this.ctx.forward(
        new Record<string, CampaignWork>(
          c.id,
          { kind: "cancel", cancellation },
          record.timestamp,
          record.headers,
        ),
      );
    }
  }
}

const PDV_DIGITS = 9;
/** Most PDV/day counters StoreLedger mirrors in memory before it starts its mirror over. */
const PDV_DAY_MIRROR_MAX = 200_000;
const NO_VALUE = new Uint8Array(0);

export function pdvIndexKey(pdvId: number, campaignId: string, ticketId: string): string {
  return `${String(pdvId).padStart(PDV_DIGITS, "0")}|${campaignId}|${ticketId}`;
}

/** LedgerStore over the task's state stores. */
class StoreLedger implements LedgerStore {
  readonly accounts: KeyValueStore<string, BudgetAccountState>;
  readonly pdvDay: KeyValueStore<string, number>;
  readonly rewards: KeyValueStore<string, Reward>;
  /** Index of a PDV's coupons: key only ("pdv|campaign|ticket"), the reward lives in `rewards`. */
  readonly byPdv: KeyValueStore<string, Uint8Array>;
  readonly codes: ReadOnlyKeyValueStore<string, string>;
  private readonly early: KeyValueStore<string, BetCancellation>;
  constructor(ctx: ProcessorContext<unknown, unknown>, tables: ReferenceTables | undefined) {
    this.accounts = ctx.getStateStore(STORES.accounts);
    this.pdvDay = ctx.getStateStore(STORES.pdvDay);
    this.rewards = ctx.getStateStore(STORES.rewards);
    this.byPdv = ctx.getStateStore(STORES.rewardsByPdv);
    this.codes = tables?.coupons ?? ctx.getStateStore(STORES.coupons);
    this.early = ctx.getStateStore(STORES.earlyCancels);
  }
  /**
   * The early-cancellations store's keys and cancellation times, mirrored in memory (per campaign,
   * ticket id → canceledAt): every issued coupon asks for one, and almost never finds it (a store
   * read for a key that is absent was 3 % of the coupons thread; a "campaign|ticket" string built
   * per ask, 1 %). With them, in arrival order, the queue the expiry pops from: it deletes what is
   * due without reading the store (a whole-store read every hour of stream time stalled the task,
   * for a store that can hold hundreds of thousands of entries). Built from the store on first
   * use; the task's processors, and so these, are created again whenever its state is restored or
   * rolled back.
   */
  private earlyKeys: Map<string, Map<string, number>> | undefined;
  private earlyQueue: { campaignId: string; ticketId: string; canceledAt: number }[] = [];
  private earlyHead = 0;
  private earlyMirror(): Map<string, Map<string, number>> {
    if (this.earlyKeys === undefined) {
      this.earlyKeys = new Map();
      const waiting = this.early
        .all()
        .map(({ key, value }) => {
          const bar = key.indexOf("|");
          return {
            campaignId: key.slice(0, bar),
            ticketId: key.slice(bar + 1),
            canceledAt: value.canceledAt,
          };
        })
        .sort((a, b) => a.canceledAt - b.canceledAt);
      for (const e of waiting) this.earlyTickets(e.campaignId).set(e.ticketId, e.canceledAt);
      this.earlyQueue = waiting;
      this.earlyHead = 0;
    }
    return this.earlyKeys;
  }
  private earlyTickets(campaignId: string): Map<string, number> {
    const all = this.earlyKeys!;
    let t = all.get(campaignId);
    if (t === undefined) all.set(campaignId, (t = new Map()));
    return t;
  }
  getEarlyCancel(campaignId: string, ticketId: string): BetCancellation | undefined {
    return this.earlyMirror().get(campaignId)?.has(ticketId) === true
      ? this.early.get(`${campaignId}|${ticketId}`)
      : undefined;
  }
  putEarlyCancel(campaignId: string, cancellation: BetCancellation | null, ticketId: string): void {
    this.early.put(`${campaignId}|${ticketId}`, cancellation);
    this.earlyMirror();
    if (cancellation === null) {
      this.earlyTickets(campaignId).delete(ticketId);
      return;
    }
    this.earlyTickets(campaignId).set(ticketId, cancellation.canceledAt);
    this.earlyQueue.push({ campaignId, ticketId, canceledAt: cancellation.canceledAt });
  }
  /**
   * Drops early cancellations older than `limit` (their bet never came to this campaign), in
   * arrival order: one that arrived after a younger one waits for it, so each is kept at least
   * until `limit` passes its time.
   */
  expireEarlyCancels(limit: number): void {
    this.earlyMirror();
    const q = this.earlyQueue;
    while (this.earlyHead < q.length && q[this.earlyHead]!.canceledAt < limit) {
      const e = q[this.earlyHead++]!;
      const tickets = this.earlyKeys!.get(e.campaignId);
      // Used up by its bet meanwhile, or waiting again with another time: not this entry's to drop.
      if (tickets?.get(e.ticketId) !== e.canceledAt) continue;
      this.early.delete(`${e.campaignId}|${e.ticketId}`);
      tickets.delete(e.ticketId);
    }
    if (this.earlyHead > 1024 && this.earlyHead * 2 > q.length) {
      this.earlyQueue = q.slice(this.earlyHead);
      this.earlyHead = 0;
    }
  }
  /**
   * One batch of the retention sweep over the rewards: examines at most `limit` rewards from the
   * key `from` on (undefined: the first), deletes those of a day before `keepFrom` with their
   * by-PDV index entry (tombstones in both changelogs).
   */
  expireRewards(from: string | undefined, keepFrom: string, limit: number): SweepBatch {
    return expireBatch(
      this.rewards,
      from,
      limit,
      (_key, value) => value.day < keepFrom,
      (value) => this.byPdv.delete(pdvIndexKey(value.pdvId, value.campaignId, value.ticketId)),
    );
  }
  /** As expireRewards, over the PDV/day counters ("campaign|pdv|day": the day is in the key). */
  expirePdvDayCounts(from: string | undefined, keepFrom: string, limit: number): SweepBatch {
    const b = expireBatch(this.pdvDay, from, limit, (key) => key.slice(key.lastIndexOf("|") + 1) < keepFrom);
    if (b.deleted > 0) this.pdvDayCounts.clear();
    return b;
  }

  // Accounts and PDV/day counters, read at every coupon, mirrored as the objects last read or
  // written: a cached store read still meant a key encoded, a byte-string lookup and a JSON parse
  // (4 % of the coupons thread). Like earlyKeys, the mirrors die with the processor on a restore or
  // a rollback; the stores (and their changelogs) get every write as before.
  private readonly accountStates = new Map<string, BudgetAccountState | undefined>();
  /** campaign → day → PDV → active coupons; cleared when it grows past PDV_DAY_MIRROR_MAX. */
  private readonly pdvDayCounts = new Map<string, Map<string, Map<number, number>>>();
  private pdvDayMirrored = 0;
  private pdvDayOf(campaignId: string, day: string): Map<number, number> {
    let byDay = this.pdvDayCounts.get(campaignId);
    if (byDay === undefined) this.pdvDayCounts.set(campaignId, (byDay = new Map()));
    let byPdv = byDay.get(day);
    if (byPdv === undefined) byDay.set(day, (byPdv = new Map()));
    return byPdv;
  }
  private mirrorPdvDay(byPdv: Map<number, number>, pdvId: number, count: number): void {
    if (!byPdv.has(pdvId) && ++this.pdvDayMirrored > PDV_DAY_MIRROR_MAX) {
      this.pdvDayCounts.clear();
      this.pdvDayMirrored = 0;
      return;
    }
    byPdv.set(pdvId, count);
  }
  getAccount(campaignId: string): BudgetAccountState | undefined {
    if (this.accountStates.has(campaignId)) return this.accountStates.get(campaignId);
    const state = this.accounts.get(campaignId);
    this.accountStates.set(campaignId, state);
    return state;
  }
  /** The account state last written (read back for the budget gauge without a store read). */
  lastPutAccount: BudgetAccountState | undefined = undefined;
  putAccount(state: BudgetAccountState): void {
    this.accounts.put(state.campaignId, state);
    this.accountStates.set(state.campaignId, state);
    this.lastPutAccount = state;
  }
  forgetLastPutAccount(): void {
    this.lastPutAccount = undefined;
  }
  getPdvDayCount(campaignId: string, pdvId: number, day: string): number {
    const byPdv = this.pdvDayOf(campaignId, day);
    const known = byPdv.get(pdvId);
    if (known !== undefined) return known;
    const count = this.pdvDay.get(`${campaignId}|${pdvId}|${day}`) ?? 0;
    this.mirrorPdvDay(byPdv, pdvId, count);
    return count;
  }
  putPdvDayCount(campaignId: string, pdvId: number, day: string, count: number): void {
    this.pdvDay.put(`${campaignId}|${pdvId}|${day}`, count);
    this.mirrorPdvDay(this.pdvDayOf(campaignId, day), pdvId, count);
  }
  /** The rewards store's keys, so a bet never rewarded is told without a store read. */
  private rewarded: RewardedTickets<Reward> | undefined;
  private rewardedTickets(): RewardedTickets<Reward> {
    if (this.rewarded === undefined) this.rewarded = new RewardedTickets(this.rewards);
    return this.rewarded;
  }
  getReward(campaignId: string, ticketId: string): Reward | undefined {
    const key = `${campaignId}|${ticketId}`;
    return this.rewardedTickets().mightContain(key) ? this.rewards.get(key) : undefined;
  }
  putReward(reward: Reward): void {
    const key = `${reward.campaignId}|${reward.ticketId}`;
    this.rewards.put(key, reward);
    this.rewardedTickets().add(key);
    if (reward.status === "issued")
      this.byPdv.put(pdvIndexKey(reward.pdvId, reward.campaignId, reward.ticketId), NO_VALUE);
  }
  couponCode(campaignId: string, index: number): string | undefined {
    return this.codes.get(couponPoolKey(campaignId, index));
  }
}

/** What one sweep batch did: `last` is the last key examined; `done` when it reached the end of the store. */
interface SweepBatch {
  readonly examined: number;
  readonly deleted: number;
  readonly last: string | undefined;
  readonly done: boolean;
}

/** Examines at most `limit` entries of `store` from `from` on and deletes the expired ones. */
function expireBatch<V>(
  store: KeyValueStore<string, V>,
  from: string | undefined,
  limit: number,
  expired: (key: string, value: V) => boolean,
  onDelete?: (value: V) => void,
): SweepBatch {
  const batch = store.range(from, undefined, limit);
  let deleted = 0;
  for (const { key, value } of batch) {
    if (!expired(key, value)) continue;
    store.delete(key);
    onDelete?.(value);
    deleted++;
  }
  return { examined: batch.length, deleted, last: batch.at(-1)?.key, done: batch.length < limit };
}

/** Default of CouponsAppOptions.rewardRetentionDays. */
export const DEFAULT_REWARD_RETENTION_DAYS = 35;
/** Default of CouponsAppOptions.retentionSweepBatch. */
export const DEFAULT_RETENTION_SWEEP_BATCH = 1000;
/** Default of CouponsAppOptions.retentionSweepIntervalMs. */
export const DEFAULT_RETENTION_SWEEP_INTERVAL_MS = 1000;

/** "YYYY-MM-DD" `days` calendar days after (before, if negative) the day `day`. */
export function addDays(day: string, days: number): string {
  const [y, m, d] = day.split("-").map(Number) as [number, number, number];
  return new Date(Date.UTC(y, m - 1, d + days)).toISOString().slice(0, 10);
}

/**
 * The retention of one ledger task (docs/rewards.md, "Retention"): which Paris days it keeps,
 * and the sweep deleting the rest in bounded batches.
 *
 * Days older than `days` before the Paris day of the task's stream time are expired. A pass
 * examines every reward, then every PDV/day counter, `batch` entries per call of `sweep()`,
 * resuming after the last key examined. A pass starts when the oldest kept day has moved since
 * the last complete pass (once a day), or after a start (the cursor lives in memory: after a
 * restart or a rebalance the task's sweep starts over from the first key). Accounts are never
 * touched: expiry frees no budget.
 */
class LedgerRetention {
  private readonly store: StoreLedger;
  private readonly ledger: CouponLedger;
  private readonly days: number;
  private readonly batch: number;
  private readonly log: Logger | undefined;
  /** Stream time from which the oldest kept day must be recomputed (the next Paris midnight). */
  private recomputeAt = Number.NEGATIVE_INFINITY;
  /** Oldest kept day as of the last complete pass (undefined: none since this task started). */
  private sweptFrom: string | undefined;
  /** The pass in progress: the oldest kept day when it started, where it is, what it deleted. */
  private pass:
    | {
        keepFrom: string;
        phase: "rewards" | "counters";
        from: string | undefined;
        rewards: number;
        counters: number;
      }
    | undefined;

  constructor(
    store: StoreLedger,
    ledger: CouponLedger,
    days: number,
    batch: number,
    log: Logger | undefined,
  ) {
    this.store = store;
    this.ledger = ledger;
    this.days = days;
    this.batch = batch;
    this.log = log;
  }

  /** Follows stream time (cheap when the Paris day has not changed): moves the oldest kept day. */
  observe(streamTime: number): void {
    if (streamTime < this.recomputeAt || streamTime < 0) return;
    const today = parisDay(streamTime);
    const keepFrom = addDays(today, -this.days);
    const [y, m, d] = today.split("-").map(Number) as [number, number, number];
    this.recomputeAt = parisLocalToEpochMs(y, m, d + 1);
    // Stream time only moves forward; the oldest kept day too (never un-expire a day).
    if (this.ledger.retainedFrom === undefined || keepFrom > this.ledger.retainedFrom)
      this.ledger.retainedFrom = keepFrom;
  }

  /** One bounded step of the sweep: examines at most `batch` entries, deletes the expired ones. */
  sweep(streamTime: number): void {
    this.observe(streamTime);
    const keepFrom = this.ledger.retainedFrom;
    if (keepFrom === undefined) return;
    if (this.pass === undefined) {
      if (this.sweptFrom === keepFrom) return;
      this.pass = { keepFrom, phase: "rewards", from: undefined, rewards: 0, counters: 0 };
    }
    const p = this.pass;
    let budget = this.batch;
    // Entries are judged against the current oldest kept day (it may have moved during the pass).
    while (budget > 0) {
      const b =
        p.phase === "rewards"
          ? this.store.expireRewards(p.from, keepFrom, budget)
          : this.store.expirePdvDayCounts(p.from, keepFrom, budget);
      budget -= b.examined;
      p[p.phase] += b.deleted;
      p.from = b.last === undefined ? undefined : `${b.last}\u0000`;
      if (!b.done) return;
      p.from = undefined;
      if (p.phase === "rewards") {
        p.phase = "counters";
        continue;
      }
      // Everything of a day before the pass's start is gone (later passes catch up with the rest).
      this.sweptFrom = p.keepFrom;
      this.pass = undefined;
      if (p.rewards + p.counters > 0)
        this.log?.info(
          { keepFrom: p.keepFrom, rewards: p.rewards, pdvDayCounters: p.counters },
          "ledger retention: expired rewards and PDV/day counters deleted",
        );
      return;
    }
  }
}

/** Sequence of a T090 push: unique per (campaign, coupon, action) so acknowledgements correlate. */
export function pushSequence(campaignId: string, couponIndex: number, action: "I" | "C"): number {
  let h = 2166136261;
  for (let i = 0; i < campaignId.length; i++) h = Math.imul(h ^ campaignId.charCodeAt(i), 16777619) >>> 0;
  return ((h % 999) + 1) * 1_000_000 + ((couponIndex * 2 + (action === "C" ? 1 : 0)) % 1_000_000);
}

const COUPON_VALIDITY_MS = 30 * 86_400_000;
/** How long a cancellation waits for a bet that has not reached its campaign's owner yet. */
const EARLY_CANCEL_TTL_MS = 86_400_000;
const EARLY_CANCEL_SWEEP_MS = 3_600_000;

export function encodePush(codec: PdvFrameCodec, action: "I" | "C", reward: Reward, at: number): Uint8Array {
  const euros = `${Math.floor(reward.valueCents / 100)},${String(reward.valueCents % 100).padStart(2, "0")} EUR`;
  return codec.encode(
    {
      header: {
        type: "T090",
        direction: "Q",
        version: 1,
        terminalId: reward.terminalId,
        pdvId: reward.pdvId,
        sequence: pushSequence(reward.campaignId, reward.couponIndex, action),
        timestamp: epochMsToPdvTimestamp(at),
        status: 0,
      },
      body: {
        "T090-ACTION": action,
        "T090-COUPON-CODE": reward.couponCode,
        "T090-CAMPAIGN-ID": reward.campaignId,
        "T090-VALUE-CENTS": reward.valueCents,
        "T090-TICKET-ID": reward.ticketId,
        "T090-ISSUED-AT": epochMsToPdvTimestamp(reward.issuedAt),
        "T090-EXPIRES-AT": epochMsToPdvTimestamp(reward.issuedAt + COUPON_VALIDITY_MS),
        "T090-MESSAGE": (action === "I" ? `Coupon ${euros} offert` : `Coupon ${euros} annule`).slice(0, 40),
      },
    },
    // Lives until the producer has copied it into a batch: no buffer of its own per push.
    { sharedBlock: true },
  );
}

class LedgerProcessor
  implements Processor<string, CampaignWork, string, Reward | RewardCancellation | Uint8Array>
{
  private ctx!: ProcessorContext<string, Reward | RewardCancellation | Uint8Array>;
  private store!: StoreLedger;
  private ledger!: CouponLedger;
  private table!: ReadOnlyKeyValueStore<string, string>;
  private readonly view: CampaignTableView;
  private readonly metrics: RewardsMetrics;
  private readonly codec = new PdvFrameCodec();
  private readonly now: () => number;
  private readonly issued: (campaignId: string) => Tally;
  private readonly canceled: (campaignId: string) => Tally;
  private readonly budgetUsed: (campaignId: string) => GaugeSlot;

  private readonly tables: ReferenceTables | undefined;
  private readonly log: Logger | undefined;
  private readonly retentionOptions: Required<LedgerRetentionOptions>;
  private retention!: LedgerRetention;

  constructor(
    metrics: RewardsMetrics,
    now: () => number,
    log: Logger | undefined,
    tables: ReferenceTables | undefined,
    retention: Required<LedgerRetentionOptions>,
  ) {
    this.metrics = metrics;
    this.now = now;
    this.issued = metrics.tallies.couponsIssued;
    this.canceled = metrics.tallies.couponsCanceled;
    this.budgetUsed = byLabel((c) => metrics.budgetUsedCents.slot(c));
    this.view = new CampaignTableView(log);
    this.tables = tables;
    this.log = log;
    this.retentionOptions = retention;
  }

  init(context: ProcessorContext<string, Reward | RewardCancellation | Uint8Array>): void {
    this.ctx = context;
    this.store = new StoreLedger(context as ProcessorContext<unknown, unknown>, this.tables);
    this.ledger = new CouponLedger(this.store);
    this.table = this.tables?.campaigns ?? context.getStateStore(STORES.campaigns);
    context.schedule(EARLY_CANCEL_SWEEP_MS, "streamTime", (t) => this.expireEarlyCancels(t));
    const r = this.retentionOptions;
    this.retention = new LedgerRetention(
      this.store,
      this.ledger,
      r.rewardRetentionDays,
      r.retentionSweepBatch,
      this.log,
    );
    // Stream time as restored with the task's offsets: bets of days already expired are refused
    // from the first record on.
    this.retention.observe(context.currentStreamTimeMs());
    // Wall clock: a bounded batch per interval whatever the event rate (a catch-up replaying a
    // day in minutes does not sweep more often per second).
    context.schedule(r.retentionSweepIntervalMs, "wallClockTime", () =>
      this.retention.sweep(context.currentStreamTimeMs()),
    );
  }

  process(record: Record<string, CampaignWork>): void {
    const work = record.value;
    const campaignId = record.key;
    if (work === null || typeof work !== "object") return;
    this.retention.observe(this.ctx.currentStreamTimeMs());
    this.store.forgetLastPutAccount();
    const campaign = this.view.refresh(this.table).get(campaignId);
    if (work.kind === "bet") {
      if (campaign === undefined) {
        this.metrics.couponsSkipped.labels(campaignId, "campaign_unknown").inc();
        return;
      }
      const out = this.ledger.issue(campaign, work.bet);
      if (!out.issued) {
        if (out.reason !== "duplicate") this.metrics.couponsSkipped.labels(campaignId, out.reason).inc();
        return;
      }
      const r = out.reward;
      this.ctx.forward(new Record<string, Reward>(r.ticketId, r, record.timestamp), SINKS.rewards);
      this.ctx.forward(
        new Record<string, Uint8Array>(
          String(r.pdvId),
          encodePush(this.codec, "I", r, r.issuedAt),
          record.timestamp,
        ),
        SINKS.push,
      );
      this.issued(campaignId).inc();
      this.observeLatency(record);
      if (out.canceled) this.emitCancellation(campaignId, out.canceled, record.timestamp);
    } else {
      const out = this.ledger.cancel(campaignId, work.cancellation);
      if (!out.canceled) {
        if (out.reason === "expired")
          this.log?.warn(
            {
              campaign: campaignId,
              ticket: work.cancellation.ticketId,
              retainedFrom: this.ledger.retainedFrom,
            },
            "cancellation of an expired coupon ignored: its budget stays spent",
          );
        return;
      }
      this.emitCancellation(campaignId, out, record.timestamp);
    }
    const written = this.store.lastPutAccount;
    const account = written?.campaignId === campaignId ? written : this.store.getAccount(campaignId);
    if (account) this.budgetUsed(campaignId).set(account.usedCents);
  }

  private emitCancellation(
    campaignId: string,
    out: Extract<ReturnType<CouponLedger["cancel"]>, { canceled: true }>,
    timestamp: number,
  ): void {
    const c = out.cancellation;
    this.ctx.forward(new Record<string, RewardCancellation>(c.ticketId, c, timestamp), SINKS.canceled);
    this.ctx.forward(
      new Record<string, Uint8Array>(
        String(c.pdvId),
        encodePush(this.codec, "C", out.reward, c.canceledAt),
        timestamp,
      ),
      SINKS.push,
    );
    this.canceled(campaignId).inc();
  }

  /** Early cancellations whose bet never came (it did not qualify for this campaign) are dropped after a day. */
  private expireEarlyCancels(streamTime: number): void {
    this.store.expireEarlyCancels(streamTime - EARLY_CANCEL_TTL_MS);
  }

  private observeLatency(record: Record<string, CampaignWork>): void {
    for (const h of record.headers) {
      if (h.key === INGEST_HEADER && h.value !== null) {
        const ingest = ingestHeaderMs(h.value);
        if (Number.isFinite(ingest)) {
          const ms = Math.max(0, this.now() - ingest);
          this.metrics.frameToCoupon.observe(ms / 1000);
          this.metrics.recentLatencies.record(ms);
        }
        return;
      }
    }
  }
}

/** The reference tables (campaigns, coupon pools) when they are kept outside the topology. */
export interface ReferenceTables {
  readonly campaigns: ReadOnlyKeyValueStore<string, string>;
  readonly coupons: ReadOnlyKeyValueStore<string, string>;
}

/**
 * Retention of the ledger's per-coupon state (docs/rewards.md, "Retention"). Rewards, their by-PDV
 * index entries and PDV/day counters of a Paris day more than `rewardRetentionDays` days before
 * the Paris day of stream time are deleted by a sweep; budget accounts are kept for ever.
 */
export interface LedgerRetentionOptions {
  /** Days kept before the current one (default 35: cancellations come within minutes, disputes within weeks). */
  readonly rewardRetentionDays?: number;
  /** Entries (rewards, then counters) a sweep punctuation examines at most, per task (default 1000). */
  readonly retentionSweepBatch?: number;
  /** Wall-clock interval of the sweep punctuation (default 1000 ms). */
  readonly retentionSweepIntervalMs?: number;
}

/** The retention options with their defaults; throws RangeError on a value out of range. */
export function ledgerRetention(o: LedgerRetentionOptions = {}): Required<LedgerRetentionOptions> {
  const r = {
    rewardRetentionDays: o.rewardRetentionDays ?? DEFAULT_REWARD_RETENTION_DAYS,
    retentionSweepBatch: o.retentionSweepBatch ?? DEFAULT_RETENTION_SWEEP_BATCH,
    retentionSweepIntervalMs: o.retentionSweepIntervalMs ?? DEFAULT_RETENTION_SWEEP_INTERVAL_MS,
  };
  for (const [name, v] of Object.entries(r)) {
    if (!Number.isSafeInteger(v) || v < 1) throw new RangeError(`${name} must be an integer >= 1, got ${v}`);
  }
  return r;
}

export interface CouponsAppOptions extends LedgerRetentionOptions {
  readonly metrics: RewardsMetrics;
  readonly now?: () => number;
  readonly log?: Logger;
  /**
   * Reference tables read outside the topology (TopicTable). Without them the topology holds them
   * as global stores (fed from the `campaigns` and `coupons` topics).
   */
  readonly tables?: ReferenceTables;
}

export function buildCouponsTopology(options: CouponsAppOptions): Topology {
  const { metrics, log, tables } = options;
  const now = options.now ?? Date.now;
  const retention = ledgerRetention(options);
  const kv = <V>(name: string, valueSerde: Serde<V>) =>
    Stores.keyValueStore<string, V>({ name, keySerde: Serdes.String, valueSerde });
  // One serde for the rewards store and the `rewards` topic: an issued reward's JSON serves both.
  const rewardJson = sharedJson<Reward>();
  const t = new Topology();
  if (tables === undefined) {
    t.addGlobalStore(
      kv(STORES.campaigns, Serdes.String),
      "campaigns-source",
      TOPICS.campaigns,
      { keySerde: Serdes.String, valueSerde: Serdes.String },
      "campaigns-writer",
      () => new TableWriter(STORES.campaigns),
    ).addGlobalStore(
      kv(STORES.coupons, Serdes.String),
      "coupons-source",
      TOPICS.coupons,
      { keySerde: Serdes.String, valueSerde: Serdes.String },
      "coupons-writer",
      () => new TableWriter(STORES.coupons),
    );
  }
  t.addSource<string, AcceptedBet>("bets", TOPICS.bets, {
    keySerde: Serdes.String,
    valueSerde: json<AcceptedBet>(),
  })
    .addSource<string, BetCancellation>("cancellations", TOPICS.betsCanceled, {
      keySerde: Serdes.String,
      valueSerde: json<BetCancellation>(),
    })
    .addProcessor("route-bets", () => new RouteBets(log, tables), "bets")
    .addProcessor("route-cancellations", () => new RouteCancels(log, tables), "cancellations")
    .addSink(
      SINKS.byCampaign,
      BY_CAMPAIGN_TOPIC,
      { keySerde: Serdes.String, valueSerde: campaignWorkSerde },
      "route-bets",
      "route-cancellations",
    )
    .addSource<string, CampaignWork>("by-campaign", BY_CAMPAIGN_TOPIC, {
      keySerde: Serdes.String,
      valueSerde: campaignWorkSerde,
    })
    .addProcessor("ledger", () => new LedgerProcessor(metrics, now, log, tables, retention), "by-campaign")
    // A campaign's account is written at every coupon, a PDV/day counter at every coupon of that
    // PDV: cached, the store and its changelog get one write per key per commit.
    .addStateStore(
      { ...kv<BudgetAccountState>(STORES.accounts, budgetAccountSerde), caching: true },
      "ledger",
    )
    .addStateStore({ ...kv<number>(STORES.pdvDay, counterSerde), caching: true }, "ledger")
    .addStateStore(kv<Reward>(STORES.rewards, rewardJson), "ledger")
    .addStateStore(kv<Uint8Array>(STORES.rewardsByPdv, Serdes.Bytes), "ledger")
    .addStateStore(kv<BetCancellation>(STORES.earlyCancels, json()), "ledger")
    .addSink(SINKS.rewards, TOPICS.rewards, { keySerde: Serdes.String, valueSerde: rewardJson }, "ledger")
    .addSink(
      SINKS.canceled,
      TOPICS.rewardsCanceled,
      { keySerde: Serdes.String, valueSerde: json<RewardCancellation>() },
      "ledger",
    )
    .addSink(SINKS.push, TOPICS.push, { keySerde: Serdes.String, valueSerde: Serdes.Bytes }, "ledger");
  if (tables === undefined) {
    t.connectProcessorAndStateStores("route-bets", STORES.campaigns)
      .connectProcessorAndStateStores("route-cancellations", STORES.campaigns)
      .connectProcessorAndStateStores("ledger", STORES.campaigns, STORES.coupons);
  }
  return t;
}

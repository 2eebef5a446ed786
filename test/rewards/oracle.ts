// The reference answer of a simulated day, computed independently of the pipeline: frames are
// taken one by one in event-time order (the order a single, perfectly ordered consumer would see)
// and run through the same rules the docs state. The pipeline, partitioned and concurrent, must
// arrive at the same answer.
import type { SimulatedFrame } from "../../apps/rewards/simulator/day.ts";
import {
  type AcceptedBet,
  type BetCancellation,
  type Campaign,
  CampaignBook,
  CouponLedger,
  MemoryLedgerStore,
} from "../../apps/rewards/domain/index.ts";
import { centsOf } from "../../apps/rewards/correlation-app.ts";
import { decodeHeaderFields, PDV_CATALOG } from "../../src/pdv/index.ts";

export interface DayAnswer {
  /** Source "topic/index-in-topic" of every frame whose header does not decode. */
  readonly dlq: number;
  /** Correlation keys "type|terminal|sequence@requestTime" of requests without a response. */
  readonly unmatchedRequests: readonly string[];
  readonly bets: readonly AcceptedBet[];
  readonly rejectedBets: number;
  readonly cancellations: readonly BetCancellation[];
  /** "campaign|ticket" of every coupon issued. */
  readonly issued: readonly string[];
  /** "campaign|ticket" of every coupon cancelled. */
  readonly canceled: readonly string[];
  readonly duplicates: number;
}

export function dayAnswer(
  frames: readonly SimulatedFrame[],
  campaigns: readonly Campaign[],
  codesPerCampaign: number,
  windowMs = 30_000,
): DayAnswer {
  const ordered = [...frames].sort((a, b) => a.timestamp - b.timestamp);
  let dlq = 0;
  let duplicates = 0;
  let rejectedBets = 0;
  const unmatchedRequests: string[] = [];
  const pending = new Map<string, SimulatedFrame>();
  const matched = new Map<string, number>();
  const pairs: { q: SimulatedFrame; r: SimulatedFrame; at: number }[] = [];
  for (const f of ordered) {
    let h: ReturnType<typeof decodeHeaderFields>;
    try {
      h = decodeHeaderFields(f.value);
    } catch {
      dlq++;
      continue;
    }
    const spec = PDV_CATALOG.get(h.type);
    if (spec && spec.responseRecord === null) continue; // one-way
    const key = `${h.type}|${h.terminalId}|${h.sequence}`;
    const t = f.timestamp;
    const q = pending.get(key);
    const m = matched.get(key);
    if (h.direction === "Q") {
      if (q && t - q.timestamp <= windowMs) duplicates++;
      else if (m !== undefined && t - m <= windowMs) duplicates++;
      else {
        if (q) unmatchedRequests.push(`${key}@${q.timestamp}`);
        pending.set(key, f);
      }
    } else if (q && t - q.timestamp <= windowMs) {
      pending.delete(key);
      matched.set(key, q.timestamp);
      pairs.push({ q, r: f, at: t });
    } else if (!q && m !== undefined) {
      duplicates++;
    }
  }
  for (const [key, q] of pending) unmatchedRequests.push(`${key}@${q.timestamp}`);

  const regions = new Map<number, number>();
  const bets: AcceptedBet[] = [];
  const cancellations: BetCancellation[] = [];
  const events: (
    | { kind: "bet"; bet: AcceptedBet; at: number }
    | { kind: "cancel"; c: BetCancellation; at: number }
  )[] = [];
  for (const { q, r, at } of pairs) {
    const h = r.frame.header;
    const qb = q.frame.body ?? {};
    const rb = r.frame.body ?? {};
    if (h.type === "T001" && h.status === 0) regions.set(h.terminalId, Number(qb["T001-REGION-CODE"]));
    if (h.type === "T031") {
      if (h.status !== 0) {
        rejectedBets++;
        continue;
      }
      const bet: AcceptedBet = {
        ticketId: String(rb["T031-TICKET-ID"]).trimEnd(),
        terminalId: h.terminalId,
        pdvId: h.pdvId,
        regionCode: regions.get(h.terminalId) ?? null,
        sequence: h.sequence,
        reunion: Number(qb["T031-REUNION"]),
        course: Number(qb["T031-COURSE"]),
        betType: String(qb["T031-BET-TYPE"]).trimEnd(),
        formula: String(qb["T031-FORMULA"]).trimEnd(),
        totalStakeCents: centsOf(qb["T031-TOTAL-STAKE"]),
        acceptedStakeCents: centsOf(rb["T031-ACCEPTED-STAKE"]),
        paymentMode: String(qb["T031-PAYMENT-MODE"]).trimEnd(),
        placedAt: q.timestamp,
        acceptedAt: at,
      };
      bets.push(bet);
      events.push({ kind: "bet", bet, at });
    }
    if (h.type === "T034" && h.status === 0) {
      const c: BetCancellation = {
        ticketId: String(rb["T034-TICKET-ID"] ?? qb["T034-TICKET-ID"]).trimEnd(),
        terminalId: h.terminalId,
        pdvId: h.pdvId,
        refundedStakeCents: centsOf(rb["T034-REFUNDED-STAKE"]),
        reasonCode: Number(qb["T034-REASON-CODE"]),
        canceledAt: at,
      };
      cancellations.push(c);
      events.push({ kind: "cancel", c, at });
    }
  }
  const store = new MemoryLedgerStore();
  for (const c of campaigns)
    store.addCoupons(
      c.id,
      Array.from({ length: codesPerCampaign }, (_, i) => `${c.id}-${i}`),
    );
  const ledger = new CouponLedger(store);
  const book = new CampaignBook(campaigns);
  const issued: string[] = [];
  const canceled: string[] = [];
  for (const e of events) {
    if (e.kind === "bet") {
      for (const c of book.qualifyingFor(e.bet)) {
        const out = ledger.issue(c, e.bet);
        if (out.issued) issued.push(`${c.id}|${e.bet.ticketId}`);
      }
    } else {
      for (const c of book.all()) {
        const out = ledger.cancel(c.id, e.c);
        if (out.canceled) canceled.push(`${c.id}|${e.c.ticketId}`);
      }
    }
  }
  return {
    dlq,
    unmatchedRequests: unmatchedRequests.sort(),
    bets,
    rejectedBets,
    cancellations,
    issued: issued.sort(),
    canceled: canceled.sort(),
    duplicates,
  };
}

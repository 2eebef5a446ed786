// Interactive queries of the coupons app, over its local state stores: the coupons of a PDV,
// a campaign's budget, the coupon(s) of a ticket. Each store is partitioned by campaign over the
// app's tasks; a query looks in every local task's store (one instance holds all of them here;
// with several instances a query would be routed by the store's key metadata — not done yet).
import type { QueryRoute } from "../../src/server/index.ts";
import type { ReadOnlyKeyValueStore } from "../../src/streams/index.ts";
import { CampaignTableView, pdvIndexKey, STORES } from "./coupons-app.ts";
import {
  type BudgetAccountState,
  CouponLedger,
  formatCents,
  type LedgerStore,
  type Reward,
} from "./domain/index.ts";

/** The local instances of a store (one per task), or of a global store (one). */
export type StoreLookup = <V>(storeName: string) => readonly ReadOnlyKeyValueStore<string, V>[];

function first<V>(stores: readonly ReadOnlyKeyValueStore<string, V>[], key: string): V | undefined {
  for (const s of stores) {
    const v = s.get(key);
    if (v !== undefined) return v;
  }
  return undefined;
}

/** A read-only LedgerStore over the local stores, to reuse CouponLedger.budget(). */
function readOnlyLedger(lookup: StoreLookup): LedgerStore {
  const accounts = lookup<BudgetAccountState>(STORES.accounts);
  const fail = (): never => {
    throw new Error("read-only ledger view");
  };
  return {
    getAccount: (id) => first(accounts, id),
    putAccount: fail,
    getPdvDayCount: () => 0,
    putPdvDayCount: fail,
    getReward: () => undefined,
    putReward: fail,
    couponCode: () => undefined,
    getEarlyCancel: () => undefined,
    putEarlyCancel: fail,
  };
}

function showReward(r: Reward): Reward & { value: string } {
  return { ...r, value: formatCents(r.valueCents) };
}

export function rewardsQueryRoutes(lookup: StoreLookup): QueryRoute[] {
  const view = new CampaignTableView();
  const book = () => {
    const [table] = lookup<string>(STORES.campaigns);
    if (table === undefined) throw new Error(`store ${STORES.campaigns} is not available`);
    return view.refresh(table);
  };
  const budgetOf = (id: string) => {
    const c = book().get(id);
    if (c === undefined) return undefined;
    const b = new CouponLedger(readOnlyLedger(lookup)).budget(c);
    return {
      ...b,
      name: c.spec.name ?? c.id,
      used: formatCents(b.usedCents),
      remaining: formatCents(b.remainingCents),
    };
  };
  return [
    {
      path: "/campaigns",
      description: "every campaign with its budget state",
      handler: () =>
        book()
          .all()
          .map((c) => budgetOf(c.id)),
    },
    {
      path: "/campaigns/:campaignId/budget",
      description: "a campaign's budget: total, used, remaining, coupons issued/cancelled/active",
      handler: ({ params }) => budgetOf(params.campaignId ?? ""),
    },
    {
      path: "/pdv/:pdvId/coupons",
      description: "coupons issued to a point of sale (?status=issued|canceled)",
      handler: ({ params, query }) => {
        const pdvId = Number(params.pdvId);
        if (!Number.isInteger(pdvId) || pdvId < 0) return undefined;
        const prefix = pdvIndexKey(pdvId, "", "").slice(0, -1); // "000075001|"
        const from = prefix;
        const to = `${prefix}\uffff`;
        const out: ReturnType<typeof showReward>[] = [];
        const rewards = lookup<Reward>(STORES.rewards);
        for (const s of lookup<Uint8Array>(STORES.rewardsByPdv)) {
          for (const { key } of s.range(from, to)) {
            const [, campaignId, ticketId] = key.split("|");
            const value = first(rewards, `${campaignId}|${ticketId}`);
            if (value === undefined) continue;
            if (query.status === undefined || value.status === query.status) out.push(showReward(value));
          }
        }
        out.sort((a, b) => a.issuedAt - b.issuedAt || (a.couponCode < b.couponCode ? -1 : 1));
        return { pdvId, count: out.length, coupons: out };
      },
    },
    {
      path: "/tickets/:ticketId/coupons",
      description: "the coupon(s) a ticket earned, one per campaign",
      handler: ({ params }) => {
        const ticketId = params.ticketId ?? "";
        const stores = lookup<Reward>(STORES.rewards);
        const found = book()
          .all()
          .flatMap((c) => {
            const r = first(stores, `${c.id}|${ticketId}`);
            return r ? [showReward(r)] : [];
          });
        return found.length ? { ticketId, coupons: found } : undefined;
      },
    },
  ];
}

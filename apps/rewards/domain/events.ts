// The records the rewards pipeline writes between its apps. Amounts are integer cents: money
// never goes through binary floating point. Times are epoch milliseconds (event time).

export const BET_TYPES = ["SGA", "SPL", "CGA", "CPL", "TRI", "Q4P", "QNP", "MLT"] as const;
export type BetType = (typeof BET_TYPES)[number];

/** An accepted T031 (status 0): written to `bets`, keyed by terminal id. */
export interface AcceptedBet {
  readonly ticketId: string;
  readonly terminalId: number;
  readonly pdvId: number;
  /** From the terminal's last T001 (`T001-REGION-CODE`); null when no start was seen. */
  readonly regionCode: number | null;
  readonly sequence: number;
  readonly reunion: number;
  readonly course: number;
  readonly betType: string;
  readonly formula: string;
  readonly totalStakeCents: number;
  readonly acceptedStakeCents: number;
  readonly paymentMode: string;
  /** Request header timestamp: when the punter placed the bet. */
  readonly placedAt: number;
  /** Response header timestamp: when the central system accepted it. */
  readonly acceptedAt: number;
}

/** A rejected T031 (negative status): written to `bets.rejected`. */
export interface RejectedBet {
  readonly terminalId: number;
  readonly pdvId: number;
  readonly sequence: number;
  readonly status: number;
  readonly rejectReason: string;
  readonly betType: string;
  readonly totalStakeCents: number;
  readonly placedAt: number;
}

/** An accepted T034: written to `bets.canceled`, keyed by terminal id. */
export interface BetCancellation {
  readonly ticketId: string;
  readonly terminalId: number;
  readonly pdvId: number;
  readonly refundedStakeCents: number;
  readonly reasonCode: number;
  readonly canceledAt: number;
}

/** An accepted T033: written to `payouts`. */
export interface Payout {
  readonly ticketId: string;
  readonly terminalId: number;
  readonly pdvId: number;
  readonly amountPaidCents: number;
  readonly paymentMode: string;
  readonly paidAt: number;
}

/** An issued coupon: written to `rewards`, keyed by ticket id. */
export interface Reward {
  readonly campaignId: string;
  readonly couponCode: string;
  /** Position of the code in the campaign's coupon pool (0-based). */
  readonly couponIndex: number;
  readonly valueCents: number;
  readonly ticketId: string;
  readonly terminalId: number;
  readonly pdvId: number;
  /** Paris business day of the bet, the day its PDV cap counts against. */
  readonly day: string;
  readonly betPlacedAt: number;
  /** Event time of the issuing (the bet's acceptance). */
  readonly issuedAt: number;
  readonly status: "issued" | "canceled";
  readonly canceledAt?: number;
}

/** A coupon taken back because its bet was cancelled: written to `rewards.canceled`. */
export interface RewardCancellation {
  readonly campaignId: string;
  readonly couponCode: string;
  readonly valueCents: number;
  readonly ticketId: string;
  readonly terminalId: number;
  readonly pdvId: number;
  readonly day: string;
  readonly canceledAt: number;
}

/** Euros as written by people (5, 12.5, "12.50") to integer cents; rejects sub-cent amounts. */
export function toCents(euros: number): number {
  const c = Math.round(euros * 100);
  if (Math.abs(c - euros * 100) > 1e-6) throw new RangeError(`${euros} has more than 2 decimals`);
  return c;
}

export function formatCents(cents: number): string {
  const sign = cents < 0 ? "-" : "";
  const a = Math.abs(cents);
  return `${sign}${Math.floor(a / 100)}.${String(a % 100).padStart(2, "0")}`;
}

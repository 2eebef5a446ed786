// Campaigns: what a bet must look like to earn a coupon, and how many coupons may be handed out.
// A campaign file (YAML or JSON) is validated with zod; errors name the file, the campaign and the
// field. Money is given in euros in files and held in integer cents.
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { type AcceptedBet, BET_TYPES, toCents } from "./events.ts";
import { parisDay, parisLocalToEpochMs } from "./paris-time.ts";

export class CampaignError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "CampaignError";
    this.code = code;
  }
}

const DATE_OR_TIME =
  /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,3}))?)?(Z|[+-]\d{2}:\d{2})?)?$/;

const euros = z.number().refine((v) => Number.isFinite(v) && Math.abs(Math.round(v * 100) - v * 100) < 1e-6, {
  message: "must be an amount in euros with at most 2 decimals",
});

/** One campaign as written in a campaign file. */
export const CampaignSpecSchema = z
  .object({
    id: z
      .string()
      // 12 characters at most: the id travels in the T090 push frame's T090-CAMPAIGN-ID PIC X(12).
      .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,11}$/, "must be 1-12 letters, digits, '.', '_' or '-'"),
    name: z.string().optional(),
    period: z
      .object({
        from: z.string().regex(DATE_OR_TIME, "must be YYYY-MM-DD or YYYY-MM-DDThh:mm[:ss] (Paris time)"),
        to: z.string().regex(DATE_OR_TIME, "must be YYYY-MM-DD or YYYY-MM-DDThh:mm[:ss] (Paris time)"),
      })
      .strict(),
    betTypes: z.array(z.enum(BET_TYPES)).min(1).optional(),
    races: z
      .array(
        z.string().regex(/^R\d{1,2}(C\d{1,2})?$/, 'must be "R<meeting>" or "R<meeting>C<race>", e.g. R1C3'),
      )
      .min(1)
      .optional(),
    minimumStake: euros.pipe(z.number().nonnegative()).default(0),
    pdvRegions: z.array(z.number().int().min(0).max(999)).min(1).optional(),
    couponValue: euros.pipe(z.number().positive()),
    capPerPdvPerDay: z.number().int().positive(),
    totalBudget: euros.pipe(z.number().positive()),
  })
  .strict();

export type CampaignSpec = z.infer<typeof CampaignSpecSchema>;

const CampaignFileSchema = z.union([
  z.array(CampaignSpecSchema),
  z.object({ campaigns: z.array(CampaignSpecSchema) }).strict(),
]);

/** Why a bet does not qualify for a campaign. */
export type Disqualification = "outside_period" | "bet_type" | "race" | "stake_below_minimum" | "region";

export type Qualification = { readonly ok: true } | { readonly ok: false; readonly reason: Disqualification };

const QUALIFIES: Qualification = { ok: true };

interface RaceSelector {
  readonly reunion: number;
  readonly course: number | null;
}

/** `from` is inclusive, `to` exclusive; a date-only `to` means "through the end of that day". */
function periodBound(text: string, isEnd: boolean): number {
  const m = DATE_OR_TIME.exec(text);
  if (!m) throw new CampaignError("CAMPAIGN_INVALID", `bad time ${text}`);
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (m[4] === undefined) {
    return isEnd ? parisLocalToEpochMs(y, mo, d + 1) : parisLocalToEpochMs(y, mo, d);
  }
  const h = Number(m[4]);
  const mi = Number(m[5]);
  const s = m[6] === undefined ? 0 : Number(m[6]);
  const ms = m[7] === undefined ? 0 : Number(m[7].padEnd(3, "0"));
  const zone = m[8];
  if (zone === undefined) return parisLocalToEpochMs(y, mo, d, h, mi, s, ms);
  const offset =
    zone === "Z"
      ? 0
      : (zone[0] === "-" ? -1 : 1) * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(4, 6)));
  return Date.UTC(y, mo - 1, d, h, mi, s, ms) - offset * 60_000;
}

/** A validated campaign, compiled for fast qualification. */
export class Campaign {
  readonly spec: CampaignSpec;
  readonly id: string;
  readonly fromMs: number;
  readonly toMs: number;
  readonly minimumStakeCents: number;
  readonly couponValueCents: number;
  readonly capPerPdvPerDay: number;
  readonly totalBudgetCents: number;
  private readonly betTypes: ReadonlySet<string> | null;
  private readonly races: readonly RaceSelector[] | null;
  private readonly regions: ReadonlySet<number> | null;

  constructor(spec: CampaignSpec) {
    this.spec = spec;
    this.id = spec.id;
    this.fromMs = periodBound(spec.period.from, false);
    this.toMs = periodBound(spec.period.to, true);
    if (!(this.fromMs < this.toMs)) {
      throw new CampaignError(
        "CAMPAIGN_INVALID",
        `campaign ${spec.id}: period.from (${spec.period.from}) must be before period.to (${spec.period.to})`,
      );
    }
    this.minimumStakeCents = toCents(spec.minimumStake);
    this.couponValueCents = toCents(spec.couponValue);
    this.capPerPdvPerDay = spec.capPerPdvPerDay;
    this.totalBudgetCents = toCents(spec.totalBudget);
    if (this.couponValueCents > this.totalBudgetCents) {
      throw new CampaignError(
        "CAMPAIGN_INVALID",
        `campaign ${spec.id}: couponValue ${spec.couponValue} exceeds totalBudget ${spec.totalBudget}: not one coupon could be issued`,
      );
    }
    this.betTypes = spec.betTypes ? new Set(spec.betTypes) : null;
    this.races = spec.races
      ? spec.races.map((r) => {
          const m = /^R(\d+)(?:C(\d+))?$/.exec(r)!;
          return { reunion: Number(m[1]), course: m[2] === undefined ? null : Number(m[2]) };
        })
      : null;
    this.regions = spec.pdvRegions ? new Set(spec.pdvRegions) : null;
  }

  /** Parses and validates one campaign from an unknown value (e.g. a `campaigns` topic record). */
  static from(value: unknown, where = "campaign"): Campaign {
    const r = CampaignSpecSchema.safeParse(value);
    if (!r.success)
      throw new CampaignError("CAMPAIGN_INVALID", `${where}: ${describeIssues(r.error.issues)}`);
    return new Campaign(r.data);
  }

  isActiveAt(epochMs: number): boolean {
    return epochMs >= this.fromMs && epochMs < this.toMs;
  }

  /** Whether an accepted bet earns this campaign's coupon (caps and budget aside). */
  qualify(bet: AcceptedBet): Qualification {
    if (!this.isActiveAt(bet.placedAt)) return { ok: false, reason: "outside_period" };
    if (this.betTypes !== null && !this.betTypes.has(bet.betType)) return { ok: false, reason: "bet_type" };
    if (
      this.races !== null &&
      !this.races.some((r) => r.reunion === bet.reunion && (r.course === null || r.course === bet.course))
    ) {
      return { ok: false, reason: "race" };
    }
    if (bet.totalStakeCents < this.minimumStakeCents) return { ok: false, reason: "stake_below_minimum" };
    if (this.regions !== null && (bet.regionCode === null || !this.regions.has(bet.regionCode))) {
      return { ok: false, reason: "region" };
    }
    return QUALIFIES;
  }

  /** The business day a bet counts against for the per-PDV daily cap. */
  dayOf(bet: AcceptedBet): string {
    return parisDay(bet.placedAt);
  }
}

function describeIssues(issues: readonly z.core.$ZodIssue[]): string {
  return issues
    .slice(0, 10)
    .map(
      (i) =>
        `${
          i.path.length
            ? i.path
                .map((p) => (typeof p === "number" ? `[${p}]` : `.${String(p)}`))
                .join("")
                .replace(/^\./, "")
            : "(root)"
        }: ${i.message}`,
    )
    .join("; ");
}

/**
 * Parses a campaign file: YAML or JSON (JSON is YAML), either a list of campaigns or
 * `{ campaigns: [...] }`. Throws a CampaignError naming the file, the path and the reason.
 */
export function parseCampaignFile(text: string, fileName = "campaign file"): Campaign[] {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (e) {
    throw new CampaignError(
      "CAMPAIGN_FILE_SYNTAX",
      `${fileName}: not valid YAML/JSON: ${(e as Error).message}`,
      {
        cause: e,
      },
    );
  }
  const r = CampaignFileSchema.safeParse(doc);
  if (!r.success) {
    // Report against the list shape, the one people write, rather than the union's first branch.
    const list = Array.isArray(doc) ? doc : (doc as { campaigns?: unknown } | null)?.campaigns;
    const detail = Array.isArray(list)
      ? z.array(CampaignSpecSchema).safeParse(list).error?.issues
      : [{ path: [], message: 'expected a list of campaigns or an object with a "campaigns" list' }];
    throw new CampaignError(
      "CAMPAIGN_INVALID",
      `${fileName}: ${describeIssues((detail ?? r.error.issues) as z.core.$ZodIssue[])}`,
    );
  }
  const specs = Array.isArray(r.data) ? r.data : r.data.campaigns;
  const seen = new Set<string>();
  const out: Campaign[] = [];
  for (const spec of specs) {
    if (seen.has(spec.id))
      throw new CampaignError("CAMPAIGN_DUPLICATE_ID", `${fileName}: campaign id ${spec.id} appears twice`);
    seen.add(spec.id);
    try {
      out.push(new Campaign(spec));
    } catch (e) {
      if (e instanceof CampaignError) throw new CampaignError(e.code, `${fileName}: ${e.message}`);
      throw e;
    }
  }
  return out;
}

/** The set of known campaigns; answers which ones a bet qualifies for, in id order. */
export class CampaignBook {
  private readonly byId = new Map<string, Campaign>();
  private sorted: Campaign[] | null = [];

  constructor(campaigns: Iterable<Campaign> = []) {
    for (const c of campaigns) this.put(c);
  }

  put(c: Campaign): void {
    this.byId.set(c.id, c);
    this.sorted = null;
  }

  remove(id: string): void {
    if (this.byId.delete(id)) this.sorted = null;
  }

  get(id: string): Campaign | undefined {
    return this.byId.get(id);
  }

  get size(): number {
    return this.byId.size;
  }

  all(): readonly Campaign[] {
    this.sorted ??= [...this.byId.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    return this.sorted;
  }

  /** Campaigns the bet qualifies for (caps and budget are the ledger's business). */
  qualifyingFor(bet: AcceptedBet): Campaign[] {
    const out: Campaign[] = [];
    for (const c of this.all()) if (c.qualify(bet).ok) out.push(c);
    return out;
  }

  /** Campaigns active at some point of the Paris day containing `epochMs`. */
  activeOn(epochMs: number): Campaign[] {
    const day = parisDay(epochMs);
    return this.all().filter((c) => parisDay(c.fromMs) <= day && day <= parisDay(c.toMs - 1));
  }
}

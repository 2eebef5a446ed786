// The simulated world of a betting day: PDVs with regions, terminals, race meetings, bet types,
// stakes and the central system's behaviour. All randomness comes from the seeded generator.
import { createRandom, pdvTimestampToEpochMs, type Random } from "../../../src/pdv/index.ts";

export interface SimulatorOptions {
  /** Seed of every random choice; the same options give the same frames, byte for byte. */
  readonly seed?: number | string;
  /** Number of terminals (bornes). Default 200. */
  readonly terminals?: number;
  /** Number of points of sale. Default 50 (at most `terminals`). */
  readonly pdvs?: number;
  /** Region codes (PIC 9(3)) the PDVs are spread over. Default 13 metropolitan regions. */
  readonly regions?: readonly number[];
  /** First day, YYYY-MM-DD, Europe/Paris. Default 2026-06-14. */
  readonly date?: string;
  /** Number of consecutive days; Infinity for an endless stream. Default 1. */
  readonly days?: number;
  /** Race meetings per day (1..12). Default 6. */
  readonly meetings?: number;
  /** Mean bets per terminal per opening hour. Default 12. */
  readonly betsPerTerminalPerHour?: number;
  /** Share of bets the central system rejects (negative FH-STATUS). Default 0.03. */
  readonly rejectRate?: number;
  /** Share of accepted bets cancelled within minutes (T034). Default 0.02. */
  readonly cancelRate?: number;
  /** Share of requests retried by the terminal (the request and its response are duplicated). Default 0.01. */
  readonly retryRate?: number;
  /** Share of requests that never get a response. Default 0.002. */
  readonly lostResponseRate?: number;
  /** Share of responses that come after the correlation window (31-90 s). Default 0.001. */
  readonly lateResponseRate?: number;
  /** Share of terminal actions that are another frame type of the catalog. Default 0.05. */
  readonly otherTypeRate?: number;
  /** Per emitted frame, chance that a corrupted copy of it is also emitted. Default 0.001. */
  readonly malformedRate?: number;
  /** Chance per terminal per day of a restart mid-day (new T001, sequence back to 1). Default 0.05. */
  readonly restartRate?: number;
}

export type ResolvedOptions = Required<SimulatorOptions>;

export function resolveOptions(o: SimulatorOptions = {}): ResolvedOptions {
  const terminals = o.terminals ?? 200;
  const r: ResolvedOptions = {
    seed: o.seed ?? 1,
    terminals,
    pdvs: Math.min(o.pdvs ?? 50, terminals),
    regions: o.regions ?? [11, 24, 27, 28, 32, 44, 52, 53, 75, 76, 84, 93, 94],
    date: o.date ?? "2026-06-14",
    days: o.days ?? 1,
    meetings: o.meetings ?? 6,
    betsPerTerminalPerHour: o.betsPerTerminalPerHour ?? 12,
    rejectRate: o.rejectRate ?? 0.03,
    cancelRate: o.cancelRate ?? 0.02,
    retryRate: o.retryRate ?? 0.01,
    lostResponseRate: o.lostResponseRate ?? 0.002,
    lateResponseRate: o.lateResponseRate ?? 0.001,
    otherTypeRate: o.otherTypeRate ?? 0.05,
    malformedRate: o.malformedRate ?? 0.001,
    restartRate: o.restartRate ?? 0.05,
  };
  if (!Number.isInteger(r.terminals) || r.terminals < 1)
    throw new RangeError("terminals must be an integer >= 1");
  if (!Number.isInteger(r.pdvs) || r.pdvs < 1) throw new RangeError("pdvs must be an integer >= 1");
  if (r.terminals > 99_999_999) throw new RangeError("terminals must be < 100,000,000");
  if (!Number.isInteger(r.meetings) || r.meetings < 1 || r.meetings > 12) {
    throw new RangeError("meetings must be an integer 1..12 (T001-MEETING OCCURS 0 TO 12)");
  }
  if (r.regions.length === 0 || r.regions.some((x) => !Number.isInteger(x) || x < 0 || x > 999)) {
    throw new RangeError("regions must be a non-empty list of integers 0..999");
  }
  if (!/^\d{4}-\d{2}-\d{2}$/.test(r.date)) throw new RangeError(`date must be YYYY-MM-DD, got ${r.date}`);
  if (!(r.days >= 1)) throw new RangeError("days must be >= 1");
  for (const k of [
    "rejectRate",
    "cancelRate",
    "retryRate",
    "lostResponseRate",
    "lateResponseRate",
    "otherTypeRate",
    "malformedRate",
    "restartRate",
  ] as const) {
    const v = r[k];
    if (!(v >= 0 && v <= 1)) throw new RangeError(`${k} must be within [0, 1], got ${v}`);
  }
  if (!(r.betsPerTerminalPerHour > 0)) throw new RangeError("betsPerTerminalPerHour must be > 0");
  return r;
}

export interface Pdv {
  readonly id: number;
  readonly region: number;
  /** Relative activity of the shop (log-normal): busy bars bet more. */
  readonly busyness: number;
  /** Opening and closing hour of the shop (Paris local, fractional). */
  readonly opensAt: number;
  readonly closesAt: number;
}

export interface Terminal {
  readonly id: number;
  readonly pdv: Pdv;
  readonly operatorId: string;
}

export const BET_TYPES = ["SGA", "SPL", "CGA", "CPL", "TRI", "Q4P", "QNP", "MLT"] as const;
export type BetType = (typeof BET_TYPES)[number];

/** Horses a bet of each type designates (MLT: 4 to 7). */
export const BET_TYPE_PICKS: Record<BetType, number> = {
  SGA: 1,
  SPL: 1,
  CGA: 2,
  CPL: 2,
  TRI: 3,
  Q4P: 4,
  QNP: 5,
  MLT: 4,
};

/** Minimum unit stake per type, in cents. */
const MIN_UNIT_CENTS: Record<BetType, number> = {
  SGA: 150,
  SPL: 150,
  CGA: 150,
  CPL: 150,
  TRI: 150,
  Q4P: 130,
  QNP: 200,
  MLT: 300,
};

/** Chance a ticket of each type wins something. */
const WIN_CHANCE: Record<BetType, number> = {
  SGA: 0.14,
  SPL: 0.35,
  CGA: 0.06,
  CPL: 0.15,
  TRI: 0.04,
  Q4P: 0.03,
  QNP: 0.02,
  MLT: 0.05,
};

/** Median payout odds per type (the realised odds are log-normal around it). */
const MEDIAN_ODDS: Record<BetType, number> = {
  SGA: 5,
  SPL: 1.8,
  CGA: 14,
  CPL: 5,
  TRI: 40,
  Q4P: 60,
  QNP: 120,
  MLT: 25,
};

const RACECOURSES = [
  "VINCENNES",
  "LONGCHAMP",
  "CHANTILLY",
  "DEAUVILLE",
  "AUTEUIL",
  "SAINT-CLOUD",
  "CAGNES-SUR-MER",
  "ENGHIEN",
  "PAU",
  "LYON-PARILLY",
  "CHATEAUBRIANT",
  "MARSEILLE-BORELY",
] as const;

export interface Race {
  readonly reunion: number;
  readonly course: number;
  /** Start of the race (bets close), epoch ms. */
  readonly start: number;
  readonly runners: number;
  /** The day's quinté+ race: the only one taking Q4P, QNP and MLT bets, and by far the most played. */
  readonly quinte: boolean;
  /** Relative popularity. */
  readonly weight: number;
  /** Horse numbers from favourite to outsider. */
  readonly favourites: readonly number[];
  /** Finishing order (first 8), known after the race. */
  readonly arrival: readonly number[];
}

export interface Meeting {
  readonly reunion: number;
  readonly racecourse: string;
  readonly races: readonly Race[];
}

export interface DayPlan {
  readonly dayIndex: number;
  /** YYYY-MM-DD */
  readonly date: string;
  /** Epoch ms of local midnight. */
  readonly midnight: number;
  readonly meetings: readonly Meeting[];
  readonly races: readonly Race[];
}

export function localTime(date: string, hours: number): number {
  const h = Math.floor(hours);
  const m = Math.floor((hours - h) * 60);
  const s = Math.round(((hours - h) * 60 - m) * 60);
  const digits = `${date.replaceAll("-", "")}${String(h).padStart(2, "0")}${String(m).padStart(2, "0")}${String(s).padStart(2, "0")}000`;
  return pdvTimestampToEpochMs(digits);
}

export function addDays(date: string, days: number): string {
  const d = new Date(`${date}T12:00:00Z`);
  d.setUTCDate(d.getUTCDate() + days);
  return d.toISOString().slice(0, 10);
}

export function buildPdvs(o: ResolvedOptions, rnd: Random): { pdvs: Pdv[]; terminals: Terminal[] } {
  const pdvs: Pdv[] = [];
  for (let i = 0; i < o.pdvs; i++) {
    const opensAt = rnd.pick([7, 7.5, 8, 8.5, 9, 10]);
    pdvs.push({
      id: 1_000_001 + i * 37,
      region: rnd.pick(o.regions),
      busyness: Math.min(4, Math.exp(rnd.normal() * 0.5)),
      opensAt,
      closesAt: rnd.pick([19.5, 20, 21, 22, 22.5]),
    });
  }
  // Every PDV gets one terminal; the rest go preferably to busy PDVs.
  const terminals: Terminal[] = [];
  const weights = pdvs.map((p) => p.busyness);
  for (let i = 0; i < o.terminals; i++) {
    const pdv = i < pdvs.length ? pdvs[i]! : pdvs[rnd.weightedIndex(weights)]!;
    terminals.push({
      id: 100_000_001 + i,
      pdv,
      operatorId: `OP${String(rnd.int(0, 999_999)).padStart(6, "0")}`,
    });
  }
  return { pdvs, terminals };
}

export function buildDay(o: ResolvedOptions, dayIndex: number, rnd: Random): DayPlan {
  const date = addDays(o.date, dayIndex);
  const midnight = localTime(date, 0);
  const meetings: Meeting[] = [];
  const courses = [...RACECOURSES];
  const quinteMeeting = 1;
  const quinteCourse = rnd.int(3, 5);
  for (let r = 1; r <= o.meetings; r++) {
    const racecourse = courses.splice(rnd.int(0, courses.length - 1), 1)[0]!;
    const raceCount = rnd.int(6, 9);
    // Meetings start between 11:00 and 17:00, races every 30 minutes.
    const firstStart = 11 + ((r - 1) * 6) / Math.max(1, o.meetings - 1) + rnd.int(0, 3) * 0.25;
    const races: Race[] = [];
    for (let c = 1; c <= raceCount; c++) {
      const runners = rnd.int(8, 18);
      const favourites = shuffled(
        Array.from({ length: runners }, (_, i) => i + 1),
        rnd,
      );
      const quinte = r === quinteMeeting && c === quinteCourse;
      const arrival = pickWeighted(favourites, Math.min(8, runners), rnd);
      races.push({
        reunion: r,
        course: c,
        start: midnight + Math.round((firstStart + (c - 1) * 0.5) * 3_600_000),
        runners,
        quinte,
        weight: (quinte ? 8 : 1) / r ** 0.7,
        favourites,
        arrival,
      });
    }
    meetings.push({ reunion: r, racecourse, races });
  }
  return { dayIndex, date, midnight, meetings, races: meetings.flatMap((m) => m.races) };
}

export function shuffled<T>(items: T[], rnd: Random): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = rnd.int(0, i);
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}

/** Picks `k` distinct horses, favourites first (weight 1/rank^0.9). */
export function pickWeighted(favourites: readonly number[], k: number, rnd: Random): number[] {
  const pool = [...favourites];
  const weights = pool.map((_, i) => 1 / (i + 1) ** 0.9);
  const out: number[] = [];
  for (let n = 0; n < k && pool.length > 0; n++) {
    const i = rnd.weightedIndex(weights);
    out.push(pool[i]!);
    pool.splice(i, 1);
    weights.splice(i, 1);
  }
  return out;
}

function binomial(n: number, k: number): number {
  if (k < 0 || k > n) return 0;
  let r = 1;
  for (let i = 1; i <= k; i++) r = (r * (n - k + i)) / i;
  return Math.round(r);
}

export interface BetDraft {
  readonly race: Race;
  readonly betType: BetType;
  readonly formula: "U" | "C" | "T" | "X";
  readonly unitCents: number;
  readonly multiplier: number;
  readonly totalCents: number;
  readonly paymentMode: "E" | "C" | "V";
  readonly fieldHorses: readonly number[];
  readonly selections: readonly number[];
}

const BET_TYPE_WEIGHTS_QUINTE = [10, 10, 6, 6, 6, 14, 30, 8];
const BET_TYPE_WEIGHTS_OTHER = [30, 30, 12, 14, 10, 0, 0, 0];

/** Chooses a race still open at `now` (closes at its start), skewed towards popular and close races. */
export function chooseRace(day: DayPlan, now: number, rnd: Random): Race | null {
  const open: Race[] = [];
  const weights: number[] = [];
  for (const race of day.races) {
    const until = race.start - now;
    if (until < 60_000 || until > 6 * 3_600_000) continue;
    open.push(race);
    weights.push(race.weight / (1 + until / 3_600_000));
  }
  if (open.length === 0) return null;
  return open[rnd.weightedIndex(weights)]!;
}

export function draftBet(race: Race, rnd: Random): BetDraft {
  const betType =
    BET_TYPES[rnd.weightedIndex(race.quinte ? BET_TYPE_WEIGHTS_QUINTE : BET_TYPE_WEIGHTS_OTHER)]!;
  let k = BET_TYPE_PICKS[betType];
  if (betType === "MLT") k = rnd.int(4, Math.min(7, race.runners));
  const fx = rnd.next();
  let formula: BetDraft["formula"] = "U";
  if (k >= 2) formula = fx < 0.7 ? "U" : fx < 0.85 ? "X" : fx < 0.95 ? "C" : "T";
  let selections: number[];
  let fieldHorses: number[] = [];
  let combinations: number;
  if (formula === "U") {
    selections = pickWeighted(race.favourites, k, rnd);
    combinations = betType === "MLT" ? binomial(k, 4) : 1;
  } else if (formula === "X") {
    const n = Math.min(race.runners, 20, k + rnd.int(1, 3));
    selections = pickWeighted(race.favourites, n, rnd);
    combinations = binomial(n, k);
  } else {
    // Champ: k-1 base horses in the selection list, the field in the bitmap.
    selections = pickWeighted(race.favourites, k - 1, rnd);
    const rest = race.favourites.filter((h) => !selections.includes(h));
    // The bitmap carries a set: kept ascending, as it decodes.
    fieldHorses = (
      formula === "T" ? rest : pickWeighted(rest, Math.min(rest.length, rnd.int(3, 6)), rnd)
    ).sort((a, b) => a - b);
    combinations = fieldHorses.length;
  }
  const min = MIN_UNIT_CENTS[betType];
  // Log-normal unit stake (median ~ 2.5 x minimum), rounded to 10 cents.
  const unitCents = Math.min(
    99_900,
    Math.max(min, Math.round((min * 2.5 * Math.exp(rnd.normal() * 0.7)) / 10) * 10),
  );
  const multiplier = [1, 1, 1, 1, 1, 1, 2, 2, 3, 5, 10, 20][rnd.int(0, 11)]!;
  const totalCents = Math.min(99_999_999, unitCents * multiplier * Math.max(1, combinations));
  const pm = rnd.next();
  return {
    race,
    betType,
    formula,
    unitCents,
    multiplier,
    totalCents,
    paymentMode: pm < 0.7 ? "E" : pm < 0.95 ? "C" : "V",
    fieldHorses,
    selections,
  };
}

export function winChance(betType: BetType): number {
  return WIN_CHANCE[betType];
}

export function payoutCents(bet: BetDraft, rnd: Random): number {
  const odds = MEDIAN_ODDS[bet.betType] * Math.exp(rnd.normal() * 0.6);
  return Math.min(99_999_999_999, Math.max(bet.unitCents, Math.round(bet.unitCents * bet.multiplier * odds)));
}

/** Central system response delay in ms: log-normal, median ~120 ms, p99 around 1.5 s. */
export function responseDelayMs(rnd: Random): number {
  return Math.max(5, Math.round(120 * Math.exp(rnd.normal() * 0.9)));
}

export { createRandom };

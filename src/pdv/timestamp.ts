// FH-TIMESTAMP and friends: PIC 9(17) COMP-3 holding YYYYMMDDhhmmssSSS in Europe/Paris local time.
// 17 digits exceed 2^53, so the raw value is kept as a 17-character digit string (exact) and
// converted to epoch milliseconds on demand.
//
// Europe/Paris since 1996 follows the EU rule: CET (UTC+1), CEST (UTC+2) from the last Sunday of
// March 01:00 UTC to the last Sunday of October 01:00 UTC. It is computed directly (fast, no
// dependence on the ICU build); years before 1996 go through Intl. Local times that do not exist
// (spring gap) or exist twice (autumn overlap) are resolved like Temporal's "compatible"
// disambiguation: a gap time moves forward by the gap, an ambiguous time takes the earlier
// instant (summer time).
//
// Every frame's timestamp goes through these conversions, so the common case (1997..9999, integer
// milliseconds, 17-digit strings) is pure arithmetic on day numbers: no Date objects, no substrings.
// Anything else takes the general path below, which defines the behaviour (the fast path is
// property-tested against it).
import { PdvFrameError } from "./errors.ts";

const HOUR = 3_600_000;
const DAY = 86_400_000;

/** A raw timestamp: the 17 digits, as a string (decoded form), bigint or safe number. */
export type RawTimestamp = string | bigint | number;

// ---------------------------------------------------------------- civil calendar arithmetic
// Proleptic Gregorian day numbers (days since 1970-01-01), after H. Hinnant's algorithms. Valid for
// years 0..9999 here (all intermediate values are small non-negative integers).

/** Day number of y-m-d (m 1..12). */
function daysFromCivil(y: number, m: number, d: number): number {
  const yy = m <= 2 ? y - 1 : y;
  const era = Math.floor(yy / 400);
  const yoe = yy - era * 400;
  const doy = (((153 * (m > 2 ? m - 3 : m + 9) + 2) / 5) | 0) + d - 1;
  const doe = yoe * 365 + ((yoe / 4) | 0) - ((yoe / 100) | 0) + doy;
  return era * 146097 + doe - 719468;
}

// civilFromDays writes here (no object per call).
let civilY = 0;
let civilM = 0;
let civilD = 0;
function civilFromDays(days: number): void {
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = ((doe - ((doe / 1460) | 0) + ((doe / 36524) | 0) - ((doe / 146096) | 0)) / 365) | 0;
  const doy = doe - (365 * yoe + ((yoe / 4) | 0) - ((yoe / 100) | 0));
  const mp = ((5 * doy + 2) / 153) | 0;
  civilD = doy - (((153 * mp + 2) / 5) | 0) + 1;
  civilM = mp < 10 ? mp + 3 : mp - 9;
  civilY = era * 400 + yoe + (civilM <= 2 ? 1 : 0);
}

/** Day number of the last Sunday of month m (1..12) of year y. */
function lastSunday(y: number, m: number): number {
  const last = m === 12 ? daysFromCivil(y + 1, 1, 1) - 1 : daysFromCivil(y, m + 1, 1) - 1;
  const dow = (((last + 4) % 7) + 7) % 7; // 1970-01-01 was a Thursday; 0 = Sunday
  return last - dow;
}

// The EU-rule window of one UTC year, cached: consecutive frames fall in the same year.
let yearStart = 0;
let yearEnd = 0; // empty range: the first call fills the cache
let dstStart = 0;
let dstEnd = 0;
function fillYear(epochMs: number): void {
  civilFromDays(Math.floor(epochMs / DAY));
  const y = civilY;
  yearStart = daysFromCivil(y, 1, 1) * DAY;
  yearEnd = daysFromCivil(y + 1, 1, 1) * DAY;
  dstStart = lastSunday(y, 3) * DAY + HOUR;
  dstEnd = lastSunday(y, 10) * DAY + HOUR;
}

/** Instants (UTC ms) where the fast paths apply: years 1996..9999, the EU rule throughout. */
const FAST_MIN = Date.UTC(1996, 0, 1);
const FAST_MAX = Date.UTC(9999, 11, 31, 21, 59, 59, 999); // its local time stays in year 9999

/** EU-rule offset of an instant in [FAST_MIN, FAST_MAX]. */
function euOffsetMs(epochMs: number): number {
  if (epochMs < yearStart || epochMs >= yearEnd) fillYear(epochMs);
  return epochMs >= dstStart && epochMs < dstEnd ? 2 * HOUR : HOUR;
}

// ---------------------------------------------------------------- general path (pre-1996, odd inputs)

function lastSundayUtc(year: number, month: number): number {
  // month: 0-based; the last day of `month` then back to Sunday.
  const last = Date.UTC(year, month + 1, 0);
  const dow = new Date(last).getUTCDay();
  return last - dow * 86_400_000;
}

const dstCache = new Map<number, readonly [number, number]>();
function dstWindow(year: number): readonly [number, number] {
  let w = dstCache.get(year);
  if (w === undefined) {
    w = [lastSundayUtc(year, 2) + HOUR, lastSundayUtc(year, 9) + HOUR];
    dstCache.set(year, w);
  }
  return w;
}

let intlFormatter: Intl.DateTimeFormat | undefined;
function intlOffsetMs(epochMs: number): number {
  intlFormatter ??= new Intl.DateTimeFormat("en-GB", {
    timeZone: "Europe/Paris",
    hourCycle: "h23",
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
  });
  const p: Record<string, number> = {};
  for (const part of intlFormatter.formatToParts(new Date(epochMs))) {
    if (part.type !== "literal") p[part.type] = Number(part.value);
  }
  const asUtc = Date.UTC(p.year!, p.month! - 1, p.day!, p.hour!, p.minute!, p.second!);
  return asUtc - (epochMs - (((epochMs % 1000) + 1000) % 1000));
}

/** Offset of Europe/Paris from UTC at an instant, in ms (3_600_000 or 7_200_000 since 1996). */
export function parisOffsetMs(epochMs: number): number {
  if (epochMs >= FAST_MIN && epochMs <= FAST_MAX) return euOffsetMs(epochMs);
  const year = new Date(epochMs).getUTCFullYear();
  if (year < 1996) return intlOffsetMs(epochMs);
  const [start, end] = dstWindow(year);
  return epochMs >= start && epochMs < end ? 2 * HOUR : HOUR;
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, "0");
}

function epochMsToPdvTimestampGeneral(epochMs: number): string {
  if (!Number.isFinite(epochMs)) throw new PdvFrameError("BAD_TIMESTAMP", `not a finite instant: ${epochMs}`);
  const d = new Date(epochMs + parisOffsetMs(epochMs));
  const y = d.getUTCFullYear();
  if (y < 1 || y > 9999) throw new PdvFrameError("BAD_TIMESTAMP", `year ${y} does not fit YYYY`);
  return (
    pad(y, 4) +
    pad(d.getUTCMonth() + 1, 2) +
    pad(d.getUTCDate(), 2) +
    pad(d.getUTCHours(), 2) +
    pad(d.getUTCMinutes(), 2) +
    pad(d.getUTCSeconds(), 2) +
    pad(d.getUTCMilliseconds(), 3)
  );
}

function digitsOf(raw: RawTimestamp): string {
  if (typeof raw === "string") return raw.padStart(17, "0");
  if (typeof raw === "bigint") return raw.toString().padStart(17, "0");
  if (!Number.isSafeInteger(raw) || raw < 0) {
    throw new PdvFrameError("BAD_TIMESTAMP", `raw timestamp ${raw} is not a safe non-negative integer`);
  }
  return String(raw).padStart(17, "0");
}

function pdvTimestampToEpochMsGeneral(raw: RawTimestamp): number {
  const s = digitsOf(raw);
  if (s.length !== 17 || !/^[0-9]{17}$/.test(s)) {
    throw new PdvFrameError("BAD_TIMESTAMP", `"${s}" is not 17 digits YYYYMMDDhhmmssSSS`);
  }
  const y = Number(s.slice(0, 4));
  const mo = Number(s.slice(4, 6));
  const d = Number(s.slice(6, 8));
  const h = Number(s.slice(8, 10));
  const mi = Number(s.slice(10, 12));
  const se = Number(s.slice(12, 14));
  const ms = Number(s.slice(14, 17));
  const localAsUtc = Date.UTC(y, mo - 1, d, h, mi, se, ms);
  const check = new Date(localAsUtc);
  if (
    y < 1 ||
    mo < 1 ||
    mo > 12 ||
    h > 23 ||
    mi > 59 ||
    se > 59 ||
    check.getUTCDate() !== d ||
    check.getUTCMonth() !== mo - 1
  ) {
    throw new PdvFrameError("BAD_TIMESTAMP", `"${s}" is not a valid date and time (YYYYMMDDhhmmssSSS)`);
  }
  // Try summer time first: for an ambiguous local time it is the earlier instant.
  const asSummer = localAsUtc - 2 * HOUR;
  if (parisOffsetMs(asSummer) === 2 * HOUR) return asSummer;
  if (y < 1996) {
    // Generic path: the offset at the candidate instant decides.
    const guess = localAsUtc - HOUR;
    return localAsUtc - parisOffsetMs(guess);
  }
  return localAsUtc - HOUR;
}

// ---------------------------------------------------------------- conversions

/** Epoch ms -> the 17-digit Europe/Paris YYYYMMDDhhmmssSSS string. */
export function epochMsToPdvTimestamp(epochMs: number): string {
  // Fractional ms and instants outside the EU-rule years take the general path (Date truncation).
  if (!(epochMs >= FAST_MIN && epochMs <= FAST_MAX) || epochMs % 1 !== 0) {
    return epochMsToPdvTimestampGeneral(epochMs);
  }
  const local = epochMs + euOffsetMs(epochMs);
  const days = Math.floor(local / DAY);
  let t = local - days * DAY; // ms of the local day, < 2^27
  civilFromDays(days);
  const h = (t / HOUR) | 0;
  t -= h * HOUR;
  const mi = (t / 60_000) | 0;
  t -= mi * 60_000;
  const se = (t / 1000) | 0;
  const ms = t - se * 1000;
  const y = civilY;
  const mo = civilM;
  const d = civilD;
  const y2 = (y / 100) | 0;
  const y3 = y - y2 * 100;
  const ms1 = (ms / 100) | 0;
  const ms2 = ms - ms1 * 100;
  return String.fromCharCode(
    48 + ((y2 / 10) | 0),
    48 + (y2 % 10),
    48 + ((y3 / 10) | 0),
    48 + (y3 % 10),
    48 + ((mo / 10) | 0),
    48 + (mo % 10),
    48 + ((d / 10) | 0),
    48 + (d % 10),
    48 + ((h / 10) | 0),
    48 + (h % 10),
    48 + ((mi / 10) | 0),
    48 + (mi % 10),
    48 + ((se / 10) | 0),
    48 + (se % 10),
    48 + ms1,
    48 + ((ms2 / 10) | 0),
    48 + (ms2 % 10),
  );
}

const DAYS_IN_MONTH = [0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** Digit value of s[i]: 0..9, or outside 0..9 when it is not an ASCII digit. */
function dig(s: string, i: number): number {
  return s.charCodeAt(i) - 48;
}

/** Negative when x is outside 0..9 (sign bit of x or of 9 - x). */
function notDigit(x: number): number {
  return x | (9 - x);
}

/**
 * The 17-digit Europe/Paris local time -> epoch ms. Throws BAD_TIMESTAMP when the digits are not
 * a real calendar date and time (month 13, 31 February, hour 24...).
 */
export function pdvTimestampToEpochMs(raw: RawTimestamp): number {
  if (typeof raw !== "string" || raw.length !== 17) return pdvTimestampToEpochMsGeneral(raw);
  const c0 = dig(raw, 0);
  const c1 = dig(raw, 1);
  const c2 = dig(raw, 2);
  const c3 = dig(raw, 3);
  const c4 = dig(raw, 4);
  const c5 = dig(raw, 5);
  const c6 = dig(raw, 6);
  const c7 = dig(raw, 7);
  const c8 = dig(raw, 8);
  const c9 = dig(raw, 9);
  const c10 = dig(raw, 10);
  const c11 = dig(raw, 11);
  const c12 = dig(raw, 12);
  const c13 = dig(raw, 13);
  const c14 = dig(raw, 14);
  const c15 = dig(raw, 15);
  const c16 = dig(raw, 16);
  if (
    (notDigit(c0) |
      notDigit(c1) |
      notDigit(c2) |
      notDigit(c3) |
      notDigit(c4) |
      notDigit(c5) |
      notDigit(c6) |
      notDigit(c7) |
      notDigit(c8) |
      notDigit(c9) |
      notDigit(c10) |
      notDigit(c11) |
      notDigit(c12) |
      notDigit(c13) |
      notDigit(c14) |
      notDigit(c15) |
      notDigit(c16)) <
    0
  ) {
    return pdvTimestampToEpochMsGeneral(raw); // throws
  }
  const y = c0 * 1000 + c1 * 100 + c2 * 10 + c3;
  const mo = c4 * 10 + c5;
  const d = c6 * 10 + c7;
  const h = c8 * 10 + c9;
  const mi = c10 * 10 + c11;
  const se = c12 * 10 + c13;
  // Before 1997 the candidate instants may fall before 1996 (Intl rules): general path.
  if (y < 1997 || mo < 1 || mo > 12 || h > 23 || mi > 59 || se > 59 || d < 1) {
    return pdvTimestampToEpochMsGeneral(raw);
  }
  const dim = mo === 2 && y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0) ? 29 : DAYS_IN_MONTH[mo]!;
  if (d > dim) return pdvTimestampToEpochMsGeneral(raw);
  const localAsUtc =
    daysFromCivil(y, mo, d) * DAY + h * HOUR + mi * 60_000 + se * 1000 + (c14 * 100 + c15 * 10 + c16);
  // Try summer time first: for an ambiguous local time it is the earlier instant.
  const asSummer = localAsUtc - 2 * HOUR;
  if (euOffsetMs(asSummer) === 2 * HOUR) return asSummer;
  return localAsUtc - HOUR;
}

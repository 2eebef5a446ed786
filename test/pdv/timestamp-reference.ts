// The string-based FH-TIMESTAMP conversions as they were before the arithmetic rewrite (commit
// c29e67b), kept verbatim as the reference the property tests compare src/pdv/timestamp.ts with.
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
import { PdvFrameError } from "../../src/pdv/errors.ts";

const HOUR = 3_600_000;

/** A raw timestamp: the 17 digits, as a string (decoded form), bigint or safe number. */
export type RawTimestamp = string | bigint | number;

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
  const year = new Date(epochMs).getUTCFullYear();
  if (year < 1996) return intlOffsetMs(epochMs);
  const [start, end] = dstWindow(year);
  return epochMs >= start && epochMs < end ? 2 * HOUR : HOUR;
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, "0");
}

/** Epoch ms -> the 17-digit Europe/Paris YYYYMMDDhhmmssSSS string. */
export function epochMsToPdvTimestamp(epochMs: number): string {
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

/**
 * The 17-digit Europe/Paris local time -> epoch ms. Throws BAD_TIMESTAMP when the digits are not
 * a real calendar date and time (month 13, 31 February, hour 24...).
 */
export function pdvTimestampToEpochMs(raw: RawTimestamp): number {
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

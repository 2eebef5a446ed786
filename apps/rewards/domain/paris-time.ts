// Campaign periods and daily caps are in Europe/Paris local time (the operator's business day),
// whatever time zone the process runs in. Paris offsets are whole hours, so a result computed
// for one UTC hour holds for the whole hour: caching by hour makes day lookups ~free.
const HOUR = 3_600_000;
const formatter = new Intl.DateTimeFormat("en-CA", {
  timeZone: "Europe/Paris",
  hourCycle: "h23",
  year: "numeric",
  month: "2-digit",
  day: "2-digit",
  hour: "2-digit",
});

interface HourInfo {
  readonly day: string;
  readonly offsetMs: number;
}
const hourCache = new Map<number, HourInfo>();

function hourInfo(epochMs: number): HourInfo {
  const h = Math.floor(epochMs / HOUR);
  let info = hourCache.get(h);
  if (info === undefined) {
    const p: Record<string, string> = {};
    for (const part of formatter.formatToParts(new Date(h * HOUR))) p[part.type] = part.value;
    const day = `${p.year}-${p.month}-${p.day}`;
    const localHourAsUtc = Date.UTC(Number(p.year), Number(p.month) - 1, Number(p.day), Number(p.hour));
    info = { day, offsetMs: localHourAsUtc - h * HOUR };
    if (hourCache.size > 100_000) hourCache.clear();
    hourCache.set(h, info);
  }
  return info;
}

/** The Europe/Paris calendar day ("2026-11-22") of an instant. */
export function parisDay(epochMs: number): string {
  return hourInfo(epochMs).day;
}

/** Offset of Europe/Paris from UTC at an instant (3 600 000 or 7 200 000 ms). */
export function parisOffsetMs(epochMs: number): number {
  return hourInfo(epochMs).offsetMs;
}

/**
 * The instant of a Paris wall-clock time. A time in the spring gap moves forward by the gap; an
 * ambiguous autumn time takes the earlier instant (as Temporal's "compatible").
 */
export function parisLocalToEpochMs(
  year: number,
  month: number,
  day: number,
  hour = 0,
  minute = 0,
  second = 0,
  ms = 0,
): number {
  const asUtc = Date.UTC(year, month - 1, day, hour, minute, second, ms);
  const early = asUtc - parisOffsetMs(asUtc - 2 * HOUR);
  if (parisOffsetMs(early) === asUtc - early) return early;
  const late = asUtc - parisOffsetMs(asUtc);
  if (parisOffsetMs(late) === asUtc - late) return late;
  return early; // in the spring gap: the wall time shifted forward by the gap
}

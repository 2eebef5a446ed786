// Window specifications (as Kafka Streams: TimeWindows, SlidingWindows, SessionWindows,
// JoinWindows), the Windowed key type, suppression configs and serdes for windowed keys.
import type { Serde } from "../serde/index.ts";
import { readTimestamp, writeTimestamp } from "../state/index.ts";
import { StreamsError } from "./errors.ts";
import { fastSerde } from "./internals/serdes.ts";

export interface Window {
  readonly start: number;
  readonly end: number;
}

export interface Windowed<K> {
  readonly key: K;
  readonly window: Window;
}

function checkMs(what: string, v: number, min = 0): number {
  if (!Number.isSafeInteger(v) || v < min) {
    throw new StreamsError("CONFIG_INVALID", `${what} must be an integer >= ${min} ms, got ${v}`);
  }
  return v;
}

/** Default grace when a window spec is built without one: Kafka's historical 24 h. */
const NO_GRACE = 0;

/** Fixed-size windows [start, start + size) advancing by `advanceMs` (tumbling when advance = size). */
export class TimeWindows {
  readonly kind = "time" as const;
  readonly sizeMs: number;
  readonly advanceMs: number;
  readonly graceMs: number;
  private constructor(sizeMs: number, advanceMs: number, graceMs: number) {
    this.sizeMs = checkMs("window size", sizeMs, 1);
    this.advanceMs = checkMs("window advance", advanceMs, 1);
    if (advanceMs > sizeMs) {
      throw new StreamsError(
        "CONFIG_INVALID",
        `window advance (${advanceMs} ms) must not exceed the window size (${sizeMs} ms)`,
      );
    }
    this.graceMs = checkMs("grace period", graceMs);
  }
  static ofSizeWithNoGrace(sizeMs: number): TimeWindows {
    return new TimeWindows(sizeMs, sizeMs, NO_GRACE);
  }
  static ofSizeAndGrace(sizeMs: number, graceMs: number): TimeWindows {
    return new TimeWindows(sizeMs, sizeMs, graceMs);
  }
  /** Hopping windows. */
  advanceBy(advanceMs: number): TimeWindows {
    return new TimeWindows(this.sizeMs, advanceMs, this.graceMs);
  }
  /** Start times of every window containing `timestamp`, ascending. */
  windowStartsFor(timestamp: number): number[] {
    let start = Math.max(0, timestamp - this.sizeMs + this.advanceMs);
    start -= start % this.advanceMs;
    const out: number[] = [];
    for (; start <= timestamp; start += this.advanceMs) out.push(start);
    return out;
  }
}

/** Windows defined by record timestamps: every window [t - diff, t] that holds records (KIP-450). */
export class SlidingWindows {
  readonly kind = "sliding" as const;
  readonly timeDifferenceMs: number;
  readonly graceMs: number;
  private constructor(diff: number, grace: number) {
    this.timeDifferenceMs = checkMs("time difference", diff, 1);
    this.graceMs = checkMs("grace period", grace);
  }
  static ofTimeDifferenceWithNoGrace(diffMs: number): SlidingWindows {
    return new SlidingWindows(diffMs, NO_GRACE);
  }
  static ofTimeDifferenceAndGrace(diffMs: number, graceMs: number): SlidingWindows {
    return new SlidingWindows(diffMs, graceMs);
  }
}

/** Sessions: records of a key closer than `inactivityGapMs` merge into one [first, last] window. */
export class SessionWindows {
  readonly kind = "session" as const;
  readonly inactivityGapMs: number;
  readonly graceMs: number;
  private constructor(gap: number, grace: number) {
    this.inactivityGapMs = checkMs("inactivity gap", gap, 1);
    this.graceMs = checkMs("grace period", grace);
  }
  static ofInactivityGapWithNoGrace(gapMs: number): SessionWindows {
    return new SessionWindows(gapMs, NO_GRACE);
  }
  static ofInactivityGapAndGrace(gapMs: number, graceMs: number): SessionWindows {
    return new SessionWindows(gapMs, graceMs);
  }
}

/** Stream-stream join window: records join when `other.ts` is in [ts - before, ts + after]. */
export class JoinWindows {
  readonly beforeMs: number;
  readonly afterMs: number;
  readonly graceMs: number;
  private constructor(before: number, after: number, grace: number) {
    this.beforeMs = checkMs("join window before", before);
    this.afterMs = checkMs("join window after", after);
    this.graceMs = checkMs("grace period", grace);
  }
  static ofTimeDifferenceWithNoGrace(diffMs: number): JoinWindows {
    return new JoinWindows(diffMs, diffMs, NO_GRACE);
  }
  static ofTimeDifferenceAndGrace(diffMs: number, graceMs: number): JoinWindows {
    return new JoinWindows(diffMs, diffMs, graceMs);
  }
  before(ms: number): JoinWindows {
    return new JoinWindows(ms, this.afterMs, this.graceMs);
  }
  after(ms: number): JoinWindows {
    return new JoinWindows(this.beforeMs, ms, this.graceMs);
  }
  get sizeMs(): number {
    return this.beforeMs + this.afterMs;
  }
}

export type Windows = TimeWindows | SlidingWindows | SessionWindows;

/** How much a suppression buffer may hold; `onFull` decides what happens beyond it. */
export interface BufferConfig {
  readonly maxRecords?: number;
  readonly maxBytes?: number;
  /** "shutdown" (the only safe choice for untilWindowCloses) or "emitEarly". */
  readonly onFull?: "shutdown" | "emitEarly";
}

export type Suppressed =
  | {
      readonly kind: "untilWindowCloses";
      readonly buffer: BufferConfig;
      /**
       * Close windows on wall-clock time when the task's input goes idle: once no record has
       * arrived for this long, stream time is advanced by the wall-clock time that passed, so
       * final results are emitted without waiting for a new record.
       */
      readonly closeWhenIdleMs?: number;
      readonly name?: string;
    }
  | {
      readonly kind: "untilTimeLimit";
      readonly timeToWaitMs: number;
      readonly buffer: BufferConfig;
      readonly name?: string;
    };

export const Suppressed = {
  untilWindowCloses(
    buffer: BufferConfig = {},
    options: { closeWhenIdleMs?: number; name?: string } = {},
  ): Suppressed {
    if (options.closeWhenIdleMs !== undefined) checkMs("closeWhenIdleMs", options.closeWhenIdleMs, 1);
    return { kind: "untilWindowCloses", buffer, ...options };
  },
  untilTimeLimit(
    timeToWaitMs: number,
    buffer: BufferConfig = {},
    options: { name?: string } = {},
  ): Suppressed {
    checkMs("time to wait", timeToWaitMs);
    return { kind: "untilTimeLimit", timeToWaitMs, buffer, ...options };
  },
} as const;

/** Serdes for windowed keys as Kafka lays them out: inner key + 8-byte start (+ 8-byte end for sessions). */
export const WindowedSerdes = {
  timeWindowed<K>(innerSerde: Serde<K>, windowSizeMs: number): Serde<Windowed<K>> {
    const inner = fastSerde(innerSerde);
    return {
      serialize(topic, w) {
        if (w === null) return null;
        const k = inner.serialize(topic, w.key) ?? new Uint8Array(0);
        const n = k.byteLength;
        const out = new Uint8Array(n + 8);
        out.set(k, 0);
        // writeTimestamp's layout, inline (no DataView per record).
        const t = w.window.start;
        const hi = Math.floor(t / 4294967296);
        const lo = t - hi * 4294967296;
        const h = (hi + 2147483648) >>> 0;
        out[n] = h >>> 24;
        out[n + 1] = (h >>> 16) & 255;
        out[n + 2] = (h >>> 8) & 255;
        out[n + 3] = h & 255;
        out[n + 4] = lo >>> 24;
        out[n + 5] = (lo >>> 16) & 255;
        out[n + 6] = (lo >>> 8) & 255;
        out[n + 7] = lo & 255;
        return out;
      },
      deserialize(topic, data) {
        if (data === null) return null;
        const start = readTimestamp(data, data.byteLength - 8);
        const key = inner.deserialize(topic, data.subarray(0, data.byteLength - 8)) as K;
        return { key, window: { start, end: start + windowSizeMs } };
      },
    };
  },
  sessionWindowed<K>(inner: Serde<K>): Serde<Windowed<K>> {
    return {
      serialize(topic, w) {
        if (w === null) return null;
        const k = inner.serialize(topic, w.key) ?? new Uint8Array(0);
        const out = new Uint8Array(k.byteLength + 16);
        out.set(k, 0);
        writeTimestamp(out, k.byteLength, w.window.end);
        writeTimestamp(out, k.byteLength + 8, w.window.start);
        return out;
      },
      deserialize(topic, data) {
        if (data === null) return null;
        const n = data.byteLength;
        const end = readTimestamp(data, n - 16);
        const start = readTimestamp(data, n - 8);
        const key = inner.deserialize(topic, data.subarray(0, n - 16)) as K;
        return { key, window: { start, end } };
      },
    };
  },
} as const;

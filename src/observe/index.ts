// Observability shared by every layer: clocks, structured logging, a metrics registry.
// It imports nothing of Courant so any layer may depend on it.
import pino, { type Logger } from "pino";
import { Counter, Gauge, Histogram, Registry } from "prom-client";

export type { Logger };

/** Time source; tests and the topology test driver substitute a manual clock. */
export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

export class ManualClock implements Clock {
  private t: number;
  constructor(start = 0) {
    this.t = start;
  }
  now(): number {
    return this.t;
  }
  advance(ms: number): number {
    this.t += ms;
    return this.t;
  }
  set(ms: number): void {
    this.t = ms;
  }
}

/** Process-wide logger; level from COURANT_LOG_LEVEL (default "info", "silent" in tests). */
export function createLogger(name: string, level?: string): Logger {
  const lvl = level ?? process.env.COURANT_LOG_LEVEL ?? (process.env.NODE_TEST_CONTEXT ? "silent" : "info");
  return pino({ name, level: lvl }, pino.destination({ dest: 2, sync: false }));
}

export const METRIC_PREFIX = "courant_";

/** The entry of one label set (values in labelNames' order), made by `make` the first time. */
function labelSlot<T>(
  slots: Map<string, T>,
  labelNames: readonly string[],
  values: readonly string[],
  make: (labels: Record<string, string>) => T,
): T {
  const key = values.join("\u0000");
  let e = slots.get(key);
  if (e === undefined) {
    const labels: Record<string, string> = {};
    labelNames.forEach((l, i) => {
      labels[l] = values[i] ?? "";
    });
    slots.set(key, (e = make(labels)));
  }
  return e;
}

/**
 * A Prometheus registry with Courant's naming rule: every metric is prefixed `courant_`.
 * Getting a metric twice by name returns the same instance, so layers can register lazily.
 */
export class MetricsRegistry {
  readonly registry: Registry;
  private readonly metrics = new Map<string, Counter | Gauge | Histogram>();

  constructor(defaultLabels?: Record<string, string>) {
    this.registry = new Registry();
    if (defaultLabels) this.registry.setDefaultLabels(defaultLabels);
  }

  counter(name: string, help: string, labelNames: readonly string[] = []): Counter {
    return this.getOrCreate(
      name,
      () => new Counter({ name: METRIC_PREFIX + name, help, labelNames, registers: [this.registry] }),
    ) as Counter;
  }

  /**
   * A counter for hot paths: each label set's count is a plain number, added to the Prometheus
   * counter when it is collected (a scrape, `get()`). prom-client's labelled `inc()` hashes the
   * label values into a key on every call, which showed per record in the pipelines' profiles.
   */
  tallyCounter(name: string, help: string, labelNames: readonly string[] = []): TallyCounter {
    const tallies = new Map<string, { labels: Record<string, string>; n: number }>();
    const counter = this.getOrCreate(
      name,
      () =>
        new Counter({
          name: METRIC_PREFIX + name,
          help,
          labelNames,
          registers: [this.registry],
          collect() {
            for (const t of tallies.values()) {
              if (t.n === 0) continue;
              this.inc(t.labels, t.n);
              t.n = 0;
            }
          },
        }),
    ) as Counter;
    return {
      counter,
      tally(...values: string[]): Tally {
        const entry = labelSlot(tallies, labelNames, values, (labels) => ({ labels, n: 0 }));
        return {
          inc(n = 1) {
            entry.n += n;
          },
        };
      },
    };
  }

  /**
   * A gauge for hot paths: each label set's latest value is a plain number, given to the
   * Prometheus gauge when it is collected (a scrape, `get()`). As with tallyCounter, prom-client's
   * labelled `set()` hashes the label values on every call; a gauge set per record showed in the
   * rewards pipeline's profiles (1.7 % of the coupons thread's allocations).
   */
  latestGauge(name: string, help: string, labelNames: readonly string[] = []): LatestGauge {
    const slots = new Map<string, { labels: Record<string, string>; v: number; fresh: boolean }>();
    const gauge = this.getOrCreate(
      name,
      () =>
        new Gauge({
          name: METRIC_PREFIX + name,
          help,
          labelNames,
          registers: [this.registry],
          collect() {
            for (const s of slots.values()) {
              if (!s.fresh) continue;
              this.set(s.labels, s.v);
              s.fresh = false;
            }
          },
        }),
    ) as Gauge;
    return {
      gauge,
      slot(...values: string[]): GaugeSlot {
        const entry = labelSlot(slots, labelNames, values, (labels) => ({ labels, v: 0, fresh: false }));
        return {
          set(v: number) {
            entry.v = v;
            entry.fresh = true;
          },
        };
      },
    };
  }

  gauge(name: string, help: string, labelNames: readonly string[] = []): Gauge {
    return this.getOrCreate(
      name,
      () => new Gauge({ name: METRIC_PREFIX + name, help, labelNames, registers: [this.registry] }),
    ) as Gauge;
  }

  histogram(name: string, help: string, labelNames: readonly string[] = [], buckets?: number[]): Histogram {
    return this.getOrCreate(
      name,
      () =>
        new Histogram({
          name: METRIC_PREFIX + name,
          help,
          labelNames,
          buckets: buckets ?? [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
          registers: [this.registry],
        }),
    ) as Histogram;
  }

  /** Prometheus text exposition. */
  async text(): Promise<string> {
    return this.registry.metrics();
  }

  private getOrCreate(name: string, make: () => Counter | Gauge | Histogram): Counter | Gauge | Histogram {
    let m = this.metrics.get(name);
    if (!m) {
      m = make();
      this.metrics.set(name, m);
    }
    return m;
  }
}

/** A count on a hot path (see MetricsRegistry.tallyCounter). */
export interface Tally {
  inc(n?: number): void;
}

/** A Prometheus counter fed by tallies: `tally(...labelValues)` once, then `inc()` per event. */
export interface TallyCounter {
  readonly counter: Counter;
  tally(...labelValues: string[]): Tally;
}

export interface GaugeSlot {
  set(v: number): void;
}

/** A Prometheus gauge fed by slots: `slot(...labelValues)` once, then `set()` per event. */
export interface LatestGauge {
  readonly gauge: Gauge;
  slot(...labelValues: string[]): GaugeSlot;
}

/** The default registry of a process, used when a component is not given its own. */
export const defaultMetrics = new MetricsRegistry();

/** Waits until `cond` holds, polling every `intervalMs`; throws after `timeoutMs`. For tests and start-up. */
export async function waitFor(
  cond: () => boolean | Promise<boolean>,
  {
    timeoutMs = 10_000,
    intervalMs = 5,
    what = "condition",
  }: { timeoutMs?: number; intervalMs?: number; what?: string } = {},
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

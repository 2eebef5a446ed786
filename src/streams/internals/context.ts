// Per-task processing context: the current record's coordinates, stream time, the task's stores,
// punctuation schedules, the record collector (where sinks and changelogs write) and counters
// that the runtime exports as metrics (plain numbers on the hot path, no metric objects).
import type { Clock } from "../../observe/index.ts";
import { StreamsError } from "../errors.ts";
import type { Cancellable, PunctuationType, Punctuator } from "../processor.ts";
import type { Headers, RecordContext } from "../types.ts";

export interface RecordCollector {
  /** `partition` undefined: the producer's default partitioner (murmur2 of the key bytes). */
  send(
    topic: string,
    key: Uint8Array | null,
    value: Uint8Array | null,
    timestamp: number,
    headers: Headers,
    partition: number | undefined,
  ): void;
  /** Partition count of an output topic if known (for custom partitioners). */
  partitionsFor(topic: string): number | undefined;
}

export interface PunctuationSchedule {
  readonly intervalMs: number;
  readonly type: PunctuationType;
  readonly fn: Punctuator;
  readonly node: string;
  next: number;
  readonly base: number;
  cancelled: boolean;
}

/** Counters a task keeps; the runtime publishes them as Kafka Streams-named metrics. */
export interface TaskStats {
  processed: number;
  /** By reason: "late" (beyond grace), "null-key", "deserialization", "negative-timestamp", ... */
  dropped: Map<string, number>;
  punctuations: number;
}

const EMPTY: Headers = Object.freeze([]) as Headers;

export class TaskContext {
  readonly applicationId: string;
  readonly taskId: string;
  readonly clock: Clock;
  collector: RecordCollector;
  topic: string | null = null;
  partition = -1;
  offset = -1;
  timestamp = 0;
  headers: Headers = EMPTY;
  /** Highest record timestamp processed by the task (-1 before the first), as Kafka's stream time. */
  streamTime = -1;
  /** Wall-clock time of the last record processed (for idle-close of windows). */
  lastRecordWallClock: number;
  /**
   * Wall-clock time read once for the run of records being processed (as Kafka Streams caches
   * it per loop iteration), what processors' currentSystemTimeMs() returns meanwhile; undefined
   * outside such a run (punctuators, the test driver: the clock is read at each call).
   */
  runWallClock: number | undefined = undefined;
  commitRequested = false;
  /** Per-task objects shared by nodes (e.g. the time tracker of a stream-stream join's two sides). */
  readonly shared = new Map<string, unknown>();
  readonly stats: TaskStats = { processed: 0, dropped: new Map(), punctuations: 0 };
  readonly schedules: PunctuationSchedule[] = [];
  private readonly stores = new Map<string, unknown>();
  private readonly globalStores: Map<string, unknown>;
  /** Stores behind a record cache: their owner forwards updates when the cache flushes them. */
  readonly cachedStores = new Set<string>();
  readonly cacheForwarders = new Map<
    string,
    (key: Uint8Array, newValue: Uint8Array | null, oldValue: Uint8Array | null, windowStart?: number) => void
  >();
  /** Async operators register here; the task drains them before commit. */
  readonly asyncOperators: { pending(): number; drain(): Promise<void>; full(): boolean }[] = [];

  constructor(
    applicationId: string,
    taskId: string,
    clock: Clock,
    collector: RecordCollector,
    globalStores: Map<string, unknown>,
  ) {
    this.applicationId = applicationId;
    this.taskId = taskId;
    this.clock = clock;
    this.collector = collector;
    this.globalStores = globalStores;
    this.lastRecordWallClock = clock.now();
  }

  registerStore(name: string, store: unknown): void {
    this.stores.set(name, store);
  }

  getStore(name: string): unknown {
    const s = this.stores.get(name) ?? this.globalStores.get(name);
    if (s === undefined)
      throw new StreamsError("STORE_NOT_FOUND", `task ${this.taskId} has no store named ${name}`);
    return s;
  }

  hasStore(name: string): boolean {
    return this.stores.has(name) || this.globalStores.has(name);
  }

  storeNames(): string[] {
    return [...this.stores.keys()];
  }

  recordContext(): RecordContext {
    return {
      topic: this.topic,
      partition: this.partition,
      offset: this.offset,
      timestamp: this.timestamp,
      headers: this.headers,
    };
  }

  /** Counts a dropped record (Kafka's dropped-records sensor), by reason. */
  drop(reason: string): void {
    this.stats.dropped.set(reason, (this.stats.dropped.get(reason) ?? 0) + 1);
  }

  schedule(intervalMs: number, type: PunctuationType, fn: Punctuator, node: string): Cancellable {
    if (!Number.isSafeInteger(intervalMs) || intervalMs < 1) {
      throw new StreamsError(
        "CONFIG_INVALID",
        `punctuation interval must be an integer >= 1 ms, got ${intervalMs}`,
      );
    }
    // Stream-time punctuators first fire on the first record; wall-clock ones one interval from now.
    // Stream-time schedules are aligned on 0 (as Kafka); wall-clock ones on the time of scheduling.
    const base = type === "streamTime" ? 0 : this.clock.now();
    const next = type === "streamTime" ? 0 : base + intervalMs;
    const s: PunctuationSchedule = { intervalMs, type, fn, node, next, base, cancelled: false };
    this.schedules.push(s);
    return {
      cancel: () => {
        s.cancelled = true;
        const i = this.schedules.indexOf(s);
        if (i >= 0) this.schedules.splice(i, 1);
      },
    };
  }

  /** Runs due punctuations of one type at time `now`; returns how many ran. */
  punctuate(type: PunctuationType, now: number): number {
    const all = this.schedules;
    // Called for every record: find out without allocating whether anything is due.
    let due = false;
    for (let i = 0; i < all.length; i++) {
      const s = all[i]!;
      if (s.type === type && now >= s.next && !s.cancelled) {
        due = true;
        break;
      }
    }
    if (!due) return 0;
    let n = 0;
    for (const s of [...this.schedules]) {
      if (s.cancelled || s.type !== type || now < s.next) continue;
      // A punctuation's records carry the punctuation time and no source coordinates.
      const saved = [this.topic, this.partition, this.offset, this.timestamp, this.headers] as const;
      this.topic = null;
      this.partition = -1;
      this.offset = -1;
      this.timestamp = now;
      this.headers = EMPTY;
      try {
        s.fn(now);
      } finally {
        [this.topic, this.partition, this.offset, this.timestamp, this.headers] = saved;
      }
      // Missed intervals are skipped, not replayed (as Kafka): next grid point after `now`.
      s.next += s.intervalMs;
      if (now >= s.next) s.next = s.base + (Math.floor((now - s.base) / s.intervalMs) + 1) * s.intervalMs;
      n++;
      this.stats.punctuations++;
    }
    return n;
  }
}

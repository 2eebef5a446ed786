// The log manager: every topic and partition of one data directory. Layout:
//   DATA/.lock                      pid of the process holding the directory
//   DATA/.clean-shutdown            present only between a clean close and the next open
//   DATA/topics/NAME/topic.json     {name, partitions, config (overrides), createdAt}
//   DATA/topics/NAME/P/             one partition log (see partition-log.ts, segment.ts)
import * as fs from "node:fs";
import * as path from "node:path";
import {
  type Clock,
  defaultMetrics,
  type Logger,
  type MetricsRegistry,
  systemClock,
} from "../observe/index.ts";
import { compactPartition } from "./cleaner.ts";
import { parseTopicConfig, TOPIC_CONFIG_DEFAULTS, validateTopicName } from "./config.ts";
import { LogError } from "./errors.ts";
import { fsyncDir, LogIo } from "./io.ts";
import { type PartitionContext, PartitionLog } from "./partition-log.ts";
import type {
  CompactionStats,
  LogConfig,
  PartitionInfo,
  RetentionStats,
  StorageFaultHook,
  TopicInfo,
} from "./types.ts";

export interface LogManagerOptions {
  /** Directory holding every topic; created if missing; locked (pid file) while open. */
  readonly dataDir: string;
  readonly clock?: Clock;
  /** Broker-level defaults under topic overrides (Kafka's log.* server configs), e.g. {"flush.policy":"every-batch"}. */
  readonly defaultTopicConfig?: Readonly<Record<string, string>>;
  /** Default true. False only for read-only tools that must not take the lock (they then must not write). */
  readonly lock?: boolean;
  /** Period of the retention and compaction pass; default 30 000 ms; 0 disables (call runRetention/runCompaction). */
  readonly maintenanceIntervalMs?: number;
  /** Idle producers' idempotence state is dropped after this long (Kafka's producer.id.expiration.ms); default 1 day. */
  readonly producerIdExpirationMs?: number;
  /** Period at which interval flushes are checked; default 50 ms. */
  readonly flushCheckIntervalMs?: number;
  /** Default true: check each batch's CRC when serving reads, so a corrupt record is never served. */
  readonly verifyOnRead?: boolean;
  /**
   * How often a partition's recovery point is written to its partition.json when only the recovery
   * point moved (Kafka's log.flush.offset.checkpoint.interval.ms); default 60 000 ms. A stale recovery
   * point only means more of the log is CRC-scanned after a crash. A moved log start is written at once,
   * and everything at a clean close.
   */
  readonly recoveryPointCheckpointIntervalMs?: number;
  /**
   * Each partition keeps its most recently appended batches in memory, in chunks of this many bytes
   * (the newest two), and serves reads of them without a disk read; default 256 KiB; 0 disables.
   */
  readonly tailCacheBytes?: number;
  /** Fault injection for tests: called before each storage operation; throwing fails it. */
  readonly faultHook?: StorageFaultHook;
  readonly logger?: Logger;
  /** Where the log's metrics go (courant_log_*); default the process registry. */
  readonly metrics?: MetricsRegistry;
}

function logMetrics(r: MetricsRegistry) {
  return {
    fsync: r.histogram(
      "log_fsync_seconds",
      "Duration of fsync calls of the log",
      [],
      [0.0001, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.5, 1],
    ),
    storageErrors: r.counter("log_storage_errors_total", "Failed storage operations (appends refused)", [
      "topic",
    ]),
    truncations: r.counter(
      "log_recovery_truncations_total",
      "Segments cut at a torn or corrupt batch during recovery",
      ["topic"],
    ),
    size: r.gauge("log_size_bytes", "Bytes stored per partition", ["topic", "partition"]),
    segments: r.gauge("log_segments", "Segments per partition", ["topic", "partition"]),
    endOffset: r.gauge("log_end_offset", "Log end offset per partition", ["topic", "partition"]),
    startOffset: r.gauge("log_start_offset", "Log start offset per partition", ["topic", "partition"]),
    compactedRecords: r.counter("log_compaction_removed_records_total", "Records removed by compaction"),
    retentionSegments: r.counter("log_retention_deleted_segments_total", "Segments deleted by retention"),
  };
}

interface TopicMeta {
  name: string;
  partitions: number;
  config: Record<string, string>;
  createdAt: number;
}

interface TopicState {
  meta: TopicMeta;
  cfg: LogConfig;
  logs: PartitionLog[];
}

const LOCK_FILE = ".lock";
const CLEAN_FILE = ".clean-shutdown";
const TOPICS_DIR = "topics";
const TOPIC_FILE = "topic.json";

/** Directories locked by this process (a second LogManager on the same directory is refused too). */
const lockedHere = new Set<string>();

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

export class LogManager {
  readonly dataDir: string;
  private readonly clock: Clock;
  private readonly io: LogIo;
  private readonly logger: Logger | undefined;
  private readonly defaults: Readonly<Record<string, string>>;
  private readonly topics = new Map<string, TopicState>();
  private readonly appendListeners = new Set<(log: PartitionLog) => void>();
  private readonly ctx: PartitionContext;
  private lockPath: string | undefined;
  private flushTimer: NodeJS.Timeout | undefined;
  private maintenanceTimer: NodeJS.Timeout | undefined;
  private compaction: Promise<CompactionStats> | undefined;
  private _closed = false;
  private readonly m: ReturnType<typeof logMetrics>;
  private readonly producerIdExpirationMs: number;
  private lastGaugeMs = 0;

  private constructor(options: LogManagerOptions, cleanShutdown: boolean) {
    this.dataDir = path.resolve(options.dataDir);
    this.clock = options.clock ?? systemClock;
    this.m = logMetrics(options.metrics ?? defaultMetrics);
    this.producerIdExpirationMs = options.producerIdExpirationMs ?? 24 * 3600 * 1000;
    this.io = new LogIo(options.faultHook, (s) => this.m.fsync.observe(s));
    this.logger = options.logger;
    this.defaults = { ...TOPIC_CONFIG_DEFAULTS, ...(options.defaultTopicConfig ?? {}) };
    parseTopicConfig("(broker defaults)", {}, this.defaults);
    this.ctx = {
      io: this.io,
      clock: this.clock,
      logger: this.logger,
      cleanShutdown,
      verifyOnRead: options.verifyOnRead ?? true,
      checkpointIntervalMs: options.recoveryPointCheckpointIntervalMs ?? 60_000,
      tailCacheBytes: options.tailCacheBytes ?? 256 * 1024,
      spareTailChunks: [],
      onEvent: (event, log) => {
        if (event === "storage-error") this.m.storageErrors.inc({ topic: log.topic });
        else this.m.truncations.inc({ topic: log.topic });
      },
      onAppend: (log) => {
        for (const l of this.appendListeners) {
          try {
            l(log);
          } catch (e) {
            this.logger?.warn({ err: e }, "onAppend listener failed");
          }
        }
      },
    };
  }

  /** Opens (and recovers) every topic of the data directory; takes the directory's lock. */
  static async open(options: LogManagerOptions): Promise<LogManager> {
    const dir = path.resolve(options.dataDir);
    fs.mkdirSync(path.join(dir, TOPICS_DIR), { recursive: true });
    const lockPath = options.lock === false ? undefined : acquireLock(dir);
    try {
      const cleanPath = path.join(dir, CLEAN_FILE);
      const clean = fs.existsSync(cleanPath);
      if (clean) {
        fs.unlinkSync(cleanPath);
        fsyncDir(dir);
      }
      const mgr = new LogManager(options, clean);
      mgr.lockPath = lockPath;
      mgr.loadTopics();
      mgr.startTimers(options);
      return mgr;
    } catch (e) {
      if (lockPath) releaseLock(dir, lockPath);
      throw e;
    }
  }

  get closed(): boolean {
    return this._closed;
  }

  private ensureOpen(): void {
    if (this._closed) throw new LogError("LOG_CLOSED", `log manager of ${this.dataDir} is closed`);
  }

  private topicDir(name: string): string {
    return path.join(this.dataDir, TOPICS_DIR, name);
  }

  private loadTopics(): void {
    const root = path.join(this.dataDir, TOPICS_DIR);
    for (const entry of fs.readdirSync(root)) {
      const full = path.join(root, entry);
      if (entry.startsWith("~")) {
        // leftovers of an interrupted create (~creating-*) or delete (~deleted-*); "~" is not legal in topic names
        fs.rmSync(full, { recursive: true, force: true });
        continue;
      }
      let meta: TopicMeta;
      try {
        meta = JSON.parse(fs.readFileSync(path.join(full, TOPIC_FILE), "utf8")) as TopicMeta;
      } catch (e) {
        this.logger?.warn({ err: e }, `skipping ${full}: no readable ${TOPIC_FILE}`);
        continue;
      }
      const cfg = parseTopicConfig(meta.name, meta.config, this.defaults);
      const logs: PartitionLog[] = [];
      for (let p = 0; p < meta.partitions; p++) logs.push(this.openPartition(meta.name, p, cfg));
      // partition directories beyond the count: an add-partitions interrupted before topic.json was written
      for (const sub of fs.readdirSync(full)) {
        if (/^\d+$/.test(sub) && Number(sub) >= meta.partitions) {
          fs.rmSync(path.join(full, sub), { recursive: true, force: true });
        }
      }
      this.topics.set(meta.name, { meta, cfg, logs });
    }
  }

  private openPartition(topic: string, partition: number, cfg: LogConfig): PartitionLog {
    return PartitionLog.open(
      topic,
      partition,
      path.join(this.topicDir(topic), String(partition)),
      cfg,
      this.ctx,
    );
  }

  private startTimers(options: LogManagerOptions): void {
    const flushEvery = options.flushCheckIntervalMs ?? 50;
    this.flushTimer = setInterval(() => this.flushDue(), flushEvery);
    this.flushTimer.unref();
    const maint = options.maintenanceIntervalMs ?? 30_000;
    if (maint > 0) {
      this.maintenanceTimer = setInterval(() => {
        try {
          this.runRetention();
        } catch (e) {
          this.logger?.error({ err: e }, "retention pass failed");
        }
        if (!this.compaction) {
          this.runCompaction().catch((e) => this.logger?.error({ err: e }, "compaction pass failed"));
        }
      }, maint);
      this.maintenanceTimer.unref();
    }
  }

  private flushDue(): void {
    const now = Date.now();
    if (now - this.lastGaugeMs >= 1000) {
      this.lastGaugeMs = now;
      for (const t of this.topics.values()) {
        for (const log of t.logs) {
          const labels = { topic: log.topic, partition: String(log.partition) };
          this.m.size.set(labels, log.sizeInBytes);
          this.m.segments.set(labels, log.segmentCount);
          this.m.endOffset.set(labels, log.logEndOffset);
          this.m.startOffset.set(labels, log.logStartOffset);
        }
      }
    }
    for (const t of this.topics.values()) {
      for (const log of t.logs) {
        try {
          log.maybeFlush(now);
        } catch (e) {
          this.logger?.error({ err: e }, `flush of ${log.topic}-${log.partition} failed`);
        }
      }
    }
  }

  // ------------------------------------------------------------ topics

  private writeMeta(dir: string, meta: TopicMeta): void {
    this.io.writeFileAtomic(path.join(dir, TOPIC_FILE), JSON.stringify(meta, null, 2));
  }

  private topicInfo(t: TopicState): TopicInfo {
    const effective: Record<string, string> = { ...this.defaults, ...t.meta.config };
    return {
      name: t.meta.name,
      partitions: t.meta.partitions,
      config: { ...t.meta.config },
      effectiveConfig: effective,
      createdAt: t.meta.createdAt,
    };
  }

  private topic(name: string): TopicState {
    this.ensureOpen();
    const t = this.topics.get(name);
    if (!t) throw new LogError("UNKNOWN_TOPIC_OR_PARTITION", `topic "${name}" does not exist`);
    return t;
  }

  /** Creates a topic with `partitions` partitions and config overrides (validated first; nothing is created on error). */
  createTopic(name: string, partitions: number, config: Readonly<Record<string, string>> = {}): TopicInfo {
    this.ensureOpen();
    validateTopicName(name);
    if (!Number.isInteger(partitions) || partitions < 1 || partitions > 100_000) {
      throw new LogError(
        "INVALID_PARTITIONS",
        `topic "${name}": partition count must be an integer in [1, 100000], got ${partitions}`,
      );
    }
    if (this.topics.has(name)) throw new LogError("TOPIC_ALREADY_EXISTS", `topic "${name}" already exists`);
    const cfg = parseTopicConfig(name, config, this.defaults);
    const meta: TopicMeta = { name, partitions, config: { ...config }, createdAt: this.clock.now() };
    // Build it aside, then rename into place: a crash never leaves a half-created topic.
    const tmp = path.join(this.dataDir, TOPICS_DIR, `~creating-${name}-${process.pid}`);
    fs.rmSync(tmp, { recursive: true, force: true });
    fs.mkdirSync(tmp, { recursive: true });
    for (let p = 0; p < partitions; p++) fs.mkdirSync(path.join(tmp, String(p)));
    this.writeMeta(tmp, meta);
    this.io.rename(tmp, this.topicDir(name));
    fsyncDir(path.join(this.dataDir, TOPICS_DIR));
    const logs: PartitionLog[] = [];
    for (let p = 0; p < partitions; p++) logs.push(this.openPartition(name, p, cfg));
    const state = { meta, cfg, logs };
    this.topics.set(name, state);
    return this.topicInfo(state);
  }

  /** Deletes a topic and all its data. */
  deleteTopic(name: string): void {
    const t = this.topic(name);
    this.topics.delete(name);
    const gone = path.join(this.dataDir, TOPICS_DIR, `~deleted-${name}-${Date.now()}`);
    this.io.rename(this.topicDir(name), gone);
    fsyncDir(path.join(this.dataDir, TOPICS_DIR));
    for (const log of t.logs) log.deleteAll();
    fs.rmSync(gone, { recursive: true, force: true });
  }

  hasTopic(name: string): boolean {
    return this.topics.has(name);
  }

  listTopics(): string[] {
    this.ensureOpen();
    return [...this.topics.keys()].sort();
  }

  describeTopic(name: string): TopicInfo {
    return this.topicInfo(this.topic(name));
  }

  /** Incremental: a null value removes the override (back to the default). */
  alterTopicConfig(name: string, changes: Readonly<Record<string, string | null>>): TopicInfo {
    const t = this.topic(name);
    const next: Record<string, string> = { ...t.meta.config };
    for (const [k, v] of Object.entries(changes)) {
      if (v === null) delete next[k];
      else next[k] = v;
    }
    return this.setTopicConfig(name, next);
  }

  /** Replaces every override (Kafka's AlterConfigs). Validated first; nothing changes on error. */
  setTopicConfig(name: string, config: Readonly<Record<string, string>>): TopicInfo {
    const t = this.topic(name);
    const cfg = parseTopicConfig(name, config, this.defaults);
    const meta: TopicMeta = { ...t.meta, config: { ...config } };
    this.writeMeta(this.topicDir(name), meta);
    t.meta = meta;
    t.cfg = cfg;
    for (const log of t.logs) log.setConfig(cfg);
    return this.topicInfo(t);
  }

  /** Grows a topic to `totalCount` partitions (Kafka's CreatePartitions; partitions cannot shrink). */
  addPartitions(name: string, totalCount: number): TopicInfo {
    const t = this.topic(name);
    if (!Number.isInteger(totalCount) || totalCount <= t.meta.partitions || totalCount > 100_000) {
      throw new LogError(
        "INVALID_PARTITIONS",
        `topic "${name}" has ${t.meta.partitions} partitions; the new count must be an integer above that (got ${totalCount})`,
      );
    }
    const added: PartitionLog[] = [];
    for (let p = t.meta.partitions; p < totalCount; p++) added.push(this.openPartition(name, p, t.cfg));
    const meta: TopicMeta = { ...t.meta, partitions: totalCount };
    this.writeMeta(this.topicDir(name), meta);
    t.meta = meta;
    t.logs.push(...added);
    return this.topicInfo(t);
  }

  partition(topic: string, partition: number): PartitionLog {
    const t = this.topic(topic);
    const log = t.logs[partition];
    if (!log) {
      throw new LogError(
        "UNKNOWN_TOPIC_OR_PARTITION",
        `topic "${topic}" has no partition ${partition} (it has ${t.logs.length})`,
      );
    }
    return log;
  }

  /** Number of partitions of a topic (no array copy, for hot paths). */
  partitionCount(topic: string): number {
    return this.topic(topic).logs.length;
  }

  partitions(topic: string): PartitionLog[] {
    return [...this.topic(topic).logs];
  }

  partitionInfo(topic: string, partition: number): PartitionInfo {
    return this.partition(topic, partition).info();
  }

  /** Called after every append (data or marker) on any partition; returns an unsubscribe function. */
  onAppend(listener: (log: PartitionLog) => void): () => void {
    this.appendListeners.add(listener);
    return () => this.appendListeners.delete(listener);
  }

  // ------------------------------------------------------------ maintenance

  /** One retention pass over every partition (time, size, and segments below the log start); also expires idle producers. */
  runRetention(): RetentionStats {
    this.ensureOpen();
    const now = this.clock.now();
    let segmentsDeleted = 0;
    let bytesDeleted = 0;
    for (const t of this.topics.values()) {
      for (const log of t.logs) {
        log.expireProducers(now - this.producerIdExpirationMs);
        const r = log.applyRetention(now);
        if (r.segmentsDeleted > 0) this.m.retentionSegments.inc(r.segmentsDeleted);
        segmentsDeleted += r.segmentsDeleted;
        bytesDeleted += r.bytesDeleted;
      }
    }
    return { segmentsDeleted, bytesDeleted };
  }

  /**
   * One compaction pass over every compacted partition. Runs in steps that yield to the event loop
   * (appends go on meanwhile); concurrent calls share the running pass.
   */
  runCompaction(options: { force?: boolean } = {}): Promise<CompactionStats> {
    this.ensureOpen();
    if (this.compaction) return this.compaction;
    const run = async (): Promise<CompactionStats> => {
      const total = {
        partitionsCleaned: 0,
        segmentsRewritten: 0,
        recordsRemoved: 0,
        bytesBefore: 0,
        bytesAfter: 0,
      };
      for (const t of [...this.topics.values()]) {
        if (!t.cfg.cleanupPolicy.compact) continue;
        for (const log of t.logs) {
          if (this._closed || log.isClosed) continue;
          let s: CompactionStats;
          try {
            s = await compactPartition(log, this.io, this.clock, options.force ?? false, () => this._closed);
          } catch (e) {
            if (log.isClosed) continue; // topic deleted or manager closed meanwhile
            throw e;
          }
          if (s.segmentsRewritten > 0) total.partitionsCleaned++;
          if (s.recordsRemoved > 0) this.m.compactedRecords.inc(s.recordsRemoved);
          total.segmentsRewritten += s.segmentsRewritten;
          total.recordsRemoved += s.recordsRemoved;
          total.bytesBefore += s.bytesBefore;
          total.bytesAfter += s.bytesAfter;
        }
      }
      return total;
    };
    this.compaction = run().finally(() => {
      this.compaction = undefined;
    });
    return this.compaction;
  }

  /** fsyncs every partition. */
  flushAll(): void {
    this.ensureOpen();
    for (const t of this.topics.values()) for (const log of t.logs) log.flush();
  }

  /** Stops background work, flushes and closes every partition, marks the shutdown clean, releases the lock. */
  async close(): Promise<void> {
    if (this._closed) return;
    if (this.flushTimer) clearInterval(this.flushTimer);
    if (this.maintenanceTimer) clearInterval(this.maintenanceTimer);
    this._closed = true;
    if (this.compaction) await this.compaction.catch(() => undefined);
    let clean = true;
    for (const t of this.topics.values()) {
      for (const log of t.logs) {
        log.close();
        if (log.storageFailure) clean = false;
      }
    }
    this.topics.clear();
    if (clean) {
      try {
        this.io.writeFileAtomic(path.join(this.dataDir, CLEAN_FILE), "");
      } catch (e) {
        this.logger?.warn({ err: e }, "could not mark the shutdown clean");
      }
    }
    if (this.lockPath) releaseLock(this.dataDir, this.lockPath);
  }
}

function acquireLock(dir: string): string {
  const lockPath = path.join(dir, LOCK_FILE);
  const real = fs.realpathSync(dir);
  if (lockedHere.has(real)) {
    throw new LogError(
      "LOG_DIR_LOCKED",
      `data directory ${dir} is already open in this process (pid ${process.pid})`,
    );
  }
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fd = fs.openSync(lockPath, "wx");
      fs.writeSync(fd, `${process.pid}\n`);
      fs.fsyncSync(fd);
      fs.closeSync(fd);
      lockedHere.add(real);
      return lockPath;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
    }
    let holder = Number.NaN;
    try {
      holder = Number.parseInt(fs.readFileSync(lockPath, "utf8").trim(), 10);
    } catch {
      // vanished meanwhile: retry
    }
    if (Number.isInteger(holder) && holder > 0 && holder !== process.pid && pidAlive(holder)) {
      throw new LogError(
        "LOG_DIR_LOCKED",
        `data directory ${dir} is in use by process ${holder} (lock file ${lockPath}); stop that process (e.g. the broker) or use another --data directory`,
      );
    }
    // Stale lock of a dead process (or a torn one): take it over.
    try {
      fs.unlinkSync(lockPath);
    } catch {
      // someone else took it over first; the next attempt tells
    }
  }
  throw new LogError("LOG_DIR_LOCKED", `could not take the lock ${lockPath}`);
}

function releaseLock(dir: string, lockPath: string): void {
  try {
    const holder = Number.parseInt(fs.readFileSync(lockPath, "utf8").trim(), 10);
    if (holder === process.pid) fs.unlinkSync(lockPath);
  } catch {
    // already gone
  }
  try {
    lockedHere.delete(fs.realpathSync(dir));
  } catch {
    // directory removed
  }
}

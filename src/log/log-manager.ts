// STUB: the API of the log manager; implementation in progress.
import type { Clock, Logger } from "../observe/index.ts";
import { LogError } from "./errors.ts";
import type { PartitionLog } from "./partition-log.ts";
import type { CompactionStats, PartitionInfo, RetentionStats, StorageFaultHook, TopicInfo } from "./types.ts";

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
  /** Fault injection for tests: called before each storage operation; throwing fails it. */
  readonly faultHook?: StorageFaultHook;
  readonly logger?: Logger;
}

function todo(): never {
  throw new LogError("LOG_CLOSED", "not implemented yet");
}

export class LogManager {
  readonly dataDir: string;
  private constructor(dataDir: string) {
    this.dataDir = dataDir;
  }
  /** Opens (and recovers) every topic of the data directory; takes the directory's lock. */
  static async open(options: LogManagerOptions): Promise<LogManager> {
    return new LogManager(options.dataDir);
  }
  createTopic(_name: string, _partitions: number, _config?: Readonly<Record<string, string>>): TopicInfo {
    return todo();
  }
  deleteTopic(_name: string): void {
    todo();
  }
  hasTopic(_name: string): boolean {
    return todo();
  }
  listTopics(): string[] {
    return todo();
  }
  describeTopic(_name: string): TopicInfo {
    return todo();
  }
  /** Incremental: a null value removes the override (back to the default). */
  alterTopicConfig(_name: string, _changes: Readonly<Record<string, string | null>>): TopicInfo {
    return todo();
  }
  /** Replaces every override (Kafka's AlterConfigs). */
  setTopicConfig(_name: string, _config: Readonly<Record<string, string>>): TopicInfo {
    return todo();
  }
  addPartitions(_name: string, _totalCount: number): TopicInfo {
    return todo();
  }
  partition(_topic: string, _partition: number): PartitionLog {
    return todo();
  }
  partitions(_topic: string): PartitionLog[] {
    return todo();
  }
  partitionInfo(_topic: string, _partition: number): PartitionInfo {
    return todo();
  }
  /** Called after every append (data or marker) on any partition; returns an unsubscribe function. */
  onAppend(_listener: (log: PartitionLog) => void): () => void {
    return todo();
  }
  runRetention(): RetentionStats {
    return todo();
  }
  runCompaction(): Promise<CompactionStats> {
    return todo();
  }
  flushAll(): void {
    todo();
  }
  close(): Promise<void> {
    return todo();
  }
}

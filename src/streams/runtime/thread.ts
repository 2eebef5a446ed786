// A stream thread: one group consumer, one producer (transactional under exactly_once_v2, as
// Kafka Streams' eos-v2: one transactional producer per thread), the tasks of its assigned
// partitions, and the loop poll -> process -> punctuate -> commit. Under exactly-once, outputs,
// changelog writes and input offsets (sendOffsetsToTransaction with the group metadata) commit
// in one transaction per commit interval; local stores are flushed only after that commit, so
// after an abort or a crash they are rebuilt from the committed changelog.
import {
  type Consumer,
  KafkaError,
  type OffsetAndMetadata,
  type Producer,
  type ProducerRecord,
  type TopicPartition,
} from "../../cluster/index.ts";
import type { Logger } from "../../observe/index.ts";
import { type FlushOptions, RecordCache } from "../../state/index.ts";
import { StreamsError } from "../errors.ts";
import type { InternalTopologyBuilder } from "../internals/builder.ts";
import type { RecordCollector } from "../internals/context.ts";
import {
  type DeserializationHandler,
  type StoreProvider,
  StreamTask,
  type TaskStore,
} from "../internals/task.ts";
import type { Headers } from "../types.ts";
import { deadLetterHeaders, type ResolvedOptions } from "./config.ts";
import type { StreamsMetrics } from "./metrics.ts";
import { applyChangelogBatch, restoreTask } from "./restore.ts";
import type { TopicLayout } from "./topics.ts";

export interface ThreadHost {
  readonly builder: InternalTopologyBuilder;
  readonly options: ResolvedOptions;
  readonly layout: TopicLayout;
  readonly storeProvider: StoreProvider;
  readonly globalStores: Map<string, unknown>;
  readonly metrics: StreamsMetrics;
  readonly logger: Logger;
  readonly processId: string;
  /** Local checkpoint of a task's store (persistent stores), or undefined. */
  checkpoint(taskId: string, store: string): number | undefined;
  /**
   * Flushes persistent stores with the given checkpoints ("<taskId>.<store>" -> next offset):
   * the buffered writes of `taskIds` only (this thread's tasks), or of every task.
   */
  flushState(
    checkpoints: Map<string, number>,
    taskIds?: Iterable<string>,
    options?: FlushOptions,
  ): Promise<void>;
  /** Writes to persistent stores buffered in memory (all threads), not yet flushed. */
  bufferedStateEntries(): number;
  /** True when persistent stores live in lmdb (standbys need it). */
  readonly persistentState: boolean;
  /** Discards a task's local state (after an abort): the next start restores it fully. */
  wipeTask(taskId: string): void;
  onThreadState(thread: StreamThread): void;
}

export type ThreadState =
  | "CREATED"
  | "STARTING"
  | "PARTITIONS_REVOKED"
  | "PARTITIONS_ASSIGNED"
  | "RUNNING"
  | "PENDING_SHUTDOWN"
  | "DEAD";

const NO_RECORDS: Awaited<ReturnType<Consumer["poll"]>> = [];

/** Records a task processes between two checks of the time slice. */
const PROCESS_CHUNK = 64;
/** Longest uninterrupted processing before the event loop gets a turn (see processSliced). */
const PROCESS_SLICE_MS = 3;

/** How often the records-lag gauge is refreshed (after a commit). */
const LAG_GAUGE_INTERVAL_MS = 1000;

class ThreadCollector implements RecordCollector {
  private buffer: ProducerRecord[] = [];
  private chain: Promise<void> = Promise.resolve();
  private error: unknown;
  /** Bumped by reset(): answers of sends made before it are ignored. */
  private generation = 0;
  /** Changelog topic -> last written offset by partition (for checkpoints). */
  private readonly changelogOffsets = new Map<string, number[]>();
  readonly changelogTopics: Set<string>;
  private readonly producer: () => Producer;
  private readonly beforeSend: () => void;
  private readonly partitions: Map<string, number>;
  sent = 0;
  constructor(
    producer: () => Producer,
    beforeSend: () => void,
    changelogTopics: Set<string>,
    partitions: Map<string, number>,
  ) {
    this.producer = producer;
    this.beforeSend = beforeSend;
    this.changelogTopics = changelogTopics;
    this.partitions = partitions;
  }
  send(
    topic: string,
    key: Uint8Array | null,
    value: Uint8Array | null,
    timestamp: number,
    headers: Headers,
    partition: number | undefined,
  ): void {
    if (this.buffer.length === 0) this.beforeSend();
    this.buffer.push({ topic, partition, key, value, timestamp, headers });
    if (this.buffer.length >= 2000) this.flushAsync();
  }
  partitionsFor(topic: string): number | undefined {
    return this.partitions.get(topic);
  }
  /** Offset of the last record written to a changelog partition, if any. */
  lastChangelogOffset(topic: string, partition: number): number | undefined {
    return this.changelogOffsets.get(topic)?.[partition];
  }
  private flushAsync(): void {
    const batch = this.buffer;
    if (batch.length === 0) return;
    this.buffer = [];
    this.sent += batch.length;
    let producer: Producer;
    try {
      producer = this.producer();
    } catch (e) {
      this.error ??= e;
      return;
    }
    if (producer.sendForPartitions !== undefined) {
      // Sends keep their call order, so this one goes now and only its answer is waited for (at
      // flush): a linked producer posts it to the broker's thread and the thread goes on
      // processing meanwhile. One offset range per partition written, no metadata object per
      // record: the collector keeps only each changelog partition's last offset.
      if (this.error !== undefined) return;
      const generation = this.generation;
      const answered = producer.sendForPartitions(batch).then(
        (appends) => {
          if (generation !== this.generation) return;
          for (const r of appends) this.noteChangelogOffset(r.topic, r.partition, r.lastOffset);
        },
        (e: unknown) => {
          if (generation === this.generation) this.error ??= e;
        },
      );
      this.chain = this.chain.then(() => answered);
      return;
    }
    const generation = this.generation;
    this.chain = this.chain.then(async () => {
      if (this.error !== undefined || generation !== this.generation) return;
      try {
        for (const m of await producer.send(batch)) this.noteChangelogOffset(m.topic, m.partition, m.offset);
      } catch (e) {
        if (generation === this.generation) this.error ??= e;
      }
    });
  }
  private noteChangelogOffset(topic: string, partition: number, offset: number): void {
    if (!this.changelogTopics.has(topic)) return;
    let byPartition = this.changelogOffsets.get(topic);
    if (byPartition === undefined) this.changelogOffsets.set(topic, (byPartition = []));
    const prev = byPartition[partition];
    if (prev === undefined || offset > prev) byPartition[partition] = offset;
  }
  /** Sends everything buffered and waits for acknowledgements; rethrows a send failure. */
  async flush(): Promise<void> {
    this.flushAsync();
    await this.chain;
    if (this.error !== undefined) {
      const e = this.error;
      this.error = undefined;
      throw e;
    }
  }
  /** Forgets buffered records (after an abort); answers of earlier sends are ignored. */
  reset(): void {
    this.generation++;
    this.buffer = [];
    this.error = undefined;
    this.chain = Promise.resolve();
  }
}

export class StreamThread {
  readonly index: number;
  readonly name: string;
  /** The consumer's group instance id (static membership), or undefined (dynamic member). */
  readonly groupInstanceId: string | undefined;
  state: ThreadState = "CREATED";
  private readonly host: ThreadHost;
  private consumer!: Consumer;
  private restoreConsumer!: Consumer;
  /** Created at start, or under static membership once the consumer has joined: see ensureProducer. */
  private producerValue: Producer | undefined;
  private clientId = "";
  private readonly eos: boolean;
  private collector!: ThreadCollector;
  readonly tasks = new Map<string, StreamTask>();
  private suspended = new Map<string, StreamTask>();
  private inTransaction = false;
  /** performance.now() of the last commit (idle commits are spaced in fractions of a ms). */
  private lastCommitAt = 0;
  private lastStateFlush = 0;
  /** This thread's event-loop utilisation, sampled for saturatedStateFlushIntervalMs. */
  private elu = performance.eventLoopUtilization();
  private eluAt = performance.now();
  private saturated = false;

  /** The state flush interval now: the saturated one while the event loop has no idle time. */
  private stateFlushInterval(): number {
    const o = this.host.options;
    if (o.saturatedStateFlushIntervalMs === undefined) return o.stateFlushIntervalMs;
    const t = performance.now();
    if (t - this.eluAt >= ELU_SAMPLE_MS) {
      const next = performance.eventLoopUtilization();
      this.saturated = performance.eventLoopUtilization(next, this.elu).utilization > SATURATED_UTILIZATION;
      this.elu = next;
      this.eluAt = t;
    }
    return stateFlushIntervalFor(o, this.saturated);
  }
  private stopping = false;
  private loop: Promise<void> | undefined;
  private failure: Error | undefined;
  private readonly onFailure: (t: StreamThread, e: Error) => void;
  private abort = new AbortController();
  private dirty = false;
  private readonly cache: RecordCache;

  constructor(host: ThreadHost, index: number, onFailure: (t: StreamThread, e: Error) => void) {
    this.host = host;
    this.index = index;
    this.name = `${host.options.applicationId}-${host.processId}-StreamThread-${index}`;
    this.eos = host.options.processingGuarantee === "exactly_once_v2";
    const o = host.options;
    this.groupInstanceId =
      o.staticMembership && o.instanceId !== undefined ? `${o.instanceId}-${index}` : undefined;
    this.onFailure = onFailure;
    // The instance's cache budget is split between its threads (as Kafka Streams).
    this.cache = new RecordCache(Math.floor(host.options.cacheMaxBytes / host.options.numStreamThreads));
  }

  private setState(s: ThreadState): void {
    this.state = s;
    this.host.onThreadState(this);
  }

  private get producer(): Producer {
    if (this.producerValue === undefined)
      throw new StreamsError("ILLEGAL_STATE", `${this.name} has no producer before its first assignment`);
    return this.producerValue;
  }

  /**
   * Creates the thread's producer (under exactly-once, initializes its transactional id, which
   * fences an older producer with the same id): at start, or under static membership at the first
   * assignment, once the consumer has joined the group. Then another instance started with the
   * same instance id has taken the group instance id before it fences this thread's producer, so
   * that a producer fencing here can be told from a transaction timeout (see instanceTakenOver).
   * A dynamic member keeps fencing at start: an older incarnation with the same instance id (no
   * group instance id fences it) is fenced as soon as the new one starts.
   */
  private async ensureProducer(): Promise<void> {
    if (this.producerValue !== undefined) return;
    const o = this.host.options;
    this.producerValue = await o.cluster.createProducer({
      clientId: this.clientId,
      transactionalId: this.eos ? `${o.applicationId}-${this.host.processId}-${this.index}` : undefined,
      transactionTimeoutMs: this.eos ? o.transactionTimeoutMs : undefined,
    });
  }

  async start(): Promise<void> {
    const o = this.host.options;
    const b = this.host.builder;
    this.setState("STARTING");
    const clientId = `${o.applicationId}|${this.host.processId}|${this.index}|${o.applicationServer ?? ""}`;
    this.clientId = clientId;
    if (this.groupInstanceId === undefined) await this.ensureProducer();
    this.consumer = await o.cluster.createConsumer({
      clientId,
      groupId: o.applicationId,
      groupInstanceId: this.groupInstanceId,
      isolationLevel: this.eos ? "read_committed" : "read_uncommitted",
      autoOffsetReset: "earliest",
      sessionTimeoutMs: o.sessionTimeoutMs,
      heartbeatIntervalMs: Math.max(1, Math.floor(o.sessionTimeoutMs / 3)),
      assignors: ["range"],
      maxPollRecords: o.maxPollRecords,
      enableAutoCommit: false,
    });
    this.restoreConsumer = await o.cluster.createConsumer({
      clientId: `${clientId}-restore`,
      isolationLevel: "read_committed",
    });
    if (this.standbysEnabled()) {
      this.standbyConsumer = await o.cluster.createConsumer({
        clientId: `${clientId}-standby`,
        isolationLevel: "read_committed",
      });
    }
    const changelogs = new Set<string>();
    for (const s of b.stores.keys()) changelogs.add(b.changelogTopic(s));
    this.collector = new ThreadCollector(
      () => this.producer,
      () => this.beginIfNeeded(),
      changelogs,
      this.host.layout.partitions,
    );
    const topics = b.subtopologies().flatMap((s) => s.sourceTopics);
    await this.consumer.subscribe(topics, {
      onPartitionsRevoked: (tps) => this.onRevoked(tps),
      onPartitionsAssigned: (tps) => this.onAssigned(tps),
      onPartitionsLost: (tps) => this.onLost(tps),
    });
    this.lastCommitAt = performance.now();
    this.loop = this.run();
  }

  private beginIfNeeded(): void {
    if (this.eos && !this.inTransaction) {
      this.producer.beginTransaction();
      this.inTransaction = true;
    }
  }

  private deserializationHandler(): DeserializationHandler {
    const o = this.host.options;
    const policy = o.deserializationErrors;
    return (rec, err) => {
      this.host.metrics.deserializationErrors.inc({ topic: rec.topic });
      if (policy === "logAndFail") return "fail";
      if (policy === "logAndContinue") {
        this.host.logger.warn(
          { topic: rec.topic, partition: rec.partition, offset: rec.offset, err: err.message },
          "skipping record that cannot be deserialized",
        );
        return "continue";
      }
      this.collector.send(
        policy.deadLetterTopic,
        rec.key,
        rec.value,
        rec.timestamp,
        deadLetterHeaders(rec, err, o.applicationId),
        undefined,
      );
      return "continue";
    };
  }

  private taskIdsFor(tps: readonly TopicPartition[]): Map<string, { sub: number; partition: number }> {
    const out = new Map<string, { sub: number; partition: number }>();
    const subs = this.host.builder.subtopologies();
    for (const tp of tps) {
      for (const st of subs) {
        if (st.sourceTopics.includes(tp.topic))
          out.set(`${st.id}_${tp.partition}`, { sub: st.id, partition: tp.partition });
      }
    }
    return out;
  }

  private async onRevoked(revokedTps: readonly TopicPartition[]): Promise<void> {
    this.setState("PARTITIONS_REVOKED");
    this.host.metrics.rebalances.inc();
    if (this.tasks.size > 0 && !this.dirty) {
      try {
        await this.commit(true);
      } catch (e) {
        this.host.logger.warn(
          { err: (e as Error).message },
          "commit before revocation failed; tasks are closed dirty",
        );
        await this.closeAllDirty();
      }
    }
    // Only tasks reading a revoked partition are suspended (an eager consumer revokes everything,
    // a cooperative one only what moves); they are resumed if their partitions come back.
    const revoked = new Set(revokedTps.map((tp) => `${tp.topic}:${tp.partition}`));
    for (const [id, t] of [...this.tasks]) {
      if (!t.inputPartitions().some((tp) => revoked.has(`${tp.topic}:${tp.partition}`))) continue;
      this.suspended.set(id, t);
      this.tasks.delete(id);
    }
    // Buffered records are dropped; the partitions restart from the first unprocessed offset.
    for (const t of this.suspended.values()) {
      for (const tp of t.inputPartitions()) {
        const off = t.firstBufferedOffset(tp.topic, tp.partition);
        if (off !== undefined) this.resumeAt.set(`${tp.topic}:${tp.partition}`, off);
      }
      t.clearBuffers();
    }
    const unpause = [...this.pausedTps].filter((k) => revoked.has(k));
    if (unpause.length > 0) {
      this.consumer.resume(
        unpause.map((k) => ({
          topic: k.slice(0, k.lastIndexOf(":")),
          partition: Number(k.slice(k.lastIndexOf(":") + 1)),
        })),
      );
      for (const k of unpause) this.pausedTps.delete(k);
    }
    this.lag.clear();
  }

  /** A rebalance that revoked partitions and assigned none: close what did not come back. */
  private async finishRevocationOnly(): Promise<void> {
    for (const t of this.suspended.values()) await t.close();
    this.suspended.clear();
    this.resumeAt.clear();
    await this.updateStandbys();
    this.setState("RUNNING");
  }

  private async onLost(_tps: readonly TopicPartition[]): Promise<void> {
    await this.closeAllDirty();
  }

  private async closeAllDirty(): Promise<void> {
    if (this.inTransaction) {
      try {
        await this.producer.abortTransaction();
      } catch {
        // a fenced producer cannot abort; its transaction is aborted by the coordinator
      }
      this.inTransaction = false;
    }
    this.collector.reset();
    for (const t of [...this.tasks.values(), ...this.suspended.values()]) {
      await t.close(true);
      this.host.wipeTask(t.id);
    }
    this.tasks.clear();
    this.suspended.clear();
  }

  private async onAssigned(added: readonly TopicPartition[]): Promise<void> {
    this.setState("PARTITIONS_ASSIGNED");
    // A static member's producer: before the committed offsets are read, so that an open
    // transaction of an older producer with its transactional id (a crashed incarnation) is
    // aborted by this initialization first.
    await this.ensureProducer();
    // Every owned partition gets its task, not only the added ones: after a task migration the
    // tasks are gone while the rebalance may give this member the same partitions (none added).
    const byKey = new Map<string, TopicPartition>();
    for (const tp of [...added, ...this.consumer.assignment()]) byKey.set(`${tp.topic}:${tp.partition}`, tp);
    const tps = [...byKey.values()];
    for (const tp of tps) {
      const off = this.resumeAt.get(`${tp.topic}:${tp.partition}`);
      if (off !== undefined) this.consumer.seek(tp, off);
    }
    this.resumeAt.clear();
    const wanted = this.taskIdsFor(tps);
    await this.dropStandbys([...wanted.keys()]);
    for (const [id, t] of this.suspended) {
      if (!wanted.has(id)) {
        await t.close();
      } else this.tasks.set(id, t);
    }
    this.suspended.clear();
    const h = this.host;
    const offsets = new Map<string, OffsetAndMetadata>();
    for (const o of await h.options.cluster.admin().listGroupOffsets(h.options.applicationId))
      offsets.set(`${o.topic}:${o.partition}`, o);
    const checkpoints = new Map<string, number>();
    // Every (re)created task starts from the committed offsets: records processed but not
    // committed (an aborted transaction, a dirty close) are processed again.
    const fresh = tps.filter(
      (tp) =>
        ![...this.tasks.values()].some(
          (t) => t.partition === tp.partition && t.topology.sourcesByTopic.has(tp.topic),
        ),
    );
    const noCommit: TopicPartition[] = [];
    for (const tp of fresh) {
      const c = offsets.get(`${tp.topic}:${tp.partition}`);
      if (c !== undefined && c.offset >= 0) this.consumer.seek(tp, c.offset);
      else noCommit.push(tp);
    }
    if (noCommit.length > 0) await this.consumer.seekToBeginning(noCommit);
    for (const [id, { sub, partition }] of wanted) {
      if (this.tasks.has(id)) continue;
      const task = new StreamTask(h.builder, sub, partition, {
        applicationId: h.options.applicationId,
        clock: h.options.clock ?? { now: () => Date.now() },
        collector: this.collector,
        storeProvider: h.storeProvider,
        globalStores: h.globalStores,
        onDeserializationError: this.deserializationHandler(),
        cache: this.cache,
      });
      const started = Date.now();
      const { next, restored } = await restoreTask(
        task,
        this.restoreConsumer,
        (s) => h.checkpoint(id, s),
        h.options.onRestore,
      );
      for (const [store, off] of next) checkpoints.set(`${id}.${store}`, off);
      if (restored > 0) {
        h.metrics.restoredRecords.inc({ task: id }, restored);
        h.logger.info(
          { task: id, restored, ms: Date.now() - started },
          "restored task state from changelogs",
        );
      }
      // Stream time survives restarts in the commit metadata (as Kafka Streams does).
      let streamTime = -1;
      for (const t of task.sourceTopics()) {
        const m = offsets.get(`${t}:${partition}`)?.metadata;
        if (m) {
          const st = Number(JSON.parse(m).st);
          if (Number.isFinite(st) && st > streamTime) streamTime = st;
        }
      }
      task.initialize(streamTime);
      this.tasks.set(id, task);
    }
    if (checkpoints.size > 0) await h.flushState(checkpoints, this.tasks.keys());
    await this.updateStandbys();
    this.setState("RUNNING");
  }

  private async run(): Promise<void> {
    const o = this.host.options;
    const m = this.host.metrics;
    const labels = { thread: this.name };
    try {
      while (!this.stopping) {
        try {
          const buffered = this.bufferedRecords();
          let maxWaitMs =
            buffered > 0 && !this.idleLastRound ? 0 : buffered > 0 ? Math.min(o.pollMs, 10) : o.pollMs;
          // Processed but uncommitted work must not wait for the next input to be committed: with
          // exactly-once, downstream apps see it only then (each hop of a pipeline would add a
          // poll wait to the end-to-end latency).
          // With an idle commit, the wait ends when one is due: an empty poll then commits.
          if (maxWaitMs > 0 && this.hasUncommittedWork()) {
            const due = this.lastCommitAt + (o.idleCommitAfterMs ?? o.commitIntervalMs) - performance.now();
            maxWaitMs = Math.max(0, Math.min(maxWaitMs, Math.ceil(due)));
          }
          let recs: Awaited<ReturnType<Consumer["poll"]>>;
          try {
            recs = await this.consumer.poll({ maxWaitMs, signal: this.abort.signal });
          } catch (e) {
            if (this.stopping) break;
            throw e;
          }
          if (this.stopping) break;
          if (this.state === "PARTITIONS_REVOKED") await this.finishRevocationOnly();
          if (recs.length > 0) {
            // Group by partition, keeping order; each batch goes to every task reading that topic.
            let start = 0;
            for (let i = 1; i <= recs.length; i++) {
              if (
                i === recs.length ||
                recs[i]!.topic !== recs[start]!.topic ||
                recs[i]!.partition !== recs[start]!.partition
              ) {
                const r0 = recs[start]!;
                const slice = recs.slice(start, i);
                this.lag.delete(`${r0.topic}:${r0.partition}`);
                // One task reads a topic partition (a topic has one source); it owns the slice.
                for (const t of this.tasks.values()) {
                  if (t.partition === r0.partition && t.topology.sourcesByTopic.has(r0.topic))
                    t.addRecords(r0.topic, r0.partition, slice);
                }
                start = i;
              }
            }
            const last = recs[recs.length - 1]!;
            m.e2eLatency.observe({ topic: last.topic }, Math.max(0, Date.now() - last.timestamp) / 1000);
          }
          // The records now live in the tasks' queues only, which drop each one once processed:
          // held here for the whole round (processing, punctuation, commit), a full poll's records
          // outlived young-generation collections and were promoted (docs/rewards.md, Performance).
          const polled = recs.length;
          recs = NO_RECORDS;
          const t0 = performance.now();
          let n = 0;
          await this.refreshLagOfEmptyPartitions();
          n = await this.processSliced(o.maxPollRecords);
          this.pauseOrResume();
          this.idleLastRound = n === 0;
          if (n > 0) {
            m.processed.inc(labels, n);
            m.processLatency.observe(labels, (performance.now() - t0) / 1000 / n);
          }
          for (const t of this.tasks.values()) t.punctuateWallClock();
          if (this.standbys.size > 0) await this.pollStandbys();
          let requested = false;
          for (const t of this.tasks.values()) {
            if (t.ctx.commitRequested) requested = true;
          }
          if (
            requested ||
            performance.now() - this.lastCommitAt >= o.commitIntervalMs ||
            (n === 0 && polled === 0 && this.idleCommitDue())
          )
            await this.commit(false);
        } catch (e) {
          if (this.stopping || !isTaskMigration(e)) throw e;
          // The group moved on (rebalance, expired session): our tasks may belong to another
          // member now. Abort, drop local task state and rejoin, as Kafka's TaskMigratedException.
          this.host.logger.warn(
            { thread: this.name, err: (e as Error).message },
            "tasks migrated; rejoining",
          );
          await this.closeAllDirty();
          this.lag.clear();
          // Nothing else brings the tasks back when the group did not move (a coordinator change,
          // an error of one request): the rebalance asked for here ends with onPartitionsAssigned,
          // which recreates the tasks of what this member owns then, from the committed offsets.
          // A consumer that cannot rejoin on request gets them back for its current assignment;
          // their commits are still fenced by the group generation if that is stale.
          if (this.consumer.enforceRebalance !== undefined) this.consumer.enforceRebalance();
          else await this.onAssigned([]);
        }
      }
      await this.shutdownClean();
    } catch (e) {
      let err = e instanceof Error ? e : new Error(String(e));
      if (isProducerFenced(err)) err = (await this.instanceTakenOver(err)) ?? err;
      this.failure = err;
      await this.shutdownDirty();
      this.onFailure(this, err);
    }
  }

  /**
   * Processes the tasks' buffered records, up to `max` per task, in chunks, giving the event loop a
   * turn whenever PROCESS_SLICE_MS have passed: the thread shares its event loop with other apps'
   * threads and with the cluster link that answers worker threads' synchronous broker calls, which
   * would otherwise wait for the whole round (thousands of records).
   */
  private async processSliced(max: number): Promise<number> {
    let n = 0;
    let sliceStart = performance.now();
    const done = new Map<StreamTask, number>();
    for (;;) {
      let progressed = false;
      for (const t of this.tasks.values()) {
        const d = done.get(t) ?? 0;
        if (d >= max || this.mustWait(t)) continue;
        const k = t.process(Math.min(PROCESS_CHUNK, max - d));
        if (k > 0) {
          done.set(t, d + k);
          n += k;
          if (k === PROCESS_CHUNK) progressed = true;
          else if (t.bufferedRecords > 0) {
            // A short run with records left: an input ran dry (StreamTask.process). Its lag is
            // asked now and the task goes on in this round unless that input has more on the
            // broker. Leaving the round instead cost a whole poll per drained queue: 5-10 % more
            // CPU at 10 000-20 000 frames/s in the rewards pipeline (two input topics per task).
            if (this.mustWait(t)) await this.refreshLagOfEmptyPartitions();
            if (!this.mustWait(t)) progressed = true;
          }
        }
      }
      if (!progressed || this.stopping) return n;
      // Worker threads blocked in a call to a broker this thread owns are answered at once.
      this.host.options.cluster.serveWaiting?.();
      if (performance.now() - sliceStart >= PROCESS_SLICE_MS) {
        await new Promise<void>((r) => setImmediate(r));
        sliceStart = performance.now();
      }
    }
  }

  /** Known lag (end offset - position) of input partitions, refreshed when their buffer is empty. */
  private readonly lag = new Map<string, { lag: number; at: number }>();
  private readonly blockedSince = new Map<string, number>();
  private readonly pausedTps = new Set<string>();
  private idleLastRound = false;
  private readonly resumeAt = new Map<string, number>();
  /** Standby tasks: warm copies of other instances' task state, kept by reading their changelogs. */
  private readonly standbys = new Map<string, StreamTask>();
  /** "<taskId>.<store>" -> next changelog offset applied to the standby copy. */
  private readonly standbyPositions = new Map<string, number>();
  private standbyConsumer: Consumer | undefined;

  /**
   * Kafka's enforced processing: a task with several inputs waits while one of them is empty but
   * has data on the broker (lag > 0), so records are processed in timestamp order across inputs
   * (a table is loaded before the stream joins it). Bounded: after 30 s it processes anyway.
   */
  private mustWait(t: StreamTask): boolean {
    const inputs = t.inputPartitions();
    if (inputs.length < 2 || t.bufferedRecords === 0) return false;
    for (const tp of inputs) {
      if (t.queueSize(tp.topic, tp.partition) > 0) continue;
      const l = this.lag.get(`${tp.topic}:${tp.partition}`);
      if (l === undefined || l.lag > 0) {
        const since = this.blockedSince.get(t.id) ?? Date.now();
        this.blockedSince.set(t.id, since);
        if (Date.now() - since < 30_000) return true;
      }
    }
    this.blockedSince.delete(t.id);
    return false;
  }

  private async refreshLagOfEmptyPartitions(): Promise<void> {
    const now = Date.now();
    const stale: TopicPartition[] = [];
    for (const t of this.tasks.values()) {
      const inputs = t.inputPartitions();
      if (inputs.length < 2 || t.bufferedRecords === 0) continue;
      for (const tp of inputs) {
        if (t.queueSize(tp.topic, tp.partition) > 0) continue;
        const l = this.lag.get(`${tp.topic}:${tp.partition}`);
        if (l === undefined || (l.lag > 0 && now - l.at > 20) || now - l.at > 500) stale.push(tp);
      }
    }
    if (stale.length === 0) return;
    const ends = await this.consumer.endOffsets(stale);
    for (const tp of stale) {
      const k = `${tp.topic}:${tp.partition}`;
      const pos = await this.consumer.position(tp);
      this.lag.set(k, { lag: Math.max(0, (ends.get(k) ?? 0) - pos), at: now });
    }
  }

  /** Pauses partitions with a full buffer so others are fetched (no starvation), resumes drained ones. */
  private pauseOrResume(): void {
    const limit = this.host.options.maxPollRecords * 2;
    for (const t of this.tasks.values()) {
      for (const tp of t.inputPartitions()) {
        const k = `${tp.topic}:${tp.partition}`;
        const size = t.queueSize(tp.topic, tp.partition);
        if (size > limit && !this.pausedTps.has(k)) {
          this.consumer.pause([tp]);
          this.pausedTps.add(k);
        } else if (size <= limit / 2 && this.pausedTps.has(k)) {
          this.consumer.resume([tp]);
          this.pausedTps.delete(k);
        }
      }
    }
  }

  /**
   * Standbys need persistent local state and are kept by the first thread of a single-thread
   * instance: it mirrors every task of the application that it does not run itself.
   */
  private standbysEnabled(): boolean {
    const o = this.host.options;
    return o.numStandbyReplicas > 0 && o.numStreamThreads === 1 && this.host.persistentState;
  }

  private async updateStandbys(): Promise<void> {
    if (!this.standbysEnabled() || this.standbyConsumer === undefined) return;
    const h = this.host;
    const wanted = new Set<string>();
    for (const [sub, n] of h.layout.tasksPerSubtopology) {
      const st = h.builder.subtopologies()[sub]!;
      if (
        !st.stores.some(
          (s) => h.builder.stores.get(s)?.spec.logging && h.builder.stores.get(s)?.spec.persistent,
        )
      )
        continue;
      for (let p = 0; p < n; p++) if (!this.tasks.has(`${sub}_${p}`)) wanted.add(`${sub}_${p}`);
    }
    await this.dropStandbys([...this.standbys.keys()].filter((id) => !wanted.has(id)));
    for (const id of wanted) {
      if (this.standbys.has(id)) continue;
      const [sub, p] = id.split("_").map(Number) as [number, number];
      const container = new StreamTask(h.builder, sub, p, {
        applicationId: h.options.applicationId,
        clock: { now: () => Date.now() },
        collector: this.collector,
        storeProvider: h.storeProvider,
        globalStores: h.globalStores,
      });
      for (const s of container.stores.values()) {
        if (s.changelogTopic === undefined || !s.def.spec.persistent) continue;
        const start = h.checkpoint(id, s.def.spec.name);
        if (start === undefined) await (s.inner as unknown as { clear(): void | Promise<void> }).clear();
        this.standbyPositions.set(`${id}.${s.def.spec.name}`, start ?? 0);
      }
      this.standbys.set(id, container);
    }
    const tps: TopicPartition[] = [];
    for (const [id, t] of this.standbys) {
      for (const s of t.stores.values()) {
        if (s.changelogTopic === undefined || !s.def.spec.persistent) continue;
        const tp = { topic: s.changelogTopic, partition: t.partition };
        tps.push(tp);
        void id;
      }
    }
    this.standbyConsumer.assign(tps);
    const begins =
      tps.length > 0 ? await this.standbyConsumer.beginningOffsets(tps) : new Map<string, number>();
    for (const [id, t] of this.standbys) {
      for (const s of t.stores.values()) {
        if (s.changelogTopic === undefined || !s.def.spec.persistent) continue;
        const k = `${id}.${s.def.spec.name}`;
        const from = Math.max(
          this.standbyPositions.get(k) ?? 0,
          begins.get(`${s.changelogTopic}:${t.partition}`) ?? 0,
        );
        this.standbyConsumer.seek({ topic: s.changelogTopic, partition: t.partition }, from);
      }
    }
  }

  private async pollStandbys(): Promise<void> {
    const c = this.standbyConsumer;
    if (c === undefined) return;
    const recs = await c.poll({ maxWaitMs: 0, maxRecords: 5000 });
    if (recs.length === 0) return;
    const byChangelog = new Map<string, { id: string; s: TaskStore }>();
    for (const [id, t] of this.standbys) {
      for (const s of t.stores.values()) {
        if (s.changelogTopic) byChangelog.set(`${s.changelogTopic}:${t.partition}`, { id, s });
      }
    }
    applyChangelogBatch(recs, (topic, partition) => byChangelog.get(`${topic}:${partition}`));
    for (const r of recs) {
      const x = byChangelog.get(`${r.topic}:${r.partition}`);
      if (x !== undefined) this.standbyPositions.set(`${x.id}.${x.s.def.spec.name}`, r.offset + 1);
    }
  }

  /** Stops mirroring tasks (they became active here, or are gone); their checkpoints are flushed. */
  private async dropStandbys(ids: readonly string[]): Promise<void> {
    const cps = new Map<string, number>();
    for (const id of ids) {
      if (!this.standbys.delete(id)) continue;
      for (const [k, off] of this.standbyPositions) {
        if (k.startsWith(`${id}.`)) {
          cps.set(k, off);
          this.standbyPositions.delete(k);
        }
      }
    }
    if (cps.size > 0) await this.host.flushState(cps, []);
  }

  /** Task ids of the standby copies this thread keeps. */
  standbyTaskIds(): string[] {
    return [...this.standbys.keys()];
  }

  /** An idle thread's early commit (idleCommitAfterMs) is due: work to commit, and the spacing kept. */
  private idleCommitDue(): boolean {
    const after = this.host.options.idleCommitAfterMs;
    return after !== undefined && performance.now() - this.lastCommitAt >= after && this.hasUncommittedWork();
  }

  private hasUncommittedWork(): boolean {
    if (this.inTransaction) return true;
    for (const t of this.tasks.values()) if (t.consumed.size > 0) return true;
    return false;
  }

  private bufferedRecords(): number {
    let n = 0;
    for (const t of this.tasks.values()) n += t.bufferedRecords;
    return n;
  }

  /** Commits processed input offsets together with outputs and changelog writes. */
  async commit(force: boolean): Promise<void> {
    const t0 = performance.now();
    const h = this.host;
    const offsets: OffsetAndMetadata[] = [];
    for (const t of this.tasks.values()) await t.drainAsync();
    for (const t of this.tasks.values()) t.flushCaches();
    for (const t of this.tasks.values()) {
      t.ctx.commitRequested = false;
      for (const [k, off] of t.consumed) {
        const c = k.lastIndexOf(":");
        offsets.push({
          topic: k.slice(0, c),
          partition: Number(k.slice(c + 1)),
          offset: off,
          metadata: JSON.stringify({ st: t.ctx.streamTime }),
        });
      }
    }
    this.lastCommitAt = performance.now();
    if (offsets.length === 0 && !this.inTransaction && !force) return;
    await this.collector.flush();
    // A commit is a run of broker calls without an event-loop turn between them: worker threads
    // blocked in a call to the broker this thread owns are answered between its steps.
    const serve = h.options.cluster.serveWaiting?.bind(h.options.cluster);
    serve?.();
    if (this.eos) {
      if (offsets.length > 0 || this.inTransaction) {
        this.beginIfNeeded();
        if (offsets.length > 0)
          await this.producer.sendOffsetsToTransaction(offsets, this.consumer.groupMetadata());
        await this.producer.commitTransaction();
        this.inTransaction = false;
        serve?.();
      }
    } else if (offsets.length > 0) {
      await this.consumer.commit(offsets);
    }
    for (const t of this.tasks.values()) t.consumed.clear();
    // Local state is made durable only now that its changelog writes are committed.
    const checkpoints = new Map<string, number>();
    for (const t of this.tasks.values()) {
      for (const s of t.stores.values()) {
        if (s.changelogTopic === undefined || !s.def.spec.persistent) continue;
        const last = this.collector.lastChangelogOffset(s.changelogTopic, t.partition);
        if (last !== undefined) checkpoints.set(`${t.id}.${s.def.spec.name}`, last + 1);
      }
    }
    for (const [k, off] of this.standbyPositions) checkpoints.set(k, off);
    // No fsync for threads without persistent stores (a stateless app commits every 100 ms).
    let persistent = checkpoints.size > 0;
    for (const t of this.tasks.values()) {
      for (const st of t.stores.values()) if (st.def.spec.persistent) persistent = true;
    }
    // The local state lags the commits by up to stateFlushIntervalMs (see the option): one lmdb
    // transaction + fsync per interval instead of per commit. Only this thread's tasks are
    // flushed: another thread's buffered writes may belong to its still open transaction.
    const now = Date.now();
    if (
      persistent &&
      (force ||
        now - this.lastStateFlush >= this.stateFlushInterval() ||
        h.bufferedStateEntries() >= STATE_FLUSH_MAX_BUFFERED)
    ) {
      // The fsync is not waited for: it runs on lmdb's thread while this thread goes on (it held
      // stream threads 5-35 ms per flush, every 100 ms). A forced flush (rebalance, close) waits.
      await h.flushState(checkpoints, this.tasks.keys(), { waitForSync: force, meanwhile: serve });
      this.lastStateFlush = now;
      serve?.();
    }
    h.metrics.commitLatency.observe({ thread: this.name }, (performance.now() - t0) / 1000);
    h.metrics.commits.inc({ thread: this.name });
    for (const t of this.tasks.values()) {
      for (const [reason, n] of t.ctx.stats.dropped) {
        if (n > 0) h.metrics.dropped.inc({ reason, task: t.id }, n);
      }
      t.ctx.stats.dropped.clear();
    }
    // The lag gauge needs no more than a refresh a second; end offsets cost a broker call per
    // partition (a cross-thread call for an app in a worker thread).
    if (Date.now() - this.lagUpdatedAt >= LAG_GAUGE_INTERVAL_MS) {
      this.lagUpdatedAt = Date.now();
      void this.updateLag();
    }
  }

  private lagUpdatedAt = 0;

  private async updateLag(): Promise<void> {
    try {
      const assigned = this.consumer.assignment();
      if (assigned.length === 0) return;
      const ends = await this.consumer.endOffsets(assigned);
      for (const tp of assigned) {
        const pos = await this.consumer.position(tp);
        const end = ends.get(`${tp.topic}:${tp.partition}`) ?? pos;
        this.host.metrics.recordsLag.set(
          { topic: tp.topic, partition: String(tp.partition) },
          Math.max(0, end - pos),
        );
      }
    } catch {
      // lag is best effort
    }
  }

  private async shutdownClean(): Promise<void> {
    this.setState("PENDING_SHUTDOWN");
    try {
      if (this.tasks.size > 0) await this.commit(true);
    } catch (e) {
      this.host.logger.warn({ err: (e as Error).message }, "final commit failed");
      await this.closeAllDirty();
    }
    for (const t of this.tasks.values()) await t.close();
    this.tasks.clear();
    await this.closeClients();
    this.setState("DEAD");
  }

  private async shutdownDirty(): Promise<void> {
    this.dirty = true;
    try {
      await this.closeAllDirty();
    } catch {
      // already failing
    }
    await this.closeClients();
    this.setState("DEAD");
  }

  private async closeClients(): Promise<void> {
    for (const c of [this.consumer, this.restoreConsumer, this.standbyConsumer, this.producerValue]) {
      try {
        await c?.close();
      } catch {
        // closing continues
      }
    }
  }

  /** Asks the loop to stop after the current iteration (commit, close tasks, leave the group). */
  async stop(): Promise<void> {
    this.stopping = true;
    this.abort.abort();
    await this.loop;
  }

  get error(): Error | undefined {
    return this.failure;
  }

  /**
   * After a fencing of this thread's transactional producer, under static membership: when the
   * thread's group instance id now belongs to another member, whoever fenced the producer also took
   * the id, i.e. another instance started with the same instance id (the transactional id derives
   * from it too). Returns that as a FENCED_INSTANCE_ID error (cause: `e`), for the instance to stop
   * rather than replace the thread; undefined otherwise (e.g. the coordinator aborted a transaction
   * that outlived its timeout: the id is still ours and a replacement thread is the answer).
   */
  private async instanceTakenOver(e: Error): Promise<KafkaError | undefined> {
    const id = this.groupInstanceId;
    if (id === undefined || !this.eos) return undefined;
    try {
      const ours = this.consumer.groupMetadata().memberId;
      if (ours === "") return undefined;
      const o = this.host.options;
      const group = (await o.cluster.admin().describeGroups([o.applicationId]))[0];
      const holder = group?.members.find((m) => m.groupInstanceId === id);
      if (holder === undefined || holder.memberId === ours) return undefined;
      return new KafkaError(
        "FENCED_INSTANCE_ID",
        `the producer of static member "${id}" was fenced, and "${id}" is now held by member ${holder.memberId}: ${e.message}`,
        { cause: e },
      );
    } catch {
      return undefined; // not known: the error stays what it is
    }
  }
}

/** Buffered store writes that make a commit flush the local state before its interval is up. */
const STATE_FLUSH_MAX_BUFFERED = 50_000;
/** Event-loop utilisation above which a thread counts as saturated, over samples of this many ms. */
const SATURATED_UTILIZATION = 0.9;
const ELU_SAMPLE_MS = 250;

/** The state flush interval for `options`, the thread's event loop being saturated or not. */
export function stateFlushIntervalFor(
  options: { readonly stateFlushIntervalMs: number; readonly saturatedStateFlushIntervalMs?: number },
  saturated: boolean,
): number {
  const busy = options.saturatedStateFlushIntervalMs;
  return saturated && busy !== undefined ? busy : options.stateFlushIntervalMs;
}

// FENCED_INSTANCE_ID is not one of them: see isInstanceFenced.
const MIGRATION_CODES: ReadonlySet<string> = new Set([
  "ILLEGAL_GENERATION",
  "UNKNOWN_MEMBER_ID",
  "REBALANCE_IN_PROGRESS",
  "COORDINATOR_NOT_AVAILABLE",
  "NOT_COORDINATOR",
]);

const INSTANCE_FENCED_CODES: ReadonlySet<string> = new Set(["FENCED_INSTANCE_ID"]);

/** A transactional producer fenced by a newer one with its transactional id (or by a timeout). */
const PRODUCER_FENCED_CODES: ReadonlySet<string> = new Set(["PRODUCER_FENCED", "INVALID_PRODUCER_EPOCH"]);

/** True when `e` or an error in its cause chain has one of `codes` as its code or in its message. */
function hasErrorCode(e: unknown, codes: ReadonlySet<string>): boolean {
  for (let x: unknown = e; x instanceof Error; x = x.cause) {
    const code = (x as { code?: unknown }).code;
    if (typeof code === "string" && codes.has(code)) return true;
    for (const c of codes) if (x.message.includes(c)) return true;
  }
  return false;
}

/**
 * Errors that mean "the group moved on", not "the application is broken". An instance fencing
 * (isInstanceFenced) is not one, even when it comes with a migration code.
 */
export function isTaskMigration(e: unknown): boolean {
  return hasErrorCode(e, MIGRATION_CODES) && !isInstanceFenced(e);
}

/**
 * FENCED_INSTANCE_ID (KIP-345): another member joined the group with this thread's group instance
 * id, which is derived from the instance id: most likely another instance started with the same
 * instance id. Fatal, as in Kafka: rejoining with the id would fence that instance in turn, which
 * would do the same, for ever.
 */
export function isInstanceFenced(e: unknown): boolean {
  return hasErrorCode(e, INSTANCE_FENCED_CODES);
}

function isProducerFenced(e: unknown): boolean {
  return hasErrorCode(e, PRODUCER_FENCED_CODES);
}

export function assertNever(x: never): never {
  throw new StreamsError("ILLEGAL_STATE", `unexpected ${String(x)}`);
}

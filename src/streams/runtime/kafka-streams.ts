// KafkaStreams: runs a Topology against a Cluster. Creates internal topics, starts stream threads
// (sharing partitions with other instances through the consumer group), a global-store loop,
// exposes its state, metrics and interactive queries, and shuts down gracefully.
import { randomUUID } from "node:crypto";
import type { Consumer, Producer, TopicPartition } from "../../cluster/index.ts";
import { partitionForKey } from "../../cluster/index.ts";
import { createLogger, defaultMetrics, type Logger } from "../../observe/index.ts";
import type { Serde } from "../../serde/index.ts";
import { StateDirectory } from "../../state/index.ts";
import { StreamsError } from "../errors.ts";
import { memoryStoreProvider, type StoreProvider, StreamTask } from "../internals/task.ts";
import {
  type KeyValueStore,
  plainKeyValueView,
  plainWindowView,
  type ReadOnlyKeyValueStore,
  type ReadOnlySessionStore,
  type ReadOnlyWindowStore,
  type SessionStore,
  type ValueAndTimestamp,
  type WindowStore,
} from "../stores.ts";
import type { Topology } from "../topology.ts";
import type { KeyValue } from "../types.ts";
import type { Windowed } from "../windows.ts";
import {
  type KafkaStreamsOptions,
  type ResolvedOptions,
  resolveOptions,
  type UncaughtErrorResponse,
} from "./config.ts";
import { disableAllocationSitePretenuring } from "./gc.ts";
import { applyChangelogRecord } from "./restore.ts";
import { type StreamsMetrics, streamsMetrics } from "./metrics.ts";
import { isInstanceFenced, StreamThread, type ThreadHost } from "./thread.ts";
import { createInternalTopics, planTopics, type TopicLayout } from "./topics.ts";

export type KafkaStreamsState =
  | "CREATED"
  | "REBALANCING"
  | "RUNNING"
  | "PENDING_SHUTDOWN"
  | "NOT_RUNNING"
  | "PENDING_ERROR"
  | "ERROR";

const ALL_STATES: readonly KafkaStreamsState[] = [
  "CREATED",
  "REBALANCING",
  "RUNNING",
  "PENDING_SHUTDOWN",
  "NOT_RUNNING",
  "PENDING_ERROR",
  "ERROR",
];

export type StateListener = (newState: KafkaStreamsState, oldState: KafkaStreamsState) => void;

export interface KeyQueryMetadata {
  /** "host:port" of the instance holding the key's active task (its applicationServer), if known. */
  readonly activeHost: string | null;
  readonly partition: number;
  /** True when this instance holds it. */
  readonly local: boolean;
}

export interface ThreadMetadata {
  readonly name: string;
  readonly state: string;
  readonly activeTasks: readonly string[];
  readonly standbyTasks: readonly string[];
}

const SHUTDOWN_VALUE = new TextEncoder().encode("SHUTDOWN_APPLICATION");

export class KafkaStreams {
  readonly options: ResolvedOptions;
  private readonly topology: Topology;
  private readonly logger: Logger;
  readonly metrics: StreamsMetrics;
  private readonly processId: string;
  private stateValue: KafkaStreamsState = "CREATED";
  private readonly listeners = new Set<StateListener>();
  private threads: StreamThread[] = [];
  private layout: TopicLayout | undefined;
  private stateDir: StateDirectory | undefined;
  private storeProvider: StoreProvider = memoryStoreProvider;
  private readonly globalStores = new Map<string, unknown>();
  private globalTask: StreamTask | undefined;
  private backgroundConsumer: Consumer | undefined;
  private background: Promise<void> | undefined;
  private stopping = false;
  private readonly backgroundAbort = new AbortController();
  private closing: Promise<void> | undefined;
  private controlProducer: Producer | undefined;
  private failureValue: Error | undefined;

  constructor(topology: Topology, options: KafkaStreamsOptions) {
    this.options = resolveOptions(options);
    this.topology = topology;
    this.processId = this.options.instanceId ?? randomUUID().slice(0, 8);
    this.logger = this.options.logger ?? createLogger(`streams:${this.options.applicationId}`);
    this.metrics = streamsMetrics(this.options.metrics ?? defaultMetrics, this.options.applicationId);
    topology.internal.applicationId = this.options.applicationId;
    this.metrics.state.set("CREATED", ALL_STATES);
  }

  get state(): KafkaStreamsState {
    return this.stateValue;
  }

  /**
   * Why this instance stopped in ERROR (or is on its way there, PENDING_ERROR): the failure of a
   * stream thread that was not replaced (a fencing of its group instance id is a StreamsError
   * with code "FENCED", the broker's error as its cause), of start(), of the global store loop, or
   * another instance's SHUTDOWN_APPLICATION. Undefined while no such failure happened.
   */
  get failure(): Error | undefined {
    return this.failureValue;
  }

  /** Records the error that stops the instance in ERROR (the first one: later ones follow from it). */
  private noteFailure(e: unknown): void {
    this.failureValue ??= e instanceof Error ? e : new Error(String(e));
  }

  /** Adds a listener for state changes; returns a function removing it. */
  onStateChange(listener: StateListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Kafka's name for the same thing. */
  setStateListener(listener: StateListener): void {
    this.listeners.clear();
    this.listeners.add(listener);
  }

  private setState(s: KafkaStreamsState): void {
    const old = this.stateValue;
    if (old === s) return;
    if ((old === "NOT_RUNNING" || old === "ERROR") && s !== old) return;
    this.stateValue = s;
    this.metrics.state.set(s, ALL_STATES);
    this.logger.info({ from: old, to: s }, "state change");
    for (const l of this.listeners) {
      try {
        l(s, old);
      } catch (e) {
        this.logger.warn({ err: (e as Error).message }, "state listener failed");
      }
    }
  }

  private controlTopic(): string {
    return `${this.options.applicationId}-application-control`;
  }

  async start(): Promise<void> {
    if (this.stateValue !== "CREATED") {
      throw new StreamsError(
        "ILLEGAL_STATE",
        `start() called in state ${this.stateValue}; a KafkaStreams instance starts once`,
      );
    }
    this.setState("REBALANCING");
    const o = this.options;
    if (!o.allocationSitePretenuring) disableAllocationSitePretenuring();
    const admin = o.cluster.admin();
    try {
      this.layout = await planTopics(this.topology.internal, admin);
      await createInternalTopics(admin, this.layout);
      await admin.createTopics([{ name: this.controlTopic(), partitions: 1 }], { ifNotExists: true });
      if (o.storeProvider !== undefined) this.storeProvider = o.storeProvider;
      else {
        this.stateDir = new StateDirectory(o.stateDir, o.applicationId);
        if (this.stateDir.env.needsFullRestore) {
          for (const id of this.stateDir.taskIdsOnDisk()) this.stateDir.deleteTask(id);
        }
        this.storeProvider = this.stateDir.storeProvider();
      }
      await this.startBackground();
      const n = o.numStreamThreads;
      for (let i = 1; i <= n; i++) await this.addThread(i);
    } catch (e) {
      this.noteFailure(e);
      this.setState("ERROR");
      await this.closeResources();
      throw e;
    }
  }

  private host(): ThreadHost {
    return {
      builder: this.topology.internal,
      options: this.options,
      layout: this.layout!,
      storeProvider: this.storeProvider,
      globalStores: this.globalStores,
      metrics: this.metrics,
      logger: this.logger,
      processId: this.processId,
      persistentState: this.stateDir !== undefined,
      checkpoint: (taskId, store) => this.stateDir?.task(taskId).checkpoint(store),
      flushState: async (cps, taskIds, options) => {
        if (this.stateDir) await this.stateDir.flush(cps, taskIds, options);
      },
      bufferedStateEntries: () => this.stateDir?.bufferedEntries ?? 0,
      wipeTask: (taskId) => this.stateDir?.deleteTask(taskId),
      onThreadState: () => this.updateStateFromThreads(),
    };
  }

  private async addThread(index: number): Promise<void> {
    const t = new StreamThread(this.host(), index, (th, e) => void this.onThreadFailure(th, e));
    this.threads.push(t);
    await t.start();
    this.metrics.aliveThreads.set(this.threads.filter((x) => x.state !== "DEAD").length);
  }

  private updateStateFromThreads(): void {
    if (this.stopping || this.stateValue === "PENDING_ERROR" || this.stateValue === "ERROR") return;
    const live = this.threads.filter((t) => t.state !== "DEAD");
    if (live.length === 0) return;
    if (live.every((t) => t.state === "RUNNING")) this.setState("RUNNING");
    else this.setState("REBALANCING");
  }

  private async onThreadFailure(thread: StreamThread, error: Error): Promise<void> {
    if (this.stopping) return;
    this.threads = this.threads.filter((t) => t !== thread);
    if (isInstanceFenced(error)) {
      // Not for the uncaughtErrorHandler: a replacement thread would join with the same group
      // instance id and fence the other instance, which would do the same, for ever (as Kafka,
      // where FencedInstanceIdException is fatal for the consumer, KIP-345).
      const o = this.options;
      const fenced = new StreamsError(
        "FENCED",
        `group instance id "${thread.groupInstanceId ?? "(none)"}" of group "${o.applicationId}" was taken ` +
          `over by another member: most likely another instance was started with the same instance id ` +
          `("${o.instanceId ?? "(none)"}"). This instance stops (state ERROR) rather than take the id ` +
          "back, which would fence the other one in turn; give each instance its own instance id",
        { cause: error },
      );
      this.noteFailure(fenced);
      this.logger.error(
        {
          thread: thread.name,
          group: o.applicationId,
          groupInstanceId: thread.groupInstanceId,
          instanceId: o.instanceId,
          err: error.message,
        },
        fenced.message,
      );
      this.setState("PENDING_ERROR");
      await this.shutdown("ERROR");
      return;
    }
    this.logger.error({ thread: thread.name, err: error.message }, "stream thread failed");
    let response: UncaughtErrorResponse = "SHUTDOWN_CLIENT";
    try {
      response = this.options.uncaughtErrorHandler?.(error) ?? "SHUTDOWN_CLIENT";
    } catch (e) {
      this.logger.error(
        { err: (e as Error).message },
        "uncaught error handler failed; shutting down the client",
      );
    }
    if (response === "REPLACE_THREAD") {
      try {
        await this.addThread(thread.index);
        return;
      } catch (e) {
        this.logger.error({ err: (e as Error).message }, "could not replace the stream thread");
      }
    }
    this.noteFailure(error);
    if (response === "SHUTDOWN_APPLICATION") {
      try {
        this.controlProducer ??= await this.options.cluster.createProducer();
        await this.controlProducer.send([
          { topic: this.controlTopic(), partition: 0, key: null, value: SHUTDOWN_VALUE },
        ]);
      } catch (e) {
        this.logger.error({ err: (e as Error).message }, "could not ask the other instances to shut down");
      }
    }
    this.setState("PENDING_ERROR");
    await this.shutdown("ERROR");
  }

  /** Global stores (fully loaded before stream threads start) and the application control channel. */
  private async startBackground(): Promise<void> {
    const o = this.options;
    const b = this.topology.internal;
    this.globalTask = StreamTask.global(b, {
      applicationId: o.applicationId,
      clock: o.clock ?? { now: () => Date.now() },
      collector: { send: () => {}, partitionsFor: () => undefined },
      storeProvider: this.storeProvider,
      globalStores: this.globalStores,
      onDeserializationError: () => (o.deserializationErrors === "logAndFail" ? "fail" : "continue"),
    });
    this.globalTask?.initialize();
    const consumer = await o.cluster.createConsumer({
      clientId: `${o.applicationId}|${this.processId}|global`,
      isolationLevel: "read_committed",
    });
    this.backgroundConsumer = consumer;
    const tps: TopicPartition[] = [];
    if (this.globalTask) {
      for (const s of this.globalTask.stores.values())
        await (s.inner as unknown as { clear(): void | Promise<void> }).clear();
      for (const topic of this.globalTask.sourceTopics()) {
        const n = this.layout!.partitions.get(topic) ?? 1;
        for (let p = 0; p < n; p++) tps.push({ topic, partition: p });
      }
    }
    const control = { topic: this.controlTopic(), partition: 0 };
    consumer.assign([...tps, control]);
    if (tps.length > 0) await consumer.seekToBeginning(tps);
    await consumer.seekToEnd([control]);
    // Bootstrap: read global topics up to their end before any stream task runs.
    if (tps.length > 0) {
      const ends = await consumer.endOffsets(tps);
      const behind = () =>
        Promise.all(
          tps.map(
            async (tp) => (await consumer.position(tp)) < (ends.get(`${tp.topic}:${tp.partition}`) ?? 0),
          ),
        ).then((xs) => xs.some(Boolean));
      while (await behind()) this.applyBackground(await consumer.poll({ maxWaitMs: 100 }));
    }
    this.background = this.runBackground();
  }

  private applyBackground(recs: Awaited<ReturnType<Consumer["poll"]>>): void {
    for (const r of recs) {
      if (r.topic === this.controlTopic()) {
        if (
          r.value !== null &&
          Buffer.from(r.value).toString() === "SHUTDOWN_APPLICATION" &&
          !this.stopping
        ) {
          this.logger.warn("another instance asked the application to shut down");
          this.noteFailure(
            new StreamsError("ILLEGAL_STATE", "another instance asked the application to shut down"),
          );
          this.setState("PENDING_ERROR");
          void this.shutdown("ERROR");
        }
        continue;
      }
      this.globalTask?.processRecord(r);
    }
  }

  private async runBackground(): Promise<void> {
    const c = this.backgroundConsumer!;
    while (!this.stopping) {
      try {
        const recs = await c.poll({ maxWaitMs: 200, signal: this.backgroundAbort.signal });
        if (this.stopping) break;
        this.applyBackground(recs);
        // Only the global stores: the stream threads' buffered writes may be uncommitted.
        if (recs.length > 0 && this.stateDir) await this.stateDir.flush(undefined, ["global"]);
      } catch (e) {
        if (this.stopping) break;
        this.logger.error({ err: (e as Error).message }, "global store update failed");
        this.noteFailure(e);
        this.setState("PENDING_ERROR");
        void this.shutdown("ERROR");
        break;
      }
    }
  }

  /** Graceful shutdown: threads commit, close tasks and leave the group. `signal` cuts the wait short. */
  async close(options: { signal?: AbortSignal } = {}): Promise<void> {
    const p = this.shutdown("NOT_RUNNING");
    if (options.signal === undefined) return p;
    const signal = options.signal;
    await Promise.race([
      p,
      new Promise<void>((resolve) => {
        if (signal.aborted) resolve();
        else signal.addEventListener("abort", () => resolve(), { once: true });
      }),
    ]);
  }

  private shutdown(finalState: "NOT_RUNNING" | "ERROR"): Promise<void> {
    if (this.closing) return this.closing;
    this.closing = (async () => {
      this.stopping = true;
      if (this.stateValue !== "PENDING_ERROR") this.setState("PENDING_SHUTDOWN");
      await Promise.all(this.threads.map((t) => t.stop()));
      this.threads = [];
      this.metrics.aliveThreads.set(0);
      this.backgroundAbort.abort();
      await this.background?.catch(() => {});
      await this.closeResources();
      this.setState(finalState);
    })();
    return this.closing;
  }

  private async closeResources(): Promise<void> {
    try {
      await this.backgroundConsumer?.close();
      await this.controlProducer?.close();
      await this.globalTask?.close();
      await this.stateDir?.close();
    } catch (e) {
      this.logger.warn({ err: (e as Error).message }, "error while closing");
    }
  }

  localThreadsMetadata(): ThreadMetadata[] {
    return this.threads.map((t) => ({
      name: t.name,
      state: t.state,
      activeTasks: [...t.tasks.keys()],
      standbyTasks: t.standbyTaskIds(),
    }));
  }

  private localStores(name: string): unknown[] {
    const out: unknown[] = [];
    if (this.globalStores.has(name)) return [this.globalStores.get(name)];
    for (const th of this.threads) {
      for (const t of th.tasks.values()) {
        const s = t.stores.get(name);
        if (s) out.push(s.typed);
      }
    }
    if (out.length === 0 && !this.topology.internal.stores.has(name)) {
      throw new StreamsError("STORE_NOT_FOUND", `the topology has no store named ${name}`);
    }
    return out;
  }

  private timestamped(name: string): boolean {
    return this.topology.internal.stores.get(name)?.spec.timestamped ?? false;
  }

  /** Interactive query over this instance's tasks: a read-only key-value view (timestamps hidden). */
  keyValueStore<K, V>(name: string): ReadOnlyKeyValueStore<K, V> {
    const views = () =>
      this.localStores(name).map((s) =>
        this.timestamped(name)
          ? plainKeyValueView(s as KeyValueStore<K, ValueAndTimestamp<V>>)
          : (s as KeyValueStore<K, V>),
      );
    const concat = (f: (v: ReadOnlyKeyValueStore<K, V>) => KeyValue<K, V>[]) => views().flatMap(f);
    return {
      name,
      get: (k) => {
        for (const v of views()) {
          const x = v.get(k);
          if (x !== undefined) return x;
        }
        return undefined;
      },
      range: (f, t) => concat((v) => v.range(f, t)),
      reverseRange: (f, t) => concat((v) => v.reverseRange(f, t)),
      all: () => concat((v) => v.all()),
      approximateNumEntries: () => views().reduce((n, v) => n + v.approximateNumEntries(), 0),
    };
  }

  windowStore<K, V>(name: string): ReadOnlyWindowStore<K, V> {
    const views = () =>
      this.localStores(name).map((s) =>
        this.timestamped(name)
          ? plainWindowView(s as WindowStore<K, ValueAndTimestamp<V>>)
          : (s as WindowStore<K, V>),
      );
    return {
      name,
      fetch: (k, t) => {
        for (const v of views()) {
          const x = v.fetch(k, t);
          if (x !== undefined) return x;
        }
        return undefined;
      },
      fetchRange: (k, f, t) => views().flatMap((v) => v.fetchRange(k, f, t)),
      fetchAll: (f, t) => views().flatMap((v) => v.fetchAll(f, t)),
      all: () => views().flatMap((v) => v.all()),
    };
  }

  sessionStore<K, V>(name: string): ReadOnlySessionStore<K, V> {
    const views = () => this.localStores(name) as SessionStore<K, V>[];
    return {
      name,
      fetch: (k) => views().flatMap((v) => v.fetch(k)),
      findSessions: (k, e, s) => views().flatMap((v) => v.findSessions(k, e, s)),
      fetchSession: (k, s, e) => {
        for (const v of views()) {
          const x = v.fetchSession(k, s, e);
          if (x !== undefined) return x;
        }
        return undefined;
      },
      all: () => views().flatMap((v): KeyValue<Windowed<K>, V>[] => v.all()),
    };
  }

  /** Which instance holds `key` of `storeName` (by the default partitioner over the serialized key). */
  async queryMetadataForKey<K>(storeName: string, key: K, keySerde: Serde<K>): Promise<KeyQueryMetadata> {
    const b = this.topology.internal;
    const st = b.subtopologies().find((s) => s.stores.includes(storeName));
    if (st === undefined)
      throw new StreamsError("STORE_NOT_FOUND", `the topology has no (non-global) store named ${storeName}`);
    const n = this.layout?.tasksPerSubtopology.get(st.id);
    if (n === undefined) throw new StreamsError("STORE_NOT_READY", "the application has not started");
    const bytes = keySerde.serialize(st.sourceTopics[0] ?? "", key);
    if (bytes === null) throw new StreamsError("ILLEGAL_STATE", "a null key has no partition");
    const partition = partitionForKey(bytes, n);
    const taskId = `${st.id}_${partition}`;
    for (const th of this.threads) {
      if (th.tasks.has(taskId))
        return { activeHost: this.options.applicationServer ?? null, partition, local: true };
    }
    const groups = await this.options.cluster.admin().describeGroups([this.options.applicationId]);
    for (const m of groups[0]?.members ?? []) {
      if (m.assignment.some((tp) => tp.partition === partition && st.sourceTopics.includes(tp.topic))) {
        const server = m.clientId.split("|")[3];
        return { activeHost: server ? server : null, partition, local: false };
      }
    }
    return { activeHost: null, partition, local: false };
  }

  /** Applies changelog records to a store of a local task (used by standby tooling and tests). */
  static applyChangelogRecord = applyChangelogRecord;
}

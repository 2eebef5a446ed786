// The in-process consumer: Kafka's consumer semantics over the Broker's API, without sockets. Group
// membership runs the real protocol (JoinGroup/SyncGroup with client-side assignors and Kafka's
// ConsumerProtocol bytes, heartbeats on a timer); records are read straight from the partition logs and
// poll() waits on the log's data hook instead of polling.
import { kafkaError } from "../broker/index.ts";
import type { LogRecord } from "../log/index.ts";
import type { ClientBroker, ClientPartitionLog, PrefetchRead } from "./client-broker.ts";
import { ASSIGNORS, type AssignorMember, type ConsumerAssignor } from "./assignors.ts";
import {
  CONSUMER_PROTOCOL_TYPE,
  decodeAssignment,
  decodeSubscription,
  encodeAssignment,
  encodeSubscription,
} from "./consumer-protocol.ts";
import type {
  ConsumedRecord,
  Consumer,
  ConsumerGroupMetadata,
  ConsumerOptions,
  Offset,
  OffsetAndMetadata,
  PollOptions,
  RebalanceListener,
  TopicPartition,
} from "./types.ts";
import { KafkaError, tpKey } from "./types.ts";
import { maybeYield } from "./embedded-yield.ts";

interface PartitionState {
  readonly tp: TopicPartition;
  /** Next offset to read; null until resolved from the committed offset or the reset policy. */
  position: number | null;
  paused: boolean;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Reason of a consumer's wake-up signal (see wake()). */
const WAKE_UP = Object.freeze({ reason: "consumer woken up" });

export class EmbeddedConsumer implements Consumer {
  private readonly broker: ClientBroker;
  private readonly opts: ConsumerOptions;
  private readonly isolation: "read_committed" | "read_uncommitted";
  private readonly assignors: ConsumerAssignor[];
  private readonly assigned = new Map<string, PartitionState>();
  private subscription: string[] | null = null;
  private manual = false;
  private listener: RebalanceListener = {};
  private memberId = "";
  private generationId = -1;
  private needsJoin = false;
  private joinTask: Promise<Uint8Array | "rejoin"> | null = null;
  private joining = false;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private wakeup = new AbortController();
  private closed = false;
  private fatal: KafkaError | null = null;
  private rotate = 0;
  /** max.poll.interval.ms: the Java client uses the rebalance timeout for it, and so do we. */
  private lastPollAt = Date.now();
  private polling = 0;
  /** As group leader: partition counts of every member's topics at the last assignment (undefined: missing). */
  private leaderMetadata: Map<string, number | undefined> | null = null;
  private readonly onClose: () => void;

  constructor(broker: ClientBroker, opts: ConsumerOptions = {}, onClose: () => void = () => {}) {
    this.broker = broker;
    this.opts = opts;
    this.isolation = opts.isolationLevel ?? "read_uncommitted";
    this.assignors = (opts.assignors ?? ["range", "cooperative-sticky"]).map((n) => {
      const a = ASSIGNORS[n];
      if (!a) throw new KafkaError("INVALID_CONFIG", `unknown partition assignor "${n}"`);
      return a;
    });
    this.onClose = onClose;
  }

  // ------------------------------------------------------------------ subscription / assignment

  async subscribe(topics: readonly string[], listener?: RebalanceListener): Promise<void> {
    this.check();
    if (!this.opts.groupId)
      throw new KafkaError("INVALID_GROUP_ID", "subscribe() needs a consumer created with a groupId");
    if (this.manual)
      throw new KafkaError("INVALID_STATE", "subscribe() after assign(): use one or the other");
    this.subscription = [...new Set(topics)].sort();
    this.listener = listener ?? {};
    this.needsJoin = true;
    this.wake();
  }

  assign(partitions: readonly TopicPartition[]): void {
    this.check();
    if (this.subscription !== null)
      throw new KafkaError("INVALID_STATE", "assign() after subscribe(): use one or the other");
    this.manual = true;
    const keep = new Set(partitions.map(tpKey));
    for (const k of [...this.assigned.keys()]) if (!keep.has(k)) this.assigned.delete(k);
    for (const tp of partitions) {
      if (!this.assigned.has(tpKey(tp)))
        this.assigned.set(tpKey(tp), {
          tp: { topic: tp.topic, partition: tp.partition },
          position: null,
          paused: false,
        });
    }
    this.wake();
  }

  assignment(): TopicPartition[] {
    return [...this.assigned.values()].map((s) => s.tp);
  }

  groupMetadata(): ConsumerGroupMetadata {
    return {
      groupId: this.opts.groupId ?? "",
      generationId: this.generationId,
      memberId: this.memberId,
      groupInstanceId: this.opts.groupInstanceId,
    };
  }

  enforceRebalance(): void {
    this.check();
    // The next poll rejoins; its listener calls end with onPartitionsAssigned even when nothing moves.
    // A rejoin already asked for or under way ends the same way: no second one after it.
    if (this.subscription !== null && !this.needsJoin && this.joinTask === null) this.requestRejoin(false);
  }

  // ------------------------------------------------------------------ poll

  async poll(options: PollOptions): Promise<ConsumedRecord[]> {
    this.check();
    const y = maybeYield();
    if (y) await y;
    this.polling++;
    try {
      return await this.pollOnce(options);
    } finally {
      this.polling--;
      this.lastPollAt = Date.now();
    }
  }

  private async pollOnce(options: PollOptions): Promise<ConsumedRecord[]> {
    const deadline = Date.now() + options.maxWaitMs;
    const max = options.maxRecords ?? this.opts.maxPollRecords ?? 500;
    for (;;) {
      this.check();
      if (this.subscription !== null && !this.needsJoin && this.metadataChanged()) this.requestRejoin(false);
      if (this.subscription !== null && (this.needsJoin || this.joinTask)) {
        if (!(await this.advanceJoin(deadline, options.signal))) {
          // Cooperative members keep consuming what they own while the rebalance goes on.
          const cooperative = this.assignors.every((a) => a.rebalanceProtocol === "cooperative");
          return cooperative && !options.signal?.aborted ? this.fetchReady(max) : [];
        }
      }
      if (options.signal?.aborted) return [];
      this.resolvePositions();
      const out = this.fetchReady(max);
      if (out.length > 0) {
        if (this.opts.enableAutoCommit) await this.commit().catch(() => {});
        return out;
      }
      const remaining = deadline - Date.now();
      if (remaining <= 0) return [];
      await this.waitForData(remaining, options.signal);
      if (this.needsJoin) continue;
      if (Date.now() >= deadline) return this.fetchReady(max);
    }
  }

  private fetchReady(max: number): ConsumedRecord[] {
    const out: ConsumedRecord[] = [];
    const states = [...this.assigned.values()];
    if (states.length === 0) return out;
    if (this.broker.prefetch !== undefined && states.length > 1) {
      const reads: PrefetchRead[] = [];
      for (const s of states) if (!s.paused && s.position !== null) reads.push(this.readAt(s, s.position));
      this.broker.prefetch(reads); // it fetches only when that saves calls
    }
    // Rotate the starting partition so one busy partition does not starve the others.
    const start = this.rotate++ % states.length;
    for (let i = 0; i < states.length && out.length < max; i++) {
      const s = states[(start + i) % states.length]!;
      if (s.paused || s.position === null) continue;
      let log: ClientPartitionLog;
      try {
        log = this.broker.partitionLog(s.tp.topic, s.tp.partition);
      } catch {
        continue; // topic deleted meanwhile
      }
      let r: { records: LogRecord[]; nextOffset: number };
      try {
        // The log builds the records in the consumer's shape (with topic and partition): handed out as they are.
        r = log.readRecords(s.position, {
          isolation: this.isolation,
          maxRecords: max - out.length,
          withTopicPartition: true,
        });
      } catch (e) {
        const code = (e as { code?: string }).code;
        if (code === "UNKNOWN_TOPIC_OR_PARTITION") continue; // deleted meanwhile (a linked broker learns it here)
        if (code === "OFFSET_OUT_OF_RANGE") {
          s.position = this.resetPosition(s.tp, e);
          i--; // read this partition again from its reset position
          if (s.position === null) i++;
          continue;
        }
        throw e;
      }
      const recs = r.records;
      for (let j = 0; j < recs.length; j++) {
        const rec = recs[j]! as LogRecord & Partial<ConsumedRecord>;
        if (rec.topic === s.tp.topic && rec.partition === s.tp.partition) out.push(rec as ConsumedRecord);
        else
          out.push({
            topic: s.tp.topic,
            partition: s.tp.partition,
            offset: rec.offset,
            timestamp: rec.timestamp,
            timestampType: rec.timestampType,
            key: rec.key,
            value: rec.value,
            headers: rec.headers,
          });
      }
      s.position = r.nextOffset;
    }
    return out;
  }

  /**
   * Waits until an assigned partition has data past its position, `timeoutMs`, a wake-up (assign,
   * seek, close...), `signal` or the broker's close. One timer and one callback per wait, whatever
   * the number of partitions: a stream thread waits on every poll (it was an AbortController, a
   * timer and a listener per partition, and an AbortError built at each end).
   */
  private waitForData(timeoutMs: number, signal?: AbortSignal): Promise<void> {
    if (this.wakeup.signal.aborted) this.wakeup = new AbortController();
    const wake = this.wakeup.signal;
    const closed = this.broker.closeSignal;
    if (signal?.aborted || closed.aborted) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const cancels: (() => void)[] = [];
      let over = false;
      const stop = () => {
        if (over) return;
        over = true;
        clearTimeout(timer);
        for (const c of cancels) c();
        wake.removeEventListener("abort", stop);
        signal?.removeEventListener("abort", stop);
        closed.removeEventListener("abort", stop);
        resolve();
      };
      const timer = setTimeout(stop, timeoutMs);
      wake.addEventListener("abort", stop, { once: true });
      signal?.addEventListener("abort", stop, { once: true });
      closed.addEventListener("abort", stop, { once: true });
      const committed = this.isolation === "read_committed";
      // A log across a link waits with a call of its own: all of them end with one signal. A
      // linked broker that can wait for several partitions at once gets one call for all.
      let linked: AbortController | undefined;
      const waitForAny = this.broker.waitForAny?.bind(this.broker);
      const together: PrefetchRead[] = [];
      for (const s of this.assigned.values()) {
        if (over) return;
        if (s.paused || s.position === null || !this.broker.partitionExists(s.tp.topic, s.tp.partition))
          continue;
        const log = this.broker.partitionLog(s.tp.topic, s.tp.partition);
        if (log.onData === undefined && waitForAny !== undefined) {
          together.push(this.readAt(s, s.position));
          continue;
        }
        if (log.onData === undefined) {
          if (linked === undefined) {
            const ac = new AbortController();
            linked = ac;
            cancels.push(() => ac.abort(WAKE_UP));
          }
          void log
            .waitForData(s.position, { isolation: this.isolation, signal: linked.signal, timeoutMs })
            .then((ready) => {
              if (ready) stop();
            }, stop);
          continue;
        }
        const cancel = log.onData(s.position, committed, stop);
        if (cancel === null) {
          stop();
          return;
        }
        cancels.push(cancel);
      }
      if (waitForAny !== undefined && together.length > 0 && !over) {
        const ac = new AbortController();
        cancels.push(() => ac.abort(WAKE_UP));
        void waitForAny(together, timeoutMs, ac.signal).then((ready) => {
          if (ready) stop();
        }, stop);
      }
    });
  }

  /** Where a partition is read next, as a linked broker's prefetch and wait take it. */
  private readAt(s: PartitionState, offset: number): PrefetchRead {
    return { topic: s.tp.topic, partition: s.tp.partition, offset, isolation: this.isolation };
  }

  private wake(): void {
    // A reason of our own: abort() without one builds a DOMException (and its stack) each time.
    this.wakeup.abort(WAKE_UP);
  }

  // ------------------------------------------------------------------ positions

  private resolvePositions(): void {
    const missing = [...this.assigned.values()].filter((s) => s.position === null);
    if (missing.length === 0) return;
    const committed = this.opts.groupId
      ? this.fetchCommitted(
          missing.map((s) => s.tp),
          false,
        )
      : new Map();
    for (const s of missing) {
      const c = committed.get(tpKey(s.tp));
      if (c !== undefined && c !== null && c !== "unstable") s.position = c;
      else if (c === "unstable")
        continue; // a transaction holds this offset; resolve on the next round
      else s.position = this.resetPosition(s.tp, null);
    }
  }

  private resetPosition(tp: TopicPartition, cause: unknown): number | null {
    const policy = this.opts.autoOffsetReset ?? "latest";
    if (!this.broker.partitionExists(tp.topic, tp.partition)) return null;
    const log = this.broker.partitionLog(tp.topic, tp.partition);
    if (policy === "none")
      throw kafkaError(
        "OFFSET_OUT_OF_RANGE",
        `no valid position for ${tp.topic}-${tp.partition} and autoOffsetReset is "none"`,
        cause ?? undefined,
      );
    if (policy === "earliest") return log.logStartOffset;
    return this.isolation === "read_committed" ? log.lastStableOffset : log.highWatermark;
  }

  private fetchCommitted(
    tps: readonly TopicPartition[],
    requireStable: boolean,
  ): Map<string, number | null | "unstable"> {
    const byTopic = new Map<string, number[]>();
    for (const tp of tps) {
      let l = byTopic.get(tp.topic);
      if (!l) byTopic.set(tp.topic, (l = []));
      l.push(tp.partition);
    }
    const r = this.broker.offsetFetch({
      groupId: this.opts.groupId!,
      topics: [...byTopic].map(([name, partitionIndexes]) => ({ name, partitionIndexes })),
      requireStable: requireStable || this.isolation === "read_committed",
    });
    const out = new Map<string, number | null | "unstable">();
    for (const t of r.topics)
      for (const p of t.partitions) {
        const k = tpKey({ topic: t.name, partition: p.partitionIndex });
        if (p.errorCode === "UNSTABLE_OFFSET_COMMIT") out.set(k, "unstable");
        else out.set(k, p.committedOffset >= 0 ? p.committedOffset : null);
      }
    return out;
  }

  seek(partition: TopicPartition, offset: Offset): void {
    const s = this.assigned.get(tpKey(partition));
    if (!s)
      throw new KafkaError(
        "INVALID_STATE",
        `seek(): ${partition.topic}-${partition.partition} is not assigned to this consumer`,
      );
    if (!Number.isInteger(offset) || offset < 0)
      throw new KafkaError(
        "INVALID_REQUEST",
        `seek(): offset ${offset} for ${partition.topic}-${partition.partition} is negative`,
      );
    s.position = offset;
    this.wake();
  }

  async seekToBeginning(partitions: readonly TopicPartition[]): Promise<void> {
    const b = await this.beginningOffsets(partitions);
    for (const tp of partitions) this.seek(tp, b.get(tpKey(tp))!);
  }

  async seekToEnd(partitions: readonly TopicPartition[]): Promise<void> {
    const e = await this.endOffsets(partitions);
    for (const tp of partitions) this.seek(tp, e.get(tpKey(tp))!);
  }

  async position(partition: TopicPartition): Promise<Offset> {
    const s = this.assigned.get(tpKey(partition));
    if (!s)
      throw new KafkaError(
        "INVALID_STATE",
        `position(): ${partition.topic}-${partition.partition} is not assigned to this consumer`,
      );
    for (let i = 0; s.position === null; i++) {
      this.resolvePositions();
      if (s.position === null) await sleep(Math.min(100, 5 * (i + 1)));
      this.check();
    }
    return s.position;
  }

  pause(partitions: readonly TopicPartition[]): void {
    for (const tp of partitions) {
      const s = this.assigned.get(tpKey(tp));
      if (!s) throw new KafkaError("INVALID_STATE", `pause(): ${tp.topic}-${tp.partition} is not assigned`);
      s.paused = true;
    }
    this.wake();
  }

  resume(partitions: readonly TopicPartition[]): void {
    for (const tp of partitions) {
      const s = this.assigned.get(tpKey(tp));
      if (!s) throw new KafkaError("INVALID_STATE", `resume(): ${tp.topic}-${tp.partition} is not assigned`);
      s.paused = false;
    }
    this.wake();
  }

  // ------------------------------------------------------------------ offsets

  async commit(offsets?: readonly OffsetAndMetadata[]): Promise<void> {
    this.check();
    if (!this.opts.groupId)
      throw new KafkaError("INVALID_GROUP_ID", "commit() needs a consumer created with a groupId");
    const list: readonly OffsetAndMetadata[] =
      offsets ??
      [...this.assigned.values()]
        .filter((s) => s.position !== null)
        .map((s) => ({ topic: s.tp.topic, partition: s.tp.partition, offset: s.position! }));
    if (list.length === 0) return;
    const byTopic = new Map<
      string,
      { partitionIndex: number; committedOffset: number; committedMetadata: string | null }[]
    >();
    for (const o of list) {
      let l = byTopic.get(o.topic);
      if (!l) byTopic.set(o.topic, (l = []));
      l.push({
        partitionIndex: o.partition,
        committedOffset: o.offset,
        committedMetadata: o.metadata ?? null,
      });
    }
    const manual = this.subscription === null;
    const res = this.broker.offsetCommit({
      groupId: this.opts.groupId,
      generationId: manual ? -1 : this.generationId,
      memberId: manual ? "" : this.memberId,
      groupInstanceId: manual ? null : (this.opts.groupInstanceId ?? null),
      topics: [...byTopic].map(([name, partitions]) => ({ name, partitions })),
    });
    for (const t of res)
      for (const p of t.partitions)
        if (p.errorCode !== "NONE") {
          if (
            p.errorCode === "ILLEGAL_GENERATION" ||
            p.errorCode === "UNKNOWN_MEMBER_ID" ||
            p.errorCode === "REBALANCE_IN_PROGRESS"
          )
            this.requestRejoin(p.errorCode !== "REBALANCE_IN_PROGRESS");
          const e = kafkaError(
            p.errorCode,
            `commit of ${t.name}-${p.partitionIndex} for group "${this.opts.groupId}" failed: ${p.errorCode}`,
          );
          // Fatal, as a fenced heartbeat or join: a newer member holds our group instance id.
          if (p.errorCode === "FENCED_INSTANCE_ID") this.setFatal(e);
          throw e;
        }
  }

  async committed(partitions: readonly TopicPartition[]): Promise<Map<string, Offset | null>> {
    this.check();
    if (!this.opts.groupId)
      throw new KafkaError("INVALID_GROUP_ID", "committed() needs a consumer created with a groupId");
    // read_committed: wait (bounded) while a transaction holds one of these offsets, as the Java client does.
    for (let i = 0; ; i++) {
      const r = this.fetchCommitted(partitions, false);
      if (![...r.values()].includes("unstable") || i > 600) {
        const out = new Map<string, Offset | null>();
        for (const tp of partitions) {
          const v = r.get(tpKey(tp));
          out.set(tpKey(tp), v === undefined || v === "unstable" ? null : v);
        }
        return out;
      }
      await sleep(Math.min(100, 5 * (i + 1)));
    }
  }

  async beginningOffsets(partitions: readonly TopicPartition[]): Promise<Map<string, Offset>> {
    const out = new Map<string, Offset>();
    for (const tp of partitions)
      out.set(tpKey(tp), this.broker.partitionLog(tp.topic, tp.partition).logStartOffset);
    return out;
  }

  async endOffsets(partitions: readonly TopicPartition[]): Promise<Map<string, Offset>> {
    const out = new Map<string, Offset>();
    for (const tp of partitions) {
      const log = this.broker.partitionLog(tp.topic, tp.partition);
      out.set(tpKey(tp), this.isolation === "read_committed" ? log.lastStableOffset : log.highWatermark);
    }
    return out;
  }

  // ------------------------------------------------------------------ group membership

  private requestRejoin(resetMember: boolean): void {
    if (resetMember) {
      this.memberId = "";
      this.generationId = -1;
    }
    this.needsJoin = true;
    this.wake();
  }

  /**
   * Drives the rebalance within a poll's time budget, as the Java client does: the protocol exchange
   * (JoinGroup/SyncGroup, which may wait for other members) runs in the background and survives across
   * polls; the listener callbacks run only here, inside poll(). Returns false if the budget ran out.
   */
  private async advanceJoin(deadline: number, signal?: AbortSignal): Promise<boolean> {
    const cooperative = this.assignors.every((a) => a.rebalanceProtocol === "cooperative");
    while (this.needsJoin || this.joinTask) {
      this.check();
      if (!this.joinTask) {
        if (this.memberId === "" && this.assigned.size > 0) {
          // We lost our membership: what we owned may already be someone else's.
          const lost = this.assignment();
          this.assigned.clear();
          await (this.listener.onPartitionsLost ?? this.listener.onPartitionsRevoked)?.call(
            this.listener,
            lost,
          );
        }
        // Eager protocols give everything back before rejoining; cooperative ones keep what they own.
        if (!cooperative && this.assigned.size > 0) {
          const owned = this.assignment();
          if (this.opts.enableAutoCommit) await this.commit().catch(() => {});
          await this.listener.onPartitionsRevoked?.(owned);
          this.assigned.clear();
        }
        this.needsJoin = false;
        this.joining = true;
        // Heartbeats pause while the exchange is in flight and resume as soon as it settles, even if no
        // poll() has applied the outcome yet (the coordinator would otherwise expire the session).
        const task = this.joinAndSync().finally(() => {
          this.joining = false;
          if (this.memberId !== "") this.startHeartbeats();
        });
        // A failure is rethrown by the poll that awaits it; never left unhandled.
        task.catch(() => {});
        this.joinTask = task;
      }
      const outcome = await this.within(this.joinTask, deadline, signal);
      if (outcome === undefined) return false;
      this.joinTask = null;
      this.joining = false;
      if (outcome === "rejoin") {
        this.needsJoin = true;
        continue;
      }
      this.startHeartbeats();
      const topics = this.subscription!;
      const assigned = decodeAssignment(outcome).partitions.filter((tp) => topics.includes(tp.topic));
      const assignedKeys = new Set(assigned.map(tpKey));
      const revoked = this.assignment().filter((tp) => !assignedKeys.has(tpKey(tp)));
      const added = assigned.filter((tp) => !this.assigned.has(tpKey(tp)));
      if (revoked.length > 0) {
        if (this.opts.enableAutoCommit) await this.commit(this.positionsOf(revoked)).catch(() => {});
        await this.listener.onPartitionsRevoked?.(revoked);
        for (const tp of revoked) this.assigned.delete(tpKey(tp));
        // Cooperative: what we gave up can now be handed to its new owner in a follow-up rebalance.
        if (cooperative) this.needsJoin = true;
      }
      for (const tp of added) this.assigned.set(tpKey(tp), { tp, position: null, paused: false });
      await this.listener.onPartitionsAssigned?.(added);
    }
    return true;
  }

  /** Resolves with the task's value, or undefined when the deadline passes or the signal aborts first. */
  private async within<T>(task: Promise<T>, deadline: number, signal?: AbortSignal): Promise<T | undefined> {
    let timer: NodeJS.Timeout | undefined;
    let onAbort: (() => void) | undefined;
    const stop = new Promise<undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), Math.max(0, deadline - Date.now()));
      onAbort = () => resolve(undefined);
      signal?.addEventListener("abort", onAbort, { once: true });
      this.broker.closeSignal.addEventListener("abort", onAbort, { once: true });
    });
    try {
      return await Promise.race([task, stop]);
    } finally {
      clearTimeout(timer);
      if (onAbort) {
        signal?.removeEventListener("abort", onAbort);
        this.broker.closeSignal.removeEventListener("abort", onAbort);
      }
    }
  }

  /**
   * One membership round: JoinGroup (retrying MEMBER_ID_REQUIRED and in-progress rebalances), the
   * leader's assignment, SyncGroup. Returns the assignment bytes, or "rejoin" when membership was
   * lost (the caller reports lost partitions and starts over). No listener is called from here.
   */
  private async joinAndSync(): Promise<Uint8Array | "rejoin"> {
    const groupId = this.opts.groupId!;
    const topics = this.subscription!;
    for (let attempt = 0; ; attempt++) {
      if (this.closed || this.broker.isClosed) return "rejoin";
      const owned = this.assignment();
      const join = await this.broker.joinGroup({
        groupId,
        sessionTimeoutMs: this.opts.sessionTimeoutMs ?? 45_000,
        rebalanceTimeoutMs: this.opts.rebalanceTimeoutMs ?? 300_000,
        memberId: this.memberId,
        groupInstanceId: this.opts.groupInstanceId ?? null,
        protocolType: CONSUMER_PROTOCOL_TYPE,
        protocols: this.assignors.map((a) => ({
          name: a.name,
          metadata: encodeSubscription({
            topics,
            userData: this.opts.subscriptionUserData ?? null,
            ownedPartitions: owned,
            generationId: this.generationId,
          }),
        })),
        clientId: this.opts.clientId ?? "courant-consumer",
        clientHost: "embedded",
        requireKnownMemberId: false,
      });
      if (join.errorCode !== "NONE") {
        if (join.errorCode === "MEMBER_ID_REQUIRED") {
          this.memberId = join.memberId;
          continue;
        }
        if (join.errorCode === "UNKNOWN_MEMBER_ID" || join.errorCode === "ILLEGAL_GENERATION") {
          this.memberId = "";
          this.generationId = -1;
          return "rejoin";
        }
        if (join.errorCode === "REBALANCE_IN_PROGRESS" || join.errorCode === "COORDINATOR_NOT_AVAILABLE") {
          if (this.broker.isClosed) return "rejoin";
          await sleep(Math.min(200, 10 * (attempt + 1)));
          continue;
        }
        this.setFatal(
          kafkaError(join.errorCode, `JoinGroup of group "${groupId}" failed: ${join.errorCode}`),
        );
      }
      this.memberId = join.memberId;
      this.generationId = join.generationId;
      let assignments: { memberId: string; assignment: Uint8Array }[] = [];
      this.leaderMetadata = null;
      if (join.leader === join.memberId && !join.skipAssignment) assignments = this.computeAssignments(join);
      const sync = await this.broker.syncGroup({
        groupId,
        generationId: join.generationId,
        memberId: join.memberId,
        groupInstanceId: this.opts.groupInstanceId ?? null,
        protocolType: CONSUMER_PROTOCOL_TYPE,
        protocolName: join.protocolName,
        assignments,
      });
      if (sync.errorCode === "NONE") return sync.assignment;
      if (sync.errorCode === "UNKNOWN_MEMBER_ID" || sync.errorCode === "ILLEGAL_GENERATION") {
        this.memberId = "";
        this.generationId = -1;
        return "rejoin";
      }
      if (sync.errorCode === "REBALANCE_IN_PROGRESS") continue;
      this.setFatal(kafkaError(sync.errorCode, `SyncGroup of group "${groupId}" failed: ${sync.errorCode}`));
    }
  }

  /** The leader rebalances when a subscribed topic appears, disappears or gains partitions (as Kafka's leader does). */
  private metadataChanged(): boolean {
    if (!this.leaderMetadata) return false;
    for (const [topic, n] of this.leaderMetadata) if (this.broker.partitionCount(topic) !== n) return true;
    return false;
  }

  private positionsOf(tps: readonly TopicPartition[]): OffsetAndMetadata[] {
    const out: OffsetAndMetadata[] = [];
    for (const tp of tps) {
      const s = this.assigned.get(tpKey(tp));
      if (s?.position !== null && s?.position !== undefined) out.push({ ...tp, offset: s.position });
    }
    return out;
  }

  private computeAssignments(join: {
    protocolName: string | null;
    members: readonly { memberId: string; groupInstanceId: string | null; metadata: Uint8Array }[];
  }): { memberId: string; assignment: Uint8Array }[] {
    const assignor =
      this.assignors.find((a) => a.name === join.protocolName) ?? ASSIGNORS[join.protocolName as "range"];
    if (!assignor)
      this.setFatal(
        new KafkaError(
          "INCONSISTENT_GROUP_PROTOCOL",
          `the group chose assignor "${join.protocolName}", unknown here`,
        ),
      );
    const members: AssignorMember[] = join.members.map((m) => ({
      memberId: m.memberId,
      groupInstanceId: m.groupInstanceId,
      subscription: decodeSubscription(m.metadata),
    }));
    const partitionsPerTopic = new Map<string, number>();
    const seen = new Map<string, number | undefined>();
    // Unknown topics are created here when the broker auto-creates (as a Java consumer's metadata request would).
    const missing = [...new Set(members.flatMap((m) => m.subscription.topics))].filter(
      (t) => this.broker.partitionCount(t) === undefined,
    );
    if (missing.length > 0) this.broker.metadata({ topics: missing, allowAutoTopicCreation: true });
    for (const m of members)
      for (const t of m.subscription.topics) {
        const n = this.broker.partitionCount(t);
        seen.set(t, n);
        if (n !== undefined) partitionsPerTopic.set(t, n);
      }
    this.leaderMetadata = seen;
    const result = assignor.assign(partitionsPerTopic, members);
    return members.map((m) => ({
      memberId: m.memberId,
      assignment: encodeAssignment({ partitions: result.get(m.memberId) ?? [], userData: null }),
    }));
  }

  private startHeartbeats(): void {
    if (this.heartbeatTimer) return;
    // Kafka's default is 3 s; with a short session timeout that would expire the member, so the
    // default never exceeds a third of the session timeout.
    const interval =
      this.opts.heartbeatIntervalMs ?? Math.min(3000, Math.floor((this.opts.sessionTimeoutMs ?? 45_000) / 3));
    this.heartbeatTimer = setInterval(() => this.heartbeat(), interval);
    this.heartbeatTimer.unref();
  }

  private heartbeat(): void {
    // Heartbeats go on while a rejoin is pending (as the Java client's heartbeat thread), so the member
    // keeps its session until its next poll() rejoins; they pause only while a join is in flight.
    if (this.closed || this.joining || this.memberId === "" || this.broker.isClosed) return;
    const maxPollInterval = this.opts.rebalanceTimeoutMs ?? 300_000;
    if (this.polling === 0 && Date.now() - this.lastPollAt > maxPollInterval) {
      // The application stopped polling: give the partitions up so the group can move on (Java's
      // max.poll.interval.ms). A static member just stops heartbeating and lets its session expire.
      if (!this.opts.groupInstanceId)
        this.broker.leaveGroup({ groupId: this.opts.groupId!, members: [{ memberId: this.memberId }] });
      this.requestRejoin(true);
      return;
    }
    const r = this.broker.heartbeat({
      groupId: this.opts.groupId!,
      generationId: this.generationId,
      memberId: this.memberId,
      groupInstanceId: this.opts.groupInstanceId ?? null,
    });
    switch (r.errorCode) {
      case "NONE":
        return;
      case "REBALANCE_IN_PROGRESS":
        this.requestRejoin(false);
        return;
      case "ILLEGAL_GENERATION":
        // As the Java client: our generation is gone, so what we own may be someone else's now.
        this.requestRejoin(true);
        return;
      case "UNKNOWN_MEMBER_ID":
        this.requestRejoin(true);
        return;
      case "FENCED_INSTANCE_ID":
        this.setFatal(
          kafkaError(
            "FENCED_INSTANCE_ID",
            `static member "${this.opts.groupInstanceId}" was fenced by a newer instance`,
          ),
          false,
        );
        return;
      default:
        return;
    }
  }

  private setFatal(e: KafkaError, throwIt = true): never {
    this.fatal = e;
    this.wake();
    if (throwIt) throw e;
    return undefined as never;
  }

  private check(): void {
    if (this.closed) throw new KafkaError("INVALID_STATE", "the consumer is closed");
    if (this.broker.isClosed)
      throw kafkaError("BROKER_NOT_AVAILABLE", this.broker.closedReason ?? "the embedded broker is closed");
    if (this.fatal) throw this.fatal;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    try {
      if (this.subscription !== null && this.memberId !== "" && !this.fatal && !this.broker.isClosed) {
        if (this.opts.enableAutoCommit) await this.commit().catch(() => {});
        const owned = this.assignment();
        if (owned.length > 0) await this.listener.onPartitionsRevoked?.(owned);
        // Static members do not leave: a restart within the session timeout keeps the assignment (KIP-345).
        if (!this.opts.groupInstanceId)
          this.broker.leaveGroup({ groupId: this.opts.groupId!, members: [{ memberId: this.memberId }] });
      }
    } finally {
      this.closed = true;
      this.assigned.clear();
      this.wake();
      this.onClose();
    }
  }
}
